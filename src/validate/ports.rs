//! Published host ports: two owners of one host port (on overlapping addresses) in an
//! environment, from the ports each environment resolves to ([`crate::environments::published_ports`]).

use std::collections::BTreeMap;

use super::Checker;
use crate::manifest::Manifest;

/// Two owners of one host port (on overlapping addresses), per environment; a clash
/// found in several environments is reported once, naming them all.
pub(super) fn check_host_ports(c: &mut Checker, m: &Manifest) {
    // (key, message) → environments
    let mut clashes: BTreeMap<(String, String, bool, bool), Vec<String>> = BTreeMap::new();
    for env in &m.project.environments {
        let mut seen: Vec<(String, crate::environments::Published)> = Vec::new();
        for p in crate::environments::published_ports(m, env) {
            let addr = if p.address == "0.0.0.0" || p.address == "::" {
                "*".to_string()
            } else {
                p.address.clone()
            };
            let clash = seen.iter().find(|(a, q)| {
                q.host_port == p.host_port && (*a == addr || a == "*" || addr == "*")
            });
            match clash {
                Some((_, first)) => {
                    let msg = format!(
                        "host port {} is published twice: by {} and by {}",
                        p.host_port, first.owner, p.owner
                    );
                    clashes
                        .entry((p.key.clone(), msg, first.monitoring, p.monitoring))
                        .or_default()
                        .push(env.clone());
                }
                None => seen.push((addr, p)),
            }
        }
    }
    for ((key, msg, monitoring, both), envs) in clashes {
        let envs = envs
            .iter()
            .map(|e| format!("`{e}`"))
            .collect::<Vec<_>>()
            .join(" and ");
        let help = if monitoring && both {
            "give one of the UIs another host port: `[environment.<env>] prometheus_port` / `grafana_port` / `alertmanager_port` / `kibana_port` / `jaeger_port` / `glitchtip_port` / `minio_console_port`"
        } else if monitoring {
            "give the service another `host_port`, or move the UI: `[environment.<env>] prometheus_port` / `grafana_port` / `alertmanager_port` / `kibana_port` / `jaeger_port` / `glitchtip_port` / `minio_console_port`"
        } else {
            "give one of them another `host_port`"
        };
        c.at(&key, format!("{msg} (in {envs})"), help);
    }
}
