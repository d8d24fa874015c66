//! `gitops/<env>/`: Argo CD Applications (server-side apply) or Flux GitRepository,
//! HelmRepository, HelmRelease and Kustomizations of every environment.

use super::helm::{alloy_values, blackbox_values, loki_values, stack_values};
use super::monitoring::BLACKBOX_SERVICE;
use super::objects::*;
use super::section::{Gitops, Kubernetes, Mode, Target};
use super::values::*;
use super::{Out, base_labels, meta};

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
            if m.logging == crate::model::LogBackend::Loki {
                charts.push((
                    LOKI,
                    LOKI.name.into(),
                    serde_json::to_value(loki_values(m)).expect("values"),
                ));
                charts.push((
                    ALLOY,
                    ALLOY.name.into(),
                    serde_json::to_value(alloy_values(t)).expect("values"),
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
