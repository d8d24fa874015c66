//! The answers `obsgen init` and the wizard work from: every question optional (a
//! value or a list where the manifest takes either), and the services they name.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

pub(super) fn list(v: &Option<StringOrList>) -> Option<Vec<String>> {
    v.clone().map(StringOrList::into_list)
}
