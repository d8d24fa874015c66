//! The components: each one owns everything about one monitored or monitoring thing —
//! its containers, volumes, secrets and `.env` variables, its scrape jobs and probes, its
//! configuration files, its alert and recording rules with their tests (`rules.rs`, built
//! with the kit in [`crate::rules`]) (and, as the restructure proceeds, its dashboards) —
//! and hands it over as a [`Contribution`]. [`REGISTRY`] is the one list of components; the
//! assembler ([`crate::assemble`]) folds the contributions of the enabled ones, in
//! registry order, into the stack.
//!
//! A component reads only the [`Settled`] input, never another component's
//! contribution: data flows one way. What gathers from all of them (Grafana's
//! provisioning, the blackbox `probe` job, the parts of `rules/monitoring.yml` and its
//! `PrometheusTargetMissing`, Prometheus's `rule_files`) happens in the assembler, over
//! the folded lists.
//!
//! - [`prometheus`], [`grafana`], [`alertmanager`]: the monitoring stack itself;
//! - [`apps`]: the manifest's services (replicas, jobs, `.env` references);
//! - [`databases`]: each `[[database]]` with its exporter;
//! - [`node_exporter`], [`cadvisor`], [`blackbox`]: host, container and probe metrics;
//! - [`logs`], [`traces`], [`errors`], [`storage`]: the optional components
//!   (`[logging]`, `[tracing]`, `[errors]`, `[storage]`), whose settings [`settings`]
//!   decides;
//! - [`alerts`]: the manifest's own SLOs and custom alerts (rules only).

pub mod alertmanager;
pub mod alerts;
pub mod apps;
pub mod blackbox;
pub mod cadvisor;
pub mod databases;
pub mod errors;
pub mod grafana;
pub mod logs;
pub mod node_exporter;
pub mod prometheus;
pub mod storage;
pub mod traces;

use crate::diag::Diagnostic;
use crate::load::SpanMap;
use crate::manifest::Manifest;
pub use crate::model::Contribution;
use crate::model::Settled;

/// Scrape jobs of the optional components with a down alert of their own (the
/// `SCRAPED` tables of their `rules.rs`): the monitoring dashboard shows them.
pub fn own_down_alert_jobs() -> impl Iterator<Item = &'static str> {
    [
        logs::rules::SCRAPED,
        traces::rules::SCRAPED,
        storage::rules::SCRAPED,
    ]
    .into_iter()
    .flatten()
    .map(|(job, ..)| *job)
}

/// One component of the stack (see the module doc).
pub trait Component: Sync {
    /// Its name (`node-exporter`): unique in the registry.
    fn name(&self) -> &'static str;
    /// Whether the settled input runs it.
    fn enabled(&self, s: &Settled) -> bool;
    /// Its part of the stack. Called only when [`Component::enabled`].
    fn contribute(&self, s: &Settled) -> Contribution;
    /// Problems of the manifest only this component knows about (names it takes, its
    /// own section), located with `spans`. Runs on every validated manifest, before
    /// anything is settled.
    fn check(&self, _m: &Manifest, _spans: &SpanMap) -> Vec<Diagnostic> {
        Vec::new()
    }
    /// The metric catalogues of the images it runs and queries
    /// (`templates/v<N>/components/<name>/metrics.toml`).
    fn catalogues(&self) -> &'static [&'static str] {
        &[]
    }
}

/// Every problem the components find in a manifest, in registry order.
pub fn check(m: &Manifest, spans: &SpanMap) -> Vec<Diagnostic> {
    REGISTRY.iter().flat_map(|c| c.check(m, spans)).collect()
}

/// Names of the manifest's services and databases with their keys (`service[0].name`)
/// and what they name: for components that take names of their own.
pub(crate) fn manifest_names(m: &Manifest) -> Vec<(String, &'static str, &str)> {
    m.services
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("service[{i}].name"), "service", s.name.as_str()))
        .chain(
            m.databases
                .iter()
                .enumerate()
                .map(|(i, d)| (format!("database[{i}].name"), "database", d.name.as_str())),
        )
        .collect()
}

/// Every component, in the order their contributions are folded: the order of the
/// scrape jobs in `prometheus.yml`, of the volumes, and of the Compose services within
/// a role (see [`crate::assemble`] for the orders that are not the registry's).
pub static REGISTRY: &[&dyn Component] = &[
    &prometheus::Prometheus,
    &grafana::Grafana,
    &alertmanager::Alertmanager,
    &apps::Apps,
    &node_exporter::NodeExporter,
    &cadvisor::Cadvisor,
    &blackbox::Blackbox,
    &databases::Databases,
    &logs::Logs,
    &traces::Traces,
    &errors::Errors,
    &storage::Storage,
    &alerts::Alerts,
];

use std::collections::BTreeMap;

use crate::manifest::{ErrorBackend, LogBackend, TraceBackend};
pub use crate::model::addons::{Addons, ConfigFile};
use crate::model::{Artifact, ComposeService, File, Model, attach, group};

