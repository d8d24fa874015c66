//! Tunable alert levels (`[alerts]` warning and critical of the built-in host, container,
//! database and service alerts, and a service's own `alerts = { … }`) and the custom
//! alerts' own tests (`[alerts.custom.test]`).

use std::process::Command;

use crate::support::{Project, require_tool};

const MANIFEST: &str = r#"
[project]
name = "tuned"

[[service]]
name = "api"
image = "ghcr.io/acme/api:1.0.0"
port = 8080
metrics = { path = "/metrics" }
health = "/health"

[[service]]
name = "batch"
image = "ghcr.io/acme/batch:1.0.0"
port = 8081
metrics = { path = "/metrics" }
alerts = { error_rate = 0.2, error_rate_critical = 0.3, latency_p95 = "2s", latency_p95_critical = "5s" }

[alerts]
error_rate = 0.01
error_rate_critical = 0.05
latency_p95 = "300ms"
latency_p95_critical = "1s"
host_cpu = { warning = 70, critical = 85 }
host_memory = { warning = 60, critical = 80 }
host_disk_free = { warning = 25, critical = 15 }
container_memory = { warning = 75, critical = 85 }
database_connections = { warning = 70, critical = 90 }

[[database]]
name = "main"
kind = "postgres"
"#;

fn promtool_passes(p: &Project) {
    let Some(promtool) = require_tool("promtool") else {
        return;
    };
    let tests = p
        .files_ending(".test.yml")
        .into_iter()
        .filter(|f| f.starts_with("monitoring/prometheus/tests/"))
        .collect::<Vec<_>>();
    let out = Command::new(&promtool)
        .args(["test", "rules"])
        .args(&tests)
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

#[test]
fn built_in_levels_are_tuned_warning_and_critical_and_per_service() {
    let p = Project::with_manifest(MANIFEST);
    p.generate();
    let host = p.read("monitoring/prometheus/rules/host.yml");
    for needle in [
        r#"rate(node_cpu_seconds_total{job=\"node-exporter\",mode=\"idle\"}[5m]))) > 70""#,
        r#"rate(node_cpu_seconds_total{job=\"node-exporter\",mode=\"idle\"}[5m]))) > 85""#,
        r#"node_memory_MemTotal_bytes{job=\"node-exporter\"}) > 60""#,
        r#"node_memory_MemTotal_bytes{job=\"node-exporter\"}) > 80""#,
        "< 25) and node_filesystem_readonly",
        "< 15) and node_filesystem_readonly",
    ] {
        assert!(host.contains(needle), "host.yml lacks {needle}:\n{host}");
    }
    let containers = p.read("monitoring/prometheus/rules/containers.yml");
    for needle in ["> 0.75) and", "> 0.85) and"] {
        assert!(containers.contains(needle), "containers.yml lacks {needle}");
    }
    let db = p.read("monitoring/prometheus/rules/database-main.yml");
    for needle in [
        "pg_settings_max_connections{job=\\\"main-exporter\\\"}) > 0.7\"",
        "pg_settings_max_connections{job=\\\"main-exporter\\\"}) > 0.9\"",
    ] {
        assert!(
            db.contains(needle),
            "database-main.yml lacks {needle}:\n{db}"
        );
    }
    let services = p.read("monitoring/prometheus/rules/services.yml");
    for needle in [
        r#"service:http_error_ratio:rate5m{service=\"api\"} > 0.01""#,
        r#"service:http_error_ratio:rate5m{service=\"api\"} > 0.05""#,
        r#"service:http_error_ratio:rate5m{service=\"batch\"} > 0.2""#,
        r#"service:http_error_ratio:rate5m{service=\"batch\"} > 0.3""#,
        r#"service:http_request_duration_seconds:p95_5m{service=\"api\"} > 0.3""#,
        r#"service:http_request_duration_seconds:p95_5m{service=\"api\"} > 1""#,
        r#"service:http_request_duration_seconds:p95_5m{service=\"batch\"} > 2""#,
        r#"service:http_request_duration_seconds:p95_5m{service=\"batch\"} > 5""#,
    ] {
        assert!(
            services.contains(needle),
            "services.yml lacks {needle}:\n{services}"
        );
    }
    // The generated tests follow the levels: they still fire and stay quiet.
    promtool_passes(&p);
}

#[test]
fn a_custom_alert_carries_its_own_test_and_one_without_warns() {
    let with_test = format!(
        "{MANIFEST}\n{}",
        r#"
[[alerts.custom]]
name = "QueueBacklog"
expr = 'sum by (queue) (queue_depth) > 100'
severity = "critical"
summary = "A queue is backing up"
description = "More than 100 jobs wait."
labels = { team = "ops" }

[alerts.custom.test]
input = [{ series = 'queue_depth{queue="mail",instance="api:8080"}', values = "150x20" }]
eval_time = "10m"
expect = [{ queue = "mail" }]

[[alerts.custom]]
name = "NoTestHere"
expr = 'vector(1) > 2'
severity = "warning"
summary = "Never"
"#
    );
    let p = Project::with_manifest(&with_test);
    let run = p.run(&["generate"]).expect(0);
    assert!(
        run.stderr
            .contains("warning: custom alert `NoTestHere` has no test"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("`QueueBacklog` has no test"),
        "{}",
        run.stderr
    );
    let check = p.run(&["check"]).expect(0);
    assert!(
        check
            .stderr
            .contains("warning: custom alert `NoTestHere` has no test"),
        "{}",
        check.stderr
    );
    let test = p.read("monitoring/prometheus/tests/custom.test.yml");
    for needle in [
        r#"series: "queue_depth{queue=\"mail\",instance=\"api:8080\"}""#,
        "alertname: QueueBacklog",
        r#"queue: "mail""#,
        r#"team: "ops""#,
        r#"severity: "critical""#,
    ] {
        assert!(
            test.contains(needle),
            "custom.test.yml lacks {needle}:\n{test}"
        );
    }
    promtool_passes(&p);
    // A wrong expectation fails promtool: the test is real.
    if let Some(promtool) = require_tool("promtool") {
        p.write(
            "obsgen.toml",
            &with_test.replace(
                r#"expect = [{ queue = "mail" }]"#,
                r#"expect = [{ queue = "sms" }]"#,
            ),
        );
        p.generate();
        let out = Command::new(&promtool)
            .args([
                "test",
                "rules",
                "monitoring/prometheus/tests/custom.test.yml",
            ])
            .current_dir(p.path())
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "promtool accepted a wrong expectation"
        );
    }
}

/// docs/alerts.md's catalogue lists exactly the alerts the examples generate (custom
/// alerts aside), each with the severities they have: it cannot drift from the output.
#[test]
fn the_alert_catalogue_in_the_docs_matches_the_output() {
    use std::collections::{BTreeMap, BTreeSet};
    let doc = std::fs::read_to_string(crate::support::repo().join("docs/alerts.md")).unwrap();
    let table = doc
        .split("## Catalogue")
        .nth(1)
        .expect("docs/alerts.md has a ## Catalogue section");
    let mut documented: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in table.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let name = cells[1].trim_matches('`').to_string();
        let severities = cells[2].split(',').map(|s| s.trim().to_string()).collect();
        assert!(
            documented.insert(name.clone(), severities).is_none(),
            "{name} is listed twice"
        );
    }
    let mut generated: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for name in crate::support::examples() {
        let p = Project::example(&name);
        p.generate();
        for rel in p.files_ending(".yml").into_iter().filter(|f| {
            f.starts_with("monitoring/prometheus/rules/") && !f.ends_with("/custom.yml")
        }) {
            let rules = crate::support::yaml(&p.read(&rel));
            for group in rules["groups"].as_array().unwrap() {
                for rule in group["rules"].as_array().unwrap() {
                    if let Some(alert) = rule["alert"].as_str() {
                        generated
                            .entry(alert.to_string())
                            .or_default()
                            .insert(rule["labels"]["severity"].as_str().unwrap().to_string());
                    }
                }
            }
        }
    }
    let missing: Vec<_> = generated
        .keys()
        .filter(|k| !documented.contains_key(*k))
        .collect();
    let stale: Vec<_> = documented
        .keys()
        .filter(|k| !generated.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "docs/alerts.md's catalogue: not listed {missing:?}; listed but not generated {stale:?}"
    );
    for (name, sev) in &generated {
        assert_eq!(
            &documented[name], sev,
            "severities of {name} in docs/alerts.md"
        );
    }
}
