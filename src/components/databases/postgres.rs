//! PostgreSQL: the official image and postgres_exporter.

use std::collections::BTreeMap;

use super::{DbPanel, Kind, Labels, Login};
use crate::model::{ComposeService, Database};
use crate::rules::*;

/// `kind = "postgres"`.
pub struct Postgres;

impl Kind for Postgres {
    fn server(&self, d: &Database, login: &Login, c: &mut ComposeService) -> &'static str {
        c.environment = BTreeMap::from([
            ("POSTGRES_USER".to_string(), login.user()),
            ("POSTGRES_PASSWORD".to_string(), login.password()),
            ("POSTGRES_DB".to_string(), d.name.clone()),
        ]);
        // Its entrypoint also chmods PGDATA as root (FOWNER).
        c.hardening = super::gosu_entrypoint(&["FOWNER"]);
        c.healthcheck = Some(super::healthcheck(
            "pg_isready -U \"$$POSTGRES_USER\" -d \"$$POSTGRES_DB\"",
        ));
        "/var/lib/postgresql/data"
    }

    fn has_user(&self) -> bool {
        true
    }

    fn exporter(&self, d: &Database, login: &Login, c: &mut ComposeService) -> u16 {
        c.environment = BTreeMap::from([
            (
                "DATA_SOURCE_URI".to_string(),
                format!("{}/{}?sslmode=disable", super::host(d), d.name),
            ),
            ("DATA_SOURCE_USER".into(), login.user()),
            ("DATA_SOURCE_PASS".into(), login.password()),
        ]);
        9187
    }

    fn down(&self, b: &mut Builder, d: &Database, job: &str, base: &Labels) {
        super::rules::gauge_down(b, d, job, base, "pg_up", "PostgreSQL");
    }

    fn reachable(&self, sel: &str) -> (&'static str, String) {
        ("pg_up", format!("pg_up{{{sel}}}"))
    }

    fn alerts(&self, b: &mut Builder, d: &Database, job: &str, base: &Labels) {
        let mut act = base.clone();
        act.insert("datname".into(), d.name.clone());
        act.insert("state".into(), "active".into());
        b.usage_alert(Usage {
                    alert: "PostgresTooManyConnections",
                    expr: format!("sum by (service, environment) (pg_stat_activity_count{{job=\"{job}\"}}) / max by (service, environment) (pg_settings_max_connections{{job=\"{job}\"}}) > 0.8"),
                    summary: Text::new().t("PostgreSQL ").l("service").t(" is running out of connections"),
                    of_what: " of max_connections.",
                    used: selector("pg_stat_activity_count", &act),
                    limit: selector("pg_settings_max_connections", base),
                    result: labels(&[("environment", ENV), ("service", &d.name)]),
                    firing: (90, 100, "90 of 100 connections"),
                    quiet: (10, 100, "10 of 100 connections"),
                });
    }

    fn panels(&self, sel: &str, r: &str) -> Vec<DbPanel> {
        vec![
            (
                "Connections",
                "short",
                vec![
                    (
                        format!("sum by (service) (pg_stat_activity_count{{{sel}}})"),
                        "{{service}} used",
                    ),
                    (
                        format!("max by (service) (pg_settings_max_connections{{{sel}}})"),
                        "{{service}} max",
                    ),
                ],
            ),
            (
                "Transactions",
                "ops",
                vec![(
                    format!(
                        "sum by (service) (rate(pg_stat_database_xact_commit{{{sel}}}{r}) + rate(pg_stat_database_xact_rollback{{{sel}}}{r}))"
                    ),
                    "{{service}}",
                )],
            ),
            (
                "Database size",
                "bytes",
                vec![(
                    format!("sum by (service, datname) (pg_database_size_bytes{{{sel}}})"),
                    "{{service}} {{datname}}",
                )],
            ),
        ]
    }
}
