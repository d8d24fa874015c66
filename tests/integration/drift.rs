//! Drift: `check` tells apart stale, modified (hand edits), missing and orphaned
//! files; `generate` refreshes stale files, removes orphans and refuses to overwrite
//! hand edits without `--force`.

use crate::support::Project;

const COMPOSE: &str = "compose.production.yaml";

#[test]
fn hand_edit_is_modified_and_generate_refuses_it() {
    let p = Project::example("shop");
    p.generate();
    let edited = p
        .read(COMPOSE)
        .replace("max-file: \"5\"", "max-file: \"50\"");
    p.write(COMPOSE, &edited);
    let check = p.run(&["check"]).expect(1);
    assert!(
        check.stdout.contains(&format!("modified  {COMPOSE}")),
        "{}",
        check.stdout
    );
    assert!(check.stdout.contains("edited by hand"), "{}", check.stdout);
    let before = p.tree();
    let run = p.run(&["generate"]).expect(2);
    assert!(
        run.stderr
            .contains("refusing to overwrite 1 file changed by hand"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(COMPOSE) && run.stderr.contains("help: run `obsgen diff`"),
        "{}",
        run.stderr
    );
    assert_eq!(p.tree(), before, "a refused generate must write nothing");
    p.run(&["generate", "--force"]).expect(0);
    assert!(!p.read(COMPOSE).contains("\"50\""));
    p.run(&["check"]).expect(0);
}

#[test]
fn manifest_change_makes_files_stale_with_a_diff() {
    let p = Project::example("shop");
    p.generate();
    let m = p.read("obsgen.toml").replace("port = 5921", "port = 5922");
    p.write("obsgen.toml", &m);
    let check = p.run(&["check"]).expect(1);
    assert!(
        check.stdout.contains("stale     compose.yaml"),
        "{}",
        check.stdout
    );
    assert!(
        check
            .stdout
            .contains("stale     monitoring/prometheus/targets/gateway.yml"),
        "{}",
        check.stdout
    );
    // Only what drifted is listed (as `cargo fmt --check` does); `-v` lists every file.
    assert!(
        !check.stdout.contains("ok        "),
        "an up-to-date file is listed without -v:\n{}",
        check.stdout
    );
    let verbose = p.run(&["check", "-v"]).expect(1);
    assert!(
        verbose
            .stdout
            .contains("ok        monitoring/prometheus/targets/backend.yml"),
        "{}",
        verbose.stdout
    );
    assert!(
        check
            .stdout
            .contains("-    - \"gateway:5921\"\n+    - \"gateway:5922\""),
        "diff missing:\n{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("stale     obsgen.lock"),
        "{}",
        check.stdout
    );
    let diff = p.run(&["diff"]).expect(1);
    assert!(
        diff.stdout
            .contains("--- a/compose.yaml\n+++ b/compose.yaml"),
        "{}",
        diff.stdout
    );
    p.generate();
    p.run(&["check"]).expect(0);
    p.run(&["diff"]).expect(0);
}

#[test]
fn deleted_file_is_missing() {
    let p = Project::example("minimal");
    p.generate();
    std::fs::remove_file(p.path().join(".env.example")).unwrap();
    let check = p.run(&["check"]).expect(1);
    assert!(
        check.stdout.contains("missing   .env.example"),
        "{}",
        check.stdout
    );
    p.generate();
    assert!(p.exists(".env.example"));
}

#[test]
fn removed_environment_is_orphaned_and_generate_removes_it() {
    let p = Project::example("microservices");
    p.generate();
    assert!(p.exists("compose.staging.yaml"));
    let m = p
        .read("obsgen.toml")
        .replace(
            "[\"development\", \"staging\", \"production\"]",
            "[\"development\", \"production\"]",
        )
        .replace("[environment.staging]\nretention_time = \"3d\"\n", "");
    p.write("obsgen.toml", &m);
    let check = p.run(&["check"]).expect(1);
    assert!(
        check.stdout.contains("orphaned  compose.staging.yaml"),
        "{}",
        check.stdout
    );
    assert!(
        check
            .stdout
            .contains("orphaned  monitoring/prometheus/prometheus.staging.yml"),
        "{}",
        check.stdout
    );
    let run = p.generate();
    assert!(
        run.stdout.contains("removed compose.staging.yaml"),
        "{}",
        run.stdout
    );
    assert!(!p.exists("compose.staging.yaml"));
    assert!(!p.exists("monitoring/prometheus/prometheus.staging.yml"));
    assert!(p.exists("monitoring/prometheus/prometheus.production.yml"));
    p.run(&["check"]).expect(0);
}

#[test]
fn removed_service_is_orphaned_and_generate_removes_it() {
    let p = Project::example("shop");
    p.generate();
    let target = "monitoring/prometheus/targets/backend.yml";
    assert!(p.exists(target));
    // Drop the backend service (and what refers to it).
    let m = p.read("obsgen.toml");
    let start = m.find("[[service]]\nname = \"backend\"").unwrap();
    let end = m[start..].find("[[database]]").unwrap() + start;
    let m = format!("{}{}", &m[..start], &m[end..]).replace("depends_on = [\"backend\"]\n", "");
    p.write("obsgen.toml", &m);
    let check = p.run(&["check"]).expect(1);
    assert!(
        check.stdout.contains(&format!("orphaned  {target}")),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("stale     compose.yaml"),
        "{}",
        check.stdout
    );
    let run = p.generate();
    assert!(
        run.stdout.contains(&format!("removed {target}")),
        "{}",
        run.stdout
    );
    assert!(!p.exists(target));
    assert!(p.exists("monitoring/prometheus/targets/gateway.yml"));
    p.run(&["check"]).expect(0);
}

#[test]
fn edited_orphan_is_kept_without_force() {
    let p = Project::example("microservices");
    p.generate();
    let m = p.read("obsgen.toml").replace(
        "\"development\", \"staging\", \"production\"",
        "\"development\", \"production\"",
    );
    let m = m.replace("[environment.staging]\nretention_time = \"3d\"\n", "");
    p.write("obsgen.toml", &m);
    p.write("compose.staging.yaml", "# my own notes\n");
    let run = p.run(&["generate"]).expect(2);
    assert!(
        run.stderr
            .contains("compose.staging.yaml (no longer generated, and edited by hand since)"),
        "{}",
        run.stderr
    );
    assert!(p.exists("compose.staging.yaml"));
    p.run(&["generate", "--force"]).expect(0);
    assert!(!p.exists("compose.staging.yaml"));
}

#[test]
fn check_formats_json_and_github() {
    let p = Project::example("minimal");
    p.generate();
    p.write("compose.yaml", "# edited\n");
    let json = p.run(&["check", "--format", "json"]).expect(1);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["clean"], false);
    let states: Vec<(String, String)> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        states.contains(&("compose.yaml".into(), "modified".into())),
        "{states:?}"
    );
    assert!(
        states.contains(&(".env.example".into(), "ok".into())),
        "{states:?}"
    );
    let gh = p.run(&["check", "--format", "github"]).expect(1);
    assert!(
        gh.stdout
            .contains("::error file=compose.yaml,title=obsgen check: modified::"),
        "{}",
        gh.stdout
    );
    assert_eq!(gh.stdout.matches("::error").count(), 1, "{}", gh.stdout);
}

