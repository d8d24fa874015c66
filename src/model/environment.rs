//! What each environment adds to the base stack: the Compose overlay per service,
//! Prometheus settings and the Alertmanager configuration.

use std::collections::BTreeMap;

use serde::Serialize;

use super::alerting::AmEnvironment;
use super::compose::{Hardening, Network};

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
    /// Ports published to the host (Compose short syntax `address:host:container`).
    pub ports: Vec<Port>,
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

/// One port a container publishes to the host in one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Port {
    /// Host address it binds to (`127.0.0.1`, `0.0.0.0`).
    pub address: String,
    pub host_port: u16,
    pub container_port: u16,
    /// A monitoring UI (Prometheus, Grafana, Alertmanager, a component's UI).
    pub monitoring: bool,
}

impl Port {
    /// Bound to loopback only: reachable from the host itself (or an SSH tunnel).
    pub fn is_loopback(&self) -> bool {
        self.address.starts_with("127.") || self.address == "::1" || self.address == "localhost"
    }
}

/// Compose's short syntax, `address:host:container`.
impl std::fmt::Display for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}",
            self.address, self.host_port, self.container_port
        )
    }
}

impl Serialize for Port {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Environment {
    /// Every port this environment publishes, with the Compose service publishing it.
    pub fn published(&self) -> impl Iterator<Item = (&str, &Port)> {
        self.services
            .iter()
            .flat_map(|s| s.ports.iter().map(move |p| (s.name.as_str(), p)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(address: &str) -> Port {
        Port {
            address: address.into(),
            host_port: 8080,
            container_port: 80,
            monitoring: false,
        }
    }

    #[test]
    fn loopback_addresses() {
        assert!(port("127.0.0.1").is_loopback() && port("::1").is_loopback());
        assert!(!port("0.0.0.0").is_loopback() && !port("10.0.0.5").is_loopback());
    }

    #[test]
    fn compose_short_syntax() {
        assert_eq!(port("127.0.0.1").to_string(), "127.0.0.1:8080:80");
    }
}
