//! `obsgen.yml`: the regeneration check (the generated files are what this obsgen
//! version makes of the manifest) and the validation of the generated configuration.

use super::workflow::{Pins, Step, Workflow, docker_tool, job, perms};
use crate::model::Model;
use crate::quote::{gh, sh};

/// Where obsgen's release binaries are, by version (`<this>/v0.1.0/SHA256SUMS`): from
/// Cargo.toml's `repository`, the one setting naming where obsgen is published.
pub const RELEASES: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/releases/download");

/// The install script of the template set (`ci/install-obsgen.sh`, which obsgen's
/// action.yml runs too) as `run:` lines: its commands, without comments and blank lines.
fn install_lines(model: &Model) -> Vec<&'static str> {
    let script = crate::assets::template_set(&model.templates)
        .get("ci/install-obsgen.sh")
        .copied()
        .unwrap_or_else(|| {
            panic!(
                "bug: template set v{} lacks ci/install-obsgen.sh",
                model.templates
            )
        });
    script
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect()
}

pub(super) fn obsgen_workflow(model: &Model, pins: &Pins, branch: &str) -> Workflow {
    let runner = pins.tool("runner");
    let checkout = Step::uses("Check out", &pins.action("checkout"), &[]);
    let version = &model.obsgen_version;
    let check = job(
        "regenerate",
        "Generated files are up to date",
        runner,
        20,
        vec![
            checkout.clone(),
            Step::uses(
                &format!("Cache obsgen {version}"),
                &pins.action("cache"),
                &[
                    ("path", "~/.cargo/bin/obsgen"),
                    (
                        "key",
                        &format!("obsgen-{version}-${{{{ runner.os }}}}-${{{{ runner.arch }}}}"),
                    ),
                ],
            )
            .id("obsgen-cache"),
            Step::run(&format!("Install obsgen {version}"), &install_lines(model))
                .env("OBSGEN_VERSION", gh(version).as_str())
                .env("OBSGEN_RELEASES", gh(RELEASES).as_str())
                .when("steps.obsgen-cache.outputs.cache-hit != 'true'"),
            Step::run(
                "obsgen check (stale or hand-edited files fail)",
                &["obsgen check --format github"],
            ),
        ],
    );

    let prom_image = &model.prometheus.image;
    let mut validate = vec![checkout.clone()];
    let mut lines: Vec<String> = model
        .environments
        .iter()
        .map(|e| {
            docker_tool(
                prom_image,
                "promtool",
                &format!(
                    "check config {}",
                    sh(&format!("monitoring/prometheus/{}", e.prometheus_file))
                ),
            )
        })
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    validate.push(Step::run("promtool check config", &refs));
    if model.rules.iter().any(|r| !r.tests.is_empty()) {
        validate.push(Step::run(
            "promtool test rules",
            &[&docker_tool(
                prom_image,
                "sh",
                "-c 'promtool test rules monitoring/prometheus/tests/*.test.yml'",
            )],
        ));
    }
    if let Some(am) = &model.alertmanager {
        lines = model
            .environments
            .iter()
            .filter_map(|e| e.alertmanager.as_ref())
            .map(|a| {
                docker_tool(
                    &am.image,
                    "amtool",
                    &format!(
                        "check-config {}",
                        sh(&format!("monitoring/alertmanager/{}", a.file))
                    ),
                )
            })
            .collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        validate.push(Step::run("amtool check-config", &refs));
        validate.push(Step::run(
            "Alertmanager route tests",
            &[&docker_tool(
                &am.image,
                "sh",
                "monitoring/alertmanager/routes.test.sh",
            )],
        ));
    }
    let validate = job(
        "validate",
        "Validate configs with promtool and amtool",
        runner,
        15,
        validate,
    );

    let mut compose = vec![
        checkout,
        Step::run(
            "Placeholder .env and secret files (interpolation refuses empty ${VAR:?})",
            &placeholder_lines(model)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        ),
    ];
    let lines: Vec<String> = model
        .environments
        .iter()
        .map(|e| {
            format!(
                "docker compose -f compose.yaml -f {} config -q",
                sh(&e.compose_file)
            )
        })
        .collect();
    compose.push(Step::run(
        "docker compose config",
        &lines.iter().map(String::as_str).collect::<Vec<_>>(),
    ));
    let compose = job(
        "compose",
        "Compose files resolve in every environment",
        runner,
        10,
        compose,
    );
    Workflow {
        file: "obsgen.yml".into(),
        name: "obsgen".into(),
        about: vec![
            format!(
                "Regeneration check: obsgen {version} (the version that generated these files) must"
            ),
            "find every generated file up to date and unedited; then the real tools validate them."
                .into(),
        ],
        push_branches: vec![branch.into()],
        after: None,
        pull_request: true,
        workflow_dispatch: false,
        permissions: perms(&[("contents", "read")]),
        concurrency_group: "obsgen-${{ github.ref }}".into(),
        cancel_in_progress: true,
        jobs: vec![check, validate, compose],
    }
}

/// Shell lines writing `.env` (every variable of `.env.example` set to a placeholder)
/// and a placeholder for every secret file the stack mounts.
fn placeholder_lines(model: &Model) -> Vec<String> {
    let mut lines = vec![
        "sed -E 's/^([A-Za-z_][A-Za-z0-9_]*)=.*$/\\1=ci-placeholder/' .env.example > .env"
            .to_string(),
    ];
    let secrets: Vec<String> = model
        .secrets
        .iter()
        .map(|s| sh(s.file.trim_start_matches("./")).into_string())
        .collect();
    // env_file: Compose fails on a missing one; an empty file stands in.
    for f in &model.env_files {
        let f = sh(f);
        lines.push(format!(
            "[ -e {f} ] || {{ mkdir -p \"$(dirname {f})\" && : > {f}; }}"
        ));
    }
    if !secrets.is_empty() {
        lines.push("mkdir -p secrets".into());
        lines.push(format!(
            "for f in {}; do [ -e \"$f\" ] || printf 'ci-placeholder' > \"$f\"; done",
            secrets.join(" ")
        ));
    }
    lines
}
