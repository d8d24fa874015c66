//! PostgreSQL: the official image and postgres_exporter.

use std::collections::BTreeMap;

use super::{DbPanel, Kind, Labels, Login};
use crate::model::{ComposeService, Database};
use crate::rules::*;

/// `kind = "postgres"`.
pub struct Postgres;

impl Kind for Postgres {
    fn image_names(&self) -> &'static [&'static str] {
        &["postgres", "postgresql", "postgis", "timescaledb"]
    }

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
        more_alerts(b, d, job, base);
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

/// Deadlocks, rollbacks, vacuum and the exporter's own query errors (issue 13). The
/// metric names are postgres_exporter v0.17.1's (templates/v1/components/postgres-exporter/
/// metrics.toml); the thresholds are awesome-prometheus-alerts' (samber/awesome-prometheus-
/// alerts, dist/rules/postgresql/postgres-exporter.yml) where the postgres_mixin of
/// postgres_exporter v0.17.1 (postgres_mixin/alerts/postgres.libsonnet) has none: it
/// alerts only on connections, down, slow queries, QPS and cache hit ratio.
fn more_alerts(b: &mut Builder, d: &Database, job: &str, base: &Labels) {
    use super::rules::{Simple, simple, with};
    let db = with(base, &[("datid", "16384"), ("datname", &d.name)]);
    let by_db = labels(&[
        ("datname", &d.name),
        ("environment", ENV),
        ("service", &d.name),
    ]);
    // awesome-prometheus-alerts PostgresqlDeadLocks: `increase(pg_stat_database_deadlocks[1m]) > 5`.
    // Over 5m here: one burst is one alert, and a 1m window holds a single sample at
    // a 1m scrape interval under Prometheus 3's left-open ranges.
    simple(
        b,
        Simple {
            spec: spec(
                "PostgresDeadlocks",
                format!(
                    "sum by (environment, service, datname) (increase(pg_stat_database_deadlocks{{job=\"{job}\",datname!~\"template.*\"}}[5m])) > 5"
                ),
                "1m",
                "warning",
                Text::new()
                    .t("PostgreSQL ")
                    .l("service")
                    .t(" has deadlocks"),
                Text::new()
                    .v(Fmt::Fixed(0))
                    .t(" deadlocks in database ")
                    .l("datname")
                    .t(" of ")
                    .l("service")
                    .t(" over the last 5 minutes: transactions lock rows in conflicting orders."),
            ),
            interval: "1m",
            eval: "10m",
            firing: (
                "3 deadlocks a minute",
                vec![(selector("pg_stat_database_deadlocks", &db), "0+3x20".into())],
                by_db.clone(),
                15.0,
            ),
            quiet: vec![(
                "one deadlock, then none",
                vec![(selector("pg_stat_database_deadlocks", &db), "0 1x20".into())],
            )],
        },
    );
    // awesome-prometheus-alerts PostgresqlHighRollbackRate: rollbacks / (rollbacks +
    // commits) > 0.02 with traffic (a 0/0 ratio is NaN here, which no comparison passes).
    let commit = selector("pg_stat_database_xact_commit", &db);
    let rollback = selector("pg_stat_database_xact_rollback", &db);
    simple(
        b,
        Simple {
            spec: spec(
                "PostgresHighRollbackRate",
                format!(
                    "sum by (environment, service, datname) (rate(pg_stat_database_xact_rollback{{job=\"{job}\",datname!~\"template.*\"}}[5m])) / sum by (environment, service, datname) (rate(pg_stat_database_xact_rollback{{job=\"{job}\",datname!~\"template.*\"}}[5m]) + rate(pg_stat_database_xact_commit{{job=\"{job}\",datname!~\"template.*\"}}[5m])) > 0.02"
                ),
                "5m",
                "warning",
                Text::new()
                    .t("PostgreSQL ")
                    .l("service")
                    .t(" rolls back many transactions"),
                Text::new()
                    .v(Fmt::Percent)
                    .t(" of the transactions in database ")
                    .l("datname")
                    .t(" of ")
                    .l("service")
                    .t(" roll back (more than 2%): failing statements or conflicts."),
            ),
            interval: "1m",
            eval: "15m",
            firing: (
                "1 rollback in 10 transactions",
                vec![
                    (rollback.clone(), "0+1x20".into()),
                    (commit.clone(), "0+9x20".into()),
                ],
                by_db.clone(),
                0.1,
            ),
            quiet: vec![
                (
                    "commits only",
                    vec![
                        (rollback.clone(), "0x20".into()),
                        (commit.clone(), "0+9x20".into()),
                    ],
                ),
                (
                    "no traffic",
                    vec![(rollback, "0x20".into()), (commit, "0x20".into())],
                ),
            ],
        },
    );
    // Vacuum not keeping up. awesome-prometheus-alerts PostgresqlTooManyDeadTuples (over
    // 10000 dead tuples that are at least 10 % of the table) and
    // PostgresqlTableNotAutoVacuumed (no autovacuum for 10 days), combined: a table with
    // that many dead tuples that neither autovacuum nor a manual VACUUM has touched in
    // a day. postgres_exporter reports a never-vacuumed table as 0 (1970).
    let table = with(
        base,
        &[
            ("datname", &d.name),
            ("relname", "orders"),
            ("schemaname", "public"),
        ],
    );
    let t = |m: &str| selector(m, &table);
    let sel = format!("{{job=\"{job}\"}}");
    simple(
        b,
        Simple {
            spec: spec(
                "PostgresTableNotVacuumed",
                format!(
                    "pg_stat_user_tables_n_dead_tup{sel} > 10000 and pg_stat_user_tables_n_dead_tup{sel} / (pg_stat_user_tables_n_live_tup{sel} + pg_stat_user_tables_n_dead_tup{sel}) >= 0.1 and time() - pg_stat_user_tables_last_autovacuum{sel} > 86400 and time() - pg_stat_user_tables_last_vacuum{sel} > 86400"
                ),
                "1h",
                "warning",
                Text::new().t("PostgreSQL ").l("service").t(": table ").l("relname").t(" is not vacuumed"),
                Text::new()
                    .t("Table ")
                    .l("schemaname")
                    .t(".")
                    .l("relname")
                    .t(" of ")
                    .l("service")
                    .t(" holds ")
                    .v(Fmt::Fixed(0))
                    .t(" dead tuples (10% or more of it) and was not vacuumed for a day: autovacuum is off, blocked by a long transaction, or too slow."),
            ),
            interval: "1m",
            eval: "30h",
            firing: (
                "many dead tuples, never vacuumed",
                vec![
                    (t("pg_stat_user_tables_n_dead_tup"), "50000x1900".into()),
                    (t("pg_stat_user_tables_n_live_tup"), "100000x1900".into()),
                    (t("pg_stat_user_tables_last_autovacuum"), "0x1900".into()),
                    (t("pg_stat_user_tables_last_vacuum"), "0x1900".into()),
                ],
                table.clone(),
                50000.0,
            ),
            quiet: vec![
                (
                    "autovacuum runs",
                    vec![
                        (t("pg_stat_user_tables_n_dead_tup"), "50000x1900".into()),
                        (t("pg_stat_user_tables_n_live_tup"), "100000x1900".into()),
                        (t("pg_stat_user_tables_last_autovacuum"), "0+60x1900".into()),
                        (t("pg_stat_user_tables_last_vacuum"), "0x1900".into()),
                    ],
                ),
                (
                    "few dead tuples",
                    vec![
                        (t("pg_stat_user_tables_n_dead_tup"), "500x1900".into()),
                        (t("pg_stat_user_tables_n_live_tup"), "100000x1900".into()),
                        (t("pg_stat_user_tables_last_autovacuum"), "0x1900".into()),
                        (t("pg_stat_user_tables_last_vacuum"), "0x1900".into()),
                    ],
                ),
            ],
        },
    );
    // awesome-prometheus-alerts PostgresqlExporterError (`pg_exporter_last_scrape_error > 0`):
    // the exporter's built-in queries failed. Not while the server is down
    // (PostgresDown's), and for 10m: one failed scrape is not an incident.
    let err = selector("pg_exporter_last_scrape_error", base);
    let up = selector("pg_up", base);
    simple(
        b,
        Simple {
            spec: spec(
                "PostgresExporterErrors",
                format!(
                    "pg_exporter_last_scrape_error{{job=\"{job}\"}} > 0 unless on(instance) pg_up{{job=\"{job}\"}} == 0"
                ),
                "10m",
                "warning",
                Text::new().t("The exporter of PostgreSQL ").l("service").t(" fails its queries"),
                Text::new()
                    .t("postgres_exporter reaches ")
                    .l("service")
                    .t(" but its queries fail (pg_exporter_last_scrape_error): its login lacks a privilege or a query does not fit this PostgreSQL version; its metrics are incomplete."),
            ),
            interval: "1m",
            eval: "15m",
            firing: (
                "queries fail while the server is up",
                vec![(err.clone(), "1x20".into()), (up.clone(), "1x20".into())],
                base.clone(),
                1.0,
            ),
            quiet: vec![
                (
                    "queries succeed",
                    vec![(err.clone(), "0x20".into()), (up.clone(), "1x20".into())],
                ),
                (
                    "the server is down (PostgresDown)",
                    vec![(err, "1x20".into()), (up, "0x20".into())],
                ),
            ],
        },
    );
}
