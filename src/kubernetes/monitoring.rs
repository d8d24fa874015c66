//! `monitoring/<env>/` (ServiceMonitors, Probes, PrometheusRules) and `dashboards/<ns>/`
//! (dashboard ConfigMaps, once per Grafana).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::objects::*;
use super::section::Target;
use super::{Out, base_labels, meta};
use crate::model::Environment;
use crate::model::rules::RuleFile;

/// The blackbox exporter's Service, as the prometheus-blackbox-exporter chart names it for a
/// release of the same name.
pub const BLACKBOX_SERVICE: &str = "prometheus-blackbox-exporter";
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
        let r =
            crate::components::cadvisor::rules::kubernetes(ns, m.alerts.levels.container_memory);
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
