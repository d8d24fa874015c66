//! Alert and recording rules: accepted by `promtool check rules` (through `check
//! config`), every generated alert has severity, summary, description and `for`, and
//! a promtool unit test that shows it firing and staying quiet — and those tests pass
//! under `promtool test rules`.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use crate::support::{Project, examples, require_tool};

fn yaml(p: &Project, rel: &str) -> Value {
    crate::support::yaml(&p.read(rel))
}

#[test]
fn every_alert_is_complete_and_has_firing_and_quiet_tests() {
    for name in examples() {
        let p = Project::example(&name);
        p.generate();
        let mut alerts = 0;
        for rel in p
            .files_ending(".yml")
            .into_iter()
            .filter(|f| f.starts_with("monitoring/prometheus/rules/"))
        {
            let rules = yaml(&p, &rel);
            let stem = rel
                .rsplit('/')
                .next()
                .unwrap()
                .trim_end_matches(".yml")
                .to_string();
            let mut names = BTreeSet::new();
            for group in rules["groups"].as_array().unwrap() {
                for rule in group["rules"].as_array().unwrap() {
                    let Some(alert) = rule["alert"].as_str() else {
                        continue;
                    };
                    alerts += 1;
                    names.insert(alert.to_string());
                    // Sloth's SLO alerts have no `for` (their long window is the delay);
                    // every other alert has one.
                    if stem.starts_with("slo-") {
                        assert!(rule.get("for").is_none(), "{name} {rel} {alert}: a `for`");
                    } else {
                        assert!(rule["for"].is_string(), "{name} {rel} {alert}: no `for`");
                    }
                    assert!(
                        rule["labels"]["severity"].is_string(),
                        "{name} {rel} {alert}: no severity"
                    );
                    assert!(
                        rule["annotations"]["summary"].is_string(),
                        "{name} {rel} {alert}: no summary"
                    );
                    assert!(
                        rule["annotations"]["description"].is_string(),
                        "{name} {rel} {alert}: no description"
                    );
                }
            }
            if stem == "custom" {
                continue; // the manifest's own alerts: their input is the user's
            }
            let tests = yaml(&p, &format!("monitoring/prometheus/tests/{stem}.test.yml"));
            for alert in &names {
                let cases: Vec<&Value> = tests["tests"]
                    .as_array()
                    .unwrap()
                    .iter()
                    // Cases of recording rules only (promql_expr_test) have no alert test.
                    .flat_map(|t| t["alert_rule_test"].as_array().into_iter().flatten())
                    .filter(|a| a["alertname"] == alert.as_str())
                    .collect();
                assert!(
                    cases
                        .iter()
                        .any(|c| c["exp_alerts"].as_array().is_some_and(|a| !a.is_empty())),
                    "{name}: {alert} has no test where it fires"
                );
                if alert != "Watchdog" {
                    assert!(
                        cases
                            .iter()
                            .any(|c| c["exp_alerts"].as_array().is_some_and(|a| a.is_empty())),
                        "{name}: {alert} has no test where it stays quiet"
                    );
                }
            }
        }
        assert!(alerts >= 10, "{name}: only {alerts} alerts");
    }
}

