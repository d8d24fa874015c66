//! Live end-to-end: the real `prometheus` (2.42), `prometheus-alertmanager` (0.25) and
//! `prometheus-node-exporter` (1.5) run as plain processes on 127.0.0.1 with the
//! configuration obsgen generates, and the test proves that
//!
//! 1. every generated rule group loads and evaluates with health `ok`
//!    (`/api/v1/rules`; the groups and rules are exactly those of the generated
//!    `monitoring/prometheus/rules/*.yml`),
//! 2. the `node-exporter` target is `up` (`/api/v1/targets`), and every panel query of
//!    the generated host dashboard returns data (`/api/v1/query`),
//! 3. a firing alert reaches a webhook receiver on loopback through the generated route
//!    (an HTTP server in this test records the POSTs; the group key names the route),
//! 4. the generated inhibition holds back the warning that a critical alert covers: the
//!    critical `E2eSignal` arrives, the warning `E2eSignal` (same alertname, service and
//!    environment) never does, and Alertmanager's `/api/v2/alerts` shows it `suppressed`,
//!    inhibited by the critical one. A control warning with another name
//!    (`E2eUncoveredWarning`) does arrive, so the warning route itself works.
//!
//! Address mapping — the only change made to generated files. The generated files name
//! Compose hosts (`node-exporter:9100`, `alertmanager:9093`, …). The test rewrites the
//! file-SD target files `monitoring/prometheus/targets/*.yml` of its own throw-away project
//! (nothing else): every target address, and the `__tmp_blackbox_exporter` label of the
//! probe targets, gets host `127.0.0.1` and a port: `node-exporter` → the node exporter's
//! port, `alertmanager` → Alertmanager's port (this is also where Prometheus sends alerts),
//! `localhost`/`prometheus` (Prometheus' self-scrape) → Prometheus' port, and every other
//! host (the app, cAdvisor, blackbox, database exporter, Grafana) → one unused loopback
//! port, so those targets are simply down. URL targets keep their scheme and path.
//! `alertmanager.production.yml` runs exactly as generated; `prometheus.production.yml` too
//! (the test checks that every address of it is in a target file), except that the secret
//! files Compose would mount under `/run/secrets/` are read from a folder of the test (the
//! copy `prometheus.live.yml` differs only in that prefix). The webhook URL is not mapped:
//! the manifest names the test's receiver, `http://127.0.0.1:<port>/hook`.
//!
//! Authentication as generated: the project's `.env` sets `PROMETHEUS_PASSWORD`, so
//! `web.yml` (Prometheus) and `monitoring/alertmanager/web.yml` hold its bcrypt hash; both
//! servers run with them. Every request of the test logs in; a request without the login
//! gets 401 from both, and Prometheus's self-scrape, its scrape of Alertmanager and its
//! alert delivery (all with the password file) work: the login chain is proven end to end.
//!
//! Timing comes from the manifest (`[environment.production]`: 1 s scrape, evaluation,
//! group_wait and group_interval) plus `--rules.alert.resend-delay=1s`. Prometheus learns
//! Alertmanager's address from file-SD, and its discovery manager publishes updates at most
//! every 5 s, so alerts reach Alertmanager ~5–6 s after launch. The warning `E2eSignal`
//! therefore has a longer `for` (10 s) than the critical one (1 s). With the same `for`,
//! both fire before Prometheus knows Alertmanager and reach it in one batch; Alertmanager
//! 0.25 then flushes the warning's group at once (its `startsAt` + group_wait is already
//! past), sometimes before its inhibitor has seen the critical alert, and the warning is
//! notified — a race in Alertmanager measured while writing this test (1 run in 5), not a
//! configuration error. With the critical one delivered seconds before the warning fires,
//! the outcome is deterministic.
//!
//! Everything is bounded: one 60 s deadline from the launch of the servers, polling every
//! 200 ms. Processes are killed by PID in a Drop guard (also when the test panics); their
//! stdout/stderr go to files in the project folder and are printed when an assertion fails.
//! Under `CI=true` a missing binary fails the test; outside CI it is skipped loudly.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Project, require_tool, yaml};

