//! The quality and security gates of the generated CI, each switched by `[ci]`:
//! a dependency audit per built service (`audit`), Trivy results uploaded as SARIF to
//! code scanning (`code_scanning`), a line-coverage threshold (`coverage`) and the check
//! after a deploy that Prometheus on the host has no critical alert firing and no
//! target down (`post_deploy_check`).
//!
//! Every manifest value reaching a script is a [`sh`] word, every one reaching a
//! workflow string [`gh`] text; the numbers (coverage) are validated 1–100.

use super::workflow::{Job, Pins, Step, job, perms};
use crate::manifest::Language;
use crate::quote::{gh, sh};

/// Which gates `[ci]` switches on.
#[derive(Debug, Clone, Copy)]
pub struct Gates {
    pub audit: bool,
    pub code_scanning: bool,
    pub coverage: Option<u8>,
    pub post_deploy_check: bool,
}

impl Gates {
    pub fn of(ci: &crate::manifest::Ci) -> Gates {
        Gates {
            audit: ci.audit,
            code_scanning: ci.code_scanning,
            coverage: ci.coverage,
            post_deploy_check: ci.post_deploy_check,
        }
    }
}

/// The steps of a dependency-audit job for `lang` in the build context `ctx` (manifest
/// text), after the checkout; `None` for `other`.
pub(super) fn audit_steps(
    lang: Language,
    ctx: &str,
    service: &str,
    pins: &Pins,
) -> Option<Vec<Step>> {
    let dir = gh(ctx).into_string();
    let steps = match lang {
        Language::Node => vec![
            Step::setup(
                Language::Node,
                pins,
                &[("node-version", pins.tool("node"))],
            ),
            Step::run(
                "npm audit (high and critical advisories fail)",
                &["npm audit --audit-level=high"],
            )
            .dir(&dir),
        ],
        Language::Python => vec![
            Step::setup(
                Language::Python,
                pins,
                &[("python-version", pins.tool("python"))],
            ),
            Step::run(
                "pip-audit (known vulnerabilities fail)",
                &[
                    &format!(
                        "python -m pip install {}",
                        sh(&format!("pip-audit=={}", pins.tool("pip-audit")))
                    ),
                    "if [ -f requirements.txt ]; then pip-audit -r requirements.txt; else pip-audit .; fi",
                ],
            )
            .dir(&dir),
        ],
        Language::Go => vec![
            Step::setup(
                Language::Go,
                pins,
                &[
                    (
                        "go-version-file",
                        gh(&format!("{ctx}/go.mod")).as_str(),
                    ),
                    ("cache", "false"),
                ],
            ),
            Step::run(
                "govulncheck (reachable vulnerabilities fail)",
                &[&format!(
                    "go run {} ./...",
                    sh(&format!(
                        "golang.org/x/vuln/cmd/govulncheck@{}",
                        pins.tool("govulncheck")
                    ))
                )],
            )
            .dir(&dir),
        ],
        Language::Rust => vec![Step::run(
            "cargo audit (RustSec advisories fail)",
            &[
                &format!(
                    "cargo install cargo-audit --locked --version {}",
                    sh(pins.tool("cargo-audit"))
                ),
                "cargo audit",
            ],
        )
        .dir(&dir)],
        Language::Java => vec![
            Step::uses(
                "Cache the vulnerability database",
                &pins.action("cache"),
                &[
                    ("path", "~/.dependency-check"),
                    ("key", "dependency-check-${{ github.run_id }}"),
                    ("restore-keys", "dependency-check-"),
                ],
            ),
            Step::run(
                "OWASP dependency-check (CVSS 7 and above fail)",
                &[
                    "mkdir -p ~/.dependency-check",
                    &format!(
                        "docker run --rm --user \"$(id -u):$(id -g)\" -v \"$PWD:/src\" -v \"$HOME/.dependency-check:/usr/share/dependency-check/data\" {} --scan /src --project {} --out /src/dependency-check-report --failOnCVSS 7 ${{NVD_API_KEY:+--nvdApiKey \"$NVD_API_KEY\"}}",
                        sh(&format!(
                            "owasp/dependency-check:{}",
                            pins.tool("dependency-check")
                        )),
                        sh(service)
                    ),
                ],
            )
            .env("NVD_API_KEY", "${{ secrets.NVD_API_KEY }}")
            .dir(&dir),
        ],
        Language::Other => return None,
    };
    Some(steps)
}

