//! `helm/<chart>/values-<env>.yaml` of the environments in `own` mode: kube-prometheus-stack
//! (with the Alertmanager configuration of the same routing tree as Compose's) and the
//! blackbox exporter.

use serde_json::Value as Json;

use super::Out;
use super::monitoring::{BLACKBOX_SERVICE, FOLDER_ANNOTATION};
use super::objects::Labels;
use super::section::{Mode, Target};
use super::values::*;
use crate::model::Environment;

/// The Secret holding the Alertmanager receivers' credentials, one key per file.
pub fn alertmanager_secret(project: &str) -> String {
    format!("{project}-alertmanager")
}
/// The Secret holding Grafana's admin login.
pub fn grafana_secret(project: &str) -> String {
    format!("{project}-grafana-admin")
}
/// The Secret of the remote-write credentials.
pub fn remote_write_secret(project: &str) -> String {
    format!("{project}-remote-write")
}
/// Where the operator mounts Alertmanager's secrets.
const AM_SECRETS: &str = "/etc/alertmanager/secrets";

/// Rewrites the Compose secret paths of an Alertmanager configuration to where the operator
/// mounts the Secret's keys.
fn secret_paths(v: &mut Json, project: &str) {
    match v {
        Json::String(s) => {
            if let Some(rest) = s.strip_prefix("/run/secrets/") {
                *s = format!("{AM_SECRETS}/{}/{rest}", alertmanager_secret(project));
            }
        }
        Json::Array(a) => a.iter_mut().for_each(|x| secret_paths(x, project)),
        Json::Object(o) => o.values_mut().for_each(|x| secret_paths(x, project)),
        _ => {}
    }
}

/// The Alertmanager configuration of an environment, from the same routing tree and
/// receivers as its Compose `alertmanager.<env>.yml`.
pub fn alertmanager_config(
    m: &crate::model::Model,
    env: &Environment,
) -> Option<AlertmanagerConfig> {
    let am = m.alertmanager.as_ref()?;
    let e = env.alertmanager.as_ref()?;
    let routes: Vec<Json> = e
        .routes
        .iter()
        .map(|r| {
            let mut o = serde_json::Map::new();
            o.insert("matchers".into(), serde_json::json!(r.matchers));
            if let Some(rc) = &r.receiver {
                o.insert("receiver".into(), rc.clone().into());
            }
            o.insert("continue".into(), r.continue_.into());
            for (k, v) in [
                ("group_wait", &r.group_wait),
                ("group_interval", &r.group_interval),
                ("repeat_interval", &r.repeat_interval),
            ] {
                if let Some(v) = v {
                    o.insert(k.into(), v.clone().into());
                }
            }
            if let Some(g) = &r.group_by {
                o.insert("group_by".into(), serde_json::json!(g));
            }
            if !r.routes.is_empty() {
                o.insert(
                    "routes".into(),
                    r.routes
                        .iter()
                        .map(|l| serde_json::json!({"receiver": l.receiver, "continue": l.continue_}))
                        .collect(),
                );
            }
            Json::Object(o)
        })
        .collect();
    let route = serde_json::json!({
        "receiver": e.receiver,
        "group_by": e.group_by,
        "group_wait": e.group_wait,
        "group_interval": e.group_interval,
        "repeat_interval": e.repeat_interval,
        "routes": routes,
    });
    let receivers: Vec<Json> = am
        .receivers
        .iter()
        .map(|r| {
            let mut o = serde_json::Map::new();
            o.insert("name".into(), r.name.clone().into());
            for c in &r.configs {
                let mut cfg = serde_json::Map::new();
                for f in &c.fields {
                    cfg.insert(f.key.clone(), f.value.clone());
                }
                if let Some(cred) = &c.credentials_file {
                    cfg.insert(
                        "http_config".into(),
                        serde_json::json!({"authorization": {"type": "Bearer", "credentials_file": cred}}),
                    );
                }
                let list = o
                    .entry(c.key.clone())
                    .or_insert_with(|| Json::Array(Vec::new()));
                if let Json::Array(a) = list {
                    a.push(Json::Object(cfg));
                }
            }
            Json::Object(o)
        })
        .collect();
    let inhibit: Vec<Json> = am
        .inhibit_rules
        .iter()
        .map(|i| {
            serde_json::json!({
                "source_matchers": i.source_matchers,
                "target_matchers": i.target_matchers,
                "equal": i.equal,
            })
        })
        .collect();
    let mut route = route;
    let mut receivers = Json::Array(receivers);
    secret_paths(&mut route, &m.project);
    secret_paths(&mut receivers, &m.project);
    let Json::Array(receivers) = receivers else {
        unreachable!("an array")
    };
    Some(AlertmanagerConfig {
        global: Global {
            resolve_timeout: "5m".into(),
        },
        route,
        inhibit_rules: inhibit,
        receivers,
        templates: Vec::new(),
    })
}

