//! Redis: the official image (append-only, a password) and redis_exporter.

use std::collections::BTreeMap;

use super::{DbPanel, Kind, Labels, Login};
use crate::model::{ComposeService, Database, Hardening};
use crate::rules::*;

/// `kind = "redis"`.
pub struct Redis;

/// The server's start (Compose escapes `$` as `$$`): maxmemory is 3/4 of the memory
/// limit of its container, read from the cgroup (v2 `memory.max`, else v1
/// `memory.limit_in_bytes`); no limit (`max`, v1's near-2^63 value: anything of 1 TiB or
/// more) or no file gives 0, Redis's "no maxmemory".
///
/// Why (issue 13): without maxmemory `redis_memory_max_bytes` is 0, `RedisMemoryNearLimit`
/// can never fire, and the kernel's OOM killer ends Redis at the container limit instead
/// — the whole dataset goes and the append-only file is replayed on restart. With
/// maxmemory below the limit Redis refuses writes (policy `noeviction`, the default, right
/// for data an application stores rather than a cache it can lose) and the alert fires at
/// 90 % of it first. The quarter left is headroom for what maxmemory does not count or
/// what exceeds it briefly: copy-on-write pages of the fork that rewrites the AOF (Redis's
/// docs: up to twice the memory under heavy writes; a quarter covers the common case),
/// replication and AOF buffers, allocator fragmentation. Reading the limit at start, not
/// writing a number into the command, keeps it right for each environment's limit and
/// for a limit changed by hand. Alerting on the container limit instead would need
/// cAdvisor's series joined to Redis's and would still let the OOM kill happen.
const MAXMEMORY_FROM_CGROUP: &str = "limit=$(cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null); \
case \"$limit\" in ''|*[!0-9]*) limit=0 ;; esac; \
[ \"$limit\" -lt 1099511627776 ] || limit=0; \
exec redis-server --appendonly yes --maxmemory \"$((limit / 4 * 3))\" --requirepass \"$REDIS_PASSWORD\"";

