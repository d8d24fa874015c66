//! `project.environments` and the `[environment.<name>]` tables: overlays, durations,
//! sizes, log rotation, addresses, and each role's limits and reservations.

use std::collections::BTreeSet;

use super::Checker;
use super::known_list;
use crate::assets;
use crate::layers;
use crate::manifest::Manifest;
use crate::units::{ValueError, parse_duration, parse_memory, prometheus_size};

pub(super) fn check_environments(c: &mut Checker, m: &Manifest) {
    let overlays = assets::env_profile_names();
    let mut seen = BTreeSet::new();
    if m.project.environments.is_empty() {
        c.at(
            "project.environments",
            "no environments",
            format!("list at least one, from {}", known_list(&overlays)),
        );
    }
    for (i, env) in m.project.environments.iter().enumerate() {
        let key = format!("project.environments[{i}]");
        c.dns_name(&key, "environment", env);
        if !seen.insert(env) {
            c.at(
                &key,
                format!("environment `{env}` is listed twice"),
                "list each environment once",
            );
        }
        let table = m.environment.get(env);
        if !overlays.contains(env) && table.and_then(|e| e.extends.as_ref()).is_none() {
            let help = if table.is_some() {
                format!(
                    "add `extends = \"production\"` (or another of {}) to `[environment.{env}]`",
                    known_list(&overlays)
                )
            } else {
                format!(
                    "use one of {} or define it: `[environment.{env}]` with `extends = \"production\"`",
                    known_list(&overlays)
                )
            };
            c.at(&key, format!("environment `{env}` has no overlay"), help);
        }
    }
    for (name, settings) in &m.environment {
        let base = format!("environment.{name}");
        if !m.project.environments.contains(name) {
            c.at_key(
                &base,
                format!("`[environment.{name}]` is not in project.environments"),
                format!("add \"{name}\" to project.environments, or remove this table"),
            );
        }
        if let Some(ext) = &settings.extends
            && !overlays.contains(ext)
        {
            c.at(
                &format!("{base}.extends"),
                format!("unknown overlay `{ext}`"),
                format!("extend one of {}", known_list(&overlays)),
            );
        }
        for (field, value) in [
            ("scrape_interval", &settings.scrape_interval),
            ("scrape_timeout", &settings.scrape_timeout),
            ("evaluation_interval", &settings.evaluation_interval),
            ("retention_time", &settings.retention_time),
            ("group_wait", &settings.group_wait),
            ("group_interval", &settings.group_interval),
            ("repeat_interval", &settings.repeat_interval),
            ("watchdog_interval", &settings.watchdog_interval),
        ] {
            if let Some(v) = value {
                c.duration(&format!("{base}.{field}"), v);
            }
        }
        if let Some(size) = &settings.retention_size {
            match prometheus_size(size) {
                Ok(_) => {}
                Err(ValueError::Syntax) => c.at(
                    &format!("{base}.retention_size"),
                    format!("`{size}` is not a retention size"),
                    "write an integer and one of B, KB, MB, GB, TB (for example `20GB`)",
                ),
                Err(ValueError::OutOfRange) => c.at(
                    &format!("{base}.retention_size"),
                    format!("retention size `{size}` is larger than Prometheus accepts"),
                    "Prometheus holds the size as 64-bit bytes, below 8EB; use a smaller size",
                ),
            }
        }
        if let Some(size) = &settings.log_max_size
            && parse_memory(size).is_none()
        {
            c.at(
                &format!("{base}.log_max_size"),
                format!("`{size}` is not a log file size"),
                "write a size like `10m` (k, m or g)",
            );
        }
        if settings.log_max_file == Some(0) {
            c.at(
                &format!("{base}.log_max_file"),
                "log_max_file = 0 keeps no log file",
                "Docker needs at least 1; keep a few, like 3",
            );
        }
        check_resources(c, &base, settings, &layers::env_settings(m, name));
        for (field, addr) in [
            ("bind_address", &settings.bind_address),
            ("public_address", &settings.public_address),
            ("monitoring_address", &settings.monitoring_address),
        ] {
            if let Some(a) = addr
                && a.parse::<std::net::IpAddr>().is_err()
            {
                c.at(
                    &format!("{base}.{field}"),
                    format!("`{a}` is not an IP address"),
                    "use an address such as 127.0.0.1",
                );
            }
        }
        if let (Some(t), Some(i)) = (
            settings.scrape_timeout.as_deref().and_then(parse_duration),
            settings.scrape_interval.as_deref().and_then(parse_duration),
        ) && t > i
        {
            c.at(
                &format!("{base}.scrape_timeout"),
                "scrape_timeout is longer than scrape_interval",
                "Prometheus rejects this; make the timeout at most the interval",
            );
        }
    }
}

