//! Bad input: every manifest in `tests/bad/` is rejected with exit code 2, the
//! message fragments its `# expect:` lines name (location, key, help), and the
//! project folder — which holds a previous, valid generation — byte-for-byte unchanged.

use crate::support::{Project, repo};

#[test]
fn every_bad_manifest_is_rejected_with_location_and_help_and_writes_nothing() {
    let dir = repo().join("tests/bad");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    files.sort();
    assert!(files.len() >= 20, "only {} bad manifests", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(file).unwrap();
        let expects: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# expect: "))
            .collect();
        assert!(!expects.is_empty(), "{name} has no `# expect:` lines");
        assert!(
            expects.iter().any(|e| e.contains("obsgen.toml:")),
            "{name} must expect a file:line:col location"
        );
        assert!(
            expects.iter().any(|e| e.contains("help:")),
            "{name} must expect a help: line"
        );

        // A project that was generated before from a valid manifest.
        let p = Project::example("shop");
        p.generate();
        p.write("obsgen.toml", &text);
        let before = p.tree();
        for cmd in [
            &["generate"][..],
            &["generate", "--force"],
            &["check"],
            &["diff"],
        ] {
            let out = p.run(cmd);
            if out.code != 2 {
                failures.push(format!(
                    "{name}: `obsgen {}` exited {} (want 2)\n{}",
                    cmd.join(" "),
                    out.code,
                    out.stderr
                ));
                continue;
            }
            for e in &expects {
                if !out.stderr.contains(e) {
                    failures.push(format!("{name}: stderr lacks {e:?}:\n{}", out.stderr));
                }
            }
            if p.tree() != before {
                failures.push(format!(
                    "{name}: `obsgen {}` changed the project folder",
                    cmd.join(" ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// Every scalar (or list of scalars) of a TOML value with its key path.
fn leaves(v: &toml::Value, path: &str, out: &mut Vec<(String, toml::Value)>) {
    match v {
        toml::Value::Table(t) => {
            for (k, item) in t {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                leaves(item, &p, out);
            }
        }
        toml::Value::Array(items) if items.iter().any(|i| i.is_table()) => {
            for (i, item) in items.iter().enumerate() {
                leaves(item, &format!("{path}[{i}]"), out);
            }
        }
        other => out.push((path.to_string(), other.clone())),
    }
}

#[test]
fn each_wrongly_typed_value_of_the_examples_is_exactly_one_problem_at_its_key() {
    // The load stage reads around a wrongly typed value and the semantic checks run on
    // the rest: that must not add problems that only follow from the left-out value.
    let mut failures = Vec::new();
    let mut cases = 0;
    for name in crate::support::examples() {
        let text = std::fs::read_to_string(repo().join("examples").join(&name).join("obsgen.toml"))
            .unwrap();
        let doc: toml::Value = toml::from_str(&text).unwrap();
        let mut all = Vec::new();
        leaves(&doc, "", &mut all);
        for (path, value) in all {
            let wrong = match value {
                toml::Value::String(_) => toml::Value::Integer(7),
                _ => toml::Value::String("seven".into()),
            };
            let mut m = doc.clone();
            let mut cur = &mut m;
            for part in path.split('.') {
                let (key, idx) = part.split_once('[').unwrap_or((part, ""));
                cur = &mut cur[key];
                if let Ok(i) = idx.trim_end_matches(']').parse::<usize>() {
                    cur = &mut cur[i];
                }
            }
            *cur = wrong;
            cases += 1;
            let edited = toml::to_string(&m).unwrap();
            match obsgen::project::load_valid(edited, "obsgen.toml") {
                Ok(_) => failures.push(format!("{name}: {path}: accepted")),
                Err(d)
                    if d.items.len() != 1
                        || d.items[0].key.as_deref() != Some(path.as_str())
                        || d.items[0].span.is_none() =>
                {
                    failures.push(format!("{name}: {path}:\n{}", d.render(false)));
                }
                Err(_) => {}
            }
        }
    }
    assert!(cases > 200, "only {cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases:\n\n{}",
        failures.len(),
        failures
            .iter()
            .take(12)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}