impl Kind for Redis {
    fn image_names(&self) -> &'static [&'static str] {
        &["redis", "redis-stack", "valkey"]
    }

    fn server(&self, _d: &Database, login: &Login, c: &mut ComposeService) -> &'static str {
        c.environment = BTreeMap::from([("REDIS_PASSWORD".to_string(), login.password())]);
        c.command = Some(vec![
            "sh".into(),
            "-c".into(),
            MAXMEMORY_FROM_CGROUP.replace('$', "$$"),
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
        more_alerts(b, job, base);
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

/// Clients, rejected connections and persistence (issue 13). Metric names are
/// redis_exporter v1.77.0's (templates/v1/components/redis-exporter/metrics.toml);
/// thresholds from awesome-prometheus-alerts (samber/awesome-prometheus-alerts,
/// dist/rules/redis/oliver006-redis-exporter.yml): the redis-mixin of redis_exporter
/// v1.77.0 (contrib/redis-mixin/alerts/redis.libsonnet) has only down, memory against
/// the host's, a fixed client count and cluster-slot alerts.
fn more_alerts(b: &mut Builder, job: &str, base: &Labels) {
    use super::rules::{Simple, simple};
    // awesome-prometheus-alerts RedisTooManyConnections: clients / maxclients > 90 %.
    b.usage_alert(Usage {
        alert: "RedisTooManyConnections",
        expr: format!("redis_connected_clients{{job=\"{job}\"}} / redis_config_maxclients{{job=\"{job}\"}} > 0.9"),
        summary: Text::new().t("Redis ").l("service").t(" is near maxclients"),
        of_what: " of maxclients; at 100% it refuses new connections.",
        used: selector("redis_connected_clients", base),
        limit: selector("redis_config_maxclients", base),
        result: base.clone(),
        firing: (9500, 10000, "9500 of 10000 clients"),
        quiet: (100, 10000, "100 of 10000 clients"),
    });
    // awesome-prometheus-alerts RedisRejectedConnections: `increase(...[1m]) > 5`. Any
    // rejection over 5m here: Redis rejects only at maxclients, and each rejection is a
    // client that got no connection.
    let rejected = selector("redis_rejected_connections_total", base);
    simple(
        b,
        Simple {
            spec: spec(
                "RedisRejectedConnections",
                format!("increase(redis_rejected_connections_total{{job=\"{job}\"}}[5m]) > 0"),
                "1m",
                "warning",
                Text::new()
                    .t("Redis ")
                    .l("service")
                    .t(" rejects connections"),
                Text::new()
                    .l("service")
                    .t(" rejected ")
                    .v(Fmt::Fixed(0))
                    .t(" connections over the last 5 minutes: it has maxclients clients."),
            ),
            interval: "1m",
            eval: "10m",
            firing: (
                "2 rejections a minute",
                vec![(rejected.clone(), "0+2x20".into())],
                base.clone(),
                10.0,
            ),
            quiet: vec![("no rejection", vec![(rejected, "7x20".into())])],
        },
    );
    // Persistence failures: the last RDB snapshot or AOF write/rewrite failed (INFO
    // persistence: rdb_last_bgsave_status, aof_last_write_status,
    // aof_last_bgrewrite_status, 1 = ok). After a failed snapshot Redis refuses writes
    // (stop-writes-on-bgsave-error yes, its default); a failed AOF write loses what the
    // next restart replays. No mixin has it; awesome-prometheus-alerts has only
    // RedisMissingBackup (no snapshot for 48 h), which an append-only Redis does not
    // need.
    let status = |m: &str| selector(m, base);
    let sel = format!("{{job=\"{job}\"}}");
    simple(
        b,
        Simple {
            spec: spec(
                "RedisPersistenceFailing",
                format!(
                    "redis_rdb_last_bgsave_status{sel} == 0 or redis_aof_last_write_status{sel} == 0 or redis_aof_last_bgrewrite_status{sel} == 0"
                ),
                "1m",
                "critical",
                Text::new().t("Redis ").l("service").t(" cannot persist its data"),
                Text::new()
                    .t("The last RDB snapshot or AOF write of ")
                    .l("service")
                    .t(" in ")
                    .l("environment")
                    .t(" failed (disk full or read-only?): Redis refuses writes after a failed snapshot, and a restart loses what the append-only file missed."),
            ),
            interval: "1m",
            eval: "5m",
            firing: (
                "the AOF write failed",
                vec![
                    (status("redis_rdb_last_bgsave_status"), "1x10".into()),
                    (status("redis_aof_last_write_status"), "0x10".into()),
                    (status("redis_aof_last_bgrewrite_status"), "1x10".into()),
                ],
                base.clone(),
                0.0,
            ),
            quiet: vec![(
                "every save succeeded",
                vec![
                    (status("redis_rdb_last_bgsave_status"), "1x10".into()),
                    (status("redis_aof_last_write_status"), "1x10".into()),
                    (status("redis_aof_last_bgrewrite_status"), "1x10".into()),
                ],
            )],
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::components::databases::Login;
    use crate::model::{DatabaseKind, Role};

    /// The generated `sh -c` script of the Redis container, as Compose hands it to the
    /// shell (`$$` → `$`).
    fn script() -> String {
        let d = Database {
            name: "cache".into(),
            kind: DatabaseKind::Redis,
            image: "redis:7.4.5".into(),
            volume: "cache-data".into(),
        };
        let mut c = ComposeService::new("cache", Role::Database);
        Redis.server(&d, &Login::of(&d), &mut c);
        let cmd = c.command.expect("a command");
        assert_eq!(cmd[..2], ["sh".to_string(), "-c".to_string()]);
        cmd[2].replace("$$", "$")
    }

    /// Runs the script with its cgroup files under `cgroup` (a test folder standing in
    /// for `/sys/fs/cgroup/`) and a `redis-server` that prints its arguments.
    fn run(cgroup_v2: Option<&str>, cgroup_v1: Option<&str>) -> String {
        let dir = std::env::temp_dir().join(format!(
            "obsgen-redis-{}-{}",
            std::process::id(),
            cgroup_v2.unwrap_or("-").len() * 7 + cgroup_v1.unwrap_or("-").len()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let cg = dir.join("cgroup");
        std::fs::create_dir_all(cg.join("memory")).unwrap();
        if let Some(v) = cgroup_v2 {
            std::fs::write(cg.join("memory.max"), format!("{v}\n")).unwrap();
        }
        if let Some(v) = cgroup_v1 {
            std::fs::write(cg.join("memory/memory.limit_in_bytes"), format!("{v}\n")).unwrap();
        }
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let stub = bin.join("redis-server");
        std::fs::write(&stub, "#!/bin/sh\necho \"$@\"\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
        let text = script().replace("/sys/fs/cgroup/", &format!("{}/", cg.display()));
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(&text)
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .env("REDIS_PASSWORD", "pw")
            .output()
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(out.status.success(), "{text}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// Issue 13: without `--maxmemory`, `redis_memory_max_bytes` is 0 and
    /// `RedisMemoryNearLimit` can never fire; the container's memory limit kills Redis
    /// first. Redis now takes 3/4 of its container's limit (cgroup v2 or v1) as maxmemory.
    #[test]
    fn redis_maxmemory_is_three_quarters_of_the_container_limit() {
        // 1 GiB (the profiles' database_memory), cgroup v2.
        assert_eq!(
            run(Some("1073741824"), None),
            "--appendonly yes --maxmemory 805306368 --requirepass pw"
        );
        // cgroup v1.
        assert_eq!(
            run(None, Some("536870912")),
            "--appendonly yes --maxmemory 402653184 --requirepass pw"
        );
        // No limit (v2 `max`, v1's huge number, or no cgroup file): no maxmemory.
        for (v2, v1) in [
            (Some("max"), None),
            (None, Some("9223372036854771712")),
            (None, None),
        ] {
            assert_eq!(
                run(v2, v1),
                "--appendonly yes --maxmemory 0 --requirepass pw",
                "{v2:?} {v1:?}"
            );
        }
    }
}
