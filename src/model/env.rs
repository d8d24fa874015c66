//! References to `.env` variables.

use serde::Serialize;

/// A reference to a `.env` variable in a service's `env` value: `${NAME}`,
/// `${NAME:-default}` (default when unset or empty) or `${NAME-default}` (when unset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvRef {
    pub name: String,
    /// The default text, when the reference has one.
    pub default: Option<String>,
    /// `:-` (the default also replaces an empty value) rather than `-`.
    pub default_if_empty: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct EnvVar {
    pub name: String,
    pub description: String,
    /// How to make a value (for secrets), or the value itself (for settings).
    pub how: String,
    pub secret: bool,
    /// Non-secret default written into `.env.example`.
    pub value: String,
    /// `obsgen secrets` may make a strong random value (passwords of the stack's own
    /// services); false for credentials issued elsewhere (DSNs, API keys).
    pub random: bool,
    /// Where it stands in `.env.example`.
    #[serde(skip)]
    pub section: Section,
}

/// The sections of `.env.example` (and of the Compose `secrets:` list), in document
/// order; within a section, variables follow the component registry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    /// `COMPOSE_PROJECT_NAME`.
    Project,
    /// Logins of the databases the apps use.
    DatabaseLogin,
    /// Logins of the UIs people use (Grafana).
    UiLogin,
    /// Credentials of services outside the stack the apps report to (an external Sentry).
    External,
    /// Credentials of the alert receivers.
    Notification,
    /// The monitoring login (Prometheus and Alertmanager) and remote-write credentials.
    MonitoringLogin,
    /// Passwords and settings of the optional components (logs, traces, errors, storage).
    #[default]
    Component,
    /// Variables the services' own `env` references.
    Reference,
}
