//! Semantic checks serde cannot do, all reported at once: names, duplicates,
//! references, ports, durations, thresholds, PromQL, versions and profiles — and
//! everything the real tools would reject although no escaping could fix it: regexes
//! and PromQL outside what both Prometheus/Alertmanager versions accept
//! ([`crate::dialect`]), Go-template delimiters, reserved label names, out-of-range
//! durations and sizes, malformed URLs, hosts, addresses and paths (formats in
//! [`crate::units`]). Counts are range-checked before anything is sized by them.
//!
//! Input is the loaded manifest with its spans; output is a list of diagnostics,
//! each pointing at the key it concerns. An empty list means [`crate::resolve`] may
//! build the model without further checks.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::assets;
use crate::diag::{Diagnostic, suggest};
use crate::dialect;
use crate::load::{Loaded, SpanMap};
use crate::manifest::{Manifest, ReceiverKind};
use crate::resolve::{self, COMPONENT_NAMES};
use crate::units::{
    ValueError, check_email, check_host_port, check_http_url, check_path_length, duration,
    is_dns_label, is_env_name, is_label_name, parse_duration, parse_memory, prometheus_size,
};

/// The most replicas a service may have (each is a Compose service and a scrape target).
pub const MAX_REPLICAS: u32 = 100;

struct Checker<'a> {
    spans: &'a SpanMap,
    out: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn at(&mut self, key: &str, message: impl Into<String>, help: impl Into<String>) {
        let d = Diagnostic::new(message)
            .key(key)
            .span(self.spans.value(key))
            .help(help);
        self.out.push(d);
    }

    fn at_key(&mut self, key: &str, message: impl Into<String>, help: impl Into<String>) {
        let d = Diagnostic::new(message)
            .key(key)
            .span(self.spans.key(key))
            .help(help);
        self.out.push(d);
    }

    fn dns_name(&mut self, key: &str, what: &str, name: &str) {
        if !is_dns_label(name) {
            if name.is_empty() {
                self.at(
                    key,
                    format!("{what} name is empty"),
                    "use 1-63 lowercase letters, digits and `-`",
                );
                return;
            }
            let why = if name.contains('/') || name.contains("..") {
                "contains a path separator".to_string()
            } else if name.chars().any(|c| c.is_ascii_uppercase()) {
                "has uppercase letters".to_string()
            } else if name.len() > 63 {
                "is longer than 63 characters".to_string()
            } else {
                "is not a DNS label".to_string()
            };
            let fixed: String = name
                .to_ascii_lowercase()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect::<String>()
                .trim_matches('-')
                .to_string();
            let hint = if is_dns_label(&fixed) {
                format!(" (for example `{fixed}`)")
            } else {
                String::new()
            };
            self.at(
                key,
                format!("{what} name `{name}` {why}"),
                format!("use 1-63 lowercase letters, digits and `-`, not starting or ending with `-`{hint}"),
            );
        }
    }

    fn duration(&mut self, key: &str, text: &str) -> Option<u64> {
        match duration(text) {
            Ok(0) => {
                self.at(
                    key,
                    format!("duration `{text}` is zero"),
                    "use a positive duration such as `30s`, `5m` or `1h`",
                );
                None
            }
            Ok(ms) => Some(ms),
            Err(ValueError::OutOfRange) => {
                self.at(
                    key,
                    format!("duration `{text}` is longer than Prometheus and Alertmanager accept"),
                    "they hold durations as 64-bit nanoseconds, at most about 292 years (`292y`); use a shorter one",
                );
                None
            }
            Err(ValueError::Syntax) => {
                self.at(
                    key,
                    format!("`{text}` is not a duration"),
                    "write a Prometheus duration: a number and a unit (ms, s, m, h, d, w, y), like `500ms`, `5m`, `1h30m`",
                );
                None
            }
        }
    }

    fn env_var(&mut self, key: &str, name: &str) {
        if name.len() > crate::units::MAX_PATH_COMPONENT {
            self.at(
                key,
                format!("the variable name is {} bytes long", name.len()),
                format!(
                    "its secret is the file secrets/<name in lowercase>, and file names hold at most {} bytes; use a shorter name",
                    crate::units::MAX_PATH_COMPONENT
                ),
            );
        } else if !is_env_name(name) {
            self.at(
                key,
                format!("`{name}` is not an environment variable name"),
                "use uppercase letters, digits and `_`, not starting with a digit (for example `SLACK_WEBHOOK_URL`)",
            );
        }
    }
}

impl Checker<'_> {
    /// Text Prometheus or Alertmanager expand as a Go template must not hold `{{`.
    /// `alert`: text of a custom alert (Prometheus' templates), else of a receiver
    /// (Alertmanager's).
    fn no_template(&mut self, key: &str, what: &str, text: &str, alert: bool) {
        if dialect::has_template(text) {
            let help = if alert {
                "this text is plain: Prometheus would expand `{{ … }}` as a Go template, and no escaping keeps it literal; remove `{{` (the generated description already prints the alert's value and labels)"
            } else {
                "this text is plain: Alertmanager would expand `{{ … }}` as a Go template, and no escaping keeps it literal; remove `{{`"
            };
            self.at(
                key,
                format!("{what} contains the template delimiter `{{{{`"),
                help,
            );
        }
    }

    /// A path or a file name within Linux's limits.
    fn path_length(&mut self, key: &str, path: &str) -> bool {
        match check_path_length(path) {
            Ok(()) => true,
            Err(why) => {
                self.at(
                    key,
                    format!("path is too long: {why}"),
                    "use a shorter path",
                );
                false
            }
        }
    }

    /// A label name obsgen writes into alerts or routes: not reserved.
    fn reserved_label(&mut self, key: &str, label: &str, at_key: bool) -> bool {
        if !label.starts_with("__") {
            return false;
        }
        let d = Diagnostic::new(format!(
            "label name `{label}` is reserved: names starting with `__` are Prometheus' internal labels"
        ))
        .key(key)
        .span(if at_key {
            self.spans.key(key)
        } else {
            self.spans.value(key)
        })
        .help("Prometheus rejects `__name__` in alert labels and drops other `__` labels, so alerts never carry them; use a name without the leading `__`");
        self.out.push(d);
        true
    }
}

