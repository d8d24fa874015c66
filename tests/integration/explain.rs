//! `obsgen explain`: services, databases, alerts and files, traced to manifest lines,
//! profile values and templates; unknown names exit 2 with a suggestion.

use crate::support::Project;

#[test]
fn a_service_shows_its_manifest_lines_profile_values_and_dependents() {
    let p = Project::example("shop");
    let out = p.run(&["explain", "gateway"]).expect(0).stdout;
    assert!(
        out.starts_with("service `gateway` — obsgen.toml:9\n"),
        "{out}"
    );
    assert!(out.contains("       9 | name = \"gateway\"\n"), "{out}");
    assert!(out.contains("      16 | language = \"node\"\n"), "{out}");
    assert!(
        !out.contains("| name = \"backend\""),
        "only its own table:\n{out}"
    );
    assert!(
        out.contains(
            "from the `standard` preset (profiles/standard.toml [service_defaults]): replicas = 1"
        ),
        "{out}"
    );
    assert!(
        out.contains("depends on: backend-1 (service_healthy), backend-2 (service_healthy)"),
        "{out}"
    );
    assert!(
        out.contains("production (profiles/production.toml; compose.production.yaml): gateway publishes 0.0.0.0:5921:5921"),
        "{out}"
    );
    assert!(
        out.contains("targets: monitoring/prometheus/targets/gateway.yml (gateway:5921)"),
        "{out}"
    );
    assert!(
        out.contains("ServiceDown (critical) in monitoring/prometheus/rules/services.yml"),
        "{out}"
    );
    assert!(
        out.contains(
            "ErrorBudgetBurnFast (critical) in monitoring/prometheus/rules/slo-gateway.yml"
        ),
        "{out}"
    );
    assert!(
        out.contains("monitoring/grafana/dashboards/services/shop-svc-gateway.json"),
        "{out}"
    );

    let out = p.run(&["explain", "backend"]).expect(0).stdout;
    assert!(
        out.contains("backend-1, backend-2 (build ./backend, port 3847, 2 replicas)"),
        "{out}"
    );
    assert!(out.contains("needed by: gateway"), "{out}");
    assert!(
        out.contains("depends on: mongodb (service_healthy), redis (service_healthy)"),
        "{out}"
    );
}

#[test]
fn a_database_names_its_image_secrets_and_exporter() {
    let p = Project::example("shop");
    let out = p.run(&["explain", "mongodb"]).expect(0).stdout;
    assert!(
        out.contains("image mongo:7.0.24, version from obsgen.toml:32"),
        "{out}"
    );
    assert!(out.contains("${MONGODB_PASSWORD:?"), "{out}");
    assert!(out.contains("needed by: backend"), "{out}");
    assert!(
        out.contains("beside it in compose.yaml: mongodb-exporter"),
        "{out}"
    );
    let out = p.run(&["explain", "redis"]).expect(0).stdout;
    assert!(
        out.contains("version pinned in templates/v1/components/redis/image.toml"),
        "{out}"
    );
}

