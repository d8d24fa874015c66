//! `obsgen validate`: runs the real validators found on PATH over the generated files
//! of a project (promtool, amtool, the Compose and workflow schemas, actionlint,
//! cfn-lint, the Grafana dashboard type-check) and reports one row per check.
//!
//! A validator that is not installed is reported with how to get it, and does not fail
//! the run; a validator that rejects a file does (exit 1).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// One check: a tool and its arguments over some generated files.
#[derive(Debug, Clone)]
pub struct Check {
    pub name: String,
    pub tool: &'static str,
    pub args: Vec<String>,
    /// Generated files it reads (relative to the project), for the report.
    pub files: Vec<String>,
    /// How to install the tool.
    pub install: &'static str,
    /// Another tool the check needs (the route tests run amtool through `sh`).
    pub needs: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Failed(String),
    NotFound,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub check: Check,
    pub outcome: Outcome,
    pub took: Duration,
}

/// dclint 3.1 rules turned off (everything else, the schema check included, must pass
/// with no warning), and why.
pub const DCLINT_DISABLED: &[(&str, &str)] = &[
    (
        "service-keys-order",
        "keys are laid out by meaning (image, command, user … deploy), the same in every service",
    ),
    (
        "services-alphabetical-order",
        "services are ordered apps, databases, monitoring, exporters, as a reader expects the stack",
    ),
    (
        "service-dependencies-alphabetical-order",
        "depends_on keeps the manifest's order; Compose starts by the graph, not by this order",
    ),
    (
        "require-project-name-field",
        "docker-compose v1 rejects a top-level `name:`; COMPOSE_PROJECT_NAME in .env names the project",
    ),
    (
        "no-quotes-in-volumes",
        "every string is JSON-quoted (valid YAML), so a path with `:` or `#` stays one string",
    ),
    (
        "require-quotes-in-ports",
        "ports are quoted with double quotes (JSON quoting); the rule's default wants single quotes, its purpose (no base-60 numbers) is met",
    ),
];

/// dclint's arguments: the files first (`--disable-rule` takes every argument after it).
pub fn dclint_args(files: &[String]) -> Vec<String> {
    let mut args: Vec<String> = files.to_vec();
    args.extend(
        ["--color=false", "--max-warnings", "0", "--disable-rule"]
            .iter()
            .map(|s| s.to_string()),
    );
    args.extend(DCLINT_DISABLED.iter().map(|(r, _)| r.to_string()));
    args
}

const VALIDATORS_SCRIPT: &str = "scripts/install-validators.sh in obsgen's repository";

/// The generated files under `root`, `/`-separated and sorted.
fn files(root: &Path, paths: &[String], pred: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out: Vec<String> = paths
        .iter()
        .filter(|p| pred(p) && root.join(p).is_file())
        .cloned()
        .collect();
    out.sort();
    out
}

