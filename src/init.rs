//! `obsgen init` without prompts: answers from `--defaults`, an answers file
//! (`--answers FILE`, TOML) and `--set key=value` (highest precedence), rendered into
//! a commented `obsgen.toml` that is validated before it is written.

use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diag::{Diagnostic, Diagnostics, Source};
use crate::settings::Layer;

/// The questions `init` answers, as TOML keys (`project.name`, `service.port`, …).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    #[serde(default)]
    pub project: ProjectAnswers,
    #[serde(default)]
    pub service: ServiceAnswers,
    #[serde(default)]
    pub logging: Backend,
    #[serde(default)]
    pub tracing: Backend,
    #[serde(default)]
    pub errors: Backend,
    #[serde(default)]
    pub ci: CiAnswers,
    #[serde(default)]
    pub deploy: DeployAnswers,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectAnswers {
    pub name: Option<String>,
    pub templates: Option<String>,
    pub profile: Option<String>,
    /// A list, or a comma-separated string (`development,production`).
    pub environments: Option<StringOrList>,
}

#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum StringOrList {
    List(Vec<String>),
    Text(String),
}

impl StringOrList {
    fn into_list(self) -> Vec<String> {
        match self {
            StringOrList::List(l) => l,
            StringOrList::Text(t) => t
                .split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceAnswers {
    pub name: Option<String>,
    pub image: Option<String>,
    pub build: Option<String>,
    pub port: Option<u16>,
    pub public: Option<bool>,
    pub health: Option<String>,
    pub metrics_path: Option<String>,
    pub language: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    pub backend: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CiAnswers {
    pub provider: Option<String>,
    pub registry: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeployAnswers {
    #[serde(default)]
    pub aws: AwsAnswers,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsAnswers {
    pub region: Option<String>,
    pub domain: Option<String>,
}

/// Everything filled in, for the template.
#[derive(Debug, Serialize)]
struct Filled {
    project: FilledProject,
    service: ServiceAnswers,
    logging: Backend,
    tracing: Backend,
    errors: Backend,
    ci: CiAnswers,
    deploy: DeployAnswers,
}

#[derive(Debug, Serialize)]
struct FilledProject {
    name: String,
    templates: String,
    profile: String,
    environments: Vec<String>,
}

/// A DNS label made from a folder name (`My Shop` → `my-shop`), or `app`.
pub fn name_from_folder(dir: &Path) -> String {
    let raw = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut name: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    let name: String = name.trim_matches('-').chars().take(63).collect();
    let name = name.trim_end_matches('-').to_string();
    if crate::units::is_dns_label(&name) {
        name
    } else {
        "app".into()
    }
}

/// Turns `--set key=value` pairs into a TOML table (values parse as TOML when they
/// can: `port=8080` is a number, `public=true` a boolean; else they are strings).
pub fn parse_sets(sets: &[String]) -> Result<toml::Table> {
    let mut root = toml::Table::new();
    for set in sets {
        let (key, value) = set.split_once('=').ok_or_else(|| {
            anyhow!(
                "--set {set:?} is not key=value\nhelp: write for example --set project.name=shop"
            )
        })?;
        let path: Vec<&str> = key.trim().split('.').collect();
        if path.iter().any(|p| p.is_empty()) {
            bail!(
                "--set {set:?}: `{key}` is not a dotted key\nhelp: write for example --set service.port=8080"
            );
        }
        let parsed = toml::from_str::<toml::Table>(&format!("v = {value}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.to_string()));
        let mut table = &mut root;
        for part in &path[..path.len() - 1] {
            let entry = table
                .entry(part.to_string())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            table = entry.as_table_mut().ok_or_else(|| {
                anyhow!("--set {set:?}: `{part}` was already set to a value, not a table")
            })?;
        }
        table.insert(path[path.len() - 1].to_string(), parsed);
    }
    Ok(root)
}

/// Merges answers: `top` over `base`.
fn answers_over(top: Answers, base: Answers) -> Answers {
    fn opt<T>(a: Option<T>, b: Option<T>) -> Option<T> {
        a.or(b)
    }
    Answers {
        project: ProjectAnswers {
            name: opt(top.project.name, base.project.name),
            templates: opt(top.project.templates, base.project.templates),
            profile: opt(top.project.profile, base.project.profile),
            environments: opt(top.project.environments, base.project.environments),
        },
        service: ServiceAnswers {
            name: opt(top.service.name, base.service.name),
            image: opt(top.service.image, base.service.image),
            build: opt(top.service.build, base.service.build),
            port: opt(top.service.port, base.service.port),
            public: opt(top.service.public, base.service.public),
            health: opt(top.service.health, base.service.health),
            metrics_path: opt(top.service.metrics_path, base.service.metrics_path),
            language: opt(top.service.language, base.service.language),
        },
        logging: Backend {
            backend: opt(top.logging.backend, base.logging.backend),
        },
        tracing: Backend {
            backend: opt(top.tracing.backend, base.tracing.backend),
        },
        errors: Backend {
            backend: opt(top.errors.backend, base.errors.backend),
        },
        ci: CiAnswers {
            provider: opt(top.ci.provider, base.ci.provider),
            registry: opt(top.ci.registry, base.ci.registry),
        },
        deploy: DeployAnswers {
            aws: AwsAnswers {
                region: opt(top.deploy.aws.region, base.deploy.aws.region),
                domain: opt(top.deploy.aws.domain, base.deploy.aws.domain),
            },
        },
    }
}

/// Reads the answers file and `--set` values (either may be absent).
pub fn gather(answers_file: Option<(&str, String)>, sets: &[String]) -> Result<Answers> {
    let mut answers = Answers::default();
    if let Some((name, text)) = answers_file {
        let loaded = crate::load::parse::<Answers>(Source::new(name, text))?;
        answers = answers_over(loaded.value, answers);
    }
    if !sets.is_empty() {
        let table = parse_sets(sets)?;
        let text = toml::to_string(&table).expect("table serializes");
        let loaded = crate::load::parse::<Answers>(Source::new("--set", text)).map_err(|d| {
            // The synthetic text has no meaningful lines: name the key instead.
            let items = d
                .items
                .into_iter()
                .map(|i| Diagnostic { span: None, ..i })
                .collect();
            Diagnostics::new(d.source, items)
        })?;
        answers = answers_over(loaded.value, answers);
    }
    Ok(answers)
}

/// Renders the manifest for the answers, filling the rest from defaults.
pub fn render(answers: Answers, folder: &Path) -> Result<String> {
    let a = answers;
    let stack = crate::assets::stack_profile(a.project.profile.as_deref().unwrap_or("standard"));
    let preset = stack.map(|s| (s.logging, s.tracing, s.errors));
    let backend = |mine: Option<String>, preset: Option<String>| Backend {
        backend: mine.or(preset).or(Some("none".into())),
    };
    let (pl, pt, pe) = preset
        .map(|(l, t, e)| {
            let lower = |s: String| s.to_lowercase();
            (
                l.over(Default::default())
                    .backend
                    .map(|b| lower(format!("{b:?}"))),
                t.over(Default::default())
                    .backend
                    .map(|b| lower(format!("{b:?}"))),
                e.over(Default::default())
                    .backend
                    .map(|b| lower(format!("{b:?}"))),
            )
        })
        .unwrap_or((None, None, None));
    let service_name = a.service.name.clone().unwrap_or_else(|| "app".into());
    let build = if a.service.image.is_none() {
        Some(
            a.service
                .build
                .clone()
                .unwrap_or_else(|| format!("./{service_name}")),
        )
    } else {
        a.service.build.clone()
    };
    let filled = Filled {
        project: FilledProject {
            name: a
                .project
                .name
                .clone()
                .unwrap_or_else(|| name_from_folder(folder)),
            templates: a.project.templates.clone().unwrap_or_else(|| "1".into()),
            profile: a
                .project
                .profile
                .clone()
                .unwrap_or_else(|| "standard".into()),
            environments: a
                .project
                .environments
                .clone()
                .map(StringOrList::into_list)
                .unwrap_or_else(|| vec!["development".into(), "production".into()]),
        },
        service: ServiceAnswers {
            name: Some(service_name),
            image: a.service.image.clone(),
            build,
            port: Some(a.service.port.unwrap_or(8080)),
            public: Some(a.service.public.unwrap_or(true)),
            health: Some(a.service.health.clone().unwrap_or_else(|| "/health".into())),
            metrics_path: Some(
                a.service
                    .metrics_path
                    .clone()
                    .unwrap_or_else(|| "/metrics".into()),
            ),
            language: a.service.language.clone(),
        },
        logging: backend(a.logging.backend, pl),
        tracing: backend(a.tracing.backend, pt),
        errors: backend(a.errors.backend, pe),
        ci: CiAnswers {
            provider: a.ci.provider.clone().or(Some("github".into())),
            registry: a.ci.registry.clone().or(Some("ghcr.io".into())),
        },
        deploy: a.deploy,
    };
    let template = crate::assets::template_set(&filled.project.templates)
        .get("init/obsgen.toml.j2")
        .copied()
        .or_else(|| {
            crate::assets::template_set("1")
                .get("init/obsgen.toml.j2")
                .copied()
        })
        .context("bug: no init template")?;
    let mut env = crate::render::environment();
    env.add_template("init", template)?;
    let text = env.get_template("init")?.render(
        minijinja::context! { a => minijinja::Value::from(minijinja::value::Serde(&filled)) },
    )?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_become_dns_labels() {
        assert_eq!(name_from_folder(Path::new("/x/My Shop")), "my-shop");
        assert_eq!(name_from_folder(Path::new("/x/__")), "app");
        assert_eq!(name_from_folder(Path::new("/x/api_v2")), "api-v2");
    }

    #[test]
    fn set_values_parse_as_toml_or_strings() {
        let t = parse_sets(&[
            "service.port=8080".into(),
            "service.public=true".into(),
            "project.name=shop".into(),
        ])
        .unwrap();
        assert_eq!(t["service"]["port"].as_integer(), Some(8080));
        assert_eq!(t["service"]["public"].as_bool(), Some(true));
        assert_eq!(t["project"]["name"].as_str(), Some("shop"));
        assert!(parse_sets(&["nokey".into()]).is_err());
        assert!(parse_sets(&["a..b=1".into()]).is_err());
        assert!(parse_sets(&["a=1".into(), "a.b=2".into()]).is_err());
    }

    #[test]
    fn rendered_manifest_is_valid_for_the_defaults() {
        let text = render(Answers::default(), Path::new("/tmp/demo")).unwrap();
        crate::project::load_valid(text.clone(), "obsgen.toml")
            .unwrap_or_else(|d| panic!("{d}\n{text}"));
        assert!(text.contains("name = \"demo\""));
    }
}
