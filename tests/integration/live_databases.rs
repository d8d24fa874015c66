//! Live end-to-end against real exporters (issue 13, item 6): besides Prometheus (2.42),
//! Alertmanager (0.25) and node-exporter (1.5), Debian's real PostgreSQL 15 +
//! postgres_exporter 0.11.1, Redis 7.0 + redis_exporter 1.45, MariaDB 10.11 +
//! mysqld_exporter 0.14, the blackbox exporter 0.23 running the **generated**
//! `blackbox.yml`, and two replicas of a small app instrumented with the real Python
//! client library (`live_app.py`, Debian's python3-prometheus-client 0.16) run on
//! 127.0.0.1 with the configuration obsgen generates. The test proves that
//!
//! 1. every target is up (`/api/v1/targets`) but cAdvisor's and Grafana's, which cannot
//!    run here (exempt by job name: [`EXEMPT_JOBS`]);
//! 2. every generated rule group loads and every rule evaluates with health `ok`;
//! 3. every metric a database rule or panel selects is served by the real exporter, every
//!    metric of the probe and service rules by the blackbox exporter and the app; a name
//!    that differs between Debian's exporter and the pinned image is allowed only in
//!    [`RENAMED`], with the upstream changelog entry or commit that explains it;
//! 4. every panel of the host, postgres, redis, mysql, service and SLO dashboards returns
//!    data, its template variables resolved the way Grafana does ([`resolve_vars`]); the
//!    container panels of the service dashboard (cAdvisor) are exempt by title
//!    ([`EXEMPT_PANELS`]). The app answers one request in 200 with a 500, so its 5xx
//!    series exists: whether the error panels show 0 for an app that never failed is
//!    the "zero instead of no data" part of the issue, proven by its promtool cases;
//!    on healthy real servers no database alert is active but `MysqlRestarted` (the
//!    servers started seconds ago);
//! 5. stopping PostgreSQL fires `PostgresDown` and stopping one app replica fires
//!    `ServiceDown` (their `for` as generated: 1m and 2m), and both reach the webhook
//!    receiver through the generated routes.
//!
//! It records each exporter's `/metrics` as a fixture (`tests/fixtures/exporters/`,
//! rewritten under `OBSGEN_UPDATE_FIXTURES=1`; otherwise the live metric names must equal
//! the fixture's), which [`promtool_input_series_are_served_by_the_real_exporters`] reads
//! without running anything: the promtool input series of the database rules must be
//! names the real exporters serve.
//!
//! Address mapping as in `live.rs`: only the file-SD target files are rewritten (every
//! host to 127.0.0.1 and the port of the process standing in for it; cAdvisor and Grafana
//! to an unused port), the secret files under `/run/secrets/` are read from a folder of
//! the test. The manifest sets a 2 s scrape interval and timeout and a 1 s evaluation
//! interval (a test-only rendering of the timing; every `for` stays as generated). Not
//! 1 s: with its server down, postgres_exporter 0.11.1 answers a scrape after ~1.03 s
//! (measured), so a 1 s timeout turns `pg_up 0` into a failed scrape and PostgresDown
//! into PrometheusTargetMissing.
//!
//! Where Debian's exporters differ from the pinned images, only the command line is
//! adapted, here:
//! - mysqld_exporter 0.14 takes its login from `DATA_SOURCE_NAME` (the pinned v0.17.2
//!   from `--mysqld.address`, `--mysqld.username` and `MYSQLD_EXPORTER_PASSWORD`);
//! - postgres_exporter 0.11.1 serves `pg_stat_user_tables_*` only through a query file
//!   (`--extend.query-path`, the query of its `queries.yaml`); v0.17.1 serves them from
//!   its default `stat_user_tables` collector (collector/pg_stat_user_tables.go);
//! - redis-server runs the generated `sh -c` script, its cgroup files pointed at a file
//!   of the test holding a 256 MiB limit, and `--port`, `--bind`, `--dir` added.
//!
//! PostgreSQL and MariaDB refuse to run as root: as root (CI), they run as their own
//! users through `setpriv`, in a work folder under the system temp dir (mode 755, so
//! those users reach it), removed at the end. Every process is killed by PID.
//! Budget: one deadline, [`BUDGET`], from the launch of the servers.
//! Under `CI=true` a missing binary fails the test; outside CI it is skipped loudly.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::live::{
    Stack, Webhook, assert_addresses_only_in_target_files, free_ports, generated_groups, get_json,
    http_get, notified, percent_encode,
};
use crate::support::{Project, repo, require_tool, yaml};

const BUDGET: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_millis(500);
const ENV: &str = "production";
const PASSWORD: &str = "live-test-password-0123";
const DB_PASSWORD: &str = "live-db-password-0123";

/// Jobs whose targets cannot run here (no container engine for cAdvisor, no Grafana).
const EXEMPT_JOBS: &[&str] = &["cadvisor", "grafana"];
/// Panels of the service dashboard that read cAdvisor (exempt by title).
const EXEMPT_PANELS: &[&str] = &["CPU (cores)", "Memory (working set)", "Restarts (1h)"];

/// `(name the pinned image serves, name Debian's exporter serves, why)`: the only names a
/// rule or panel may use that the real exporter here does not serve.
const RENAMED: &[(&str, &str, &str)] = &[];

