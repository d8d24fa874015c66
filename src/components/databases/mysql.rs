//! MySQL: the official image and mysqld_exporter (through the root account, the only
//! one the image creates).

use std::collections::BTreeMap;

use super::{DbPanel, Kind, Labels, Login};
use crate::model::{ComposeService, Database};
use crate::rules::*;

/// `kind = "mysql"`.
pub struct Mysql;

impl Kind for Mysql {
    fn image_names(&self) -> &'static [&'static str] {
        &["mysql", "mariadb", "percona"]
    }

    fn server(&self, d: &Database, login: &Login, c: &mut ComposeService) -> &'static str {
        c.environment = BTreeMap::from([
            ("MYSQL_ROOT_PASSWORD".to_string(), login.password()),
            ("MYSQL_DATABASE".to_string(), d.name.clone()),
        ]);
        // The entrypoint starts as root, chowns its data, socket and log folders, then
        // re-executes itself as mysql with gosu.
        c.hardening = super::gosu_entrypoint(&[]);
        c.healthcheck = Some(super::healthcheck(
            "mysqladmin ping -h 127.0.0.1 -uroot -p\"$$MYSQL_ROOT_PASSWORD\" --silent",
        ));
        "/var/lib/mysql"
    }

    fn has_user(&self) -> bool {
        false
    }

    fn exporter(&self, d: &Database, login: &Login, c: &mut ComposeService) -> u16 {
        // The database only has its root account (MYSQL_ROOT_PASSWORD).
        c.command = Some(vec![
            format!("--mysqld.address={}", super::host(d)),
            "--mysqld.username=root".into(),
        ]);
        c.environment =
            BTreeMap::from([("MYSQLD_EXPORTER_PASSWORD".to_string(), login.password())]);
        9104
    }

    fn down(&self, b: &mut Builder, d: &Database, job: &str, base: &Labels) {
        super::rules::gauge_down(b, d, job, base, "mysql_up", "MySQL");
    }

    fn reachable(&self, sel: &str) -> (&'static str, String) {
        ("mysql_up", format!("mysql_up{{{sel}}}"))
    }

    fn alerts(&self, b: &mut Builder, _d: &Database, job: &str, base: &Labels) {
        b.usage_alert(Usage {
                alert: "MysqlTooManyConnections",
                expr: format!("mysql_global_status_threads_connected{{job=\"{job}\"}} / mysql_global_variables_max_connections{{job=\"{job}\"}} > 0.8"),
                summary: Text::new().t("MySQL ").l("service").t(" is running out of connections"),
                of_what: " of max_connections.",
                used: selector("mysql_global_status_threads_connected", base),
                limit: selector("mysql_global_variables_max_connections", base),
                result: base.clone(),
                firing: (90, 100, "90 of 100 connections"),
                quiet: (10, 100, "10 of 100 connections"),
            });
        more_alerts(b, job, base);
    }

    fn panels(&self, sel: &str, r: &str) -> Vec<DbPanel> {
        vec![
            (
                "Connections",
                "short",
                vec![
                    (
                        format!("mysql_global_status_threads_connected{{{sel}}}"),
                        "{{service}} used",
                    ),
                    (
                        format!("mysql_global_variables_max_connections{{{sel}}}"),
                        "{{service}} max",
                    ),
                ],
            ),
            (
                "Queries",
                "ops",
                vec![(
                    format!("rate(mysql_global_status_queries{{{sel}}}{r})"),
                    "{{service}}",
                )],
            ),
            (
                "Slow queries",
                "ops",
                vec![(
                    format!("rate(mysql_global_status_slow_queries{{{sel}}}{r})"),
                    "{{service}}",
                )],
            ),
        ]
    }
}

