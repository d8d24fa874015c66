//! `deploy.yml`: the deployment to the AWS host over SSM Run Command with GitHub OIDC
//! credentials, per deployed environment, and the checks after it (scrape targets up,
//! smoke tests of the published endpoints); [`crate::aws`] reads the same decisions.

use std::collections::BTreeMap;

use serde::Serialize;

use super::gates::{Gates, alerts_check_commands};
use super::workflow::{After, Pins, Step, Workflow, job, perms};
use crate::manifest::Manifest;
use crate::model::Model;
use crate::quote::{gh, gh_expr, sh};

/// Environments the deploy workflow and the AWS stack serve: `staging` when the
/// manifest has it, and `production` (always).
pub fn deploy_environments(m: &Manifest) -> Vec<String> {
    let mut out = Vec::new();
    if m.project.environments.iter().any(|e| e == "staging") {
        out.push("staging".to_string());
    }
    out.push("production".to_string());
    out
}

/// Shell lines of an SSM Run Command, sent from a job with AWS credentials: sends
/// `$SSM_PARAMETERS` to `$INSTANCE_ID`, waits (at most 10 minutes), prints the output, fails unless it succeeded.
fn ssm_lines(comment: &str) -> Vec<String> {
    vec![
        format!("cid=$(aws ssm send-command --instance-ids \"$INSTANCE_ID\" --document-name AWS-RunShellScript --comment \"{comment}\" --parameters \"$SSM_PARAMETERS\" --query Command.CommandId --output text)"),
        // One waiter run polls for 100 s; six cover the slowest command (a build, the checks' waits).
        "for i in 1 2 3 4 5 6; do aws ssm wait command-executed --command-id \"$cid\" --instance-id \"$INSTANCE_ID\" && break; done || true".into(),
        "aws ssm get-command-invocation --command-id \"$cid\" --instance-id \"$INSTANCE_ID\" --query '[StandardOutputContent, StandardErrorContent]' --output text".into(),
        "status=$(aws ssm get-command-invocation --command-id \"$cid\" --instance-id \"$INSTANCE_ID\" --query Status --output text)".into(),
        "echo \"SSM command $cid: $status\"".into(),
        "test \"$status\" = Success".into(),
    ]
}

/// The project folder on the host.
pub fn host_dir(project: &str) -> String {
    format!("/opt/{project}")
}

/// The commit a deploy ships: the one CI tested (`workflow_run`), else the pushed or
/// dispatched one.
pub const DEPLOY_SHA: &str = "${{ github.event.workflow_run.head_sha || github.sha }}";

/// Stands for [`DEPLOY_SHA`] in [`deploy_commands`] until [`ssm_parameters`] puts the
/// expression in (no manifest value can hold `@`).
const SHA_MARK: &str = "@DEPLOY_SHA@";

/// Commands run on the host to deploy commit [`SHA_MARK`] to `env`: shell lines, every
/// value a quoted word.
fn deploy_commands(model: &Model, env: &str) -> Vec<String> {
    let dir = sh(&host_dir(&model.project));
    let overlay = sh(&format!("compose.{env}.yaml"));
    vec![
        "set -eu".into(),
        format!("cd {dir}"),
        format!("git fetch --depth 1 origin {SHA_MARK}"),
        format!("git checkout --force {SHA_MARK}"),
        format!("sh deploy/aws/secrets.sh {}", sh(env)),
        format!("docker compose -f compose.yaml -f {overlay} up -d --build --remove-orphans"),
        format!("docker compose -f compose.yaml -f {overlay} ps"),
    ]
}

/// The `--parameters` of an SSM Run Command (`{"commands": [...]}`), as the text of a
/// step's `env:` value: JSON of shell lines, no `${{` of theirs an expression but the
/// deployed commit's.
fn ssm_parameters(commands: Vec<String>) -> String {
    let json = serde_json::json!({ "commands": commands }).to_string();
    gh(&json).into_string().replace(SHA_MARK, DEPLOY_SHA)
}