/// kube-prometheus-stack's values of an environment (own mode).
pub fn stack_values(m: &crate::model::Model, t: &Target, env: &Environment) -> StackValues {
    let remote_write = m
        .remote_write
        .iter()
        .map(|r| {
            let key = |what: &str| SecretKey {
                name: remote_write_secret(&m.project),
                key: format!("{}-{what}", r.name),
            };
            RemoteWrite {
                name: r.name.clone(),
                url: r.url.clone(),
                basic_auth: r.basic_auth.as_ref().map(|_| BasicAuth {
                    username: key("username"),
                    password: key("password"),
                }),
                authorization: r.credentials_file.as_ref().map(|_| Authorization {
                    credentials: key("token"),
                }),
            }
        })
        .collect();
    let mut additional = Vec::new();
    if m.logging == crate::model::LogBackend::Loki {
        additional.push(DataSource {
            name: "Loki".into(),
            uid: crate::grafana::LOKI_UID.into(),
            kind: "loki".into(),
            url: format!("http://loki.{}.svc:3100", t.monitoring_namespace),
            access: "proxy".into(),
        });
    }
    let config = alertmanager_config(m, env).unwrap_or(AlertmanagerConfig {
        global: Global {
            resolve_timeout: "5m".into(),
        },
        route: serde_json::json!({"receiver": "null", "routes": []}),
        inhibit_rules: Vec::new(),
        receivers: vec![serde_json::json!({"name": "null"})],
        templates: Vec::new(),
    });
    StackValues {
        prometheus: PrometheusValues {
            prometheus_spec: PrometheusSpec {
                retention: env.retention_time.clone(),
                retention_size: env.retention_size.clone(),
                scrape_interval: env.scrape_interval.clone(),
                scrape_timeout: env.scrape_timeout.clone(),
                evaluation_interval: env.evaluation_interval.clone(),
                external_labels: Labels::from([
                    ("environment".to_string(), t.environment.clone()),
                    ("project".to_string(), m.project.clone()),
                ]),
                remote_write,
                secrets: Vec::new(),
            },
        },
        alertmanager: AlertmanagerValues {
            config,
            alertmanager_spec: AlertmanagerSpec {
                secrets: vec![alertmanager_secret(&m.project)],
            },
        },
        grafana: GrafanaValues {
            admin: GrafanaAdmin {
                existing_secret: grafana_secret(&m.project),
                user_key: "admin-user".into(),
                password_key: "admin-password".into(),
            },
            sidecar: Sidecar {
                dashboards: SidecarDashboards {
                    enabled: true,
                    label: "grafana_dashboard".into(),
                    label_value: "1".into(),
                    folder_annotation: FOLDER_ANNOTATION.into(),
                    provider: Provider {
                        folders_from_files_structure: true,
                    },
                },
                datasources: SidecarDatasources {
                    default_datasource_enabled: true,
                    uid: crate::grafana::PROMETHEUS_UID.into(),
                    alertmanager: SidecarAlertmanager {
                        uid: crate::grafana::ALERTMANAGER_UID.into(),
                    },
                },
            },
            additional_data_sources: additional,
        },
    }
}

/// The blackbox exporter's values: the module the Probes ask for, as in the Compose
/// `blackbox.yml`.
pub fn blackbox_values() -> BlackboxValues {
    BlackboxValues {
        config: BlackboxConfig {
            modules: serde_json::json!({
                "http_2xx": {
                    "prober": "http",
                    "timeout": "5s",
                    "http": {"preferred_ip_protocol": "ip4", "follow_redirects": true},
                }
            }),
        },
    }
}

