//! Files to render: which template, with which context, checked as which format.

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

/// A rendered file, not yet written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    /// Path relative to the project root, `/`-separated.
    pub path: String,
    /// Template it came from, relative to the template set.
    pub template: String,
    pub bytes: Vec<u8>,
}
