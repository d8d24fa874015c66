//! Explaining a service or a database: its manifest lines, what was decided for it, its
//! containers, jobs, rules and dashboards, and what depends on it.

use std::fmt::Write as _;

use super::*;

pub(super) fn explain_service(ctx: &Ctx, i: usize) -> String {
    let m = ctx.model();
    let s = &m.services[i];
    let key = format!("service[{i}]");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "service `{}` — {}",
        s.name,
        ctx.at(&format!("{key}.name")).unwrap_or_default()
    );
    let _ = writeln!(out, "  manifest:");
    ctx.lines_of(&key, &mut out);

    // Defaults from the stack preset for what the manifest leaves out.
    let defaults = [
        ("replicas", "replicas"),
        ("metrics.path", "metrics_path"),
        ("http.requests", "http_requests"),
        ("http.duration", "http_duration"),
        ("http.status_label", "http_status_label"),
    ];
    let from_profile: Vec<String> = defaults
        .iter()
        .filter(|(k, _)| !ctx.spans().has(&format!("{key}.{k}")))
        .filter_map(|(k, p)| {
            profile_value(&m.profile, "service_defaults", p).map(|v| format!("{k} = {v}"))
        })
        .collect();
    if !from_profile.is_empty() {
        let _ = writeln!(
            out,
            "  from the `{}` preset ({} [service_defaults]): {}",
            m.profile,
            profile_file(&m.profile),
            from_profile.join(", ")
        );
    }

    let _ = writeln!(out, "  compose.yaml:");
    let what = s
        .image
        .as_ref()
        .map(|i| format!("image {i}"))
        .or_else(|| s.build.as_ref().map(|b| format!("build {b}")))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "    {} ({what}, port {}{})",
        s.replicas.join(", "),
        s.port,
        if s.replicas.len() > 1 {
            format!(", {} replicas", s.replicas.len())
        } else {
            String::new()
        }
    );
    if let Some(c) = m.compose.iter().find(|c| s.replicas.contains(&c.name)) {
        let nets: Vec<&str> = c.networks.iter().map(|n| n.name.as_str()).collect();
        let _ = writeln!(out, "    networks: {}", nets.join(", "));
    }
    if !s.depends_on.is_empty() {
        let deps: Vec<String> = s
            .depends_on
            .iter()
            .map(|d| format!("{} ({})", d.name, d.condition.as_str()))
            .collect();
        let _ = writeln!(out, "  depends on: {}", deps.join(", "));
    }
    let needed_by: Vec<&str> = m
        .services
        .iter()
        .filter(|o| {
            o.depends_on
                .iter()
                .any(|d| d.name == s.name || s.replicas.contains(&d.name))
        })
        .map(|o| o.name.as_str())
        .collect();
    if !needed_by.is_empty() {
        let _ = writeln!(out, "  needed by: {}", needed_by.join(", "));
    }

    let _ = writeln!(out, "  environments:");
    for env in &m.environments {
        let override_at = ctx
            .at(&format!("environment.{}", env.name))
            .map(|l| format!(", [environment.{}] at {l}", env.name))
            .unwrap_or_default();
        let mut parts = Vec::new();
        for r in &s.replicas {
            if let Some(es) = env.services.iter().find(|e| &e.name == r) {
                if !es.ports.is_empty() {
                    let ports: Vec<String> = es.ports.iter().map(|p| p.to_string()).collect();
                    parts.push(format!("{} publishes {}", r, ports.join(", ")));
                }
                if let Some(l) = &es.limits
                    && r == &s.replicas[0]
                {
                    parts.push(format!("limits {} CPU, {} memory", l.cpus, l.memory));
                }
            }
        }
        if parts.iter().all(|p| !p.contains("publishes")) {
            parts.insert(0, "not published".into());
        }
        parts.push(format!("restart {}", env.restart));
        if env.hardening {
            parts.push("hardened".into());
        }
        let _ = writeln!(
            out,
            "    {} ({}{override_at}; {}): {}",
            env.name,
            profile_file(&env.name),
            env.compose_file,
            parts.join("; ")
        );
    }

    match &s.metrics {
        Some(metrics) => {
            let job = m.scrape_jobs.iter().find(|j| j.name == s.name);
            let _ = writeln!(
                out,
                "  scraped: job `{}`, path {}, port {}{}",
                s.name,
                metrics.path,
                metrics.port,
                ctx.at(&format!("{key}.metrics"))
                    .map(|l| format!(" ({l})"))
                    .unwrap_or_default()
            );
            if let Some(job) = job {
                let _ = writeln!(
                    out,
                    "    targets: monitoring/prometheus/{} ({})",
                    job.file,
                    metrics.targets.join(", ")
                );
            }
        }
        None => {
            let _ = writeln!(out, "  not scraped (no `metrics` table)");
        }
    }
    let _ = write!(out, "{}", related(ctx, &s.name, &s.replicas));
    out
}

