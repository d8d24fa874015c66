//! Prometheus scraping vocabulary: jobs, file-SD target files, relabelling, basic auth
//! and remote write.

use std::collections::BTreeMap;

use serde::Serialize;

use super::compose::Secret;

/// Basic auth of the Prometheus web UI and API.
#[derive(Debug, Clone, Serialize)]
pub struct WebAuth {
    pub username: String,
    /// bcrypt hash of the password (made by the Prometheus component's login).
    pub hash: String,
    /// No password was known when this was generated: nobody can log in yet.
    pub locked: bool,
    /// Where scrapers inside the stack read the password (`/run/secrets/…`).
    pub password_file: String,
}

/// One `remote_write` endpoint; secrets only as files mounted into Prometheus.
#[derive(Debug, Clone, Serialize)]
pub struct RemoteWrite {
    pub name: String,
    pub url: String,
    pub basic_auth: Option<BasicAuth>,
    /// `authorization.credentials_file` (bearer token), container path.
    pub credentials_file: Option<String>,
    /// The Compose secret that carries the password or token, if any.
    pub secret: Option<Secret>,
}

/// `basic_auth` of a scrape job or remote write: the password only as a file.
#[derive(Debug, Clone, Serialize)]
pub struct BasicAuth {
    pub username: String,
    /// Container path of the password file.
    pub password_file: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetFile {
    /// Relative to `monitoring/prometheus/` (`targets/backend.yml`).
    pub path: String,
    /// What the targets are, for the file's comment.
    pub about: String,
    pub groups: Vec<TargetGroup>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetGroup {
    pub targets: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

/// One scrape job. Its targets are read from a file-SD file next to the
/// configuration (`file`), which Prometheus re-reads when it changes. The
/// `environment` label is added to every target by relabelling.
#[derive(Debug, Clone, Serialize)]
pub struct ScrapeJob {
    pub name: String,
    pub metrics_path: String,
    /// File-SD file, relative to the Prometheus configuration folder.
    pub file: String,
    /// Extra relabelling (blackbox probes), as (source label, target label, replacement).
    pub params: BTreeMap<String, Vec<String>>,
    pub relabel: Vec<Relabel>,
    pub basic_auth: Option<BasicAuth>,
}

/// One `relabel_configs` entry.
#[derive(Debug, Clone, Serialize)]
pub struct Relabel {
    pub source_labels: Vec<String>,
    pub target_label: String,
    pub replacement: Option<String>,
}

/// One target group labelled with its service.
pub fn group(service: &str, targets: Vec<String>) -> TargetGroup {
    TargetGroup {
        targets,
        labels: BTreeMap::from([("service".to_string(), service.to_string())]),
    }
}
