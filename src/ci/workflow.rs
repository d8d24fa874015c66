//! The workflow model the template lays out ([`Workflow`], [`Job`], [`Step`]), the
//! constructors every workflow uses (jobs, permissions, `run:` steps that escape every
//! `${{`, validators run from official images) and the action and tool pins of the
//! template set ([`Pins`], `ci/pins.toml`).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::quote::gh;

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
    /// The step that installs `lang`'s toolchain with its pinned `setup-*` action (Rust is
    /// installed with rustup and has none).
    pub fn setup(lang: crate::manifest::Language, pins: &Pins, with: &[(&str, &str)]) -> Step {
        use crate::manifest::Language;
        let (name, action) = match lang {
            Language::Node => ("Set up Node.js", "setup-node"),
            Language::Python => ("Set up Python", "setup-python"),
            Language::Go => ("Set up Go", "setup-go"),
            Language::Java => ("Set up Java", "setup-java"),
            Language::Rust | Language::Other => panic!("bug: no setup action for {lang:?}"),
        };
        Step::uses(name, &pins.action(action), with)
    }

    /// A `run:` step. Its script never holds a GitHub expression: every `${{` in `lines`
    /// is written so that the runner gives it to the shell as it is. Each line goes into
    /// a YAML literal block, so none may hold a line break (values that reach a script
    /// are validated free of whitespace).
    pub(super) fn run(name: &str, lines: &[&str]) -> Step {
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
    pub(super) fn uses(name: &str, action: &str, with: &[(&str, &str)]) -> Step {
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
    pub(super) fn when(mut self, cond: &str) -> Step {
        self.if_ = Some(cond.into());
        self
    }
    pub(super) fn id(mut self, id: &str) -> Step {
        self.id = Some(id.into());
        self
    }
    pub(super) fn env(mut self, k: &str, v: &str) -> Step {
        self.env.insert(k.into(), v.into());
        self
    }
    pub(super) fn dir(mut self, d: &str) -> Step {
        self.working_directory = Some(d.into());
        self
    }
}

/// The pinned actions and tools of a template set (`ci/pins.toml`).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Pins {
    pub actions: BTreeMap<String, ActionPin>,
    pub tools: BTreeMap<String, String>,
}

/// An action pinned by the full commit SHA of a release tag.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionPin {
    /// `owner/repo` or `owner/repo/path`.
    pub uses: String,
    /// The release tag (`v4.2.2`), written as a comment after the SHA.
    pub tag: String,
    /// The tag's commit: 40 lowercase hex digits.
    pub sha: String,
}

impl ActionPin {
    /// The `uses:` value with its comment: `actions/checkout@<sha> # v4.2.2`.
    pub fn line(&self) -> String {
        format!("{}@{} # {}", self.uses, self.sha, self.tag)
    }
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
    /// The `uses:` line of an action: `owner/repo@<sha> # <tag>`.
    pub fn action(&self, name: &str) -> String {
        self.actions
            .get(name)
            .unwrap_or_else(|| panic!("bug: ci/pins.toml lacks action `{name}`"))
            .line()
    }
    pub fn tool(&self, name: &str) -> &str {
        self.tools
            .get(name)
            .unwrap_or_else(|| panic!("bug: ci/pins.toml lacks tool `{name}`"))
    }
}

pub(super) fn perms(list: &[(&str, &str)]) -> BTreeMap<String, String> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) fn job(id: &str, name: &str, runner: &str, timeout: u32, steps: Vec<Step>) -> Job {
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
pub(super) fn docker_tool(image: &str, entrypoint: &str, args: &str) -> String {
    format!(
        "docker run --rm -v \"$PWD:/work:ro\" -w /work --entrypoint {entrypoint} {image} {args}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_are_pinned_by_sha_with_an_exact_release_tag() {
        let pins = Pins::load("1");
        assert!(pins.actions.len() >= 10);
        for (name, a) in &pins.actions {
            assert!(
                (2..=3).contains(&a.uses.split('/').count()),
                "{name}: {}",
                a.uses
            );
            assert!(
                a.sha.len() == 40
                    && a.sha
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{name}: `{}` is not a full commit SHA",
                a.sha
            );
            let parts: Vec<&str> = a.tag.trim_start_matches('v').split('.').collect();
            assert!(
                a.tag.starts_with('v')
                    && parts.len() == 3
                    && parts.iter().all(|p| p.parse::<u32>().is_ok()),
                "{name}: `{}` is not an exact release tag",
                a.tag
            );
        }
        for tool in ["runner", "node", "python", "java", "compose-plugin"] {
            assert!(!pins.tool(tool).is_empty());
        }
    }
}
