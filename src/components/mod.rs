//! Optional components the manifest turns on: logs (`[logging]`), traces
//! (`[tracing]`), error tracking (`[errors]`) and object storage (`[storage]`).
//!
//! [`settings`] decides, from the layered manifest, what runs ([`Addons`]); each
//! concern's module then adds its Compose services (with networks, hardening and user),
//! volumes, `.env` variables, scrape jobs and configuration files to the model, called
//! from [`crate::stack::assemble`]:
//!
//! - [`logs`]: Loki with Grafana Alloy shipping Docker logs, or Elasticsearch with
//!   Kibana, a one-shot setup job (passwords, roles, retention) and Filebeat;
//! - [`traces`]: an OpenTelemetry collector exporting to Tempo or Jaeger, and the
//!   OTLP variables of every app service;
//! - [`errors`]: GlitchTip (web, worker, migrations, Postgres, Redis), or the DSN of an
//!   external Sentry;
//! - [`storage`]: MinIO with its console and a job that creates the buckets.
//!
//! Grafana's datasources for them live in [`crate::grafana`]; their alerts in
//! [`crate::rules`].

pub mod errors;
pub mod logs;
pub mod storage;
pub mod traces;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::manifest::{ErrorBackend, LogBackend, Manifest, TraceBackend};
use crate::model::{EnvVar, Model};
use crate::plan::Artifact;

/// What the optional components are, fully decided.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Addons {
    /// `[logging] retention`, as a Prometheus-style duration (`14d`).
    pub log_retention: String,
    /// The same in whole hours (`336h`), for Loki.
    pub log_retention_hours: u64,
    /// `[tracing] sample_ratio` as a percentage (`10`).
    pub sampling_percentage: f64,
    /// `[errors] dsn_env`: the variable apps read their DSN from.
    pub dsn_env: String,
    /// `[storage.minio] buckets`, when MinIO runs.
    pub buckets: Option<Vec<String>>,
    /// Configuration files of the components, rendered one each.
    #[serde(skip)]
    pub files: Vec<ConfigFile>,
}

/// One configuration file of a component.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigFile {
    pub path: String,
    pub template: String,
    pub item: serde_json::Value,
}

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
    let stack = crate::resolve::stack(m);
    let mut out = Vec::new();
    if stack.logging.backend == Some(LogBackend::Elasticsearch) {
        out.push(Ui {
            field: "kibana_port",
            owner: "the Kibana UI",
            compose: logs::KIBANA,
            container_port: logs::KIBANA_PORT,
        });
    }
    if stack.tracing.backend == Some(TraceBackend::Jaeger) {
        out.push(Ui {
            field: "jaeger_port",
            owner: "the Jaeger UI",
            compose: traces::JAEGER,
            container_port: traces::JAEGER_UI_PORT,
        });
    }
    if stack.errors.backend == Some(ErrorBackend::Glitchtip) {
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

/// The host port of a UI in one environment's settings.
pub fn ui_port(s: &crate::settings::EnvSettings, field: &str) -> Option<u16> {
    match field {
        "kibana_port" => s.kibana_port,
        "jaeger_port" => s.jaeger_port,
        "glitchtip_port" => s.glitchtip_port,
        "minio_console_port" => s.minio_console_port,
        _ => None,
    }
}

/// Decides the components' settings from the layered manifest.
pub fn settings(m: &Manifest) -> Addons {
    let stack = crate::resolve::stack(m);
    let retention = stack.logging.retention.clone().expect("preset");
    let ms = crate::units::parse_duration(&retention).expect("validated");
    Addons {
        log_retention_hours: ms.div_ceil(3_600_000).max(24),
        log_retention: retention,
        sampling_percentage: (stack.tracing.sample_ratio.expect("preset") * 1e6).round() / 1e4,
        dsn_env: stack.errors.dsn_env.clone().expect("preset"),
        buckets: m.storage.minio.as_ref().map(|s| s.buckets.clone()),
        files: Vec::new(),
    }
}

/// Adds every enabled component to the model. Called from [`crate::stack::assemble`]
/// after the app services, databases and exporters.
pub fn assemble(model: &mut Model) {
    logs::assemble(model);
    traces::assemble(model);
    errors::assemble(model);
    storage::assemble(model);
}

/// The configuration files of the components.
pub fn artifacts(model: &Model) -> Vec<Artifact> {
    model
        .addons
        .files
        .iter()
        .map(|f| Artifact::per_item(f.path.clone(), &f.template, &f.item))
        .collect()
}

/// The pinned image of a component.
pub(crate) fn image(model: &Model, name: &str) -> String {
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
pub(crate) const RANDOM: &str = "secret; make one with: openssl rand -base64 32 | tr -d '/+='";

/// Adds a secret variable to `.env.example` (once).
pub(crate) fn secret_var(model: &mut Model, name: &str, description: &str, how: &str) {
    if model.env_vars.iter().any(|v| v.name == name) {
        return;
    }
    model.env_vars.push(EnvVar {
        name: name.into(),
        description: description.into(),
        how: how.into(),
        secret: true,
        value: String::new(),
    });
}

/// Adds a non-secret setting to `.env.example` (once), with its default value.
pub(crate) fn setting_var(
    model: &mut Model,
    name: &str,
    description: &str,
    how: &str,
    value: &str,
) {
    if model.env_vars.iter().any(|v| v.name == name) {
        return;
    }
    model.env_vars.push(EnvVar {
        name: name.into(),
        description: description.into(),
        how: how.into(),
        secret: false,
        value: value.into(),
    });
}

/// Adds a configuration file rendered from `template` with `item`.
pub(crate) fn add_file(model: &mut Model, path: &str, template: &str, item: &impl Serialize) {
    model.addons.files.push(ConfigFile {
        path: path.into(),
        template: template.into(),
        item: serde_json::to_value(item).expect("config items serialize"),
    });
}

/// Variables every app container gets from the components (tracing, error tracking),
/// in the base file; the manifest's own `env` of a service wins.
pub fn app_environment(model: &Model, service: &str) -> BTreeMap<String, String> {
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
        if model.tracing != "none" {
            out.insert(
                "OTEL_RESOURCE_ATTRIBUTES".into(),
                format!("deployment.environment={env}"),
            );
        }
        if model.errors != "none" {
            out.insert("SENTRY_ENVIRONMENT".into(), env.to_string());
        }
    }
    if c.name == logs::ALLOY || c.name == logs::FILEBEAT {
        out.insert(logs::ENVIRONMENT_VAR.into(), env.to_string());
    }
    out
}
