//! Compose vocabulary: services, their hardening, health checks, networks and secrets,
//! with the constructors every component shares.

use std::collections::BTreeMap;

use serde::Serialize;

/// A Docker secret: a file next to the manifest, mounted at `/run/secrets/<name>`.
#[derive(Debug, Clone, Serialize)]
pub struct Secret {
    pub name: String,
    /// Relative to the project root (`./secrets/slack_webhook_url`).
    pub file: String,
    /// Where containers read it (`/run/secrets/slack_webhook_url`).
    pub path: String,
    pub description: String,
    /// How to make the file.
    pub how: String,
    /// The `.env` variable whose value this file holds (`obsgen secrets` copies it);
    /// `None`: a credential from outside that only the user can provide.
    pub copy_of: Option<String>,
    /// Where it stands in the Compose `secrets:` list.
    #[serde(skip)]
    pub section: super::env::Section,
}

/// What a Compose service is, for per-environment treatment (limits, hardening).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    App,
    Database,
    Monitoring,
    Exporter,
}

/// One service of the base Compose file, fully decided.
#[derive(Debug, Clone, Serialize)]
pub struct ComposeService {
    pub name: String,
    pub role: Role,
    pub image: Option<String>,
    pub build: Option<String>,
    pub command: Option<Vec<String>>,
    pub user: Option<String>,
    pub expose: Vec<u16>,
    pub environment: BTreeMap<String, String>,
    pub volumes: Vec<String>,
    pub secrets: Vec<String>,
    pub depends_on: Vec<Dependency>,
    pub healthcheck: Option<Healthcheck>,
    pub networks: Vec<NetworkAttachment>,
    pub privileged: bool,
    pub devices: Vec<String>,
    pub pid: Option<String>,
    /// Command set per environment by the overlay; `{env}` stands for the
    /// environment's name (`--config.file=/etc/x/x.{env}.yml`).
    pub env_command: Option<Vec<String>>,
    /// What hardened environments (production, staging) apply to this container.
    pub hardening: Hardening,
    /// Files Compose reads into the environment (`env_file`), relative to the project.
    pub env_file: Vec<String>,
    /// Memory limit floor in MiB, above the environment's limit for the role, for images
    /// that need more (Elasticsearch's heap, Prometheus's head block).
    pub min_memory_mib: Option<u64>,
    /// Development hot reload: bind mount (`./backend:/app`) and command of environments
    /// with `hot_reload = true`.
    pub dev_volume: Option<String>,
    pub dev_command: Option<Vec<String>>,
    /// A job that runs once and exits (`restart: "no"` in every environment).
    pub one_shot: bool,
}

/// Per-container hardening, applied by the overlay of environments with
/// `hardening = true`. Decided by whoever adds the container (it knows its image).
#[derive(Debug, Clone, Serialize)]
pub struct Hardening {
    /// `cap_drop: [ALL]` (false only for privileged containers, where it means nothing).
    pub drop_caps: bool,
    /// Capabilities the image still needs after dropping all (`CHOWN`, `SETUID` …).
    pub cap_add: Vec<String>,
    /// The image runs with a read-only root filesystem (writable paths in `tmpfs`
    /// and volumes).
    pub read_only: bool,
    /// tmpfs mounts for a read-only root (`/tmp`).
    pub tmpfs: Vec<String>,
}

impl Default for Hardening {
    fn default() -> Self {
        Hardening {
            drop_caps: true,
            cap_add: Vec::new(),
            read_only: false,
            tmpfs: Vec::new(),
        }
    }
}

impl ComposeService {
    pub fn new(name: impl Into<String>, role: Role) -> Self {
        ComposeService {
            name: name.into(),
            role,
            image: None,
            build: None,
            command: None,
            user: None,
            expose: Vec::new(),
            environment: BTreeMap::new(),
            volumes: Vec::new(),
            secrets: Vec::new(),
            depends_on: Vec::new(),
            healthcheck: None,
            networks: Vec::new(),
            privileged: false,
            devices: Vec::new(),
            pid: None,
            env_command: None,
            hardening: Hardening::default(),
            env_file: Vec::new(),
            min_memory_mib: None,
            dev_volume: None,
            dev_command: None,
            one_shot: false,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Healthcheck {
    /// `CMD-SHELL` command (when `exec` is empty).
    pub shell: String,
    /// Exec-form command (`["CMD", …]` without the `CMD`), for images without a shell.
    pub exec: Vec<String>,
    pub interval: String,
    pub timeout: String,
    pub retries: u32,
    pub start_period: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NetworkAttachment {
    pub name: String,
    pub aliases: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Network {
    pub name: String,
    pub internal: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Dependency {
    /// Compose service name.
    pub name: String,
    pub condition: Condition,
}

/// When a dependent container may start (Compose `depends_on.<name>.condition`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Once it runs (it has no health check).
    ServiceStarted,
    /// Once its health check passes.
    ServiceHealthy,
    /// Once the one-shot job has exited with status 0.
    ServiceCompletedSuccessfully,
}

impl Condition {
    /// As Compose writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Condition::ServiceStarted => "service_started",
            Condition::ServiceHealthy => "service_healthy",
            Condition::ServiceCompletedSuccessfully => "service_completed_successfully",
        }
    }
}

/// Attaches a container to a network of the stack: `app` (services, databases and
/// what talks to them), `monitoring` (the monitoring stack), `edge` (containers that
/// publish a port or need to reach the internet; never internal).
pub fn attach(name: &str) -> NetworkAttachment {
    NetworkAttachment {
        name: name.into(),
        aliases: Vec::new(),
    }
}

/// A read-only root with a tmpfs `/tmp`, all capabilities dropped: for the Go binaries
/// of the Prometheus ecosystem, which write only to their data volume.
pub fn read_only_hardening() -> Hardening {
    Hardening {
        read_only: true,
        tmpfs: vec!["/tmp".into()],
        ..Hardening::default()
    }
}

/// `nobody`: what the Prometheus, Alertmanager and exporter images run as (made explicit,
/// so a future image cannot silently switch to root).
pub const NOBODY: &str = "65534:65534";