/// `helm/<chart>/values-<env>.yaml` for the environments in own mode.
pub fn helm(out: &mut Out, targets: &[Target]) {
    let m = out.model;
    for (t, env) in targets.iter().zip(&m.environments) {
        if t.mode != Mode::Own {
            continue;
        }
        let c = KUBE_PROMETHEUS_STACK;
        out.put(
            format!("helm/{}/values-{}.yaml", c.name, t.environment),
            &format!(
                "Values of chart {} {} ({}) for environment \"{}\", release {} in namespace {}.\nalertmanager.config sets every top-level key: Helm's deep merge keeps nothing of the chart's default.",
                c.name, c.version, c.repository, t.environment, t.release, t.monitoring_namespace
            ),
            &stack_values(m, t, env),
        );
        if m.logging == crate::model::LogBackend::Loki {
            for (c, about, text) in [
                (
                    LOKI,
                    "Loki: one binary, filesystem storage, the [logging] retention.",
                    super::yaml(&loki_values(m)),
                ),
                (
                    ALLOY,
                    "Grafana Alloy: the pod logs of the environment's namespace to Loki, labelled\nservice, namespace, pod, container and environment.",
                    super::yaml(&alloy_values(t)),
                ),
            ] {
                let text = format!(
                    "# {}\n# Values of chart {} {} ({}) for environment \"{}\", release {} in namespace {}.\n# {}\n{text}",
                    out.header,
                    c.name,
                    c.version,
                    c.repository,
                    t.environment,
                    c.name,
                    t.monitoring_namespace,
                    about.replace('\n', "\n# ")
                );
                out.put_text(
                    format!("helm/{}/values-{}.yaml", c.name, t.environment),
                    text,
                );
            }
        }
        if m.components.blackbox {
            let c = BLACKBOX_EXPORTER;
            out.put(
                format!("helm/{}/values-{}.yaml", c.name, t.environment),
                &format!(
                    "Values of chart {} {} ({}) for environment \"{}\", release {} in namespace {}.",
                    c.name, c.version, c.repository, t.environment, BLACKBOX_SERVICE, t.monitoring_namespace
                ),
                &blackbox_values(),
            );
        }
    }
}

/// Loki's values: one binary with filesystem storage and the `[logging]` retention.
pub fn loki_values(m: &crate::model::Model) -> LokiValues {
    LokiValues {
        deployment_mode: "Monolithic".into(),
        loki: LokiConfig {
            auth_enabled: false,
            common_config: LokiCommon {
                replication_factor: 1,
            },
            storage: LokiStorage {
                kind: "filesystem".into(),
            },
            schema_config: serde_json::json!({"configs": [{
                "from": "2024-04-01",
                "store": "tsdb",
                "object_store": "filesystem",
                "schema": "v13",
                "index": {"prefix": "index_", "period": "24h"},
            }]}),
            structured_config: serde_json::json!({
                "limits_config": {"retention_period": format!("{}h", m.addons.log_retention_hours)},
                "compactor": {"retention_enabled": true, "delete_request_store": "filesystem"},
            }),
        },
        single_binary: Replicas { replicas: 1 },
    }
}

/// The Alloy configuration of an environment: its namespace's pod logs to Loki, with the
/// labels of the Compose pipeline (`service`, `container`, `environment`) and the pod's.
pub fn alloy_config(t: &Target) -> String {
    let q = crate::quote::yaml_str;
    format!(
        r#"discovery.kubernetes "pods" {{
  role = "pod"

  namespaces {{
    names = [{ns}]
  }}
}}

discovery.relabel "pods" {{
  targets = discovery.kubernetes.pods.targets

  rule {{
    source_labels = ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    target_label  = "service"
  }}

  rule {{
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }}

  rule {{
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }}

  rule {{
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }}

  rule {{
    target_label = "environment"
    replacement  = {env}
  }}
}}

loki.source.kubernetes "pods" {{
  targets    = discovery.relabel.pods.output
  forward_to = [loki.write.loki.receiver]
}}

loki.write "loki" {{
  endpoint {{
    url = {url}
  }}
}}
"#,
        ns = q(&t.namespace),
        env = q(&t.environment),
        url = q(&format!(
            "http://loki.{}.svc:3100/loki/api/v1/push",
            t.monitoring_namespace
        )),
    )
}

/// Alloy's values: one replica (it reads logs through the API: more would ship them twice).
pub fn alloy_values(t: &Target) -> AlloyValues {
    AlloyValues {
        alloy: AlloySettings {
            config_map: AlloyConfigMap {
                create: true,
                content: alloy_config(t),
            },
        },
        controller: AlloyController {
            kind: "deployment".into(),
            replicas: 1,
        },
    }
}