fn known_list(items: &[String]) -> String {
    items
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks the loaded manifest; returns every problem found.
pub fn validate(loaded: &Loaded<Manifest>) -> Vec<Diagnostic> {
    let m = &loaded.value;
    let mut c = Checker {
        spans: &loaded.spans,
        out: Vec::new(),
    };

    // ---- project
    c.dns_name("project.name", "project", &m.project.name);
    let versions = assets::template_versions();
    if !versions.contains(&m.project.templates) {
        c.at(
            "project.templates",
            format!("unknown template version `{}`", m.project.templates),
            format!(
                "this obsgen knows template versions {}; pin one of them",
                known_list(&versions)
            ),
        );
    }
    let stacks = assets::stack_profile_names();
    if !stacks.contains(&m.project.profile) {
        let hint = suggest(&m.project.profile, stacks.iter().map(String::as_str))
            .map(|s| format!("did you mean `{s}`? "))
            .unwrap_or_default();
        c.at(
            "project.profile",
            format!("unknown profile `{}`", m.project.profile),
            format!("{hint}known profiles: {}", known_list(&stacks)),
        );
    }
    check_environments(&mut c, m);

    // ---- names: services, databases, and the compose services obsgen adds share one namespace
    let mut owners: HashMap<String, String> = HashMap::new();
    let mut claim = |c: &mut Checker, name: &str, key: String, what: &str| {
        if let Some(first) = owners.get(name) {
            c.at(
                &key,
                format!("duplicate name `{name}`: {what} `{name}` clashes with {first}"),
                "services and databases share one Compose namespace; give each a unique name",
            );
        } else if COMPONENT_NAMES.contains(&name) {
            c.at(
                &key,
                format!("{what} name `{name}` is taken by a monitoring component obsgen generates"),
                format!(
                    "reserved names: {}; rename yours",
                    COMPONENT_NAMES.join(", ")
                ),
            );
        } else {
            owners.insert(name.to_string(), format!("{what} `{name}` ({key})"));
        }
    };
    for (i, s) in m.services.iter().enumerate() {
        let key = format!("service[{i}].name");
        c.dns_name(&key, "service", &s.name);
        claim(&mut c, &s.name, key, "service");
    }
    for (i, d) in m.databases.iter().enumerate() {
        let key = format!("database[{i}].name");
        c.dns_name(&key, "database", &d.name);
        claim(&mut c, &d.name, key, "database");
    }
    // Replicas become `<name>-<n>`: those must not clash with another name either.
    // Only for a count in range (checked in check_services): the names are built here.
    for (i, s) in m.services.iter().enumerate() {
        let replicas = s.replicas.unwrap_or(1);
        if !(1..=MAX_REPLICAS).contains(&replicas) {
            continue;
        }
        for r in resolve::replica_names(&s.name, replicas) {
            if r != s.name && owners.contains_key(&r) {
                c.at(
                    &format!("service[{i}].replicas"),
                    format!(
                        "replica `{r}` of service `{}` clashes with {}",
                        s.name, owners[&r]
                    ),
                    "replicas are named `<service>-<n>`; rename one of the two",
                );
            }
        }
    }

    check_services(&mut c, m);
    check_databases(&mut c, m);
    check_alerts(&mut c, m);
    check_receivers_and_routes(&mut c, m);
    check_other(&mut c, m);
    c.out.extend(crate::components::check(m, c.spans));

    // ---- published host ports, per environment (needs the resolved environment settings)
    // Needs every environment and the profile to resolve; other problems don't matter.
    let resolvable = |d: &Diagnostic| {
        d.key.as_deref().is_some_and(|k| {
            k.starts_with("project.profile")
                || k.starts_with("project.environments")
                || k.starts_with("environment.")
        })
    };
    if !c.out.iter().any(resolvable) {
        check_host_ports(&mut c, m);
    }
    c.out
}

/// Two owners of one host port (on overlapping addresses), per environment; a clash
/// found in several environments is reported once, naming them all.
fn check_host_ports(c: &mut Checker, m: &Manifest) {
    // (key, message) → environments
    let mut clashes: BTreeMap<(String, String, bool, bool), Vec<String>> = BTreeMap::new();
    for env in &m.project.environments {
        let mut seen: Vec<(String, resolve::Published)> = Vec::new();
        for p in resolve::published_ports(m, env) {
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

fn check_environments(c: &mut Checker, m: &Manifest) {
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
        check_resources(c, &base, settings, &resolve::env_settings(m, name));
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

/// Linux capabilities Docker knows (`cap_add`).
const CAPABILITIES: &[&str] = &[
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "PERFMON",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
];

/// A relative path inside the project (`./backend.env`).
fn inside_project(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.split('/').any(|p| p == "..")
        && !path.chars().any(|ch| ch.is_control())
}

/// An absolute container path Compose can take in a mount (`/app`).
fn container_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains(':')
        && !path.chars().any(|ch| ch.is_whitespace() || ch.is_control())
}

/// The Compose-facing fields of a service: env files, health check, user, hardening,
/// hot reload.
fn check_service_container(c: &mut Checker, base: &str, s: &crate::manifest::Service) {
    for (j, f) in s.env_file.iter().enumerate() {
        if !c.path_length(&format!("{base}.env_file[{j}]"), f) {
            continue;
        }
        if !inside_project(f)
            || !f
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-' | '/'))
        {
            c.at(
                &format!("{base}.env_file[{j}]"),
                format!("env_file `{f}` is outside the project or has unusual characters"),
                "use a file inside the project, relative to obsgen.toml, of letters, digits, `.`, `_`, `-` and `/` (`./backend.env`)",
            );
        } else if f.trim_start_matches("./") == ".env" {
            c.at(
                &format!("{base}.env_file[{j}]"),
                "`.env` is the stack's own settings file (Compose interpolation), not a service's",
                "give the service its own file, like `./backend.env`",
            );
        }
    }
    if let Some(cmd) = &s.health_cmd {
        if s.health_check.is_some() {
            c.at(
                &format!("{base}.health_cmd"),
                format!("service `{}` sets both `health_check` and `health_cmd`", s.name),
                "keep one: `health_check = \"wget\" | \"curl\" | \"none\"` probes `health`; `health_cmd` is your own command",
            );
        }
        if cmd.is_empty() || cmd[0].trim().is_empty() {
            c.at(
                &format!("{base}.health_cmd"),
                "health_cmd is empty",
                "write the command as an argument list, like `[\"/app/healthcheck\"]`",
            );
        }
    } else if let Some(tool) = s.health_check
        && tool != crate::manifest::HealthCheck::None
        && s.health.is_none()
    {
        c.at(
            &format!("{base}.health_check"),
            format!("service `{}` has `health_check` but no `health` path to check", s.name),
            "add `health = \"/health\"` (the HTTP path the check requests), or remove `health_check`",
        );
    }
    if let Some(user) = &s.user {
        let part = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.'))
        };
        let ok = match user.split_once(':') {
            Some((u, g)) => part(u) && part(g),
            None => part(user),
        };
        if !ok {
            c.at(
                &format!("{base}.user"),
                format!("`{user}` is not a user"),
                "write `uid[:gid]` or a user name of the image, like `\"1000:1000\"` or `\"node\"`",
            );
        }
    }
    for (j, cap) in s.hardening.cap_add.iter().enumerate() {
        let name = cap.strip_prefix("CAP_").unwrap_or(cap);
        if !CAPABILITIES.contains(&name) {
            let hint = suggest(&name.to_ascii_uppercase(), CAPABILITIES.iter().copied())
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            c.at(
                &format!("{base}.hardening.cap_add[{j}]"),
                format!("`{cap}` is not a Linux capability"),
                format!("{hint}name one capability in capitals, like `NET_BIND_SERVICE` (`ALL` is not allowed: add only what the image needs)"),
            );
        }
    }
    for (j, t) in s.hardening.tmpfs.iter().enumerate() {
        if !c.path_length(&format!("{base}.hardening.tmpfs[{j}]"), t) {
            continue;
        }
        if !container_path(t) {
            c.at(
                &format!("{base}.hardening.tmpfs[{j}]"),
                format!("`{t}` is not an absolute container path"),
                "write a path like `/tmp`",
            );
        }
    }
    if let Some(dev) = &s.dev {
        if s.build.is_none() {
            c.at(
                &format!("{base}.dev"),
                format!("service `{}` has `dev` (hot reload) but no `build` context to mount", s.name),
                "hot reload bind-mounts the build context; use `build = \"./folder\"`, or remove `dev`",
            );
        }
        if c.path_length(&format!("{base}.dev.mount"), &dev.mount) && !container_path(&dev.mount) {
            c.at(
                &format!("{base}.dev.mount"),
                format!("`{}` is not an absolute container path", dev.mount),
                "write where the image keeps its sources, like `/app`",
            );
        }
        if dev.command.as_ref().is_some_and(|cmd| cmd.is_empty()) {
            c.at(
                &format!("{base}.dev.command"),
                "dev.command is empty",
                "write the command as an argument list, like `[\"npm\", \"run\", \"dev\"]`, or remove it",
            );
        }
    }
}

fn check_services(c: &mut Checker, m: &Manifest) {
    let services: BTreeSet<&str> = m.services.iter().map(|s| s.name.as_str()).collect();
    let databases: BTreeSet<&str> = m.databases.iter().map(|d| d.name.as_str()).collect();
    for (i, s) in m.services.iter().enumerate() {
        let base = format!("service[{i}]");
        match (&s.image, &s.build) {
            (None, None) => c.at(
                &base,
                format!("service `{}` has neither `image` nor `build`", s.name),
                "set `image = \"registry/name:tag\"` or `build = \"./folder\"`",
            ),
            (Some(_), Some(_)) => c.at(
                &format!("{base}.build"),
                format!("service `{}` has both `image` and `build`", s.name),
                "keep one: `image` for a published image, `build` for a local build context",
            ),
            (Some(image), None) => check_image(c, &format!("{base}.image"), image),
            (None, Some(build)) => {
                if s.dev.is_some() && build.contains(':') {
                    c.at(
                        &format!("{base}.build"),
                        format!(
                            "build context `{build}` holds `:`, which splits the hot-reload mount"
                        ),
                        "rename the folder: Compose reads `./a:b:/app` as source `./a`, target `b`",
                    );
                }
                if c.path_length(&format!("{base}.build"), build)
                    && (build.is_empty()
                        || build.starts_with('/')
                        || build.split(['/', '\\']).any(|p| p == ".."))
                {
                    c.at(
                        &format!("{base}.build"),
                        format!("build context `{build}` is outside the project"),
                        "use a folder inside the project, relative to obsgen.toml (`./backend`)",
                    );
                }
            }
        }
        if s.port == 0 {
            c.at(
                &format!("{base}.port"),
                "port 0 is not a port",
                "use the port the service listens on, 1-65535",
            );
        }
        if s.host_port == Some(0) {
            c.at(
                &format!("{base}.host_port"),
                "host_port 0 is not a port",
                "use 1-65535, or remove it to publish on `port`",
            );
        }
        // Two things on one container port of this service.
        let mut used: BTreeMap<u16, String> = BTreeMap::new();
        used.insert(s.port, "`port`".into());
        for (name, port) in &s.ports {
            let key = format!("{base}.ports.{name}");
            if !is_dns_label(name) {
                c.at_key(
                    &key,
                    format!("port name `{name}` is not a DNS label"),
                    "use lowercase letters, digits and `-`",
                );
            }
            if *port == 0 {
                c.at(&key, format!("port `{name}` is 0"), "use 1-65535");
            } else if let Some(first) = used.get(port) {
                c.at(
                    &key,
                    format!("container port {port} of service `{}` is used twice: by {first} and by `ports.{name}`", s.name),
                    "every port of one container must be different; change one of them",
                );
            } else {
                used.insert(*port, format!("`ports.{name}`"));
            }
        }
        if let Some(metrics) = &s.metrics {
            if let Some(path) = &metrics.path {
                check_http_path(c, &format!("{base}.metrics.path"), path);
            }
            if metrics.port == Some(0) {
                c.at(
                    &format!("{base}.metrics.port"),
                    "metrics port 0 is not a port",
                    "use 1-65535, or remove it to use `port`",
                );
            }
        }
        if let Some(http) = &s.http {
            for (field, value) in [
                ("requests", &http.requests),
                ("duration", &http.duration),
                ("status_label", &http.status_label),
            ] {
                if let Some(v) = value
                    && !is_label_name(v)
                {
                    c.at(
                        &format!("{base}.http.{field}"),
                        format!("`{v}` is not a Prometheus metric or label name"),
                        "use letters, digits and `_` (for example `http_requests_total`)",
                    );
                }
            }
            if let Some(l) = &http.status_label {
                c.reserved_label(&format!("{base}.http.status_label"), l, false);
            }
            if http
                .duration
                .as_deref()
                .is_some_and(|d| d.ends_with("_bucket"))
            {
                c.at(
                    &format!("{base}.http.duration"),
                    "write the histogram name without `_bucket`",
                    "obsgen adds `_bucket`, `_sum` and `_count` itself",
                );
            }
        }
        if let Some(health) = &s.health {
            check_http_path(c, &format!("{base}.health"), health);
        }
        check_service_container(c, &base, s);
        if let Some(r) = s.replicas {
            if !(1..=MAX_REPLICAS).contains(&r) {
                c.at(
                    &format!("{base}.replicas"),
                    format!("replicas = {r} is out of range"),
                    format!("use 1 to {MAX_REPLICAS} replicas"),
                );
            }
            if r > 1 && s.public {
                c.at(
                    &format!("{base}.replicas"),
                    format!("public service `{}` has {r} replicas, but only one container can bind its host port", s.name),
                    "publish a single-replica gateway or proxy in front of it (public = true there), or set replicas = 1",
                );
            }
        }
        for (j, dep) in s.depends_on.iter().enumerate() {
            let key = format!("{base}.depends_on[{j}]");
            if s.depends_on[..j].contains(dep) {
                c.at(
                    &key,
                    format!("service `{}` lists `{dep}` twice in depends_on", s.name),
                    "list each dependency once",
                );
            } else if dep == &s.name {
                c.at(
                    &key,
                    format!("service `{}` depends on itself", s.name),
                    "remove it from its own depends_on",
                );
            } else if !services.contains(dep.as_str())
                && !databases.contains(dep.as_str())
                && !crate::components::dependable(m).contains(&dep.as_str())
            {
                let all = services.iter().chain(databases.iter()).copied();
                let hint = suggest(dep, all)
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                c.at(
                    &key,
                    format!(
                        "service `{}` depends on `{dep}`, which is no service or database",
                        s.name
                    ),
                    format!(
                        "{hint}depends_on names a [[service]] or [[database]] of this manifest"
                    ),
                );
            }
        }
        for (name, value) in &s.env {
            // `${NAME}`, `${NAME:-default}`, `${NAME-default}` refer to `.env`; any other
            // `${…}` is a mistake (every other `$` is written literally).
            if let Err(e) = crate::quote::env_refs(value) {
                c.at(
                    &crate::load::key_path(&format!("{base}.env"), name),
                    format!("env value of `{name}`: {e}"),
                    "refer to a `.env` variable as `${NAME}`, `${NAME:-default}` or `${NAME-default}` (a default without `$`); any other `$` is kept as it is",
                );
            }
            if !is_env_name(name)
                && !name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
            {
                c.at_key(
                    &crate::load::key_path(&format!("{base}.env"), name),
                    format!("`{name}` is not an environment variable name"),
                    "use letters, digits and `_`",
                );
            }
        }
    }
    // depends_on cycles
    let graph: BTreeMap<&str, Vec<&str>> = m
        .services
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.depends_on.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    if let Some(cycle) = find_cycle(&graph) {
        let i = m
            .services
            .iter()
            .position(|s| s.name == cycle[0])
            .unwrap_or(0);
        c.at(
            &format!("service[{i}].depends_on"),
            format!(
                "services depend on each other in a cycle: {}",
                cycle.join(" → ")
            ),
            "Compose cannot start a cycle; remove one of these depends_on entries",
        );
    }
}

fn find_cycle<'a>(graph: &BTreeMap<&'a str, Vec<&'a str>>) -> Option<Vec<&'a str>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Active,
        Done,
    }
    fn visit<'a>(
        n: &'a str,
        g: &BTreeMap<&'a str, Vec<&'a str>>,
        marks: &mut HashMap<&'a str, Mark>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<&'a str>> {
        match marks.get(n) {
            Some(Mark::Done) => return None,
            Some(Mark::Active) => {
                let start = stack.iter().position(|s| *s == n).unwrap_or(0);
                let mut cycle = stack[start..].to_vec();
                cycle.push(n);
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(n, Mark::Active);
        stack.push(n);
        for next in g.get(n).into_iter().flatten() {
            if g.contains_key(next)
                && let Some(c) = visit(next, g, marks, stack)
            {
                return Some(c);
            }
        }
        stack.pop();
        marks.insert(n, Mark::Done);
        None
    }
    let mut marks = HashMap::new();
    for n in graph.keys() {
        if let Some(c) = visit(n, graph, &mut marks, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

fn check_http_path(c: &mut Checker, key: &str, path: &str) {
    if let Err(why) = crate::units::check_http_path(path) {
        c.at(
            key,
            format!("`{path}` is not an HTTP path: {why}"),
            "write an absolute URL path (RFC 3986), optionally with a query, like `/health` or `/status?full=1`",
        );
    }
}

fn check_image(c: &mut Checker, key: &str, image: &str) {
    if image
        .chars()
        .any(|ch| ch.is_whitespace() || ch.is_control())
        || image.is_empty()
    {
        c.at(
            key,
            format!("`{image}` is not an image reference"),
            "write `registry/name:tag`, without spaces",
        );
        return;
    }
    if image.contains('@') {
        return; // pinned by digest
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.split_once(':') {
        None => c.at(
            key,
            format!("image `{image}` has no tag"),
            "pin a version (`name:1.4.2`) or a digest (`name@sha256:…`): an untagged image means `latest`",
        ),
        Some((_, "latest")) => c.at(
            key,
            format!("image `{image}` uses the `latest` tag"),
            "pin a version (`name:1.4.2`) so every deploy runs the same image",
        ),
        Some(_) => {}
    }
}

fn check_databases(c: &mut Checker, m: &Manifest) {
    let taken = crate::components::env_vars(m);
    for (i, d) in m.databases.iter().enumerate() {
        let var = crate::units::env_name_of(&d.name);
        let mut vars = vec![format!("{var}_PASSWORD")];
        if matches!(
            d.kind,
            crate::manifest::DatabaseKind::Postgres | crate::manifest::DatabaseKind::Mongodb
        ) {
            vars.insert(0, format!("{var}_USER"));
        }
        let clashes: Vec<String> = vars
            .iter()
            .filter_map(|v| {
                let (_, owner) = taken.iter().find(|(t, _)| t == v)?;
                Some(format!("`{v}` ({owner})"))
            })
            .collect();
        if !clashes.is_empty() {
            c.at(
                &format!("database[{i}].name"),
                format!(
                    "database `{}` would read its credentials from variables that are already taken: {}",
                    d.name,
                    clashes.join(", ")
                ),
                "rename the database: one variable must not hold two secrets",
            );
        }
        if d.host_port == Some(0) {
            c.at(
                &format!("database[{i}].host_port"),
                "host_port 0 is not a port",
                "use 1-65535",
            );
        }
        if let Some(v) = &d.version {
            let ok = !v.is_empty()
                && v != "latest"
                && v.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_'))
                && v.starts_with(|ch: char| ch.is_ascii_digit());
            if !ok {
                c.at(
                    &format!("database[{i}].version"),
                    format!("database version `{v}` is not a version"),
                    format!(
                        "write a version tag such as `{}`",
                        resolve::default_db_tag(d.kind)
                    ),
                );
            }
        }
    }
}

fn check_alerts(c: &mut Checker, m: &Manifest) {
    let a = &m.alerts;
    if let Some(r) = a.error_rate
        && !(r > 0.0 && r < 1.0)
    {
        c.at(
            "alerts.error_rate",
            format!("error_rate = {r} can never be crossed by a 5xx ratio"),
            "write a ratio strictly between 0 and 1 (0.05 means 5% of requests failing)",
        );
    }
    if let Some(l) = &a.latency_p95 {
        c.duration("alerts.latency_p95", l);
    }
    if let Some(f) = &a.for_ {
        c.duration("alerts.for", f);
    }
    let services: BTreeSet<&str> = m.services.iter().map(|s| s.name.as_str()).collect();
    for (i, slo) in a.slo.iter().flatten().enumerate() {
        let base = format!("alerts.slo[{i}]");
        if !services.contains(slo.service.as_str()) {
            c.at(
                &format!("{base}.service"),
                format!("SLO for unknown service `{}`", slo.service),
                "name a [[service]] of this manifest",
            );
        }
        if !(slo.objective > 0.0 && slo.objective < 100.0) {
            c.at(
                &format!("{base}.objective"),
                format!("objective {} is not a percentage below 100", slo.objective),
                "write the availability target in percent, for example 99.9",
            );
        } else if 100.0 - slo.objective < 0.001 {
            c.at(
                &format!("{base}.objective"),
                format!(
                    "objective {} leaves an error budget too small to alert on",
                    slo.objective
                ),
                "use at most 99.999",
            );
        }
        if let Some(ms) = c.duration(&format!("{base}.window"), &slo.window)
            && ms < 86_400_000
        {
            c.at(
                &format!("{base}.window"),
                "an SLO window shorter than 1d",
                "use a window like `28d` or `30d`",
            );
        }
    }
    let mut names = BTreeSet::new();
    for (i, rule) in a.custom.iter().flatten().enumerate() {
        let base = format!("alerts.custom[{i}]");
        if !is_label_name(&rule.name) || !rule.name.starts_with(|ch: char| ch.is_ascii_uppercase())
        {
            c.at(
                &format!("{base}.name"),
                format!("alert name `{}` is not a CamelCase identifier", rule.name),
                "use letters and digits, starting with an uppercase letter (`QueueBacklogHigh`)",
            );
        }
        // One name may have several severities (a warning and a critical threshold),
        // which the critical-silences-warning inhibition relies on; each pair only once.
        let severity = format!("{:?}", rule.severity).to_lowercase();
        if !names.insert((rule.name.as_str(), severity.clone())) {
            c.at(
                &format!("{base}.name"),
                format!(
                    "duplicate custom alert `{}` with severity {severity}",
                    rule.name
                ),
                "give each alert its own name, or each copy of a name its own severity",
            );
        }
        if let Err(p) = dialect::check_promql(&rule.expr) {
            c.at(&format!("{base}.expr"), p.message, p.help);
        }
        c.duration(&format!("{base}.for"), &rule.for_);
        c.no_template(
            &format!("{base}.summary"),
            "the summary",
            &rule.summary,
            true,
        );
        if let Some(d) = &rule.description {
            c.no_template(&format!("{base}.description"), "the description", d, true);
        }
        for (label, value) in &rule.labels {
            let key = crate::load::key_path(&format!("{base}.labels"), label);
            if !is_label_name(label) {
                c.at_key(
                    &key,
                    format!("`{label}` is not a label name"),
                    "use [a-zA-Z_][a-zA-Z0-9_]*",
                );
            } else if !c.reserved_label(&key, label, true)
                && (label == "alertname" || label == "severity")
            {
                c.at_key(
                    &key,
                    format!("label `{label}` is set from the alert itself"),
                    "Prometheus sets `alertname` to the alert's `name`, and obsgen sets `severity` from its `severity` field; remove this label",
                );
            }
            c.no_template(&key, &format!("label `{label}`"), value, true);
        }
    }
}

fn check_receivers_and_routes(c: &mut Checker, m: &Manifest) {
    let mut seen = BTreeSet::new();
    for (i, r) in m.receivers.iter().enumerate() {
        let base = format!("receiver[{i}]");
        c.dns_name(&format!("{base}.name"), "receiver", &r.name);
        if !seen.insert(r.name.as_str()) {
            c.at(
                &format!("{base}.name"),
                format!("duplicate receiver name `{}`", r.name),
                "give each receiver its own name",
            );
        }
        let (required, allowed): (&[&str], &[&str]) = match r.kind {
            ReceiverKind::Slack => (&["webhook_url_env"], &["channel", "webhook_url_env"]),
            ReceiverKind::Pagerduty => (&["routing_key_env"], &["routing_key_env"]),
            ReceiverKind::Opsgenie => (&["api_key_env"], &["api_key_env"]),
            ReceiverKind::Webhook => (&["url"], &["url", "bearer_token_env"]),
            ReceiverKind::Email => (
                &["to", "from", "smarthost"],
                &[
                    "to",
                    "from",
                    "smarthost",
                    "auth_username",
                    "auth_password_env",
                ],
            ),
        };
        if r.name == crate::alertmanager::UNROUTED {
            c.at(
                &format!("{base}.name"),
                format!("receiver name `{}` is reserved", r.name),
                "obsgen's root route sends unmatched alerts to `unrouted`, which notifies nobody; name yours differently, or add a catch-all [[route]] (no `match`) to send unmatched alerts to it",
            );
        }
        if r.url_env.is_some() {
            c.at_key(
                &format!("{base}.url_env"),
                "a webhook URL cannot be a secret: Alertmanager 0.25 has no `url_file`, so the URL would be written into the generated configuration",
                "put the URL in `url` (it is written into alertmanager.<env>.yml) and the secret part in `bearer_token_env` (sent as `Authorization: Bearer`, read from secrets/<name>)",
            );
        }
        let set: [(&str, bool); 11] = [
            ("channel", r.channel.is_some()),
            ("webhook_url_env", r.webhook_url_env.is_some()),
            ("routing_key_env", r.routing_key_env.is_some()),
            ("api_key_env", r.api_key_env.is_some()),
            ("url", r.url.is_some()),
            ("bearer_token_env", r.bearer_token_env.is_some()),
            ("auth_username", r.auth_username.is_some()),
            ("to", !r.to.is_empty()),
            ("from", r.from.is_some()),
            ("smarthost", r.smarthost.is_some()),
            ("auth_password_env", r.auth_password_env.is_some()),
        ];
        let kind = format!("{:?}", r.kind).to_lowercase();
        let a_kind = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
            format!("an {kind}")
        } else {
            format!("a {kind}")
        };
        for (field, present) in set {
            if present && !allowed.contains(&field) {
                c.at_key(
                    &format!("{base}.{field}"),
                    format!("`{field}` does not apply to {a_kind} receiver"),
                    format!("{a_kind} receiver takes: {}", allowed.join(", ")),
                );
            }
            if !present && required.contains(&field) && !(field == "url" && r.url_env.is_some()) {
                c.at(
                    &base,
                    format!("{kind} receiver `{}` needs `{field}`", r.name),
                    if field.ends_with("_env") {
                        format!("add `{field}`: the name of the variable that holds the secret, never the secret itself")
                    } else {
                        format!("add `{field}`")
                    },
                );
            }
        }
        for (field, value) in [
            ("webhook_url_env", &r.webhook_url_env),
            ("routing_key_env", &r.routing_key_env),
            ("api_key_env", &r.api_key_env),
            ("bearer_token_env", &r.bearer_token_env),
            ("auth_password_env", &r.auth_password_env),
        ] {
            if let Some(v) = value {
                c.env_var(&format!("{base}.{field}"), v);
            }
        }
        for (j, to) in r.to.iter().enumerate() {
            if r.to[..j].contains(to) {
                c.at(
                    &format!("{base}.to[{j}]"),
                    format!("`{to}` is listed twice"),
                    "list each address once",
                );
            }
            if let Err(why) = check_email(to) {
                c.at(
                    &format!("{base}.to[{j}]"),
                    format!("`{to}` is not an email address: {why}"),
                    "write name@example.com, one address per entry",
                );
            }
            c.no_template(&format!("{base}.to[{j}]"), "the address", to, false);
        }
        if let Some(from) = &r.from {
            if from.trim().is_empty() {
                c.at(
                    &format!("{base}.from"),
                    "the sender address `from` is empty",
                    "write the sender as alertmanager@example.com: Alertmanager refuses an email receiver without one",
                );
            } else if let Err(why) = check_email(from) {
                c.at(
                    &format!("{base}.from"),
                    format!("`{from}` is not an email address: {why}"),
                    "write the sender as alertmanager@example.com or `Alertmanager <alertmanager@example.com>`",
                );
            }
            c.no_template(&format!("{base}.from"), "the address", from, false);
        }
        if let Some(channel) = &r.channel {
            c.no_template(&format!("{base}.channel"), "the channel", channel, false);
        }
        if r.kind == ReceiverKind::Email
            && r.auth_password_env.is_some() != r.auth_username.is_some()
        {
            let (field, help) = if r.auth_username.is_some() {
                (
                    "auth_username",
                    "add `auth_password_env`: the name of the secret that holds the SMTP password",
                )
            } else {
                (
                    "auth_password_env",
                    "add `auth_username`: Alertmanager skips SMTP authentication without a login",
                )
            };
            c.at(
                &format!("{base}.{field}"),
                format!("email receiver `{}` sets `{field}` alone", r.name),
                help,
            );
        }
        if let Some(url) = &r.url {
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"));
            match rest {
                None => c.at(
                    &format!("{base}.url"),
                    format!("`{url}` is not an http(s) URL"),
                    "write http://host:port/path or https://…",
                ),
                Some(rest) if rest.split('/').next().unwrap_or("").contains('@') => c.at(
                    &format!("{base}.url"),
                    "the webhook URL carries credentials (`user:password@`)",
                    "the URL is written into the generated configuration: remove the credentials and name a bearer token secret in `bearer_token_env`",
                ),
                Some(_) => {
                    if let Err(why) = check_http_url(url) {
                        c.at(
                            &format!("{base}.url"),
                            format!("`{}` is not a webhook URL: {why}", url.escape_debug()),
                            "write http(s)://host[:port]/path[?query] (RFC 3986; percent-encode anything else)",
                        );
                    }
                }
            }
        }
        if let Some(host) = &r.smarthost
            && let Err(why) = check_host_port(host)
        {
            c.at(
                &format!("{base}.smarthost"),
                format!(
                    "smarthost `{}` is not host:port: {why}",
                    host.escape_debug()
                ),
                "write host:port, like smtp.example.com:587",
            );
        }
    }
    let receivers: Vec<&str> = m.receivers.iter().map(|r| r.name.as_str()).collect();
    for (i, route) in m.routes.iter().enumerate() {
        let base = format!("route[{i}]");
        if route.receivers.is_empty() {
            c.at(
                &format!("{base}.receivers"),
                "a route without receivers",
                "name at least one [[receiver]]",
            );
        }
        for (j, name) in route.receivers.iter().enumerate() {
            if route.receivers[..j].contains(name) {
                c.at(
                    &format!("{base}.receivers[{j}]"),
                    format!("receiver `{name}` is listed twice"),
                    "list each receiver once",
                );
            } else if name == crate::alertmanager::WATCHDOG && receivers.contains(&name.as_str()) {
                c.at(
                    &format!("{base}.receivers[{j}]"),
                    "receiver `watchdog` is the dead-man's switch: it gets only the always-firing Watchdog alert",
                    "route alerts to another receiver; `watchdog` is wired to the Watchdog alert automatically",
                );
            } else if !receivers.contains(&name.as_str()) {
                let hint = suggest(name, receivers.iter().copied())
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                c.at(
                    &format!("{base}.receivers[{j}]"),
                    format!("route names unknown receiver `{name}`"),
                    format!(
                        "{hint}known receivers: {}",
                        if receivers.is_empty() {
                            "none".into()
                        } else {
                            receivers.join(", ")
                        }
                    ),
                );
            }
        }
        for (field, map) in [("match", &route.matchers), ("match_re", &route.match_re)] {
            for label in map.keys() {
                let key = crate::load::key_path(&format!("{base}.{field}"), label);
                if !is_label_name(label) {
                    c.at_key(
                        &key,
                        format!("`{label}` is not a label name"),
                        "use [a-zA-Z_][a-zA-Z0-9_]*",
                    );
                } else {
                    c.reserved_label(&key, label, true);
                }
            }
        }
        for (label, re) in &route.match_re {
            if let Err(why) = dialect::check_regex(re) {
                c.at(
                    &crate::load::key_path(&format!("{base}.match_re"), label),
                    format!("`{re}` is not a regular expression Alertmanager accepts: {why}"),
                    "write an RE2 expression; it must match the whole label value (`api|web`, `db-.*`). Go's RE2 syntax, which Alertmanager 0.25 and 0.28 both take: `(?P<name>…)` groups, flags i m s U, no look-around or back-references",
                );
            }
        }
        for (j, label) in route.group_by.iter().flatten().enumerate() {
            let key = format!("{base}.group_by[{j}]");
            if label != "..." && !c.reserved_label(&key, label, false) && !is_label_name(label) {
                c.at(
                    &format!("{base}.group_by[{j}]"),
                    format!("`{label}` is not a label name"),
                    "list label names ([a-zA-Z_][a-zA-Z0-9_]*), or `...` to group by every label",
                );
            }
        }
        if let Some(k) = m.routes[..i]
            .iter()
            .position(|r| r.matchers.is_empty() && r.match_re.is_empty() && !r.continue_)
        {
            c.at_key(
                &base,
                format!("route[{i}] can never match: route[{k}] has no `match` and catches every alert first"),
                format!("move the catch-all route[{k}] last, or give it `continue = true`"),
            );
        }
        for (field, value) in [
            ("group_wait", &route.group_wait),
            ("group_interval", &route.group_interval),
            ("repeat_interval", &route.repeat_interval),
        ] {
            if let Some(v) = value {
                c.duration(&format!("{base}.{field}"), v);
            }
        }
    }
}

fn check_other(c: &mut Checker, m: &Manifest) {
    if let Some(r) = m.tracing.sample_ratio
        && !(r > 0.0 && r <= 1.0)
    {
        c.at(
            "tracing.sample_ratio",
            format!("sample_ratio = {r} is out of range"),
            "use a fraction in (0, 1], like 0.1",
        );
    }
    if let Some(ret) = &m.logging.retention {
        c.duration("logging.retention", ret);
    }
    if let Some(dsn) = &m.errors.dsn_env {
        c.env_var("errors.dsn_env", dsn);
    }
    if let Some(minio) = &m.storage.minio {
        for (i, b) in minio.buckets.iter().enumerate() {
            let ok = (3..=63).contains(&b.len())
                && b.bytes().all(|ch| {
                    ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == b'-' || ch == b'.'
                })
                && b.starts_with(|ch: char| ch.is_ascii_alphanumeric())
                && b.ends_with(|ch: char| ch.is_ascii_alphanumeric());
            let key = format!("storage.minio.buckets[{i}]");
            if !ok {
                c.at(
                    &key,
                    format!("`{b}` is not an S3 bucket name"),
                    "use 3-63 lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit",
                );
            } else if b.contains("..")
                || b.parse::<std::net::Ipv4Addr>().is_ok()
                || ["xn--", "sthree-"].iter().any(|p| b.starts_with(p))
                || ["-s3alias", "--ol-s3"].iter().any(|s| b.ends_with(s))
            {
                c.at(
                    &key,
                    format!("`{b}` is not an S3 bucket name"),
                    "S3 forbids `..`, IP addresses, the prefixes `xn--` and `sthree-` and the suffixes `-s3alias` and `--ol-s3`",
                );
            } else if minio.buckets[..i].contains(b) {
                c.at(
                    &key,
                    format!("bucket `{b}` is listed twice"),
                    "list each bucket once",
                );
            }
        }
    }
    if let Some(aws) = &m.deploy.aws {
        let parts: Vec<&str> = aws.region.split('-').collect();
        if parts.len() < 3
            || !parts.iter().all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            })
        {
            c.at(
                "deploy.aws.region",
                format!("`{}` is not an AWS region", aws.region),
                "write a region code such as `eu-central-1`",
            );
        }
        if let Some(domain) = &aws.domain
            && (domain.split('.').count() < 2
                || domain.len() > 253
                || !domain.split('.').all(is_dns_label))
        {
            c.at(
                "deploy.aws.domain",
                format!("`{domain}` is not a domain name"),
                "write a lowercase domain such as `shop.example.com`",
            );
        }
    }
    if let Some(aws) = &m.deploy.aws {
        if !m.project.environments.iter().any(|e| e == "production") {
            c.at(
                "deploy.aws.region",
                "`[deploy.aws]` deploys the `production` environment, which the project lacks",
                "add \"production\" to `project.environments`",
            );
        }
        if let Some(t) = &aws.instance_type
            && !t.split_once('.').is_some_and(|(family, size)| {
                !family.is_empty()
                    && !size.is_empty()
                    && t.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-'
                    })
            })
        {
            c.at(
                "deploy.aws.instance_type",
                format!("`{t}` is not an EC2 instance type"),
                "write a type such as `t3.large`, or leave it out to size the host from the production limits",
            );
        }
    }
    for (i, r) in m.prometheus.remote_write.iter().enumerate() {
        for (field, value) in [
            ("password_file", &r.password_file),
            ("bearer_token_file", &r.bearer_token_file),
        ] {
            if let Some(p) = value {
                c.path_length(&format!("prometheus.remote_write[{i}].{field}"), p);
            }
        }
    }
    if let Some(ci) = &m.ci
        && let Some(branch) = &ci.branch
        && (branch.is_empty()
            || branch.starts_with(['-', '/'])
            || branch.ends_with(['/', '.'])
            || branch.contains("..")
            || branch.contains("//")
            || branch
                .chars()
                .any(|ch| ch.is_whitespace() || ch.is_control() || "~^:?*[\\'\"".contains(ch)))
    {
        c.at(
            "ci.branch",
            format!("`{branch}` is not a branch name"),
            "write a git branch name such as `main` or `release/v2`",
        );
    } else if let Some(ci) = &m.ci
        && let Some(branch) = &ci.branch
        && (branch.starts_with('!')
            || branch.contains('+')
            || branch.contains("@{")
            || branch.contains("${{"))
    {
        // The branch is a filter pattern in `on.push.branches` / `on.workflow_run.branches`,
        // where GitHub reads `!`, `+` as pattern syntax and allows no expression at all.
        c.at(
            "ci.branch",
            format!("`{branch}` cannot be written as a GitHub branch filter"),
            "use a branch name without `+`, `@{`, `${{` and not starting with `!` (GitHub reads them as filter syntax or expressions)",
        );
    }
    if let Some(ci) = &m.ci
        && let Some(reg) = &ci.registry
        && (reg.is_empty() || reg.contains(char::is_whitespace) || reg.contains("://"))
    {
        c.at(
            "ci.registry",
            format!("`{reg}` is not a registry host"),
            "write a host such as `ghcr.io`, without a scheme",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_are_found_and_named() {
        let g: BTreeMap<&str, Vec<&str>> = BTreeMap::from([
            ("a", vec!["b"]),
            ("b", vec!["c"]),
            ("c", vec!["a"]),
            ("d", vec!["a"]),
        ]);
        assert_eq!(find_cycle(&g), Some(vec!["a", "b", "c", "a"]));
        let g: BTreeMap<&str, Vec<&str>> = BTreeMap::from([("a", vec!["b", "db"]), ("b", vec![])]);
        assert_eq!(find_cycle(&g), None);
    }

    #[test]
    fn valid_examples_have_no_problems() {
        for name in [
            "minimal",
            "shop",
            "microservices",
            "everything",
            "all-exporters",
        ] {
            let path = format!("{}/examples/{name}/obsgen.toml", env!("CARGO_MANIFEST_DIR"));
            let loaded =
                crate::load::load_manifest(std::fs::read_to_string(path).unwrap(), "obsgen.toml")
                    .unwrap();
            assert_eq!(validate(&loaded), vec![], "{name}");
        }
    }
}