/// Overall bound, from the launch of the servers (measured: delivery after ~7 s).
const DEADLINE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(200);
/// How long the inhibited warning must stay away after Alertmanager shows it suppressed
/// (with group_wait = group_interval = 1 s an uninhibited alert is sent within ~1 s).
const QUIET: Duration = Duration::from_secs(5);

const ENV: &str = "production";
/// The monitoring login of the test project (`PROMETHEUS_PASSWORD` in its `.env`).
const PASSWORD: &str = "live-test-password-0123";
/// `Authorization` value for user `prometheus` with [`PASSWORD`] (base64 of
/// `prometheus:live-test-password-0123`).
const BASIC_AUTH: &str = "Basic cHJvbWV0aGV1czpsaXZlLXRlc3QtcGFzc3dvcmQtMDEyMw==";

fn manifest(hook_port: u16) -> String {
    format!(
        r#"[project]
name = "live"
templates = "1"
profile = "standard"
environments = ["{ENV}"]

[[service]]
name = "app"
image = "ghcr.io/acme/app:1.0.0"
port = 8080
metrics = {{ path = "/metrics" }}
health = "/health"
depends_on = ["db"]

[[database]]
name = "db"
kind = "postgres"
version = "17.6"

[environment.{ENV}]
scrape_interval = "1s"
scrape_timeout = "1s"
evaluation_interval = "1s"
group_wait = "1s"
group_interval = "1s"
repeat_interval = "1h"

[[alerts.slo]]
service = "app"
objective = 99.5
window = "28d"

[[alerts.custom]]
name = "E2eSignal"
expr = "vector(1)"
for = "1s"
severity = "critical"
summary = "end-to-end critical"
labels = {{ service = "e2e" }}

# Same alertname and service: the critical one inhibits it. Fires well after the
# critical one has been delivered (see the module doc).
[[alerts.custom]]
name = "E2eSignal"
expr = "vector(1)"
for = "10s"
severity = "warning"
summary = "end-to-end warning (inhibited)"
labels = {{ service = "e2e" }}

# Control: a warning no critical covers must arrive through the warning route.
[[alerts.custom]]
name = "E2eUncoveredWarning"
expr = "vector(1)"
for = "1s"
severity = "warning"
summary = "end-to-end warning (not inhibited)"
labels = {{ service = "e2e" }}

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
// Ports and minimal HTTP

/// A port that was free a moment ago (bind 127.0.0.1:0, read it, drop the listener).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `n` distinct free ports.
pub(crate) fn free_ports(n: usize, taken: &[u16]) -> Vec<u16> {
    let mut out: Vec<u16> = Vec::new();
    while out.len() < n {
        let p = free_port();
        if !out.contains(&p) && !taken.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Index of the end of the HTTP head (`\r\n\r\n`), if present.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("chunked body: no chunk size line")?;
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|e| format!("chunked body: bad size {size_text:?}: {e}"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if body.len() < size + 2 {
            return Err("chunked body: truncated".into());
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

/// A minimal HTTP/1.1 GET to 127.0.0.1:`port`: the status and the body.
/// GET with the monitoring login.
pub(crate) fn http_get(port: u16, path: &str) -> Result<(u16, String), String> {
    http_request(port, path, true)
}

fn http_request(port: u16, path: &str, login: bool) -> Result<(u16, String), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("GET {addr}{path}: connect: {e}"))?;
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let auth = if login {
        format!("Authorization: {BASIC_AUTH}\r\n")
    } else {
        String::new()
    };
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n{auth}Connection: close\r\n\r\n"
    )
    .map_err(|e| format!("GET {addr}{path}: write: {e}"))?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)
        .map_err(|e| format!("GET {addr}{path}: read: {e}"))?;
    let end = head_end(&buf).ok_or_else(|| {
        format!(
            "GET {addr}{path}: no HTTP head in {:?}",
            String::from_utf8_lossy(&buf)
        )
    })?;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("GET {addr}{path}: bad status line in {head:?}"))?;
    let raw = &buf[end + 4..];
    let body = if header(&head, "transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        dechunk(raw).map_err(|e| format!("GET {addr}{path}: {e}"))?
    } else {
        raw.to_vec()
    };
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// GET returning parsed JSON (status 200 required).
/// Percent-encodes a query-string value.
pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub(crate) fn get_json(port: u16, path: &str) -> Result<Value, String> {
    let (status, body) = http_get(port, path)?;
    if status != 200 {
        return Err(format!("GET :{port}{path}: status {status}: {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("GET :{port}{path}: not JSON ({e}): {body}"))
}

// ---------------------------------------------------------------------------------------
// The webhook receiver

pub(crate) struct Post {
    pub(crate) path: String,
    pub(crate) body: String,
    /// Parsed body (`Value::Null` when it is not JSON).
    pub(crate) json: Value,
    pub(crate) at: Instant,
}

/// An HTTP server on 127.0.0.1 in a thread, recording every POST. Stopped on drop.
pub(crate) struct Webhook {
    pub(crate) port: u16,
    pub(crate) posts: Arc<Mutex<Vec<Post>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Webhook {
    pub(crate) fn start() -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let posts = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, st) = (posts.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        if let Some(post) = Webhook::serve(stream) {
                            p.lock().unwrap().push(post);
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Webhook {
            port,
            posts,
            stop,
            thread: Some(thread),
        }
    }

    /// Reads one request (head + Content-Length body), answers 200 and closes.
    fn serve(mut s: TcpStream) -> Option<Post> {
        s.set_nonblocking(false).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let end = loop {
            if let Some(end) = head_end(&buf) {
                break end;
            }
            let n = s.read(&mut chunk).ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let mut first = head.split_whitespace();
        let method = first.next().unwrap_or("").to_string();
        let path = first.next().unwrap_or("").to_string();
        let len: usize = header(&head, "content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let mut body = buf[end + 4..].to_vec();
        while body.len() < len {
            let n = s.read(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        let _ = s.flush();
        if method != "POST" {
            return None;
        }
        let body = String::from_utf8_lossy(&body).into_owned();
        Some(Post {
            path,
            json: serde_json::from_str(&body).unwrap_or(Value::Null),
            body,
            at: Instant::now(),
        })
    }

    /// Every recorded POST, as text (for failure messages).
    pub(crate) fn dump(&self) -> String {
        let posts = self.posts.lock().unwrap();
        if posts.is_empty() {
            return "(no POST received)".into();
        }
        posts
            .iter()
            .map(|p| format!("POST {} {}", p.path, p.body))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One alert of a webhook notification: (alertname, severity, status).
pub(crate) fn notified(post: &Post) -> Vec<(String, String, String)> {
    post.json["alerts"]
        .as_array()
        .map(|alerts| {
            alerts
                .iter()
                .map(|a| {
                    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
                    (
                        s(&a["labels"]["alertname"]),
                        s(&a["labels"]["severity"]),
                        s(&a["status"]),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// The servers

pub(crate) struct Proc {
    pub(crate) name: &'static str,
    pub(crate) child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

/// The processes this test started; each is killed by PID on drop.
pub(crate) struct Stack {
    pub(crate) dir: PathBuf,
    pub(crate) procs: Vec<Proc>,
}

impl Stack {
    pub(crate) fn start(&mut self, name: &'static str, bin: &Path, args: &[String]) {
        let stdout = self.dir.join(format!("{name}.stdout"));
        let stderr = self.dir.join(format!("{name}.stderr"));
        let child = Command::new(bin)
            .args(args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).unwrap())
            .stderr(File::create(&stderr).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        eprintln!("live: started {name} (pid {}) {args:?}", child.id());
        self.procs.push(Proc {
            name,
            child,
            stdout,
            stderr,
        });
    }

    /// An error naming every process that has exited.
    pub(crate) fn alive(&mut self) -> Result<(), String> {
        for p in &mut self.procs {
            if let Ok(Some(status)) = p.child.try_wait() {
                return Err(format!(
                    "{} (pid {}) exited: {status}",
                    p.name,
                    p.child.id()
                ));
            }
        }
        Ok(())
    }

    /// The output of every process (the end of each file).
    pub(crate) fn logs(&self) -> String {
        let mut out = String::new();
        for p in &self.procs {
            for (what, path) in [("stdout", &p.stdout), ("stderr", &p.stderr)] {
                let text = std::fs::read_to_string(path).unwrap_or_default();
                let tail: String = {
                    let lines: Vec<&str> = text.lines().collect();
                    lines[lines.len().saturating_sub(60)..].join("\n")
                };
                out.push_str(&format!(
                    "\n----- {} {what} ({}) -----\n{tail}\n",
                    p.name,
                    path.display()
                ));
            }
        }
        out
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        for p in &mut self.procs {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}

/// The running test: servers, webhook and the deadline; every failure goes through
/// [`Live::fail`], which adds the process output and what the webhook received.
struct Live {
    stack: Stack,
    hook: Webhook,
    t0: Instant,
    mapping: String,
}

impl Live {
    fn fail(&self, msg: &str) -> ! {
        panic!(
            "{msg}\n\n===== after {:.1} s\n===== target mapping\n{}\n===== webhook\n{}\n===== process output{}",
            self.t0.elapsed().as_secs_f64(),
            self.mapping,
            self.hook.dump(),
            self.stack.logs()
        )
    }

    fn ensure(&self, cond: bool, msg: impl FnOnce() -> String) {
        if !cond {
            self.fail(&msg());
        }
    }

    /// Polls `f` every 200 ms until it returns `Ok`, failing with its last error at the
    /// deadline or as soon as a server exits.
    fn wait_for<T>(&mut self, what: &str, mut f: impl FnMut(&Live) -> Result<T, String>) -> T {
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
                        "live: {what}: after {:.1} s",
                        self.t0.elapsed().as_secs_f64()
                    );
                    return v;
                }
                Err(e) => last = e,
            }
            if self.t0.elapsed() > DEADLINE {
                self.fail(&format!(
                    "timed out ({} s) waiting for {what}\nlast state: {last}",
                    DEADLINE.as_secs()
                ));
            }
            std::thread::sleep(POLL);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Address mapping of the target files

struct Ports {
    prometheus: u16,
    alertmanager: u16,
    node_exporter: u16,
    /// Nothing listens here: every other host.
    unused: u16,
}

impl Ports {
    fn for_host(&self, host: &str) -> u16 {
        match host {
            "node-exporter" => self.node_exporter,
            "alertmanager" => self.alertmanager,
            "localhost" | "prometheus" => self.prometheus,
            _ => self.unused,
        }
    }

    /// `host:port` → `127.0.0.1:<port>`; `scheme://host:port/path` keeps scheme and path.
    fn map(&self, addr: &str) -> (String, String) {
        let (scheme, rest) = match addr.split_once("://") {
            Some((s, r)) => (Some(s), r),
            None => (None, addr),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
        let port = self.for_host(host);
        let mapped = match scheme {
            Some(s) => format!("{s}://127.0.0.1:{port}{path}"),
            None => format!("127.0.0.1:{port}"),
        };
        (host.to_string(), mapped)
    }
}

/// Rewrites every `monitoring/prometheus/targets/*.yml` of the project (targets and the
/// `__tmp_blackbox_exporter` label). Returns the hosts seen and a printable mapping.
fn map_targets(p: &Project, ports: &Ports) -> (BTreeSet<String>, String) {
    let mut hosts = BTreeSet::new();
    let mut table = String::new();
    let files: Vec<String> = p
        .files_ending(".yml")
        .into_iter()
        .filter(|f| f.starts_with("monitoring/prometheus/targets/"))
        .collect();
    assert!(!files.is_empty(), "no target files generated");
    for f in files {
        let mut groups = yaml(&p.read(&f));
        let list = groups
            .as_array_mut()
            .unwrap_or_else(|| panic!("{f}: not a list of target groups"));
        for g in list {
            let mut one = |v: &mut Value| {
                let old = v
                    .as_str()
                    .unwrap_or_else(|| panic!("{f}: address {v}"))
                    .to_string();
                let (host, new) = ports.map(&old);
                table.push_str(&format!("{f}: {old} -> {new}\n"));
                hosts.insert(host);
                *v = Value::String(new);
            };
            for t in g["targets"]
                .as_array_mut()
                .unwrap_or_else(|| panic!("{f}: group without targets"))
            {
                one(t);
            }
            if let Some(v) = g
                .get_mut("labels")
                .and_then(|l| l.get_mut("__tmp_blackbox_exporter"))
            {
                one(v);
            }
        }
        // JSON is YAML: Prometheus reads it as the `.yml` file-SD file it replaces.
        p.write(
            &f,
            &format!(
                "# Addresses mapped to loopback by tests/integration/live.rs\n{}\n",
                serde_json::to_string_pretty(&groups).unwrap()
            ),
        );
    }
    (hosts, table)
}

/// Every address Prometheus uses must be in a target file, so that mapping those is all
/// it takes (and the main configuration runs as generated).
pub(crate) fn assert_addresses_only_in_target_files(prom: &Value, text: &str) {
    let file_sd_only = |cfg: &Value, what: &str| {
        let obj = cfg
            .as_object()
            .unwrap_or_else(|| panic!("{what} is not a mapping:\n{text}"));
        for key in obj.keys() {
            assert!(
                !key.ends_with("_sd_configs") || key == "file_sd_configs",
                "{what} uses {key}: its addresses would not be mapped\n{text}"
            );
            assert!(
                key != "static_configs",
                "{what} has static_configs: its addresses would not be mapped\n{text}"
            );
        }
        for sd in cfg["file_sd_configs"].as_array().into_iter().flatten() {
            for file in sd["files"].as_array().into_iter().flatten() {
                let file = file.as_str().unwrap_or("");
                assert!(
                    file.starts_with("targets/"),
                    "{what} reads {file}, not a targets/ file\n{text}"
                );
            }
        }
        assert!(
            cfg["file_sd_configs"]
                .as_array()
                .is_some_and(|a| !a.is_empty()),
            "{what} has no file_sd_configs\n{text}"
        );
    };
    for sc in prom["scrape_configs"].as_array().expect("scrape_configs") {
        file_sd_only(sc, &format!("scrape job {}", sc["job_name"]));
    }
    let ams = prom["alerting"]["alertmanagers"]
        .as_array()
        .expect("alerting.alertmanagers");
    assert!(!ams.is_empty());
    for am in ams {
        file_sd_only(am, "alerting.alertmanagers");
    }
    assert!(
        prom.get("remote_write").is_none(),
        "remote_write would leave the machine\n{text}"
    );
}

// ---------------------------------------------------------------------------------------
// The test

/// (rule file name, group name) → rule names, from the generated rule files.
pub(crate) fn generated_groups(p: &Project) -> BTreeMap<(String, String), Vec<String>> {
    let mut out = BTreeMap::new();
    for f in p.files_ending(".yml") {
        let Some(file) = f.strip_prefix("monitoring/prometheus/rules/") else {
            continue;
        };
        let doc = yaml(&p.read(&f));
        for g in doc["groups"].as_array().expect("groups") {
            let rules = g["rules"]
                .as_array()
                .expect("rules")
                .iter()
                .map(|r| {
                    r["alert"]
                        .as_str()
                        .or(r["record"].as_str())
                        .unwrap_or("?")
                        .to_string()
                })
                .collect();
            out.insert(
                (file.to_string(), g["name"].as_str().unwrap().to_string()),
                rules,
            );
        }
    }
    out
}

fn not_inhibited(body: &str, more: &str) -> String {
    format!(
        "the warning E2eSignal was notified: the inhibition did not hold it back.\n\
         (If the critical E2eSignal had not been delivered before the warning began to fire, \
         this is the Alertmanager race the module doc describes: lengthen the warning's `for`.)\n\
         {body}\n{more}"
    )
}

#[test]
fn generated_stack_runs_on_loopback_rules_targets_routing_and_inhibition() {
    let (Some(prometheus), Some(alertmanager), Some(node_exporter)) = (
        require_tool("prometheus"),
        require_tool("prometheus-alertmanager"),
        require_tool("prometheus-node-exporter"),
    ) else {
        return;
    };

    // The receiver listens before the manifest names its port.
    let hook = Webhook::start();
    let p = Project::with_manifest(&manifest(hook.port));
    p.write(".env", &format!("PROMETHEUS_PASSWORD={PASSWORD}\n"));
    p.generate();

    let prom_file = format!("monitoring/prometheus/prometheus.{ENV}.yml");
    let am_file = format!("monitoring/alertmanager/alertmanager.{ENV}.yml");
    let prom_text = p.read(&prom_file);
    let prom_cfg = yaml(&prom_text);
    assert_addresses_only_in_target_files(&prom_cfg, &prom_text);
    let am_text = p.read(&am_file);
    let hook_url = format!("\"http://127.0.0.1:{}/hook\"", hook.port);
    assert!(
        am_text.contains(&hook_url),
        "{am_file} does not name {hook_url}:\n{am_text}"
    );

    let expected = generated_groups(&p);
    assert!(
        expected.len() >= 5,
        "only {} rule groups generated: {expected:?}",
        expected.len()
    );

    let free = free_ports(4, &[hook.port]);
    let ports = Ports {
        prometheus: free[0],
        alertmanager: free[1],
        node_exporter: free[2],
        unused: free[3],
    };
    let (hosts, mapping) = map_targets(&p, &ports);
    for h in ["node-exporter", "alertmanager", "localhost"] {
        assert!(
            hosts.contains(h),
            "no target host {h} in the target files:\n{mapping}"
        );
    }
    eprintln!("live: target mapping\n{mapping}");

    let run = p.path().join("live-run");
    std::fs::create_dir_all(&run).unwrap();
    let abs = |rel: &str| p.path().join(rel).to_string_lossy().into_owned();
    // The Compose secret, where Compose would mount it: /run/secrets → a folder here.
    let secrets = run.join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("prometheus_password"), PASSWORD).unwrap();
    let live_text = prom_text.replace("/run/secrets/", &format!("{}/", secrets.display()));
    assert!(
        live_text.matches(&secrets.display().to_string()).count() >= 3,
        "the self-scrape, the Alertmanager scrape and alert delivery read the password file:\n{prom_text}"
    );
    let live_file = "monitoring/prometheus/prometheus.live.yml";
    p.write(live_file, &live_text);
    let mut live = Live {
        stack: Stack {
            dir: run.clone(),
            procs: Vec::new(),
        },
        hook,
        t0: Instant::now(),
        mapping,
    };
    live.stack.start(
        "node-exporter",
        &node_exporter,
        &[
            format!("--web.listen-address=127.0.0.1:{}", ports.node_exporter),
            "--no-collector.systemd".into(),
        ],
    );
    live.stack.start(
        "alertmanager",
        &alertmanager,
        &[
            format!("--config.file={}", abs(&am_file)),
            format!(
                "--web.config.file={}",
                abs("monitoring/alertmanager/web.yml")
            ),
            format!("--storage.path={}", run.join("alertmanager").display()),
            format!("--web.listen-address=127.0.0.1:{}", ports.alertmanager),
            "--cluster.listen-address=".into(),
        ],
    );
    live.stack.start(
        "prometheus",
        &prometheus,
        &[
            format!("--config.file={}", abs(live_file)),
            format!("--web.config.file={}", abs("monitoring/prometheus/web.yml")),
            format!("--storage.tsdb.path={}", run.join("prometheus").display()),
            format!("--web.listen-address=127.0.0.1:{}", ports.prometheus),
            "--rules.alert.resend-delay=1s".into(),
        ],
    );

    let ready = |port: u16, path: &str| -> Result<(), String> {
        match http_get(port, path)? {
            (200, _) => Ok(()),
            (s, body) => Err(format!("GET :{port}{path}: {s} {body}")),
        }
    };
    live.wait_for("servers ready", |_| {
        ready(ports.node_exporter, "/metrics")?;
        ready(ports.alertmanager, "/-/ready")?;
        ready(ports.prometheus, "/-/ready")
    });

    // 1. Every generated rule group is loaded and evaluates with health ok.
    let rules_dir = p
        .path()
        .join("monitoring/prometheus/rules")
        .canonicalize()
        .unwrap();
    let groups = live.wait_for("every rule evaluated", |_| {
        let v = get_json(ports.prometheus, "/api/v1/rules")?;
        let groups = v["data"]["groups"]
            .as_array()
            .ok_or_else(|| format!("no data.groups: {v}"))?
            .clone();
        let pending: Vec<String> = groups
            .iter()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .filter(|r| r["health"] == "unknown")
            .map(|r| r["name"].to_string())
            .collect();
        if groups.is_empty() || !pending.is_empty() {
            return Err(format!("not evaluated yet: {pending:?}\n{v}"));
        }
        Ok(groups)
    });
    let mut loaded = BTreeMap::new();
    let mut bad = Vec::new();
    for g in &groups {
        let file = Path::new(g["file"].as_str().unwrap_or(""));
        live.ensure(
            file.parent().and_then(|d| d.canonicalize().ok()).as_deref() == Some(&rules_dir),
            || {
                format!(
                    "group {} comes from {}, not from {}",
                    g["name"],
                    file.display(),
                    rules_dir.display()
                )
            },
        );
        let mut names = Vec::new();
        for r in g["rules"].as_array().into_iter().flatten() {
            names.push(r["name"].as_str().unwrap_or("?").to_string());
            if r["health"] != "ok" {
                bad.push(format!("group {} rule {}: {r}", g["name"], r["name"]));
            }
        }
        loaded.insert(
            (
                file.file_name().unwrap().to_string_lossy().into_owned(),
                g["name"].as_str().unwrap_or("?").to_string(),
            ),
            names,
        );
    }
    live.ensure(bad.is_empty(), || {
        format!("rules not healthy:\n{}", bad.join("\n"))
    });
    live.ensure(loaded == expected, || {
        format!("loaded rule groups differ from the generated ones\nloaded:   {loaded:?}\ngenerated: {expected:?}")
    });
    let rule_count: usize = loaded.values().map(Vec::len).sum();
    eprintln!(
        "live: {} rule groups, {rule_count} rules, all health ok",
        loaded.len()
    );

    // 1b. Both UIs refuse a request without the login.
    for (what, port) in [
        ("Prometheus", ports.prometheus),
        ("Alertmanager", ports.alertmanager),
    ] {
        let (status, body) = http_request(port, "/api/v1/status/config", false)
            .or_else(|_| http_request(port, "/api/v2/status", false))
            .unwrap();
        assert_eq!(status, 401, "{what} answered without the login: {body}");
    }

    // 2. The node-exporter target is up; so are Prometheus itself and Alertmanager, which
    //    are scraped with the login read from the password file.
    for job in ["prometheus", "alertmanager"] {
        live.wait_for(&format!("{job} target up with the login"), |_| {
            let v = get_json(ports.prometheus, "/api/v1/targets?state=active")?;
            let up = v["data"]["activeTargets"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| t["labels"]["job"] == job && t["health"] == "up");
            if up {
                Ok(())
            } else {
                Err(format!("{job} not up: {v}"))
            }
        });
    }
    let node_url = format!("http://127.0.0.1:{}/metrics", ports.node_exporter);
    live.wait_for("node-exporter target up", |_| {
        let v = get_json(ports.prometheus, "/api/v1/targets?state=active")?;
        let targets = v["data"]["activeTargets"]
            .as_array()
            .ok_or_else(|| format!("no data.activeTargets: {v}"))?;
        let node: Vec<&Value> = targets
            .iter()
            .filter(|t| t["labels"]["job"] == "node-exporter")
            .collect();
        match node.as_slice() {
            [t] if t["health"] == "up" && t["scrapeUrl"] == node_url.as_str() => Ok(()),
            _ => Err(format!("node-exporter targets: {node:?}\nall: {v}")),
        }
    });

    // 2b. Every panel of the generated host dashboard returns data from this Prometheus:
    //     the metric names and labels the dashboards query are the ones node-exporter and
    //     the generated scrape config really produce (issue 4's proof).
    let model = obsgen::project::generate_from(&p.read("obsgen.toml"), "obsgen.toml", None)
        .expect("the manifest generates")
        .model;
    let queries =
        obsgen::grafana::panel_queries(&model, "host", &obsgen::grafana::Vars::new(ENV, ".*"));
    assert!(
        queries.len() >= 5,
        "only {} host panel queries",
        queries.len()
    );
    for q in &queries {
        let what = format!("host panel {:?} returns data: {}", q.panel, q.expr);
        live.wait_for(&what, |_| {
            let v = get_json(
                ports.prometheus,
                &format!("/api/v1/query?query={}", percent_encode(&q.expr)),
            )?;
            match v["data"]["result"].as_array() {
                Some(r) if !r.is_empty() => Ok(()),
                _ => Err(format!("no data for {:?}: {}\n{v}", q.panel, q.expr)),
            }
        });
    }
    eprintln!("live: {} host panel queries return data", queries.len());

    // 3. The critical alert (and the uncovered warning) reach the webhook through the
    //    generated routes; 4. the covered warning never does.
    let covered_warning_arrived = |live: &Live| -> Option<String> {
        live.hook
            .posts
            .lock()
            .unwrap()
            .iter()
            .find(|p| {
                notified(p)
                    .iter()
                    .any(|(n, s, _)| n == "E2eSignal" && s == "warning")
            })
            .map(|p| p.body.clone())
    };
    let check_route = |live: &Live, name: &str, severity: &str| -> Result<Instant, String> {
        let posts = live.hook.posts.lock().unwrap();
        let Some(post) = posts.iter().find(|p| {
            notified(p)
                .iter()
                .any(|(n, s, st)| n == name && s == severity && st == "firing")
        }) else {
            return Err(format!("no firing {name}/{severity} notification yet"));
        };
        let route = format!("{{}}/{{severity=\"{severity}\"}}:");
        let ok = post.path == "/hook"
            && post.json["receiver"] == "hook"
            && post.json["version"] == "4"
            && post.json["groupKey"]
                .as_str()
                .is_some_and(|k| k.starts_with(&route))
            && post.json["commonLabels"]["service"] == "e2e"
            && post.json["commonLabels"]["environment"] == ENV;
        if !ok {
            // Not a timing question: fail at once.
            drop(posts);
            let body = live.hook.dump();
            live.fail(&format!(
                "{name}/{severity} arrived, but not through receiver `hook` and route {route}…:\n{body}"
            ));
        }
        Ok(post.at)
    };
    let critical_at = live.wait_for("critical E2eSignal delivered to the webhook", |live| {
        if let Some(body) = covered_warning_arrived(live) {
            live.fail(&not_inhibited(&body, ""));
        }
        check_route(live, "E2eSignal", "critical")
    });
    live.wait_for("uncovered warning delivered to the webhook", |live| {
        check_route(live, "E2eUncoveredWarning", "warning")
    });

    // Alertmanager holds the covered warning, suppressed by the critical alert.
    let am_alerts = |live: &Live| -> Result<(Value, Option<Value>, Option<Value>), String> {
        let v = get_json(ports.alertmanager, "/api/v2/alerts")?;
        let find = |severity: &str| {
            v.as_array().and_then(|a| {
                a.iter()
                    .find(|x| {
                        x["labels"]["alertname"] == "E2eSignal"
                            && x["labels"]["severity"] == severity
                    })
                    .cloned()
            })
        };
        if let Some(body) = covered_warning_arrived(live) {
            live.fail(&not_inhibited(&body, &format!("Alertmanager alerts: {v}")));
        }
        let (c, w) = (find("critical"), find("warning"));
        Ok((v, c, w))
    };
    let suppressed = |v: &Value, c: &Option<Value>, w: &Option<Value>| -> Result<(), String> {
        let (Some(c), Some(w)) = (c, w) else {
            return Err(format!(
                "critical and warning E2eSignal not both in Alertmanager: {v}"
            ));
        };
        let by = w["status"]["inhibitedBy"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if w["status"]["state"] == "suppressed" && !by.is_empty() && by.contains(&c["fingerprint"])
        {
            Ok(())
        } else {
            Err(format!(
                "warning E2eSignal is not suppressed by the critical one ({}): {w}\nall: {v}",
                c["fingerprint"]
            ))
        }
    };
    live.wait_for("warning E2eSignal suppressed in Alertmanager", |live| {
        let (v, c, w) = am_alerts(live)?;
        suppressed(&v, &c, &w)
    });
    let quiet_from = Instant::now();
    while quiet_from.elapsed() < QUIET {
        live.stack.alive().unwrap_or_else(|e| live.fail(&e));
        let (v, c, w) = am_alerts(&live).unwrap_or_else(|e| live.fail(&e));
        suppressed(&v, &c, &w)
            .unwrap_or_else(|e| live.fail(&format!("during the quiet period: {e}")));
        std::thread::sleep(POLL);
    }
    if let Some(body) = covered_warning_arrived(&live) {
        live.fail(&not_inhibited(&body, ""));
    }
    live.ensure(live.t0.elapsed() <= DEADLINE, || {
        format!("took longer than the {} s deadline", DEADLINE.as_secs())
    });
    eprintln!(
        "live: critical delivered after {:.1} s; warning held back for {:.1} s after it; done after {:.1} s",
        (critical_at - live.t0).as_secs_f64(),
        critical_at.elapsed().as_secs_f64(),
        live.t0.elapsed().as_secs_f64()
    );
}
