//! cAdvisor's `name` label is the engine's container name, and obsgen supports both Compose
//! implementations: Compose v2 names a container `<project>-<service>-<n>`, docker-compose
//! v1 `<project>_<service>_<n>`. Every `name=~"…"` selector of every generated dashboard
//! must match the containers of its services under both (issue 17: under docker-compose
//! v1 the container panels of `examples/shop` matched 0 of 14 series).

use std::collections::BTreeSet;

use regex::Regex;
use serde_json::Value as Json;

use crate::support::{Project, examples, yaml};

/// Every `name=~"…"` regex in the strings of the dashboards of a generated project.
fn selectors(p: &Project) -> BTreeSet<String> {
    fn walk(v: &Json, re: &Regex, out: &mut BTreeSet<String>) {
        match v {
            Json::String(s) => out.extend(re.captures_iter(s).map(|c| c[1].to_string())),
            Json::Array(a) => a.iter().for_each(|x| walk(x, re, out)),
            Json::Object(o) => o.values().for_each(|x| walk(x, re, out)),
            _ => {}
        }
    }
    let re = Regex::new(r#"name=~"([^"]*)""#).unwrap();
    let mut out = BTreeSet::new();
    for f in p.files_ending(".json") {
        if f.starts_with("monitoring/grafana/dashboards/") {
            walk(&serde_json::from_str(&p.read(&f)).unwrap(), &re, &mut out);
        }
    }
    out
}

#[test]
fn container_selectors_match_compose_v1_and_v2_names() {
    let mut checked = 0;
    let replica = Regex::new(r"-[0-9]+$").unwrap();
    for ex in examples() {
        let p = Project::example(&ex);
        p.generate();
        let project = yaml(&p.read("compose.yaml"));
        let services: Vec<String> = project["services"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        let env = p.read(".env.example");
        let name = env
            .lines()
            .find_map(|l| l.strip_prefix("COMPOSE_PROJECT_NAME="))
            .expect("COMPOSE_PROJECT_NAME in .env.example")
            .to_string();
        // The $service variable holds manifest service names: the Compose service without
        // its replica suffix.
        let bases: BTreeSet<String> = services
            .iter()
            .map(|s| replica.replace(s, "").into_owned())
            .collect();
        for sel in selectors(&p) {
            if sel.contains("$instance") {
                continue; // a variable filled from the series themselves
            }
            let concrete: Vec<String> = if sel.contains("$service") {
                bases.iter().map(|b| sel.replace("$service", b)).collect()
            } else {
                vec![sel.clone()]
            };
            for c in concrete {
                let re = Regex::new(&format!("^(?:{c})$"))
                    .unwrap_or_else(|e| panic!("{ex}: selector {c}: {e}"));
                let v2: BTreeSet<&String> = services
                    .iter()
                    .filter(|s| re.is_match(&format!("{name}-{s}-1")))
                    .collect();
                let v1: BTreeSet<&String> = services
                    .iter()
                    .filter(|s| re.is_match(&format!("{name}_{s}_1")))
                    .collect();
                assert!(
                    !v2.is_empty(),
                    "{ex}: `{c}` matches no Compose v2 container name"
                );
                assert_eq!(
                    v1, v2,
                    "{ex}: `{c}` matches other containers under docker-compose v1 \
                     ({name}_<service>_1) than under Compose v2 ({name}-<service>-1)"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 10, "only {checked} selectors checked");
}
