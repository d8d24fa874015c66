//! Optional components (logs, traces, error tracking, object storage) in the
//! examples that enable them: their configuration files exist, parse and are wired to
//! the Compose services; the setup script passes `bash -n`; every UI they publish is
//! on loopback; every image is pinned.

use std::collections::BTreeSet;
use std::process::Command;

use crate::support::*;

fn compose(p: &Project) -> serde_json::Value {
    yaml(&p.read("compose.yaml"))
}

#[test]
fn microservices_otel_ships_logs_to_loki_and_traces_to_tempo() {
    let p = Project::example("microservices-otel");
    p.generate();
    let c = compose(&p);
    for s in ["loki", "alloy", "otel-collector", "tempo"] {
        assert!(c["services"][s].is_object(), "{s}");
    }
    for s in ["kibana", "jaeger", "glitchtip", "minio"] {
        assert!(c["services"][s].is_null(), "{s}");
    }
    let loki = yaml(&p.read("monitoring/loki/loki.yml"));
    assert_eq!(loki["limits_config"]["retention_period"], "168h");
    assert_eq!(loki["schema_config"]["configs"][0]["store"], "tsdb");
    let tempo = yaml(&p.read("monitoring/tempo/tempo.yml"));
    assert_eq!(tempo["storage"]["trace"]["backend"], "local");
    let otel = yaml(&p.read("monitoring/otel-collector/config.yml"));
    assert_eq!(otel["exporters"]["otlp/tempo"]["endpoint"], "tempo:4317");
    assert_eq!(
        otel["service"]["pipelines"]["traces"]["exporters"],
        serde_json::json!(["otlp/tempo"])
    );
    assert_eq!(
        otel["processors"]["probabilistic_sampler"]["sampling_percentage"],
        50.0
    );
    // Alloy runs as root without capabilities: its storage is a volume on a path the
    // image lacks (created owned by root), not the image's /var/lib/alloy/data (owned
    // by uid 473, mode 770, which root cannot write without CAP_DAC_OVERRIDE).
    let a = &c["services"]["alloy"];
    assert_eq!(a["user"], "0:0");
    assert!(
        a["command"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("--storage.path=/var/lib/alloy-data")),
        "{a}"
    );
    assert!(
        a["volumes"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("alloy-data:/var/lib/alloy-data")),
        "{a}"
    );
    let prod = yaml(&p.read("compose.production.yaml"));
    assert_eq!(
        prod["services"]["alloy"]["cap_drop"],
        serde_json::json!(["ALL"])
    );
    let alloy = p.read("monitoring/alloy/config.alloy");
    assert!(alloy.contains("\"com.docker.compose.project=otel-shop\""));
    assert!(alloy.contains("url = \"http://loki:3100/loki/api/v1/push\""));
    // Every app container reports traces to the collector, as itself.
    for (name, s) in c["services"].as_object().unwrap() {
        if s["environment"]["OTEL_SERVICE_NAME"].is_string() {
            assert_eq!(
                s["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://otel-collector:4318",
                "{name}"
            );
            assert!(s["networks"]["app"].is_object(), "{name}");
        }
    }
    let staging = yaml(&p.read("compose.staging.yaml"));
    assert_eq!(
        staging["services"]["orders-1"]["environment"]["OTEL_RESOURCE_ATTRIBUTES"],
        "deployment.environment=staging"
    );
    assert_eq!(
        staging["services"]["alloy"]["environment"]["OBSGEN_ENVIRONMENT"],
        "staging"
    );
    // Logs ↔ traces in Grafana.
    let ds = yaml(&p.read("monitoring/grafana/provisioning/datasources/datasources.yml"));
    let uids: BTreeSet<&str> = ds["datasources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["uid"].as_str().unwrap())
        .collect();
    assert_eq!(
        uids,
        BTreeSet::from(["prometheus", "alertmanager", "loki", "tempo"])
    );
    let loki_ds = &ds["datasources"][2];
    assert_eq!(
        loki_ds["jsonData"]["derivedFields"][0]["datasourceUid"],
        "tempo"
    );
    let tempo_ds = &ds["datasources"][3];
    assert_eq!(
        tempo_ds["jsonData"]["tracesToLogsV2"]["datasourceUid"],
        "loki"
    );
    // The external Sentry's DSN is required, never a value.
    assert_eq!(
        c["services"]["frontend"]["environment"]["SENTRY_DSN"],
        "${SENTRY_DSN:?set SENTRY_DSN in .env}"
    );
}

#[test]
fn ecommerce_runs_elk_glitchtip_and_minio() {
    let p = Project::example("ecommerce");
    p.generate();
    let c = compose(&p);
    for s in [
        "elasticsearch-logs",
        "elasticsearch-logs-setup",
        "kibana",
        "filebeat",
        "jaeger",
        "otel-collector",
        "glitchtip",
        "glitchtip-worker",
        "glitchtip-migrate",
        "glitchtip-postgres",
        "glitchtip-redis",
        "minio",
        "minio-init",
    ] {
        assert!(c["services"][s].is_object(), "{s}");
    }
    let fb = yaml(&p.read("monitoring/filebeat/filebeat.yml"));
    assert_eq!(
        fb["output.elasticsearch"]["hosts"][0],
        "http://elasticsearch-logs:9200"
    );
    assert_eq!(fb["output.elasticsearch"]["username"], "obsgen_filebeat");
    let cond = &fb["filebeat.autodiscover"]["providers"][0]["templates"][0]["condition"];
    assert_eq!(
        cond["equals"]["docker.container.labels.com_docker_compose_project"],
        "ecommerce"
    );
    assert_eq!(
        c["services"]["minio-init"]["command"],
        serde_json::json!([
            "mb",
            "--ignore-existing",
            "local/product-images",
            "local/invoices"
        ])
    );
    assert_eq!(
        c["services"]["backend"]["depends_on"]["minio"]["condition"],
        "service_healthy"
    );
    // One-shot jobs never restart, in any environment.
    for env in ["compose.development.yaml", "compose.production.yaml"] {
        let o = yaml(&p.read(env));
        for job in [
            "elasticsearch-logs-setup",
            "glitchtip-migrate",
            "minio-init",
        ] {
            assert_eq!(o["services"][job]["restart"], "no", "{env}: {job}");
        }
    }
    // The logs cluster's 1 GiB heap and Kibana fit their containers in every
    // environment (the monitoring role's 512M would get them killed).
    for env in ["compose.development.yaml", "compose.production.yaml"] {
        let o = yaml(&p.read(env));
        for (s, floor) in [("elasticsearch-logs", "2048M"), ("kibana", "1024M")] {
            assert_eq!(
                o["services"][s]["deploy"]["resources"]["limits"]["memory"], floor,
                "{env}: {s}"
            );
        }
    }
    assert_eq!(
        c["services"]["elasticsearch-logs"]["environment"]["ES_JAVA_OPTS"],
        "-Xms1g -Xmx1g"
    );
    // Grafana's reader may read the cluster's version (cluster privilege `monitor`,
    // which Grafana's Elasticsearch datasource requires), and only read the logs.
    let setup = p.read("monitoring/elasticsearch/setup.sh");
    assert!(
        setup.contains(
            r#"/_security/role/obsgen_logs_reader '{"cluster":["monitor"],"indices":[{"names":["filebeat-*"],"privileges":["read","view_index_metadata"]}]}'"#
        ),
        "{setup}"
    );
    // Kibana on 5602 in development (the manifest moved it), 5601 in production.
    let dev = yaml(&p.read("compose.development.yaml"));
    assert_eq!(
        dev["services"]["kibana"]["ports"],
        serde_json::json!(["127.0.0.1:5602:5601"])
    );
    let ds = p.read("monitoring/grafana/provisioning/datasources/datasources.yml");
    assert!(ds.contains("basicAuthPassword: \"$__env{LOGS_GRAFANA_PASSWORD}\""));
    // Log lines with a trace id open the trace in Jaeger.
    let dsv = yaml(&ds);
    let es = dsv["datasources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["uid"] == "elasticsearch-logs")
        .unwrap();
    assert_eq!(es["jsonData"]["dataLinks"][0]["datasourceUid"], "jaeger");
    assert_eq!(es["jsonData"]["dataLinks"][0]["field"], "trace.id");
    let jaeger = dsv["datasources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["uid"] == "jaeger")
        .unwrap();
    assert_eq!(
        jaeger["jsonData"]["tracesToLogsV2"]["datasourceUid"],
        "elasticsearch-logs"
    );
    assert!(
        p.read("monitoring/filebeat/filebeat.yml")
            .contains("to: trace.id")
    );
    // Service dashboards show the service's logs from Elasticsearch.
    let board: serde_json::Value = serde_json::from_str(
        &p.read("monitoring/grafana/dashboards/services/ecommerce-svc-backend.json"),
    )
    .unwrap();
    let logs = board["panels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["type"] == "logs")
        .unwrap();
    assert_eq!(
        logs["targets"][0]["query"],
        "service.name:/backend/ AND environment:\"$environment\""
    );
}

#[test]
fn the_setup_script_is_valid_bash() {
    let p = Project::example("ecommerce");
    p.generate();
    let (code, out) = tool(
        Command::new("bash").args([
            "-n",
            p.path()
                .join("monitoring/elasticsearch/setup.sh")
                .to_str()
                .unwrap(),
        ]),
    );
    assert_eq!(code, 0, "{out}");
    // Without its passwords it stops before calling Elasticsearch.
    let (code, out) = tool(
        Command::new("bash")
            .arg(p.path().join("monitoring/elasticsearch/setup.sh"))
            .env_remove("ELASTIC_PASSWORD"),
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ELASTIC_PASSWORD must be set"), "{out}");
}

#[test]
fn component_uis_bind_to_loopback_and_images_are_pinned() {
    for name in ["ecommerce", "microservices-otel", "everything"] {
        let p = Project::example(name);
        p.generate();
        let c = compose(&p);
        for (svc, s) in c["services"].as_object().unwrap() {
            if let Some(image) = s["image"].as_str() {
                let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
                assert!(!tag.is_empty() && tag != "latest", "{name}: {svc}: {image}");
            }
        }
        for env in p.files_ending(".yaml") {
            if !env.starts_with("compose.") || env == "compose.yaml" {
                continue;
            }
            let o = yaml(&p.read(&env));
            for ui in ["kibana", "jaeger", "glitchtip", "minio"] {
                for port in o["services"][ui]["ports"].as_array().into_iter().flatten() {
                    assert!(
                        port.as_str().unwrap().starts_with("127.0.0.1:"),
                        "{name}: {env}: {ui}: {port}"
                    );
                }
            }
        }
    }
}

#[test]
fn obsgen_validate_checks_the_setup_script() {
    let p = Project::example("ecommerce");
    p.generate();
    let out = p.run(&["validate"]);
    assert!(
        out.stdout
            .contains("ok        Elasticsearch setup script syntax (bash -n)"),
        "{}",
        out.stdout
    );
    let rel = "monitoring/elasticsearch/setup.sh";
    p.write(rel, &p.read(rel).replace("done\n", "done {\n"));
    let out = p.run(&["validate"]).expect(1);
    assert!(
        out.stdout
            .contains("FAILED    Elasticsearch setup script syntax (bash -n)"),
        "{}",
        out.stdout
    );
}
