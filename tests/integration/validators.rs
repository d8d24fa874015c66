//! The generated files, checked by the real tools users run: `promtool check config`
//! (which also checks the file-SD target files), the Compose JSON schema
//! (`check-jsonschema --builtin-schema vendor.compose-spec`) and `docker-compose config -q`
//! on every combination docs/compose.md tells users to run. Under `CI=true` a missing
//! validator fails the test; outside CI it is skipped with a loud message.

use std::process::Command;

use crate::support::{Project, examples, require_tool};

fn run(cmd: &mut Command) -> (bool, String) {
    let (code, text) = crate::support::tool(cmd);
    (code == 0, text)
}

#[test]
fn promtool_accepts_every_prometheus_config() {
    let Some(promtool) = require_tool("promtool") else {
        return;
    };
    let mut checked = 0;
    for name in examples() {
        let p = Project::example(&name);
        p.generate();
        for f in p
            .files_ending(".yml")
            .into_iter()
            .filter(|f| f.starts_with("monitoring/prometheus/prometheus."))
        {
            let (ok, text) = run(Command::new(&promtool)
                .args(["check", "config"])
                .arg(p.path().join(&f)));
            assert!(ok, "{name}: promtool check config {f}:\n{text}");
            assert!(
                !text.contains("WARNING"),
                "{name}: promtool warns on {f}:\n{text}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 7, "only {checked} configs checked");
}

#[test]
fn promtool_rejects_a_broken_target_file() {
    // Proves the check above reads the target files, not only the main config.
    let Some(promtool) = require_tool("promtool") else {
        return;
    };
    let p = Project::example("shop");
    p.generate();
    p.write(
        "monitoring/prometheus/targets/backend.yml",
        "- targets: [1: 2]\n",
    );
    let (ok, _) = run(Command::new(&promtool).args(["check", "config"]).arg(
        p.path()
            .join("monitoring/prometheus/prometheus.production.yml"),
    ));
    assert!(!ok);
}

#[test]
fn compose_schema_accepts_every_compose_file() {
    let Some(cj) = require_tool("check-jsonschema") else {
        return;
    };
    for name in examples() {
        let p = Project::example(&name);
        p.generate();
        let files: Vec<String> = p
            .files_ending(".yaml")
            .into_iter()
            .filter(|f| f.starts_with("compose"))
            .collect();
        assert!(files.iter().any(|f| f == "compose.yaml"), "{files:?}");
        let (ok, text) = run(Command::new(&cj)
            .args(["--builtin-schema", "vendor.compose-spec"])
            .args(files.iter().map(|f| p.path().join(f))));
        assert!(ok, "{name}: compose schema:\n{text}");
    }
}

#[test]
fn docker_compose_merges_base_and_each_environment() {
    // docker-compose v1 needs no engine. It resolves build contexts and ${VAR:?} at
    // config time, so the test creates the build folders and sets every variable
    // .env.example lists (the way a user's .env would).
    let Some(dc) = require_tool("docker-compose") else {
        return;
    };
    for name in examples() {
        let p = Project::example(&name);
        p.generate();
        let compose: serde_json::Value = serde_saphyr::from_str(&p.read("compose.yaml")).unwrap();
        for svc in compose["services"].as_object().unwrap().values() {
            if let Some(ctx) = svc["build"]["context"].as_str() {
                std::fs::create_dir_all(p.path().join(ctx)).unwrap();
            }
            // docker-compose fails on a missing env_file (as the CI workflow's
            // placeholders do, an empty one stands in).
            for f in svc["env_file"].as_array().into_iter().flatten() {
                p.write(f.as_str().unwrap(), "");
            }
        }
        let vars: Vec<String> = p
            .read(".env.example")
            .lines()
            .filter(|l| !l.starts_with('#') && l.contains('='))
            .map(|l| l.split('=').next().unwrap().to_string())
            .collect();
        let envs: Vec<String> = p
            .files_ending(".yaml")
            .into_iter()
            .filter(|f| f.starts_with("compose.") && f != "compose.yaml")
            .collect();
        assert!(envs.len() >= 2, "{name}: {envs:?}");
        for env_file in envs {
            let mut cmd = Command::new(&dc);
            cmd.current_dir(p.path())
                .args(["-f", "compose.yaml", "-f", &env_file, "config", "-q"]);
            for v in &vars {
                cmd.env(v, "test-value");
            }
            let (ok, text) = run(&mut cmd);
            assert!(
                ok,
                "{name}: docker-compose -f compose.yaml -f {env_file} config -q:\n{text}"
            );
            // Without the secrets the stack must refuse to start: no silent empty passwords.
            let mut bare = Command::new(&dc);
            bare.current_dir(p.path()).args([
                "-f",
                "compose.yaml",
                "-f",
                &env_file,
                "config",
                "-q",
            ]);
            for v in &vars {
                bare.env_remove(v);
            }
            if vars.iter().any(|v| v.ends_with("_PASSWORD")) {
                let (ok, text) = run(&mut bare);
                assert!(
                    !ok && text.contains("in .env"),
                    "{name}: config without secrets must fail:\n{text}"
                );
            }
        }
    }
}

#[test]
fn obsgen_validate_runs_the_tools_it_finds_and_fails_on_a_broken_file() {
    let Some(_) = require_tool("promtool") else {
        return;
    };
    let p = Project::example("shop");
    p.generate();
    let out = p.run(&["validate"]).expect(0);
    assert!(
        out.stdout.contains(
            "ok        promtool check config monitoring/prometheus/prometheus.production.yml"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("ok        promtool test rules"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(" 0 failed"), "{}", out.stdout);
    if obsgen::validators::find("dclint").is_some() {
        assert!(out.stdout.contains("ok        dclint"), "{}", out.stdout);
    }

    let rel = "monitoring/prometheus/prometheus.production.yml";
    p.write(
        rel,
        &p.read(rel)
            .replace("scrape_interval: 15s", "scrape_interval: soon"),
    );
    let out = p.run(&["validate"]).expect(1);
    assert!(
        out.stdout
            .contains(&format!("FAILED    promtool check config {rel}")),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(" 1 failed"), "{}", out.stdout);

    // Without any validator on PATH: every check is "not found", with how to install it.
    let empty = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("obsgen")
        .unwrap()
        .current_dir(p.path())
        .env("PATH", empty.path())
        .env("NO_COLOR", "1")
        .arg("validate")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("not found: promtool (install: apt-get install prometheus)"),
        "{stdout}"
    );
    assert!(stdout.contains("0 passed, 0 failed"), "{stdout}");
    // -q: only failures are printed; "not found" is not a failure.
    let out = assert_cmd::Command::cargo_bin("obsgen")
        .unwrap()
        .current_dir(p.path())
        .env("PATH", empty.path())
        .args(["validate", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
}
