//! MySQL: the official image and mysqld_exporter (through the root account, the only
//! one the image creates).

use std::collections::BTreeMap;

use super::{DbPanel, Kind, Labels, Login};
use crate::model::{ComposeService, Database};
use crate::rules::*;

/// `kind = "mysql"`.
pub struct Mysql;

impl Kind for Mysql {
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
