//! Grafana: its container (the provisioning and dashboards mounted read-only, the
//! monitoring password as a secret for the Prometheus datasource, no sign-up, no
//! anonymous access, no phoning home), its scrape job and its administrator login.
//! Its provisioning — the datasources and dashboards every component contributes — is
//! gathered by the assembler ([`crate::assemble`]).

use std::collections::BTreeMap;

use crate::model::*;

use super::Component;

/// Grafana (`[components] grafana`).
pub struct Grafana;

impl Component for Grafana {
    fn name(&self) -> &'static str {
        "grafana"
    }

    fn enabled(&self, s: &Settled) -> bool {
        s.grafana.is_some()
    }

    fn contribute(&self, s: &Settled) -> Contribution {
        let mut out = Contribution::default();
        out.add_var(EnvVar {
            name: "GRAFANA_ADMIN_USER".into(),
            description: "Grafana administrator login".into(),
            how: "a name other than admin".into(),
            secret: false,
            value: format!("{}-admin", s.project),
            random: false,
            section: Section::UiLogin,
        });
        out.secret_var(
            Section::UiLogin,
            "GRAFANA_ADMIN_PASSWORD",
            "Grafana administrator password",
            super::RANDOM,
        );
        grafana(s, &mut out);
        out
    }
}

fn grafana(settled: &Settled, out: &mut Contribution) {
    let Some(g) = settled.grafana.clone() else {
        return;
    };
    let mut c = ComposeService::new(g.name.clone(), Role::Monitoring);
    c.image = Some(g.image.clone());
    c.environment = BTreeMap::from([
        (
            "GF_SECURITY_ADMIN_USER".to_string(),
            "${GRAFANA_ADMIN_USER:?set GRAFANA_ADMIN_USER in .env}".to_string(),
        ),
        (
            "GF_SECURITY_ADMIN_PASSWORD".to_string(),
            "${GRAFANA_ADMIN_PASSWORD:?set GRAFANA_ADMIN_PASSWORD in .env}".to_string(),
        ),
        ("GF_USERS_ALLOW_SIGN_UP".to_string(), "false".to_string()),
        // Logs to stdout only (json-file rotation), never to /var/log/grafana: the
        // root filesystem is read-only in hardened environments.
        ("GF_LOG_MODE".to_string(), "console".to_string()),
        ("GF_AUTH_ANONYMOUS_ENABLED".to_string(), "false".to_string()),
        (
            "GF_ANALYTICS_REPORTING_ENABLED".to_string(),
            "false".to_string(),
        ),
        (
            "GF_ANALYTICS_CHECK_FOR_UPDATES".to_string(),
            "false".to_string(),
        ),
    ]);
    c.volumes = vec![format!("{}:/var/lib/grafana", g.volume)];
    c.depends_on = vec![Dependency {
        name: settled.prometheus.name.clone(),
        condition: Condition::ServiceStarted,
    }];
    // edge: its UI is published.
    c.networks = vec![attach("monitoring"), attach("edge")];
    // The image's own user (uid 472, which owns its data folder), with group 65534:
    // the group secret files are readable by (deploy/aws/secrets.sh: group 65534, mode
    // 0640), as Grafana reads the Prometheus password from one. Grafana writes to
    // /var/lib/grafana (volume) and /tmp only; plugins are not installed at start (no
    // GF_INSTALL_PLUGINS), so the root can be read-only.
    c.user = Some("472:65534".into());
    c.hardening = read_only_hardening();
    c.volumes
        .push("./monitoring/grafana/provisioning:/etc/grafana/provisioning:ro".into());
    c.volumes.push(format!(
        "./{}:{}:ro",
        crate::grafana::DASHBOARDS_OUT,
        crate::grafana::DASHBOARDS_DIR
    ));
    c.secrets
        .push(super::prometheus::login::PASSWORD_SECRET.to_string());
    if let Some(domain) = &settled.domain {
        c.environment.insert(
            "GF_SERVER_ROOT_URL".into(),
            crate::grafana::root_url(domain),
        );
    }
    if settled.logging == LogBackend::Elasticsearch {
        // Read by the Elasticsearch datasource through `$__env{…}`.
        let var = super::logs::READER_PASSWORD_VAR;
        c.environment.insert(var.into(), super::req(var));
    }
    c.environment
        .insert("GF_NEWS_NEWS_FEED_ENABLED".into(), "false".into());
    c.environment
        .insert("GF_PLUGINS_PLUGIN_ADMIN_ENABLED".into(), "false".into());
    out.compose.push(c);
    out.volumes.push(g.volume.clone());
    out.add_job(
        "grafana",
        "/metrics",
        "Grafana",
        vec![group("grafana", vec![format!("{}:{}", g.name, g.port)])],
    );
}
