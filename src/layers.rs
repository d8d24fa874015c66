//! What settling and validation share: the layered settings (the manifest's own sections
//! over its stack preset and environment overlays, `profiles/*.toml`), the names obsgen
//! reserves, how replicas are named, the default tag of a database image. Below both
//! `validate` and `resolve`, so neither reaches into the other.

use crate::assets;
use crate::manifest::{DatabaseKind, Manifest};
use crate::settings::{Env, EnvSettings, Layer, Stack, StackProfile};

/// Compose service names obsgen itself may generate; user names must not take them.
pub const COMPONENT_NAMES: &[&str] = &[
    "prometheus",
    "alertmanager",
    "grafana",
    "node-exporter",
    "cadvisor",
    "blackbox-exporter",
    "loki",
    "promtail",
    "alloy",
    "tempo",
    "jaeger",
    "otel-collector",
    "kibana",
    "logstash",
    "filebeat",
    "glitchtip",
    "glitchtip-worker",
    "glitchtip-postgres",
    "glitchtip-redis",
    "minio",
    "minio-init",
    "elasticsearch-logs",
    "elasticsearch-logs-setup",
    "glitchtip-migrate",
];

/// Compose service names of a service's replicas.
pub fn replica_names(name: &str, replicas: u32) -> Vec<String> {
    if replicas <= 1 {
        vec![name.to_string()]
    } else {
        (1..=replicas).map(|i| format!("{name}-{i}")).collect()
    }
}

/// The pinned image tag of a database kind in the current template set.
pub fn default_db_tag(kind: DatabaseKind) -> String {
    let images = assets::images("1");
    images
        .get(kind.as_str())
        .and_then(|i| i.rsplit_once(':'))
        .map(|(_, t)| t.to_string())
        .unwrap_or_default()
}

/// The stack preset under the manifest's own sections.
pub fn stack(m: &Manifest) -> StackProfile {
    let p = assets::stack_profile(&m.project.profile).expect("validated profile");
    StackProfile {
        description: p.description,
        components: m.components.clone().over(p.components),
        alerts: m.alerts.clone().over(p.alerts),
        logging: m.logging.clone().over(p.logging),
        tracing: m.tracing.clone().over(p.tracing),
        errors: m.errors.clone().over(p.errors),
        service_defaults: p.service_defaults,
    }
}

/// The stack sections of a validated manifest, settled over its preset.
pub fn settled_stack(m: &Manifest) -> Stack {
    stack(m).settle()
}

/// Fully layered settings of one environment (`extends`: the overlay it starts from).
pub fn env_settings(m: &Manifest, env: &str) -> EnvSettings {
    let own = m.environment.get(env).cloned().unwrap_or_default();
    let base_name = if assets::env_profile_names().iter().any(|n| n == env) {
        env.to_string()
    } else {
        own.extends.clone().unwrap_or_else(|| "production".into())
    };
    let base = assets::env_profile(&base_name)
        .map(|p| p.environment)
        .unwrap_or_default();
    EnvSettings {
        extends: Some(base_name),
        ..own.over(base)
    }
}

/// The settled settings of one environment of a validated manifest.
pub fn settled_env(m: &Manifest, env: &str) -> Env {
    env_settings(m, env).settle()
}

/// How to make a random secret, as `.env.example` says it.
pub const RANDOM: &str =
    "secret; run `obsgen secrets`, or make one with: openssl rand -base64 32 | tr -d '/+='";
