//! Alert and recording rule files with their promtool tests, as written.

use std::collections::BTreeMap;

use serde::Serialize;

/// A rule as written to a rules file.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    pub record: Option<String>,
    pub alert: Option<String>,
    pub expr: String,
    #[serde(rename = "for")]
    pub for_: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub name: String,
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub series: String,
    pub values: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExpAlert {
    pub exp_labels: BTreeMap<String, String>,
    pub exp_annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertTest {
    pub eval_time: String,
    pub alertname: String,
    pub exp_alerts: Vec<ExpAlert>,
}

/// One promtool test case.
#[derive(Debug, Clone, Serialize)]
pub struct TestCase {
    /// What the case shows, as a comment.
    pub name: String,
    pub interval: String,
    pub input_series: Vec<Series>,
    pub alert_rule_test: Vec<AlertTest>,
}

/// One rules file (`rules/<name>.yml`) and its tests (`tests/<name>.test.yml`).
#[derive(Debug, Clone, Serialize)]
pub struct RuleFile {
    pub name: String,
    pub about: String,
    pub groups: Vec<Group>,
    pub tests: Vec<TestCase>,
    /// Number of alerting rules.
    pub alerts: usize,
    /// Number of recording rules.
    pub records: usize,
}
