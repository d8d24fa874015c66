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
    /// Expressions (recording rules) and the samples they must return.
    pub promql_expr_test: Vec<ExprTest>,
}

/// One `promql_expr_test`: an expression and the samples expected at `eval_time`.
#[derive(Debug, Clone, Serialize)]
pub struct ExprTest {
    pub expr: String,
    pub eval_time: String,
    /// (series selector with every label, value).
    pub exp_samples: Vec<(String, String)>,
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

/// A component's share of a rules file that several components write to: the monitoring
/// stack's `rules/monitoring.yml` holds Prometheus's, Alertmanager's and the optional
/// components' alerts. [`merge`] makes one [`RuleFile`] of the parts with one name.
#[derive(Debug, Clone)]
pub struct RulePart {
    /// Where it goes among the parts of its file.
    pub place: Place,
    /// Its rules and tests, as a file of their own: name (the file it goes to), about
    /// (the same in every part of a file), groups and tests.
    pub file: RuleFile,
}

/// The order of the parts of a shared rules file, and so of its groups, rules and tests
/// (the layout of `rules/monitoring.yml`; registry order within a place).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Place {
    /// Group `monitoring`: Prometheus's and Alertmanager's own health.
    Stack,
    /// Group `monitoring`: `PrometheusTargetMissing`, over the scrape jobs no other alert
    /// watches (an assembly step: only the assembled jobs say which those are).
    Targets,
    /// Group `components`: down alerts of components watched through their blackbox probe.
    Probed,
    /// Group `components`: down alerts of scraped components (`up == 0`).
    Scraped,
    /// Group `components`: alerts on what a running component fails to do.
    Pipeline,
    /// Group `watchdog`: the alert that always fires.
    Watchdog,
}

/// The shared rules files of `parts` (given in registry order), in the order their names
/// first appear: each file's parts in [`Place`] order (registry order within a place),
/// consecutive groups with the same name made one, tests in the same order.
pub fn merge(parts: Vec<RulePart>) -> Vec<RuleFile> {
    let mut parts = parts;
    let mut names: Vec<String> = Vec::new();
    for p in &parts {
        if !names.contains(&p.file.name) {
            names.push(p.file.name.clone());
        }
    }
    // Stable: registry order within a place.
    parts.sort_by_key(|p| p.place);
    names
        .into_iter()
        .map(|name| {
            let mut out: Option<RuleFile> = None;
            for p in parts.iter().filter(|p| p.file.name == name) {
                let f = p.file.clone();
                let Some(o) = out.as_mut() else {
                    out = Some(f);
                    continue;
                };
                for g in f.groups {
                    match o.groups.last_mut() {
                        Some(last) if last.name == g.name => last.rules.extend(g.rules),
                        _ => o.groups.push(g),
                    }
                }
                o.tests.extend(f.tests);
                o.alerts += f.alerts;
                o.records += f.records;
            }
            out.expect("a name of a part")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(place: Place, file: &str, group: &str, alert: &str) -> RulePart {
        RulePart {
            place,
            file: RuleFile {
                name: file.into(),
                about: format!("about {file}"),
                groups: vec![Group {
                    name: group.into(),
                    rules: vec![Rule {
                        record: None,
                        alert: Some(alert.into()),
                        expr: "vector(1)".into(),
                        for_: None,
                        labels: BTreeMap::new(),
                        annotations: BTreeMap::new(),
                    }],
                }],
                tests: vec![TestCase {
                    name: alert.into(),
                    interval: "1m".into(),
                    input_series: Vec::new(),
                    alert_rule_test: Vec::new(),
                    promql_expr_test: Vec::new(),
                }],
                alerts: 1,
                records: 0,
            },
        }
    }

    #[test]
    fn parts_merge_by_place_then_registry_order_into_shared_groups() {
        // In registry order: a later component's part can go before an earlier one's.
        let files = merge(vec![
            part(Place::Stack, "m", "monitoring", "A"),
            part(Place::Watchdog, "m", "watchdog", "W"),
            part(Place::Scraped, "m", "components", "S1"),
            part(Place::Stack, "m", "monitoring", "B"),
            part(Place::Probed, "m", "components", "P"),
            part(Place::Scraped, "m", "components", "S2"),
            part(Place::Stack, "other", "x", "X"),
        ]);
        let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["m", "other"]);
        let m = &files[0];
        let groups: Vec<(&str, Vec<&str>)> = m
            .groups
            .iter()
            .map(|g| {
                let alerts = g.rules.iter().filter_map(|r| r.alert.as_deref()).collect();
                (g.name.as_str(), alerts)
            })
            .collect();
        assert_eq!(
            groups,
            [
                ("monitoring", vec!["A", "B"]),
                ("components", vec!["P", "S1", "S2"]),
                ("watchdog", vec!["W"]),
            ]
        );
        let tests: Vec<&str> = m.tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(tests, ["A", "B", "P", "S1", "S2", "W"]);
        assert_eq!((m.alerts, m.about.as_str()), (6, "about m"));
        assert_eq!(files[1].alerts, 1);
    }
}
