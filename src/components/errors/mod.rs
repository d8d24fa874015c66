//! Error tracking (`[errors] backend`).
//!
//! - `glitchtip`: GlitchTip, Sentry-compatible and self-hosted: the web service (UI
//!   on the monitoring address, event ingestion on the `app` network), a Celery worker
//!   with beat, a one-shot migration job both wait for, and their own Postgres
//!   (`glitchtip-postgres`) and Redis (`glitchtip-redis`, with a password). The secret
//!   key and passwords come from `.env`. The DSN apps report to is created in the
//!   GlitchTip UI after the first start (a project's "Client Keys"), then written to
//!   `.env` as `dsn_env`: apps get it as `SENTRY_DSN` (empty until then, which Sentry
//!   SDKs treat as "disabled").
//! - `sentry`: no containers; apps get `SENTRY_DSN` from the required variable
//!   `dsn_env` of the external service.

use std::collections::BTreeMap;

use super::{RANDOM, image, req};
use crate::model::*;

mod rules;

pub const GLITCHTIP: &str = "glitchtip";
pub const GLITCHTIP_PORT: u16 = 8000;
/// GlitchTip's health endpoint.
pub const HEALTH: &str = "/_health/";
pub const WORKER: &str = "glitchtip-worker";
pub const MIGRATE: &str = "glitchtip-migrate";
pub const POSTGRES: &str = "glitchtip-postgres";
pub const REDIS: &str = "glitchtip-redis";
const DB_PASSWORD: &str = "GLITCHTIP_DB_PASSWORD";
const REDIS_PASSWORD: &str = "GLITCHTIP_REDIS_PASSWORD";
const SECRET_KEY: &str = "GLITCHTIP_SECRET_KEY";
const DOMAIN: &str = "GLITCHTIP_DOMAIN";
const FROM_EMAIL: &str = "GLITCHTIP_FROM_EMAIL";
const EMAIL_URL: &str = "GLITCHTIP_EMAIL_URL";
/// Every variable GlitchTip reads from `.env` (besides the DSN).
pub const VARS: [&str; 6] = [
    DB_PASSWORD,
    REDIS_PASSWORD,
    SECRET_KEY,
    DOMAIN,
    FROM_EMAIL,
    EMAIL_URL,
];

/// The errors component (`[errors]`).
pub struct Errors;

impl super::Component for Errors {
    fn name(&self) -> &'static str {
        "errors"
    }

    fn enabled(&self, settled: &Settled) -> bool {
        settled.errors != ErrorBackend::None
    }

    fn contribute(&self, settled: &Settled) -> Contribution {
        let mut out = Contribution::default();
        assemble(settled, &mut out);
        rules::contribute(&mut out);
        out
    }
}

