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
/// The wizard, `--set`, `OBSGEN_*` variables, `--answers` and what `init` finds in
/// the folder all fill this one structure.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Answers {
    #[serde(default)]
    pub project: ProjectAnswers,
    /// The first service (`--set service.port=8080`); laid over `services[0]`.
    #[serde(default)]
    pub service: ServiceAnswers,
    /// Every service (`[[services]]` tables in an answers file).
    pub services: Option<Vec<ServiceAnswers>>,
    /// Databases as `kind` or `name:kind` (`postgres,cache:redis`), or `none`.
    pub databases: Option<StringOrList>,
    #[serde(default)]
    pub logging: Backend,
    #[serde(default)]
    pub tracing: Backend,
    #[serde(default)]
    pub errors: Backend,
    #[serde(default)]
    pub storage: StorageAnswers,
    /// Alert receivers (`[[receivers]]` tables in an answers file).
    pub receivers: Option<Vec<ReceiverAnswers>>,
    #[serde(default)]
    pub routing: RoutingAnswers,
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
    pub fn into_list(self) -> Vec<String> {
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

#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceAnswers {
    pub name: Option<String>,
    pub image: Option<String>,
    pub build: Option<String>,
    pub port: Option<u16>,
    /// Host port to publish on (default: `port`, moved when it clashes).
    pub host_port: Option<u16>,
    pub public: Option<bool>,
    pub health: Option<String>,
    pub metrics_path: Option<String>,
    pub language: Option<String>,
    /// Prometheus client library (only written as a comment).
    pub metrics_lib: Option<String>,
}

impl ServiceAnswers {
    /// `self` over `base`, field by field.
    pub fn over(self, base: ServiceAnswers) -> ServiceAnswers {
        ServiceAnswers {
            name: self.name.or(base.name),
            image: self.image.or(base.image),
            build: self.build.or(base.build),
            port: self.port.or(base.port),
            host_port: self.host_port.or(base.host_port),
            public: self.public.or(base.public),
            health: self.health.or(base.health),
            metrics_path: self.metrics_path.or(base.metrics_path),
            language: self.language.or(base.language),
            metrics_lib: self.metrics_lib.or(base.metrics_lib),
        }
    }

