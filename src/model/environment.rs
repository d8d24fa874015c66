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
