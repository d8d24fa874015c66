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

mod addons;
mod alerts;
mod container;
mod databases;
mod delivery;
mod environments;
mod levels;
mod ports;
mod receivers;
mod services;

use std::collections::HashMap;

use crate::assets;
use crate::diag::{Diagnostic, suggest};
use crate::dialect;
use crate::layers::{self, COMPONENT_NAMES};
use crate::load::{Loaded, SpanMap};
use crate::manifest::Manifest;
use crate::units::{ValueError, check_path_length, duration, is_dns_label, is_env_name};
use addons::check_addons;
use alerts::check_alerts;
use databases::check_databases;
use delivery::check_delivery;
use environments::check_environments;
use ports::check_host_ports;
use receivers::check_receivers_and_routes;
use services::check_services;

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
        for r in layers::replica_names(&s.name, replicas) {
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
    levels::check_levels(&mut c, m);
    check_receivers_and_routes(&mut c, m);
    check_addons(&mut c, m);
    check_delivery(&mut c, m);
    c.out.extend(crate::components::check(m, c.spans));
    c.out.extend(crate::kubernetes::check(m, c.spans));

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

#[cfg(test)]
mod tests {
    use super::*;

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