    fn is_empty(&self) -> bool {
        *self == ServiceAnswers::default()
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backend {
    pub backend: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StorageAnswers {
    /// `minio` or `none`.
    pub backend: Option<String>,
    pub buckets: Option<StringOrList>,
}

/// One alert receiver: its kind and the variable that holds its secret.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiverAnswers {
    pub name: Option<String>,
    /// `slack`, `pagerduty`, `opsgenie`, `webhook` or `email`.
    pub kind: String,
    /// The environment variable holding the secret (`SLACK_WEBHOOK_URL`).
    pub secret_env: Option<String>,
    /// slack: channel.
    pub channel: Option<String>,
    /// webhook: URL.
    pub url: Option<String>,
    /// email: recipients.
    pub to: Option<StringOrList>,
    /// email: sender.
    pub from: Option<String>,
    /// email: SMTP `host:port`.
    pub smarthost: Option<String>,
    /// email: SMTP login.
    pub username: Option<String>,
}

/// Which receivers get alerts of each severity (receiver names).
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingAnswers {
    pub critical: Option<StringOrList>,
    pub warning: Option<StringOrList>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CiAnswers {
    /// `github` or `none`.
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
#[derive(Debug, Clone, Serialize)]
pub struct Filled {
    pub project: FilledProject,
    pub services: Vec<FilledService>,
    pub databases: Vec<FilledDatabase>,
    pub logging: String,
    pub tracing: String,
    pub errors: String,
    pub buckets: Option<Vec<String>>,
    pub receivers: Vec<FilledReceiver>,
    /// `(severity, receiver names)`, critical first.
    pub routes: Vec<(String, Vec<String>)>,
    pub ci: Option<FilledCi>,
    pub aws: Option<AwsAnswers>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FilledProject {
    pub name: String,
    pub templates: String,
    pub profile: String,
    pub environments: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FilledService {
    pub name: String,
    pub image: Option<String>,
    pub build: Option<String>,
    pub port: u16,
    pub host_port: Option<u16>,
    pub public: bool,
    pub health: String,
    pub metrics_path: String,
    pub language: Option<String>,
    pub metrics_lib: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FilledDatabase {
    pub name: String,
    pub kind: String,
    pub host_port: Option<u16>,
}

/// A receiver as manifest keys: `(key, TOML value)` pairs after name and kind.
#[derive(Debug, Clone, Serialize)]
pub struct FilledReceiver {
    pub name: String,
    pub kind: String,
    pub fields: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FilledCi {
    pub provider: String,
    pub registry: Option<String>,
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

/// The services the answers describe: `services`, with `service` laid over the first
/// (or alone, when no list is given).
pub fn service_list(a: &Answers) -> Vec<ServiceAnswers> {
    let mut list = a.services.clone().unwrap_or_default();
    if !a.service.is_empty() {
        if list.is_empty() {
            list.push(a.service.clone());
        } else {
            list[0] = a.service.clone().over(list[0].clone());
        }
    }
    list
}

/// A value that has no default and was not given, with how to give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub key: String,
    pub what: String,
    pub how: String,
}

/// Values `init` cannot make up (asked by the wizard; an error without a terminal
/// unless `--defaults`): at least one service, and each service's name and port.
pub fn missing(a: &Answers) -> Vec<Missing> {
    let list = service_list(a);
    if list.is_empty() {
        return vec![
            Missing {
                key: "service.name".into(),
                what: "name of the application service".into(),
                how: "--set service.name=api".into(),
            },
            Missing {
                key: "service.port".into(),
                what: "port the service listens on".into(),
                how: "--set service.port=8080".into(),
            },
        ];
    }
    let mut out = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let label = s.name.clone().unwrap_or_else(|| format!("#{}", i + 1));
        let how = |key: &str, example: &str| {
            if i == 0 {
                format!("--set service.{key}={example}")
            } else {
                format!(
                    "`{key} = {example}` in [[services]] table {} of an --answers file",
                    i + 1
                )
            }
        };
        if s.name.is_none() {
            out.push(Missing {
                key: format!("services[{i}].name"),
                what: format!("name of service {label}"),
                how: how("name", "\"api\""),
            });
        }
        if s.port.is_none() {
            out.push(Missing {
                key: format!("services[{i}].port"),
                what: format!("port of service `{label}`"),
                how: how("port", "8080"),
            });
        }
    }
    out
}

/// The error for missing values, one line each with the `--set` that supplies it.
pub fn missing_error(missing: &[Missing]) -> anyhow::Error {
    let mut text =
        String::from("obsgen init needs answers it cannot ask for (no terminal, or CI is set):");
    for m in missing {
        text.push_str(&format!("\n  {:<22} {} — {}", m.key, m.what, m.how));
    }
    text.push_str("\nhelp: supply each value above, or pass --defaults to take a default for everything (service `app` on port 8080)");
    anyhow!(text)
}

/// The logging, tracing and error backends of a stack profile (`loki`, `none` …).
pub fn profile_backends(profile: &str) -> (String, String, String) {
    let lower = |s: String| s.to_lowercase();
    crate::assets::stack_profile(profile)
        .map(|s| {
            (
                s.logging
                    .over(Default::default())
                    .backend
                    .map(|b| lower(format!("{b:?}"))),
                s.tracing
                    .over(Default::default())
                    .backend
                    .map(|b| lower(format!("{b:?}"))),
                s.errors
                    .over(Default::default())
                    .backend
                    .map(|b| lower(format!("{b:?}"))),
            )
        })
        .map(|(l, t, e)| {
            (
                l.unwrap_or_else(|| "none".into()),
                t.unwrap_or_else(|| "none".into()),
                e.unwrap_or_else(|| "none".into()),
            )
        })
        .unwrap_or_else(|| ("none".into(), "none".into(), "none".into()))
}

/// The receiver kinds, with the manifest key holding each one's secret and its usual
/// variable name.
pub const RECEIVER_KINDS: &[(&str, &str, &str)] = &[
    ("slack", "webhook_url_env", "SLACK_WEBHOOK_URL"),
    ("pagerduty", "routing_key_env", "PAGERDUTY_ROUTING_KEY"),
    ("opsgenie", "api_key_env", "OPSGENIE_API_KEY"),
    ("email", "auth_password_env", "SMTP_PASSWORD"),
    ("webhook", "bearer_token_env", "WEBHOOK_TOKEN"),
];

/// The database kinds with their aliases.
fn db_kind(word: &str) -> Option<&'static str> {
    match word.trim().to_lowercase().as_str() {
        "postgres" | "postgresql" | "pg" => Some("postgres"),
        "mysql" | "mariadb" => Some("mysql"),
        "mongodb" | "mongo" => Some("mongodb"),
        "redis" | "valkey" => Some("redis"),
        "elasticsearch" | "elastic" | "opensearch" => Some("elasticsearch"),
        _ => None,
    }
}

/// `postgres`, `cache:redis` → databases; `none` or nothing → none.
pub fn parse_databases(entries: &[String]) -> Result<Vec<FilledDatabase>> {
    let mut out: Vec<FilledDatabase> = Vec::new();
    for e in entries {
        let e = e.trim();
        if e.is_empty() || e == "none" {
            continue;
        }
        let (name, kind) = match e.split_once(':') {
            Some((n, k)) => (n.trim().to_string(), k),
            None => (String::new(), e),
        };
        let kind = db_kind(kind).ok_or_else(|| {
            anyhow!(
                "database `{e}`: unknown kind `{kind}`\nhelp: write kind or name:kind, kind one of postgres, mysql, mongodb, redis, elasticsearch (for example `postgres,cache:redis`)"
            )
        })?;
        let name = if name.is_empty() {
            kind.to_string()
        } else {
            name
        };
        if out.iter().any(|d| d.name == name) {
            bail!(
                "database `{name}` is named twice\nhelp: name them apart, for example `orders:postgres,users:postgres`"
            );
        }
        out.push(FilledDatabase {
            name,
            kind: kind.into(),
            host_port: None,
        });
    }
    Ok(out)
}

fn list(v: &Option<StringOrList>) -> Option<Vec<String>> {
    v.clone().map(StringOrList::into_list)
}

fn receiver(r: &ReceiverAnswers, taken: &[FilledReceiver]) -> Result<FilledReceiver> {
    let kind = r.kind.trim().to_lowercase();
    let Some((_, secret_key, secret_default)) = RECEIVER_KINDS.iter().find(|(k, _, _)| *k == kind)
    else {
        bail!(
            "receiver kind `{}` is unknown\nhelp: use one of slack, pagerduty, opsgenie, email, webhook",
            r.kind
        );
    };
    let mut name = r.name.clone().unwrap_or_else(|| kind.clone());
    if r.name.is_none() {
        let mut n = 2;
        while taken.iter().any(|t| t.name == name) {
            name = format!("{kind}-{n}");
            n += 1;
        }
    }
    let q = |s: &str| serde_json::to_string(s).expect("string serializes");
    let mut fields: Vec<(String, String)> = Vec::new();
    let secret = r
        .secret_env
        .clone()
        .unwrap_or_else(|| secret_default.to_string());
    match kind.as_str() {
        "slack" => {
            fields.push((
                "channel".into(),
                q(r.channel.as_deref().unwrap_or("#alerts")),
            ));
            fields.push((secret_key.to_string(), q(&secret)));
        }
        "pagerduty" | "opsgenie" => fields.push((secret_key.to_string(), q(&secret))),
        "webhook" => {
            fields.push((
                "url".into(),
                q(r.url
                    .as_deref()
                    .unwrap_or("https://hooks.example.com/alerts")),
            ));
            if !secret.is_empty() && r.secret_env.as_deref() != Some("") {
                fields.push((secret_key.to_string(), q(&secret)));
            }
        }
        _ => {
            let to = list(&r.to).unwrap_or_else(|| vec!["oncall@example.com".into()]);
            fields.push((
                "to".into(),
                format!(
                    "[{}]",
                    to.iter().map(|t| q(t)).collect::<Vec<_>>().join(", ")
                ),
            ));
            fields.push((
                "from".into(),
                q(r.from.as_deref().unwrap_or("alertmanager@example.com")),
            ));
            fields.push((
                "smarthost".into(),
                q(r.smarthost.as_deref().unwrap_or("smtp.example.com:587")),
            ));
            if let Some(user) = r.username.as_deref().filter(|u| !u.is_empty()) {
                fields.push(("auth_username".into(), q(user)));
                fields.push((secret_key.to_string(), q(&secret)));
            }
        }
    }
    Ok(FilledReceiver { name, kind, fields })
}

/// Fills every value: given answers first, then `defaults_for_required` (service `app`
/// on 8080) for what [`missing`] lists, then the profile's defaults.
pub fn fill(a: &Answers, folder: &Path) -> Result<Filled> {
    let profile = a
        .project
        .profile
        .clone()
        .unwrap_or_else(|| "standard".into());
    let (pl, pt, pe) = profile_backends(&profile);
    let mut services = service_list(a);
    if services.is_empty() {
        services.push(ServiceAnswers::default());
    }
    let services: Vec<FilledService> = services
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let name = s.name.clone().unwrap_or_else(|| {
                if i == 0 {
                    "app".into()
                } else {
                    format!("app-{}", i + 1)
                }
            });
            let build = if s.image.is_none() {
                Some(s.build.clone().unwrap_or_else(|| format!("./{name}")))
            } else {
                s.build.clone()
            };
            FilledService {
                image: s.image.clone(),
                build: if s.image.is_some() { None } else { build },
                port: s.port.unwrap_or(8080),
                host_port: s.host_port,
                public: s.public.unwrap_or(i == 0),
                health: s.health.clone().unwrap_or_else(|| "/health".into()),
                metrics_path: s.metrics_path.clone().unwrap_or_else(|| "/metrics".into()),
                language: s.language.clone(),
                metrics_lib: s.metrics_lib.clone(),
                name,
            }
        })
        .collect();
    let databases = parse_databases(&list(&a.databases).unwrap_or_default())?;
    let buckets = match a.storage.backend.as_deref().map(str::trim) {
        None | Some("none" | "") => None,
        Some("minio") => Some(list(&a.storage.buckets).unwrap_or_else(|| vec!["uploads".into()])),
        Some(other) => bail!("object storage `{other}` is unknown\nhelp: use minio or none"),
    };
    let mut receivers: Vec<FilledReceiver> = Vec::new();
    for r in a.receivers.clone().unwrap_or_default() {
        let filled = receiver(&r, &receivers)?;
        receivers.push(filled);
    }
    let mut routes = Vec::new();
    if !receivers.is_empty() {
        let all: Vec<String> = receivers.iter().map(|r| r.name.clone()).collect();
        // Paging receivers only get critical alerts unless told otherwise.
        let quiet: Vec<String> = receivers
            .iter()
            .filter(|r| r.kind != "pagerduty" && r.kind != "opsgenie")
            .map(|r| r.name.clone())
            .collect();
        let critical = list(&a.routing.critical).unwrap_or_else(|| all.clone());
        let warning =
            list(&a.routing.warning).unwrap_or(if quiet.is_empty() { all.clone() } else { quiet });
        for (sev, names) in [("critical", critical), ("warning", warning)] {
            for n in &names {
                if !all.contains(n) {
                    bail!(
                        "routing.{sev}: no receiver named `{n}`\nhelp: receivers are {}",
                        all.join(", ")
                    );
                }
            }
            if !names.is_empty() {
                routes.push((sev.to_string(), names));
            }
        }
    }
    let ci = match a.ci.provider.as_deref().unwrap_or("github") {
        "none" => Some(FilledCi {
            provider: "none".into(),
            registry: None,
        }),
        p => Some(FilledCi {
            provider: p.to_string(),
            registry: Some(a.ci.registry.clone().unwrap_or_else(|| "ghcr.io".into())),
        }),
    };
    let aws = a
        .deploy
        .aws
        .region
        .clone()
        .filter(|r| !r.is_empty() && r != "none")
        .map(|region| AwsAnswers {
            region: Some(region),
            domain: a.deploy.aws.domain.clone().filter(|d| !d.is_empty()),
        });
    Ok(Filled {
        project: FilledProject {
            name: a
                .project
                .name
                .clone()
                .unwrap_or_else(|| name_from_folder(folder)),
            templates: a.project.templates.clone().unwrap_or_else(|| "1".into()),
            profile,
            environments: list(&a.project.environments)
                .unwrap_or_else(|| vec!["development".into(), "production".into()]),
        },
        services,
        databases,
        logging: a.logging.backend.clone().unwrap_or(pl),
        tracing: a.tracing.backend.clone().unwrap_or(pt),
        errors: a.errors.backend.clone().unwrap_or(pe),
        buckets,
        receivers,
        routes,
        ci,
        aws,
    })
}

/// Moves host ports that two owners would publish (a service on 3000 beside Grafana,
/// two postgres databases on 5432) to the next free port, so the manifest is valid.
/// Returns one line per move.
pub fn settle_ports(filled: &mut Filled) -> Result<Vec<String>> {
    let known = crate::assets::env_profile_names();
    let mut moves = Vec::new();
    for _ in 0..64 {
        let text = render_unsettled(filled)?;
        let Ok(loaded) = crate::load::load_manifest(text, "obsgen.toml") else {
            return Ok(moves);
        };
        // Only a manifest whose sole problems are port clashes is worth settling (the
        // resolver assumes a valid one); any other problem is reported by the caller.
        let problems = crate::validate::validate(&loaded);
        if problems.is_empty()
            || problems
                .iter()
                .any(|d| !d.message.contains("is published twice"))
        {
            return Ok(moves);
        }
        let m = &loaded.value;
        let envs: Vec<&String> = m
            .project
            .environments
            .iter()
            .filter(|e| known.contains(e))
            .collect();
        let all: Vec<Vec<crate::resolve::Published>> = envs
            .iter()
            .map(|e| crate::resolve::published_ports(m, e))
            .collect();
        let used: std::collections::BTreeSet<u16> =
            all.iter().flatten().map(|p| p.host_port).collect();
        let clash = all.iter().find_map(|list| {
            list.iter().enumerate().find_map(|(i, p)| {
                let other = list[..i].iter().find(|q| {
                    q.host_port == p.host_port
                        && (q.address == p.address || q.address == "*" || p.address == "*")
                })?;
                Some((p.clone(), other.owner.clone()))
            })
        });
        let Some((p, other)) = clash else {
            return Ok(moves);
        };
        let free = (p.host_port.saturating_add(1)..=u16::MAX)
            .find(|c| !used.contains(c))
            .context("no free host port")?;
        let index = |prefix: &str| {
            p.key
                .strip_prefix(prefix)
                .and_then(|r| r.split(']').next())
                .and_then(|n| n.parse::<usize>().ok())
        };
        if let Some(i) = index("service[") {
            filled.services[i].host_port = Some(free);
        } else if let Some(i) = index("database[") {
            filled.databases[i].host_port = Some(free);
        } else {
            return Ok(moves);
        }
        moves.push(format!(
            "{} published on host port {free} ({} is taken by {other})",
            p.owner, p.host_port
        ));
    }
    Ok(moves)
}

/// Renders the manifest for filled-in answers, moving clashing host ports first.
pub fn render_filled(filled: &Filled) -> Result<String> {
    let mut filled = filled.clone();
    settle_ports(&mut filled)?;
    render_unsettled(&filled)
}

fn render_unsettled(filled: &Filled) -> Result<String> {
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
        minijinja::context! { a => minijinja::Value::from(minijinja::value::Serde(filled)) },
    )?;
    Ok(text)
}

/// Renders the manifest for the answers, filling the rest from defaults.
pub fn render(answers: Answers, folder: &Path) -> Result<String> {
    render_filled(&fill(&answers, folder)?)
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
