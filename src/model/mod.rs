//! The model: the vocabulary of everything obsgen generates, and the assembled stack.
//!
//! This is the leaf of the crate: it imports nothing else of obsgen, so every stage can
//! use it and none of it can reach back into a stage. [`Settled`] is the input, every
//! value decided once from the manifest and its profile layers; [`Model`] is the stack
//! the components' contributions assemble into. Templates only iterate and print.
//! Collections are vectors in a documented order or `BTreeMap`s, so rendering never
//! depends on hash order.

pub mod addons;
pub mod alerting;
pub mod artifact;
pub mod compose;
pub mod contribution;
pub mod dashboards;
pub mod env;
pub mod environment;
pub mod kinds;
pub mod rules;
pub mod scrape;
pub mod settled;

use serde::Serialize;

pub use addons::{Addons, ConfigFile};
pub use alerting::{Alertmanager, AmEnvironment, CustomAlert, Receiver, Route};
pub use artifact::{Artifact, File, Format};
pub use compose::{
    ComposeService, Condition, Dependency, Hardening, Healthcheck, NOBODY, Network,
    NetworkAttachment, Role, Secret, attach, read_only_hardening,
};
pub use contribution::Contribution;
pub use dashboards::{Dashboard, Datasource, Grafana};
pub use env::{EnvRef, EnvVar, Section};
pub use environment::{EnvService, Environment, Limits, Port};
pub use kinds::{DatabaseKind, ErrorBackend, Language, LogBackend, TraceBackend};
pub use rules::RuleFile;
pub use scrape::{
    BasicAuth, Relabel, RemoteWrite, ScrapeJob, TargetFile, TargetGroup, WebAuth, group,
};
pub use settled::{Alerts, Component, Components, Database, Metrics, Service, Settled, Slo};

/// The assembled stack: the settled input and what the components made of it.
///
/// It reads as its [`Settled`] input (`model.services`); the input cannot be changed
/// through it, so nothing assembled can feed back into what components were given.
#[derive(Debug, Clone, Serialize)]
pub struct Model {
    #[serde(flatten)]
    pub settled: Settled,
    pub environments: Vec<Environment>,
    /// Every variable the stack reads from `.env`, in a stable order.
    pub env_vars: Vec<EnvVar>,
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
    /// Grafana's provisioning and dashboards, when Grafana runs (one file each).
    #[serde(skip)]
    pub provisioning: Option<Grafana>,
    /// Blackbox-exporter modules (`monitoring/blackbox/blackbox.yml`), when it runs.
    pub blackbox_modules: Vec<String>,
    /// Configuration files of the optional components, rendered one each.
    #[serde(skip)]
    pub files: Vec<ConfigFile>,
}

impl Model {
    /// One of the manifest's environments, by name (callers ask only for environments the
    /// validated manifest has: `production` whenever `[deploy.aws]` is set).
    pub fn environment(&self, name: &str) -> &Environment {
        self.environments
            .iter()
            .find(|e| e.name == name)
            .unwrap_or_else(|| panic!("bug: no environment `{name}` in the stack"))
    }
}

impl std::ops::Deref for Model {
    type Target = Settled;

    fn deref(&self) -> &Settled {
        &self.settled
    }
}
