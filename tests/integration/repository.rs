//! obsgen's own repository, not its output: the CI workflow under `.github/workflows/`
//! passes actionlint and the GitHub workflow schema, runs the README's test command (the
//! one `.ci/run` runs) and builds with Cargo.toml's `rust-version`.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::{repo, require_tool, tool, yaml};

const WORKFLOW: &str = ".github/workflows/test.yml";

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The repository's own workflows (not generated: the repository root has no obsgen.toml).
fn own_workflows() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    files.sort();
    files
}

/// The README's test command: the one-line `sh` block after "Run every test".
fn readme_test_command() -> String {
    let readme = read("README.md");
    let (_, after) = readme
        .split_once("Run every test")
        .expect("README.md: the set-up section names the test command");
    let (_, block) = after.split_once("```sh\n").unwrap();
    let (command, _) = block.split_once("\n```").unwrap();
    assert!(!command.contains('\n'), "one command: {command}");
    command.to_string()
}

#[test]
fn own_workflows_pass_actionlint_and_the_schema() {
    assert!(
        !repo().join("obsgen.toml").exists(),
        "the repository is no obsgen project"
    );
    let files = own_workflows();
    assert!(files.contains(&repo().join(WORKFLOW)), "{files:?}");
    if let Some(bin) = require_tool("actionlint-files") {
        let (code, text) = tool(Command::new(bin).args(&files));
        assert_eq!(code, 0, "actionlint:\n{text}");
        assert!(
            text.contains(&format!("{} file(s), 0 problem(s)", files.len())),
            "actionlint did not check every file:\n{text}"
        );
    }
    if let Some(bin) = require_tool("check-jsonschema") {
        let (code, text) = tool(
            Command::new(bin)
                .args(["--builtin-schema", "vendor.github-workflows"])
                .args(&files),
        );
        assert_eq!(code, 0, "workflow schema:\n{text}");
    }
}

fn steps(job: &Value) -> Vec<&Value> {
    job["steps"].as_array().unwrap().iter().collect()
}

fn runs(job: &Value) -> Vec<&str> {
    steps(job)
        .into_iter()
        .filter_map(|s| s["run"].as_str())
        .map(str::trim)
        .collect()
}

#[test]
fn own_ci_runs_the_readme_test_command_and_builds_with_rust_version() {
    let command = readme_test_command();
    // `.ci/run` is exactly the README's test command.
    let ci_run = read(".ci/run");
    assert!(
        ci_run
            .lines()
            .any(|l| l.trim() == format!("exec {command}")),
        ".ci/run does not run `{command}`:\n{ci_run}"
    );

    let wf = yaml(&read(WORKFLOW));
    let jobs = wf["jobs"].as_object().unwrap();
    assert!(
        jobs.values().any(|j| runs(j).contains(&command.as_str())),
        "no job of {WORKFLOW} runs `{command}`"
    );

    // A job builds every target, locked, with the toolchain Cargo.toml declares.
    let msrv = env!("CARGO_PKG_RUST_VERSION");
    assert!(!msrv.is_empty(), "Cargo.toml declares no rust-version");
    let builds_at_msrv = jobs.values().any(|j| {
        j["env"]["MSRV"].as_str() == Some(msrv)
            && runs(j).contains(&"rustup toolchain install \"$MSRV\" --profile minimal")
            && runs(j).contains(&"cargo +\"$MSRV\" build --locked --all-targets")
    });
    assert!(
        builds_at_msrv,
        "no job of {WORKFLOW} builds with rust-version {msrv}"
    );

    // The habits obsgen's generated workflows keep: least permissions, a timeout per job,
    // a concurrency group, actions pinned to exact release tags.
    assert_eq!(wf["permissions"], serde_json::json!({}), "{WORKFLOW}");
    assert!(wf["concurrency"]["group"].is_string(), "{WORKFLOW}");
    for (name, job) in jobs {
        assert!(
            job["timeout-minutes"].is_u64(),
            "job {name}: timeout-minutes"
        );
        assert_eq!(
            job["permissions"],
            serde_json::json!({"contents": "read"}),
            "job {name}"
        );
        for step in steps(job) {
            let Some(uses) = step["uses"].as_str() else {
                continue;
            };
            let (_, tag) = uses.split_once('@').unwrap();
            let parts: Vec<&str> = tag.trim_start_matches('v').split('.').collect();
            assert!(
                tag.starts_with('v')
                    && parts.len() == 3
                    && parts.iter().all(|p| p.parse::<u32>().is_ok()),
                "job {name}: `{uses}` is not pinned to an exact release tag"
            );
        }
    }
}
