//! `monitoring/<env>/` (ServiceMonitors, Probes, PrometheusRules), `dashboards/<ns>/`
//! (dashboard ConfigMaps, once per Grafana), `helm/` (own mode) and `gitops/`.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::objects::*;
use super::section::{Gitops, Kubernetes, Mode, Target};
use super::values::*;
use super::{Out, base_labels, meta};
use crate::model::Environment;
use crate::model::rules::RuleFile;

/// The blackbox exporter's Service, as the prometheus-blackbox-exporter chart names it for a
/// release of the same name.
pub const BLACKBOX_SERVICE: &str = "prometheus-blackbox-exporter";
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
/// The Grafana sidecar's folder annotation.
pub const FOLDER_ANNOTATION: &str = "grafana_folder";

/// Labels of a monitoring object: the project's and `release`, which the chart's
/// Prometheus selects ServiceMonitors, Probes and PrometheusRules by.
fn monitoring_labels(project: &str, release: &str) -> Labels {
    let mut l = base_labels(project);
    l.insert("release".into(), release.into());
    l
}

/// The rule files that go to the cluster as they are: the services', the SLOs', the
/// databases' and the manifest's own. The stack's own (Prometheus, Alertmanager, node)
/// are the chart's; the containers' have a Kubernetes variant.
pub fn is_shared_rule_file(name: &str) -> bool {
    name == "services"
        || name == "custom"
        || name.starts_with("slo-")
        || name.starts_with("database-")
}

fn groups(r: &RuleFile) -> Vec<RuleGroup> {
    r.groups
        .iter()
        .map(|g| RuleGroup {
            name: g.name.clone(),
            rules: g
                .rules
                .iter()
                .map(|r| Rule {
                    record: r.record.clone(),
                    alert: r.alert.clone(),
                    expr: r.expr.clone(),
                    for_: r.for_.clone(),
                    labels: r.labels.clone(),
                    annotations: r.annotations.clone(),
                })
                .collect(),
        })
        .collect()
}

fn relabel(label: &str, value: &str) -> Relabeling {
    Relabeling {
        source_labels: Vec::new(),
        target_label: label.into(),
        replacement: Some(value.into()),
        action: "replace".into(),
    }
}

