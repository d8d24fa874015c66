//! MongoDB: the official image and Percona's mongodb_exporter.

use std::collections::BTreeMap;

use super::{DbPanel, Kind, Labels, Login};
use crate::model::{ComposeService, Database};
use crate::rules::*;

/// `kind = "mongodb"`.
pub struct Mongodb;

impl Kind for Mongodb {
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