/// A UI published on the environment's monitoring address.
pub struct Ui {
    /// Field of `[environment.<env>]` that sets its host port.
    pub field: &'static str,
    pub owner: &'static str,
    pub compose: &'static str,
    pub container_port: u16,
}

/// The UIs the manifest's components publish (host ports from the environment).
pub fn uis(m: &Manifest) -> Vec<Ui> {
    let stack = crate::layers::settled_stack(m);
    let mut out = Vec::new();
    if stack.logging.backend == LogBackend::Elasticsearch {
        out.push(Ui {
            field: "kibana_port",
            owner: "the Kibana UI",
            compose: logs::KIBANA,
            container_port: logs::KIBANA_PORT,
        });
    }
    if stack.tracing.backend == TraceBackend::Jaeger {
        out.push(Ui {
            field: "jaeger_port",
            owner: "the Jaeger UI",
            compose: traces::JAEGER,
            container_port: traces::JAEGER_UI_PORT,
        });
    }
    if stack.errors.backend == ErrorBackend::Glitchtip {
        out.push(Ui {
            field: "glitchtip_port",
            owner: "the GlitchTip UI",
            compose: errors::GLITCHTIP,
            container_port: errors::GLITCHTIP_PORT,
        });
    }
    if m.storage.minio.is_some() {
        out.push(Ui {
            field: "minio_console_port",
            owner: "the MinIO console",
            compose: storage::MINIO,
            container_port: storage::CONSOLE_PORT,
        });
    }
    out
}

/// Components an app service may list in `depends_on` (they have a health check):
/// MinIO when `[storage.minio]` is set.
pub fn dependable(m: &Manifest) -> Vec<&'static str> {
    let mut out = Vec::new();
    if m.storage.minio.is_some() {
        out.push(storage::MINIO);
    }
    out
}

