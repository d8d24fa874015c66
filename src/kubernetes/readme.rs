//! `deploy/kubernetes/README.md`: install order, the secrets to create, the checks.

use super::helm::{alertmanager_secret, grafana_secret, remote_write_secret};
use super::section::{Gitops, Kubernetes, Mode, Target};
use super::values::{ALLOY, BLACKBOX_EXPORTER, KUBE_PROMETHEUS_STACK, LOKI};
use super::{Out, ROOT};

pub fn build(out: &mut Out, k: &Kubernetes, targets: &[Target]) {
    let m = out.model;
    let mut s = format!("<!-- {} -->\n\n", out.header);
    s.push_str(&format!(
        "# {} on Kubernetes\n\nWritten by obsgen from the same assembled stack as the Compose files: the\nsame scrape jobs (as ServiceMonitors and Probes), the same rule groups (as\nPrometheusRules), the same dashboards (as ConfigMaps for the Grafana sidecar).\nSee docs/kubernetes.md of obsgen for what differs from Compose.\n\n",
        m.project
    ));
    s.push_str("| environment | namespace | mode | release | monitoring namespace | GitOps |\n|---|---|---|---|---|---|\n");
    for t in targets {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            t.environment,
            t.namespace,
            match t.mode {
                Mode::Shared => "shared",
                Mode::Own => "own",
            },
            t.release,
            t.monitoring_namespace,
            match t.gitops {
                Gitops::Argocd => "Argo CD",
                Gitops::Flux => "Flux",
                Gitops::None => "none",
            }
        ));
    }
    s.push_str("\n## Install order\n\n");
    for t in targets {
        s.push_str(&format!("### {}\n\n```sh\n", t.environment));
        s.push_str(&format!(
            "kubectl create namespace {} --dry-run=client -o yaml | kubectl apply -f -\n",
            t.namespace
        ));
        if t.mode == Mode::Own {
            let c = KUBE_PROMETHEUS_STACK;
            s.push_str(&format!(
                "helm repo add prometheus-community {}\nhelm upgrade --install {} prometheus-community/{} --version {} \\\n  --namespace {} --create-namespace -f {ROOT}/helm/{}/values-{}.yaml\n",
                c.repository, t.release, c.name, c.version, t.monitoring_namespace, c.name, t.environment
            ));
            if m.logging == crate::model::LogBackend::Loki {
                s.push_str(&format!(
                    "helm repo add grafana-community {}\nhelm repo add grafana {}\n",
                    LOKI.repository, ALLOY.repository
                ));
                for (repo, c) in [("grafana-community", LOKI), ("grafana", ALLOY)] {
                    s.push_str(&format!(
                        "helm upgrade --install {} {repo}/{} --version {} \\\n  --namespace {} -f {ROOT}/helm/{}/values-{}.yaml\n",
                        c.name, c.name, c.version, t.monitoring_namespace, c.name, t.environment
                    ));
                }
            }
            if m.components.blackbox {
                let b = BLACKBOX_EXPORTER;
                s.push_str(&format!(
                    "helm upgrade --install {} prometheus-community/{} --version {} \\\n  --namespace {} -f {ROOT}/helm/{}/values-{}.yaml\n",
                    b.name, b.name, b.version, t.monitoring_namespace, b.name, t.environment
                ));
            }
        }
        if m.provisioning.is_some() {
            s.push_str(&format!(
                "kubectl apply --server-side -k {ROOT}/dashboards/{}\n",
                t.monitoring_namespace
            ));
        }
        s.push_str(&format!(
            "kubectl apply --server-side -k {ROOT}/monitoring/{}\n",
            t.environment
        ));
        if k.workloads {
            s.push_str(&format!(
                "kubectl apply --server-side -k {ROOT}/apps/overlays/{}\n",
                t.environment
            ));
        }
        s.push_str("```\n\n");
        if t.gitops != Gitops::None {
            s.push_str(&format!(
                "With GitOps, apply `{ROOT}/gitops/{}/` once instead; it applies the rest.\n\n",
                t.environment
            ));
        }
    }
    s.push_str("## Secrets to create\n\n");
    let own = targets.iter().any(|t| t.mode == Mode::Own);
    if own {
        s.push_str(&format!(
            "In each monitoring namespace of an `own` environment:\n\n- `{}`: keys `admin-user` and `admin-password` (Grafana's admin login);\n",
            grafana_secret(&m.project)
        ));
        let keys: Vec<String> = m
            .secrets
            .iter()
            .filter(|x| x.path.starts_with("/run/secrets/") && m.alertmanager.is_some())
            .filter(|x| {
                m.alertmanager.as_ref().is_some_and(|a| {
                    a.receivers.iter().flat_map(|r| &r.configs).any(|c| {
                        c.credentials_file.as_deref() == Some(x.path.as_str())
                            || c.fields
                                .iter()
                                .any(|f| f.value == serde_json::json!(x.path))
                    })
                })
            })
            .map(|x| format!("`{}`", x.path.trim_start_matches("/run/secrets/")))
            .collect();
        if !keys.is_empty() {
            s.push_str(&format!(
                "- `{}`: keys {} (the receivers' credentials, mounted as files);\n",
                alertmanager_secret(&m.project),
                keys.join(", ")
            ));
        }
        if !m.remote_write.is_empty() {
            s.push_str(&format!(
                "- `{}`: keys `<endpoint>-username`, `<endpoint>-password` or `<endpoint>-token` of each remote-write endpoint;\n",
                remote_write_secret(&m.project)
            ));
        }
        s.push('\n');
    }
    if k.workloads && m.services.iter().any(|x| !x.env_refs.is_empty()) {
        s.push_str(&format!(
            "In each environment's namespace: `{}-env`, one key per `${{NAME}}` the services' `env` references.\n\n",
            m.project
        ));
    }
    if targets.iter().any(|t| t.mode == Mode::Shared) {
        s.push_str("## Shared mode: what the cluster's stack must do\n\n- select ServiceMonitors, Probes and PrometheusRules by the `release` label (the chart's default);\n- run a blackbox exporter as `prometheus-blackbox-exporter` in the monitoring namespace with the `http_2xx` module;\n- route alerts centrally: obsgen writes no AlertmanagerConfig (its operator-added `namespace` matcher would drop the aggregated and SLO alerts, which carry no `namespace` label). Route on `environment` and `service` in the cluster's Alertmanager configuration;\n- load dashboards with the sidecar (`grafana_dashboard: \"1\"`), with `sidecar.dashboards.folderAnnotation: grafana_folder` for the folders.\n\n");
    }
    s.push_str(&format!(
        "## Checks\n\n```sh\nkubectl kustomize {ROOT}/monitoring/<env>\nkubectl kustomize {ROOT}/dashboards/<monitoring namespace>\n"
    ));
    if k.workloads {
        s.push_str(&format!("kubectl kustomize {ROOT}/apps/overlays/<env>\n"));
    }
    s.push_str("obsgen check   # every file here is as obsgen writes it\n```\n");
    out.put_text("README.md".into(), s);
}