/// Every check that applies to these generated files.
pub fn checks(root: &Path, generated: &[String]) -> Vec<Check> {
    let mut out = Vec::new();
    let mut each =
        |name: &str, tool: &'static str, pre: &[&str], list: Vec<String>, install: &'static str| {
            for f in list {
                let mut args: Vec<String> = pre.iter().map(|s| s.to_string()).collect();
                args.push(f.clone());
                out.push(Check {
                    name: format!("{name} {f}"),
                    tool,
                    args,
                    files: vec![f],
                    install,
                    needs: None,
                });
            }
        };
    let prom = files(root, generated, |p| {
        p.starts_with("monitoring/prometheus/prometheus.") && p.ends_with(".yml")
    });
    each(
        "promtool check config",
        "promtool",
        &["check", "config"],
        prom,
        "apt-get install prometheus",
    );
    let web = files(root, generated, |p| p == "monitoring/prometheus/web.yml");
    each(
        "promtool check web-config",
        "promtool",
        &["check", "web-config"],
        web,
        "apt-get install prometheus",
    );
    let am = files(root, generated, |p| {
        p.starts_with("monitoring/alertmanager/alertmanager.") && p.ends_with(".yml")
    });
    each(
        "amtool check-config",
        "amtool",
        &["check-config"],
        am,
        "apt-get install prometheus-alertmanager",
    );
    let mut all =
        |name: &str, tool: &'static str, pre: &[&str], list: Vec<String>, install: &'static str| {
            if list.is_empty() {
                return;
            }
            let mut args: Vec<String> = pre.iter().map(|s| s.to_string()).collect();
            args.extend(list.iter().cloned());
            let needs = (tool == "sh").then_some("amtool");
            out.push(Check {
                name: name.into(),
                tool,
                args,
                files: list,
                install,
                needs,
            });
        };
    let tests = files(root, generated, |p| {
        p.starts_with("monitoring/prometheus/tests/") && p.ends_with(".test.yml")
    });
    all(
        "promtool test rules",
        "promtool",
        &["test", "rules"],
        tests,
        "apt-get install prometheus",
    );
    let routes = files(root, generated, |p| {
        p == "monitoring/alertmanager/routes.test.sh"
    });
    all(
        "Alertmanager route tests",
        "sh",
        &[],
        routes,
        "a POSIX shell, and amtool (apt-get install prometheus-alertmanager)",
    );
    let scripts = files(root, generated, |p| {
        p == "monitoring/elasticsearch/setup.sh"
    });
    all(
        "Elasticsearch setup script syntax (bash -n)",
        "bash",
        &["-n"],
        scripts,
        "apt-get install bash",
    );
    let compose = files(root, generated, |p| {
        p.starts_with("compose") && p.ends_with(".yaml")
    });
    all(
        "Compose schema",
        "check-jsonschema",
        &["--builtin-schema", "vendor.compose-spec"],
        compose.clone(),
        "pip install check-jsonschema",
    );
    let workflows = files(root, generated, |p| p.starts_with(".github/workflows/"));
    all(
        "GitHub workflow schema",
        "check-jsonschema",
        &["--builtin-schema", "vendor.github-workflows"],
        workflows.clone(),
        "pip install check-jsonschema",
    );
    all(
        "actionlint",
        "actionlint-files",
        &[],
        workflows,
        VALIDATORS_SCRIPT,
    );
    let cfn = files(root, generated, |p| {
        p.starts_with("deploy/aws/") && p.ends_with(".yaml")
    });
    all("cfn-lint", "cfn-lint", &[], cfn, "pip install cfn-lint");
    let dashboards = files(root, generated, |p| {
        p.starts_with("monitoring/grafana/dashboards/") && p.ends_with(".json")
    });
    all(
        "Grafana dashboard type-check",
        "grafana-dashboard-typecheck",
        &[],
        dashboards,
        VALIDATORS_SCRIPT,
    );
    if !compose.is_empty() {
        out.push(Check {
            name: "dclint".into(),
            tool: "dclint",
            args: dclint_args(&compose),
            files: compose,
            install: "npm install -g dclint",
            needs: None,
        });
    }
    out
}

/// The tool's path on PATH, if any.
pub fn find(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| p.is_file())
}

/// Runs one check in the project folder.
pub fn run(root: &Path, check: &Check) -> Row {
    let start = Instant::now();
    let missing = find(check.tool).is_none() || check.needs.is_some_and(|n| find(n).is_none());
    let outcome = match find(check.tool).filter(|_| !missing) {
        None => Outcome::NotFound,
        Some(tool) => match Command::new(tool)
            .args(&check.args)
            .current_dir(root)
            .output()
        {
            Ok(out) if out.status.success() => Outcome::Ok,
            Ok(out) => Outcome::Failed(format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )),
            Err(e) => Outcome::Failed(format!("could not run {}: {e}", check.tool)),
        },
    };
    Row {
        check: check.clone(),
        outcome,
        took: start.elapsed(),
    }
}
