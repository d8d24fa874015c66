//! PostgreSQL: the official image and postgres_exporter.

use std::collections::BTreeMap;

use super::{Kind, Login};
use crate::model::{ComposeService, Database, Hardening};

/// `kind = "postgres"`.
pub struct Postgres;

impl Kind for Postgres {
    fn server(&self, d: &Database, login: &Login, c: &mut ComposeService) -> &'static str {
        c.environment = BTreeMap::from([
            ("POSTGRES_USER".to_string(), login.user()),
            ("POSTGRES_PASSWORD".to_string(), login.password()),
            ("POSTGRES_DB".to_string(), d.name.clone()),
        ]);
        // The entrypoint starts as root: it walks the data folder (owned by postgres,
        // mode 700: DAC_OVERRIDE), chowns (CHOWN) and chmods (FOWNER) PGDATA, then
        // re-executes itself as postgres with gosu (SETUID, SETGID).
        c.hardening = Hardening {
            cap_add: super::caps(&["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]),
            ..Hardening::default()
        };
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
}
