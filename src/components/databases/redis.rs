//! Redis: the official image (append-only, a password) and redis_exporter.

use std::collections::BTreeMap;

use super::{DbPanel, Kind, Labels, Login};
use crate::model::{ComposeService, Database, Hardening};
use crate::rules::*;

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

    fn down(&self, b: &mut Builder, d: &Database, job: &str, base: &Labels) {
        super::rules::gauge_down(b, d, job, base, "redis_up", "Redis");
    }

    fn reachable(&self, sel: &str) -> (&'static str, String) {
        ("redis_up", format!("redis_up{{{sel}}}"))
    }

    fn alerts(&self, b: &mut Builder, _d: &Database, job: &str, base: &Labels) {
        b.usage_alert(Usage {
                alert: "RedisMemoryNearLimit",
                expr: format!("(redis_memory_used_bytes{{job=\"{job}\"}} / redis_memory_max_bytes{{job=\"{job}\"}} > 0.9) and redis_memory_max_bytes{{job=\"{job}\"}} > 0"),
                summary: Text::new().t("Redis ").l("service").t(" is near maxmemory"),
                of_what: " of maxmemory; keys will be evicted or writes refused.",
                used: selector("redis_memory_used_bytes", base),
                limit: selector("redis_memory_max_bytes", base),
                result: base.clone(),
                firing: (950, 1000, "95% of maxmemory"),
                quiet: (950, 0, "no maxmemory set"),
            });
    }

    fn panels(&self, sel: &str, r: &str) -> Vec<DbPanel> {
        vec![
            (
                "Clients",
                "short",
                vec![(format!("redis_connected_clients{{{sel}}}"), "{{service}}")],
            ),
            (
                "Memory",
                "bytes",
                vec![
                    (
                        format!("redis_memory_used_bytes{{{sel}}}"),
                        "{{service}} used",
                    ),
                    (
                        format!("redis_memory_max_bytes{{{sel}}} > 0"),
                        "{{service}} max",
                    ),
                ],
            ),
            (
                "Commands",
                "ops",
                vec![(
                    format!("rate(redis_commands_processed_total{{{sel}}}{r})"),
                    "{{service}}",
                )],
            ),
        ]
    }
}
