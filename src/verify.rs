//! Verification of rendered files before anything is written: every YAML/JSON file
//! parses back, carries the header, and cross-file references hold (every scrape
//! target is a Compose service, every overlay service exists in the base file,
//! every `depends_on` names a service, every Alertmanager route names a defined
//! receiver, every `alerting` target file is generated, every metric a generated rule or
//! dashboard queries is served by an enabled component or recorded by a rule:
//! [`crate::metrics`]). A failure here is a bug in obsgen.

use std::collections::BTreeSet;

use anyhow::{Result, anyhow, bail};
use serde_json::Value as Json;

use crate::model::Model;
use crate::plan::Format;
use crate::render::File;

/// Whether verification reads a file's values (cross-file checks), or only its syntax.
fn needs_value(path: &str) -> bool {
    path.starts_with("compose")
        || path.starts_with("monitoring/prometheus/prometheus.")
        || path.starts_with("monitoring/prometheus/targets/")
        || path.starts_with(crate::ci::WORKFLOW_DIR)
        || path.starts_with("monitoring/grafana/")
}

/// Checks a file's syntax only (cheaper than building its value).
fn check_syntax(file: &File) -> Result<()> {
    let text =
        std::str::from_utf8(&file.bytes).map_err(|e| anyhow!("{} is not UTF-8: {e}", file.path))?;
    match Format::of(&file.path) {
        // The YAML parser's event stream, without the serde layer above it (serde-saphyr
        // parses with the same parser): every syntax error, at a third of the cost.
        Format::Yaml => granit_parser::Parser::new_from_str(text)
            .try_for_each(|event| event.map(|_| ()))
            .map_err(|e| anyhow!("{} does not parse as YAML: {e}", file.path)),
        _ => parse(file).map(|_| ()),
    }
}

/// Parses a rendered file by its format.
pub fn parse(file: &File) -> Result<Option<Json>> {
    let text =
        std::str::from_utf8(&file.bytes).map_err(|e| anyhow!("{} is not UTF-8: {e}", file.path))?;
    match Format::of(&file.path) {
        Format::Yaml => serde_saphyr::from_str::<Json>(text)
            .map(Some)
            .map_err(|e| anyhow!("{} does not parse as YAML: {e}", file.path)),
        Format::Json => serde_json::from_str::<Json>(text)
            .map(Some)
            .map_err(|e| anyhow!("{} does not parse as JSON: {e}", file.path)),
        Format::Shell | Format::Markdown => Ok(None),
        Format::Alloy => crate::components::logs::check_alloy(text)
            .map(|_| None)
            .map_err(|e| anyhow!("{}: {e}", file.path)),
        Format::Dotenv => {
            for (i, line) in text.lines().enumerate() {
                let l = line.trim();
                if l.is_empty() || l.starts_with('#') {
                    continue;
                }
                let Some((k, _)) = l.split_once('=') else {
                    bail!("{}:{}: not a KEY=value line", file.path, i + 1);
                };
                if !crate::units::is_env_name(k) {
                    bail!("{}:{}: `{k}` is not a variable name", file.path, i + 1);
                }
            }
            Ok(None)
        }
    }
}

