//! `ci.yml`: test, lint, scan, build and push for each built service, with the steps
//! of its language.

use super::DEFAULT_REGISTRY;
use super::gates::{self, Gates};
use super::workflow::{Job, Pins, Step, Workflow, job, perms};
use crate::manifest::Language;
use crate::model::Model;
use crate::quote::{gh, gh_expr};

/// Test and lint steps of one language, run in the build context `ctx` (manifest text).
fn language_steps(lang: Language, ctx: &str, pins: &Pins) -> Vec<Step> {
    let in_ctx = |file: &str| gh(&format!("{ctx}/{file}")).into_string();
    let ctx = &gh(ctx).into_string();
    match lang {
        Language::Node => vec![
            Step::setup(
                Language::Node,
                pins,
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
            Step::setup(
                Language::Python,
                pins,
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
            Step::setup(
                Language::Go,
                pins,
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
            Step::setup(
                Language::Java,
                pins,
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

pub(super) fn ci_workflow(
    model: &Model,
    pins: &Pins,
    registry: &str,
    branch: &str,
    gates: Gates,
) -> Option<Workflow> {
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
    let mut audits = Vec::new();
    let mut scanned = Vec::new();
    let mut jobs: Vec<Job> = model
        .services
        .iter()
        .filter_map(|s| {
            let ctx = s.build.as_deref()?.trim_end_matches('/');
            let ctx = ctx.strip_prefix("./").unwrap_or(ctx);
            let mut steps = vec![Step::uses("Check out", &pins.action("checkout"), &[])];
            if let Some(lang) = s.language {
                let mut lang_steps = language_steps(lang, ctx, pins);
                if let Some(min) = gates.coverage
                    && let Some(cov) = gates::coverage_step(lang, ctx, min, pins)
                {
                    // The language's test step is its last; the coverage run replaces it.
                    lang_steps.pop();
                    lang_steps.push(cov);
                }
                steps.extend(lang_steps);
                if gates.audit
                    && let Some(audit) = gates::audit_steps(lang, ctx, &s.name, pins)
                {
                    audits.push(gates::audit_job(&s.name, lang, audit, runner, pins));
                }
            }
            let image = "${{ steps.image.outputs.name }}:${{ github.sha }}";
            let cache_from = format!("type=gha,scope={}", s.name);
            let cache_to = format!("type=gha,mode=max,scope={}", s.name);
            let context = gh(ctx).into_string();
            let registry_text = gh(registry).into_string();
            let image_steps = [
                Step::run(
                    "Image name",
                    &["echo \"name=$(printf '%s' \"$REGISTRY/$OWNER/$IMAGE\" | tr '[:upper:]' '[:lower:]')\" >> \"$GITHUB_OUTPUT\""],
                )
                .id("image")
                .env("REGISTRY", &registry_text)
                .env("OWNER", "${{ github.repository_owner }}")
                .env("IMAGE", gh(&format!("{}-{}", model.project, s.name)).as_str()),
                Step::uses("Set up Buildx", &pins.action("setup-buildx"), &[]),
                Step::uses(
                    "Build image",
                    &pins.action("build-push"),
                    &[
                        ("context", &context),
                        ("load", "true"),
                        ("tags", image),
                        ("cache-from", &cache_from),
                        ("cache-to", &cache_to),
                    ],
                ),
            ];
            steps.extend(image_steps);
            if gates.code_scanning {
                steps.extend(gates::image_sarif_steps(&s.name, image, pins));
                scanned.push(s.name.clone());
            }
            steps.extend([
                Step::uses(
                    "Trivy scan",
                    &pins.action("trivy"),
                    &[
                        ("image-ref", image),
                        ("exit-code", "1"),
                        ("ignore-unfixed", "true"),
                        ("severity", "CRITICAL,HIGH"),
                    ],
                ),
                Step::uses(
                    &format!("Log in to {registry_text}"),
                    &pins.action("login"),
                    &[("registry", &registry_text), ("username", user), ("password", password)],
                )
                .when(&on_main),
                Step::uses(
                    "Push image",
                    &pins.action("build-push"),
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
    jobs.extend(audits);
    if !scanned.is_empty() {
        jobs.push(gates::code_scanning_job(&scanned, runner, pins));
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

#[cfg(test)]
mod tests {
    use super::*;

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
