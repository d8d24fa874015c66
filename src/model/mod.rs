//! The resolved model: everything the templates lay out, fully decided.
//!
//! Every port, image, interval, threshold and name is settled here by
//! `resolve`; templates only iterate and print. Collections are vectors in
//! manifest order or `BTreeMap`s, so rendering never depends on hash order.

use std::collections::BTreeMap;

use serde::Serialize;

pub mod addons;
pub mod alerting;
pub mod dashboards;
pub mod env;
pub mod rules;

pub use addons::{Addons, ConfigFile};
pub use alerting::{Alertmanager, AmEnvironment, CustomAlert, Receiver, Route};
pub use dashboards::{Dashboard, Datasource, Grafana};
pub use env::EnvRef;
pub use rules::RuleFile;

#[derive(Debug, Clone, Serialize)]
pub struct Model {
    pub project: String,
    /// File name of the manifest, as written in headers (`obsgen.toml`).
    pub manifest_file: String,
    pub obsgen_version: String,
    pub templates: String,
    pub profile: String,
    pub components: Components,
    pub services: Vec<Service>,
    pub databases: Vec<Database>,
    pub prometheus: Component,
    pub grafana: Option<Component>,
    pub environments: Vec<Environment>,
    /// Every variable the stack reads from `.env`, in a stable order.
    pub env_vars: Vec<EnvVar>,
    pub alerts: Alerts,
    pub receivers: Vec<Receiver>,
    pub routes: Vec<Route>,
    pub logging: String,
    pub tracing: String,
    pub errors: String,
    /// Named volumes of the base Compose file.
    pub volumes: Vec<String>,
    /// Every service of the base Compose file, in file order.
    pub compose: Vec<ComposeService>,
    /// Networks of the base Compose file.
    pub networks: Vec<Network>,
    /// Scrape jobs (the same in every environment; intervals and the `environment`
    /// label come from the environment).
    pub scrape_jobs: Vec<ScrapeJob>,
    /// File-SD target files under `monitoring/prometheus/`: every address Prometheus
    /// talks to is in one of these (so a test can map them to loopback, nothing else).
    /// Rendered one file each (`item`), so not part of `m` in templates.
    #[serde(skip)]
    pub target_files: Vec<TargetFile>,
    /// Alert and recording rules with their promtool tests, one file each (`item`).
    #[serde(skip)]
    pub rules: Vec<RuleFile>,
    /// Whether any rules file exists (for `rule_files:`).
    pub has_rules: bool,
    /// Every `env_file` of a service, sorted, once (`./worker.env`): Compose needs each to
    /// exist; listed in `.env.example`, written by CI placeholders and the AWS secrets script.
    pub env_files: Vec<String>,
    /// Docker secrets of the base Compose file (top-level `secrets:`), read from files
    /// next to the manifest; listed in `.env.example`.
    pub secrets: Vec<Secret>,
    /// Alertmanager (routing, receivers, inhibitions), when the component runs.
    pub alertmanager: Option<Alertmanager>,
    /// Basic auth of the Prometheus UI and API (`monitoring/prometheus/web.yml`).
    pub web: WebAuth,
    /// `remote_write` endpoints of every environment's Prometheus.
    pub remote_write: Vec<RemoteWrite>,
    /// Grafana's provisioning and dashboards, when Grafana runs (one file each).
    #[serde(skip)]
    pub provisioning: Option<Grafana>,
    /// Blackbox-exporter modules (`monitoring/blackbox/blackbox.yml`), when it runs.
    pub blackbox_modules: Vec<String>,
    /// Optional components (logs, traces, error tracking, object storage): their
    /// settings and configuration files.
    pub addons: Addons,
}

/// A Docker secret: a file next to the manifest, mounted at `/run/secrets/<name>`.
#[derive(Debug, Clone, Serialize)]
pub struct Secret {
    pub name: String,
    /// Relative to the project root (`./secrets/slack_webhook_url`).
    pub file: String,
    /// Where containers read it (`/run/secrets/slack_webhook_url`).
    pub path: String,
    pub description: String,
    /// How to make the file.
    pub how: String,
    /// The `.env` variable whose value this file holds (`obsgen secrets` copies it);
    /// `None`: a credential from outside that only the user can provide.
    pub copy_of: Option<String>,
}

/// Basic auth of the Prometheus web UI and API.
#[derive(Debug, Clone, Serialize)]
pub struct WebAuth {
    pub username: String,
    /// bcrypt hash of the password (made by the exporters module).
    pub hash: String,
    /// No password was known when this was generated: nobody can log in yet.
    pub locked: bool,
    /// Where scrapers inside the stack read the password (`/run/secrets/…`).
    pub password_file: String,
}

/// One `remote_write` endpoint; secrets only as files mounted into Prometheus.
#[derive(Debug, Clone, Serialize)]
pub struct RemoteWrite {
    pub name: String,
    pub url: String,
    pub basic_auth: Option<BasicAuth>,
    /// `authorization.credentials_file` (bearer token), container path.
    pub credentials_file: Option<String>,
    /// The Compose secret that carries the password or token, if any.
    pub secret: Option<Secret>,
}