fn keys(v: &Json, field: &str) -> BTreeSet<String> {
    v.get(field)
        .and_then(Json::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// Host of a scrape target: `backend-1:3847` → `backend-1`; probe URLs
/// (`http://gateway:5921/health`) → `gateway`.
fn target_host(target: &str) -> &str {
    let authority = match target.split_once("://") {
        Some((_, rest)) => rest.split(['/', '?', '#']).next().unwrap_or(""),
        None => target,
    };
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// Whether a network is internal: the overlay's definition wins over the base's.
fn is_internal(base: &Json, overlay: &Json, network: &str) -> bool {
    let def = |v: &Json| v.get("networks").and_then(|n| n.get(network)).cloned();
    def(overlay)
        .or_else(|| def(base))
        .and_then(|d| d.get("internal").and_then(Json::as_bool))
        .unwrap_or(false)
}

/// Every container that publishes a port in an environment (overlay `ports`) is on a
/// network that is not internal there: Docker publishes nothing from an internal network.
pub fn check_published_networks(path: &str, base: &Json, overlay: &Json) -> Result<()> {
    let Some(services) = overlay.get("services").and_then(Json::as_object) else {
        return Ok(());
    };
    for (name, svc) in services {
        let publishes = svc
            .get("ports")
            .and_then(Json::as_array)
            .is_some_and(|p| !p.is_empty());
        if !publishes {
            continue;
        }
        let mut networks = keys(&base["services"][name], "networks");
        networks.extend(keys(svc, "networks"));
        if !networks.iter().any(|n| !is_internal(base, overlay, n)) {
            bail!(
                "bug in obsgen: {path}: `{name}` publishes a port but is only on internal networks ({})",
                networks.into_iter().collect::<Vec<_>>().join(", ")
            );
        }
    }
    Ok(())
}

/// Checks every rendered file; returns the first problem as a bug report.
pub fn verify(model: &Model, files: &[File]) -> Result<()> {
    let header = model.header();
    crate::kubernetes::verify(files).map_err(|e| anyhow!("bug in obsgen: generated {e:#}"))?;
    let paths: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let mut base_services = BTreeSet::new();
    let mut base_compose = Json::Null;
    let mut parsed = Vec::new();
    // Grafana's files are parsed and checked (their PromQL parsed: the slow part) on a
    // thread of their own while the other files are parsed back; so are the rule files
    // (their expressions parsed for the metric check).
    let is_grafana = |f: &File| f.path.starts_with("monitoring/grafana/");
    let is_rules = |f: &File| f.path.starts_with("monitoring/prometheus/rules/");
    let (values, grafana, rules) = std::thread::scope(|scope| {
        let rules = scope.spawn(|| -> Result<crate::metrics::Rules> {
            let mut docs = Vec::new();
            for f in files.iter().filter(|f| is_rules(f)) {
                let rules = std::str::from_utf8(&f.bytes)
                    .map_err(|e| e.to_string())
                    .and_then(crate::metrics::rules_of)
                    .map_err(|e| {
                        anyhow!(
                            "bug in obsgen: generated {} does not parse as YAML: {e}",
                            f.path
                        )
                    })?;
                docs.push((f.path.as_str(), rules));
            }
            crate::metrics::Rules::parse(model, &docs).map_err(|e| anyhow!("bug in obsgen: {e:#}"))
        });
        let grafana = scope.spawn(|| -> Result<Vec<crate::grafana::Parsed>> {
            let mut docs = Vec::new();
            for f in files.iter().filter(|f| is_grafana(f)) {
                let value = parse(f).map_err(|e| anyhow!("bug in obsgen: generated {e:#}"))?;
                docs.push((f, value.unwrap_or(Json::Null)));
            }
            let refs: Vec<(&File, &Json)> = docs.iter().map(|(f, v)| (*f, v)).collect();
            crate::grafana::verify(&refs).map_err(|e| anyhow!("bug in obsgen: {e:#}"))
        });
        let values = crate::parallel::parallel_map(files, |f| {
            if is_grafana(f) || is_rules(f) {
                Ok(None) // parsed and checked by the threads above
            } else if needs_value(&f.path) {
                parse(f)
            } else {
                check_syntax(f).map(|()| None)
            }
        });
        (
            values,
            grafana.join().expect("grafana check panicked"),
            rules.join().expect("rules parse panicked"),
        )
    });
    let dashboards = grafana?;
    let rules = rules?;
    for (f, value) in files.iter().zip(values) {
        let value = value.map_err(|e| anyhow!("bug in obsgen: generated {e:#}"))?;
        if let Some(line) = Format::of(&f.path).header_line(&header) {
            let first = f.bytes.split(|b| *b == b'\n').next().unwrap_or_default();
            if first != line.as_bytes() {
                bail!(
                    "bug in obsgen: {} does not start with the generated-file header",
                    f.path
                );
            }
        }
        if f.path == "compose.yaml" {
            base_services = keys(value.as_ref().unwrap_or(&Json::Null), "services");
            base_compose = value.clone().unwrap_or(Json::Null);
        }
        parsed.push((f, value));
    }

    for (f, value) in &parsed {
        let Some(value) = value else { continue };
        crate::alertmanager::verify(&f.path, value, &paths)?;
        crate::ci::verify(&f.path, value, &paths)?;
        if f.path.starts_with("compose.") && f.path != "compose.yaml" {
            check_published_networks(&f.path, &base_compose, value)?;
        }
        if f.path.starts_with("compose") {
            for name in keys(value, "services") {
                if !base_services.contains(&name) {
                    bail!(
                        "bug in obsgen: {} configures service `{name}`, which compose.yaml lacks",
                        f.path
                    );
                }
                for dep in keys(&value["services"][&name], "depends_on") {
                    if !base_services.contains(&dep) {
                        bail!(
                            "bug in obsgen: {}: `{name}` depends on unknown service `{dep}`",
                            f.path
                        );
                    }
                }
            }
        }
        let groups: Vec<&Json> = if f.path.starts_with("monitoring/prometheus/prometheus.") {
            let jobs = value
                .get("scrape_configs")
                .and_then(Json::as_array)
                .into_iter()
                .flatten();
            let mut groups = Vec::new();
            for job in jobs {
                groups.extend(
                    job.get("static_configs")
                        .and_then(Json::as_array)
                        .into_iter()
                        .flatten(),
                );
                for sd in job
                    .get("file_sd_configs")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                {
                    for file in sd
                        .get("files")
                        .and_then(Json::as_array)
                        .into_iter()
                        .flatten()
                    {
                        let path = format!("monitoring/prometheus/{}", file.as_str().unwrap_or(""));
                        if !paths.contains(path.as_str()) {
                            bail!(
                                "bug in obsgen: {} reads targets from {path}, which is not generated",
                                f.path
                            );
                        }
                    }
                }
            }
            groups
        } else if f.path.starts_with("monitoring/prometheus/targets/") {
            value
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        for group in groups {
            // Addresses carried in labels (the blackbox exporter of the probe job).
            let label_addresses = group
                .get("labels")
                .and_then(Json::as_object)
                .into_iter()
                .flatten()
                .filter(|(k, _)| k.starts_with("__tmp_"))
                .map(|(_, v)| v);
            for t in group
                .get("targets")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .chain(label_addresses)
            {
                let host = target_host(t.as_str().unwrap_or(""));
                // The one probe outside the stack: the public domain, over HTTPS (every
                // probe of a Compose service is plain HTTP on the internal network).
                let public = t.as_str().is_some_and(|t| t.starts_with("https://"));
                if host != "localhost" && !public && !base_services.contains(host) {
                    bail!(
                        "bug in obsgen: {} scrapes `{}`, which is no service in compose.yaml",
                        f.path,
                        t
                    );
                }
            }
        }
    }
    crate::components::verify(files).map_err(|e| anyhow!("bug in obsgen: {e:#}"))?;
    crate::metrics::check(&rules, &dashboards).map_err(|e| anyhow!("bug in obsgen: {e:#}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> File {
        File {
            path: path.into(),
            template: "t".into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    #[test]
    fn markdown_carries_the_header_as_an_html_comment() {
        assert_eq!(
            Format::of("docs/deploy/aws.md").header_line("H"),
            Some("<!-- H -->".to_string())
        );
        assert_eq!(
            Format::of("a.yml").header_line("H"),
            Some("# H".to_string())
        );
        assert_eq!(Format::of("a.json").header_line("H"), None);
        assert!(parse(&file("docs/a.md", "<!-- H -->\n# x\n")).is_ok());
    }

    #[test]
    fn a_published_port_needs_a_network_that_is_not_internal() {
        let base: Json = serde_json::json!({
            "services": {
                "web": {"networks": {"app": {}, "edge": {}}},
                "db": {"networks": {"app": {}}}
            },
            "networks": {"app": {}, "edge": {}}
        });
        let ok = serde_json::json!({
            "services": {"web": {"ports": ["0.0.0.0:80:80"]}, "db": {}},
            "networks": {"app": {"internal": true}}
        });
        assert!(check_published_networks("compose.production.yaml", &base, &ok).is_ok());
        let bad = serde_json::json!({
            "services": {"db": {"ports": ["127.0.0.1:5432:5432"]}},
            "networks": {"app": {"internal": true}}
        });
        let err = check_published_networks("compose.production.yaml", &base, &bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`db` publishes a port"), "{err}");
        // The overlay attaches it to `edge`: fine.
        let joined = serde_json::json!({
            "services": {"db": {"ports": ["127.0.0.1:5432:5432"], "networks": {"edge": {}}}},
            "networks": {"app": {"internal": true}}
        });
        assert!(check_published_networks("compose.staging.yaml", &base, &joined).is_ok());
        // Not internal in this environment: fine.
        let dev = serde_json::json!({"services": {"db": {"ports": ["127.0.0.1:5432:5432"]}}});
        assert!(check_published_networks("compose.development.yaml", &base, &dev).is_ok());
    }

    #[test]
    fn broken_yaml_and_dotenv_are_caught() {
        assert!(parse(&file("a.yaml", "a: [1, 2\n")).is_err());
        assert!(parse(&file("a.json", "{")).is_err());
        assert!(parse(&file(".env.example", "# c\nA=1\nnot a line\n")).is_err());
        assert!(parse(&file(".env.example", "# c\nA=1\n\nB=\n")).is_ok());
    }

    #[test]
    fn the_syntax_only_check_catches_what_the_full_parse_catches() {
        let broken = [
            "a: [1, 2\n",
            "a: {b: 1\n",
            "a: 'unterminated\n",
            "a: \"unterminated\n",
            "a:\n  - x\n y: 1\n",
            "a: b: c\n",
            "- a\nb: 1\n",
            "a: *missing\n",
            "key: |\n  text\n bad: 1\n",
        ];
        for text in broken {
            let f = file("monitoring/prometheus/rules/x.yml", text);
            assert!(!needs_value(&f.path));
            assert!(parse(&f).is_err(), "the full parse accepts {text:?}");
            assert!(
                check_syntax(&f).is_err(),
                "the syntax check accepts {text:?}"
            );
            // Rule files are read from the same event stream, for the metric check.
            assert!(
                crate::metrics::rules_of(text).is_err(),
                "the rules reader accepts {text:?}"
            );
        }
        let fine = "groups:\n  - name: x # c\n    rules: []\nanchors: &a {k: v}\nref: *a\n";
        let f = file("monitoring/prometheus/rules/x.yml", fine);
        assert!(parse(&f).is_ok() && check_syntax(&f).is_ok());
    }
}
