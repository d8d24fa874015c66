//! MongoDB: the official image and Percona's mongodb_exporter.

use std::collections::BTreeMap;

use super::{DbPanel, Kind, Labels, Login};
use crate::model::{ComposeService, Database};
use crate::rules::*;

/// `kind = "mongodb"`.
pub struct Mongodb;

impl Kind for Mongodb {
    fn image_names(&self) -> &'static [&'static str] {
        &["mongo", "mongodb", "mongodb-community-server"]
    }

    fn server(&self, _d: &Database, login: &Login, c: &mut ComposeService) -> &'static str {
        c.environment = BTreeMap::from([
            ("MONGO_INITDB_ROOT_USERNAME".to_string(), login.user()),
            ("MONGO_INITDB_ROOT_PASSWORD".to_string(), login.password()),
        ]);
        // The entrypoint starts as root, chowns its data folders and its own
        // stdout/stderr, then re-executes itself as mongodb with gosu.
        c.hardening = super::gosu_entrypoint(&[]);
        c.healthcheck = Some(super::healthcheck(
            "mongosh --quiet --eval 'db.runCommand({ ping: 1 }).ok' | grep -q 1",
        ));
        "/data/db"
    }

    fn has_user(&self) -> bool {
        true
    }

    fn exporter(&self, d: &Database, login: &Login, c: &mut ComposeService) -> u16 {
        c.command = Some(vec!["--collect-all".into(), "--compatible-mode".into()]);
        c.environment = BTreeMap::from([
            (
                "MONGODB_URI".to_string(),
                format!("mongodb://{}/admin", super::host(d)),
            ),
            ("MONGODB_USER".into(), login.user()),
            ("MONGODB_PASSWORD".into(), login.password()),
        ]);
        9216
    }

    fn down(&self, b: &mut Builder, d: &Database, job: &str, base: &Labels) {
        super::rules::gauge_down(b, d, job, base, "mongodb_up", "MongoDB");
    }

    fn reachable(&self, sel: &str) -> (&'static str, String) {
        ("mongodb_up", format!("mongodb_up{{{sel}}}"))
    }

    fn alerts(&self, b: &mut Builder, _d: &Database, job: &str, base: &Labels) {
        more_alerts(b, job, base);
    }

    fn panels(&self, sel: &str, r: &str) -> Vec<DbPanel> {
        vec![
            (
                "Connections",
                "short",
                vec![(
                    format!("mongodb_connections{{{sel},state=\"current\"}}"),
                    "{{service}}",
                )],
            ),
            (
                "Operations",
                "ops",
                vec![(
                    format!("sum by (service, type) (rate(mongodb_op_counters_total{{{sel}}}{r}))"),
                    "{{service}} {{type}}",
                )],
            ),
            (
                "Resident memory",
                "decmbytes",
                vec![(
                    format!("mongodb_memory{{{sel},type=\"resident\"}}"),
                    "{{service}}",
                )],
            ),
        ]
    }
}

/// Connections and cursors (issue 13), in the names of the exporter's `--compatible-mode`
/// (percona/mongodb_exporter v0.43.1, exporter/v1_compatibility.go: `mongodb_connections`
/// from `mongodb_ss_connections` with `conn_type` → `state`, `mongodb_mongod_metrics_cursor_open`
/// with `csr_type` → `state`, `mongodb_mongod_metrics_cursor_timed_out_total`), the names
/// the dashboard reads too. Thresholds from awesome-prometheus-alerts
/// (samber/awesome-prometheus-alerts, dist/rules/mongodb/percona-mongodb-exporter.yml:
/// MongodbTooManyConnections, MongodbNumberCursorsOpen, MongodbCursorsTimeouts); no
/// MongoDB mixin exists upstream.
fn more_alerts(b: &mut Builder, job: &str, base: &Labels) {
    use super::rules::{Simple, simple, with};
    let conn = |state: &str| selector("mongodb_connections", &with(base, &[("state", state)]));
    // MongodbTooManyConnections: current / (current + available) > 80 % for 2m.
    simple(
        b,
        Simple {
            spec: spec(
                "MongodbTooManyConnections",
                format!(
                    "mongodb_connections{{job=\"{job}\",state=\"current\"}} / ignoring(state) sum without (state) (mongodb_connections{{job=\"{job}\",state=~\"current|available\"}}) > 0.8"
                ),
                "2m",
                "warning",
                Text::new()
                    .t("MongoDB ")
                    .l("service")
                    .t(" is running out of connections"),
                Text::new()
                    .l("service")
                    .t(" uses ")
                    .v(Fmt::Percent)
                    .t(" of the connections it accepts (net.maxIncomingConnections)."),
            ),
            interval: "1m",
            eval: "10m",
            firing: (
                "900 of 1000 connections",
                vec![
                    (conn("current"), "900x20".into()),
                    (conn("available"), "100x20".into()),
                ],
                base.clone(),
                0.9,
            ),
            quiet: vec![(
                "10 of 1000 connections",
                vec![
                    (conn("current"), "10x20".into()),
                    (conn("available"), "990x20".into()),
                ],
            )],
        },
    );
    // MongodbNumberCursorsOpen: more than 10000 open cursors for 2m.
    let open = selector(
        "mongodb_mongod_metrics_cursor_open",
        &with(base, &[("state", "total")]),
    );
    simple(
        b,
        Simple {
            spec: spec(
                "MongodbTooManyCursorsOpen",
                format!(
                    "mongodb_mongod_metrics_cursor_open{{job=\"{job}\",state=\"total\"}} > 10000"
                ),
                "2m",
                "warning",
                Text::new()
                    .t("MongoDB ")
                    .l("service")
                    .t(" has many open cursors"),
                Text::new()
                    .l("service")
                    .t(" holds ")
                    .v(Fmt::Fixed(0))
                    .t(" open cursors: clients leave queries unfinished."),
            ),
            interval: "1m",
            eval: "10m",
            firing: (
                "12000 open cursors",
                vec![(open.clone(), "12000x20".into())],
                with(base, &[("state", "total")]),
                12000.0,
            ),
            quiet: vec![("50 open cursors", vec![(open, "50x20".into())])],
        },
    );
    // MongodbCursorsTimeouts: `increase(...[1m]) > 100` for 2m; as a rate over 5m here
    // (100 a minute), steadier at any scrape interval.
    let timed_out = selector("mongodb_mongod_metrics_cursor_timed_out_total", base);
    simple(
        b,
        Simple {
            spec: spec(
                "MongodbCursorsTimeouts",
                format!("rate(mongodb_mongod_metrics_cursor_timed_out_total{{job=\"{job}\"}}[5m]) * 60 > 100"),
                "2m",
                "warning",
                Text::new().t("MongoDB ").l("service").t(" times out cursors"),
                Text::new()
                    .l("service")
                    .t(" times out ")
                    .v(Fmt::Fixed(0))
                    .t(" idle cursors a minute: clients open queries and never read them to the end."),
            ),
            interval: "1m",
            eval: "15m",
            firing: (
                "200 timeouts a minute",
                vec![(timed_out.clone(), "0+200x20".into())],
                base.clone(),
                200.0,
            ),
            quiet: vec![("5 timeouts a minute", vec![(timed_out, "0+5x20".into())])],
        },
    );
}
