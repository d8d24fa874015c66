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
