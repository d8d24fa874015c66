//! The environments: which ports each one publishes on which host address
//! ([`published_ports`]: validation and `init` read it before there is a stack; the stack
//! keeps them typed, [`crate::model::Port`], which CI and AWS read), and what each one
//! adds to the assembled stack (the Compose overlay per service, Prometheus's and
//! Alertmanager's settings), built after the components' contributions are folded.

use std::collections::BTreeMap;

use crate::components::prometheus::login;
use crate::layers::{settled_env, settled_stack};
use crate::manifest::Manifest;
use crate::model::*;
use crate::settings::Publish;

/// The environments of an assembled stack, in manifest order.
pub fn build(m: &Manifest, model: &Model) -> Vec<Environment> {
    m.project
        .environments
        .iter()
        .map(|env| environment(m, env, model))
        .collect()
}

/// One port published to the host in one environment.
#[derive(Debug, Clone)]
pub struct Published {
    /// Who publishes it, for messages (`service `gateway``).
    pub owner: String,
    /// Compose service that publishes it.
    pub compose: String,
    pub address: String,
    pub host_port: u16,
    pub container_port: u16,
    /// Manifest key to point at when it collides.
    pub key: String,
    /// A monitoring UI (listed first, so a clash blames the other owner).
    pub monitoring: bool,
}

/// Every port published in an environment: app services, databases, monitoring UIs.
pub fn published_ports(m: &Manifest, env: &str) -> Vec<Published> {
    let s = &settled_env(m, env);
    let publish = s.publish;
    let mut out = Vec::new();
    // Point at the override if the manifest sets the port, else at the environment's name.
    let env_key = |field: &str| {
        let overridden = m.environment.get(env).is_some_and(|o| match field {
            "prometheus_port" => o.prometheus_port.is_some(),
            "alertmanager_port" => o.alertmanager_port.is_some(),
            "grafana_port" => o.grafana_port.is_some(),
            f => crate::components::ui_port_set(o, f),
        });
        if overridden {
            format!("environment.{env}.{field}")
        } else {
            let k = m
                .project
                .environments
                .iter()
                .position(|e| e == env)
                .unwrap_or(0);
            format!("project.environments[{k}]")
        }
    };
    let monitoring = s.monitoring_address.clone();
    let components = settled_stack(m).components;
    out.push(Published {
        owner: "the Prometheus UI".into(),
        compose: "prometheus".into(),
        address: monitoring.clone(),
        host_port: s.prometheus_port,
        container_port: 9090,
        key: env_key("prometheus_port"),
        monitoring: true,
    });
    if components.grafana {
        out.push(Published {
            owner: "the Grafana UI".into(),
            compose: "grafana".into(),
            address: monitoring.clone(),
            host_port: s.grafana_port,
            container_port: 3000,
            key: env_key("grafana_port"),
            monitoring: true,
        });
    }
    if components.alertmanager {
        out.push(Published {
            owner: "the Alertmanager UI".into(),
            compose: crate::alertmanager::NAME.into(),
            address: monitoring.clone(),
            host_port: s.alertmanager_port,
            container_port: crate::alertmanager::PORT,
            key: env_key("alertmanager_port"),
            monitoring: true,
        });
    }
    for ui in crate::components::uis(m) {
        out.push(Published {
            owner: ui.owner.into(),
            compose: ui.compose.into(),
            address: monitoring.clone(),
            host_port: crate::components::ui_port(s, ui.field),
            container_port: ui.container_port,
            key: env_key(ui.field),
            monitoring: true,
        });
    }
    for (i, svc) in m.services.iter().enumerate() {
        let single = svc.replicas.unwrap_or(1) <= 1;
        let shown = match publish {
            Publish::All => single,
            Publish::Public => svc.public && single,
        };
        if !shown {
            continue;
        }
        let address = if svc.public && publish == Publish::Public {
            s.public_address.clone()
        } else {
            s.bind_address.clone()
        };
        let key = if svc.host_port.is_some() {
            format!("service[{i}].host_port")
        } else {
            format!("service[{i}].port")
        };
        out.push(Published {
            owner: format!("service `{}`", svc.name),
            compose: svc.name.clone(),
            address,
            host_port: svc.host_port.unwrap_or(svc.port),
            container_port: svc.port,
            key,
            monitoring: false,
        });
    }
    if publish == Publish::All {
        for (i, db) in m.databases.iter().enumerate() {
            out.push(Published {
                owner: format!("database `{}`", db.name),
                compose: db.name.clone(),
                address: s.bind_address.clone(),
                host_port: db.host_port.unwrap_or(db.kind.port()),
                container_port: db.kind.port(),
                key: if db.host_port.is_some() {
                    format!("database[{i}].host_port")
                } else {
                    format!("database[{i}].name")
                },
                monitoring: false,
            });
        }
    }
    out
}

