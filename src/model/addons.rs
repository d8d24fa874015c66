//! The optional components' settings (logs, traces, errors, storage) and their files.

use serde::Serialize;

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
}

/// One configuration file of a component.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigFile {
    pub path: String,
    pub template: String,
    pub item: serde_json::Value,
}