/// The objects of one environment under `monitoring/<env>/`.
pub fn environment(out: &mut Out, t: &Target, env: &Environment) {
    let m = out.model;
    let project = m.project.clone();
    let ns = t.namespace.as_str();
    let labels = monitoring_labels(&project, &t.release);
    let dir = format!("monitoring/{}", t.environment);
    let mut resources = Vec::new();
    let monitor = |out: &mut Out, name: &str, service: &str, port: &str, path: &str| {
        let mut selector = base_labels(&project);
        selector.remove(super::MANAGED_BY.0);
        selector.insert(super::NAME.into(), name.into());
        let sm = Object {
            api_version: "monitoring.coreos.com/v1".into(),
            kind: "ServiceMonitor".into(),
            metadata: meta(name, Some(ns), labels.clone()),
            spec: ServiceMonitorSpec {
                selector: Selector {
                    match_labels: selector,
                },
                namespace_selector: NamespaceSelector {
                    match_names: vec![ns.into()],
                },
                endpoints: vec![Endpoint {
                    port: port.into(),
                    path: path.into(),
                    interval: env.scrape_interval.clone(),
                    scrape_timeout: env.scrape_timeout.clone(),
                    relabelings: vec![
                        relabel("job", name),
                        relabel("service", service),
                        relabel("environment", &t.environment),
                    ],
                }],
            },
        };
        let file = format!("servicemonitor-{name}.yaml");
        out.put(
            format!("{dir}/{file}"),
            &format!("Scrapes `{name}` in namespace {ns} as job `{name}` (the Compose job name)."),
            &sm,
        );
        file
    };
    for s in &m.services {
        let Some(metrics) = &s.metrics else { continue };
        let port = if metrics.port == s.port {
            "http"
        } else {
            "metrics"
        };
        resources.push(monitor(out, &s.name, &s.name, port, &metrics.path));
    }
    for d in &m.databases {
        let name = format!("{}-exporter", d.name);
        resources.push(monitor(out, &name, &d.name, "metrics", "/metrics"));
    }
    if m.components.blackbox {
        for s in &m.services {
            let Some(health) = &s.health else { continue };
            let probe = Object {
                api_version: "monitoring.coreos.com/v1".into(),
                kind: "Probe".into(),
                metadata: meta(&s.name, Some(ns), labels.clone()),
                spec: ProbeSpec {
                    job_name: "probe".into(),
                    interval: env.scrape_interval.clone(),
                    scrape_timeout: env.scrape_timeout.clone(),
                    module: "http_2xx".into(),
                    prober: Prober {
                        url: format!("{BLACKBOX_SERVICE}.{}.svc:9115", t.monitoring_namespace),
                    },
                    targets: ProbeTargets {
                        static_config: StaticConfig {
                            targets: vec![format!("http://{}.{ns}.svc:{}{health}", s.name, s.port)],
                            labels: Labels::from([
                                ("environment".to_string(), t.environment.clone()),
                                ("service".to_string(), s.name.clone()),
                            ]),
                        },
                    },
                },
            };
            let file = format!("probe-{}.yaml", s.name);
            out.put(
                format!("{dir}/{file}"),
                &format!("Probes the health endpoint of `{}` through the blackbox exporter (job `probe`).", s.name),
                &probe,
            );
            resources.push(file);
        }
    }
    let rule = |out: &mut Out, r: &RuleFile, about: &str| {
        let name = format!("{project}-{}", r.name);
        let obj = Object {
            api_version: "monitoring.coreos.com/v1".into(),
            kind: "PrometheusRule".into(),
            metadata: meta(&name, Some(ns), labels.clone()),
            spec: PrometheusRuleSpec { groups: groups(r) },
        };
        let file = format!("prometheusrule-{}.yaml", r.name);
        out.put(format!("{dir}/{file}"), about, &obj);
        file
    };
    for r in m.rules.iter().filter(|r| is_shared_rule_file(&r.name)) {
        let about = format!(
            "Alert and recording rules of {}: spec.groups are the groups of\nmonitoring/prometheus/rules/{}.yml, tested by monitoring/prometheus/tests/{}.test.yml.",
            r.about, r.name, r.name
        );
        resources.push(rule(out, r, &about));
    }
    if m.components.cadvisor {
        let r = crate::components::cadvisor::rules::kubernetes(ns);
        let about = format!(
            "The containers' alerts on Kubernetes (the kubelet's cAdvisor, namespace {ns}),\ntested by tests/containers.test.yml."
        );
        resources.push(rule(out, &r, &about));
        out.tests.push((
            format!("{}/{dir}/tests/containers.test.yml", super::ROOT),
            r,
        ));
    }
    resources.sort();
    let k = Kustomization {
        api_version: "kustomize.config.k8s.io/v1beta1".into(),
        kind: "Kustomization".into(),
        namespace: None,
        resources,
        patches: Vec::new(),
    };
    out.put(
        format!("{dir}/kustomization.yaml"),
        &format!("Monitoring objects of environment \"{}\" (namespace {ns}); every object names its namespace itself.", t.environment),
        &k,
    );
}