/// The audit job of one service: 30 minutes, 60 for Java (dependency-check downloads
/// the NVD database when its cache is cold).
pub(super) fn audit_job(
    service: &str,
    lang: Language,
    steps: Vec<Step>,
    runner: &str,
    pins: &Pins,
) -> Job {
    let mut all = vec![Step::uses("Check out", &pins.action("checkout"), &[])];
    all.extend(steps);
    job(
        &format!("audit-{service}"),
        &format!("{service}: dependency audit"),
        runner,
        if lang == Language::Java { 60 } else { 30 },
        all,
    )
}

/// The test step of `lang` measuring line coverage and failing below `min` percent; it
/// replaces the language's plain test step. `None` for `other`.
pub(super) fn coverage_step(lang: Language, ctx: &str, min: u8, pins: &Pins) -> Option<Step> {
    let dir = gh(ctx).into_string();
    let min_word = sh(&min.to_string()).into_string();
    let step = match lang {
        Language::Node => Step::run(
            &format!("Test (line coverage at least {min}%)"),
            &[&format!(
                "npx --yes {} --check-coverage --lines {min_word} npm test",
                sh(&format!("c8@{}", pins.tool("c8")))
            )],
        ),
        Language::Python => Step::run(
            &format!("Test (line coverage at least {min}%)"),
            &[
                &format!(
                    "python -m pip install {}",
                    sh(&format!("pytest-cov=={}", pins.tool("pytest-cov")))
                ),
                &format!("pytest --cov=. --cov-report=term --cov-fail-under={min_word}"),
            ],
        ),
        Language::Go => Step::run(
            &format!("Test (statement coverage at least {min}%)"),
            &[
                "go test -race -coverprofile=coverage.out ./...",
                &format!(
                    "go tool cover -func=coverage.out | {}",
                    go_total_check(&min_word)
                ),
            ],
        ),
        Language::Rust => Step::run(
            &format!("Test (line coverage at least {min}%)"),
            &[
                "rustup component add llvm-tools-preview",
                &format!(
                    "cargo install cargo-llvm-cov --locked --version {}",
                    sh(pins.tool("cargo-llvm-cov"))
                ),
                &format!("cargo llvm-cov --locked --fail-under-lines {min_word}"),
            ],
        ),
        Language::Java => {
            let jacoco = sh(&format!(
                "org.jacoco:jacoco-maven-plugin:{}",
                pins.tool("jacoco")
            ))
            .into_string();
            Step::run(
                &format!("Build, lint and test (line coverage at least {min}%)"),
                &[
                    &format!(
                        "if [ -x ./mvnw ]; then ./mvnw -B {jacoco}:prepare-agent verify {jacoco}:report"
                    ),
                    "elif [ -x ./gradlew ]; then ./gradlew build jacocoTestReport",
                    &format!("else mvn -B {jacoco}:prepare-agent verify {jacoco}:report"),
                    "fi",
                    &format!(
                        "find . -path '*jacoco*' -name '*.csv' -exec cat {{}} + | {}",
                        jacoco_csv_check(&min_word)
                    ),
                ],
            )
        }
        Language::Other => return None,
    };
    Some(step.dir(&dir))
}

/// `awk` reading `go tool cover -func` output: fails unless the `total:` line is at
/// least `min` percent (a shell word).
pub(super) fn go_total_check(min: &str) -> String {
    format!(
        "awk -v min={min} '/^total:/ {{ found = 1; p = $NF; sub(/%/, \"\", p); printf \"coverage %s%% (minimum %s%%)\\n\", p, min; if (p + 0 < min + 0) exit 1 }} END {{ if (!found) {{ print \"no coverage total\"; exit 1 }} }}'"
    )
}

/// `awk` reading JaCoCo CSV reports: fails unless the lines covered are at least `min`
/// percent of all lines (LINE_MISSED and LINE_COVERED are columns 8 and 9).
pub(super) fn jacoco_csv_check(min: &str) -> String {
    format!(
        "awk -F, -v min={min} '$1 != \"GROUP\" {{ m += $8; c += $9 }} END {{ if (m + c == 0) {{ print \"no JaCoCo CSV report (Gradle: apply the jacoco plugin with csv.required = true)\"; exit 1 }} p = 100 * c / (m + c); printf \"line coverage %.1f%% (minimum %s%%)\\n\", p, min; if (p < min + 0) exit 1 }}'"
    )
}

/// The SARIF file of a service's image scan.
fn image_sarif(service: &str) -> String {
    format!("trivy-image-{service}.sarif")
}

