//! Grafana: provisioning files, the Compose service that reads them, and the generated
//! dashboards, type-checked by `grafana-dashboard-typecheck` (the `Dashboard` type of
//! `@grafana/schema`) for every example. Under `CI=true` a missing checker fails.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value as Json;

use crate::support::{Project, examples, require_tool, tool, yaml};

const DASHBOARDS: &str = "monitoring/grafana/dashboards/";
const DATASOURCES: &str = "monitoring/grafana/provisioning/datasources/datasources.yml";
const PROVIDERS: &str = "monitoring/grafana/provisioning/dashboards/dashboards.yml";

/// Every dashboard of a generated project: path → parsed JSON.
fn dashboards(p: &Project) -> BTreeMap<String, Json> {
    p.files_ending(".json")
        .into_iter()
        .filter(|f| f.starts_with(DASHBOARDS))
        .map(|f| {
            let v: Json = serde_json::from_str(&p.read(&f)).unwrap();
            (f, v)
        })
        .collect()
}

fn panel_count(d: &Json) -> usize {
    d["panels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["type"] != "row")
        .count()
}

/// A manifest with `n` scraped services.
fn many(n: usize) -> String {
    let mut text = String::from(
        "[project]\nname = \"big\"\nenvironments = [\"development\", \"production\"]\n",
    );
    for i in 1..=n {
        text.push_str(&format!(
            "[[service]]\nname = \"svc-{i:03}\"\nimage = \"ghcr.io/acme/svc:1.0.0\"\nport = {}\nmetrics = {{}}\n",
            10000 + i
        ));
    }
    text
}

#[test]
fn every_dashboard_of_every_example_type_checks() {
    let Some(checker) = require_tool("grafana-dashboard-typecheck") else {
        return;
    };
    let mut projects: Vec<(String, Project)> = examples()
        .into_iter()
        .map(|n| {
            let p = Project::example(&n);
            p.generate();
            (n, p)
        })
        .collect();
    // A project above the per-service limit: one dashboard with `$service`.
    let big = Project::with_manifest(&many(60));
    big.generate();
    assert!(big.exists(&format!("{DASHBOARDS}services/big-services.json")));
    projects.push(("big".into(), big));
    let mut files = Vec::new();
    for (name, p) in &projects {
        let d = dashboards(p);
        assert!(d.len() >= 2, "{name}: {:?}", d.keys());
        files.extend(d.keys().map(|f| p.path().join(f)));
    }
    let (code, text) = tool(Command::new(&checker).args(&files));
    assert_eq!(code, 0, "grafana-dashboard-typecheck:\n{text}");
    assert!(
        text.contains(&format!("OK: {} dashboard(s)", files.len())),
        "{text}"
    );
}

#[test]
fn shop_dashboards_and_panel_counts() {
    let p = Project::example("shop");
    p.generate();
    let counts: BTreeMap<String, usize> = dashboards(&p)
        .iter()
        .map(|(f, d)| (f.trim_start_matches(DASHBOARDS).to_string(), panel_count(d)))
        .collect();
    let want: BTreeMap<String, usize> = [
        ("infrastructure/shop-containers.json", 6),
        ("infrastructure/shop-db-mongodb.json", 4),
        ("infrastructure/shop-db-redis.json", 4),
        ("infrastructure/shop-host.json", 10),
        ("monitoring/shop-monitoring.json", 8),
        ("overview/shop-overview.json", 6),
        ("services/shop-svc-backend.json", 8),
        ("services/shop-svc-gateway.json", 8),
        ("slo/shop-slo-gateway.json", 7),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(counts, want);
}

#[test]
fn dashboards_are_well_formed_with_stable_uids_and_variables() {
    for name in examples() {
        let p = Project::example(&name);
        p.generate();
        let mut uids = BTreeSet::new();
        for (f, d) in dashboards(&p) {
            let uid = d["uid"].as_str().unwrap();
            assert!(
                uid.len() <= 40 && uids.insert(uid.to_string()),
                "{f}: {uid}"
            );
            assert!(f.ends_with(&format!("/{uid}.json")), "{f}");
            assert!(d["schemaVersion"].as_u64().unwrap() >= 39, "{f}");
            assert!(d.get("id").is_none(), "{f}: no database id");
            let vars: Vec<&str> = d["templating"]["list"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v["name"].as_str().unwrap())
                .collect();
            assert!(
                vars.starts_with(&["datasource", "environment"]),
                "{f}: {vars:?}"
            );
            for panel in d["panels"].as_array().unwrap() {
                assert!(panel["gridPos"]["w"].as_u64().unwrap() <= 24, "{f}");
                if panel["type"] == "row" {
                    continue;
                }
                // Through a datasource variable: Prometheus, or the logs backend.
                let uid = panel["datasource"]["uid"].as_str().unwrap();
                assert!(uid == "${datasource}" || uid == "${logs}", "{f}: {uid}");
                if uid == "${logs}" {
                    assert!(vars.contains(&"logs"), "{f}: {vars:?}");
                }
                assert!(!panel["targets"].as_array().unwrap().is_empty(), "{f}");
            }
        }
        // The same manifest in another folder gives the same uids.
        let q = Project::example(&name);
        q.generate();
        let again: BTreeSet<String> = dashboards(&q)
            .values()
            .map(|d| d["uid"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(uids, again, "{name}");
    }
}

#[test]
fn service_dashboards_draw_the_manifest_thresholds_and_watch_the_replicas() {
    let p = Project::example("shop");
    p.generate();
    let d: Json =
        serde_json::from_str(&p.read(&format!("{DASHBOARDS}services/shop-svc-backend.json")))
            .unwrap();
    let panel = |title: &str| {
        d["panels"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["title"] == title)
            .unwrap_or_else(|| panic!("no panel {title}"))
            .clone()
    };
    let line = |p: &Json| {
        assert_eq!(
            p["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"],
            "line"
        );
        p["fieldConfig"]["defaults"]["thresholds"]["steps"][1]["value"]
            .as_f64()
            .unwrap()
    };
    assert_eq!(line(&panel("Error ratio (5xx)")), 0.05);
    assert_eq!(line(&panel("Latency")), 0.5);
    let latency = panel("Latency").to_string();
    for rule in ["p50_5m", "p95_5m", "p99_5m"] {
        assert!(latency.contains(&format!("service:http_request_duration_seconds:{rule}")));
    }
    let cpu = panel("CPU (cores)").to_string();
    assert!(
        cpu.contains(r#"name=~\"shop[-_](backend-1|backend-2)[-_][0-9]+\""#),
        "{cpu}"
    );
    // Every series the dashboards read is recorded or scraped by the generated config.
    let rules = p.read("monitoring/prometheus/rules/services.yml");
    for rec in [
        "service:http_requests:rate5m",
        "service:http_error_ratio:rate5m",
        "service:http_request_duration_seconds:p95_5m",
    ] {
        assert!(rules.contains(rec), "{rec}");
    }
}

#[test]
fn provisioning_files_and_the_grafana_service() {
    let p = Project::example("shop");
    p.generate();
    let ds = yaml(&p.read(DATASOURCES));
    assert_eq!(ds["prune"], true);
    let list = ds["datasources"].as_array().unwrap();
    let prom = &list[0];
    assert_eq!(prom["uid"], "prometheus");
    assert_eq!(prom["isDefault"], true);
    assert_eq!(prom["basicAuth"], true);
    assert_eq!(prom["basicAuthUser"], "prometheus");
    assert_eq!(
        prom["secureJsonData"]["basicAuthPassword"],
        "$__file{/run/secrets/prometheus_password}"
    );
    assert_eq!(list[1]["uid"], "alertmanager");
    assert_eq!(list[1]["url"], "http://alertmanager:9093");
    let providers = yaml(&p.read(PROVIDERS));
    let opts = &providers["providers"][0]["options"];
    assert_eq!(opts["foldersFromFilesStructure"], true);
    assert_eq!(opts["path"], "/etc/grafana/dashboards");

    let compose = yaml(&p.read("compose.yaml"));
    let g = &compose["services"]["grafana"];
    let volumes: Vec<&str> = g["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(volumes.contains(&"./monitoring/grafana/provisioning:/etc/grafana/provisioning:ro"));
    assert!(volumes.contains(&"./monitoring/grafana/dashboards:/etc/grafana/dashboards:ro"));
    assert_eq!(g["secrets"][0], "prometheus_password");
    let env = &g["environment"];
    assert_eq!(
        env["GF_SERVER_ROOT_URL"],
        "https://grafana.shop.example.com/"
    );
    assert_eq!(env["GF_USERS_ALLOW_SIGN_UP"], "false");
    assert_eq!(env["GF_AUTH_ANONYMOUS_ENABLED"], "false");
    assert_eq!(env["GF_ANALYTICS_REPORTING_ENABLED"], "false");
    assert!(
        env["GF_SECURITY_ADMIN_PASSWORD"]
            .as_str()
            .unwrap()
            .starts_with("${GRAFANA_ADMIN_PASSWORD:?")
    );
}

#[test]
fn the_minimal_example_has_prometheus_only_and_no_root_url() {
    let p = Project::example("minimal");
    p.generate();
    let ds = yaml(&p.read(DATASOURCES));
    let uids: Vec<&str> = ds["datasources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["uid"].as_str().unwrap())
        .collect();
    let compose = yaml(&p.read("compose.yaml"));
    let am = compose["services"].get("alertmanager").is_some();
    assert_eq!(uids.contains(&"alertmanager"), am, "{uids:?}");
    assert!(
        compose["services"]["grafana"]["environment"]
            .get("GF_SERVER_ROOT_URL")
            .is_none()
    );
}