/// The dashboard JSON for Kubernetes: as it is when it does not read the runtime; with its
/// container panels reading the kubelet's cAdvisor by namespace and container otherwise.
/// `None` for the dashboards the chart brings its own of (host, containers, monitoring).
pub fn dashboard_json(
    d: &crate::model::Dashboard,
    services: &[crate::model::Service],
    project: &str,
    namespaces: &[String],
) -> Option<String> {
    if matches!(d.kind.as_str(), "host" | "containers" | "monitoring") {
        return None;
    }
    if !d.json.contains("job=\\\"cadvisor\\\"") {
        return Some(d.json.clone());
    }
    let re = regex::Regex::new(&format!(
        r#"job="cadvisor",environment="\$environment",name=~"{}\[-_\]\((.*?)\)\[-_\]\[0-9\]\+""#,
        regex::escape(project)
    ))
    .expect("valid regex");
    let ns = namespaces.join("|");
    let rewrite = |s: &str| -> String {
        let s = re.replace_all(s, |c: &regex::Captures| {
            let mut containers: Vec<String> = Vec::new();
            for alt in c[1].split('|') {
                let name = alt
                    .strip_suffix("(-[0-9]+)?")
                    .map(str::to_string)
                    .or_else(|| {
                        services
                            .iter()
                            .find(|s| s.replicas.iter().any(|r| r == alt))
                            .map(|s| s.name.clone())
                    })
                    .unwrap_or_else(|| alt.to_string());
                if !containers.contains(&name) {
                    containers.push(name);
                }
            }
            format!(
                "job=\"kubelet\",metrics_path=\"/metrics/cadvisor\",namespace=~\"{ns}\",container=~\"{}\"",
                containers.join("|")
            )
        });
        s.replace("by (name)", "by (namespace, pod)")
            .replace("{{name}}", "{{namespace}}/{{pod}}")
    };
    fn walk(v: &mut Json, f: &dyn Fn(&str) -> String) {
        match v {
            Json::String(s) => *s = f(s),
            Json::Array(a) => a.iter_mut().for_each(|x| walk(x, f)),
            Json::Object(o) => o.values_mut().for_each(|x| walk(x, f)),
            _ => {}
        }
    }
    let mut v = d.value.clone();
    walk(&mut v, &rewrite);
    let mut text = serde_json::to_string_pretty(&v).expect("JSON");
    text.push('\n');
    Some(text)
}

/// The stem of a dashboard's file name (`shop-svc-backend`).
pub fn dashboard_name(d: &crate::model::Dashboard) -> String {
    let file = d.path.rsplit('/').next().unwrap_or(&d.path);
    file.strip_suffix(".json").unwrap_or(file).to_string()
}

/// Dashboard ConfigMaps, once per Grafana (monitoring namespace).
pub fn dashboards(out: &mut Out, targets: &[Target]) {
    let m = out.model;
    let Some(g) = &m.provisioning else { return };
    let mut grafanas: BTreeMap<&str, Vec<&Target>> = BTreeMap::new();
    for t in targets {
        grafanas.entry(&t.monitoring_namespace).or_default().push(t);
    }
    for (mns, ts) in grafanas {
        let namespaces: Vec<String> = ts.iter().map(|t| t.namespace.clone()).collect();
        let release = &ts[0].release;
        let dir = format!("dashboards/{mns}");
        let mut resources = Vec::new();
        for d in &g.dashboards {
            let Some(json) = dashboard_json(d, &m.services, &m.project, &namespaces) else {
                continue;
            };
            let name = dashboard_name(d);
            let mut labels = monitoring_labels(&m.project, release);
            labels.insert("grafana_dashboard".into(), "1".into());
            let mut md = meta(&name, Some(mns), labels);
            md.annotations
                .insert(FOLDER_ANNOTATION.into(), d.folder.clone());
            let cm = ConfigMap {
                api_version: "v1".into(),
                kind: "ConfigMap".into(),
                metadata: md,
                data: BTreeMap::from([(format!("{name}.json"), json)]),
            };
            let file = format!("configmap-{name}.yaml");
            let same = if d.json.contains("job=\\\"cadvisor\\\"") {
                "its container panels read the kubelet's cAdvisor by namespace and container"
            } else {
                "byte for byte the Compose dashboard"
            };
            out.put(
                format!("{dir}/{file}"),
                &format!("Grafana dashboard \"{}\" for the sidecar of the Grafana in {mns}: {same}\n({}).", d.title, d.path),
                &cm,
            );
            resources.push(file);
        }
        resources.sort();
        let k = Kustomization {
            api_version: "kustomize.config.k8s.io/v1beta1".into(),
            kind: "Kustomization".into(),
            namespace: None,
            resources,
            patches: Vec::new(),
        };
        out.put(
            format!("{dir}/kustomization.yaml"),
            &format!("Dashboards of the Grafana in namespace {mns}."),
            &k,
        );
    }
}

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

