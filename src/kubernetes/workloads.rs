//! `apps/base` + `apps/overlays/<env>` (opt-in, `workloads = true`): a Deployment, Service,
//! NetworkPolicy, and for replicated services a PodDisruptionBudget and a
//! HorizontalPodAutoscaler, per service; each environment's overlay sets the namespace and
//! the resources of the same limits as Compose.

use super::objects::*;
use super::section::Target;
use super::{NAME, Out, base_labels, meta};
use crate::model::{Environment, Limits, Service};

/// The uid containers run as when the manifest names no numeric `user` (nobody).
const DEFAULT_UID: u32 = 65534;

fn selector(project: &str, name: &str) -> Labels {
    Labels::from([
        (NAME.to_string(), name.to_string()),
        (super::PART_OF.to_string(), project.to_string()),
    ])
}

fn labels(project: &str, name: &str) -> Labels {
    let mut l = base_labels(project);
    l.insert(NAME.into(), name.into());
    l
}

/// Numeric `uid[:gid]` of a `user`, if it is one.
fn ids(user: Option<&str>) -> (u32, u32) {
    let Some(u) = user else {
        return (DEFAULT_UID, DEFAULT_UID);
    };
    let (uid, gid) = u.split_once(':').unwrap_or((u, u));
    match (uid.parse::<u32>(), gid.parse::<u32>()) {
        (Ok(uid), Ok(gid)) if uid != 0 => (uid, gid),
        _ => (DEFAULT_UID, DEFAULT_UID),
    }
}

/// `${NAME}`, `${NAME:-x}`, `${NAME-x}` → Kubernetes' `$(NAME)`; the names referenced.
fn env_value(value: &str) -> (String, Vec<String>) {
    let re = regex::Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-[^}]*)?\}").expect("regex");
    let mut names = Vec::new();
    let text = re
        .replace_all(value, |c: &regex::Captures| {
            names.push(c[1].to_string());
            format!("$({})", &c[1])
        })
        .into_owned();
    (text, names)
}

/// The Secret the services' `${NAME}` references are read from.
pub fn env_secret(project: &str) -> String {
    format!("{project}-env")
}

fn container(project: &str, s: &Service) -> Container {
    let mut ports = vec![ContainerPort {
        name: "http".into(),
        container_port: s.port,
        protocol: "TCP".into(),
    }];
    if let Some(m) = &s.metrics
        && m.port != s.port
    {
        ports.push(ContainerPort {
            name: "metrics".into(),
            container_port: m.port,
            protocol: "TCP".into(),
        });
    }
    let mut env: Vec<EnvVar> = Vec::new();
    let mut refs: Vec<String> = Vec::new();
    let mut plain = Vec::new();
    for (k, v) in &s.env {
        let (text, names) = env_value(v);
        for n in names {
            if !refs.contains(&n) {
                refs.push(n);
            }
        }
        plain.push(EnvVar {
            name: k.clone(),
            value: Some(text),
            value_from: None,
        });
    }
    for n in refs {
        env.push(EnvVar {
            name: n.clone(),
            value: None,
            value_from: Some(EnvSource {
                secret_key_ref: KeyRef {
                    name: env_secret(project),
                    key: n,
                },
            }),
        });
    }
    env.extend(plain);
    let probe = s.health.as_ref().map(|h| HttpProbe {
        http_get: HttpGet {
            path: h.clone(),
            port: "http".into(),
        },
        period_seconds: 10,
        timeout_seconds: 5,
        failure_threshold: 3,
    });
    let mut mounts = Vec::new();
    if s.hardening.read_only {
        let mut paths = s.hardening.tmpfs.clone();
        if !paths.iter().any(|p| p == "/tmp") {
            paths.insert(0, "/tmp".into());
        }
        for (i, p) in paths.iter().enumerate() {
            mounts.push(VolumeMount {
                name: format!("tmp-{i}"),
                mount_path: p.clone(),
            });
        }
    }
    let image = s.image.clone().unwrap_or_else(|| s.name.clone());
    Container {
        name: s.name.clone(),
        image,
        image_pull_policy: "Always".into(),
        args: s.command.clone(),
        ports,
        env,
        resources: None,
        liveness_probe: probe.clone(),
        readiness_probe: probe,
        security_context: ContainerSecurityContext {
            allow_privilege_escalation: false,
            read_only_root_filesystem: s.hardening.read_only,
            run_as_non_root: true,
            capabilities: Capabilities {
                drop: vec!["ALL".into()],
                add: s.hardening.cap_add.clone(),
            },
        },
        volume_mounts: mounts,
    }
}

/// Compose's `cpus` (`"0.5"`) as Kubernetes CPU (`500m`).
fn cpu(cpus: &str) -> String {
    let milli = (cpus.parse::<f64>().unwrap_or(1.0) * 1000.0).round() as u64;
    format!("{}m", milli.max(1))
}

