//! Layered settings: the parts of the manifest that profiles also set.
//!
//! Every field is optional; [`Layer::over`] puts one layer over another, field by
//! field (the upper layer wins). The resolver stacks, from bottom to top: the stack
//! preset (`profiles/<profile>.toml`), the environment overlay
//! (`profiles/<environment>.toml`) and the manifest. After resolving, every field of
//! the bottom layer must be set: `profiles/` is the single place defaults live.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::alerting::{CustomAlert, Level, SloSpec as Slo};
use crate::model::kinds::{ErrorBackend, LogBackend, TraceBackend};

/// A settings struct whose fields can be layered.
pub trait Layer {
    /// `self` over `base`: each field of `self` that is set wins.
    fn over(self, base: Self) -> Self;
}

macro_rules! layered {
    // `Layer => in path::Type`: settles into a type defined elsewhere (the leaf model).
    ($(#[$m:meta])* pub struct $name:ident => in $settled:path { $( $(#[$fm:meta])* pub $f:ident : $t:ty ),* $(,)? }) => {
        layered! { $(#[$m])* pub struct $name { $( $(#[$fm])* pub $f : $t ),* } }
        impl $name {
            /// The settled values, once every layer is stacked. Profiles set every
            /// field (tested in `assets.rs`), so a field left unset is a bug.
            pub fn settle(self) -> $settled {
                let unset = self.unset();
                assert!(unset.is_empty(), "bug: {} left unset by the profiles: {unset:?}", stringify!($name));
                $settled { $( $f: self.$f.expect("checked above") ),* }
            }
        }
    };
    // `Layer => Settled`: the layer (every field optional, as written in a profile or the
    // manifest) and the settled type (every field decided) with `Layer::settle`.
    ($(#[$m:meta])* pub struct $name:ident => $(#[$sm:meta])* $settled:ident { $( $(#[$fm:meta])* pub $f:ident : $t:ty ),* $(,)? }) => {
        layered! { $(#[$m])* pub struct $name { $( $(#[$fm])* pub $f : $t ),* } }
        $(#[$sm])*
        #[derive(Debug, Clone, Serialize)]
        pub struct $settled { $( $(#[$fm])* pub $f: $t ),* }
        impl $name {
            /// The settled values, once every layer is stacked. Profiles set every
            /// field (tested in `assets.rs`), so a field left unset is a bug.
            pub fn settle(self) -> $settled {
                let unset = self.unset();
                assert!(unset.is_empty(), "bug: {} left unset by the profiles: {unset:?}", stringify!($name));
                $settled { $( $f: self.$f.expect("checked above") ),* }
            }
        }
    };
    ($(#[$m:meta])* pub struct $name:ident { $( $(#[$fm:meta])* pub $f:ident : $t:ty ),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name { $( $(#[$fm])* pub $f: Option<$t> ),* }
        impl Layer for $name {
            fn over(self, base: Self) -> Self {
                Self { $( $f: self.$f.or(base.$f) ),* }
            }
        }
        impl $name {
            /// Names of the fields left unset.
            pub fn unset(&self) -> Vec<&'static str> {
                let mut out = Vec::new();
                $( if self.$f.is_none() { out.push(stringify!($f)); } )*
                out
            }
        }
    };
}

layered! {
    /// `[components]`: which monitoring components run (Prometheus always does).
    pub struct Components => in crate::model::Components {
        /// Alertmanager, for routing alerts to receivers.
        pub alertmanager: bool,
        /// Grafana, with provisioned datasources and dashboards.
        pub grafana: bool,
        /// node-exporter, for host metrics.
        pub node_exporter: bool,
        /// cAdvisor, for container metrics.
        pub cadvisor: bool,
        /// blackbox-exporter, probing each service's health endpoint.
        pub blackbox: bool,
    }
}

layered! {
    /// `[logging]`: log collection.
    pub struct Logging =>
    /// `[logging]`, settled.
    LogSettings {
        /// `loki`, `elasticsearch` or `none`.
        pub backend: LogBackend,
        /// How long logs are kept (`14d`).
        pub retention: String,
    }
}

layered! {
    /// `[tracing]`: distributed tracing through an OpenTelemetry collector.
    pub struct Tracing =>
    /// `[tracing]`, settled.
    TraceSettings {
        /// `tempo`, `jaeger` or `none`.
        pub backend: TraceBackend,
        /// Fraction of traces kept, 0 < ratio <= 1.
        pub sample_ratio: f64,
    }
}

layered! {
    /// `[errors]`: error tracking.
    pub struct Errors =>
    /// `[errors]`, settled.
    ErrorSettings {
        /// `glitchtip` (self-hosted, Sentry-compatible), `sentry` (external) or `none`.
        pub backend: ErrorBackend,
        /// For `sentry`: the variable holding the DSN of the external service.
        pub dsn_env: String,
    }
}

layered! {
    /// `[alerts]`: thresholds of the generated alerts, SLOs and custom rules.
    pub struct Alerts {
        /// Ratio of 5xx responses above which a service alerts (0 < ratio < 1).
        pub error_rate: f64,
        /// Ratio of 5xx responses above which a service alerts as critical (default:
        /// twice `error_rate`, when below 1).
        pub error_rate_critical: f64,
        /// 95th-percentile latency above which a service alerts (`500ms`).
        pub latency_p95: String,
        /// 95th-percentile latency above which a service alerts as critical (default:
        /// twice `latency_p95`).
        pub latency_p95_critical: String,
        /// Host CPU busy, in percent (`{ warning = 90, critical = 95 }`).
        pub host_cpu: Level,
        /// Host memory used, in percent.
        pub host_memory: Level,
        /// Host filesystem space free, in percent (lower is worse: critical below warning).
        pub host_disk_free: Level,
        /// A container's memory working set, in percent of its limit.
        pub container_memory: Level,
        /// A database's connections (or clients), in percent of its maximum.
        pub database_connections: Level,
        /// Default `for` of the generated alerts (`5m`).
        #[serde(rename = "for")]
        pub for_: String,
        /// Service level objectives, one `[[alerts.slo]]` table each.
        pub slo: Vec<Slo>,
        /// Custom alert rules, one `[[alerts.custom]]` table each.
        pub custom: Vec<CustomAlert>,
    }
}

/// `[alerts]`, settled: every level decided, except the two critical levels whose
/// default follows the warning they belong to (twice it), which may be a service's own.
#[derive(Debug, Clone, Serialize)]
pub struct AlertSettings {
    pub error_rate: f64,
    pub error_rate_critical: Option<f64>,
    pub latency_p95: String,
    pub latency_p95_critical: Option<String>,
    pub host_cpu: Level,
    pub host_memory: Level,
    pub host_disk_free: Level,
    pub container_memory: Level,
    pub database_connections: Level,
    pub for_: String,
    pub slo: Vec<Slo>,
    pub custom: Vec<CustomAlert>,
}

impl Alerts {
    /// The settled values, once every layer is stacked (profiles set every level but
    /// the two critical ones: tested in `assets.rs`).
    pub fn settle(self) -> AlertSettings {
        let unset: Vec<&str> = self
            .unset()
            .into_iter()
            .filter(|f| !matches!(*f, "error_rate_critical" | "latency_p95_critical"))
            .collect();
        assert!(
            unset.is_empty(),
            "bug: Alerts left unset by the profiles: {unset:?}"
        );
        let set = "checked above";
        AlertSettings {
            error_rate: self.error_rate.expect(set),
            error_rate_critical: self.error_rate_critical,
            latency_p95: self.latency_p95.expect(set),
            latency_p95_critical: self.latency_p95_critical,
            host_cpu: self.host_cpu.expect(set),
            host_memory: self.host_memory.expect(set),
            host_disk_free: self.host_disk_free.expect(set),
            container_memory: self.container_memory.expect(set),
            database_connections: self.database_connections.expect(set),
            for_: self.for_.expect(set),
            slo: self.slo.expect(set),
            custom: self.custom.expect(set),
        }
    }
}

layered! {
    /// `[service_defaults]` in a stack preset: what a `[[service]]` gets when it
    /// does not say.
    pub struct ServiceDefaults =>
    /// `[service_defaults]`, settled.
    Defaults {
        pub replicas: u32,
        pub metrics_path: String,
        /// Counter of HTTP requests the app exposes (`http_requests_total`).
        pub http_requests: String,
        /// Histogram of request durations in seconds (`http_request_duration_seconds`).
        pub http_duration: String,
        /// Label holding the HTTP status code (`status`).
        pub http_status_label: String,
    }
}

/// Which services publish ports to the host in an environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Publish {
    /// Every single-replica service, on `bind_address` (development convenience).
    All,
    /// Only `public = true` services.
    Public,
}

/// Compose restart policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Restart {
    No,
    Always,
    OnFailure,
    UnlessStopped,
}

impl Restart {
    pub fn as_str(self) -> &'static str {
        match self {
            Restart::No => "no",
            Restart::Always => "always",
            Restart::OnFailure => "on-failure",
            Restart::UnlessStopped => "unless-stopped",
        }
    }
}

layered! {
    /// Environment settings: an overlay in `profiles/<environment>.toml`, or
    /// `[environment.<name>]` in the manifest.
    pub struct EnvSettings =>
    /// One environment's settings, settled (`extends`: the overlay it started from).
    Env {
        /// Manifest only: the overlay a custom environment starts from (`production`).
        pub extends: String,
        /// Which services publish ports: `all` (single-replica ones) or `public`.
        pub publish: Publish,
        /// Host address published app ports bind to that are not public (`127.0.0.1`).
        pub bind_address: String,
        /// Host address public services bind to (`0.0.0.0`).
        pub public_address: String,
        /// Host address the monitoring UIs (Prometheus, Grafana, Alertmanager) bind to.
        pub monitoring_address: String,
        /// Host port of the Prometheus UI.
        pub prometheus_port: u16,
        /// Host port of the Grafana UI.
        pub grafana_port: u16,
        /// Host port of the Alertmanager UI.
        pub alertmanager_port: u16,
        /// Host port of the Kibana UI (`[logging] backend = "elasticsearch"`).
        pub kibana_port: u16,
        /// Host port of the Jaeger UI (`[tracing] backend = "jaeger"`).
        pub jaeger_port: u16,
        /// Host port of the GlitchTip web UI (`[errors] backend = "glitchtip"`).
        pub glitchtip_port: u16,
        /// Host port of the MinIO console (`[storage.minio]`).
        pub minio_console_port: u16,
        pub scrape_interval: String,
        pub scrape_timeout: String,
        pub evaluation_interval: String,
        /// Prometheus TSDB retention by time (`15d`).
        pub retention_time: String,
        /// Prometheus TSDB retention by size (`10GB`).
        pub retention_size: String,
        pub restart: Restart,
        /// json-file log rotation: size of one file (`10m`).
        pub log_max_size: String,
        /// json-file log rotation: files kept.
        pub log_max_file: u32,
        /// Production hardening: no-new-privileges, dropped capabilities, read-only roots.
        pub hardening: bool,
        /// CPU limit of each app container (`1.0`).
        pub cpus: f64,
        /// Memory limit of each app container (`512M`).
        pub memory: String,
        /// CPUs reserved for each app container (`0.25`).
        pub cpus_reservation: f64,
        /// Memory reserved for each app container (`128M`).
        pub memory_reservation: String,
        /// CPU limit of each database container.
        pub database_cpus: f64,
        /// Memory limit of each database container (`1G`).
        pub database_memory: String,
        /// CPUs reserved for each database container.
        pub database_cpus_reservation: f64,
        /// Memory reserved for each database container.
        pub database_memory_reservation: String,
        /// CPU limit of each monitoring container (Prometheus, Grafana, Alertmanager …).
        pub monitoring_cpus: f64,
        /// Memory limit of each monitoring container.
        pub monitoring_memory: String,
        /// CPUs reserved for each monitoring container.
        pub monitoring_cpus_reservation: f64,
        /// Memory reserved for each monitoring container.
        pub monitoring_memory_reservation: String,
        /// CPU limit of each exporter container (node-exporter, cAdvisor, database exporters).
        pub exporter_cpus: f64,
        /// Memory limit of each exporter container.
        pub exporter_memory: String,
        /// CPUs reserved for each exporter container.
        pub exporter_cpus_reservation: f64,
        /// Memory reserved for each exporter container.
        pub exporter_memory_reservation: String,
        /// Bind-mount the build context of services with `dev = { mount = … }` (development).
        pub hot_reload: bool,
        /// Alertmanager: how long to wait to batch the first alerts of a new group (`30s`).
        pub group_wait: String,
        /// Alertmanager: how long to wait before notifying about new alerts of a group (`5m`).
        pub group_interval: String,
        /// Alertmanager: how long to wait before repeating a notification (`4h`).
        pub repeat_interval: String,
        /// Alertmanager: how often the always-firing Watchdog alert is re-sent to the
        /// `watchdog` receiver (a dead-man's switch expects it regularly: `1m`).
        pub watchdog_interval: String,
    }
}

/// A stack preset, `profiles/{minimal,standard,full}.toml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackProfile {
    /// One line saying what the preset is for.
    pub description: String,
    #[serde(default)]
    pub components: Components,
    #[serde(default)]
    pub alerts: Alerts,
    #[serde(default)]
    pub logging: Logging,
    #[serde(default)]
    pub tracing: Tracing,
    #[serde(default)]
    pub errors: Errors,
    #[serde(default)]
    pub service_defaults: ServiceDefaults,
}

/// The manifest's stack sections over their preset, settled: what every component is given.
#[derive(Debug, Clone, Serialize)]
pub struct Stack {
    pub components: crate::model::Components,
    pub alerts: AlertSettings,
    pub logging: LogSettings,
    pub tracing: TraceSettings,
    pub errors: ErrorSettings,
    pub service_defaults: Defaults,
}

impl StackProfile {
    /// Settles a fully layered preset (the lists of `[alerts]` default to empty).
    pub fn settle(self) -> Stack {
        let lists = Alerts {
            slo: Some(Vec::new()),
            custom: Some(Vec::new()),
            ..Alerts::default()
        };
        Stack {
            components: self.components.settle(),
            alerts: self.alerts.over(lists).settle(),
            logging: self.logging.settle(),
            tracing: self.tracing.settle(),
            errors: self.errors.settle(),
            service_defaults: self.service_defaults.settle(),
        }
    }
}

/// An environment overlay, `profiles/{development,staging,production}.toml`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnvProfile {
    pub description: String,
    pub environment: EnvSettings,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upper_layer_wins_field_by_field() {
        let base = Components {
            alertmanager: Some(true),
            grafana: Some(true),
            ..Default::default()
        };
        let top = Components {
            grafana: Some(false),
            cadvisor: Some(true),
            ..Default::default()
        };
        let merged = top.over(base);
        assert_eq!(merged.alertmanager, Some(true));
        assert_eq!(merged.grafana, Some(false));
        assert_eq!(merged.cadvisor, Some(true));
        assert_eq!(merged.unset(), vec!["node_exporter", "blackbox"]);
    }
}