/// The file on the host holding Prometheus's basic-auth password (relative to the
/// project folder).
fn prometheus_secret(model: &Model) -> String {
    model
        .secrets
        .iter()
        .find(|s| s.path == model.web.password_file)
        .map(|s| s.file.trim_start_matches("./").to_string())
        .unwrap_or_else(|| {
            format!(
                "secrets/{}",
                crate::components::prometheus::login::PASSWORD_SECRET
            )
        })
}

/// Commands run on the host: Prometheus (on loopback) sees every target up, within 2 minutes.
pub fn targets_check_commands(model: &Model, prometheus_port: u16) -> Vec<String> {
    let dir = host_dir(&model.project);
    let secret = prometheus_secret(model);
    let url = sh(&format!(
        "http://127.0.0.1:{prometheus_port}/api/v1/targets?state=active"
    ));
    vec![
        "set -u".into(),
        format!("cd {}", sh(&dir)),
        "for i in $(seq 1 24); do".into(),
        format!(
            "  body=$(curl -fsS -u {}\":$(cat {})\" {url}) || body=''",
            sh(&model.web.username),
            sh(&secret)
        ),
        "  if [ -n \"$body\" ] && ! printf '%s' \"$body\" | grep -Eq '\"health\":\"(down|unknown)\"'; then echo 'all targets up'; exit 0; fi".into(),
        "  sleep 5".into(),
        "done".into(),
        "printf '%s\\n' \"$body\" | grep -Eo '\"scrapeUrl\":\"[^\"]*\"|\"health\":\"[a-z]*\"|\"lastError\":\"[^\"]*\"' >&2".into(),
        "echo 'Prometheus does not see every target up' >&2".into(),
        "exit 1".into(),
    ]
}

/// One smoke test: a public service's health endpoint on the host.
#[derive(Debug, Clone, Serialize)]
pub struct Smoke {
    pub service: String,
    pub port: u16,
    pub path: String,
}

/// Public services with a health endpoint, at the port `env` publishes them on an
/// address reachable from outside.
pub fn smoke_tests(model: &Model, env: &str) -> Vec<Smoke> {
    model
        .environment(env)
        .published()
        .filter(|(_, p)| !p.monitoring && !p.is_loopback())
        .filter_map(|(compose, p)| {
            let s = model.services.iter().find(|s| s.name == compose)?;
            Some(Smoke {
                service: s.name.clone(),
                port: p.host_port,
                path: s.health.clone()?,
            })
        })
        .collect()
}

