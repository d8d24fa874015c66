//! The manifest (`obsgen.toml`) as the user writes it: serde structs with
//! `deny_unknown_fields`, and the JSON Schema derived from them.
//!
//! This module only describes shape. Meaning (names, references, ports,
//! durations) is checked in [`crate::validate`]; defaults are filled in by
//! [`crate::resolve`] from the profiles, never here.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use crate::model::alerting::{
    CustomAlert, Receiver, ReceiverKind, Route, Severity, SloSpec as Slo,
};
pub use crate::model::kinds::{DatabaseKind, ErrorBackend, Language, LogBackend, TraceBackend};
use crate::settings::{Alerts, Components, EnvSettings, Errors, Logging, Tracing};

/// An obsgen project manifest: one file for the whole stack.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub project: Project,
    /// Application services, one `[[service]]` table each.
    #[serde(default, rename = "service")]
    pub services: Vec<Service>,
    /// Databases and caches, one `[[database]]` table each.
    #[serde(default, rename = "database")]
    pub databases: Vec<Database>,
    /// Which monitoring components run; overrides the stack profile.
    #[serde(default)]
    pub components: Components,
    /// Per-environment overrides of the environment overlays (`profiles/<env>.toml`),
    /// and definitions of custom environments (`extends = "production"`).
    #[serde(default)]
    pub environment: BTreeMap<String, EnvSettings>,
    /// Prometheus options beyond the profiles: `remote_write` endpoints.
    #[serde(default)]
    pub prometheus: Prometheus,
    #[serde(default)]
    pub logging: Logging,
    #[serde(default)]
    pub tracing: Tracing,
    #[serde(default)]
    pub errors: Errors,
    #[serde(default)]
    pub storage: Storage,
    #[serde(default)]
    pub alerts: Alerts,
    /// Alert receivers, one `[[receiver]]` table each.
    #[serde(default, rename = "receiver")]
    pub receivers: Vec<Receiver>,
    /// Alert routes, one `[[route]]` table each, matched in order.
    #[serde(default, rename = "route")]
    pub routes: Vec<Route>,
    #[serde(default)]
    pub ci: Option<Ci>,
    #[serde(default)]
    pub deploy: Deploy,
    /// `[kubernetes]`: the same monitoring on a cluster (docs/kubernetes.md).
    #[serde(default)]
    pub kubernetes: Option<crate::kubernetes::Kubernetes>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Project {
    /// Project name: a DNS label (lowercase letters, digits, `-`). Used as the
    /// Compose project name and in labels.
    pub name: String,
    /// Template-set major version this project is pinned to (`obsgen templates list`).
    #[serde(default = "default_templates")]
    pub templates: String,
    /// Stack preset from `profiles/`: `minimal`, `standard` or `full`.
    #[serde(default = "default_profile")]
    pub profile: String,
    /// Environments to generate a Compose overlay and monitoring config for.
    #[serde(default = "default_environments")]
    pub environments: Vec<String>,
}

fn default_templates() -> String {
    "1".into()
}
fn default_profile() -> String {
    "standard".into()
}
fn default_environments() -> Vec<String> {
    vec!["development".into(), "production".into()]
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Service name: a DNS label, unique among services and databases.
    pub name: String,
    /// Image reference with a pinned tag or digest (`ghcr.io/acme/api:1.4.2`).
    /// Exactly one of `image` and `build`.
    pub image: Option<String>,
    /// Build context folder, relative to the manifest (`./backend`).
    pub build: Option<String>,
    /// Container port the service listens on (HTTP).
    pub port: u16,
    /// Host port to publish on; defaults to `port`. Only used where the service is published.
    pub host_port: Option<u16>,
    /// Publish this service to the outside world in production.
    #[serde(default)]
    pub public: bool,
    /// Extra named container ports (`ports = { grpc = 9000 }`).
    #[serde(default)]
    pub ports: BTreeMap<String, u16>,
    /// Prometheus metrics endpoint.
    pub metrics: Option<Metrics>,
    /// HTTP health endpoint path (`/health`).
    pub health: Option<String>,
    /// The metric names this service exposes, when they differ from the convention
    /// (`http_requests_total{status=…}`, `http_request_duration_seconds`).
    pub http: Option<HttpMetrics>,
    /// Services or databases this one needs before it starts.
    #[serde(default)]
    pub depends_on: Vec<String>,
    /// Number of replicas; each gets its own Compose service and scrape target.
    pub replicas: Option<u32>,
    pub language: Option<Language>,
    /// Environment variables (non-secret values only). `${NAME}`, `${NAME:-default}` and
    /// `${NAME-default}` refer to a `.env` variable; every other `$` is literal.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Command override, as an argument list.
    pub command: Option<Vec<String>>,
    /// Files of environment variables read by Compose into the container (`env_file`),
    /// relative to the manifest (`./backend.env`). Each must exist when Compose runs
    /// (docker-compose v1 has no optional env files); keep secrets in them, not in `env`.
    #[serde(default)]
    pub env_file: Vec<String>,
    /// How the container checks `health`: `wget` (default; busybox/alpine images),
    /// `curl`, or `none` (no Compose health check; the blackbox probe stays).
    pub health_check: Option<HealthCheck>,
    /// Own health-check command in exec form, run inside the container
    /// (`["/app/healthcheck", "--port", "8080"]`). Instead of `health_check`.
    pub health_cmd: Option<Vec<String>>,
    /// User the container runs as (`"1000:1000"`, `"app"`); default: the image's.
    pub user: Option<String>,
    /// The service reaches the internet (outbound calls to third-party APIs): it joins the
    /// non-internal `edge` network. Without it, in hardened environments a service only
    /// sees the stack (the `app` network is internal).
    #[serde(default)]
    pub egress: bool,
    /// What hardened environments (production, staging) apply beyond the defaults
    /// (no-new-privileges, all capabilities dropped).
    #[serde(default)]
    pub hardening: ServiceHardening,
    /// Development hot reload (build services only): the development overlay bind-mounts
    /// the build context into the container (`dev = { mount = "/app" }`).
    pub dev: Option<DevSettings>,
    /// Its own error and latency thresholds, over `[alerts]`
    /// (`alerts = { error_rate = 0.1, latency_p95 = "2s" }`).
    pub alerts: Option<crate::model::alerting::ServiceAlerts>,
}