#[test]
fn dry_run_writes_nothing() {
    let p = Project::example("shop");
    let before = p.tree();
    let out = p.run(&["generate", "--dry-run"]).expect(0);
    assert!(
        out.stdout.contains("would write compose.yaml"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("nothing was written"));
    assert_eq!(p.tree(), before);
}

/// A project generated by another obsgen version: the file it wrote differently (its
/// hash in the lock) and the lock that names the version.
fn generated_by(version: &str) -> (Project, &'static str) {
    let p = Project::example("minimal");
    p.generate();
    let path = "monitoring/prometheus/rules/services.yml";
    let fresh = p.read(path);
    let old = fresh.replacen("for: ", "for:  ", 1);
    assert_ne!(old, fresh);
    p.write(path, &old);
    let current = env!("CARGO_PKG_VERSION");
    let lock = p
        .read("obsgen.lock")
        .replace(
            &format!("obsgen = \"{current}\""),
            &format!("obsgen = \"{version}\""),
        )
        .replace(
            &obsgen::lock::sha256(fresh.as_bytes()),
            &obsgen::lock::sha256(old.as_bytes()),
        );
    assert!(lock.contains(&format!("obsgen = \"{version}\"")), "{lock}");
    p.write("obsgen.lock", &lock);
    (p, path)
}

#[test]
fn stale_because_obsgen_was_upgraded_says_so_and_points_at_the_changes() {
    let current = env!("CARGO_PKG_VERSION");
    let (p, path) = generated_by("0.0.9");
    let check = p.run(&["check"]).expect(1);
    assert!(
        check.stdout.contains(&format!(
            "stale     {path}  (written by obsgen 0.0.9; obsgen {current} generates it differently from the same manifest)"
        )),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains(&format!(
            "stale     obsgen.lock  (written by obsgen 0.0.9, this is obsgen {current}; the manifest did not change, so the differences come from the upgrade: `obsgen templates list` shows what changed in template set v1 (templates/CHANGES.toml))"
        )),
        "{}",
        check.stdout
    );
    // The same wording reaches CI annotations.
    let github = p.run(&["check", "--format", "github"]).expect(1);
    assert!(
        github.stdout.contains("`obsgen templates list`"),
        "{}",
        github.stdout
    );
    // A manifest edit as well: the differences are not the upgrade's alone.
    let m = p.read("obsgen.toml");
    p.write("obsgen.toml", &format!("{m}\n# edited\n"));
    let check = p.run(&["check"]).expect(1);
    assert!(
        !check.stdout.contains("obsgen templates list")
            && check.stdout.contains(&format!(
                "stale     {path}  (out of date with the manifest or templates)"
            )),
        "{}",
        check.stdout
    );
}

#[test]
fn a_lock_from_a_newer_obsgen_asks_for_that_version() {
    let current = env!("CARGO_PKG_VERSION");
    let (p, _) = generated_by("99.0.0");
    let check = p.run(&["check"]).expect(1);
    assert!(
        check.stdout.contains(&format!(
            "stale     obsgen.lock  (written by obsgen 99.0.0, newer than this obsgen {current}: install that version (`cargo install obsgen --locked --version 99.0.0`) rather than generate with an older one)"
        )),
        "{}",
        check.stdout
    );
}

#[test]
fn a_version_in_the_lock_that_is_not_a_version_is_not_printed() {
    let (p, path) = generated_by("0.0.9\\u001b[31m");
    let check = p.run(&["check"]).expect(1);
    assert!(!check.stdout.contains('\u{1b}'), "{}", check.stdout);
    assert!(
        check.stdout.contains(&format!(
            "stale     {path}  (out of date with the manifest or templates)"
        )),
        "{}",
        check.stdout
    );
}