/// The fixtures: `(target file host, fixture file)`.
const FIXTURES: &[(&str, &str)] = &[
    ("db-exporter", "postgres-exporter-0.11.1.metrics"),
    ("cache-exporter", "redis-exporter-1.45.0.metrics"),
    ("accounts-exporter", "mysqld-exporter-0.14.0.metrics"),
    ("probe", "blackbox-exporter-0.23.0-probe.metrics"),
    ("app-1", "python-prometheus-client-0.16.metrics"),
];

fn manifest(hook_port: u16) -> String {
    format!(
        r#"[project]
name = "livedb"
templates = "1"
profile = "standard"
environments = ["{ENV}"]

[[service]]
name = "app"
image = "ghcr.io/acme/app:1.0.0"
port = 8080
replicas = 2
metrics = {{ path = "/metrics" }}
health = "/health"
depends_on = ["db", "cache", "accounts"]

[[database]]
name = "db"
kind = "postgres"
version = "17.6"

[[database]]
name = "cache"
kind = "redis"

[[database]]
name = "accounts"
kind = "mysql"

[environment.{ENV}]
scrape_interval = "2s"
scrape_timeout = "2s"
evaluation_interval = "1s"
group_wait = "1s"
group_interval = "1s"
repeat_interval = "1h"

[[alerts.slo]]
service = "app"
objective = 99.5
window = "28d"

[[receiver]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:{hook_port}/hook"

[[route]]
match = {{ severity = "critical" }}
receivers = ["hook"]

[[route]]
match = {{ severity = "warning" }}
receivers = ["hook"]
"#
    )
}

// ---------------------------------------------------------------------------------------
// Binaries, users, the work folder

/// A PostgreSQL server binary: Debian keeps them in /usr/lib/postgresql/<major>/bin.
fn pg_bin(name: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| Some(e.ok()?.path().join("bin").join(name)))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop().or_else(|| require_tool(name))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// uid and gid of a system user.
fn ids(user: &str) -> (u32, u32) {
    let get = |flag: &str| -> u32 {
        let out = Command::new("id").args([flag, user]).output().unwrap();
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("no system user {user}"))
    };
    (get("-u"), get("-g"))
}

/// `bin args…` as `user` when root (setpriv execs, so the PID is the server's).
fn as_user(user: &str, bin: &Path, args: &[String]) -> (PathBuf, Vec<String>) {
    if !is_root() {
        return (bin.to_path_buf(), args.to_vec());
    }
    let mut a = vec![
        format!("--reuid={user}"),
        format!("--regid={user}"),
        "--init-groups".into(),
        "--".into(),
        bin.display().to_string(),
    ];
    a.extend(args.iter().cloned());
    (PathBuf::from("/usr/bin/setpriv"), a)
}

/// A folder `user` owns (when root).
fn owned_dir(path: &Path, user: &str) {
    std::fs::create_dir_all(path).unwrap();
    if is_root() {
        let (u, g) = ids(user);
        std::os::unix::fs::chown(path, Some(u), Some(g)).unwrap();
    }
}

