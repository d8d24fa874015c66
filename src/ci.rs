//! GitHub Actions workflows (`[ci] provider = "github"`): the regeneration check and
//! config validation (`obsgen.yml`), test/lint/scan/build/push per built service
//! (`ci.yml`) and the deployment to the AWS host (`deploy.yml`).
//!
//! Every job, step, command, pin and expression is decided here; one generic template
//! (`ci/workflow.yml.j2`) lays a [`Workflow`] out. GitHub `${{ … }}` expressions are
//! plain Rust strings, so minijinja never sees them as its own syntax.
//!
//! Manifest text in a workflow goes through [`crate::quote`]: a `run:` script holds no
//! GitHub expression at all ([`Step::run`] escapes every `${{` of its lines), values
//! reach its shell as single-quoted words or through the step's `env:` (`"$REGISTRY"`),
//! and every other string the runner evaluates (`env:`, `with:`, names, folders) takes
//! manifest text only as [`crate::quote::gh`] text, `if:` conditions only as
//! [`crate::quote::gh_expr`] literals.
//!
//! Decisions:
//! - Without a `[ci]` table (or with `provider = "none"`) no workflow is generated:
//!   CI files are opt-in, a project may already have its own.
//! - Actions and tool versions come from `ci/pins.toml` of the template set: exact
//!   release tags (see that file for why not SHAs).
//! - Validators run from the same official images the stack runs (`components/*/image.toml`), so CI
//!   checks with the versions production uses.
//! - Deployment goes over SSM Run Command (no SSH port open), with AWS credentials from
//!   GitHub OIDC (`secrets.AWS_DEPLOY_ROLE_ARN`), on the instance in
//!   `vars.<ENV>_INSTANCE_ID`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::manifest::{CiProvider, Language, Manifest};
use crate::model::Model;
use crate::plan::Artifact;
use crate::quote::{gh, gh_expr, sh};

/// Default registry and branch.
pub const DEFAULT_REGISTRY: &str = "ghcr.io";
pub const DEFAULT_BRANCH: &str = "main";
/// Where workflows go, relative to the project root.
pub const WORKFLOW_DIR: &str = ".github/workflows";

/// Everything CI needs, resolved.
#[derive(Debug, Clone, Serialize)]
pub struct Ci {
    pub registry: String,
    pub branch: String,
    pub workflows: Vec<Workflow>,
}

/// One workflow file.
#[derive(Debug, Clone, Serialize)]
pub struct Workflow {
    /// File name under `.github/workflows/` (`obsgen.yml`).
    pub file: String,
    pub name: String,
    /// What it is for (comment at the top of the file).
    pub about: Vec<String>,
    /// Branches of `push`; empty means no `push` trigger.
    pub push_branches: Vec<String>,
    /// `workflow_run`: run after this workflow completes on these branches.
    pub after: Option<After>,
    pub pull_request: bool,
    pub workflow_dispatch: bool,
    pub permissions: BTreeMap<String, String>,
    pub concurrency_group: String,
    pub cancel_in_progress: bool,
    pub jobs: Vec<Job>,
}