/// Variables of `.env` the enabled components read, with what each is (for clashes
/// with a database's `<NAME>_USER` / `<NAME>_PASSWORD`).
pub fn env_vars(m: &Manifest) -> Vec<(String, &'static str)> {
    // Runs during validation: an unknown profile is reported elsewhere.
    if crate::assets::stack_profile(&m.project.profile).is_none() {
        return Vec::new();
    }
    let stack = crate::layers::settled_stack(m);
    let mut out: Vec<(String, &'static str)> = Vec::new();
    if stack.logging.backend == LogBackend::Elasticsearch {
        for v in [
            logs::ELASTIC_PASSWORD_VAR,
            logs::KIBANA_PASSWORD_VAR,
            logs::WRITER_PASSWORD_VAR,
            logs::READER_PASSWORD_VAR,
        ] {
            out.push((v.into(), "a password of the logs cluster"));
        }
    }
    if stack.errors.backend == ErrorBackend::Glitchtip {
        for v in errors::VARS {
            out.push((v.to_string(), "a GlitchTip setting"));
        }
    }
    if stack.errors.backend != ErrorBackend::None {
        let dsn = stack.errors.dsn_env;
        out.push((dsn, "the error-tracking DSN (`errors.dsn_env`)"));
    }
    if m.storage.minio.is_some() {
        for v in storage::VARS {
            out.push((v.to_string(), "a MinIO root credential"));
        }
    }
    out
}

/// The host port of a component's UI in one environment.
pub fn ui_port(s: &crate::settings::Env, field: &str) -> u16 {
    match field {
        "kibana_port" => s.kibana_port,
        "jaeger_port" => s.jaeger_port,
        "glitchtip_port" => s.glitchtip_port,
        "minio_console_port" => s.minio_console_port,
        f => panic!("bug: no UI port setting `{f}`"),
    }
}

/// Whether an environment table of the manifest sets a component's UI port itself.
pub fn ui_port_set(s: &crate::settings::EnvSettings, field: &str) -> bool {
    match field {
        "kibana_port" => s.kibana_port.is_some(),
        "jaeger_port" => s.jaeger_port.is_some(),
        "glitchtip_port" => s.glitchtip_port.is_some(),
        "minio_console_port" => s.minio_console_port.is_some(),
        f => panic!("bug: no UI port setting `{f}`"),
    }
}

/// The configuration files of the components.
pub fn artifacts(model: &Model) -> Vec<Artifact> {
    model
        .files
        .iter()
        .map(|f| Artifact::per_item(f.path.clone(), &f.template, &f.item))
        .collect()
}

/// The pinned image of a component.
pub(crate) fn image(model: &Settled, name: &str) -> String {
    crate::assets::images(&model.templates)
        .get(name)
        .cloned()
        .unwrap_or_else(|| panic!("bug: no pinned image for {name}"))
}

/// `${VAR:?set VAR in .env}`: a required variable from `.env`.
pub(crate) fn req(var: &str) -> String {
    format!("${{{var}:?set {var} in .env}}")
}

/// How to make a random secret that is safe inside URLs and JSON (letters and digits).
pub(crate) const RANDOM: &str = crate::layers::RANDOM;

/// Variables every app container gets from the components (tracing, error tracking),
/// in the base file; the manifest's own `env` of a service wins.
pub fn app_environment(model: &Settled, service: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    traces::app_environment(model, service, &mut env);
    errors::app_environment(model, &mut env);
    env
}

/// Variables an environment's overlay sets on a container (its name is in them).
pub fn env_environment(model: &Model, compose: &str, env: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(c) = model.compose.iter().find(|c| c.name == compose) else {
        return out;
    };
    if c.role == crate::model::Role::App {
        if model.tracing != TraceBackend::None {
            out.insert(
                "OTEL_RESOURCE_ATTRIBUTES".into(),
                format!("deployment.environment={env}"),
            );
        }
        if model.errors != ErrorBackend::None {
            out.insert("SENTRY_ENVIRONMENT".into(), env.to_string());
        }
    }
    if c.name == logs::ALLOY || c.name == logs::FILEBEAT {
        out.insert(logs::ENVIRONMENT_VAR.into(), env.to_string());
    }
    out
}

// ---- cross-file checks of the rendered files

/// A rendered YAML file's value (`verify` has already parsed every file once; these
/// checks read the few they compare).
fn yaml(f: &File) -> anyhow::Result<serde_json::Value> {
    let text = std::str::from_utf8(&f.bytes)?;
    serde_saphyr::from_str(text)
        .map_err(|e| anyhow::anyhow!("{} does not parse as YAML: {e}", f.path))
}

/// One Compose service as the wiring checks see it.
struct Node {
    expose: Vec<u16>,
    networks: Vec<String>,
}

/// Compose services of the rendered `compose.yaml`: exposed ports and networks.
fn nodes(files: &[File]) -> anyhow::Result<BTreeMap<String, Node>> {
    let Some(f) = files.iter().find(|f| f.path == "compose.yaml") else {
        return Ok(BTreeMap::new());
    };
    let v = yaml(f)?;
    let mut out = BTreeMap::new();
    for (name, s) in v["services"].as_object().into_iter().flatten() {
        let expose = s["expose"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str()?.parse().ok())
            .collect();
        let networks = s["networks"]
            .as_object()
            .map(|n| n.keys().cloned().collect())
            .unwrap_or_default();
        out.insert(name.clone(), Node { expose, networks });
    }
    Ok(out)
}

/// `http://host:port/path` or `host:port` → (host, port).
fn host_port(address: &str) -> Option<(&str, u16)> {
    let rest = address.split_once("://").map_or(address, |(_, r)| r);
    let authority = rest.split(['/', '?']).next()?;
    let (host, port) = authority.rsplit_once(':')?;
    Some((host, port.parse().ok()?))
}

/// Checks that `from` can reach `address`: a Compose service that exposes the port
/// and shares a network with `from`.
fn reaches(
    nodes: &BTreeMap<String, Node>,
    whence: &str,
    from: &str,
    address: &str,
) -> anyhow::Result<()> {
    let (host, port) = host_port(address)
        .ok_or_else(|| anyhow::anyhow!("{whence}: `{address}` has no host:port"))?;
    let target = nodes.get(host).ok_or_else(|| {
        anyhow::anyhow!("{whence}: `{address}` names `{host}`, which is no service in compose.yaml")
    })?;
    // A service without `expose` relies on its image's ports (Prometheus, Grafana).
    if !target.expose.is_empty() && !target.expose.contains(&port) {
        anyhow::bail!("{whence}: `{address}`: service `{host}` does not expose port {port}");
    }
    if let Some(source) = nodes.get(from)
        && !source.networks.iter().any(|n| target.networks.contains(n))
    {
        anyhow::bail!("{whence}: `{from}` and `{host}` share no network");
    }
    Ok(())
}

/// Cross-file checks of the components' rendered files against `compose.yaml`: the
/// collector's pipeline is complete and exports to a service that listens; Alloy,
/// Filebeat and every Grafana datasource point at services they share a network with.
pub fn verify(files: &[File]) -> anyhow::Result<()> {
    use anyhow::{anyhow, bail};
    let nodes = nodes(files)?;
    let get = |path: &str| files.iter().find(|f| f.path == path);
    if let Some(f) = get("monitoring/otel-collector/config.yml") {
        let v = yaml(f)?;
        let pipelines = v["service"]["pipelines"]
            .as_object()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| anyhow!("{}: no pipelines", f.path))?;
        for (name, p) in pipelines {
            for section in ["receivers", "processors", "exporters"] {
                let used = p[section].as_array().cloned().unwrap_or_default();
                if used.is_empty() && section != "processors" {
                    bail!("{}: pipeline `{name}` has no {section}", f.path);
                }
                for u in used {
                    let u = u.as_str().unwrap_or("");
                    if v[section].get(u).is_none() {
                        bail!(
                            "{}: pipeline `{name}` uses {section} `{u}`, which is not defined",
                            f.path
                        );
                    }
                }
            }
        }
        for (name, e) in v["exporters"].as_object().into_iter().flatten() {
            let endpoint = e["endpoint"].as_str().unwrap_or("");
            reaches(
                &nodes,
                &format!("{}: exporter `{name}`", f.path),
                traces::COLLECTOR,
                endpoint,
            )?;
        }
    }
    if let Some(f) = get("monitoring/alloy/config.alloy") {
        let text = String::from_utf8_lossy(&f.bytes);
        let blocks = logs::check_alloy(&text).map_err(|e| anyhow!("{}: {e}", f.path))?;
        // Every component another one reads from or forwards to is defined.
        for reference in text
            .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '_'))
            .filter(|w| {
                ["discovery.", "loki."].iter().any(|p| w.starts_with(p))
                    && w.matches('.').count() >= 3
            })
        {
            let parts: Vec<&str> = reference.split('.').collect();
            let (kind, label) = (format!("{}.{}", parts[0], parts[1]), parts[2]);
            if !blocks.iter().any(|(k, l)| *k == kind && l == label) {
                bail!("{}: `{reference}` names no component of the file", f.path);
            }
        }
        for url in text.lines().filter_map(|l| l.trim().strip_prefix("url = ")) {
            reaches(&nodes, &f.path, logs::ALLOY, url.trim_matches('"'))?;
        }
    }
    if let Some(f) = get("monitoring/filebeat/filebeat.yml") {
        let v = yaml(f)?;
        let hosts = v["output.elasticsearch"]["hosts"]
            .as_array()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| anyhow!("{}: no output.elasticsearch.hosts", f.path))?;
        for h in hosts {
            reaches(&nodes, &f.path, logs::FILEBEAT, h.as_str().unwrap_or(""))?;
        }
    }
    if let Some(f) = get(crate::grafana::DATASOURCES_FILE) {
        let v = yaml(f)?;
        for d in v["datasources"].as_array().into_iter().flatten() {
            let url = d["url"].as_str().unwrap_or("");
            reaches(&nodes, &f.path, "grafana", url)?;
        }
    }
    Ok(())
}