fn sync_policy() -> SyncPolicy {
    SyncPolicy {
        automated: Automated {
            prune: true,
            self_heal: true,
        },
        sync_options: vec!["ServerSideApply=true".into(), "CreateNamespace=true".into()],
    }
}

fn application(
    project: &str,
    name: &str,
    sources: Vec<AppSource>,
    namespace: &str,
) -> Object<ApplicationSpec> {
    Object {
        api_version: "argoproj.io/v1alpha1".into(),
        kind: "Application".into(),
        metadata: meta(name, Some("argocd"), base_labels(project)),
        spec: ApplicationSpec {
            project: "default".into(),
            sources,
            destination: Destination {
                server: "https://kubernetes.default.svc".into(),
                namespace: namespace.into(),
            },
            sync_policy: sync_policy(),
        },
    }
}

/// `gitops/<env>/`: Argo CD Applications or Flux objects of every environment.
pub fn gitops(out: &mut Out, k: &Kubernetes, targets: &[Target]) {
    let m = out.model;
    let Some(repo) = &k.repository else { return };
    let rev = k.revision();
    let project = m.project.clone();
    for (t, env) in targets.iter().zip(&m.environments) {
        let dir = format!("gitops/{}", t.environment);
        // What to apply, in order: (name, file name, path below deploy/kubernetes,
        // namespace). The dashboards are the Grafana's: environments sharing it write the
        // same object.
        let mut paths: Vec<(String, &str, String, String)> = Vec::new();
        if m.provisioning.is_some() {
            paths.push((
                format!("{project}-dashboards-{}", t.monitoring_namespace),
                "dashboards",
                format!("dashboards/{}", t.monitoring_namespace),
                t.monitoring_namespace.clone(),
            ));
        }
        paths.push((
            format!("{project}-{}-monitoring", t.environment),
            "monitoring",
            format!("monitoring/{}", t.environment),
            t.namespace.clone(),
        ));
        if k.workloads {
            paths.push((
                format!("{project}-{}-apps", t.environment),
                "apps",
                format!("apps/overlays/{}", t.environment),
                t.namespace.clone(),
            ));
        }
        let mut charts: Vec<(Chart, String, serde_json::Value)> = Vec::new();
        if t.mode == Mode::Own {
            charts.push((
                KUBE_PROMETHEUS_STACK,
                t.release.clone(),
                serde_json::to_value(stack_values(m, t, env)).expect("values"),
            ));
            if m.components.blackbox {
                charts.push((
                    BLACKBOX_EXPORTER,
                    BLACKBOX_SERVICE.into(),
                    serde_json::to_value(blackbox_values()).expect("values"),
                ));
            }
        }
        match t.gitops {
            Gitops::None => {}
            Gitops::Argocd => {
                for (c, release, _) in &charts {
                    let app = application(
                        &project,
                        &format!("{project}-{}-{}", t.environment, c.name),
                        vec![
                            AppSource {
                                repo_url: c.repository.into(),
                                target_revision: c.version.into(),
                                path: None,
                                chart: Some(c.name.into()),
                                reference: None,
                                helm: Some(AppHelm {
                                    release_name: release.clone(),
                                    value_files: vec![format!(
                                        "$values/{}/helm/{}/values-{}.yaml",
                                        super::ROOT,
                                        c.name,
                                        t.environment
                                    )],
                                }),
                            },
                            AppSource {
                                repo_url: repo.clone(),
                                target_revision: rev.into(),
                                path: None,
                                chart: None,
                                reference: Some("values".into()),
                                helm: None,
                            },
                        ],
                        &t.monitoring_namespace,
                    );
                    out.put(
                        format!("{dir}/application-{}.yaml", c.name),
                        &format!("Argo CD: chart {} {} with the values of environment \"{}\" (server-side apply: the CRDs are too large for client-side).", c.name, c.version, t.environment),
                        &app,
                    );
                }
                for (name, short, path, ns) in &paths {
                    let app = application(
                        &project,
                        name,
                        vec![AppSource {
                            repo_url: repo.clone(),
                            target_revision: rev.into(),
                            path: Some(format!("{}/{path}", super::ROOT)),
                            chart: None,
                            reference: None,
                            helm: None,
                        }],
                        ns,
                    );
                    out.put(
                        format!("{dir}/application-{short}.yaml"),
                        &format!("Argo CD: {}/{path} (server-side apply).", super::ROOT),
                        &app,
                    );
                }
            }
            Gitops::Flux => {
                let source = project.clone();
                let git = Object {
                    api_version: "source.toolkit.fluxcd.io/v1".into(),
                    kind: "GitRepository".into(),
                    metadata: meta(&source, Some("flux-system"), base_labels(&project)),
                    spec: RepositorySpec {
                        interval: "5m".into(),
                        url: repo.clone(),
                        reference: Some(GitRef { branch: rev.into() }),
                    },
                };
                out.put(
                    format!("{dir}/gitrepository.yaml"),
                    "Flux: the repository holding deploy/kubernetes/.",
                    &git,
                );
                for (c, release, values) in &charts {
                    let hr = Object {
                        api_version: "source.toolkit.fluxcd.io/v1".into(),
                        kind: "HelmRepository".into(),
                        metadata: meta(c.name, Some("flux-system"), base_labels(&project)),
                        spec: RepositorySpec {
                            interval: "1h".into(),
                            url: c.repository.into(),
                            reference: None,
                        },
                    };
                    out.put(
                        format!("{dir}/helmrepository-{}.yaml", c.name),
                        &format!("Flux: the chart repository of {}.", c.name),
                        &hr,
                    );
                    let rel = Object {
                        api_version: "helm.toolkit.fluxcd.io/v2".into(),
                        kind: "HelmRelease".into(),
                        metadata: meta(
                            &format!("{project}-{}-{}", t.environment, c.name),
                            Some("flux-system"),
                            base_labels(&project),
                        ),
                        spec: HelmReleaseSpec {
                            interval: "10m".into(),
                            release_name: release.clone(),
                            target_namespace: t.monitoring_namespace.clone(),
                            chart: HelmChart {
                                spec: HelmChartSpec {
                                    chart: c.name.into(),
                                    version: c.version.into(),
                                    source_ref: SourceRef {
                                        kind: "HelmRepository".into(),
                                        name: c.name.into(),
                                        namespace: Some("flux-system".into()),
                                    },
                                },
                            },
                            install: HelmInstall {
                                create_namespace: true,
                            },
                            values: values.clone(),
                        },
                    };
                    out.put(
                        format!("{dir}/helmrelease-{}.yaml", c.name),
                        &format!(
                            "Flux: chart {} {} with the values of helm/{}/values-{}.yaml.",
                            c.name, c.version, c.name, t.environment
                        ),
                        &rel,
                    );
                }
                for (name, short, path, _) in &paths {
                    let ks = Object {
                        api_version: "kustomize.toolkit.fluxcd.io/v1".into(),
                        kind: "Kustomization".into(),
                        metadata: meta(name, Some("flux-system"), base_labels(&project)),
                        spec: FluxKustomizationSpec {
                            interval: "10m".into(),
                            path: format!("./{}/{path}", super::ROOT),
                            prune: true,
                            source_ref: SourceRef {
                                kind: "GitRepository".into(),
                                name: source.clone(),
                                namespace: None,
                            },
                            depends_on: Vec::new(),
                        },
                    };
                    out.put(
                        format!("{dir}/kustomization-{short}.yaml"),
                        &format!("Flux: applies {}/{path}.", super::ROOT),
                        &ks,
                    );
                }
            }
        }
    }
}