/// How an app container checks its `health` path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthCheck {
    /// `wget -q -O /dev/null http://127.0.0.1:<port><health>` (busybox, alpine).
    Wget,
    /// `curl -fsS -o /dev/null http://127.0.0.1:<port><health>`.
    Curl,
    /// No Compose health check (dependents wait for the start only).
    None,
}

/// `[service.hardening]`: hardened-environment settings of an app container.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceHardening {
    /// Run with a read-only root filesystem (default false: obsgen does not know the
    /// image). Writable paths go in `tmpfs`.
    #[serde(default)]
    pub read_only: bool,
    /// tmpfs mounts (absolute container paths) for a read-only root (`["/tmp"]`).
    #[serde(default)]
    pub tmpfs: Vec<String>,
    /// Capabilities added back after dropping all (`["NET_BIND_SERVICE"]`).
    #[serde(default)]
    pub cap_add: Vec<String>,
}

/// `dev = { ... }`: hot reload in environments with `hot_reload = true` (development).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DevSettings {
    /// Absolute container path the build context is bind-mounted at (`/app`).
    pub mount: String,
    /// Command in development instead of the image's (`["npm", "run", "dev"]`).
    pub command: Option<Vec<String>>,
}

/// App-side metric names of one service.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpMetrics {
    /// Counter of requests (`http_requests_total`).
    pub requests: Option<String>,
    /// Histogram of request durations in seconds, without `_bucket` (`http_request_duration_seconds`).
    pub duration: Option<String>,
    /// Label of the requests counter holding the status code (`status`, `code`).
    pub status_label: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Scrape this service (default true when the table is present).
    pub enabled: Option<bool>,
    /// Metrics path (default `/metrics`).
    pub path: Option<String>,
    /// Metrics port (default: the service `port`).
    pub port: Option<u16>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Database {
    /// Database name: a DNS label, unique among services and databases.
    pub name: String,
    pub kind: DatabaseKind,
    /// Server version (image tag), for example `16` or `7.0`. Defaults to the
    /// version pinned in the template set.
    pub version: Option<String>,
    /// Host port where the database is published (development only; default: its
    /// standard port, 5432 for postgres …).
    pub host_port: Option<u16>,
}

/// `[prometheus]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Prometheus {
    /// Endpoints every environment's Prometheus also sends its samples to, one
    /// `[[prometheus.remote_write]]` table each.
    #[serde(default)]
    pub remote_write: Vec<RemoteWrite>,
}

/// A `remote_write` endpoint. Secrets are never values here: the password or token
/// lives in a file on the host (created at deploy time, never committed), which the
/// stack mounts into the Prometheus container as a Compose secret.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteWrite {
    /// Name of the endpoint: a DNS label, unique (`grafana-cloud`).
    pub name: String,
    /// `http://` or `https://` URL of the remote-write API, without credentials.
    pub url: String,
    /// Basic-auth user name (not secret; for example a Grafana Cloud instance id).
    pub username: Option<String>,
    /// Basic auth: file holding the password, relative to the manifest
    /// (`secrets/grafana-cloud-token`). Needs `username`.
    pub password_file: Option<String>,
    /// Bearer token: file holding it, relative to the manifest. Not with `password_file`.
    pub bearer_token_file: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    pub minio: Option<Minio>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Minio {
    /// Buckets the init job creates (S3 bucket names).
    #[serde(default)]
    pub buckets: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CiProvider {
    #[default]
    Github,
    None,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ci {
    #[serde(default)]
    pub provider: CiProvider,
    /// Container registry images are pushed to (default `ghcr.io`).
    pub registry: Option<String>,
    /// Branch that deploys to staging (default `main`).
    pub branch: Option<String>,
    /// A dependency-audit job per built service of a known `language` in ci.yml (npm audit,
    /// pip-audit, govulncheck, cargo audit, OWASP dependency-check). Default `true`.
    #[serde(default = "yes")]
    pub audit: bool,
    /// Trivy image and configuration results uploaded as SARIF to GitHub code scanning
    /// (a `code-scanning` job in ci.yml). Default `true`.
    #[serde(default = "yes")]
    pub code_scanning: bool,
    /// Minimum line coverage in percent (1–100): the test step of each built service of a
    /// known `language` measures coverage and fails below it. No gate when absent.
    pub coverage: Option<u8>,
    /// After the smoke tests, the deploy job fails when Prometheus on the host has a
    /// critical alert firing or a target down. Default `true`.
    #[serde(default = "yes")]
    pub post_deploy_check: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deploy {
    pub aws: Option<Aws>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Aws {
    /// AWS region (`eu-central-1`).
    pub region: String,
    /// EC2 instance type; sized from the production resource limits when absent.
    pub instance_type: Option<String>,
    /// Public domain name of the stack (`shop.example.com`).
    pub domain: Option<String>,
}

/// JSON Schema of the manifest, as printed by `obsgen schema`.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Manifest);
    let mut text = serde_json::to_string_pretty(&schema).expect("schema serializes");
    text.push('\n');
    text
}
