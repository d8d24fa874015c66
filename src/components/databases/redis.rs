//! Redis: the official image (append-only, a password) and redis_exporter.

use std::collections::BTreeMap;

use super::{Kind, Login};
use crate::model::{ComposeService, Database, Hardening};

/// `kind = "redis"`.
pub struct Redis;

impl Kind for Redis {
    fn server(&self, _d: &Database, login: &Login, c: &mut ComposeService) -> &'static str {
        c.environment = BTreeMap::from([("REDIS_PASSWORD".to_string(), login.password())]);
        c.command = Some(vec![
            "sh".into(),
            "-c".into(),
            "exec redis-server --appendonly yes --requirepass \"$$REDIS_PASSWORD\"".into(),
        ]);
        // Our command bypasses the entrypoint's switch to the `redis` user, so run as it
        // (uid 999 in the official image) directly; the named volume `/data` is created
        // owned by it from the image. It writes only to /data: a read-only root, no
        // capability at all.
        c.user = Some("999:999".into());
        c.hardening = Hardening {
            read_only: true,
            tmpfs: vec!["/tmp".into()],
            ..Hardening::default()
        };
        c.healthcheck = Some(super::healthcheck(
            "redis-cli --no-auth-warning -a \"$$REDIS_PASSWORD\" ping | grep -q PONG",
        ));
        "/data"
    }

    fn has_user(&self) -> bool {
        false
    }

    fn exporter(&self, d: &Database, login: &Login, c: &mut ComposeService) -> u16 {
        c.environment = BTreeMap::from([
            (
                "REDIS_ADDR".to_string(),
                format!("redis://{}", super::host(d)),
            ),
            ("REDIS_PASSWORD".into(), login.password()),
        ]);
        9121
    }
}
