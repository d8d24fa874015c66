//! Every `uses:` obsgen writes or runs is pinned by a full commit SHA with its release tag
//! in a comment (`uses: actions/checkout@<40 hex> # v4.2.2`), and every SHA/tag pair is one
//! of `templates/v1/ci/pins.toml`: the workflows of every example, obsgen's own workflows
//! under `.github/workflows/` and its `action.yml`.

use std::collections::BTreeSet;

use crate::support::{Project, examples, repo, yaml};

/// `(uses, sha, tag)` of every action in pins.toml.
fn pinned() -> BTreeSet<(String, String, String)> {
    let text = std::fs::read_to_string(repo().join("templates/v1/ci/pins.toml")).unwrap();
    let pins: toml::Table = toml::from_str(&text).unwrap();
    pins["actions"]
        .as_table()
        .unwrap()
        .values()
        .map(|a| {
            let f = |k: &str| a[k].as_str().unwrap().to_string();
            (f("uses"), f("sha"), f("tag"))
        })
        .collect()
}

/// Problems of one file's `uses:` lines: each must read `uses: <action>@<sha> # <tag>`
/// with the triple in `pins`, and the YAML must hold no `uses` the lines do not show.
fn problems(name: &str, text: &str, pins: &BTreeSet<(String, String, String)>) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = 0;
    for line in text.lines() {
        let t = line.trim_start().trim_start_matches("- ");
        let Some(rest) = t.strip_prefix("uses:") else {
            continue;
        };
        lines += 1;
        let parsed = rest.trim().split_once(" # ").and_then(|(action, tag)| {
            let (uses, sha) = action.split_once('@')?;
            Some((uses.to_string(), sha.to_string(), tag.trim().to_string()))
        });
        match parsed {
            Some(triple) if pins.contains(&triple) => {}
            _ => out.push(format!(
                "{name}: `{}` is not `<action>@<sha> # <tag>` of templates/v1/ci/pins.toml",
                t.trim()
            )),
        }
    }
    let value = yaml(text);
    let mut in_yaml = 0;
    count_uses(&value, &mut in_yaml);
    if in_yaml != lines {
        out.push(format!(
            "{name}: {in_yaml} `uses` in the YAML, {lines} `uses:` lines"
        ));
    }
    out
}

fn count_uses(v: &serde_json::Value, n: &mut usize) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                if k == "uses" {
                    *n += 1;
                }
                count_uses(v, n);
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|v| count_uses(v, n)),
        _ => {}
    }
}

#[test]
fn every_action_is_pinned_by_sha_from_pins_toml() {
    let pins = pinned();
    let mut files: Vec<(String, String)> = Vec::new();
    for name in examples() {
        let p = Project::example(&name);
        p.generate();
        for f in p.files_ending(".yml") {
            if f.starts_with(".github/workflows/") {
                files.push((format!("{name}/{f}"), p.read(&f)));
            }
        }
    }
    assert!(
        files.iter().any(|(n, _)| n.ends_with("/ci.yml"))
            && files.iter().any(|(n, _)| n.ends_with("/deploy.yml")),
        "the examples generate every workflow"
    );
    for entry in std::fs::read_dir(repo().join(".github/workflows")).unwrap() {
        let path = entry.unwrap().path();
        files.push((
            path.display().to_string(),
            std::fs::read_to_string(&path).unwrap(),
        ));
    }
    files.push((
        "action.yml".into(),
        std::fs::read_to_string(repo().join("action.yml")).unwrap(),
    ));
    let mut all = Vec::new();
    let mut used = 0;
    for (name, text) in &files {
        used += text.matches("uses:").count();
        all.extend(problems(name, text, &pins));
    }
    assert!(used > 20, "{used} uses: lines");
    assert!(all.is_empty(), "{}", all.join("\n"));
}

#[test]
fn the_pin_check_rejects_a_tag_a_foreign_sha_and_a_hidden_uses() {
    let pins = pinned();
    let (uses, sha, tag) = pins.iter().next().unwrap().clone();
    let good = format!("jobs:\n  a:\n    steps:\n      - uses: {uses}@{sha} # {tag}\n");
    assert_eq!(problems("good", &good, &pins), Vec::<String>::new());
    for bad in [
        format!("jobs:\n  a:\n    steps:\n      - uses: {uses}@{tag}\n"),
        format!(
            "jobs:\n  a:\n    steps:\n      - uses: {uses}@{} # {tag}\n",
            "0".repeat(40)
        ),
        format!("jobs:\n  a:\n    steps:\n      - uses: {uses}@{sha} # v0.0.1\n"),
        format!("jobs:\n  a:\n    steps:\n      - {{uses: {uses}@{sha}}}\n"),
    ] {
        assert!(!problems("bad", &bad, &pins).is_empty(), "{bad}");
    }
}
