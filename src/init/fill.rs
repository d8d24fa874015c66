//! Answers → [`Filled`]: every value decided (defaults, the profile's backends,
//! databases and receivers parsed), host ports moved apart until none clashes.

use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail};
use serde::Serialize;

use super::answers::{Answers, AwsAnswers, ReceiverAnswers, ServiceAnswers, list, service_list};
use super::render_unsettled;
use crate::detect::name_from_folder;
use crate::settings::Layer;

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
        let all: Vec<Vec<crate::environments::Published>> = envs
            .iter()
            .map(|e| crate::environments::published_ports(m, e))
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