#[test]
fn promtool_checks_and_runs_every_rule_test() {
    let Some(promtool) = require_tool("promtool") else {
        return;
    };
    for name in examples() {
        let p = Project::example(&name);
        p.generate();
        let rules: Vec<String> = p
            .files_ending(".yml")
            .into_iter()
            .filter(|f| f.starts_with("monitoring/prometheus/rules/"))
            .collect();
        assert!(!rules.is_empty(), "{name}: no rule files");
        let out = Command::new(&promtool)
            .args(["check", "rules"])
            .args(rules.iter().map(|f| p.path().join(f)))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: promtool check rules:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        let tests: Vec<String> = p
            .files_ending(".test.yml")
            .into_iter()
            .filter(|f| f.starts_with("monitoring/prometheus/tests/"))
            .collect();
        assert!(
            tests.len() + 1 >= rules.len(),
            "{name}: {} tests for {} rule files",
            tests.len(),
            rules.len()
        );
        let out = Command::new(&promtool)
            .args(["test", "rules"])
            .args(&tests)
            .current_dir(p.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: promtool test rules:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_wrong_expectation_makes_promtool_fail() {
    // The generated tests check exact annotations: a changed expectation must fail.
    let Some(promtool) = require_tool("promtool") else {
        return;
    };
    let p = Project::example("shop");
    p.generate();
    let rel = "monitoring/prometheus/tests/services.test.yml";
    let text = p.read(rel);
    assert!(text.contains("fail with 5xx (threshold 5%)"), "{text}");
    p.write(
        rel,
        &text.replace(
            "fail with 5xx (threshold 5%)",
            "fail with 5xx (threshold 6%)",
        ),
    );
    let out = Command::new(&promtool)
        .args(["test", "rules", rel])
        .current_dir(p.path())
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "promtool accepted a wrong expectation"
    );
}

#[test]
fn thresholds_come_from_the_manifest() {
    let p = Project::example("microservices");
    p.generate();
    let rules = p.read("monitoring/prometheus/rules/services.yml");
    // One rule per concern for every service of the convention, selected by job.
    let all = r#"{service=~\"edge|users|orders|catalog\"}"#;
    for needle in [
        format!("service:http_error_ratio:rate5m{all} > 0.02\""),
        format!("service:http_request_duration_seconds:p95_5m{all} > 0.3\""),
        format!("service:http_request_duration_seconds:p95_5m{all} > 0.6\""),
        r#"up{job=~\"edge|users|orders|catalog\"} == 0"#.to_string(),
    ] {
        assert!(rules.contains(&needle), "rules lack {needle}:\n{rules}");
    }
    // A service with its own metric names gets its own file.
    let spring = p.read("monitoring/prometheus/rules/services-payments.yml");
    assert!(
        spring.contains(
            "rate(http_server_requests_seconds_count{job=\\\"payments\\\",status=~\\\"5..\\\"}[5m])"
        ),
        "{spring}"
    );
    assert!(
        spring.contains("http_server_requests_seconds_bucket{job=\\\"payments\\\"}"),
        "{spring}"
    );
    let slo = Project::example("shop");
    slo.generate();
    let text = slo.read("monitoring/prometheus/rules/slo-gateway.yml");
    for needle in [
        "record: slo:sli_error:ratio_rate5m",
        "record: slo:sli_error:ratio_rate3d",
        "record: slo:sli_error:ratio_rate30d",
        "record: slo:period_error_budget_remaining:ratio",
        "record: sloth_slo_info",
        "> (14.4 * 0.001)",
        "> (6 * 0.001)",
        "> (3 * 0.001)",
        "> (1 * 0.001)",
    ] {
        assert!(text.contains(needle), "slo rules lack {needle}:\n{text}");
    }
}

/// `ElasticsearchDown` and the dashboard's "Database reachable" panel on the series the
/// pinned elasticsearch_exporter v1.9.0 serves. Its cluster-health collector
/// (`collector/cluster_health.go`, `Collect`) returns without a single series when
/// `/_cluster/health` cannot be fetched, and `elasticsearch_cluster_health_up` no longer
/// exists (removed in v1.7.0, commit acddc58 "Refactor tests for cluster health"). So an
/// unreachable cluster is a scraped exporter (`up` 1) without cluster-health series.
#[test]
fn elasticsearch_down_fires_on_what_the_pinned_exporter_serves() {
    let Some(promtool) = require_tool("promtool") else {
        return;
    };
    let p = Project::example("all-exporters");
    p.generate();
    let labels = r#"environment="production",instance="search-exporter:9114",job="search-exporter",service="search""#;
    let up = format!("up{{{labels}}}");
    let health = format!(
        "elasticsearch_cluster_health_number_of_nodes{{cluster=\"docker-cluster\",{labels}}}"
    );
    // The dashboard's panel, with its variables as Grafana resolves them.
    let dash: Value = serde_json::from_str(
        &p.read("monitoring/grafana/dashboards/infrastructure/all-exporters-db-elasticsearch.json"),
    )
    .unwrap();
    let panel = dash["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == "Database reachable (exporter)")
        .expect("the reachability panel");
    let expr = panel["targets"][0]["expr"]
        .as_str()
        .unwrap()
        .replace("$environment", "production")
        .replace("$instance", ".*");
    let result = |labels: &str, value: u32| serde_json::json!({"labels": labels, "value": value});
    let down = serde_json::json!({
        "exp_labels": {
            "environment": "production", "instance": "search-exporter:9114",
            "job": "search-exporter", "service": "search", "severity": "critical"
        },
        "exp_annotations": {
            "summary": "Elasticsearch search is down",
            "description": "The exporter of Elasticsearch database search in production answers but gets no cluster health from it: Elasticsearch is unreachable or refuses the exporter's login."
        }
    });
    let test = serde_json::json!({
        "rule_files": ["../rules/database-search.yml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": up, "values": "1x15"}],
                "alert_rule_test": [{"eval_time": "10m", "alertname": "ElasticsearchDown", "exp_alerts": [down]}],
                "promql_expr_test": [{"expr": expr, "eval_time": "10m", "exp_samples": [result(&format!("{{{labels}}}"), 0)]}]
            },
            {
                "interval": "1m",
                "input_series": [{"series": up, "values": "1x15"}, {"series": health, "values": "1x15"}],
                "alert_rule_test": [{"eval_time": "10m", "alertname": "ElasticsearchDown", "exp_alerts": []}],
                "promql_expr_test": [{"expr": expr, "eval_time": "10m", "exp_samples": [result(&up, 1)]}]
            }
        ]
    });
    let rel = "monitoring/prometheus/tests/pinned-exporter.test.yml";
    p.write(rel, &serde_json::to_string_pretty(&test).unwrap());
    let out = Command::new(&promtool)
        .args(["test", "rules", rel])
        .current_dir(p.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool test rules:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
