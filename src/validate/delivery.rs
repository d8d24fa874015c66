//! Where the stack goes and what it sends out: `[deploy.aws]` (region, domain,
//! instance type, the `production` environment it deploys), remote-write credential files and
//! `[ci]` (branch filter, registry host, coverage percentage).

use super::Checker;
use crate::manifest::Manifest;
use crate::units::is_dns_label;

pub(super) fn check_delivery(c: &mut Checker, m: &Manifest) {
    if let Some(aws) = &m.deploy.aws {
        let parts: Vec<&str> = aws.region.split('-').collect();
        if parts.len() < 3
            || !parts.iter().all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
        {
            c.at(
                "deploy.aws.region",
                format!("`{}` is not an AWS region", aws.region),
                "write a region code such as `eu-central-1`",
            );
        }
        if let Some(domain) = &aws.domain
            && (domain.split('.').count() < 2
                || domain.len() > 253
                || !domain.split('.').all(is_dns_label))
        {
            c.at(
                "deploy.aws.domain",
                format!("`{domain}` is not a domain name"),
                "write a lowercase domain such as `shop.example.com`",
            );
        }
    }
    if let Some(aws) = &m.deploy.aws {
        if !m.project.environments.iter().any(|e| e == "production") {
            c.at(
                "deploy.aws.region",
                "`[deploy.aws]` deploys the `production` environment, which the project lacks",
                "add \"production\" to `project.environments`",
            );
        }
        if let Some(t) = &aws.instance_type
            && !t.split_once('.').is_some_and(|(family, size)| {
                !family.is_empty()
                    && !size.is_empty()
                    && t.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'
                    })
            })
        {
            c.at(
                "deploy.aws.instance_type",
                format!("`{t}` is not an EC2 instance type"),
                "write a type such as `t3.large`, or leave it out to size the host from the production limits",
            );
        }
    }
    for (i, r) in m.prometheus.remote_write.iter().enumerate() {
        for (field, value) in [
            ("password_file", &r.password_file),
            ("bearer_token_file", &r.bearer_token_file),
        ] {
            if let Some(p) = value {
                c.path_length(&format!("prometheus.remote_write[{i}].{field}"), p);
            }
        }
    }
    if let Some(ci) = &m.ci
        && let Some(branch) = &ci.branch
        && (branch.is_empty()
            || branch.starts_with(['-', '/'])
            || branch.ends_with(['/', '.'])
            || branch.contains("..")
            || branch.contains("//")
            || branch
                .chars()
                .any(|ch| ch.is_whitespace() || ch.is_control() || "~^:?*[\\'\"".contains(ch)))
    {
        c.at(
            "ci.branch",
            format!("`{branch}` is not a branch name"),
            "write a git branch name such as `main` or `release/v2`",
        );
    } else if let Some(ci) = &m.ci
        && let Some(branch) = &ci.branch
        && (branch.starts_with('!')
            || branch.contains('+')
            || branch.contains("@{")
            || branch.contains("${{"))
    {
        // The branch is a filter pattern in `on.push.branches` / `on.workflow_run.branches`,
        // where GitHub reads `!`, `+` as pattern syntax and allows no expression at all.
        c.at(
            "ci.branch",
            format!("`{branch}` cannot be written as a GitHub branch filter"),
            "use a branch name without `+`, `@{`, `${{` and not starting with `!` (GitHub reads them as filter syntax or expressions)",
        );
    }
    if let Some(ci) = &m.ci
        && let Some(n) = ci.coverage
        && !(1..=100).contains(&n)
    {
        c.at(
            "ci.coverage",
            format!("coverage `{n}` is not a percentage from 1 to 100"),
            "write the minimum line coverage in percent, such as `coverage = 80`, or leave it out for no coverage gate",
        );
    }
    if let Some(ci) = &m.ci
        && let Some(reg) = &ci.registry
        && (reg.is_empty() || reg.contains(char::is_whitespace) || reg.contains("://"))
    {
        c.at(
            "ci.registry",
            format!("`{reg}` is not a registry host"),
            "write a host such as `ghcr.io`, without a scheme",
        );
    }
}
