//! Prometheus itself: its container (read-only root, data volume, the secrets its
//! self-scrape and remote write read), its self-scrape job behind the monitoring login,
//! and that login: `PROMETHEUS_PASSWORD` in `.env`, a copy in `secrets/`, a bcrypt hash
//! in `web.yml` ([`login`]); `remote_write` endpoints ([`remote_write`]).

pub mod login;
pub mod remote_write;

pub mod dashboards;

use crate::model::*;
use login::{AM_WEB_FILE, PASSWORD_SECRET, PASSWORD_VAR, WEB_FILE, WEB_USER};

use super::Component;

mod mixin;
pub mod rules;

/// Prometheus (always runs).
pub struct Prometheus;

impl Component for Prometheus {
    fn name(&self) -> &'static str {
        "prometheus"
    }

    fn enabled(&self, _: &Settled) -> bool {
        true
    }

    fn catalogues(&self) -> &'static [&'static str] {
        &["prometheus"]
    }

    fn contribute(&self, s: &Settled) -> Contribution {
        let mut out = Contribution::default();
        let p = &s.prometheus;
        let mut c = ComposeService::new(p.name.clone(), Role::Monitoring);
        c.image = Some(p.image.clone());
        c.volumes = vec![
            "./monitoring/prometheus:/etc/prometheus:ro".into(),
            format!("{}:/prometheus", p.volume),
        ];
        // edge: its UI is published, and remote_write endpoints are on the internet.
        c.networks = vec![attach("app"), attach("monitoring"), attach("edge")];
        c.user = Some(NOBODY.into());
        c.hardening = read_only_hardening();
        // The head block of a few hundred thousand series.
        c.min_memory_mib = Some(1024);

        // The monitoring login: the self-scrape sends the password from a secret file;
        // the container gets that file and every remote-write credential as secrets.
        let mut secrets = vec![Secret {
            name: PASSWORD_SECRET.into(),
            file: format!("./secrets/{PASSWORD_SECRET}"),
            path: s.web.password_file.clone(),
            description: format!(
                "password of the Prometheus UI (the value of {PASSWORD_VAR}), for Prometheus's self-scrape"
            ),
            how: format!("printf '%s' \"$PROMETHEUS_PASSWORD\" > secrets/{PASSWORD_SECRET}"),
            copy_of: Some(PASSWORD_VAR.into()),
            section: Section::MonitoringLogin,
        }];
        secrets.extend(s.remote_write.iter().filter_map(|r| r.secret.clone()));
        c.secrets = secrets.iter().map(|s| s.name.clone()).collect();
        out.compose.push(c);
        out.volumes.push(p.volume.clone());
        out.secrets = secrets;
        out.add_var(EnvVar {
            name: PASSWORD_VAR.into(),
            description: format!(
                "Password of the Prometheus and Alertmanager UIs and APIs (user `{WEB_USER}`), hashed into {WEB_FILE} and {AM_WEB_FILE}"
            ),
            how: format!(
                "secret; run `obsgen secrets` (writes it and secrets/{PASSWORD_SECRET}), or make one with: openssl rand -base64 32 | tr -d '/+=' and give Prometheus's self-scrape the same password: printf '%s' \"$PROMETHEUS_PASSWORD\" > secrets/{PASSWORD_SECRET}; then run `obsgen generate`"
            ),
            secret: true,
            random: true,
            value: String::new(),
            section: Section::MonitoringLogin,
        });
        let job = out.add_job(
            "prometheus",
            "/metrics",
            "Prometheus itself",
            vec![group("prometheus", vec![format!("localhost:{}", p.port)])],
        );
        job.basic_auth = Some(monitoring_login(s));
        out.add_file(WEB_FILE, "prometheus/web.yml.j2", &"Prometheus");
        rules::contribute(&mut out, !s.remote_write.is_empty());
        dashboards::contribute(s, &mut out);
        out
    }

    fn check(
        &self,
        m: &crate::manifest::Manifest,
        spans: &crate::load::SpanMap,
    ) -> Vec<crate::diag::Diagnostic> {
        remote_write::check(m, spans)
    }
}

/// How scrapers inside the stack log in to Prometheus and Alertmanager.
pub fn monitoring_login(s: &Settled) -> BasicAuth {
    BasicAuth {
        username: WEB_USER.into(),
        password_file: s.web.password_file.clone(),
    }
}
