//! Alertmanager: the manifest's receivers, routes and custom alerts, and the routing tree,
//! receivers, inhibitions and routing tests obsgen writes.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomAlert {
    /// Alert name (`QueueBacklogHigh`): letters, digits and `_`.
    pub name: String,
    /// PromQL expression; parsed when the manifest is loaded.
    pub expr: String,
    /// How long the expression must hold before the alert fires (`5m`).
    #[serde(rename = "for", default = "default_for")]
    pub for_: String,
    pub severity: Severity,
    pub summary: String,
    pub description: Option<String>,
    /// Extra labels attached to the alert.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// A promtool test of the alert, rendered into `tests/custom.test.yml`. Without one,
    /// `generate` and `check` warn.
    pub test: Option<CustomAlertTest>,
}

/// The test of a custom alert: input series, when to evaluate, and the alerts expected.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomAlertTest {
    /// Input series in promtool's notation (`{ series = 'queue_depth{job="shop"}',
    /// values = "150x20" }`), one sample a minute.
    pub input: Vec<TestSeries>,
    /// When to evaluate, from the first sample (`15m`).
    pub eval_time: String,
    /// The labels of each alert expected (from the expression's result; obsgen adds the
    /// alert's own labels and `severity`). Empty: the alert must stay quiet.
    #[serde(default)]
    pub expect: Vec<BTreeMap<String, String>>,
    /// The description each expected alert has once Prometheus expands it; needed when
    /// the alert has no `description` of its own (the default one is a template).
    pub description: Option<String>,
}

/// One input series of a test.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestSeries {
    pub series: String,
    pub values: String,
}

/// A warning and a critical level of a built-in alert.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub warning: f64,
    pub critical: f64,
}

/// A service's own thresholds (`[[service]] alerts = { … }`), over `[alerts]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceAlerts {
    /// Ratio of 5xx responses above which it alerts (warning).
    pub error_rate: Option<f64>,
    /// Ratio of 5xx responses above which it alerts as critical (default: twice
    /// `error_rate`, when below 1).
    pub error_rate_critical: Option<f64>,
    /// 95th-percentile latency above which it alerts (warning, `500ms`).
    pub latency_p95: Option<String>,
    /// 95th-percentile latency above which it alerts as critical (default: twice
    /// `latency_p95`).
    pub latency_p95_critical: Option<String>,
}

