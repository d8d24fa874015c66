//! MySQL: the official image and mysqld_exporter (through the root account, the only
//! one the image creates).

use std::collections::BTreeMap;

use super::{Kind, Login};
use crate::model::{ComposeService, Database, Hardening};

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
        c.hardening = Hardening {
            cap_add: super::caps(&["CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"]),
            ..Hardening::default()
        };
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
}