/// A `workflow_run` trigger.
#[derive(Debug, Clone, Serialize)]
pub struct After {
    pub workflow: String,
    pub branches: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Job {
    pub id: String,
    pub name: String,
    pub runs_on: String,
    pub timeout_minutes: u32,
    pub permissions: BTreeMap<String, String>,
    pub needs: Vec<String>,
    #[serde(rename = "if")]
    pub if_: Option<String>,
    /// GitHub environment (`production`: required reviewers are set there).
    pub environment: Option<String>,
    pub env: BTreeMap<String, String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Step {
    pub name: String,
    pub id: Option<String>,
    #[serde(rename = "if")]
    pub if_: Option<String>,
    pub uses: Option<String>,
    pub with: BTreeMap<String, String>,
    pub env: BTreeMap<String, String>,
    pub working_directory: Option<String>,
    /// Shell lines of `run:` (a literal block).
    pub run: Vec<String>,
}

impl Step {
    /// A `run:` step. Its script never holds a GitHub expression: every `${{` in `lines`
    /// is written so that the runner gives it to the shell as it is. Each line goes into
    /// a YAML literal block, so none may hold a line break (values that reach a script
    /// are validated free of whitespace).
    fn run(name: &str, lines: &[&str]) -> Step {
        for l in lines {
            assert!(
                !l.contains(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']),
                "bug in obsgen: a line break in a workflow script line: {l:?}"
            );
        }
        Step {
            name: name.into(),
            run: lines.iter().map(|l| gh(l).into_string()).collect(),
            ..Step::default()
        }
    }
    fn uses(name: &str, action: &str, with: &[(&str, &str)]) -> Step {
        Step {
            name: name.into(),
            uses: Some(action.into()),
            with: with
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Step::default()
        }
    }
    fn when(mut self, cond: &str) -> Step {
        self.if_ = Some(cond.into());
        self
    }
    fn id(mut self, id: &str) -> Step {
        self.id = Some(id.into());
        self
    }
    fn env(mut self, k: &str, v: &str) -> Step {
        self.env.insert(k.into(), v.into());
        self
    }
    fn dir(mut self, d: &str) -> Step {
        self.working_directory = Some(d.into());
        self
    }
}

/// The pinned actions and tools of a template set (`ci/pins.toml`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Pins {
    pub actions: BTreeMap<String, String>,
    pub tools: BTreeMap<String, String>,
}

impl Pins {
    pub fn load(templates: &str) -> Pins {
        let text = crate::assets::template_set(templates)
            .get("ci/pins.toml")
            .copied()
            .unwrap_or("");
        toml::from_str(text)
            .unwrap_or_else(|e| panic!("bug: embedded ci/pins.toml of v{templates}: {e}"))
    }
    pub fn action(&self, name: &str) -> &str {
        self.actions
            .get(name)
            .unwrap_or_else(|| panic!("bug: ci/pins.toml lacks action `{name}`"))
    }
    pub fn tool(&self, name: &str) -> &str {
        self.tools
            .get(name)
            .unwrap_or_else(|| panic!("bug: ci/pins.toml lacks tool `{name}`"))
    }
}

fn perms(list: &[(&str, &str)]) -> BTreeMap<String, String> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn job(id: &str, name: &str, runner: &str, timeout: u32, steps: Vec<Step>) -> Job {
    Job {
        id: id.into(),
        name: name.into(),
        runs_on: runner.into(),
        timeout_minutes: timeout,
        permissions: perms(&[("contents", "read")]),
        needs: Vec::new(),
        if_: None,
        environment: None,
        env: BTreeMap::new(),
        steps,
    }
}

/// `docker run` of a validator from an official image, the project mounted read-only.
fn docker_tool(image: &str, entrypoint: &str, args: &str) -> String {
    format!(
        "docker run --rm -v \"$PWD:/work:ro\" -w /work --entrypoint {entrypoint} {image} {args}"
    )
}

/// Resolves `[ci]`: `None` without it or with `provider = "none"`.
pub fn build(m: &Manifest, model: &Model) -> Option<Ci> {
    let ci = m.ci.as_ref()?;
    if ci.provider == CiProvider::None {
        return None;
    }
    let pins = Pins::load(&model.templates);
    let registry = ci
        .registry
        .clone()
        .unwrap_or_else(|| DEFAULT_REGISTRY.into());
    let branch = ci.branch.clone().unwrap_or_else(|| DEFAULT_BRANCH.into());
    let mut workflows = vec![obsgen_workflow(model, &pins, &branch)];
    if let Some(w) = ci_workflow(model, &pins, &registry, &branch) {
        workflows.push(w);
    }
    if m.deploy.aws.is_some() {
        let gated = workflows.iter().any(|w| w.file == "ci.yml");
        workflows.push(deploy_workflow(m, model, &pins, &branch, gated));
    }
    Some(Ci {
        registry,
        branch,
        workflows,
    })
}

fn obsgen_workflow(model: &Model, pins: &Pins, branch: &str) -> Workflow {
    let runner = pins.tool("runner");
    let checkout = Step::uses("Check out", pins.action("checkout"), &[]);
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
                pins.action("cache"),
                &[
                    ("path", "~/.cargo/bin/obsgen"),
                    (
                        "key",
                        &format!("obsgen-{version}-${{{{ runner.os }}}}-${{{{ runner.arch }}}}"),
                    ),
                ],
            )
            .id("obsgen-cache"),
            Step::run(
                &format!("Install obsgen {version}"),
                &[&format!(
                    "cargo install obsgen --locked --version {version}"
                )],
            )
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

/// Test and lint steps of one language, run in the build context `ctx` (manifest text).
fn language_steps(lang: Language, ctx: &str, pins: &Pins) -> Vec<Step> {
    let in_ctx = |file: &str| gh(&format!("{ctx}/{file}")).into_string();
    let ctx = &gh(ctx).into_string();
    match lang {
        Language::Node => vec![
            Step::uses(
                "Set up Node.js",
                pins.action("setup-node"),
                &[
                    ("node-version", pins.tool("node")),
                    ("cache", "npm"),
                    ("cache-dependency-path", &in_ctx("package-lock.json")),
                ],
            ),
            Step::run("Install dependencies", &["npm ci"]).dir(ctx),
            Step::run("Lint", &["npm run lint --if-present"]).dir(ctx),
            Step::run("Test", &["npm test --if-present"]).dir(ctx),
        ],
        Language::Python => vec![
            Step::uses(
                "Set up Python",
                pins.action("setup-python"),
                &[("python-version", pins.tool("python"))],
            ),
            Step::run(
                "Install dependencies",
                &[
                    "python -m pip install --upgrade pip ruff pytest",
                    "if [ -f requirements.txt ]; then pip install -r requirements.txt; fi",
                ],
            )
            .dir(ctx),
            Step::run("Lint", &["ruff check ."]).dir(ctx),
            Step::run(
                "Test",
                &[
                    "pytest || status=$?",
                    "[ \"${status:-0}\" -eq 0 ] || [ \"${status:-0}\" -eq 5 ]",
                ],
            )
            .dir(ctx),
        ],
        Language::Go => vec![
            Step::uses(
                "Set up Go",
                pins.action("setup-go"),
                &[
                    ("go-version-file", &in_ctx("go.mod")),
                    ("cache-dependency-path", &in_ctx("go.sum")),
                ],
            ),
            Step::run(
                "Lint",
                &[
                    "test -z \"$(gofmt -l .)\" || { gofmt -l .; exit 1; }",
                    "go vet ./...",
                ],
            )
            .dir(ctx),
            Step::run("Test", &["go test -race ./..."]).dir(ctx),
        ],
        Language::Rust => vec![
            Step::run(
                "Set up Rust",
                &["rustup toolchain install stable --profile minimal --component clippy,rustfmt"],
            ),
            Step::run(
                "Lint",
                &[
                    "cargo fmt --all --check",
                    "cargo clippy --all-targets --locked -- -D warnings",
                ],
            )
            .dir(ctx),
            Step::run("Test", &["cargo test --locked"]).dir(ctx),
        ],
        Language::Java => vec![
            Step::uses(
                "Set up Java",
                pins.action("setup-java"),
                &[
                    ("distribution", "temurin"),
                    ("java-version", pins.tool("java")),
                ],
            ),
            Step::run(
                "Build, lint and test",
                &[
                    "if [ -x ./mvnw ]; then ./mvnw -B verify",
                    "elif [ -x ./gradlew ]; then ./gradlew build",
                    "else mvn -B verify",
                    "fi",
                ],
            )
            .dir(ctx),
        ],
        Language::Other => Vec::new(),
    }
}

fn parse_language(s: &str) -> Language {
    match s {
        "node" => Language::Node,
        "python" => Language::Python,
        "go" => Language::Go,
        "rust" => Language::Rust,
        "java" => Language::Java,
        _ => Language::Other,
    }
}

fn ci_workflow(model: &Model, pins: &Pins, registry: &str, branch: &str) -> Option<Workflow> {
    let runner = pins.tool("runner");
    let on_main = format!(
        "github.event_name == 'push' && github.ref == {}",
        gh_expr(&format!("refs/heads/{branch}"))
    );
    let (user, password) = if registry == DEFAULT_REGISTRY {
        ("${{ github.actor }}", "${{ secrets.GITHUB_TOKEN }}")
    } else {
        (
            "${{ secrets.REGISTRY_USERNAME }}",
            "${{ secrets.REGISTRY_PASSWORD }}",
        )
    };
    let jobs: Vec<Job> = model
        .services
        .iter()
        .filter_map(|s| {
            let ctx = s.build.as_deref()?.trim_end_matches('/');
            let ctx = ctx.strip_prefix("./").unwrap_or(ctx);
            let mut steps = vec![Step::uses("Check out", pins.action("checkout"), &[])];
            if let Some(lang) = s.language.as_deref() {
                steps.extend(language_steps(parse_language(lang), ctx, pins));
            }
            let image = "${{ steps.image.outputs.name }}:${{ github.sha }}";
            let cache_from = format!("type=gha,scope={}", s.name);
            let cache_to = format!("type=gha,mode=max,scope={}", s.name);
            let context = gh(ctx).into_string();
            let registry_text = gh(registry).into_string();
            steps.extend([
                Step::run(
                    "Image name",
                    &["echo \"name=$(printf '%s' \"$REGISTRY/$OWNER/$IMAGE\" | tr '[:upper:]' '[:lower:]')\" >> \"$GITHUB_OUTPUT\""],
                )
                .id("image")
                .env("REGISTRY", &registry_text)
                .env("OWNER", "${{ github.repository_owner }}")
                .env("IMAGE", gh(&format!("{}-{}", model.project, s.name)).as_str()),
                Step::uses("Set up Buildx", pins.action("setup-buildx"), &[]),
                Step::uses(
                    "Build image",
                    pins.action("build-push"),
                    &[
                        ("context", &context),
                        ("load", "true"),
                        ("tags", image),
                        ("cache-from", &cache_from),
                        ("cache-to", &cache_to),
                    ],
                ),
                Step::uses(
                    "Trivy scan",
                    pins.action("trivy"),
                    &[
                        ("image-ref", image),
                        ("exit-code", "1"),
                        ("ignore-unfixed", "true"),
                        ("severity", "CRITICAL,HIGH"),
                    ],
                ),
                Step::uses(
                    &format!("Log in to {registry_text}"),
                    pins.action("login"),
                    &[("registry", &registry_text), ("username", user), ("password", password)],
                )
                .when(&on_main),
                Step::uses(
                    "Push image",
                    pins.action("build-push"),
                    &[
                        ("context", &context),
                        ("push", "true"),
                        ("tags", image),
                        ("cache-from", &cache_from),
                    ],
                )
                .when(&on_main),
            ]);
            let mut j = job(
                &format!("build-{}", s.name),
                &format!("{}: test, scan, build", s.name),
                runner,
                30,
                steps,
            );
            j.permissions.insert("packages".into(), "write".into());
            Some(j)
        })
        .collect();
    if jobs.is_empty() {
        return None;
    }
    Some(Workflow {
        file: "ci.yml".into(),
        name: "ci".into(),
        about: vec![
            "Per service with a build context: test and lint for its language, a Trivy scan,"
                .into(),
            format!(
                "and the image build; images are pushed to {registry} on pushes to {branch} only."
            ),
        ],
        push_branches: vec![branch.into()],
        after: None,
        pull_request: true,
        workflow_dispatch: false,
        permissions: perms(&[("contents", "read")]),
        concurrency_group: "ci-${{ github.ref }}".into(),
        cancel_in_progress: true,
        jobs,
    })
}

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
/// `$SSM_PARAMETERS` to `$INSTANCE_ID`, waits, prints the output, fails unless it succeeded.
fn ssm_lines(comment: &str) -> Vec<String> {
    vec![
        format!("cid=$(aws ssm send-command --instance-ids \"$INSTANCE_ID\" --document-name AWS-RunShellScript --comment \"{comment}\" --parameters \"$SSM_PARAMETERS\" --query Command.CommandId --output text)"),
        "aws ssm wait command-executed --command-id \"$cid\" --instance-id \"$INSTANCE_ID\" || true".into(),
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

/// Commands run on the host: Prometheus (on loopback) sees every target up, within 2 minutes.
pub fn targets_check_commands(model: &Model, prometheus_port: u16) -> Vec<String> {
    let dir = host_dir(&model.project);
    let secret = model
        .secrets
        .iter()
        .find(|s| s.path == model.web.password_file)
        .map(|s| s.file.trim_start_matches("./").to_string())
        .unwrap_or_else(|| {
            format!(
                "secrets/{}",
                crate::components::prometheus::login::PASSWORD_SECRET
            )
        });
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
pub fn smoke_tests(m: &Manifest, model: &Model, env: &str) -> Vec<Smoke> {
    crate::resolve::published_ports(m, env)
        .into_iter()
        .filter(|p| !p.monitoring && !is_loopback(&p.address))
        .filter_map(|p| {
            let s = model.services.iter().find(|s| s.name == p.compose)?;
            Some(Smoke {
                service: s.name.clone(),
                port: p.host_port,
                path: s.health.clone()?,
            })
        })
        .collect()
}

pub fn is_loopback(address: &str) -> bool {
    address.starts_with("127.") || address == "::1" || address == "localhost"
}

/// `gated`: `ci.yml` exists, so deploys wait for it to pass on `branch`.
fn deploy_workflow(
    m: &Manifest,
    model: &Model,
    pins: &Pins,
    branch: &str,
    gated: bool,
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
        let prom_port = crate::resolve::published_ports(m, env)
            .iter()
            .find(|p| p.compose == model.prometheus.name)
            .map_or(model.prometheus.port, |p| p.host_port);
        let mut steps = vec![
            Step::uses(
                "AWS credentials (OIDC)",
                pins.action("aws-credentials"),
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
        let smoke = smoke_tests(m, model, env);
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

/// One artifact per workflow.
pub fn artifacts(ci: Option<&Ci>) -> Vec<Artifact> {
    let Some(ci) = ci else {
        return Vec::new();
    };
    ci.workflows
        .iter()
        .map(|w| {
            Artifact::per_item(
                format!("{WORKFLOW_DIR}/{}", w.file),
                "ci/workflow.yml.j2",
                w,
            )
        })
        .collect()
}

/// Cross-file check of a rendered workflow (see [`crate::verify`]): every generated file
/// a `run:` line names (`monitoring/…`, `compose.….yaml`, `deploy/…`) is generated.
/// An error is a bug in obsgen.
pub fn verify(
    path: &str,
    value: &serde_json::Value,
    paths: &std::collections::BTreeSet<&str>,
) -> anyhow::Result<()> {
    if !path.starts_with(WORKFLOW_DIR) {
        return Ok(());
    }
    let jobs = value.get("jobs").and_then(|j| j.as_object());
    for job in jobs.into_iter().flat_map(|j| j.values()) {
        let steps = job.get("steps").and_then(|s| s.as_array());
        for step in steps.into_iter().flatten() {
            let Some(run) = step.get("run").and_then(|r| r.as_str()) else {
                continue;
            };
            for word in run.split_whitespace() {
                let word = word.trim_matches(|c| c == '\'' || c == '"' || c == ';');
                let named = word.starts_with("monitoring/")
                    || word.starts_with("deploy/")
                    || (word.starts_with("compose.") && word.ends_with(".yaml"));
                if named && !word.contains('*') && !paths.contains(word) {
                    anyhow::bail!("bug in obsgen: {path} uses {word}, which is not generated");
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_pinned_to_exact_release_tags() {
        let pins = Pins::load("1");
        assert!(pins.actions.len() >= 10);
        for (name, action) in &pins.actions {
            let (repo, tag) = action.split_once('@').expect("owner/repo@tag");
            assert_eq!(repo.split('/').count(), 2, "{name} = {action}");
            let version = tag.strip_prefix('v').unwrap_or(tag);
            let parts: Vec<&str> = version.split('.').collect();
            assert!(
                parts.len() == 3 && parts.iter().all(|p| p.parse::<u32>().is_ok()),
                "{name} = {action} is not an exact version"
            );
        }
        for tool in ["runner", "node", "python", "java", "compose-plugin"] {
            assert!(!pins.tool(tool).is_empty());
        }
    }

    #[test]
    fn verify_catches_a_workflow_naming_a_file_that_is_not_generated() {
        let wf = serde_json::json!({"jobs": {"a": {"steps": [
            {"run": "promtool check config monitoring/prometheus/prometheus.qa.yml"},
            {"run": "sh -c 'promtool test rules monitoring/prometheus/tests/*.test.yml'"}
        ]}}});
        let mut paths = std::collections::BTreeSet::new();
        let path = ".github/workflows/obsgen.yml";
        assert!(verify(path, &wf, &paths).is_err());
        paths.insert("monitoring/prometheus/prometheus.qa.yml");
        assert!(verify(path, &wf, &paths).is_ok());
    }

    #[test]
    fn loopback_addresses() {
        assert!(is_loopback("127.0.0.1") && is_loopback("::1"));
        assert!(!is_loopback("0.0.0.0") && !is_loopback("10.0.0.5"));
    }

    #[test]
    fn languages_map_to_steps() {
        let pins = Pins::load("1");
        for (lang, tool) in [
            (Language::Node, "npm ci"),
            (Language::Python, "ruff check ."),
            (Language::Go, "go vet ./..."),
            (Language::Rust, "cargo test --locked"),
            (Language::Java, "mvn -B verify"),
        ] {
            let steps = language_steps(lang, "svc", &pins);
            assert!(
                steps.iter().any(|s| s.run.iter().any(|l| l.contains(tool))),
                "{lang:?}"
            );
        }
        assert!(language_steps(Language::Other, "svc", &pins).is_empty());
    }
}