/// `gated`: `ci.yml` exists, so deploys wait for it to pass on `branch`.
pub(super) fn deploy_workflow(
    m: &Manifest,
    model: &Model,
    pins: &Pins,
    branch: &str,
    gated: bool,
    gates: Gates,
) -> Workflow {
    let runner = pins.tool("runner");
    let region = m
        .deploy
        .aws
        .as_ref()
        .map(|a| a.region.clone())
        .unwrap_or_default();
    let domain = m.deploy.aws.as_ref().and_then(|a| a.domain.clone());
    let envs = deploy_environments(m);
    let mut jobs = Vec::new();
    for env in &envs {
        let upper = env.to_uppercase();
        let prom_port = model
            .environment(env)
            .published()
            .find(|(compose, _)| *compose == model.prometheus.name)
            .map_or(model.prometheus.port, |(_, p)| p.host_port);
        let mut steps = vec![
            Step::uses(
                "AWS credentials (OIDC)",
                &pins.action("aws-credentials"),
                &[
                    ("role-to-assume", "${{ secrets.AWS_DEPLOY_ROLE_ARN }}"),
                    ("aws-region", gh(&region).as_str()),
                ],
            ),
            Step {
                env: BTreeMap::from([(
                    "SSM_PARAMETERS".to_string(),
                    ssm_parameters(deploy_commands(model, env)),
                )]),
                ..Step::run(
                    &format!("Deploy {DEPLOY_SHA} over SSM"),
                    &ssm_lines(&format!("deploy {}", model.project))
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>(),
                )
            },
        ];
        let smoke = smoke_tests(model, env);
        if !smoke.is_empty() {
            let mut lines = Vec::new();
            for s in &smoke {
                lines.push(format!(
                    "curl -fsS --retry 12 --retry-delay 5 --retry-all-errors --max-time 10 -o /dev/null \"http://$HOST:{}\"{}",
                    s.port,
                    sh(&s.path)
                ));
                lines.push(format!("echo {}", sh(&format!("{} is healthy", s.service))));
            }
            let host_var = format!("${{{{ vars.{upper}_HOST }}}}");
            let host = match (&domain, env.as_str()) {
                (Some(d), "production") => {
                    format!("${{{{ vars.{upper}_HOST || {} }}}}", gh_expr(d))
                }
                _ => host_var,
            };
            steps.push(
                Step::run(
                    "Smoke tests: health endpoints of the public services",
                    &lines.iter().map(String::as_str).collect::<Vec<_>>(),
                )
                .env("HOST", &host),
            );
        }
        steps.push(Step {
            env: BTreeMap::from([(
                "SSM_PARAMETERS".to_string(),
                ssm_parameters(targets_check_commands(model, prom_port)),
            )]),
            ..Step::run(
                "Prometheus sees every target up (checked on the host)",
                &ssm_lines("targets up")
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>(),
            )
        });
        if gates.post_deploy_check {
            let commands = alerts_check_commands(
                &host_dir(&model.project),
                &model.web.username,
                &prometheus_secret(model),
                prom_port,
            );
            steps.push(Step {
                env: BTreeMap::from([("SSM_PARAMETERS".to_string(), ssm_parameters(commands))]),
                ..Step::run(
                    "No critical alert firing, no target down (checked on the host)",
                    &ssm_lines("post-deploy check")
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>(),
                )
            });
        }
        let mut j = job(env, &format!("Deploy to {env}"), runner, 30, steps);
        j.permissions.insert("id-token".into(), "write".into());
        j.environment = Some(env.clone());
        j.env.insert(
            "INSTANCE_ID".into(),
            format!("${{{{ vars.{upper}_INSTANCE_ID }}}}"),
        );
        // Automatic runs deploy only what CI passed; a manual dispatch deploys its commit.
        let passed = if gated {
            // `branches` matches a fork's pull-request branch of the same name too: only pushes count.
            "github.event_name == 'workflow_run' && github.event.workflow_run.event == 'push' && github.event.workflow_run.conclusion == 'success'"
        } else {
            "github.event_name == 'push'"
        };
        if env == "staging" {
            j.if_ = Some(passed.into());
        } else if envs.len() > 1 {
            j.needs = vec!["staging".into()];
            j.if_ = Some("always() && (needs.staging.result == 'success' || github.event_name == 'workflow_dispatch')".into());
        } else {
            j.if_ = Some(format!(
                "github.event_name == 'workflow_dispatch' || ({passed})"
            ));
        }
        jobs.push(j);
    }
    let when = if gated {
        format!("When the ci workflow passes on {branch}")
    } else {
        format!("Pushes to {branch}")
    };
    let about = if envs.len() > 1 {
        format!("{when}: staging; production follows through the `production` environment")
    } else {
        format!("{when}: production, through the `production` environment")
    };
    Workflow {
        file: "deploy.yml".into(),
        name: "deploy".into(),
        about: vec![
            about,
            "(set required reviewers there). Deploys over SSM Run Command to the AWS host of"
                .into(),
            "deploy/aws/cloudformation.yaml, smoke-tests the public health endpoints and checks on"
                .into(),
            "the host that Prometheus sees every target up. See docs/deploy/aws.md.".into(),
        ],
        push_branches: if gated {
            Vec::new()
        } else {
            vec![branch.into()]
        },
        after: gated.then(|| After {
            workflow: "ci".into(),
            branches: vec![branch.into()],
        }),
        pull_request: false,
        workflow_dispatch: true,
        permissions: perms(&[("contents", "read")]),
        concurrency_group: "deploy".into(),
        cancel_in_progress: false,
        jobs,
    }
}