/// Adds an exporter on the monitoring network and its scrape job (`<name>:<port>`).
pub(crate) fn push_scraped(out: &mut Contribution, mut c: ComposeService, port: u16, about: &str) {
    let name = c.name.clone();
    c.networks = vec![attach("monitoring")];
    out.compose.push(c);
    out.add_job(
        &name,
        "/metrics",
        about,
        vec![group(&name, vec![format!("{name}:{port}")])],
    );
}

#[cfg(test)]
mod registry_tests {
    use std::collections::BTreeSet;

    use super::*;

    /// Every example, generated: together they turn every component on.
    fn examples() -> Vec<(String, crate::project::Generated)> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(root).unwrap() {
            let dir = entry.unwrap().path();
            let Ok(text) = std::fs::read_to_string(dir.join("obsgen.toml")) else {
                continue;
            };
            let g = crate::project::generate_from(&text, "obsgen.toml", None).unwrap();
            out.push((dir.display().to_string(), g));
        }
        out
    }

    #[test]
    fn the_registry_names_each_component_once() {
        let names: BTreeSet<&str> = REGISTRY.iter().map(|c| c.name()).collect();
        assert_eq!(names.len(), REGISTRY.len());
    }

    /// Each enabled component's contribution ends up in the stack and its files are
    /// generated; every component is enabled by some example.
    #[test]
    fn every_contribution_is_assembled_and_its_files_generated() {
        let mut exercised = BTreeSet::new();
        for (example, g) in examples() {
            let m = &g.model;
            let paths: BTreeSet<&str> = g.files.iter().map(|f| f.path.as_str()).collect();
            for c in REGISTRY.iter().filter(|c| c.enabled(&m.settled)) {
                exercised.insert(c.name());
                let part = c.contribute(&m.settled);
                let at = |what: &str, name: &str| format!("{example}: {} {what} {name}", c.name());
                for s in &part.compose {
                    assert!(
                        m.compose.iter().any(|x| x.name == s.name),
                        "{}",
                        at("service", &s.name)
                    );
                }
                for v in &part.volumes {
                    assert!(m.volumes.contains(v), "{}", at("volume", v));
                }
                for j in &part.scrape_jobs {
                    assert!(
                        m.scrape_jobs.iter().any(|x| x.name == j.name),
                        "{}",
                        at("job", &j.name)
                    );
                }
                for v in &part.env_vars {
                    assert!(
                        m.env_vars.iter().any(|x| x.name == v.name),
                        "{}",
                        at("variable", &v.name)
                    );
                }
                for s in &part.secrets {
                    assert!(
                        m.secrets.iter().any(|x| x.name == s.name),
                        "{}",
                        at("secret", &s.name)
                    );
                }
                for f in &part.files {
                    assert!(paths.contains(f.path.as_str()), "{}", at("file", &f.path));
                }
                for t in &part.target_files {
                    let path = format!("monitoring/prometheus/{}", t.path);
                    assert!(
                        paths.contains(path.as_str()),
                        "{}",
                        at("target file", &path)
                    );
                }
                for p in &part.probes {
                    let probed = m
                        .target_files
                        .iter()
                        .filter(|t| t.path == blackbox::PROBE_TARGETS)
                        .any(|t| t.groups.iter().any(|g| g.targets == p.targets));
                    assert!(probed, "{}", at("probe", &p.targets.join(",")));
                }
            }
        }
        let all: BTreeSet<&str> = REGISTRY.iter().map(|c| c.name()).collect();
        assert_eq!(exercised, all, "components no example turns on");
    }

    /// Each catalogue a component declares exists in every template set, and every
    /// catalogue belongs to exactly one component.
    #[test]
    fn every_catalogue_belongs_to_one_component() {
        let declared: Vec<&str> = REGISTRY
            .iter()
            .flat_map(|c| c.catalogues().iter().copied())
            .collect();
        let unique: BTreeSet<&str> = declared.iter().copied().collect();
        assert_eq!(
            unique.len(),
            declared.len(),
            "a catalogue declared twice: {declared:?}"
        );
        for version in crate::assets::template_versions() {
            let present: BTreeSet<String> = crate::metrics::catalogues(&version)
                .into_iter()
                .map(|c| c.component)
                .collect();
            let present: BTreeSet<&str> = present.iter().map(String::as_str).collect();
            assert_eq!(unique, present, "v{version}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ComposeService;
    use crate::render::test_support::{rendered, replace};

    fn model(text: &str) -> Model {
        let m: Manifest = toml::from_str(text).unwrap();
        crate::assemble::model(&m, "obsgen.toml")
    }

    const BASE: &str = r#"
[project]
name = "shop"
environments = ["development", "production"]
[[service]]
name = "api"
image = "ghcr.io/acme/api:1.0.0"
port = 8080
public = true
metrics = {}
env = { OTEL_SERVICE_NAME = "storefront" }
[[service]]
name = "worker"
image = "ghcr.io/acme/worker:1.0.0"
port = 7000
replicas = 2
"#;

    fn with(extra: &str) -> Model {
        model(&format!("{BASE}{extra}"))
    }

    fn names(m: &Model) -> Vec<&str> {
        m.compose.iter().map(|c| c.name.as_str()).collect()
    }

    fn service<'a>(m: &'a Model, name: &str) -> &'a ComposeService {
        m.compose.iter().find(|c| c.name == name).unwrap()
    }

    fn nets(c: &ComposeService) -> Vec<&str> {
        c.networks.iter().map(|n| n.name.as_str()).collect()
    }

    #[test]
    fn nothing_runs_unless_the_manifest_asks() {
        let m = model(BASE);
        for c in crate::layers::COMPONENT_NAMES.iter().skip(6) {
            assert!(!names(&m).contains(c), "{c}");
        }
        // Only the core components' files: the web logins and the blackbox modules.
        let files: Vec<&str> = m.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            files,
            [
                "monitoring/prometheus/web.yml",
                "monitoring/alertmanager/web.yml",
                "monitoring/blackbox/blackbox.yml"
            ]
        );
        assert!(
            !m.compose[0]
                .environment
                .contains_key("OTEL_EXPORTER_OTLP_ENDPOINT")
        );
    }

    #[test]
    fn loki_and_alloy_are_wired_hardened_and_scraped() {
        let m = with("[logging]\nbackend = \"loki\"\nretention = \"10d\"\n");
        let loki = service(&m, "loki");
        assert_eq!(nets(loki), ["monitoring"]);
        assert_eq!(loki.user.as_deref(), Some("10001:10001"));
        assert!(loki.hardening.read_only && loki.hardening.drop_caps);
        let alloy = service(&m, "alloy");
        assert!(
            alloy
                .volumes
                .contains(&"/var/run/docker.sock:/var/run/docker.sock:ro".to_string())
        );
        assert!(alloy.hardening.read_only && alloy.hardening.cap_add.is_empty());
        let jobs: Vec<&str> = m.scrape_jobs.iter().map(|j| j.name.as_str()).collect();
        assert!(jobs.contains(&"loki") && jobs.contains(&"alloy"));
        assert_eq!(m.addons.log_retention_hours, 240);
        let files = rendered(&m);
        let loki_yml = files
            .iter()
            .find(|f| f.path == "monitoring/loki/loki.yml")
            .unwrap();
        let v = crate::verify::parse(loki_yml).unwrap().unwrap();
        assert_eq!(v["limits_config"]["retention_period"], "240h");
        assert_eq!(v["compactor"]["retention_enabled"], true);
        let alloy_cfg = files
            .iter()
            .find(|f| f.path == "monitoring/alloy/config.alloy")
            .unwrap();
        let blocks = logs::check_alloy(std::str::from_utf8(&alloy_cfg.bytes).unwrap()).unwrap();
        let kinds: Vec<&str> = blocks.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "discovery.docker",
                "discovery.relabel",
                "loki.source.docker",
                "loki.write"
            ]
        );
        // The overlay names the environment for the `environment` label.
        let prod = m
            .environments
            .iter()
            .find(|e| e.name == "production")
            .unwrap();
        let a = prod.services.iter().find(|s| s.name == "alloy").unwrap();
        assert_eq!(a.environment[logs::ENVIRONMENT_VAR], "production");
        verify(&files).unwrap();
    }

    #[test]
    fn the_lifecycle_policy_gets_a_time_value_elasticsearch_parses() {
        // Elasticsearch time values: one number, one of d/h/m/s/ms (no w, y, compound).
        for (retention, es) in [
            ("30d", "30d"),
            ("2w", "14d"),
            ("1y", "365d"),
            ("1d12h", "36h"),
            ("36h", "36h"),
            ("90m", "90m"),
            ("1h30s", "3630s"),
            ("1s500ms", "1500ms"),
        ] {
            let ms = crate::units::parse_duration(retention).unwrap();
            assert_eq!(logs::es_time(ms), es, "{retention}");
        }
        let m = with("[logging]\nbackend = \"elasticsearch\"\nretention = \"2w\"\n");
        let files = rendered(&m);
        let setup = files
            .iter()
            .find(|f| f.path == "monitoring/elasticsearch/setup.sh")
            .unwrap();
        let text = std::str::from_utf8(&setup.bytes).unwrap();
        assert!(
            text.contains(r#""delete":{"min_age":"14d","actions":{"delete":{}}}"#),
            "{text}"
        );
        assert!(!text.contains("2w"), "{text}");
    }

    #[test]
    fn the_collector_pipeline_is_complete_and_reaches_its_backend() {
        for backend in ["tempo", "jaeger"] {
            let m = with(&format!(
                "[tracing]\nbackend = \"{backend}\"\nsample_ratio = 0.25\n"
            ));
            let c = service(&m, traces::COLLECTOR);
            assert_eq!(nets(c), ["app", "monitoring"], "apps reach its receivers");
            let mut files = rendered(&m);
            verify(&files).unwrap();
            let cfg = files
                .iter()
                .find(|f| f.path == "monitoring/otel-collector/config.yml")
                .unwrap();
            let v = crate::verify::parse(cfg).unwrap().unwrap();
            assert_eq!(
                v["processors"]["probabilistic_sampler"]["sampling_percentage"],
                25.0
            );
            assert_eq!(
                v["service"]["pipelines"]["traces"]["processors"],
                serde_json::json!(["memory_limiter", "probabilistic_sampler", "batch"])
            );
            assert_eq!(
                v["exporters"][format!("otlp/{backend}")]["endpoint"],
                format!("{backend}:4317")
            );
            // An exporter pointing at a port nobody listens on is caught.
            replace(
                &mut files,
                "monitoring/otel-collector/config.yml",
                &format!("\"{backend}:4317\""),
                &format!("\"{backend}:4399\""),
            );
            let e = verify(&files).unwrap_err().to_string();
            assert!(e.contains("does not expose port 4399"), "{e}");
        }
    }

    #[test]
    fn the_export_failure_alert_names_the_collectors_exporter() {
        for backend in ["tempo", "jaeger"] {
            let m = with(&format!("[tracing]\nbackend = \"{backend}\"\n"));
            let files = rendered(&m);
            let cfg = files
                .iter()
                .find(|f| f.path == "monitoring/otel-collector/config.yml")
                .unwrap();
            let v = crate::verify::parse(cfg).unwrap().unwrap();
            let exporters = &v["service"]["pipelines"]["traces"]["exporters"];
            let rules = m.rules.iter().find(|r| r.name == "monitoring").unwrap();
            let rule = rules
                .groups
                .iter()
                .flat_map(|g| &g.rules)
                .find(|r| r.alert.as_deref() == Some("OtelCollectorExportFailing"))
                .expect("the alert exists with tracing on");
            assert!(
                rule.expr
                    .contains("otelcol_exporter_send_failed_spans_total{job=\"otel-collector\"}"),
                "{}",
                rule.expr
            );
            // Its promtool test uses the exporter name of the rendered pipeline.
            let test = rules
                .tests
                .iter()
                .find(|t| t.name.starts_with("OtelCollectorExportFailing: "))
                .unwrap();
            let exporter = exporters[0].as_str().unwrap();
            assert!(
                test.input_series[0]
                    .series
                    .contains(&format!("exporter=\"{exporter}\"")),
                "{}",
                test.input_series[0].series
            );
        }
        let none = with("");
        assert!(
            !none
                .rules
                .iter()
                .flat_map(|r| &r.groups)
                .flat_map(|g| &g.rules)
                .any(|r| r.alert.as_deref() == Some("OtelCollectorExportFailing"))
        );
    }

    #[test]
    fn jaeger_keeps_its_builtin_config_with_a_bounded_memory_store() {
        let m = with("[tracing]\nbackend = \"jaeger\"\n");
        let j = service(&m, traces::JAEGER);
        // No `--config`: the built-in all-in-one configuration stays; only the
        // in-memory store of its `some_storage` backend is bounded.
        assert_eq!(
            j.command.as_deref(),
            Some(
                &[
                    "--set=extensions.jaeger_storage.backends.some_storage.memory.max_traces=20000"
                        .to_string()
                ][..]
            )
        );
        assert_eq!(j.environment["JAEGER_LISTEN_HOST"], "0.0.0.0");
        assert_eq!(j.expose, [16686, 4317, 8888]);
    }

    #[test]
    fn apps_get_otlp_and_dsn_variables_and_their_own_env_wins() {
        let m = with(
            "[tracing]\nbackend = \"tempo\"\n[errors]\nbackend = \"sentry\"\ndsn_env = \"SHOP_DSN\"\n",
        );
        let api = service(&m, "api");
        assert_eq!(
            api.environment["OTEL_EXPORTER_OTLP_ENDPOINT"],
            "http://otel-collector:4318"
        );
        assert_eq!(
            api.environment["OTEL_SERVICE_NAME"], "storefront",
            "the manifest's env wins"
        );
        assert_eq!(
            service(&m, "worker-2").environment["OTEL_SERVICE_NAME"],
            "worker"
        );
        // The collector only has a traces pipeline: SDKs must not push metrics or
        // logs over OTLP (their spec default), the receiver would answer 404.
        assert_eq!(api.environment["OTEL_TRACES_EXPORTER"], "otlp");
        assert_eq!(api.environment["OTEL_METRICS_EXPORTER"], "none");
        assert_eq!(api.environment["OTEL_LOGS_EXPORTER"], "none");
        assert_eq!(
            api.environment["SENTRY_DSN"],
            "${SHOP_DSN:?set SHOP_DSN in .env}"
        );
        assert!(m.env_vars.iter().any(|v| v.name == "SHOP_DSN" && v.secret));
        let dev = &m.environments[0];
        let e = &dev
            .services
            .iter()
            .find(|s| s.name == "worker-1")
            .unwrap()
            .environment;
        assert_eq!(
            e["OTEL_RESOURCE_ATTRIBUTES"],
            "deployment.environment=development"
        );
        assert_eq!(e["SENTRY_ENVIRONMENT"], "development");
        // No GlitchTip containers for an external Sentry.
        assert!(!names(&m).contains(&"glitchtip"));
    }

    #[test]
    fn glitchtip_runs_migrations_first_and_keeps_secrets_in_env() {
        let m = with("[errors]\nbackend = \"glitchtip\"\n");
        let web = service(&m, errors::GLITCHTIP);
        let deps: Vec<(&str, &str)> = web
            .depends_on
            .iter()
            .map(|d| (d.name.as_str(), d.condition.as_str()))
            .collect();
        assert!(deps.contains(&(errors::MIGRATE, "service_completed_successfully")));
        assert!(deps.contains(&(errors::POSTGRES, "service_healthy")));
        assert!(web.environment["SECRET_KEY"].starts_with("${GLITCHTIP_SECRET_KEY:?"));
        assert_eq!(nets(web), ["app", "edge"]);
        assert!(service(&m, errors::MIGRATE).one_shot);
        // Probed by the blackbox exporter (standard profile), with its own alert.
        let probe = m
            .target_files
            .iter()
            .find(|t| t.path == "targets/probe.yml")
            .unwrap();
        assert!(
            probe
                .groups
                .iter()
                .any(|g| g.targets == ["http://glitchtip:8000/_health/"]
                    && g.labels["__tmp_blackbox_exporter"] == "blackbox-exporter:9115")
        );
        let monitoring = m.rules.iter().find(|r| r.name == "monitoring").unwrap();
        let alerts = serde_json::to_string(&monitoring.groups).unwrap();
        assert!(alerts.contains("GlitchtipDown"), "{alerts}");
        let prod = m
            .environments
            .iter()
            .find(|e| e.name == "production")
            .unwrap();
        let mig = prod
            .services
            .iter()
            .find(|s| s.name == errors::MIGRATE)
            .unwrap();
        assert_eq!(mig.restart, "no", "a one-shot job never restarts");
        let web = prod
            .services
            .iter()
            .find(|s| s.name == errors::GLITCHTIP)
            .unwrap();
        assert_eq!(web.restart, "unless-stopped", "the environment's policy");
        assert_eq!(
            service(&m, "api").environment["SENTRY_DSN"],
            "${SENTRY_DSN:-}"
        );
        for c in m.compose.iter().filter(|c| c.name.starts_with("glitchtip")) {
            for v in c.environment.values() {
                assert!(
                    !v.contains("password") || v.contains("${"),
                    "{}: {v}",
                    c.name
                );
            }
        }
    }

    #[test]
    fn minio_creates_the_buckets_once_healthy_and_is_scraped() {
        let m = with("[storage]\nminio = { buckets = [\"uploads\", \"invoices\"] }\n");
        let init = service(&m, storage::INIT);
        assert_eq!(
            init.command.as_ref().unwrap(),
            &["mb", "--ignore-existing", "local/uploads", "local/invoices"]
        );
        assert_eq!(
            init.depends_on[0].condition,
            crate::model::Condition::ServiceHealthy
        );
        assert!(service(&m, storage::MINIO).healthcheck.is_some());
        let job = m.scrape_jobs.iter().find(|j| j.name == "minio").unwrap();
        assert_eq!(job.metrics_path, storage::METRICS_PATH);
        let none = with("[storage]\nminio = { buckets = [] }\n");
        assert!(!names(&none).contains(&storage::INIT));
    }

    #[test]
    fn component_uis_are_published_on_the_monitoring_address() {
        let text = format!(
            "{BASE}[logging]\nbackend = \"elasticsearch\"\n[tracing]\nbackend = \"jaeger\"\n[errors]\nbackend = \"glitchtip\"\n[storage]\nminio = {{ buckets = [\"a-b\"] }}\n"
        );
        let m: Manifest = toml::from_str(&text).unwrap();
        for env in ["development", "production"] {
            let ui: Vec<String> = crate::environments::published_ports(&m, env)
                .into_iter()
                .filter(|p| p.monitoring)
                .map(|p| format!("{}={}:{}", p.compose, p.address, p.host_port))
                .collect();
            for want in [
                "kibana=127.0.0.1:5601",
                "jaeger=127.0.0.1:16686",
                "glitchtip=127.0.0.1:8000",
                "minio=127.0.0.1:9001",
            ] {
                assert!(ui.contains(&want.to_string()), "{env}: {ui:?}");
            }
        }
        let model = crate::assemble::model(&m, "obsgen.toml");
        // Whatever publishes a port is on the edge network (never internal).
        for env in &model.environments {
            for s in env.services.iter().filter(|s| !s.ports.is_empty()) {
                let c = service(&model, &s.name);
                assert!(nets(c).contains(&"edge"), "{}", s.name);
            }
        }
        let files = rendered(&model);
        verify(&files).unwrap();
    }

    #[test]
    fn elasticsearch_logs_set_up_kibana_and_filebeat_users() {
        let m = with("[logging]\nbackend = \"elasticsearch\"\nretention = \"30d\"\n");
        let kibana = service(&m, logs::KIBANA);
        assert_eq!(
            kibana.environment["ELASTICSEARCH_USERNAME"],
            "kibana_system"
        );
        assert_eq!(kibana.depends_on[0].name, logs::SETUP);
        assert!(service(&m, logs::SETUP).one_shot);
        let files = rendered(&m);
        let setup = files
            .iter()
            .find(|f| f.path == "monitoring/elasticsearch/setup.sh")
            .unwrap();
        let text = std::str::from_utf8(&setup.bytes).unwrap();
        for want in [
            "/_security/user/kibana_system/_password",
            "/_security/user/obsgen_filebeat",
            "/_security/user/obsgen_grafana",
            "\"min_age\":\"30d\"",
        ] {
            assert!(text.contains(want), "{want}");
        }
        // Grafana reads the reader's password from its environment, never a value.
        let grafana = service(&m, "grafana");
        assert!(grafana.environment[logs::READER_PASSWORD_VAR].starts_with("${"));
        verify(&files).unwrap();
    }

    #[test]
    fn a_datasource_pointing_nowhere_is_caught() {
        let m = with("[logging]\nbackend = \"loki\"\n");
        let mut files = rendered(&m);
        replace(
            &mut files,
            crate::grafana::DATASOURCES_FILE,
            "http://loki:3100",
            "http://lokii:3100",
        );
        let e = verify(&files).unwrap_err().to_string();
        assert!(e.contains("`lokii`, which is no service"), "{e}");
    }

    #[test]
    fn alloy_syntax_check_catches_broken_files() {
        assert_eq!(
            logs::check_alloy("// c\na.b \"x\" {\n  k = [\"y\"] // z\n}\n").unwrap(),
            [("a.b".to_string(), "x".to_string())]
        );
        assert!(logs::check_alloy("a.b \"x\" {\n").is_err());
        assert!(logs::check_alloy("a.b \"x\" {\n k = \"open\n}\n").is_err());
        assert!(logs::check_alloy("a.b {\n}\n").is_err());
        assert!(logs::check_alloy("a.b \"x\" { ] }").is_err());
    }
}