/// Limits and reservations of every role: sizes parse, CPUs are in range, and (when
/// both are set here) a reservation is not above its limit.
fn check_resources(
    c: &mut Checker,
    base: &str,
    s: &crate::settings::EnvSettings,
    layered: &crate::settings::EnvSettings,
) {
    let roles = |s: &crate::settings::EnvSettings| {
        [
            (
                "",
                &s.cpus,
                &s.memory,
                &s.cpus_reservation,
                &s.memory_reservation,
            ),
            (
                "database_",
                &s.database_cpus,
                &s.database_memory,
                &s.database_cpus_reservation,
                &s.database_memory_reservation,
            ),
            (
                "monitoring_",
                &s.monitoring_cpus,
                &s.monitoring_memory,
                &s.monitoring_cpus_reservation,
                &s.monitoring_memory_reservation,
            ),
            (
                "exporter_",
                &s.exporter_cpus,
                &s.exporter_memory,
                &s.exporter_cpus_reservation,
                &s.exporter_memory_reservation,
            ),
        ]
        .map(|(p, a, b, c, d)| (p, *a, b.clone(), *c, d.clone()))
    };
    for ((prefix, cpus, memory, cpus_r, memory_r), (_, l_cpus, l_memory, l_cpus_r, l_memory_r)) in
        roles(s).into_iter().zip(roles(layered))
    {
        let mut sizes = Vec::new();
        for (field, mem) in [("memory", &memory), ("memory_reservation", &memory_r)] {
            let key = format!("{base}.{prefix}{field}");
            match mem.as_deref().map(|m| (m, parse_memory(m))) {
                Some((m, None)) => c.at(
                    &key,
                    format!("`{m}` is not a memory size"),
                    "write a size like `512M` or `2G`",
                ),
                Some((_, Some(_))) => sizes.push(field),
                None => {}
            }
        }
        let mut cpu_values = Vec::new();
        for (field, value) in [("cpus", cpus), ("cpus_reservation", cpus_r)] {
            if let Some(v) = value {
                if v > 0.0 && v <= 256.0 {
                    cpu_values.push(field);
                } else {
                    c.at(
                        &format!("{base}.{prefix}{field}"),
                        format!("{prefix}{field} = {v} is out of range"),
                        "use a positive number such as 0.5 or 2",
                    );
                }
            }
        }
        // Compared after layering (the manifest over the overlay), blamed on what the
        // manifest sets: the reservation if it sets one, else the limit.
        let blame = |set: &[&str], limit: &str, reservation: &str| {
            if set.contains(&reservation) {
                Some(reservation.to_string())
            } else if set.contains(&limit) {
                Some(limit.to_string())
            } else {
                None
            }
        };
        let mem = |v: &Option<String>| v.as_deref().and_then(parse_memory);
        if let (Some(limit), Some(reserved)) = (mem(&l_memory), mem(&l_memory_r))
            && reserved > limit
            && let Some(field) = blame(&sizes, "memory", "memory_reservation")
        {
            c.at(
                &format!("{base}.{prefix}{field}"),
                format!(
                    "{prefix}memory_reservation ({}) is above {prefix}memory ({})",
                    l_memory_r.as_deref().unwrap_or_default(),
                    l_memory.as_deref().unwrap_or_default()
                ),
                "a container cannot reserve more than its limit; lower the reservation or raise the limit",
            );
        }
        if let (Some(limit), Some(reserved)) = (l_cpus, l_cpus_r)
            && reserved > limit
            && let Some(field) = blame(&cpu_values, "cpus", "cpus_reservation")
        {
            c.at(
                &format!("{base}.{prefix}{field}"),
                format!("{prefix}cpus_reservation ({reserved}) is above {prefix}cpus ({limit})"),
                "a container cannot reserve more than its limit; lower the reservation or raise the limit",
            );
        }
    }
}