/// Runs a setup command to completion; panics with its output when it fails.
fn setup(what: &str, bin: &Path, args: &[String], env: &[(&str, &str)]) {
    let out = Command::new(bin)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {}: {e}", bin.display()));
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The work folder, removed on drop (after the stack is killed: declare it first).
struct Work(PathBuf);

impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------------------
// The run

struct Run {
    stack: Stack,
    hook: Webhook,
    t0: Instant,
    mapping: String,
}

impl Run {
    fn fail(&self, msg: &str) -> ! {
        panic!(
            "{msg}\n\n===== after {:.1} s\n===== target mapping\n{}\n===== webhook\n{}\n===== process output{}",
            self.t0.elapsed().as_secs_f64(),
            self.mapping,
            self.hook.dump(),
            self.stack.logs()
        )
    }

    fn wait_for<T>(&mut self, what: &str, mut f: impl FnMut(&Run) -> Result<T, String>) -> T {
        let mut last = String::from("(not polled)");
        loop {
            if let Err(e) = self.stack.alive() {
                self.fail(&format!(
                    "while waiting for {what}: {e}\nlast state: {last}"
                ));
            }
            match f(self) {
                Ok(v) => {
                    eprintln!(
                        "live-db: {what}: after {:.1} s",
                        self.t0.elapsed().as_secs_f64()
                    );
                    return v;
                }
                Err(e) => last = e,
            }
            if self.t0.elapsed() > BUDGET {
                self.fail(&format!(
                    "timed out ({} s) waiting for {what}\nlast state: {last}",
                    BUDGET.as_secs()
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Stops the process `name` the test started with `signal` sent to its PID (SIGINT:
    /// PostgreSQL's fast shutdown, which ends the exporter's session; its default, smart
    /// one waits for that session forever), then forgets it.
    fn stop(&mut self, name: &str, signal: &str) {
        let i = self
            .stack
            .procs
            .iter()
            .position(|p| p.name == name)
            .unwrap_or_else(|| panic!("no process {name}"));
        let mut p = self.stack.procs.remove(i);
        let pid = p.child.id().to_string();
        let _ = Command::new("kill").args([signal, &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = p.child.try_wait() {
                eprintln!("live-db: stopped {name} (pid {pid})");
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = p.child.kill();
        let _ = p.child.wait();
        eprintln!("live-db: killed {name} (pid {pid})");
    }

    /// An instant query's result vector.
    fn query(&self, port: u16, q: &str) -> Result<Vec<Value>, String> {
        let v = get_json(port, &format!("/api/v1/query?query={}", percent_encode(q)))?;
        v["data"]["result"]
            .as_array()
            .cloned()
            .ok_or_else(|| format!("no data.result for {q}: {v}"))
    }
}

/// Metric names of a Prometheus text exposition (`# TYPE`/sample lines; histogram and
/// summary series under their own `_bucket`/`_sum`/`_count` names).
fn exposed_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap_or("").to_string())
        .collect()
}

fn fixtures_dir() -> PathBuf {
    repo().join("tests/fixtures/exporters")
}

/// Metric names a query selects (recording rule names and `up`/`ALERTS` left out).
fn selected_names(q: &str) -> Vec<String> {
    let tree = promql_parser::parser::parse(q).unwrap_or_else(|e| panic!("`{q}`: {e}"));
    obsgen::metrics::selected(&tree)
        .into_iter()
        .filter_map(|s| match s {
            obsgen::metrics::Selected::Name(n) => Some(n),
            obsgen::metrics::Selected::Pattern(..) => None,
        })
        .filter(|n| !n.contains(':') && n != "up" && n != "ALERTS")
        .collect()
}

/// Whether `served` has `name` (or its histogram base), or its Debian name in [`RENAMED`].
fn serves(served: &BTreeSet<String>, name: &str) -> bool {
    let debian = RENAMED
        .iter()
        .find(|(pinned, _, _)| *pinned == name)
        .map_or(name, |(_, d, _)| *d);
    served.contains(debian)
        || ["_bucket", "_sum", "_count"]
            .iter()
            .any(|s| served.contains(&format!("{debian}{s}")))
}

/// The value of each template variable as Grafana sets it on load: a `query` variable
/// runs `label_values(<selector>, <label>)` (here: `/api/v1/series`, with the variables
/// before it substituted) and takes its `current` value when the query returns it, its
/// `allValue` when `current` is All, else the first value (Grafana's default); the query
/// must return a value either way. `datasource` is the Prometheus datasource.
fn resolve_vars(dash: &Value, prom: u16) -> Result<Vec<(String, String)>, String> {
    let mut vars: Vec<(String, String)> = Vec::new();
    for v in dash["templating"]["list"].as_array().into_iter().flatten() {
        let name = v["name"].as_str().unwrap_or("").to_string();
        if v["type"] == "datasource" {
            vars.push((name, "prometheus".into()));
            continue;
        }
        let q = v["query"].as_str().unwrap_or("");
        let inner = q
            .strip_prefix("label_values(")
            .and_then(|s| s.strip_suffix(')'))
            .ok_or_else(|| format!("variable {name}: query {q:?} is not label_values(…)"))?;
        let (sel, label) = inner
            .rsplit_once(',')
            .ok_or_else(|| format!("variable {name}: {q:?}"))?;
        let sel = substitute(sel.trim(), &vars);
        let label = label.trim();
        let series = get_json(
            prom,
            &format!("/api/v1/series?match[]={}", percent_encode(&sel)),
        )?;
        let mut values: Vec<String> = series["data"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s[label].as_str().map(String::from))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if values.is_empty() {
            return Err(format!("variable {name}: {q} (as {sel}) has no value"));
        }
        let current = v["current"]["value"].as_str().unwrap_or("");
        let value = if current == "$__all" {
            match v["allValue"].as_str() {
                Some(a) => a.to_string(),
                None => format!("({})", values.join("|")),
            }
        } else if values.iter().any(|x| x == current) {
            current.to_string()
        } else {
            values.remove(0)
        };
        vars.push((name, value));
    }
    Ok(vars)
}

/// `$name`, `${name}` and Grafana's interval variables replaced (a 1m rate window: more
/// than 4 scrape intervals, as `$__rate_interval` guarantees).
fn substitute(expr: &str, vars: &[(String, String)]) -> String {
    let mut out = expr.to_string();
    for (n, v) in [
        ("__rate_interval", "1m"),
        ("__interval", "1m"),
        ("__range", "1m"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .chain(vars.iter().cloned())
    {
        out = out
            .replace(&format!("${{{n}}}"), &v)
            .replace(&format!("${n}"), &v);
    }
    out
}

#[test]
fn real_exporters_serve_what_rules_and_panels_use_and_database_and_service_alerts_fire() {
    let tools: Vec<(&str, Option<PathBuf>)> = vec![
        ("prometheus", require_tool("prometheus")),
        ("alertmanager", require_tool("prometheus-alertmanager")),
        ("node-exporter", require_tool("prometheus-node-exporter")),
        ("postgres", pg_bin("postgres")),
        ("initdb", pg_bin("initdb")),
        ("psql", require_tool("psql")),
        (
            "postgres-exporter",
            require_tool("prometheus-postgres-exporter"),
        ),
        ("redis-server", require_tool("redis-server")),
        ("redis-exporter", require_tool("prometheus-redis-exporter")),
        (
            "mariadbd",
            // In /usr/sbin, which a non-root PATH may lack.
            {
                let p = PathBuf::from("/usr/sbin/mariadbd");
                if p.is_file() {
                    Some(p)
                } else {
                    require_tool("mariadbd")
                }
            },
        ),
        ("mariadb-install-db", require_tool("mariadb-install-db")),
        ("mariadb", require_tool("mariadb")),
        (
            "mysqld-exporter",
            require_tool("prometheus-mysqld-exporter"),
        ),
        (
            "blackbox-exporter",
            require_tool("prometheus-blackbox-exporter"),
        ),
        // Debian's python3 (where python3-prometheus-client installs), not a venv's.
        ("python3", {
            let p = PathBuf::from("/usr/bin/python3");
            if p.is_file() {
                Some(p)
            } else {
                require_tool("python3")
            }
        }),
    ];
    if tools.iter().any(|(_, t)| t.is_none()) {
        return;
    }
    let bin: BTreeMap<&str, PathBuf> = tools.into_iter().map(|(n, t)| (n, t.unwrap())).collect();
    let py_ok = Command::new(&bin["python3"])
        .args(["-c", "import prometheus_client"])
        .status()
        .is_ok_and(|s| s.success());
    if !py_ok {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!(
                "python3-prometheus-client is missing and CI=true: run scripts/install-validators.sh"
            );
        }
        eprintln!("\n!!!!!!!! SKIPPED: python3 module prometheus_client not found !!!!!!!!\n");
        return;
    }

    let hook = Webhook::start();
    let p = Project::with_manifest(&manifest(hook.port));
    p.write(".env", &format!("PROMETHEUS_PASSWORD={PASSWORD}\n"));
    p.generate();
    let prom_file = format!("monitoring/prometheus/prometheus.{ENV}.yml");
    let am_file = format!("monitoring/alertmanager/alertmanager.{ENV}.yml");
    let prom_text = p.read(&prom_file);
    assert_addresses_only_in_target_files(&yaml(&prom_text), &prom_text);
    let expected_groups = generated_groups(&p);

    // Ports: one per process, and one where nothing listens.
    let hosts = [
        "prometheus",
        "alertmanager",
        "node-exporter",
        "blackbox-exporter",
        "db-exporter",
        "cache-exporter",
        "accounts-exporter",
        "app-1",
        "app-2",
        "unused",
        "postgres",
        "redis",
        "mariadb",
    ];
    let ports: BTreeMap<&str, u16> = hosts
        .iter()
        .copied()
        .zip(free_ports(hosts.len(), &[hook.port]))
        .collect();
    let port_of = |host: &str| -> u16 {
        match host {
            "localhost" => ports["prometheus"],
            h if ports.contains_key(h)
                && !["postgres", "redis", "mariadb", "unused"].contains(&h) =>
            {
                ports[h]
            }
            _ => ports["unused"],
        }
    };
    let mapping = map_targets(&p, &port_of);
    eprintln!("live-db: target mapping\n{mapping}");

    // The work folder the database users can reach.
    let work = Work(std::env::temp_dir().join(format!("obsgen-live-db-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&work.0);
    std::fs::create_dir_all(&work.0).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&work.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let w = |rel: &str| work.0.join(rel);
    let abs = |rel: &str| p.path().join(rel).to_string_lossy().into_owned();

    // Prometheus reads the Compose secret from the test's folder.
    let secrets = w("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("prometheus_password"), PASSWORD).unwrap();
    let live_file = "monitoring/prometheus/prometheus.live.yml";
    p.write(
        live_file,
        &prom_text.replace("/run/secrets/", &format!("{}/", secrets.display())),
    );

    // PostgreSQL: initdb as postgres.
    owned_dir(&w("pg"), "postgres");
    let (b, a) = as_user(
        "postgres",
        &bin["initdb"],
        &[
            format!("--pgdata={}", w("pg/data").display()),
            "--auth=trust".into(),
            "--username=postgres".into(),
        ],
    );
    setup("initdb", &b, &a, &[]);
    // MariaDB: its system tables as mysql.
    owned_dir(&w("my"), "mysql");
    let (b, a) = as_user(
        "mysql",
        &bin["mariadb-install-db"],
        &[
            "--no-defaults".into(),
            format!("--datadir={}", w("my/data").display()),
            "--auth-root-authentication-method=normal".into(),
            "--skip-test-db".into(),
        ],
    );
    setup("mariadb-install-db", &b, &a, &[]);
    // The postgres_exporter 0.11.1 query of pg_stat_user_tables (its queries.yaml);
    // v0.17.1 serves the same names from a default collector. JSON is YAML.
    let queries = w("pg-queries.yml");
    std::fs::write(
        &queries,
        serde_json::json!({
            "pg_stat_user_tables": {
                "query": "SELECT current_database() datname, schemaname, relname, n_live_tup, n_dead_tup, COALESCE(last_vacuum, '1970-01-01Z') as last_vacuum, COALESCE(last_autovacuum, '1970-01-01Z') as last_autovacuum FROM pg_stat_user_tables",
                "metrics": [
                    {"datname": {"usage": "LABEL", "description": "database"}},
                    {"schemaname": {"usage": "LABEL", "description": "schema"}},
                    {"relname": {"usage": "LABEL", "description": "table"}},
                    {"n_live_tup": {"usage": "GAUGE", "description": "live rows"}},
                    {"n_dead_tup": {"usage": "GAUGE", "description": "dead rows"}},
                    {"last_vacuum": {"usage": "GAUGE", "description": "last vacuum"}},
                    {"last_autovacuum": {"usage": "GAUGE", "description": "last autovacuum"}}
                ]
            }
        })
        .to_string(),
    )
    .unwrap();
    // Redis: the generated script, its cgroup files pointed at a 256 MiB limit.
    let compose = yaml(&p.read("compose.yaml"));
    let script = compose["services"]["cache"]["command"][2]
        .as_str()
        .expect("the redis command is sh -c SCRIPT")
        .replace("$$", "$");
    let cgroup = w("cgroup");
    std::fs::create_dir_all(cgroup.join("memory")).unwrap();
    std::fs::write(cgroup.join("memory.max"), "268435456\n").unwrap();
    std::fs::create_dir_all(w("redis")).unwrap();
    let script = script
        .replace("/sys/fs/cgroup/", &format!("{}/", cgroup.display()))
        .replace(
            "exec redis-server ",
            &format!(
                "exec {} --port {} --bind 127.0.0.1 --dir {} ",
                bin["redis-server"].display(),
                ports["redis"],
                w("redis").display()
            ),
        );
    std::fs::write(w("app.py"), include_str!("live_app.py")).unwrap();

    let mut run = Run {
        stack: Stack {
            dir: work.0.clone(),
            procs: Vec::new(),
        },
        hook,
        t0: Instant::now(),
        mapping,
    };
    let env = PathBuf::from("/usr/bin/env");
    let (b, a) = as_user(
        "postgres",
        &bin["postgres"],
        &[
            "-D".into(),
            w("pg/data").display().to_string(),
            "-h".into(),
            "127.0.0.1".into(),
            "-p".into(),
            ports["postgres"].to_string(),
            "-k".into(),
            w("pg").display().to_string(),
        ],
    );
    run.stack.start("postgres", &b, &a);
    let (b, a) = as_user(
        "mysql",
        &bin["mariadbd"],
        &[
            "--no-defaults".into(),
            format!("--datadir={}", w("my/data").display()),
            "--bind-address=127.0.0.1".into(),
            format!("--port={}", ports["mariadb"]),
            format!("--socket={}", w("my/mysqld.sock").display()),
            format!("--pid-file={}", w("my/mysqld.pid").display()),
            "--skip-name-resolve".into(),
        ],
    );
    run.stack.start("mariadb", &b, &a);
    // The script reads REDIS_PASSWORD, as Compose sets it.
    run.stack.start(
        "redis",
        &env,
        &[
            format!("REDIS_PASSWORD={DB_PASSWORD}"),
            "/bin/sh".into(),
            "-c".into(),
            script.clone(),
        ],
    );
    run.stack.start(
        "node-exporter",
        &bin["node-exporter"],
        &[
            format!("--web.listen-address=127.0.0.1:{}", ports["node-exporter"]),
            "--no-collector.systemd".into(),
        ],
    );
    for name in ["app-1", "app-2"] {
        run.stack.start(
            name,
            &bin["python3"],
            &[w("app.py").display().to_string(), ports[name].to_string()],
        );
    }
    run.stack.start(
        "blackbox-exporter",
        &bin["blackbox-exporter"],
        &[
            format!("--config.file={}", abs("monitoring/blackbox/blackbox.yml")),
            format!(
                "--web.listen-address=127.0.0.1:{}",
                ports["blackbox-exporter"]
            ),
        ],
    );
    run.stack.start(
        "alertmanager",
        &bin["alertmanager"],
        &[
            format!("--config.file={}", abs(&am_file)),
            format!(
                "--web.config.file={}",
                abs("monitoring/alertmanager/web.yml")
            ),
            format!("--storage.path={}", w("alertmanager").display()),
            format!("--web.listen-address=127.0.0.1:{}", ports["alertmanager"]),
            "--cluster.listen-address=".into(),
        ],
    );

    // The databases accept connections: then their logins, data and exporters.
    let psql = |sql: &str, db: &str| -> Result<(), String> {
        let out = Command::new(&bin["psql"])
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &ports["postgres"].to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-v",
                "ON_ERROR_STOP=1",
                "-qc",
                sql,
            ])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    };
    run.wait_for("PostgreSQL accepts connections", |_| {
        psql("SELECT 1", "postgres")
    });
    psql("CREATE DATABASE db", "postgres").unwrap_or_else(|e| run.fail(&e));
    // A table with dead rows: pg_stat_user_tables has a row to report.
    psql(
        "CREATE TABLE orders (id int); INSERT INTO orders SELECT generate_series(1, 1000); DELETE FROM orders WHERE id <= 500",
        "db",
    )
    .unwrap_or_else(|e| run.fail(&e));
    let sock = w("my/mysqld.sock").display().to_string();
    let mariadb = |sql: &str| -> Result<(), String> {
        let out = Command::new(&bin["mariadb"])
            .args(["-S", &sock, "-uroot", "-e", sql])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    };
    run.wait_for("MariaDB accepts connections", |_| mariadb("SELECT 1"));
    mariadb(&format!(
        "ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '{DB_PASSWORD}'; CREATE DATABASE accounts"
    ))
    .unwrap_or_else(|e| run.fail(&e));

    run.stack.start(
        "postgres-exporter",
        &env,
        &[
            format!(
                "DATA_SOURCE_NAME=postgresql://postgres@127.0.0.1:{}/db?sslmode=disable",
                ports["postgres"]
            ),
            bin["postgres-exporter"].display().to_string(),
            format!("--web.listen-address=127.0.0.1:{}", ports["db-exporter"]),
            format!("--extend.query-path={}", queries.display()),
        ],
    );
    run.stack.start(
        "redis-exporter",
        &env,
        &[
            format!("REDIS_ADDR=redis://127.0.0.1:{}", ports["redis"]),
            format!("REDIS_PASSWORD={DB_PASSWORD}"),
            bin["redis-exporter"].display().to_string(),
            "-web.listen-address".into(),
            format!("127.0.0.1:{}", ports["cache-exporter"]),
        ],
    );
    run.stack.start(
        "mysqld-exporter",
        &env,
        &[
            format!(
                "DATA_SOURCE_NAME=root:{DB_PASSWORD}@(127.0.0.1:{})/",
                ports["mariadb"]
            ),
            bin["mysqld-exporter"].display().to_string(),
            format!(
                "--web.listen-address=127.0.0.1:{}",
                ports["accounts-exporter"]
            ),
        ],
    );
    run.stack.start(
        "prometheus",
        &bin["prometheus"],
        &[
            format!("--config.file={}", abs(live_file)),
            format!("--web.config.file={}", abs("monitoring/prometheus/web.yml")),
            format!("--storage.tsdb.path={}", w("prometheus").display()),
            format!("--web.listen-address=127.0.0.1:{}", ports["prometheus"]),
            "--rules.alert.resend-delay=1s".into(),
        ],
    );
    let prom = ports["prometheus"];

    // 1. Every target up but the exempt ones.
    let targets = run.wait_for("every target up", |_| {
        let v = get_json(prom, "/api/v1/targets?state=active")?;
        let all = v["data"]["activeTargets"]
            .as_array()
            .cloned()
            .ok_or_else(|| format!("no activeTargets: {v}"))?;
        let down: Vec<String> = all
            .iter()
            .filter(|t| !EXEMPT_JOBS.contains(&t["labels"]["job"].as_str().unwrap_or("")))
            .filter(|t| t["health"] != "up")
            .map(|t| {
                format!(
                    "{} {} {}: {}",
                    t["labels"]["job"], t["scrapeUrl"], t["health"], t["lastError"]
                )
            })
            .collect();
        if down.is_empty() && all.len() > EXEMPT_JOBS.len() {
            Ok(all)
        } else {
            Err(format!("targets not up:\n{}", down.join("\n")))
        }
    });
    let up_count = targets.iter().filter(|t| t["health"] == "up").count();
    eprintln!(
        "live-db: {up_count} of {} targets up (exempt: {EXEMPT_JOBS:?})",
        targets.len()
    );

    // 2. Every rule group loaded, every rule healthy.
    let groups = run.wait_for("every rule evaluated and healthy", |_| {
        let v = get_json(prom, "/api/v1/rules")?;
        let groups = v["data"]["groups"].as_array().cloned().unwrap_or_default();
        let not_ok: Vec<String> = groups
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .filter(|r| r["health"] != "ok")
            .map(|r| format!("{} {}: {}", r["name"], r["health"], r["lastError"]))
            .collect();
        if groups.is_empty() || !not_ok.is_empty() {
            return Err(format!("rules not ok: {not_ok:?}"));
        }
        Ok(groups)
    });
    let loaded: BTreeMap<(String, String), Vec<String>> = groups
        .iter()
        .map(|g| {
            let file = Path::new(g["file"].as_str().unwrap_or(""))
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let names = g["rules"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| r["name"].as_str().unwrap_or("").to_string())
                .collect();
            ((file, g["name"].as_str().unwrap_or("").to_string()), names)
        })
        .collect();
    if loaded != expected_groups {
        run.fail(&format!(
            "loaded groups differ\nloaded: {loaded:?}\ngenerated: {expected_groups:?}"
        ));
    }
    eprintln!("live-db: {} rule groups, all rules ok", loaded.len());

    // 3. Every metric the rules and panels of the databases, the probes and the app use
    //    is served by the real exporter. The app's 5xx series exists once it has
    //    answered a 500 (every 200th request).
    let scrape = |port: u16, path: &str| -> Result<String, String> {
        match http_get(port, path)? {
            (200, body) => Ok(body),
            (s, body) => Err(format!(":{port}{path}: {s} {body}")),
        }
    };
    let app_port = ports["app-1"];
    run.wait_for("the app has answered a 500", |_| {
        let text = scrape(app_port, "/metrics")?;
        if text.contains("status=\"500\"") {
            Ok(())
        } else {
            Err("no 500 yet".into())
        }
    });
    let probe_path = format!(
        "/probe?module=http_2xx&target={}",
        percent_encode(&format!("http://127.0.0.1:{app_port}/health"))
    );
    let mut exposition: BTreeMap<&str, String> = BTreeMap::new();
    for (host, _) in FIXTURES {
        let text = match *host {
            "probe" => scrape(ports["blackbox-exporter"], &probe_path),
            h => scrape(ports[h], "/metrics"),
        }
        .unwrap_or_else(|e| run.fail(&e));
        exposition.insert(host, text);
    }
    let mut used: BTreeMap<&str, BTreeSet<(String, String)>> = BTreeMap::new();
    let rules_of = |rel: &str| -> Vec<String> {
        obsgen::metrics::rules_of(&p.read(rel))
            .unwrap()
            .into_iter()
            .map(|r| r.expr)
            .collect()
    };
    for (host, rules_file, dash_kind) in [
        ("db-exporter", "database-db.yml", Some("db-postgres")),
        ("cache-exporter", "database-cache.yml", Some("db-redis")),
        (
            "accounts-exporter",
            "database-accounts.yml",
            Some("db-mysql"),
        ),
        ("app-1", "services.yml", None),
        ("app-1", "slo-app.yml", None),
    ] {
        let set = used.entry(host).or_default();
        for e in rules_of(&format!("monitoring/prometheus/rules/{rules_file}")) {
            for n in selected_names(&e) {
                if !(host == "app-1" && n.starts_with("probe_")) {
                    set.insert((n, format!("rule in {rules_file}: {e}")));
                }
            }
        }
        if let Some(uid) = dash_kind {
            let path = format!("monitoring/grafana/dashboards/infrastructure/livedb-{uid}.json");
            let dash: Value = serde_json::from_str(&p.read(&path)).unwrap();
            for panel in dash["panels"].as_array().into_iter().flatten() {
                for t in panel["targets"].as_array().into_iter().flatten() {
                    let e = substitute(
                        t["expr"].as_str().unwrap_or(""),
                        &[
                            ("environment".into(), ENV.into()),
                            ("instance".into(), ".*".into()),
                        ],
                    );
                    for n in selected_names(&e) {
                        set.insert((n, format!("panel {:?} of {path}: {e}", panel["title"])));
                    }
                }
            }
        }
    }
    used.entry("probe").or_default().insert((
        "probe_success".into(),
        "rule ServiceHealthCheckFailing".into(),
    ));
    let mut missing = Vec::new();
    for (host, names) in &used {
        let served = exposed_names(&exposition[host]);
        for (n, whence) in names {
            if !serves(&served, n) {
                missing.push(format!("{n} (not served by {host}): {whence}"));
            }
        }
    }
    if !missing.is_empty() {
        run.fail(&format!(
            "metrics the generated rules and panels use that the real exporters do not serve:\n{}",
            missing.join("\n")
        ));
    }
    let used_count: usize = used.values().map(BTreeSet::len).sum();
    eprintln!("live-db: {used_count} metric uses checked against the real exporters");

    // Fixtures: the real output, or its names must match the recorded ones.
    let update = std::env::var("OBSGEN_UPDATE_FIXTURES").is_ok_and(|v| v == "1");
    for (host, file) in FIXTURES {
        let path = fixtures_dir().join(file);
        let text = &exposition[host];
        if update {
            std::fs::create_dir_all(fixtures_dir()).unwrap();
            std::fs::write(&path, text).unwrap();
            continue;
        }
        let recorded = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; record it with OBSGEN_UPDATE_FIXTURES=1",
                path.display()
            )
        });
        // What the fixture records must still be served (a name that appears only with
        // some state, such as a keyspace's, may be served now and not recorded).
        let (now, then) = (exposed_names(text), exposed_names(&recorded));
        let only_then: Vec<_> = then.difference(&now).collect();
        if !only_then.is_empty() {
            run.fail(&format!(
                "{} is out of date (OBSGEN_UPDATE_FIXTURES=1 rewrites it): recorded, no longer served: {only_then:?}",
                path.display()
            ));
        }
    }

    // 4. Every panel of the host, database, service and SLO dashboards returns data.
    let dashboards: Vec<(String, Value)> = p
        .files_ending(".json")
        .into_iter()
        .filter(|f| f.starts_with("monitoring/grafana/dashboards/"))
        .filter(|f| {
            [
                "-host.json",
                "-db-postgres.json",
                "-db-redis.json",
                "-db-mysql.json",
                "-svc-app.json",
                "-slo-app.json",
            ]
            .iter()
            .any(|s| f.ends_with(s))
        })
        .map(|f| {
            let v = serde_json::from_str(&p.read(&f)).unwrap();
            (f, v)
        })
        .collect();
    assert_eq!(
        dashboards.len(),
        6,
        "dashboards: {:?}",
        dashboards.iter().map(|d| &d.0).collect::<Vec<_>>()
    );
    let mut figures = Vec::new();
    for (file, dash) in &dashboards {
        let vars = run.wait_for(&format!("the variables of {file}"), |_| {
            resolve_vars(dash, prom)
        });
        let mut with_data = 0;
        let mut exempt = 0;
        // Panels that query (rows and text panels do not).
        let panels: Vec<Value> = dash["panels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["targets"].as_array().is_some_and(|t| !t.is_empty()))
            .cloned()
            .collect();
        for panel in &panels {
            let title = panel["title"].as_str().unwrap_or("").to_string();
            let Some(targets) = panel["targets"].as_array() else {
                continue;
            };
            if file.ends_with("-svc-app.json") && EXEMPT_PANELS.contains(&title.as_str()) {
                exempt += 1;
                continue;
            }
            for t in targets {
                let e = substitute(t["expr"].as_str().unwrap_or(""), &vars);
                run.wait_for(
                    &format!("{file}: panel {title:?} returns data: {e}"),
                    |r| match r.query(prom, &e)? {
                        v if !v.is_empty() => Ok(()),
                        _ => Err(format!("no data for {e}")),
                    },
                );
            }
            with_data += 1;
        }
        figures.push(format!(
            "{file}: {with_data} panels with data, {exempt} exempt (cAdvisor), of {}",
            panels.len()
        ));
    }
    for f in &figures {
        eprintln!("live-db: {f}");
    }

    // 4b. On healthy servers no database alert is pending or firing, except
    //     MysqlRestarted: a server started seconds ago is a restart (it fires while
    //     uptime < 60 s; the other alerts on real data stay quiet).
    let db_alerts: BTreeSet<String> = [
        "database-db.yml",
        "database-cache.yml",
        "database-accounts.yml",
    ]
    .iter()
    .flat_map(|f| {
        obsgen::metrics::rules_of(&p.read(&format!("monitoring/prometheus/rules/{f}")))
            .unwrap()
            .into_iter()
            .filter_map(|r| r.alert)
    })
    .collect();
    let active = run.query(prom, "ALERTS").unwrap_or_else(|e| run.fail(&e));
    let noisy: Vec<String> = active
        .iter()
        .filter_map(|a| a["metric"]["alertname"].as_str())
        .filter(|n| db_alerts.contains(*n) && *n != "MysqlRestarted")
        .map(String::from)
        .collect();
    if !noisy.is_empty() {
        run.fail(&format!(
            "database alerts active on healthy servers: {noisy:?}\n{active:?}"
        ));
    }
    eprintln!(
        "live-db: {} database alerts, none active on healthy servers but MysqlRestarted",
        db_alerts.len()
    );

    // 5. Stopping PostgreSQL fires PostgresDown; stopping one app replica fires
    //    ServiceDown; both reach the webhook.
    run.stop("postgres", "-INT");
    run.stop("app-2", "-TERM");
    let stopped = Instant::now();
    for (alert, severity) in [("PostgresDown", "critical"), ("ServiceDown", "critical")] {
        run.wait_for(&format!("{alert} delivered to the webhook"), |r| {
            let posts = r.hook.posts.lock().unwrap();
            posts
                .iter()
                .find(|post| {
                    post.path == "/hook"
                        && post.json["receiver"] == "hook"
                        && notified(post)
                            .iter()
                            .any(|(n, s, st)| n == alert && s == severity && st == "firing")
                })
                .map(|_| ())
                .ok_or_else(|| {
                    let state = |q: &str| {
                        r.query(prom, q)
                            .map(|v| serde_json::to_string(&v).unwrap())
                            .unwrap_or_else(|e| e)
                    };
                    format!(
                        "no firing {alert} yet; ALERTS: {}; pg_up: {}; up: {}",
                        state("ALERTS"),
                        state("pg_up"),
                        state("up == 0")
                    )
                })
        });
    }
    eprintln!(
        "live-db: PostgresDown and ServiceDown delivered {:.1} s after the stops; done after {:.1} s",
        stopped.elapsed().as_secs_f64(),
        run.t0.elapsed().as_secs_f64()
    );
    drop(run);
    drop(work);
}

/// Rewrites every target file: each host to 127.0.0.1 and `port_of(host)`.
fn map_targets(p: &Project, port_of: &dyn Fn(&str) -> u16) -> String {
    let mut table = String::new();
    for f in p
        .files_ending(".yml")
        .into_iter()
        .filter(|f| f.starts_with("monitoring/prometheus/targets/"))
    {
        let mut groups = yaml(&p.read(&f));
        for g in groups.as_array_mut().unwrap() {
            let mut one = |v: &mut Value| {
                let old = v.as_str().unwrap().to_string();
                let (scheme, rest) = match old.split_once("://") {
                    Some((s, r)) => (Some(s.to_string()), r.to_string()),
                    None => (None, old.clone()),
                };
                let (authority, path) = match rest.find('/') {
                    Some(i) => rest.split_at(i),
                    None => (rest.as_str(), ""),
                };
                let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
                let port = port_of(host);
                let new = match scheme {
                    Some(s) => format!("{s}://127.0.0.1:{port}{path}"),
                    None => format!("127.0.0.1:{port}"),
                };
                table.push_str(&format!("{f}: {old} -> {new}\n"));
                *v = Value::String(new);
            };
            for t in g["targets"].as_array_mut().unwrap() {
                one(t);
            }
            if let Some(v) = g
                .get_mut("labels")
                .and_then(|l| l.get_mut("__tmp_blackbox_exporter"))
            {
                one(v);
            }
        }
        p.write(
            &f,
            &format!(
                "# Addresses mapped to loopback by tests/integration/live_databases.rs\n{}\n",
                serde_json::to_string_pretty(&groups).unwrap()
            ),
        );
    }
    table
}

/// The promtool input series of the generated database rules (example `all-exporters`)
/// are names the real exporters serve (the fixtures the live test records), so the unit
/// tests feed what production has — except the names [`RENAMED`] allows, and the kinds
/// no fixture covers (MongoDB, Elasticsearch: their servers cannot run here; their names
/// are checked against the pinned source by `verify`'s catalogues).
#[test]
fn promtool_input_series_are_served_by_the_real_exporters() {
    let p = Project::example("all-exporters");
    p.generate();
    let fixture = |file: &str| {
        let path = fixtures_dir().join(file);
        exposed_names(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
    };
    let mut checked = 0;
    let mut missing = Vec::new();
    for (kind, file) in [
        ("postgres", "postgres-exporter-0.11.1.metrics"),
        ("redis", "redis-exporter-1.45.0.metrics"),
        ("mysql", "mysqld-exporter-0.14.0.metrics"),
    ] {
        let served = fixture(file);
        let manifest = toml_to_json(&p.read("obsgen.toml"));
        let names: Vec<String> = manifest["database"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["kind"] == kind)
            .map(|d| d["name"].as_str().unwrap().to_string())
            .collect();
        assert!(!names.is_empty(), "all-exporters has no {kind} database");
        for name in names {
            let rel = format!("monitoring/prometheus/tests/database-{name}.test.yml");
            let tests = yaml(&p.read(&rel));
            for t in tests["tests"].as_array().unwrap() {
                for s in t["input_series"].as_array().unwrap() {
                    let series = s["series"].as_str().unwrap();
                    let metric = series.split('{').next().unwrap();
                    if metric == "up" {
                        continue;
                    }
                    checked += 1;
                    if !serves(&served, metric) {
                        missing.push(format!("{rel}: {metric} (not in {file})"));
                    }
                }
            }
        }
    }
    assert!(checked >= 30, "only {checked} input series checked");
    assert!(
        missing.is_empty(),
        "promtool input series no real exporter serves:\n{}",
        missing.join("\n")
    );
}

fn toml_to_json(text: &str) -> Value {
    let v: toml::Value = toml::from_str(text).unwrap();
    serde_json::to_value(v).unwrap()
}
