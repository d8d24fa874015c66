//! `[[service]]`: image or build, ports, metrics and health paths, replicas, the
//! container fields ([`super::container`]) and `depends_on` (references and cycles).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::Checker;
use super::MAX_REPLICAS;
use super::container::check_service_container;
use crate::diag::suggest;
use crate::manifest::Manifest;
use crate::units::{is_dns_label, is_env_name, is_label_name};

pub(super) fn check_services(c: &mut Checker, m: &Manifest) {
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
}
