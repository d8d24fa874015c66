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
//! - Actions and tool versions come from `ci/pins.toml` of the template set: each
//!   action by the full commit SHA of a release tag, the tag in a comment.
//! - Validators run from the same official images the stack runs (`components/*/image.toml`), so CI
//!   checks with the versions production uses.
//! - Deployment goes over SSM Run Command (no SSH port open), with AWS credentials from
//!   GitHub OIDC (`secrets.AWS_DEPLOY_ROLE_ARN`), on the instance in
//!   `vars.<ENV>_INSTANCE_ID`.
//!
//! This module decides which workflows exist ([`build`]) and plans their files; the
//! model is in `workflow`, each workflow's builder in `obsgen_yml`, `ci_yml` and
//! `deploy_yml`, the check of the rendered files in `verify`.

mod ci_yml;
mod deploy_yml;
mod gates;
mod kubernetes_job;
mod obsgen_yml;
mod verify;
mod workflow;

use serde::Serialize;

use crate::manifest::{CiProvider, Manifest};
use crate::model::Artifact;
use crate::model::Model;
use ci_yml::ci_workflow;
use deploy_yml::deploy_workflow;
pub use deploy_yml::{
    DEPLOY_SHA, Smoke, deploy_environments, host_dir, smoke_tests, targets_check_commands,
};
pub use gates::{Gates, UPLOAD_ALLOWED, alerts_check_commands};
use obsgen_yml::obsgen_workflow;
pub use verify::verify;
pub use workflow::{After, Job, Pins, Step, Workflow};

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
    let gates = Gates::of(ci);
    let mut obsgen = obsgen_workflow(model, &pins, &branch);
    if let Some(k) = &m.kubernetes {
        let names: Vec<String> = model.environments.iter().map(|e| e.name.clone()).collect();
        let mut namespaces: Vec<String> = k
            .targets(&model.project, &names)
            .into_iter()
            .flat_map(|t| [t.namespace, t.monitoring_namespace])
            .collect();
        namespaces.sort();
        namespaces.dedup();
        obsgen
            .jobs
            .push(kubernetes_job::kubernetes_job(&pins, &namespaces));
    }
    let mut workflows = vec![obsgen];
    if let Some(w) = ci_workflow(model, &pins, &registry, &branch, gates) {
        workflows.push(w);
    }
    if m.deploy.aws.is_some() {
        let gated = workflows.iter().any(|w| w.file == "ci.yml");
        workflows.push(deploy_workflow(m, model, &pins, &branch, gated, gates));
    }
    Some(Ci {
        registry,
        branch,
        workflows,
    })
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