fn default_for() -> String {
    "5m".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReceiverKind {
    Slack,
    Email,
    Pagerduty,
    Webhook,
    Opsgenie,
}

/// An alert receiver. Secrets are never values here: each `*_env` field names the
/// secret (`SLACK_WEBHOOK_URL`); its value lives in the file `secrets/<name in
/// lowercase>` next to the manifest, which Compose mounts into the Alertmanager
/// container as `/run/secrets/<name in lowercase>` (Alertmanager reads `*_file` fields;
/// it does not expand variables). A receiver named `watchdog` receives only the
/// always-firing Watchdog alert (point it at a dead-man's switch).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    pub name: String,
    pub kind: ReceiverKind,
    /// slack: channel (`#alerts`).
    pub channel: Option<String>,
    /// slack: secret holding the incoming-webhook URL.
    pub webhook_url_env: Option<String>,
    /// pagerduty: secret holding the Events API v2 routing key.
    pub routing_key_env: Option<String>,
    /// opsgenie: secret holding the API key.
    pub api_key_env: Option<String>,
    /// webhook: the URL to POST to (not a secret: it is written into the configuration).
    pub url: Option<String>,
    /// webhook: secret holding a bearer token sent as `Authorization: Bearer …`.
    pub bearer_token_env: Option<String>,
    /// Not supported: Alertmanager 0.25 cannot read a webhook URL from a file. Use `url`
    /// (and `bearer_token_env` for the secret part).
    pub url_env: Option<String>,
    /// email: recipient addresses.
    #[serde(default)]
    pub to: Vec<String>,
    /// email: sender address.
    pub from: Option<String>,
    /// email: SMTP server `host:port`.
    pub smarthost: Option<String>,
    /// email: SMTP login (needed with `auth_password_env`).
    pub auth_username: Option<String>,
    /// email: secret holding the SMTP password.
    pub auth_password_env: Option<String>,
    /// Also notify when the alert resolves (default true).
    pub send_resolved: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Label equality matchers (`match = { severity = "critical" }`).
    #[serde(rename = "match", default)]
    pub matchers: BTreeMap<String, String>,
    /// Label regex matchers (`match_re = { service = "api|web" }`).
    #[serde(default)]
    pub match_re: BTreeMap<String, String>,
    /// Receivers that get the alerts this route matches.
    pub receivers: Vec<String>,
    /// Keep matching later routes after this one (default false).
    #[serde(rename = "continue", default)]
    pub continue_: bool,
    pub group_by: Option<Vec<String>>,
    pub group_wait: Option<String>,
    pub group_interval: Option<String>,
    pub repeat_interval: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Alertmanager {
    pub name: String,
    pub image: String,
    pub port: u16,
    pub volume: String,
    /// File-SD file (relative to the Prometheus folder) naming Alertmanager.
    pub targets_file: String,
    pub receivers: Vec<AmReceiver>,
    pub inhibit_rules: Vec<Inhibit>,
    /// Cases of `routes.test.sh`, the same for every environment.
    pub route_tests: Vec<RouteTest>,
    /// Manifest routes that got no test case, and why (for a comment in the script).
    pub untested: Vec<String>,
}

/// One receiver; no `configs` means it notifies nobody.
#[derive(Debug, Clone, Serialize)]
pub struct AmReceiver {
    pub name: String,
    pub configs: Vec<Notifier>,
}

/// One `<kind>_configs` entry.
#[derive(Debug, Clone, Serialize)]
pub struct Notifier {
    /// `slack_configs`, `email_configs`, …
    pub key: String,
    /// Settings in print order; values are printed with `q`.
    pub fields: Vec<Field>,
    /// `http_config.authorization.credentials_file` (bearer token), if any.
    pub credentials_file: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Field {
    pub key: String,
    pub value: serde_json::Value,
}

/// A child route of the root.
#[derive(Debug, Clone, Serialize)]
pub struct AmRoute {
    /// Where it comes from, for a comment (`route[0]`, `Watchdog`).
    pub about: String,
    /// Matcher strings (`severity="critical"`), accepted by Alertmanager 0.25 and 0.28.
    pub matchers: Vec<String>,
    pub receiver: Option<String>,
    #[serde(rename = "continue")]
    pub continue_: bool,
    pub group_by: Option<Vec<String>>,
    pub group_wait: Option<String>,
    pub group_interval: Option<String>,
    pub repeat_interval: Option<String>,
    /// One per receiver when the route has several.
    pub routes: Vec<AmLeaf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AmLeaf {
    pub receiver: String,
    #[serde(rename = "continue")]
    pub continue_: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Inhibit {
    pub about: String,
    pub source_matchers: Vec<String>,
    pub target_matchers: Vec<String>,
    pub equal: Vec<String>,
}

/// One `amtool config routes test` case.
#[derive(Debug, Clone, Serialize)]
pub struct RouteTest {
    /// What it tests, safe inside a `#` comment.
    pub about: String,
    /// Expected receivers, comma-separated, shell-quoted.
    pub expect: String,
    /// The alert's labels as shell-quoted matcher arguments.
    pub args: String,
}

/// The configuration of one environment.
#[derive(Debug, Clone, Serialize)]
pub struct AmEnvironment {
    /// File name inside `monitoring/alertmanager/` (`alertmanager.production.yml`).
    pub file: String,
    pub receiver: String,
    pub group_by: Vec<String>,
    pub group_wait: String,
    pub group_interval: String,
    pub repeat_interval: String,
    /// Watchdog first, then one per `[[route]]`.
    pub routes: Vec<AmRoute>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Slo")]
pub struct SloSpec {
    /// The service this objective is for.
    pub service: String,
    /// Availability objective in percent, for example 99.9.
    pub objective: f64,
    /// Rolling window (`30d`).
    #[serde(default = "default_slo_window")]
    pub window: String,
}

fn default_slo_window() -> String {
    "30d".into()
}
