//! A receiver whose address names a service of the stack (a webhook `url`, an email
//! `smarthost`) must be reachable from Alertmanager: Alertmanager joins that service's
//! networks. Before (issue 17), Alertmanager sat on `monitoring` and `edge` only, the app on
//! `app`: the name did not resolve and every notification was retried forever, while
//! `generate`, `check` and `validate` passed.

use crate::support::{Project, yaml};

const MANIFEST: &str = r#"
[project]
name = "hooks"
environments = ["development", "production"]

[[service]]
name = "api"
image = "ghcr.io/acme/api:1.0.0"
port = 8080
metrics = {}

[[service]]
name = "pager"
image = "ghcr.io/acme/pager:1.0.0"
port = 9000
replicas = 2

[[receiver]]
name = "hook"
kind = "webhook"
url = "http://pager:9000/alerts"

[[receiver]]
name = "outside"
kind = "webhook"
url = "https://hooks.example.com/alerts"

[[route]]
match = { severity = "critical" }
receivers = ["hook", "outside"]
"#;

fn networks(compose: &serde_json::Value, service: &str) -> Vec<String> {
    let mut n: Vec<String> = compose["services"][service]["networks"]
        .as_object()
        .unwrap_or_else(|| panic!("{service} has networks"))
        .keys()
        .cloned()
        .collect();
    n.sort();
    n
}

#[test]
fn alertmanager_joins_the_networks_of_a_receiver_that_is_a_service_of_the_stack() {
    let p = Project::with_manifest(MANIFEST);
    p.generate();
    let compose = yaml(&p.read("compose.yaml"));
    let am = networks(&compose, "alertmanager");
    // `pager` is replicated: pager-1 and pager-2 answer to the alias `pager` on `app`.
    assert_eq!(networks(&compose, "pager-1"), ["app"]);
    for net in networks(&compose, "pager-1") {
        assert!(
            am.contains(&net),
            "alertmanager ({am:?}) does not share `{net}` with the webhook receiver pager"
        );
    }
    // Still on its own networks; nothing more than needed.
    assert_eq!(am, ["app", "edge", "monitoring"]);
    // A receiver outside the stack changes nothing: the minimal stack with such a
    // receiver keeps Alertmanager on monitoring + edge.
    let q = Project::with_manifest(
        &MANIFEST.replace("http://pager:9000/alerts", "http://127.0.0.1:9/x"),
    );
    q.generate();
    let am = networks(&yaml(&q.read("compose.yaml")), "alertmanager");
    assert_eq!(am, ["edge", "monitoring"]);
}
