//! Planning: which files a model produces, from which template, with which
//! context. One function per target family; pure, no I/O.

use crate::model::Model;

/// How a rendered file is checked after rendering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
    /// `KEY=value` lines and comments.
    Dotenv,
    /// POSIX sh script (`.sh`), not parsed back.
    Shell,
    /// Markdown (`.md`): the header is an HTML comment; code blocks it holds are
    /// checked by the family that writes it.
    Markdown,
    /// Grafana Alloy configuration (`.alloy`): `//` comments, blocks in braces.
    Alloy,
}

impl Format {
    pub fn of(path: &str) -> Format {
        if path.ends_with(".json") {
            Format::Json
        } else if path.ends_with(".yml") || path.ends_with(".yaml") {
            Format::Yaml
        } else if path.ends_with(".sh") {
            Format::Shell
        } else if path.ends_with(".md") {
            Format::Markdown
        } else if path.ends_with(".alloy") {
            Format::Alloy
        } else {
            Format::Dotenv
        }
    }

    /// The generated-file header line in this format's comment syntax; JSON has none.
    pub fn header_line(self, header: &str) -> Option<String> {
        match self {
            Format::Json => None,
            Format::Yaml | Format::Dotenv | Format::Shell => Some(format!("# {header}")),
            Format::Markdown => Some(format!("<!-- {header} -->")),
            Format::Alloy => Some(format!("// {header}")),
        }
    }
}

/// One file to render.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// Output path relative to the project root, `/`-separated.
    pub path: String,
    /// Template inside the template set.
    pub template: String,
    /// Index into `model.environments` for per-environment files (`env` in the template).
    pub environment: Option<usize>,
    /// Extra context for per-item files (`item` in the template).
    pub item: Option<minijinja::Value>,
}

impl Artifact {
    pub fn new(path: impl Into<String>, template: &str) -> Self {
        Artifact {
            path: path.into(),
            template: template.into(),
            environment: None,
            item: None,
        }
    }

    pub fn per_env(path: impl Into<String>, template: &str, env: usize) -> Self {
        Artifact {
            environment: Some(env),
            ..Artifact::new(path, template)
        }
    }

    /// A file rendered for one item of the model (`item` in the template).
    pub fn per_item(path: impl Into<String>, template: &str, item: &impl serde::Serialize) -> Self {
        let item = minijinja::Value::from(minijinja::value::Serde(item));
        Artifact {
            item: Some(item),
            ..Artifact::new(path, template)
        }
    }

    pub fn format(&self) -> Format {
        Format::of(&self.path)
    }
}

/// Compose: the base file and one overlay per environment.
fn compose(m: &Model) -> Vec<Artifact> {
    let mut out = vec![Artifact::new("compose.yaml", "compose/compose.yaml.j2")];
    for (i, env) in m.environments.iter().enumerate() {
        out.push(Artifact::per_env(
            env.compose_file.clone(),
            "compose/compose.env.yaml.j2",
            i,
        ));
    }
    out
}

/// Prometheus: one configuration per environment (intervals and labels differ), and
/// one file-SD target file per scraped service (shared by the environments).
fn prometheus(m: &Model) -> Vec<Artifact> {
    let configs = m.environments.iter().enumerate().map(|(i, env)| {
        Artifact::per_env(
            format!("monitoring/prometheus/{}", env.prometheus_file),
            "prometheus/prometheus.yml.j2",
            i,
        )
    });
    let targets = m.target_files.iter().map(|t| {
        Artifact::per_item(
            format!("monitoring/prometheus/{}", t.path),
            "prometheus/targets.yml.j2",
            t,
        )
    });
    // Rule files are the bulk of a large project: convert them on all cores.
    let rules: Vec<Artifact> = crate::render::parallel_map(&m.rules, |r| {
        let mut files = vec![Artifact::per_item(
            format!("monitoring/prometheus/rules/{}.yml", r.name),
            "prometheus/rules.yml.j2",
            r,
        )];
        if !r.tests.is_empty() {
            files.push(Artifact::per_item(
                format!("monitoring/prometheus/tests/{}.test.yml", r.name),
                "prometheus/rules.test.yml.j2",
                r,
            ));
        }
        files
    })
    .into_iter()
    .flatten()
    .collect();
    configs.chain(targets).chain(rules).collect()
}

/// `.env.example`: every variable the stack reads.
fn dotenv(_m: &Model) -> Vec<Artifact> {
    vec![Artifact::new(".env.example", "env/env.example.j2")]
}

/// Every artifact of the model, sorted by path.
pub fn plan(m: &Model) -> Vec<Artifact> {
    let mut all: Vec<Artifact> = [
        compose(m),
        prometheus(m),
        crate::exporters::plan(m),
        dotenv(m),
        crate::alertmanager::artifacts(m),
        crate::ci::artifacts(m),
        crate::aws::artifacts(m),
        crate::grafana::artifacts(m),
        crate::components::artifacts(m),
    ]
    .into_iter()
    .flatten()
    .collect();
    all.sort_by(|a, b| a.path.cmp(&b.path));
    all
}