/// `basic_auth` of a scrape job or remote write: the password only as a file.
#[derive(Debug, Clone, Serialize)]
pub struct BasicAuth {
    pub username: String,
    /// Container path of the password file.
    pub password_file: String,
}

/// What a Compose service is, for per-environment treatment (limits, hardening).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    App,
    Database,
    Monitoring,
    Exporter,
}

/// One service of the base Compose file, fully decided.
#[derive(Debug, Clone, Serialize)]
pub struct ComposeService {
    pub name: String,
    pub role: Role,
    pub image: Option<String>,
    pub build: Option<String>,
    pub command: Option<Vec<String>>,
    pub user: Option<String>,
    pub expose: Vec<u16>,
    pub environment: BTreeMap<String, String>,
    pub volumes: Vec<String>,
    pub secrets: Vec<String>,
    pub depends_on: Vec<Dependency>,
    pub healthcheck: Option<Healthcheck>,
    pub networks: Vec<NetworkAttachment>,
    pub privileged: bool,
    pub devices: Vec<String>,
    pub pid: Option<String>,
    /// Command set per environment by the overlay; `{env}` stands for the
    /// environment's name (`--config.file=/etc/x/x.{env}.yml`).
    pub env_command: Option<Vec<String>>,
    /// What hardened environments (production, staging) apply to this container.
    pub hardening: Hardening,
    /// Files Compose reads into the environment (`env_file`), relative to the project.
    pub env_file: Vec<String>,
    /// Memory limit floor in MiB, above the environment's limit for the role, for images
    /// that need more (Elasticsearch's heap, Prometheus's head block).
    pub min_memory_mib: Option<u64>,
    /// Development hot reload: bind mount (`./backend:/app`) and command of environments
    /// with `hot_reload = true`.
    pub dev_volume: Option<String>,
    pub dev_command: Option<Vec<String>>,
    /// A job that runs once and exits (`restart: "no"` in every environment).
    pub one_shot: bool,
}

/// Per-container hardening, applied by the overlay of environments with
/// `hardening = true`. Decided by whoever adds the container (it knows its image).
#[derive(Debug, Clone, Serialize)]
pub struct Hardening {
    /// `cap_drop: [ALL]` (false only for privileged containers, where it means nothing).
    pub drop_caps: bool,
    /// Capabilities the image still needs after dropping all (`CHOWN`, `SETUID` …).
    pub cap_add: Vec<String>,
    /// The image runs with a read-only root filesystem (writable paths in `tmpfs`
    /// and volumes).
    pub read_only: bool,
    /// tmpfs mounts for a read-only root (`/tmp`).
    pub tmpfs: Vec<String>,
}

impl Default for Hardening {
    fn default() -> Self {
        Hardening {
            drop_caps: true,
            cap_add: Vec::new(),
            read_only: false,
            tmpfs: Vec::new(),
        }
    }
}

