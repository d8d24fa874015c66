//! Helm values of the charts obsgen configures in `own` mode, as typed structs: only the
//! keys obsgen sets (each exists in the pinned chart's `values.yaml`, which a test checks
//! against the committed fixtures under `tests/fixtures/kubernetes/`).

use serde::{Deserialize, Serialize};

use super::objects::Labels;

/// A chart obsgen writes values for, pinned by repository and version (never vendored).
#[derive(Debug, Clone, Copy)]
pub struct Chart {
    pub name: &'static str,
    pub repository: &'static str,
    pub version: &'static str,
}

pub const KUBE_PROMETHEUS_STACK: Chart = Chart {
    name: "kube-prometheus-stack",
    repository: "https://prometheus-community.github.io/helm-charts",
    version: "88.5.3",
};

pub const BLACKBOX_EXPORTER: Chart = Chart {
    name: "prometheus-blackbox-exporter",
    repository: "https://prometheus-community.github.io/helm-charts",
    version: "11.17.2",
};

/// `values-<env>.yaml` of kube-prometheus-stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StackValues {
    pub prometheus: PrometheusValues,
    pub alertmanager: AlertmanagerValues,
    pub grafana: GrafanaValues,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrometheusValues {
    pub prometheus_spec: PrometheusSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PrometheusSpec {
    pub retention: String,
    pub retention_size: String,
    pub scrape_interval: String,
    pub scrape_timeout: String,
    pub evaluation_interval: String,
    pub external_labels: Labels,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remote_write: Vec<RemoteWrite>,
    /// Secrets mounted at `/etc/prometheus/secrets/<name>/` (remote-write credentials).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoteWrite {
    pub name: String,
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_auth: Option<BasicAuth>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<Authorization>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BasicAuth {
    pub username: SecretKey,
    pub password: SecretKey,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Authorization {
    pub credentials: SecretKey,
}

/// A key of a Kubernetes Secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKey {
    pub name: String,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertmanagerValues {
    pub config: AlertmanagerConfig,
    pub alertmanager_spec: AlertmanagerSpec,
}

/// `alertmanager.config`: every top-level key of the chart's default configuration is set
/// (and every key of its route), so Helm's deep merge keeps nothing of it (its `null`
/// receiver, its route).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerConfig {
    pub global: Global,
    pub route: serde_json::Value,
    pub inhibit_rules: Vec<serde_json::Value>,
    pub receivers: Vec<serde_json::Value>,
    pub templates: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Global {
    pub resolve_timeout: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertmanagerSpec {
    /// Secrets mounted at `/etc/alertmanager/secrets/<name>/`: the receivers' `*_file`s.
    pub secrets: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrafanaValues {
    pub admin: GrafanaAdmin,
    pub sidecar: Sidecar,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_data_sources: Vec<DataSource>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GrafanaAdmin {
    pub existing_secret: String,
    pub user_key: String,
    pub password_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sidecar {
    pub dashboards: SidecarDashboards,
    pub datasources: SidecarDatasources,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SidecarDashboards {
    pub enabled: bool,
    pub label: String,
    pub label_value: String,
    pub folder_annotation: String,
    pub provider: Provider,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Provider {
    pub folders_from_files_structure: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SidecarDatasources {
    pub default_datasource_enabled: bool,
    pub uid: String,
    pub alertmanager: SidecarAlertmanager,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SidecarAlertmanager {
    pub uid: String,
}

/// An extra Grafana datasource (Loki), with the uid the dashboards use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataSource {
    pub name: String,
    pub uid: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    pub access: String,
}

/// `values-<env>.yaml` of prometheus-blackbox-exporter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlackboxValues {
    pub config: BlackboxConfig,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlackboxConfig {
    pub modules: serde_json::Value,
}

pub const LOKI: Chart = Chart {
    name: "loki",
    repository: "https://grafana-community.github.io/helm-charts",
    version: "18.11.0",
};

pub const ALLOY: Chart = Chart {
    name: "alloy",
    repository: "https://grafana.github.io/helm-charts",
    version: "1.11.1",
};

/// `values-<env>.yaml` of Loki: one binary, filesystem storage, the `[logging]` retention.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LokiValues {
    pub deployment_mode: String,
    pub loki: LokiConfig,
    pub single_binary: Replicas,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LokiConfig {
    #[serde(rename = "auth_enabled")]
    pub auth_enabled: bool,
    pub common_config: LokiCommon,
    pub storage: LokiStorage,
    pub schema_config: serde_json::Value,
    /// Merged into Loki's configuration as it is: the retention.
    pub structured_config: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LokiCommon {
    #[serde(rename = "replication_factor")]
    pub replication_factor: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LokiStorage {
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Replicas {
    pub replicas: u32,
}

/// `values-<env>.yaml` of Grafana Alloy: one replica reading the environment's pod logs
/// through the API and pushing them to Loki.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlloyValues {
    pub alloy: AlloySettings,
    pub controller: AlloyController,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlloySettings {
    pub config_map: AlloyConfigMap,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlloyConfigMap {
    pub create: bool,
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlloyController {
    #[serde(rename = "type")]
    pub kind: String,
    pub replicas: u32,
}
