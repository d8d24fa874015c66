//! Object storage (`[storage.minio]`): MinIO (S3 API on the `app` network, console on
//! the monitoring address, root credentials from `.env`, data in a volume, health
//! check) and `minio-init`, a one-shot job with the MinIO client that waits for MinIO
//! to be healthy and creates every bucket of the manifest (`mc mb --ignore-existing`,
//! so a rerun changes nothing). MinIO's cluster metrics are public on its API port
//! (`MINIO_PROMETHEUS_AUTH_TYPE=public`): that port is only on the `app` network
//! (internal in production), and metrics hold no object data, while a bearer token
//! would be one more secret to generate with `mc admin prometheus generate`.

use super::{RANDOM, image, req};
use crate::model::*;

pub mod rules;

pub const MINIO: &str = "minio";
pub const API_PORT: u16 = 9000;
pub const CONSOLE_PORT: u16 = 9001;
pub const INIT: &str = "minio-init";
pub const METRICS_PATH: &str = "/minio/v2/metrics/cluster";
const USER_VAR: &str = "MINIO_ROOT_USER";
const PASSWORD_VAR: &str = "MINIO_ROOT_PASSWORD";
/// Every variable MinIO reads from `.env`.
pub const VARS: [&str; 2] = [USER_VAR, PASSWORD_VAR];

/// The storage component (`[storage]`).
pub struct Storage;

impl super::Component for Storage {
    fn name(&self) -> &'static str {
        "storage"
    }

    fn enabled(&self, settled: &Settled) -> bool {
        settled.addons.buckets.is_some()
    }

    fn catalogues(&self) -> &'static [&'static str] {
        &["minio"]
    }

    fn contribute(&self, settled: &Settled) -> Contribution {
        let mut out = Contribution::default();
        assemble(settled, &mut out);
        rules::contribute(&mut out);
        out
    }
}

fn assemble(settled: &Settled, out: &mut Contribution) {
    let Some(buckets) = settled.addons.buckets.clone() else {
        return;
    };
    out.setting_var(
        Section::Component,
        USER_VAR,
        "MinIO root user (console login and S3 access key of the init job)",
        "a name other than minioadmin or admin, at least 3 characters",
        &format!("{}-storage", settled.project),
    );
    out.secret_var(
        Section::Component,
        PASSWORD_VAR,
        "MinIO root password (at least 8 characters)",
        RANDOM,
    );
    let mut c = ComposeService::new(MINIO, Role::Database);
    c.image = Some(image(settled, "minio"));
    c.command = Some(vec![
        "server".into(),
        "/data".into(),
        "--console-address".into(),
        format!(":{CONSOLE_PORT}"),
    ]);
    c.environment = [
        ("MINIO_ROOT_USER", req(USER_VAR)),
        ("MINIO_ROOT_PASSWORD", req(PASSWORD_VAR)),
        ("MINIO_PROMETHEUS_AUTH_TYPE", "public".into()),
        ("MINIO_BROWSER_REDIRECT", "false".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    c.expose = vec![API_PORT, CONSOLE_PORT];
    c.volumes = vec!["minio-data:/data".into()];
    c.healthcheck = Some(Healthcheck {
        exec: Vec::new(),
        shell: "mc ready local".into(),
        interval: "10s".into(),
        timeout: "5s".into(),
        retries: 10,
        start_period: "20s".into(),
    });
    // Runs as root (the image's user) on a root-owned volume: no capability needed.
    // app: apps use the S3 API; edge: the console is published.
    c.networks = vec![attach("app"), attach("edge")];
    out.compose.push(c);
    out.volumes.push("minio-data".into());
    out.add_job(
        MINIO,
        METRICS_PATH,
        "MinIO (object storage)",
        vec![group(MINIO, vec![format!("{MINIO}:{API_PORT}")])],
    );
    if buckets.is_empty() {
        return;
    }
    let mut init = ComposeService::new(INIT, Role::Database);
    init.image = Some(image(settled, "minio-mc"));
    // The image's entrypoint is `mc`; the alias `local` comes from MC_HOST_local.
    let mut cmd = vec!["mb".to_string(), "--ignore-existing".into()];
    cmd.extend(buckets.iter().map(|b| format!("local/{b}")));
    init.command = Some(cmd);
    init.environment = [(
        "MC_HOST_local".to_string(),
        format!(
            "http://{}:{}@{MINIO}:{API_PORT}",
            req(USER_VAR),
            req(PASSWORD_VAR)
        ),
    )]
    .into();
    init.depends_on = vec![Dependency {
        name: MINIO.into(),
        condition: Condition::ServiceHealthy,
    }];
    init.hardening.read_only = true;
    // mc keeps its configuration under ~/.mc.
    init.hardening.tmpfs = vec!["/tmp".into(), "/root/.mc".into()];
    init.one_shot = true;
    init.networks = vec![attach("app")];
    out.compose.push(init);
}