impl ComposeService {
    pub fn new(name: impl Into<String>, role: Role) -> Self {
        ComposeService {
            name: name.into(),
            role,
            image: None,
            build: None,
            command: None,
            user: None,
            expose: Vec::new(),
            environment: BTreeMap::new(),
            volumes: Vec::new(),
            secrets: Vec::new(),
            depends_on: Vec::new(),
            healthcheck: None,
            networks: Vec::new(),
            privileged: false,
            devices: Vec::new(),
            pid: None,
            env_command: None,
            hardening: Hardening::default(),
            env_file: Vec::new(),
            min_memory_mib: None,
            dev_volume: None,
            dev_command: None,
            one_shot: false,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Healthcheck {
    /// `CMD-SHELL` command (when `exec` is empty).
    pub shell: String,
    /// Exec-form command (`["CMD", …]` without the `CMD`), for images without a shell.
    pub exec: Vec<String>,
    pub interval: String,
    pub timeout: String,
    pub retries: u32,
    pub start_period: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NetworkAttachment {
    pub name: String,
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Network {
    pub name: String,
    pub internal: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetFile {
    /// Relative to `monitoring/prometheus/` (`targets/backend.yml`).
    pub path: String,
    /// What the targets are, for the file's comment.
    pub about: String,
    pub groups: Vec<TargetGroup>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetGroup {
    pub targets: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Components {
    pub alertmanager: bool,
    pub grafana: bool,
    pub node_exporter: bool,
    pub cadvisor: bool,
    pub blackbox: bool,
}

/// A monitoring component obsgen runs (Prometheus, Grafana, …).
#[derive(Debug, Clone, Serialize)]
pub struct Component {
    pub name: String,
    pub image: String,
    /// Container port.
    pub port: u16,
    pub volume: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub name: String,
    pub image: Option<String>,
    pub build: Option<String>,
    pub port: u16,
    /// Every container port the service listens on, ascending.
    pub expose: Vec<u16>,
    pub public: bool,
    pub metrics: Option<Metrics>,
    pub health: Option<String>,
    /// Compose service names of the replicas (`backend` or `backend-1`, `backend-2`, …).
    pub replicas: Vec<String>,
    /// Whether replicas share the service name as a network alias.
    pub aliased: bool,
    pub depends_on: Vec<Dependency>,
    pub language: Option<String>,
    pub env: BTreeMap<String, String>,
    /// The `.env` variables `env` values reference (`${NAME}`, `${NAME:-default}`), in
    /// the order of `env`: Compose fills them in from `.env`.
    pub env_refs: Vec<EnvRef>,
    pub command: Option<Vec<String>>,
    pub env_file: Vec<String>,
    /// Container health check of the replicas (from `health`, `health_check`, `health_cmd`).
    pub healthcheck: Option<Healthcheck>,
    pub user: Option<String>,
    /// Joins the `edge` network (outbound internet).
    pub egress: bool,
    pub hardening: Hardening,
    /// Container path of the development bind mount of the build context.
    pub dev_mount: Option<String>,
    pub dev_command: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Metrics {
    pub path: String,
    pub port: u16,
    /// Scrape targets, one per replica (`backend-1:3847`).
    pub targets: Vec<String>,
    /// Request counter the app exposes (`http_requests_total`).
    pub requests: String,
    /// Request-duration histogram, without `_bucket`.
    pub duration: String,
    /// Status-code label of the request counter.
    pub status_label: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dependency {
    /// Compose service name.
    pub name: String,
    /// `service_started` or `service_healthy`.
    pub condition: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Database {
    pub name: String,
    pub kind: String,
    pub image: String,
    pub port: u16,
    pub volume: String,
    /// Where the data lives inside the container.
    pub data_path: String,
    /// Container environment; secret values are `${VAR:?…}` references to `.env`.
    pub environment: BTreeMap<String, String>,
    /// Health check command (`CMD-SHELL` form).
    pub healthcheck: String,
    pub command: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    pub name: String,
    /// The Compose overlay for this environment (`compose.production.yaml`).
    pub compose_file: String,
    /// The Prometheus configuration for this environment (`prometheus.production.yml`).
    pub prometheus_file: String,
    pub scrape_interval: String,
    pub scrape_timeout: String,
    pub evaluation_interval: String,
    pub retention_time: String,
    pub retention_size: String,
    pub restart: String,
    pub log_max_size: String,
    pub log_max_file: u32,
    pub hardening: bool,
    /// Per Compose service: what this environment adds to the base file.
    pub services: Vec<EnvService>,
    /// Networks this environment redefines (`internal: true` when hardened).
    pub networks: Vec<Network>,
    pub prometheus_args: Vec<String>,
    /// The Alertmanager configuration of this environment, when Alertmanager runs.
    pub alertmanager: Option<AmEnvironment>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvService {
    pub name: String,
    /// Published ports, `address:host:container`.
    pub ports: Vec<String>,
    /// Resource limits and reservations.
    pub limits: Option<Limits>,
    pub command: Option<Vec<String>>,
    /// Hardening, in hardened environments.
    pub hardening: Option<Hardening>,
    /// Extra volumes (development bind mounts).
    pub volumes: Vec<String>,
    /// Networks this environment adds: `edge` for a container that publishes a port
    /// here but sits only on networks that are internal here.
    pub networks: Vec<String>,
    /// Variables this environment sets (values that name the environment).
    pub environment: BTreeMap<String, String>,
    /// Restart policy: the environment's, `no` for one-shot jobs.
    pub restart: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Limits {
    pub cpus: String,
    pub memory: String,
    pub cpus_reservation: String,
    pub memory_reservation: String,
}

/// One scrape job. Its targets are read from a file-SD file next to the
/// configuration (`file`), which Prometheus re-reads when it changes. The
/// `environment` label is added to every target by relabelling.
#[derive(Debug, Clone, Serialize)]
pub struct ScrapeJob {
    pub name: String,
    pub metrics_path: String,
    /// File-SD file, relative to the Prometheus configuration folder.
    pub file: String,
    /// Extra relabelling (blackbox probes), as (source label, target label, replacement).
    pub params: BTreeMap<String, Vec<String>>,
    pub relabel: Vec<Relabel>,
    pub basic_auth: Option<BasicAuth>,
}

/// One `relabel_configs` entry.
#[derive(Debug, Clone, Serialize)]
pub struct Relabel {
    pub source_labels: Vec<String>,
    pub target_label: String,
    pub replacement: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvVar {
    pub name: String,
    pub description: String,
    /// How to make a value (for secrets), or the value itself (for settings).
    pub how: String,
    pub secret: bool,
    /// Non-secret default written into `.env.example`.
    pub value: String,
    /// `obsgen secrets` may make a strong random value (passwords of the stack's own
    /// services); false for credentials issued elsewhere (DSNs, API keys).
    pub random: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Alerts {
    pub error_rate: f64,
    pub latency_p95: String,
    pub latency_p95_seconds: f64,
    #[serde(rename = "for")]
    pub for_: String,
    pub slo: Vec<Slo>,
    pub custom: Vec<CustomAlert>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Slo {
    pub service: String,
    pub objective: f64,
    pub window: String,
    /// 1 - objective/100.
    pub error_budget: f64,
}