fn assemble(settled: &Settled, out: &mut Contribution) {
    if settled.errors == ErrorBackend::Sentry {
        out.secret_var(
            Section::External,
            &settled.addons.dsn_env,
            "DSN of the external Sentry project",
            "secret; copy it from Sentry: Settings, Client Keys (DSN)",
        );
        return;
    }
    if settled.errors != ErrorBackend::Glitchtip {
        return;
    }
    out.secret_var(
        Section::Component,
        DB_PASSWORD,
        "Password of GlitchTip's own PostgreSQL",
        RANDOM,
    );
    out.secret_var(
        Section::Component,
        REDIS_PASSWORD,
        "Password of GlitchTip's own Redis",
        RANDOM,
    );
    out.secret_var(
        Section::Component,
        SECRET_KEY,
        "GlitchTip's Django SECRET_KEY (signs sessions and tokens)",
        "secret; run `obsgen secrets`, or make one with: openssl rand -hex 32",
    );
    out.setting_var(
        Section::Component,
        DOMAIN,
        "Public URL of GlitchTip (links in e-mails, the DSNs it shows)",
        "the URL users open, for example https://glitchtip.example.com",
        "http://localhost:8000",
    );
    out.setting_var(
        Section::Component,
        FROM_EMAIL,
        "Sender address of GlitchTip's e-mails",
        "an address your mail server may send from, for example glitchtip@example.com",
        "",
    );
    out.secret_var(Section::Component, EMAIL_URL,
        "SMTP server of GlitchTip's e-mails (contains the SMTP password)",
        "secret; smtp://user:password@smtp.example.com:587 (or consolemail:// to print e-mails to the log)",
    );
    let dsn = settled.addons.dsn_env.clone();
    out.setting_var(Section::Component, &dsn,
        "DSN the apps report errors to (empty: reporting off)",
        "after the first start, create the first user with: docker compose exec glitchtip ./manage.py createsuperuser; create a project in the GlitchTip UI and copy its DSN (Settings, Client Keys), replacing its host with glitchtip:8000 (http://KEY@glitchtip:8000/ID): the apps reach GlitchTip inside the stack, where the public domain may not resolve",
        "",
    );

    let mut pg = ComposeService::new(POSTGRES, Role::Database);
    pg.image = Some(image(settled, "postgres"));
    pg.environment = [
        ("POSTGRES_USER", "glitchtip".to_string()),
        ("POSTGRES_DB", "glitchtip".into()),
        ("POSTGRES_PASSWORD", req(DB_PASSWORD)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    pg.volumes = vec!["glitchtip-postgres-data:/var/lib/postgresql/data".into()];
    pg.healthcheck = Some(Healthcheck {
        exec: Vec::new(),
        shell: "pg_isready -U \"$$POSTGRES_USER\" -d \"$$POSTGRES_DB\"".into(),
        interval: "10s".into(),
        timeout: "5s".into(),
        retries: 10,
        start_period: "30s".into(),
    });
    // The entrypoint prepares the data folder as root, then drops to `postgres`.
    pg.hardening.cap_add = ["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]
        .map(String::from)
        .to_vec();
    pg.networks = vec![attach("app")];
    out.compose.push(pg);
    out.volumes.push("glitchtip-postgres-data".into());

    let mut redis = ComposeService::new(REDIS, Role::Database);
    redis.image = Some(image(settled, "redis"));
    redis.environment = [("REDIS_PASSWORD".to_string(), req(REDIS_PASSWORD))].into();
    redis.command = Some(vec![
        "sh".into(),
        "-c".into(),
        "exec redis-server --requirepass \"$$REDIS_PASSWORD\"".into(),
    ]);
    redis.healthcheck = Some(Healthcheck {
        exec: Vec::new(),
        shell: "redis-cli --no-auth-warning -a \"$$REDIS_PASSWORD\" ping | grep -q PONG".into(),
        interval: "10s".into(),
        timeout: "5s".into(),
        retries: 10,
        start_period: "10s".into(),
    });
    // The entrypoint drops from root to `redis`.
    redis.hardening.cap_add = ["SETGID", "SETUID"].map(String::from).to_vec();
    redis.networks = vec![attach("app")];
    out.compose.push(redis);

    let environment: BTreeMap<String, String> = [
        (
            "DATABASE_URL",
            format!(
                "postgres://glitchtip:{}@{POSTGRES}:5432/glitchtip",
                req(DB_PASSWORD)
            ),
        ),
        (
            "REDIS_URL",
            format!("redis://:{}@{REDIS}:6379/0", req(REDIS_PASSWORD)),
        ),
        ("SECRET_KEY", req(SECRET_KEY)),
        ("PORT", GLITCHTIP_PORT.to_string()),
        ("GLITCHTIP_DOMAIN", req(DOMAIN)),
        ("DEFAULT_FROM_EMAIL", req(FROM_EMAIL)),
        ("EMAIL_URL", req(EMAIL_URL)),
        ("ENABLE_USER_REGISTRATION", "false".into()),
        ("ENABLE_ORGANIZATION_CREATION", "false".into()),
        ("CELERY_WORKER_AUTOSCALE", "1,3".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let needs = vec![
        Dependency {
            name: POSTGRES.into(),
            condition: Condition::ServiceHealthy,
        },
        Dependency {
            name: REDIS.into(),
            condition: Condition::ServiceHealthy,
        },
    ];
    let img = image(settled, "glitchtip");

    let mut migrate = ComposeService::new(MIGRATE, Role::Monitoring);
    migrate.image = Some(img.clone());
    migrate.command = Some(vec!["./bin/run-migrate.sh".into()]);
    migrate.environment = environment.clone();
    migrate.depends_on = needs.clone();
    migrate.one_shot = true;
    migrate.networks = vec![attach("app")];
    out.compose.push(migrate);

    let mut after = needs;
    after.push(Dependency {
        name: MIGRATE.into(),
        condition: Condition::ServiceCompletedSuccessfully,
    });
    let mut web = ComposeService::new(GLITCHTIP, Role::Monitoring);
    web.image = Some(img.clone());
    web.environment = environment.clone();
    web.expose = vec![GLITCHTIP_PORT];
    web.volumes = vec!["glitchtip-uploads:/code/uploads".into()];
    web.healthcheck = Some(Healthcheck {
        exec: Vec::new(),
        shell: format!(
            "python -c \"import urllib.request; urllib.request.urlopen('http://localhost:{GLITCHTIP_PORT}{HEALTH}')\""
        ),
        interval: "15s".into(),
        timeout: "5s".into(),
        retries: 10,
        start_period: "60s".into(),
    });
    web.depends_on = after.clone();
    // app: apps send events to it; edge: its UI is published, it sends e-mail.
    web.networks = vec![attach("app"), attach("edge")];
    out.compose.push(web);

    let mut worker = ComposeService::new(WORKER, Role::Monitoring);
    worker.image = Some(img);
    worker.command = Some(vec!["./bin/run-celery-with-beat.sh".into()]);
    worker.environment = environment;
    worker.volumes = vec!["glitchtip-uploads:/code/uploads".into()];
    worker.depends_on = after;
    // edge: it sends the notification e-mails and webhooks.
    worker.networks = vec![attach("app"), attach("edge")];
    out.compose.push(worker);
    out.volumes.push("glitchtip-uploads".into());
    // GlitchTip exposes no Prometheus metrics: the blackbox exporter probes its health
    // endpoint (alert `GlitchtipDown`).
    if settled.components.blackbox {
        out.probes.push(super::blackbox::probe(
            GLITCHTIP,
            vec![format!("http://{GLITCHTIP}:{GLITCHTIP_PORT}{HEALTH}")],
        ));
    }
}

/// `SENTRY_DSN` of an app container: the external service's DSN (required), or
/// GlitchTip's (empty until created in its UI).
pub fn app_environment(model: &Settled, env: &mut BTreeMap<String, String>) {
    let var = &model.addons.dsn_env;
    match model.errors {
        ErrorBackend::Sentry => {
            env.insert("SENTRY_DSN".into(), req(var));
        }
        ErrorBackend::Glitchtip => {
            env.insert("SENTRY_DSN".into(), format!("${{{var}:-}}"));
        }
        ErrorBackend::None => {}
    }
}
