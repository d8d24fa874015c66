//! Alerts that fire in production (issue 13): each test feeds the generated rules the
//! series the pinned exporters really serve — not series written from the rules' own
//! assumptions — and checks the alert fires (or stays quiet) as it must.

use std::collections::BTreeMap;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::{Project, require_tool};

/// Runs `promtool test rules` on `tests` (a promtool test file as JSON, its rule files
/// relative to `monitoring/prometheus/tests/`) written into the project.
fn promtool_test(p: &Project, name: &str, tests: &Value) {
    let Some(promtool) = require_tool("promtool") else {
        return;
    };
    let rel = format!("monitoring/prometheus/tests/{name}.test.yml");
    p.write(&rel, &serde_json::to_string_pretty(tests).unwrap());
    let out = Command::new(&promtool)
        .args(["test", "rules", &rel])
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

fn yaml(p: &Project, rel: &str) -> Value {
    crate::support::yaml(&p.read(rel))
}

/// The rule named `name` (alert or record) in a generated rules file.
fn rule(p: &Project, file: &str, name: &str) -> Value {
    let rules = yaml(p, &format!("monitoring/prometheus/rules/{file}.yml"));
    rules["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().clone())
        .find(|r| r["alert"] == name || r["record"] == name)
        .unwrap_or_else(|| panic!("{file}.yml has no rule {name}"))
}

/// The first target expression of the panel titled `title` in a dashboard.
fn panel_expr(p: &Project, dashboard: &str, title: &str) -> String {
    let dash: Value =
        serde_json::from_str(&p.read(&format!("monitoring/grafana/dashboards/{dashboard}")))
            .unwrap();
    let panel = dash["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["title"] == title)
        .unwrap_or_else(|| panic!("{dashboard}: no panel {title}"));
    panel["targets"][0]["expr"].as_str().unwrap().to_string()
}

/// cAdvisor v0.52.1 serves `container_start_time_seconds` as the container's *creation*
/// time (metrics/prometheus.go:1932, `cont.Spec.CreationTime`, set from Docker's
/// `Created` in container/docker/handler.go:184), which a restart does not change; a
/// restart adds a `restartcount` container label (handler.go:200-203, exported as
/// `container_label_restartcount` by `DefaultContainerLabels`, metrics/prometheus.go:1860),
/// so each restart is a new series with the same value.
#[test]
fn container_restarting_fires_on_what_the_pinned_cadvisor_serves() {
    let p = Project::example("shop");
    p.generate();
    let base = r#"environment="production",id="/system.slice/docker-abc.scope",image="shop/app:1",instance="cadvisor:8080",job="cadvisor",name="shop-app-1",service="cadvisor""#;
    let created = "1700000000";
    // Restarts at minutes 3, 6 and 9: the old series stops, a new one (restartcount n) starts.
    let series = vec![
        json!({"series": format!("container_start_time_seconds{{{base}}}"), "values": format!("{created}x3")}),
        json!({"series": format!("container_start_time_seconds{{container_label_restartcount=\"1\",{base}}}"), "values": format!("_x3 {created}x3")}),
        json!({"series": format!("container_start_time_seconds{{container_label_restartcount=\"2\",{base}}}"), "values": format!("_x6 {created}x3")}),
        json!({"series": format!("container_start_time_seconds{{container_label_restartcount=\"3\",{base}}}"), "values": format!("_x9 {created}x10")}),
    ];
    let steady = vec![
        json!({"series": format!("container_start_time_seconds{{container_label_restartcount=\"1\",{base}}}"), "values": format!("{created}x20")}),
    ];
    let alert = rule(&p, "containers", "ContainerRestarting");
    let labels = json!({
        "environment": "production", "instance": "cadvisor:8080", "job": "cadvisor",
        "name": "shop-app-1", "service": "cadvisor", "severity": "warning"
    });
    let annotations = json!({
        "summary": "Container shop-app-1 keeps restarting",
        "description": "Container shop-app-1 restarted 3 times in 15 minutes."
    });
    let restarts = panel_expr(&p, "infrastructure/shop-containers.json", "Restarts (1h)")
        .replace("$environment", "production")
        .replace("$instance", ".*");
    assert!(alert["for"].is_string(), "{alert}");
    promtool_test(
        &p,
        "cadvisor-restarts",
        &json!({
            "rule_files": ["../rules/containers.yml"],
            "evaluation_interval": "1m",
            "tests": [
                {
                    "interval": "1m",
                    "input_series": series,
                    "alert_rule_test": [{"eval_time": "12m", "alertname": "ContainerRestarting",
                        "exp_alerts": [{"exp_labels": labels, "exp_annotations": annotations}]}],
                    "promql_expr_test": [{"expr": restarts, "eval_time": "12m",
                        "exp_samples": [{"labels": "{name=\"shop-app-1\"}", "value": 3}]}]
                },
                {
                    "interval": "1m",
                    "input_series": steady,
                    "alert_rule_test": [{"eval_time": "12m", "alertname": "ContainerRestarting", "exp_alerts": []}],
                    "promql_expr_test": [{"expr": restarts, "eval_time": "12m",
                        "exp_samples": [{"labels": "{name=\"shop-app-1\"}", "value": 0}]}]
                }
            ]
        }),
    );
}

/// Sloth's burn factor for a share of the error budget spent within `long` hours of a
/// period of `period` hours (sloth internal/alert/window.go, getBurnRateFactor),
/// rounded to six decimals as obsgen prints it (Go prints 5.6000000000000005).
fn sloth_factor(period_hours: f64, budget_percent: f64, long_hours: f64) -> f64 {
    (budget_percent * period_hours / 100.0 / long_hours * 1e6).round() / 1e6
}

/// Sloth's alert expression (internal/plugin/slo/core/alert_rules_v1/plugin.go,
/// mwmbAlertTpl) for one pair of window pairs.
fn sloth_alert(
    filter: &str,
    budget: f64,
    quick: (&str, &str, f64),
    slow: (&str, &str, f64),
) -> String {
    let m = |w: &str, f: f64| {
        format!(
            "max(slo:sli_error:ratio_rate{w}{filter} > ({f} * {budget})) without (sloth_window)"
        )
    };
    format!(
        "(\n    {}\n    and\n    {}\n)\nor\n(\n    {}\n    and\n    {}\n)\n",
        m(quick.0, quick.2),
        m(quick.1, quick.2),
        m(slow.0, slow.2),
        m(slow.1, slow.2)
    )
}

/// The SLO rules of `everything` (a 28-day objective of 99.5 %) against Sloth's form on
/// the same input: the same window names (`4w`, not `28d`), alert labels without
/// `sloth_window` (so an alert does not end and restart when the window pair changes),
/// no `for`, and the 28-day burn factors (Sloth's google-28d windows: 13.44, 5.6, 2.8, 0.93).
#[test]
fn slo_rules_take_sloths_form_and_factors() {
    let p = Project::example("everything");
    p.generate();
    let file = "slo-api";
    let period = rule(&p, file, "slo:sli_error:ratio_rate4w");
    assert_eq!(period["labels"]["sloth_window"], "4w", "{period}");
    assert_eq!(period["labels"]["sloth_id"], "api-availability", "{period}");
    let page = rule(&p, file, "ErrorBudgetBurnFast");
    let ticket = rule(&p, file, "ErrorBudgetBurnSlow");
    for a in [&page, &ticket] {
        assert!(a.get("for").is_none(), "Sloth's alerts have no `for`: {a}");
    }
    let filter = r#"{sloth_id="api-availability", sloth_service="api", sloth_slo="availability"}"#;
    let budget = 0.005;
    let h = 28.0 * 24.0;
    let (pq, ps, tq, ts) = (
        sloth_factor(h, 2.0, 1.0),
        sloth_factor(h, 5.0, 6.0),
        sloth_factor(h, 10.0, 24.0),
        sloth_factor(h, 10.0, 72.0),
    );
    assert_eq!([pq, ps, tq, ts], [13.44, 5.6, 2.8, 0.933333]);
    let sloth_page = sloth_alert(filter, budget, ("5m", "1h", pq), ("30m", "6h", ps));
    let sloth_ticket = sloth_alert(filter, budget, ("2h", "1d", tq), ("6h", "3d", ts));
    let series = |err_per_min: f64| {
        let l = r#"environment="production",instance="api:9102",job="api",service="api""#;
        vec![
            json!({"series": format!("http_requests_total{{{l},status=\"200\"}}"), "values": format!("0+{}x200", 1000.0 - err_per_min)}),
            json!({"series": format!("http_requests_total{{{l},status=\"500\"}}"), "values": format!("0+{err_per_min}x200")}),
        ]
    };
    let labels = r#"{environment="production", service="api", sloth_id="api-availability", sloth_service="api", sloth_slo="availability"}"#;
    // The labels of the result, value 1: the same for obsgen's and Sloth's expression.
    let same = |obsgen: &Value, sloth: &str, fires: bool| {
        let exp = if fires {
            json!([{"labels": labels, "value": 1}])
        } else {
            json!([])
        };
        vec![
            json!({"expr": format!("({}) * 0 + 1", obsgen["expr"].as_str().unwrap()), "eval_time": "190m", "exp_samples": exp}),
            json!({"expr": format!("({sloth}) * 0 + 1"), "eval_time": "190m", "exp_samples": exp}),
        ]
    };
    let case = |err: f64, page_fires: bool, ticket_fires: bool| {
        let mut exprs = same(&page, &sloth_page, page_fires);
        exprs.extend(same(&ticket, &sloth_ticket, ticket_fires));
        json!({"interval": "1m", "input_series": series(err), "promql_expr_test": exprs})
    };
    promtool_test(
        &p,
        "sloth-form",
        &json!({
            "rule_files": [format!("../rules/{file}.yml")],
            "evaluation_interval": "1m",
            "tests": [
                // Every request fails: both page pairs and both ticket pairs fire.
                case(1000.0, true, true),
                // 7 %: 14× the budget, above Sloth's 13.44 (below the 30-day 14.4).
                case(70.0, true, true),
                // 0.48 %: 0.96× the budget, above Sloth's 0.93 (below the 30-day 1).
                case(4.8, false, true),
                // No request fails.
                case(0.0, false, false),
            ]
        }),
    );
}

/// Alertmanager's inhibition on a few alerts: which of `targets` some `sources` alert
/// silences under the rendered `inhibit_rules` (matchers `name="v"` / `name!="v"`;
/// `equal`: the same value, an absent label counting as empty).
fn inhibited(
    rules: &Value,
    sources: &[BTreeMap<&str, &str>],
    target: &BTreeMap<&str, &str>,
) -> bool {
    let matches = |alert: &BTreeMap<&str, &str>, ms: &Value| {
        ms.as_array().unwrap().iter().all(|m| {
            let m = m.as_str().unwrap();
            let (name, neg, value) = match m.split_once("!=") {
                Some((n, v)) => (n, true, v),
                None => {
                    let (n, v) = m.split_once('=').unwrap();
                    (n, false, v)
                }
            };
            let value = value.trim_matches('"');
            let got = alert.get(name.trim()).copied().unwrap_or("");
            (got == value) != neg
        })
    };
    rules.as_array().unwrap().iter().any(|r| {
        matches(target, &r["target_matchers"])
            && sources.iter().any(|s| {
                matches(s, &r["source_matchers"])
                    && !matches(target, &r["source_matchers"])
                    && r["equal"].as_array().unwrap().iter().all(|l| {
                        let l = l.as_str().unwrap();
                        s.get(l).copied().unwrap_or("") == target.get(l).copied().unwrap_or("")
                    })
            })
    })
}

/// One replica down must not silence the alerts about the whole service (its SLO, error
/// ratio and latency alerts carry no `instance`): the other replicas still serve users.
#[test]
fn one_replica_down_does_not_inhibit_the_services_alerts() {
    let p = Project::example("shop");
    p.generate();
    let am = yaml(&p, "monitoring/alertmanager/alertmanager.production.yml");
    let rules = &am["inhibit_rules"];
    let down = BTreeMap::from([
        ("alertname", "ServiceDown"),
        ("environment", "production"),
        ("instance", "gateway-2:8080"),
        ("job", "gateway"),
        ("service", "gateway"),
        ("severity", "critical"),
    ]);
    for (alert, severity) in [
        ("ErrorBudgetBurnFast", "critical"),
        ("ServiceHighErrorRate", "warning"),
        ("ServiceHighLatency", "critical"),
    ] {
        let target = BTreeMap::from([
            ("alertname", alert),
            ("environment", "production"),
            ("service", "gateway"),
            ("severity", severity),
        ]);
        assert!(
            !inhibited(rules, std::slice::from_ref(&down), &target),
            "ServiceDown of one replica silences {alert}: {rules}"
        );
    }
    // What concerns that replica itself is still silenced by its ServiceDown.
    let same_replica = BTreeMap::from([
        ("alertname", "GatewaySlowQueue"),
        ("environment", "production"),
        ("instance", "gateway-2:8080"),
        ("service", "gateway"),
        ("severity", "warning"),
    ]);
    assert!(inhibited(rules, &[down], &same_replica), "{rules}");
}

/// The notification-failure alerts fire on a failure ratio above 1 % (the alertmanager
/// mixin's AlertmanagerFailedToSendAlerts, the prometheus mixin's
/// PrometheusErrorSendingAlertsToSomeAlertmanagers), not on any single failure.
#[test]
fn notification_failures_alert_on_a_ratio_above_one_percent() {
    let p = Project::example("shop");
    p.generate();
    let am = r#"environment="production",instance="alertmanager:9093",integration="slack",job="alertmanager",service="alertmanager""#;
    let prom = r#"alertmanager="http://alertmanager:9093/api/v2/alerts",environment="production",instance="localhost:9090",job="prometheus",service="prometheus""#;
    // 1000 notifications a minute, `failed` of them failing.
    let input = |failed: u32| {
        json!([
            {"series": format!("alertmanager_notifications_total{{{am}}}"), "values": "0+1000x30"},
            {"series": format!("alertmanager_notifications_failed_total{{reason=\"other\",{am}}}"), "values": format!("0+{failed}x30")},
            {"series": format!("prometheus_notifications_sent_total{{{prom}}}"), "values": "0+1000x30"},
            {"series": format!("prometheus_notifications_errors_total{{{prom}}}"), "values": format!("0+{failed}x30")},
        ])
    };
    let quiet = |alert: &str| json!({"eval_time": "25m", "alertname": alert, "exp_alerts": []});
    let firing = |alert: &str, labels: Value, annotations: Value| json!({"eval_time": "25m", "alertname": alert, "exp_alerts": [{"exp_labels": labels, "exp_annotations": annotations}]});
    promtool_test(
        &p,
        "notification-ratio",
        &json!({
            "rule_files": ["../rules/monitoring.yml"],
            "evaluation_interval": "1m",
            "tests": [
                {
                    "interval": "1m",
                    "input_series": input(1),
                    "alert_rule_test": [quiet("AlertmanagerNotificationsFailing"), quiet("PrometheusNotificationsFailing")]
                },
                {
                    "interval": "1m",
                    "input_series": input(50),
                    "alert_rule_test": [
                        firing("AlertmanagerNotificationsFailing",
                            json!({"environment": "production", "instance": "alertmanager:9093", "integration": "slack", "job": "alertmanager", "reason": "other", "service": "alertmanager", "severity": "warning"}),
                            json!({"summary": "Alertmanager cannot deliver notifications", "description": "5% of the notifications through slack fail."})),
                        firing("PrometheusNotificationsFailing",
                            json!({"alertmanager": "http://alertmanager:9093/api/v2/alerts", "environment": "production", "instance": "localhost:9090", "job": "prometheus", "service": "prometheus", "severity": "warning"}),
                            json!({"summary": "Prometheus cannot send alerts to Alertmanager", "description": "5% of the alerts sent to http://alertmanager:9093/api/v2/alerts fail."}))
                    ]
                }
            ]
        }),
    );
}

/// A failed configuration reload keeps alerting through one missed scrape (the series
/// goes stale for a moment): the mixins' `max_over_time(…[5m]) == 0`.
#[test]
fn config_reload_alerts_survive_one_missed_scrape() {
    let p = Project::example("shop");
    p.generate();
    let prom = r#"environment="production",instance="localhost:9090",job="prometheus",service="prometheus""#;
    let am = r#"environment="production",instance="alertmanager:9093",job="alertmanager",service="alertmanager""#;
    // Failed since minute 0; the scrape at minute 10 is missed (stale).
    let values = "0x9 stale 0x10";
    let fires = |alert: &str, labels: &str| {
        let mut l: BTreeMap<String, String> = labels
            .split(',')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                (k.to_string(), v.trim_matches('"').to_string())
            })
            .collect();
        l.insert("severity".into(), "warning".into());
        let who = if alert.starts_with("Prometheus") {
            "Prometheus"
        } else {
            "Alertmanager"
        };
        json!({"eval_time": "14m", "alertname": alert, "exp_alerts": [{"exp_labels": l, "exp_annotations": {
            "summary": format!("{who} configuration reload failed"),
            "description": format!("{who} {} runs an old configuration: the last reload failed (value 0).", l["instance"]),
        }}]})
    };
    promtool_test(
        &p,
        "reload-missed-scrape",
        &json!({
            "rule_files": ["../rules/monitoring.yml"],
            "evaluation_interval": "1m",
            "tests": [{
                "interval": "1m",
                "input_series": [
                    {"series": format!("prometheus_config_last_reload_successful{{{prom}}}"), "values": values},
                    {"series": format!("alertmanager_config_last_reload_successful{{{am}}}"), "values": values},
                ],
                "alert_rule_test": [
                    fires("PrometheusConfigReloadFailed", prom),
                    fires("AlertmanagerConfigReloadFailed", am),
                ]
            }]
        }),
    );
}

/// A healthy service (traffic, no 5xx: client libraries create the 5xx series only on
/// the first 5xx) has an error ratio of 0, not "No data".
#[test]
fn error_ratios_are_zero_with_traffic_and_no_5xx() {
    let p = Project::example("everything");
    p.generate();
    let l = r#"environment="production",instance="api:9102",job="api",service="api""#;
    let zero = |expr: &str, labels: &str| json!({"expr": expr, "eval_time": "30m", "exp_samples": [{"labels": labels, "value": 0}]});
    let slo = r#"{environment="production", service="api", sloth_id="api-availability", sloth_service="api", sloth_slo="availability", sloth_window="5m"}"#;
    let slo_labels = format!("slo:sli_error:ratio_rate5m{slo}");
    promtool_test(
        &p,
        "no-5xx",
        &json!({
            "rule_files": ["../rules/services.yml", "../rules/slo-api.yml"],
            "evaluation_interval": "1m",
            "tests": [{
                "interval": "1m",
                "input_series": [{"series": format!("http_requests_total{{{l},status=\"200\"}}"), "values": "0+100x40"}],
                "promql_expr_test": [
                    zero("service:http_errors:rate5m{service=\"api\"}", r#"service:http_errors:rate5m{environment="production", service="api"}"#),
                    zero("service:http_error_ratio:rate5m{service=\"api\"}", r#"service:http_error_ratio:rate5m{environment="production", service="api"}"#),
                    zero("slo:sli_error:ratio_rate5m", &slo_labels),
                ]
            }]
        }),
    );
}
