//! obsgen's own repository, not its output: the CI workflow under `.github/workflows/`
//! passes actionlint and the GitHub workflow schema, runs the README's test command (the
//! one `.ci/run` runs) and builds with Cargo.toml's `rust-version`; every relative link in
//! the README, ARCHITECTURE.md and `docs/` resolves, and the README links every page of
//! `docs/`; the wizard session excerpted in `docs/init.md` is the committed transcript's.

use std::path::{Path, PathBuf};
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
    // a concurrency group, actions pinned by commit SHA.
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
            // The tag comment and pins.toml: tests/integration/pins.rs.
            let (_, sha) = uses.split_once('@').unwrap();
            assert!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "job {name}: `{uses}` is not pinned by commit SHA"
            );
        }
    }
}

/// Markdown outside fenced code blocks and inline code spans.
fn prose(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            // Every other piece between backticks is code.
            let parts = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
            out.push_str(&parts);
            out.push('\n');
        }
    }
    out
}

/// GitHub's anchor of a heading: lower case, punctuation dropped, spaces as `-`.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            out.push(anchor(line.trim_start_matches('#')));
        }
    }
    out
}

/// The target of every relative link `[text](target)` in the file's prose.
fn relative_links(file: &Path) -> Vec<String> {
    let text = prose(&std::fs::read_to_string(file).unwrap());
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(target, _)| target.to_string()))
        .filter(|t| !t.contains("://") && !t.starts_with("mailto:"))
        .collect()
}

fn markdown_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["README.md", "ARCHITECTURE.md", "BENCHMARKS.md"]
        .iter()
        .map(|f| repo().join(f))
        .collect();
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[test]
fn relative_links_in_the_docs_resolve() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in markdown_files() {
        for link in relative_links(&file) {
            checked += 1;
            let (path, fragment) = link.split_once('#').unwrap_or((&link, ""));
            let target = if path.is_empty() {
                file.clone()
            } else {
                file.parent().unwrap().join(path)
            };
            let shown = file.strip_prefix(repo()).unwrap().display();
            if !target.exists() {
                problems.push(format!("{shown}: `{link}`: no such file"));
            } else if !fragment.is_empty()
                && !anchors(&std::fs::read_to_string(&target).unwrap())
                    .iter()
                    .any(|a| a == fragment)
            {
                problems.push(format!("{shown}: `{link}`: no such heading"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 15, "only {checked} links checked");

    // The README is the index: every page of docs/ is linked from it.
    let readme = relative_links(&repo().join("README.md"));
    for file in markdown_files()
        .iter()
        .filter(|f| f.starts_with(repo().join("docs")))
    {
        let name = format!("docs/{}", file.file_name().unwrap().to_string_lossy());
        assert!(
            readme
                .iter()
                .any(|l| l.split('#').next() == Some(name.as_str())),
            "README.md does not link {name}"
        );
    }
}

#[test]
fn the_wizard_session_in_the_docs_is_the_committed_transcript() {
    let doc = read("docs/init.md");
    let (_, block) = doc
        .split_once("```text\n")
        .expect("docs/init.md shows a session");
    let (excerpt, _) = block.split_once("\n```").unwrap();
    let transcript = read("tests/fixtures/wizard/transcript.txt");
    let mut lines = transcript.lines();
    let mut shown = 0;
    // Every line shown ("…" marks a cut) is in the transcript, in the same order.
    for line in excerpt.lines().filter(|l| l.trim() != "…") {
        assert!(
            lines.any(|t| t == line),
            "docs/init.md shows a line the transcript does not have (in this order): {line:?}"
        );
        shown += 1;
    }
    assert!(shown >= 20, "{shown} lines");
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

#[test]
fn the_code_cites_only_documents_in_the_repository() {
    // A citation of a top-level document (`see <NAME>.md`) must name one a reader of this
    // repository has.
    let mut files = vec![repo().join("build.rs"), repo().join(".ci/run")];
    for dir in [
        "src",
        "scripts",
        "templates",
        "profiles",
        "tests/integration",
    ] {
        files_under(&repo().join(dir), &mut files);
    }
    let cited = regex::Regex::new(r"\b[A-Z][A-Z0-9_-]*\.md\b").unwrap();
    let mut problems = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            for m in cited.find_iter(line) {
                if !repo().join(m.as_str()).is_file() {
                    let shown = file.strip_prefix(repo()).unwrap().display();
                    problems.push(format!("{shown}:{}: {}", n + 1, m.as_str()));
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "documents not in the repository:\n{}",
        problems.join("\n")
    );
}
