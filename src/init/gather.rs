//! Where answers come from, highest precedence first: `--set key=value` and
//! `OBSGEN_*` variables, the answers file, then proposals from what `obsgen detect`
//! found in the folder; and how two sets of answers merge.

use std::path::Path;

use anyhow::{Result, anyhow, bail};

use super::answers::{
    Answers, AwsAnswers, Backend, CiAnswers, DeployAnswers, ProjectAnswers, RoutingAnswers,
    ServiceAnswers, StorageAnswers, StringOrList,
};
use crate::detect::name_from_folder;
use crate::diag::{Diagnostic, Diagnostics, Source};

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

/// Merges answers: `top` over `base` (lists are replaced whole, not merged).
pub fn answers_over(top: Answers, base: Answers) -> Answers {
    Answers {
        project: ProjectAnswers {
            name: top.project.name.or(base.project.name),
            templates: top.project.templates.or(base.project.templates),
            profile: top.project.profile.or(base.project.profile),
            environments: top.project.environments.or(base.project.environments),
        },
        service: top.service.over(base.service),
        services: top.services.or(base.services),
        databases: top.databases.or(base.databases),
        logging: Backend {
            backend: top.logging.backend.or(base.logging.backend),
        },
        tracing: Backend {
            backend: top.tracing.backend.or(base.tracing.backend),
        },
        errors: Backend {
            backend: top.errors.backend.or(base.errors.backend),
        },
        storage: StorageAnswers {
            backend: top.storage.backend.or(base.storage.backend),
            buckets: top.storage.buckets.or(base.storage.buckets),
        },
        receivers: top.receivers.or(base.receivers),
        routing: RoutingAnswers {
            critical: top.routing.critical.or(base.routing.critical),
            warning: top.routing.warning.or(base.routing.warning),
        },
        ci: CiAnswers {
            provider: top.ci.provider.or(base.ci.provider),
            registry: top.ci.registry.or(base.ci.registry),
        },
        deploy: DeployAnswers {
            aws: AwsAnswers {
                region: top.deploy.aws.region.or(base.deploy.aws.region),
                domain: top.deploy.aws.domain.or(base.deploy.aws.domain),
            },
        },
    }
}

/// Every answer key a single `--set` or `OBSGEN_*` variable can give.
pub const SCALAR_KEYS: &[&str] = &[
    "project.name",
    "project.templates",
    "project.profile",
    "project.environments",
    "service.name",
    "service.image",
    "service.build",
    "service.port",
    "service.public",
    "service.health",
    "service.metrics_path",
    "service.language",
    "databases",
    "logging.backend",
    "tracing.backend",
    "errors.backend",
    "storage.backend",
    "storage.buckets",
    "routing.critical",
    "routing.warning",
    "ci.provider",
    "ci.registry",
    "deploy.aws.region",
    "deploy.aws.domain",
];

/// The variable that answers a key: `service.metrics_path` → `OBSGEN_SERVICE_METRICS_PATH`.
pub fn env_name(key: &str) -> String {
    format!("OBSGEN_{}", key.to_uppercase().replace('.', "_"))
}

/// `OBSGEN_*` variables as `key=value` pairs; an unknown `OBSGEN_` name is an error.
pub fn env_sets(vars: impl IntoIterator<Item = (String, String)>) -> Result<Vec<String>> {
    let known: Vec<(String, &str)> = SCALAR_KEYS.iter().map(|k| (env_name(k), *k)).collect();
    let mut sets = Vec::new();
    let mut vars: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(k, _)| k.starts_with("OBSGEN_"))
        .collect();
    vars.sort();
    for (name, value) in vars {
        match known.iter().find(|(n, _)| *n == name) {
            Some((_, key)) => sets.push(format!("{key}={value}")),
            None => {
                let names: Vec<&str> = known.iter().map(|(n, _)| n.as_str()).collect();
                let help = match crate::diag::suggest(&name, names.iter().copied()) {
                    Some(s) => format!("did you mean {s}?"),
                    None => format!("init reads {}", names.join(", ")),
                };
                bail!("unknown variable {name} in the environment\nhelp: {help}");
            }
        }
    }
    Ok(sets)
}

fn parse_layer(name: &str, sets: &[String]) -> Result<Answers> {
    let table = parse_sets(sets)?;
    let text = toml::to_string(&table).expect("table serializes");
    let loaded = crate::load::parse::<Answers>(Source::new(name, text)).map_err(|d| {
        // The synthetic text has no meaningful lines: name the key instead.
        let items = d
            .items
            .into_iter()
            .map(|i| Diagnostic { span: None, ..i })
            .collect();
        Diagnostics::new(d.source, items)
    })?;
    Ok(loaded.value)
}

/// The answers given explicitly: `--set` over `OBSGEN_*` variables over the answers file.
pub fn gather_all(
    answers_file: Option<(&str, String)>,
    env: &[String],
    sets: &[String],
) -> Result<Answers> {
    let mut answers = Answers::default();
    if let Some((name, text)) = answers_file {
        let loaded = crate::load::parse::<Answers>(Source::new(name, text))?;
        answers = answers_over(loaded.value, answers);
    }
    if !env.is_empty() {
        answers = answers_over(parse_layer("OBSGEN_* variables", env)?, answers);
    }
    if !sets.is_empty() {
        answers = answers_over(parse_layer("--set", sets)?, answers);
    }
    Ok(answers)
}

/// Reads the answers file and `--set` values (either may be absent).
pub fn gather(answers_file: Option<(&str, String)>, sets: &[String]) -> Result<Answers> {
    gather_all(answers_file, &[], sets)
}

/// What the folder suggests, as answers (the layer under everything given).
pub fn proposals(found: &crate::detect::Found, folder: &Path) -> Answers {
    let services: Vec<ServiceAnswers> = found
        .services
        .iter()
        .map(|s| ServiceAnswers {
            name: Some(s.name.clone()),
            image: s.image.clone(),
            build: s.build.clone(),
            port: s.port,
            host_port: s.host_port,
            public: s.public.then_some(true),
            health: s.health.clone(),
            metrics_path: s.metrics_path.clone(),
            language: s.language.clone(),
            metrics_lib: s.metrics_lib.clone(),
        })
        .collect();
    Answers {
        project: ProjectAnswers {
            name: Some(name_from_folder(folder)),
            ..Default::default()
        },
        services: (!services.is_empty()).then_some(services),
        databases: (!found.databases.is_empty())
            .then(|| StringOrList::List(crate::detect::database_answers(&found.databases))),
        ..Default::default()
    }
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
}
