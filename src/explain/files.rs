//! Explaining a generated file: the family and template it comes from, the manifest
//! keys and profile values that shape it, and what reads it.

use std::fmt::Write as _;

use anyhow::Result;

use super::*;

/// The family of a generated file, and the manifest sections that feed it.
fn family(path: &str) -> (&'static str, &'static [&'static str]) {
    if path.starts_with("compose") {
        (
            "compose",
            &[
                "project",
                "service",
                "database",
                "components",
                "environment",
                "logging",
                "tracing",
                "errors",
                "storage",
            ],
        )
    } else if path.starts_with("monitoring/prometheus/rules")
        || path.starts_with("monitoring/prometheus/tests")
    {
        ("rules", &["service", "database", "components", "alerts"])
    } else if path.starts_with("monitoring/prometheus") {
        (
            "prometheus",
            &[
                "service",
                "database",
                "components",
                "environment",
                "prometheus",
            ],
        )
    } else if path.starts_with("monitoring/alertmanager") {
        ("alertmanager", &["receiver", "route", "environment"])
    } else if path.starts_with("monitoring/grafana") {
        (
            "grafana",
            &["service", "database", "components", "alerts", "deploy"],
        )
    } else if path.starts_with(".github") {
        ("ci", &["ci", "service", "project"])
    } else if path.starts_with("deploy/") || path.starts_with("docs/deploy") {
        ("aws", &["deploy", "project", "environment"])
    } else if path == ".env.example" {
        ("env", &["receiver", "database", "prometheus", "errors"])
    } else {
        ("exporters", &["service", "database", "components"])
    }
}

pub(super) fn explain_file(ctx: &Ctx, path: &str) -> Result<String> {
    let m = ctx.model();
    let f = ctx
        .file(path)
        .context("bug: file listed but not generated")?;
    let mut out = String::new();
    let text = String::from_utf8_lossy(&f.bytes);
    let _ = writeln!(
        out,
        "{path} — {} lines, {} bytes",
        text.lines().count(),
        f.bytes.len()
    );
    let overlaid = ctx
        .overlay
        .map(|o| o.join(&f.template))
        .filter(|p| p.is_file());
    match overlaid {
        Some(p) => {
            let _ = writeln!(out, "  template: {} (your overlay)", p.display());
        }
        None => {
            let _ = writeln!(
                out,
                "  template: templates/v{}/{} (embedded)",
                m.templates, f.template
            );
        }
    }
    let (fam, sections) = family(path);
    let _ = writeln!(out, "  family: {fam}");
    // What the one item behind a per-item file is.
    let rel = path.strip_prefix("monitoring/prometheus/").unwrap_or(path);
    if let Some(t) = m.target_files.iter().find(|t| t.path == rel) {
        let targets: Vec<&str> = t
            .groups
            .iter()
            .flat_map(|g| g.targets.iter().map(String::as_str))
            .collect();
        let _ = writeln!(out, "  targets of: {} ({})", t.about, targets.join(", "));
        let jobs: Vec<&str> = m
            .scrape_jobs
            .iter()
            .filter(|j| j.file == rel)
            .map(|j| j.name.as_str())
            .collect();
        if !jobs.is_empty() {
            let _ = writeln!(out, "  read by scrape job(s): {}", jobs.join(", "));
        }
    }
    if let Some(r) = m.rules.iter().find(|r| {
        rel == format!("rules/{}.yml", r.name) || rel == format!("tests/{}.test.yml", r.name)
    }) {
        let _ = writeln!(
            out,
            "  rules: {} ({} alerts, {} recording rules, {} promtool cases)",
            r.about,
            r.alerts,
            r.records,
            r.tests.len()
        );
    }
    if let Some(d) = m
        .provisioning
        .as_ref()
        .and_then(|g| g.dashboards.iter().find(|d| d.path == path))
    {
        let _ = writeln!(
            out,
            "  dashboard: \"{}\" ({} dashboard, folder {}, uid {}, {} panels)",
            d.title,
            d.kind,
            d.folder,
            d.uid,
            d.panels().len()
        );
    }
    if let Some(env) = m.environments.iter().find(|e| {
        path == e.compose_file
            || path.ends_with(&format!("/{}", e.prometheus_file))
            || path.ends_with(&format!(".{}.yml", e.name))
    }) {
        let over = ctx
            .at(&format!("environment.{}", env.name))
            .map(|l| format!(", overridden by [environment.{}] at {l}", env.name))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  environment: {} (settings from {}{over}; listed in project.environments at {})",
            env.name,
            profile_file(&env.name),
            ctx.at("project.environments")
                .unwrap_or_else(|| "the default".into())
        );
        if path == env.compose_file {
            let _ = writeln!(
                out,
                "  used with: docker compose -f compose.yaml -f {path} up -d"
            );
        }
    }
    let _ = writeln!(out, "  inputs from {}:", ctx.manifest_name);
    let mut any = false;
    for s in sections {
        let line = ctx.line(s);
        let count = match *s {
            "service" => Some(m.services.len()),
            "database" => Some(m.databases.len()),
            "receiver" => Some(m.receivers.len()),
            "route" => Some(m.routes.len()),
            _ => None,
        };
        if let Some(l) = line {
            any = true;
            let n = count.map(|c| format!(" ({c})")).unwrap_or_default();
            let _ = writeln!(out, "    {s}{n} from line {l}");
        }
    }
    if !any {
        let _ = writeln!(out, "    (none: only defaults)");
    }
    let _ = writeln!(
        out,
        "  presets: {} (the `{}` stack preset){}",
        profile_file(&m.profile),
        m.profile,
        if fam == "compose" || fam == "prometheus" || fam == "alertmanager" {
            ", and the environment overlays"
        } else {
            ""
        }
    );
    if text.contains("image:") || path == "compose.yaml" {
        let _ = writeln!(
            out,
            "  image tags: templates/v{}/components/<image>/image.toml",
            m.templates
        );
    }
    // What reads this file.
    let readers: Vec<&str> = ctx
        .gen_
        .files
        .iter()
        .filter(|o| o.path != path)
        .filter(|o| {
            let t = String::from_utf8_lossy(&o.bytes);
            let short = path.rsplit('/').next().unwrap_or(path);
            let rel = path.strip_prefix("monitoring/prometheus/").unwrap_or(path);
            mentions(&t, path)
                || (short != path && t.contains(rel) && rel != short)
                || (short.contains('.') && short.len() > 12 && mentions(&t, short))
        })
        .map(|o| o.path.as_str())
        .collect();
    if !readers.is_empty() {
        let _ = writeln!(out, "  referenced by: {}", readers.join(", "));
    }
    let locked = ctx.gen_.lock.files.iter().find(|l| l.path == path);
    if let Some(l) = locked {
        let _ = writeln!(out, "  sha256: {}", l.sha256);
    }
    Ok(out)
}