/// Steps of a build job, after the image is built: Trivy's image results as SARIF (not
/// failing; the gating scan follows) kept as an artifact for the code-scanning job.
pub(super) fn image_sarif_steps(service: &str, image: &str, pins: &Pins) -> Vec<Step> {
    let file = gh(&image_sarif(service)).into_string();
    vec![
        Step::uses(
            "Trivy scan (SARIF for code scanning)",
            &pins.action("trivy"),
            &[
                ("image-ref", image),
                ("format", "sarif"),
                ("output", &file),
                ("exit-code", "0"),
                ("ignore-unfixed", "true"),
                ("severity", "CRITICAL,HIGH"),
            ],
        ),
        Step::uses(
            "Keep the SARIF for code scanning",
            &pins.action("upload-artifact"),
            &[
                ("name", gh(&format!("sarif-{service}")).as_str()),
                ("path", &file),
                ("retention-days", "5"),
                ("if-no-files-found", "ignore"),
            ],
        ),
    ]
}

/// Events on which GitHub lets a workflow upload to code scanning: pushes and
/// pull requests from branches of the same repository (a fork's token is read-only).
pub const UPLOAD_ALLOWED: &str = "github.event_name == 'push' || github.event.pull_request.head.repo.full_name == github.repository";

/// The job uploading SARIF to code scanning: Trivy's configuration scan of the
/// repository (Dockerfiles, Compose, CloudFormation) and each build job's image results.
/// The only job with `security-events: write`; it runs no project code.
pub(super) fn code_scanning_job(services: &[String], runner: &str, pins: &Pins) -> Job {
    let mut steps = vec![
        Step::uses("Check out", &pins.action("checkout"), &[]),
        Step::uses(
            "Image results of the build jobs",
            &pins.action("download-artifact"),
            &[
                ("pattern", "sarif-*"),
                ("path", "sarif"),
                ("merge-multiple", "true"),
            ],
        ),
        Step::uses(
            "Trivy configuration scan",
            &pins.action("trivy"),
            &[
                ("scan-type", "config"),
                ("scan-ref", "."),
                ("format", "sarif"),
                ("output", "sarif/trivy-config.sarif"),
                ("exit-code", "0"),
                ("severity", "CRITICAL,HIGH"),
            ],
        ),
        Step::uses(
            "Upload the configuration results",
            &pins.action("upload-sarif"),
            &[
                ("sarif_file", "sarif/trivy-config.sarif"),
                ("category", "trivy-config"),
            ],
        ),
    ];
    for s in services {
        let file = format!("sarif/{}", image_sarif(s));
        steps.push(
            Step::uses(
                &format!("Upload the image results of {}", gh(s)),
                &pins.action("upload-sarif"),
                &[
                    ("sarif_file", gh(&file).as_str()),
                    ("category", gh(&format!("trivy-image-{s}")).as_str()),
                ],
            )
            .when(&format!(
                "hashFiles({}) != ''",
                crate::quote::gh_expr(&file)
            )),
        );
    }
    let mut j = job(
        "code-scanning",
        "Trivy results to code scanning",
        runner,
        15,
        steps,
    );
    j.permissions = perms(&[
        ("actions", "read"),
        ("contents", "read"),
        ("security-events", "write"),
    ]);
    j.needs = services.iter().map(|s| format!("build-{s}")).collect();
    j.if_ = Some(format!("!cancelled() && ({UPLOAD_ALLOWED})"));
    j
}

/// Commands run on the host after the smoke tests: after a settle window of 30 s,
/// Prometheus (on loopback, with the host's login) is asked every 10 s, at most 12
/// times, whether a critical alert fires or a target is down; the check passes at the
/// first clean answer and fails with what fires after the last.
pub fn alerts_check_commands(dir: &str, user: &str, secret: &str, port: u16) -> Vec<String> {
    let url = sh(&format!("http://127.0.0.1:{port}/api/v1/query"));
    let alerts = sh("query=ALERTS{alertstate=\"firing\",severity=\"critical\"}");
    let down = sh("query=up == 0");
    vec![
        "set -u".into(),
        format!("cd {}", sh(dir)),
        format!("auth={}\":$(cat {})\"", sh(user), sh(secret)),
        format!("q() {{ curl -fsS --max-time 10 -u \"$auth\" -G {url} --data-urlencode \"$1\"; }}"),
        "sleep 30".into(),
        "for i in $(seq 1 12); do".into(),
        format!("  a=$(q {alerts}) || a=''"),
        format!("  d=$(q {down}) || d=''"),
        "  if printf '%s' \"$a\" | grep -q '\"result\":\\[\\]' && printf '%s' \"$d\" | grep -q '\"result\":\\[\\]'; then echo 'no critical alert firing, no target down'; exit 0; fi".into(),
        "  sleep 10".into(),
        "done".into(),
        "printf 'critical alerts firing: %s\\ntargets down: %s\\n' \"$a\" \"$d\" >&2".into(),
        "echo 'a critical alert fires or a target is down after the deploy' >&2".into(),
        "exit 1".into(),
    ]
}
