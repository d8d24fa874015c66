//! Grafana provisioning: datasources and dashboards, as written.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as Json;

/// Grafana's provisioning and dashboards, fully decided.
#[derive(Debug, Clone, Serialize)]
pub struct Grafana {
    pub datasources: Vec<Datasource>,
    pub dashboards: Vec<Dashboard>,
    /// Container path of the dashboards (the provider's `path`).
    pub dashboards_dir: String,
}

/// One provisioned datasource.
#[derive(Debug, Clone, Serialize)]
pub struct Datasource {
    pub name: String,
    pub uid: String,
    /// Grafana plugin type (`prometheus`, `alertmanager`).
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    pub default: bool,
    pub basic_auth_user: Option<String>,
    /// A Grafana provisioning reference (`$__file{/run/secrets/…}`), never a value.
    pub basic_auth_password: Option<String>,
    pub json_data: BTreeMap<String, Json>,
}

/// One generated dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub uid: String,
    pub title: String,
    /// Folder (directory under `monitoring/grafana/dashboards/`, and Grafana folder).
    pub folder: String,
    /// What it shows: overview, service, host, containers, database, slo, monitoring.
    pub kind: String,
    /// Output path.
    pub path: String,
    /// The dashboard JSON, pretty-printed, with a final newline.
    pub json: String,
    #[serde(skip)]
    pub value: Json,
}

impl Dashboard {
    /// Every panel that is not a row.
    pub fn panels(&self) -> Vec<&Json> {
        self.value["panels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["type"] != "row")
            .collect()
    }
}