/// Compose's memory (`"512M"`, `"1G"`; binary units as Docker reads them) as Kubernetes'.
fn memory(mem: &str) -> String {
    let (num, unit) = mem.split_at(
        mem.find(|c: char| c.is_ascii_alphabetic())
            .unwrap_or(mem.len()),
    );
    let unit = match unit.to_ascii_lowercase().trim_end_matches('b') {
        "k" => "Ki",
        "m" => "Mi",
        "g" => "Gi",
        "t" => "Ti",
        _ => "",
    };
    format!("{num}{unit}")
}

fn limits_of(l: &Limits) -> Resources {
    Resources {
        limits: Labels::from([
            ("cpu".to_string(), cpu(&l.cpus)),
            ("memory".to_string(), memory(&l.memory)),
        ]),
        requests: Labels::from([
            ("cpu".to_string(), cpu(&l.cpus_reservation)),
            ("memory".to_string(), memory(&l.memory_reservation)),
        ]),
    }
}

/// The limits of a service in an environment (those of its first replica).
fn limits<'a>(env: &'a Environment, s: &Service) -> Option<&'a Limits> {
    let first = s.replicas.first()?;
    env.services
        .iter()
        .find(|e| &e.name == first)
        .and_then(|e| e.limits.as_ref())
}

pub fn build(out: &mut Out, targets: &[Target]) {
    let m = out.model;
    let project = m.project.clone();
    let mut resources_list = Vec::new();
    for s in &m.services {
        let sel = selector(&project, &s.name);
        let replicas = s.replicas.len() as u32;
        let c = container(&project, s);
        let volumes = c
            .volume_mounts
            .iter()
            .map(|v| Volume {
                name: v.name.clone(),
                empty_dir: Labels::new(),
            })
            .collect();
        let (uid, gid) = ids(s.user.as_deref());
        let deploy = Object {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            metadata: meta(&s.name, None, labels(&project, &s.name)),
            spec: DeploymentSpec {
                replicas,
                selector: Selector {
                    match_labels: sel.clone(),
                },
                template: PodTemplate {
                    metadata: TemplateMeta {
                        labels: labels(&project, &s.name),
                    },
                    spec: PodSpec {
                        automount_service_account_token: false,
                        security_context: PodSecurityContext {
                            run_as_non_root: true,
                            run_as_user: uid,
                            run_as_group: gid,
                            seccomp_profile: SeccompProfile {
                                kind: "RuntimeDefault".into(),
                            },
                        },
                        containers: vec![c.clone()],
                        volumes,
                    },
                },
            },
        };
        let file = format!("deployment-{}.yaml", s.name);
        out.put(
            format!("apps/base/{file}"),
            &format!(
                "Service \"{}\": {} replica(s), as in Compose.",
                s.name, replicas
            ),
            &deploy,
        );
        resources_list.push(file);
        let svc = Object {
            api_version: "v1".into(),
            kind: "Service".into(),
            metadata: meta(&s.name, None, labels(&project, &s.name)),
            spec: ServiceSpec {
                selector: sel.clone(),
                ports: c
                    .ports
                    .iter()
                    .map(|p| ServicePort {
                        name: p.name.clone(),
                        port: p.container_port,
                        target_port: p.name.clone(),
                        protocol: "TCP".into(),
                    })
                    .collect(),
            },
        };
        let file = format!("service-{}.yaml", s.name);
        out.put(
            format!("apps/base/{file}"),
            &format!(
                "Service \"{}\": its ports by name (the ServiceMonitor scrapes `{}`).",
                s.name,
                c.ports.last().map(|p| p.name.as_str()).unwrap_or("http")
            ),
            &svc,
        );
        resources_list.push(file);
        if replicas > 1 {
            let pdb = Object {
                api_version: "policy/v1".into(),
                kind: "PodDisruptionBudget".into(),
                metadata: meta(&s.name, None, labels(&project, &s.name)),
                spec: PdbSpec {
                    max_unavailable: 1,
                    selector: Selector {
                        match_labels: sel.clone(),
                    },
                },
            };
            let file = format!("poddisruptionbudget-{}.yaml", s.name);
            out.put(
                format!("apps/base/{file}"),
                &format!(
                    "Service \"{}\": at most one replica down at a time.",
                    s.name
                ),
                &pdb,
            );
            resources_list.push(file);
            let hpa = Object {
                api_version: "autoscaling/v2".into(),
                kind: "HorizontalPodAutoscaler".into(),
                metadata: meta(&s.name, None, labels(&project, &s.name)),
                spec: HpaSpec {
                    scale_target_ref: ScaleTarget {
                        api_version: "apps/v1".into(),
                        kind: "Deployment".into(),
                        name: s.name.clone(),
                    },
                    min_replicas: replicas,
                    max_replicas: replicas * 2,
                    metrics: vec![HpaMetric {
                        kind: "Resource".into(),
                        resource: HpaResource {
                            name: "cpu".into(),
                            target: HpaTarget {
                                kind: "Utilization".into(),
                                average_utilization: 80,
                            },
                        },
                    }],
                },
            };
            let file = format!("horizontalpodautoscaler-{}.yaml", s.name);
            out.put(
                format!("apps/base/{file}"),
                &format!(
                    "Service \"{}\": from the manifest's {replicas} replicas up to {}.",
                    s.name,
                    replicas * 2
                ),
                &hpa,
            );
            resources_list.push(file);
        }
    }
    resources_list.sort();
    let base = Kustomization {
        api_version: "kustomize.config.k8s.io/v1beta1".into(),
        kind: "Kustomization".into(),
        namespace: None,
        resources: resources_list,
        patches: Vec::new(),
    };
    out.put(
        "apps/base/kustomization.yaml".into(),
        "The services' workloads; apps/overlays/<env> sets namespace, resources and network policies.",
        &base,
    );
    for (t, env) in targets.iter().zip(&m.environments) {
        let dir = format!("apps/overlays/{}", t.environment);
        let mut resources = vec!["../../base".to_string()];
        for s in &m.services {
            let mut ingress = Vec::new();
            let monitoring = Peer {
                namespace_selector: Some(Selector {
                    match_labels: Labels::from([(
                        "kubernetes.io/metadata.name".to_string(),
                        t.monitoring_namespace.clone(),
                    )]),
                }),
                pod_selector: None,
            };
            let same = Peer {
                namespace_selector: None,
                pod_selector: Some(Selector::default()),
            };
            let mut app_from = vec![same, monitoring.clone()];
            if s.public {
                app_from = vec![Peer {
                    namespace_selector: Some(Selector::default()),
                    pod_selector: None,
                }];
            }
            ingress.push(IngressRule {
                from: app_from,
                ports: vec![PolicyPort {
                    port: s.port,
                    protocol: "TCP".into(),
                }],
            });
            if let Some(mt) = &s.metrics
                && mt.port != s.port
            {
                ingress.push(IngressRule {
                    from: vec![monitoring],
                    ports: vec![PolicyPort {
                        port: mt.port,
                        protocol: "TCP".into(),
                    }],
                });
            }
            let np = Object {
                api_version: "networking.k8s.io/v1".into(),
                kind: "NetworkPolicy".into(),
                metadata: meta(&s.name, Some(&t.namespace), labels(&project, &s.name)),
                spec: NetworkPolicySpec {
                    pod_selector: Selector {
                        match_labels: selector(&project, &s.name),
                    },
                    policy_types: vec!["Ingress".into()],
                    ingress,
                },
            };
            let file = format!("networkpolicy-{}.yaml", s.name);
            out.put(
                format!("{dir}/{file}"),
                &format!(
                    "Service \"{}\": {}; only namespace {} reaches its metrics.",
                    s.name,
                    if s.public {
                        "its port is open to every namespace (public)"
                    } else {
                        "its port is open to its namespace and the monitoring namespace"
                    },
                    t.monitoring_namespace
                ),
                &np,
            );
            resources.push(file);
        }
        let patches = m
            .services
            .iter()
            .filter_map(|s| {
                let l = limits(env, s)?;
                #[derive(serde::Serialize)]
                #[serde(rename_all = "camelCase")]
                struct P {
                    api_version: &'static str,
                    kind: &'static str,
                    metadata: Meta,
                    spec: PS,
                }
                #[derive(serde::Serialize)]
                struct PS {
                    template: PT,
                }
                #[derive(serde::Serialize)]
                struct PT {
                    spec: PP,
                }
                #[derive(serde::Serialize)]
                struct PP {
                    containers: Vec<PC>,
                }
                #[derive(serde::Serialize)]
                struct PC {
                    name: String,
                    resources: Resources,
                }
                let p = P {
                    api_version: "apps/v1",
                    kind: "Deployment",
                    metadata: meta(&s.name, None, Labels::new()),
                    spec: PS {
                        template: PT {
                            spec: PP {
                                containers: vec![PC {
                                    name: s.name.clone(),
                                    resources: limits_of(l),
                                }],
                            },
                        },
                    },
                };
                Some(Patch {
                    target: PatchTarget {
                        kind: "Deployment".into(),
                        name: s.name.clone(),
                    },
                    patch: super::yaml(&p),
                })
            })
            .collect();
        resources[1..].sort();
        let k = Kustomization {
            api_version: "kustomize.config.k8s.io/v1beta1".into(),
            kind: "Kustomization".into(),
            namespace: Some(t.namespace.clone()),
            resources,
            patches,
        };
        out.put(
            format!("{dir}/kustomization.yaml"),
            &format!("Environment \"{}\": namespace {}, the resources of the Compose limits, network policies.", t.environment, t.namespace),
            &k,
        );
    }
}