/// What one environment adds to the base stack.
fn environment(m: &Manifest, env: &str, model: &Model) -> Environment {
    let s = settled_env(m, env);
    let mut published: BTreeMap<String, Vec<Port>> = BTreeMap::new();
    for p in published_ports(m, env) {
        published.entry(p.compose).or_default().push(Port {
            address: p.address,
            host_port: p.host_port,
            container_port: p.container_port,
            monitoring: p.monitoring,
        });
    }
    let hardened = s.hardening;
    let hot_reload = s.hot_reload;
    let role_limits = |c: &ComposeService| {
        let (cpus, memory, cpus_r, memory_r) = match c.role {
            Role::App => (s.cpus, &s.memory, s.cpus_reservation, &s.memory_reservation),
            Role::Database => (
                s.database_cpus,
                &s.database_memory,
                s.database_cpus_reservation,
                &s.database_memory_reservation,
            ),
            Role::Monitoring => (
                s.monitoring_cpus,
                &s.monitoring_memory,
                s.monitoring_cpus_reservation,
                &s.monitoring_memory_reservation,
            ),
            Role::Exporter => (
                s.exporter_cpus,
                &s.exporter_memory,
                s.exporter_cpus_reservation,
                &s.exporter_memory_reservation,
            ),
        };
        let mut memory = memory.clone();
        if let Some(floor) = c.min_memory_mib
            && crate::units::parse_memory(&memory).unwrap_or(0) < floor * 1024 * 1024
        {
            memory = format!("{floor}M");
        }
        Limits {
            cpus: format!("{cpus}"),
            memory,
            cpus_reservation: format!("{cpus_r}"),
            memory_reservation: memory_r.clone(),
        }
    };
    let prometheus_file = format!("prometheus.{env}.yml");
    let prometheus_args = vec![
        format!("--config.file=/etc/prometheus/{prometheus_file}"),
        "--storage.tsdb.path=/prometheus".into(),
        login::WEB_CONFIG_ARG.into(),
        format!("--storage.tsdb.retention.time={}", s.retention_time),
        format!("--storage.tsdb.retention.size={}", s.retention_size),
    ];
    let restart: String = s.restart.as_str().into();
    let services = model
        .compose
        .iter()
        .map(|c| {
            let ports = published.remove(&c.name).unwrap_or_default();
            // Hardened, only `edge` is not internal: a container that publishes a port
            // here (a database with `publish = "all"`) joins it in this environment.
            let on_edge = c.networks.iter().any(|n| n.name == "edge");
            let networks = if hardened && !ports.is_empty() && !on_edge {
                vec!["edge".to_string()]
            } else {
                Vec::new()
            };
            (c, ports, networks)
        })
        .map(|(c, ports, networks)| EnvService {
            name: c.name.clone(),
            ports,
            networks,
            limits: Some(role_limits(c)),
            environment: crate::components::env_environment(model, &c.name, env)
                .into_iter()
                .filter(|(k, _)| !c.environment.contains_key(k))
                .collect(),
            restart: if c.one_shot {
                "no".to_string()
            } else {
                restart.clone()
            },
            command: if c.name == model.prometheus.name {
                Some(prometheus_args.clone())
            } else if hot_reload && c.dev_command.is_some() {
                c.dev_command.clone()
            } else {
                c.env_command
                    .as_ref()
                    .map(|args| args.iter().map(|a| a.replace("{env}", env)).collect())
            },
            hardening: hardened.then(|| c.hardening.clone()),
            volumes: c
                .dev_volume
                .iter()
                .filter(|_| hot_reload)
                .cloned()
                .collect(),
        })
        .collect();
    debug_assert!(
        published.is_empty(),
        "published ports of unknown services: {published:?}"
    );
    Environment {
        name: env.to_string(),
        compose_file: format!("compose.{env}.yaml"),
        prometheus_file,
        scrape_interval: s.scrape_interval.clone(),
        scrape_timeout: s.scrape_timeout.clone(),
        evaluation_interval: s.evaluation_interval.clone(),
        retention_time: s.retention_time.clone(),
        retention_size: s.retention_size.clone(),
        restart,
        log_max_size: s.log_max_size.clone(),
        log_max_file: s.log_max_file,
        hardening: hardened,
        services,
        // Hardened: only `edge` reaches the outside; `app` and `monitoring` are internal
        // (an overlay redefines a network: docker-compose v1 replaces its definition,
        // Compose v2 merges it — the same result, as the base defines them empty).
        networks: if hardened {
            model
                .networks
                .iter()
                .filter(|n| n.name != "edge")
                .map(|n| Network {
                    name: n.name.clone(),
                    internal: true,
                })
                .collect()
        } else {
            Vec::new()
        },
        prometheus_args,
        alertmanager: model
            .alertmanager
            .as_ref()
            .map(|_| crate::alertmanager::environment(&model.routes, &s, env)),
    }
}
