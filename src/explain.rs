//! `obsgen explain`: where a service, a database, an alert or a generated file comes
//! from (manifest lines, profile values, templates) and what depends on it. It runs
//! the whole pipeline, so what it says is what `generate` would write.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail};

use crate::load::{Loaded, SpanMap};
use crate::manifest::Manifest;
use crate::model::Model;
use crate::project::{Generated, Project};
use crate::render::File;

struct Ctx<'a> {
    manifest_name: &'a str,
    text: &'a str,
    loaded: &'a Loaded<Manifest>,
    gen_: &'a Generated,
    overlay: Option<&'a Path>,
}

impl Ctx<'_> {
    fn model(&self) -> &Model {
        &self.gen_.model
    }
    fn spans(&self) -> &SpanMap {
        &self.loaded.spans
    }
    /// Line of the key at `path` (1-based), when the manifest has it.
    fn line(&self, path: &str) -> Option<usize> {
        self.spans()
            .has(path)
            .then(|| self.spans().key(path))
            .flatten()
            .map(|r| self.loaded.source.line_col(r.start).0)
    }
    /// `obsgen.toml:12` for a key the manifest sets.
    fn at(&self, path: &str) -> Option<String> {
        self.line(path)
            .map(|l| format!("{}:{l}", self.manifest_name))
    }
    /// The manifest lines of a table item (`service[1]`): from its `[[…]]` header to
    /// the next table header, without trailing blank or comment lines; numbered.
    fn lines_of(&self, path: &str, out: &mut String) {
        let Some(first) = self
            .line(&format!("{path}.name"))
            .or_else(|| self.line(path))
        else {
            return;
        };
        let lines: Vec<&str> = self.text.lines().collect();
        let mut start = first - 1;
        while start > 0 && !lines[start].trim_start().starts_with('[') {
            start -= 1;
        }
        if !lines[start].trim_start().starts_with('[') {
            start = first - 1;
        }
        let mut end = start + 1;
        while end < lines.len() && !lines[end].trim_start().starts_with('[') {
            end += 1;
        }
        while end > start + 1 && {
            let t = lines[end - 1].trim();
            t.is_empty() || t.starts_with('#')
        } {
            end -= 1;
        }
        for (i, line) in lines.iter().enumerate().take(end).skip(start) {
            let _ = writeln!(out, "    {:>4} | {line}", i + 1);
        }
    }
    fn file(&self, path: &str) -> Option<&File> {
        self.gen_.files.iter().find(|f| f.path == path)
    }
}

/// Whether `word` appears in `text` as a whole name (not inside a longer name).
fn mentions(text: &str, word: &str) -> bool {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_name) && !after.is_some_and(is_name)
    })
}