/// The server's own health beyond connections (issue 13). The mysqld-mixin of
/// mysqld_exporter v0.17.2 (mysqld-mixin/alerts/general.yaml) alerts only on MySQLDown
/// (here `MysqlDown`) and, for Galera clusters, on cluster state; the single-server
/// alerts and thresholds are awesome-prometheus-alerts' (samber/awesome-prometheus-alerts,
/// dist/rules/mysql/mysqld-exporter.yml; its replication alerts do not apply to one
/// server). Metric names are mysqld_exporter v0.17.2's (global_status / global_variables
/// collectors: the lower-cased SHOW GLOBAL STATUS / VARIABLES names).
fn more_alerts(b: &mut Builder, job: &str, base: &Labels) {
    use super::rules::{Simple, simple};
    let sel = format!("{{job=\"{job}\"}}");
    let m = |name: &str| selector(name, base);
    // MysqlHighThreadsRunning: running threads above 60 % of max_connections.
    simple(
        b,
        Simple {
            spec: spec(
                "MysqlHighThreadsRunning",
                format!(
                    "max_over_time(mysql_global_status_threads_running{sel}[1m]) / mysql_global_variables_max_connections{sel} > 0.6"
                ),
                "2m",
                "warning",
                Text::new()
                    .t("MySQL ")
                    .l("service")
                    .t(" runs many threads at once"),
                Text::new()
                    .l("service")
                    .t(" runs ")
                    .v(Fmt::Percent)
                    .t(" of max_connections as threads at once: queries queue on locks or I/O."),
            ),
            interval: "1m",
            eval: "10m",
            firing: (
                "80 of 100 threads running",
                vec![
                    (m("mysql_global_status_threads_running"), "80x20".into()),
                    (m("mysql_global_variables_max_connections"), "100x20".into()),
                ],
                base.clone(),
                0.8,
            ),
            quiet: vec![(
                "5 of 100 threads running",
                vec![
                    (m("mysql_global_status_threads_running"), "5x20".into()),
                    (m("mysql_global_variables_max_connections"), "100x20".into()),
                ],
            )],
        },
    );
    // MysqlSlowQueries: `delta(mysql_global_status_slow_queries[1m]) > 0` for 2m; a
    // counter, so increase() over 2m here.
    simple(
        b,
        Simple {
            spec: spec(
                "MysqlSlowQueries",
                format!("increase(mysql_global_status_slow_queries{sel}[2m]) > 0"),
                "2m",
                "warning",
                Text::new().t("MySQL ").l("service").t(" has slow queries"),
                Text::new()
                    .l("service")
                    .t(" logged ")
                    .v(Fmt::Fixed(0))
                    .t(" slow queries (over long_query_time) in the last 2 minutes."),
            ),
            interval: "1m",
            eval: "10m",
            firing: (
                "one slow query a minute",
                vec![(m("mysql_global_status_slow_queries"), "0+1x20".into())],
                base.clone(),
                2.0,
            ),
            quiet: vec![(
                "no slow query",
                vec![(m("mysql_global_status_slow_queries"), "3x20".into())],
            )],
        },
    );
    // MysqlRestarted: uptime below a minute (awesome: severity info, no `for`). It would
    // never last a `for` longer than its own minute; a restart loop keeps it firing.
    simple(
        b,
        Simple {
            spec: spec(
                "MysqlRestarted",
                format!("mysql_global_status_uptime{sel} < 60"),
                "0m",
                "warning",
                Text::new().t("MySQL ").l("service").t(" restarted"),
                Text::new()
                    .l("service")
                    .t(" started ")
                    .v(Fmt::Fixed(0))
                    .t(" seconds ago."),
            ),
            interval: "15s",
            eval: "1m",
            firing: (
                "restarted 30 seconds ago",
                vec![(
                    m("mysql_global_status_uptime"),
                    "86400 86415 0+15x10".into(),
                )],
                base.clone(),
                30.0,
            ),
            quiet: vec![(
                "up for a day",
                vec![(m("mysql_global_status_uptime"), "86400+15x10".into())],
            )],
        },
    );
    // MysqlTooManyOpenFiles: InnoDB's open files above 75 % of open_files_limit.
    simple(
        b,
        Simple {
            spec: spec(
                "MysqlTooManyOpenFiles",
                format!(
                    "mysql_global_status_innodb_num_open_files{sel} / mysql_global_variables_open_files_limit{sel} > 0.75"
                ),
                "2m",
                "warning",
                Text::new()
                    .t("MySQL ")
                    .l("service")
                    .t(" is near its open files limit"),
                Text::new()
                    .l("service")
                    .t(" has ")
                    .v(Fmt::Percent)
                    .t(" of open_files_limit open in InnoDB."),
            ),
            interval: "1m",
            eval: "10m",
            firing: (
                "900 of 1000 files",
                vec![
                    (
                        m("mysql_global_status_innodb_num_open_files"),
                        "900x20".into(),
                    ),
                    (
                        m("mysql_global_variables_open_files_limit"),
                        "1000x20".into(),
                    ),
                ],
                base.clone(),
                0.9,
            ),
            quiet: vec![(
                "100 of 1000 files",
                vec![
                    (
                        m("mysql_global_status_innodb_num_open_files"),
                        "100x20".into(),
                    ),
                    (
                        m("mysql_global_variables_open_files_limit"),
                        "1000x20".into(),
                    ),
                ],
            )],
        },
    );
    // MysqlHighPreparedStatementsUtilization: prepared statements above 80 % of
    // max_prepared_stmt_count (a leak of statements never deallocated).
    simple(
        b,
        Simple {
            spec: spec(
                "MysqlHighPreparedStatements",
                format!("max_over_time(mysql_global_status_prepared_stmt_count{sel}[1m]) / mysql_global_variables_max_prepared_stmt_count{sel} > 0.8"),
                "2m",
                "warning",
                Text::new().t("MySQL ").l("service").t(" is near max_prepared_stmt_count"),
                Text::new()
                    .l("service")
                    .t(" holds ")
                    .v(Fmt::Percent)
                    .t(" of max_prepared_stmt_count: a client prepares statements and never closes them."),
            ),
            interval: "1m",
            eval: "10m",
            firing: (
                "15000 of 16382 statements",
                vec![(m("mysql_global_status_prepared_stmt_count"), "15000x20".into()), (m("mysql_global_variables_max_prepared_stmt_count"), "16382x20".into())],
                base.clone(),
                15000.0 / 16382.0,
            ),
            quiet: vec![(
                "100 of 16382 statements",
                vec![(m("mysql_global_status_prepared_stmt_count"), "100x20".into()), (m("mysql_global_variables_max_prepared_stmt_count"), "16382x20".into())],
            )],
        },
    );
    // MysqlInnodbLogWaits: `deriv(mysql_global_status_innodb_log_waits[15m]) > 10` — a
    // counter, so rate() here: writes wait for the redo log buffer more than 10 times
    // a second (innodb_log_buffer_size too small).
    simple(
        b,
        Simple {
            spec: spec(
                "MysqlInnodbLogWaits",
                format!("rate(mysql_global_status_innodb_log_waits{sel}[15m]) > 10"),
                "1m",
                "warning",
                Text::new()
                    .t("MySQL ")
                    .l("service")
                    .t(" waits for the InnoDB log buffer"),
                Text::new()
                    .l("service")
                    .t(" waits for the InnoDB redo log buffer ")
                    .v(Fmt::Fixed(0))
                    .t(" times a second: innodb_log_buffer_size is too small for its writes."),
            ),
            interval: "1m",
            eval: "20m",
            firing: (
                "20 waits a second",
                vec![(
                    m("mysql_global_status_innodb_log_waits"),
                    "0+1200x30".into(),
                )],
                base.clone(),
                20.0,
            ),
            quiet: vec![(
                "no wait",
                vec![(m("mysql_global_status_innodb_log_waits"), "4x30".into())],
            )],
        },
    );
}