#[test]
fn an_alert_says_where_its_threshold_comes_from() {
    let p = Project::example("shop");
    let out = p
        .run(&["explain", "alert", "ServiceHighErrorRate"])
        .expect(0)
        .stdout;
    assert!(out.contains("severity warning, for 5m"), "{out}");
    assert!(out.contains("> 0.05"), "{out}");
    assert!(
        out.contains("threshold 0.05 (critical 0.1): alerts.error_rate at obsgen.toml:39"),
        "{out}"
    );
    assert!(
        out.contains("for 5m: profiles/standard.toml [alerts] for = \"5m\""),
        "`for` is not in the manifest, so the preset supplies it:\n{out}"
    );
    assert!(
        out.contains("notifies: oncall, team-chat (route obsgen.toml:"),
        "{out}"
    );
    assert!(out.contains("tested: 2 promtool case(s)"), "{out}");

    // Without [alerts] in the manifest, the threshold comes from the preset.
    let p = Project::example("minimal");
    let out = p
        .run(&["explain", "alert", "ServiceHighLatency"])
        .expect(0)
        .stdout;
    assert!(
        out.contains("profiles/minimal.toml [alerts] latency_p95 ="),
        "{out}"
    );

    let p = Project::example("shop");
    let out = p.run(&["explain", "CheckoutQueueBacklog"]).expect(0).stdout;
    assert!(
        out.contains("written in the manifest: [[alerts.custom]] at obsgen.toml:47"),
        "{out}"
    );
    assert!(
        out.contains("  49 | expr = 'sum(shop_checkout_queue_depth) > 100'"),
        "{out}"
    );
    let out = p.run(&["explain", "alert", "ServiceDown"]).expect(0).stdout;
    assert!(out.contains("built into obsgen's rules"), "{out}");
}

#[test]
fn a_file_names_its_template_environment_and_inputs() {
    let p = Project::example("shop");
    let out = p
        .run(&["explain", "compose.production.yaml"])
        .expect(0)
        .stdout;
    assert!(
        out.contains("template: templates/v1/compose/compose.env.yaml.j2 (embedded)"),
        "{out}"
    );
    assert!(out.contains("family: compose"), "{out}");
    assert!(
        out.contains("environment: production (settings from profiles/production.toml"),
        "{out}"
    );
    assert!(out.contains("service (2) from line 8"), "{out}");
    assert!(out.contains("database (2) from line 29"), "{out}");
    assert!(
        out.contains("referenced by: .github/workflows/deploy.yml"),
        "{out}"
    );
    // A unique file name is enough.
    let out = p
        .run(&["explain", "alertmanager.production.yml"])
        .expect(0)
        .stdout;
    assert!(
        out.starts_with("monitoring/alertmanager/alertmanager.production.yml"),
        "{out}"
    );
    assert!(out.contains("receiver (2) from line"), "{out}");
    // Per-item files say which item they are.
    let out = p.run(&["explain", "targets/gateway.yml"]).expect(0).stdout;
    assert!(out.contains("targets of: "), "{out}");
    assert!(out.contains("(gateway:5921)"), "{out}");
    assert!(out.contains("read by scrape job(s): gateway"), "{out}");
    let out = p.run(&["explain", "rules/services.yml"]).expect(0).stdout;
    assert!(out.contains("recording rules,"), "{out}");
    let out = p
        .run(&["explain", "shop-svc-gateway.json"])
        .expect(0)
        .stdout;
    assert!(
        out.contains("dashboard: \"shop: service gateway\""),
        "{out}"
    );
}

#[test]
fn unknown_names_exit_2_with_a_suggestion() {
    let p = Project::example("shop");
    let out = p.run(&["explain", "gatewy"]).expect(2);
    assert!(
        out.stderr
            .starts_with("error: no service, database, alert or generated file named `gatewy`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("help: did you mean `gateway`?"),
        "{}",
        out.stderr
    );
    let out = p.run(&["explain", "alert", "ServiceDwn"]).expect(2);
    assert!(
        out.stderr
            .contains("help: did you mean `obsgen explain alert ServiceDown`?"),
        "{}",
        out.stderr
    );
    let out = p.run(&["explain", "nothing-like-it-at-all"]).expect(2);
    assert!(
        out.stderr.contains("help: services are gateway, backend"),
        "{}",
        out.stderr
    );
    let out = p.run(&["explain", "a", "b"]).expect(2);
    assert!(
        out.stderr.contains("explain takes one name"),
        "{}",
        out.stderr
    );
    // No manifest: the usual error.
    let empty = Project::new();
    let out = empty.run(&["explain", "x"]).expect(2);
    assert!(
        out.stderr.contains("help: run `obsgen init`"),
        "{}",
        out.stderr
    );
}