/// Label-matcher values of a PromQL expression (`job=~"a|b"` → `a`, `b`).
fn matcher_values(expr: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r#"[=~!]"([^"]*)""#).expect("valid regex");
    re.captures_iter(expr)
        .flat_map(|c| c[1].split('|').map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// Runs the explanation for `what` (`gateway`, `alert ServiceDown`, `compose.yaml`).
pub fn explain(project: &Project, overlay: Option<&Path>, what: &[String]) -> Result<String> {
    let text = std::fs::read_to_string(&project.manifest)
        .with_context(|| format!("reading {}", project.manifest.display()))?;
    let loaded = crate::load::load_manifest(text.clone(), &project.manifest_name)?;
    let gen_ = crate::project::generate(project, overlay)?;
    let ctx = Ctx {
        manifest_name: &project.manifest_name,
        text: &text,
        loaded: &loaded,
        gen_: &gen_,
        overlay,
    };
    let m = ctx.model();
    let alert_names: BTreeSet<String> = m
        .rules
        .iter()
        .flat_map(|f| f.groups.iter().flat_map(|g| g.rules.iter()))
        .filter_map(|r| r.alert.clone())
        .collect();
    let (kind, name) = match what {
        [k, n] if k == "alert" => ("alert", n.as_str()),
        [k, n] if k == "service" || k == "database" || k == "file" => (k.as_str(), n.as_str()),
        [n] => ("", n.as_str()),
        _ => bail!(
            "explain takes one name, or `alert NAME`\nhelp: for example `obsgen explain gateway`, `obsgen explain alert ServiceDown`, `obsgen explain compose.production.yaml`"
        ),
    };
    let files: Vec<&str> = gen_.files.iter().map(|f| f.path.as_str()).collect();
    let file_match = |n: &str| -> Option<String> {
        if files.contains(&n) {
            return Some(n.to_string());
        }
        let by_suffix: Vec<&&str> = files
            .iter()
            .filter(|f| f.ends_with(&format!("/{n}")))
            .collect();
        (by_suffix.len() == 1).then(|| by_suffix[0].to_string())
    };
    let service = m.services.iter().position(|s| s.name == name);
    let database = m.databases.iter().position(|d| d.name == name);
    match kind {
        "alert" if alert_names.contains(name) => return Ok(alert(&ctx, name)),
        "service" if service.is_some() => return Ok(explain_service(&ctx, service.unwrap())),
        "database" if database.is_some() => return Ok(explain_database(&ctx, database.unwrap())),
        "file" => {
            if let Some(f) = file_match(name) {
                return explain_file(&ctx, &f);
            }
        }
        "" => {
            if let Some(i) = service {
                return Ok(explain_service(&ctx, i));
            }
            if let Some(i) = database {
                return Ok(explain_database(&ctx, i));
            }
            if let Some(f) = file_match(name) {
                return explain_file(&ctx, &f);
            }
            if alert_names.contains(name) {
                return Ok(alert(&ctx, name));
            }
        }
        _ => {}
    }
    // Not found: suggest the nearest name of the kind asked for (or any kind).
    let mut candidates: Vec<String> = Vec::new();
    if kind.is_empty() || kind == "service" {
        candidates.extend(m.services.iter().map(|s| s.name.clone()));
    }
    if kind.is_empty() || kind == "database" {
        candidates.extend(m.databases.iter().map(|d| d.name.clone()));
    }
    if kind.is_empty() || kind == "alert" {
        candidates.extend(alert_names.iter().cloned());
    }
    if kind.is_empty() || kind == "file" {
        candidates.extend(files.iter().map(|f| f.to_string()));
        candidates.extend(
            files
                .iter()
                .filter_map(|f| f.rsplit('/').next().map(str::to_string)),
        );
    }
    let what = match kind {
        "" => "service, database, alert or generated file",
        "file" => "generated file",
        k => k,
    };
    let help = match crate::diag::suggest(name, candidates.iter().map(String::as_str)) {
        Some(s) if kind == "alert" || (kind.is_empty() && alert_names.contains(s)) => {
            format!("did you mean `obsgen explain alert {s}`?")
        }
        Some(s) => format!("did you mean `{s}`?"),
        None => {
            let services: Vec<&str> = m.services.iter().map(|s| s.name.as_str()).collect();
            format!(
                "services are {}; `obsgen explain alert NAME` for an alert; a path from obsgen.lock for a file",
                services.join(", ")
            )
        }
    };
    Err(anyhow!(
        "no {what} named `{name}` in {}\nhelp: {help}",
        ctx.manifest_name
    ))
}

fn profile_file(name: &str) -> String {
    format!("profiles/{name}.toml")
}

/// The value of `key` in `[table]` of an embedded profile, as written there.
fn profile_value(profile: &str, table: &str, key: &str) -> Option<String> {
    let text = crate::assets::profile_source(profile)?;
    let t: toml::Table = toml::from_str(text).ok()?;
    let mut v = &toml::Value::Table(t);
    for part in table.split('.').filter(|p| !p.is_empty()) {
        v = v.get(part)?;
    }
    v.get(key).map(|v| v.to_string())
}

fn explain_service(ctx: &Ctx, i: usize) -> String {
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
                    parts.push(format!("{} publishes {}", r, es.ports.join(", ")));
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

fn explain_database(ctx: &Ctx, i: usize) -> String {
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

/// Where an alert's threshold and duration come from.
fn alert(ctx: &Ctx, name: &str) -> String {
    let m = ctx.model();
    let mut out = String::new();
    let _ = writeln!(out, "alert `{name}`");
    let custom = m.alerts.custom.iter().position(|c| c.name == name);
    for f in &m.rules {
        for g in &f.groups {
            for r in g.rules.iter().filter(|r| r.alert.as_deref() == Some(name)) {
                let sev = r.labels.get("severity").map(String::as_str).unwrap_or("-");
                let _ = writeln!(
                    out,
                    "  monitoring/prometheus/rules/{}.yml, group `{}`: severity {sev}, for {}",
                    f.name,
                    g.name,
                    r.for_.as_deref().unwrap_or("0s")
                );
                let _ = writeln!(out, "    expr: {}", r.expr);
                if let Some(s) = r.annotations.get("summary") {
                    let _ = writeln!(out, "    summary: {s}");
                }
                let tests = f
                    .tests
                    .iter()
                    .filter(|t| t.alert_rule_test.iter().any(|a| a.alertname == name))
                    .count();
                if tests > 0 {
                    let _ = writeln!(
                        out,
                        "    tested: {tests} promtool case(s) in monitoring/prometheus/tests/{}.test.yml",
                        f.name
                    );
                }
                // Receivers: routes matching the severity, in order, else the default.
                let mut receivers: Vec<String> = Vec::new();
                for (ri, route) in m.routes.iter().enumerate() {
                    let sev_ok = route.matchers.get("severity").is_none_or(|s| s == sev);
                    let name_ok = route.matchers.get("alertname").is_none_or(|a| a == name);
                    if sev_ok && name_ok && route.match_re.is_empty() {
                        receivers.push(format!(
                            "{} (route {})",
                            route.receivers.join(", "),
                            ctx.at(&format!("route[{ri}]"))
                                .unwrap_or_else(|| format!("#{}", ri + 1))
                        ));
                        if !route.continue_ {
                            break;
                        }
                    }
                }
                if m.alertmanager.is_some() {
                    if receivers.is_empty() && !m.receivers.is_empty() {
                        receivers.push(format!("{} (the default route)", m.receivers[0].name));
                    }
                    if !receivers.is_empty() {
                        let _ = writeln!(out, "    notifies: {}", receivers.join("; "));
                    }
                }
            }
        }
    }
    let _ = writeln!(out, "  where the values come from:");
    let setting = |key: &str, profile_key: &str| -> String {
        match ctx.at(key) {
            Some(at) => format!("{key} at {at}"),
            None => format!(
                "{} [alerts] {profile_key} = {} (the `{}` preset; set {key} in {} to change it)",
                profile_file(&m.profile),
                profile_value(&m.profile, "alerts", profile_key).unwrap_or_default(),
                m.profile,
                ctx.manifest_name
            ),
        }
    };
    if let Some(i) = custom {
        let _ = writeln!(
            out,
            "    written in the manifest: [[alerts.custom]] at {}",
            ctx.at(&format!("alerts.custom[{i}]")).unwrap_or_default()
        );
        ctx.lines_of(&format!("alerts.custom[{i}]"), &mut out);
    } else if name.starts_with("ServiceHighErrorRate") {
        let _ = writeln!(
            out,
            "    threshold {} (critical at twice it): {}",
            m.alerts.error_rate,
            setting("alerts.error_rate", "error_rate")
        );
        let _ = writeln!(
            out,
            "    for {}: {}",
            m.alerts.for_,
            setting("alerts.for", "for")
        );
    } else if name.starts_with("ServiceHighLatency") {
        let _ = writeln!(
            out,
            "    threshold {} (critical at twice it): {}",
            m.alerts.latency_p95,
            setting("alerts.latency_p95", "latency_p95")
        );
        let _ = writeln!(
            out,
            "    for {}: {}",
            m.alerts.for_,
            setting("alerts.for", "for")
        );
    } else if name.starts_with("ErrorBudget") {
        for (i, slo) in m.alerts.slo.iter().enumerate() {
            let _ = writeln!(
                out,
                "    [[alerts.slo]] at {}: service {}, objective {}%, window {} (multi-window burn rates are fixed)",
                ctx.at(&format!("alerts.slo[{i}]")).unwrap_or_default(),
                slo.service,
                slo.objective,
                slo.window
            );
        }
    } else {
        let _ = writeln!(
            out,
            "    built into obsgen's rules for template set v{}: the threshold and duration are fixed",
            m.templates
        );
    }
    out
}

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

fn explain_file(ctx: &Ctx, path: &str) -> Result<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_name_mentions() {
        assert!(mentions("job=~\"api|web\"", "api"));
        assert!(!mentions("rapid", "api"));
        assert!(!mentions("api-db", "api"));
        assert!(mentions("- api\n", "api"));
    }

    #[test]
    fn matcher_values_split_alternations() {
        let v = matcher_values(r#"up{job=~"gateway|backend",env!="x"} == 0"#);
        assert!(v.contains("gateway") && v.contains("backend") && v.contains("x"));
    }
}