pub(super) fn explain_database(ctx: &Ctx, i: usize) -> String {
    let m = ctx.model();
    let d = &m.databases[i];
    let key = format!("database[{i}]");
    let mut out = String::new();
    let _ = writeln!(
        out,
        "database `{}` ({}) — {}",
        d.name,
        d.kind,
        ctx.at(&format!("{key}.name")).unwrap_or_default()
    );
    let _ = writeln!(out, "  manifest:");
    ctx.lines_of(&key, &mut out);
    let version = if ctx.spans().has(&format!("{key}.version")) {
        format!(
            "version from {}",
            ctx.at(&format!("{key}.version")).unwrap_or_default()
        )
    } else {
        format!(
            "version pinned in templates/v{}/components/{}/image.toml",
            m.templates, d.kind
        )
    };
    let server = m.compose.iter().find(|c| c.name == d.name);
    let data_path = server
        .and_then(|c| c.volumes.first())
        .and_then(|v| v.split_once(':'))
        .map_or("", |(_, path)| path);
    let _ = writeln!(
        out,
        "  compose.yaml: {} (image {}, {version}; port {}, volume {} at {data_path})",
        d.name,
        d.image,
        d.kind.port(),
        d.volume
    );
    let secrets: Vec<&str> = server
        .into_iter()
        .flat_map(|c| c.environment.values())
        .filter(|v| v.contains("${"))
        .map(String::as_str)
        .collect();
    if !secrets.is_empty() {
        let _ = writeln!(out, "  secrets from .env: {}", secrets.join(", "));
    }
    let users: Vec<&str> = m
        .services
        .iter()
        .filter(|s| s.depends_on.iter().any(|dep| dep.name == d.name))
        .map(|s| s.name.as_str())
        .collect();
    if !users.is_empty() {
        let _ = writeln!(out, "  needed by: {}", users.join(", "));
    }
    let _ = write!(
        out,
        "{}",
        related(ctx, &d.name, std::slice::from_ref(&d.name))
    );
    out
}

/// Compose services, alerts, dashboards and files that concern `name`.
fn related(ctx: &Ctx, name: &str, replicas: &[String]) -> String {
    let m = ctx.model();
    let mut out = String::new();
    let helpers: Vec<&str> = m
        .compose
        .iter()
        .filter(|c| !replicas.contains(&c.name) && c.name.starts_with(&format!("{name}-")))
        .map(|c| c.name.as_str())
        .collect();
    if !helpers.is_empty() {
        let _ = writeln!(out, "  beside it in compose.yaml: {}", helpers.join(", "));
    }
    let mut alerts: Vec<String> = Vec::new();
    for f in &m.rules {
        for g in &f.groups {
            for r in &g.rules {
                let Some(a) = &r.alert else { continue };
                let values = matcher_values(&r.expr);
                let hit = values.contains(name)
                    || replicas.iter().any(|x| values.contains(x))
                    || helpers.iter().any(|h| values.contains(*h))
                    || f.name.ends_with(&format!("-{name}"));
                if hit {
                    let line = format!(
                        "{a} ({}) in monitoring/prometheus/rules/{}.yml",
                        r.labels.get("severity").map(String::as_str).unwrap_or("-"),
                        f.name
                    );
                    if !alerts.contains(&line) {
                        alerts.push(line);
                    }
                }
            }
        }
    }
    if !alerts.is_empty() {
        let _ = writeln!(out, "  alerts (`obsgen explain alert NAME`):");
        for a in &alerts {
            let _ = writeln!(out, "    {a}");
        }
    }
    if let Some(g) = &m.provisioning {
        let dash: Vec<String> = g
            .dashboards
            .iter()
            .filter(|d| d.path.contains(&format!("-{name}.json")) || mentions(&d.json, name))
            .map(|d| format!("{} ({})", d.path, d.title))
            .collect();
        if !dash.is_empty() {
            let _ = writeln!(out, "  dashboards:");
            for d in dash {
                let _ = writeln!(out, "    {d}");
            }
        }
    }
    let files: Vec<&str> = ctx
        .gen_
        .files
        .iter()
        .filter(|f| mentions(&String::from_utf8_lossy(&f.bytes), name))
        .map(|f| f.path.as_str())
        .collect();
    let _ = writeln!(out, "  generated files that name it ({}):", files.len());
    for chunk in files.chunks(4) {
        let _ = writeln!(out, "    {}", chunk.join("  "));
    }
    out
}
