//! Logs (`[logging] backend`): where every container's output goes.
//!
//! - `loki`: Loki (single binary, filesystem storage, retention from
//!   `[logging] retention`, `monitoring/loki/loki.yml`) and Grafana Alloy
//!   (`monitoring/alloy/config.alloy`) reading the Docker logs of this project's
//!   containers through the Docker socket (read-only), labelled `service` (Compose
//!   service), `container` and `environment`. Alloy, not Promtail: Promtail is
//!   end-of-life (Grafana moved its features into Alloy), and Alloy exposes its own
//!   metrics for the "shipper down" alert.
//! - `elasticsearch`: Elasticsearch (single node, security on, `elastic` password from
//!   `.env`), a one-shot setup job (`monitoring/elasticsearch/setup.sh`: the
//!   `kibana_system` password — Kibana 8 refuses the `elastic` superuser —, a writer
//!   user for Filebeat, a read-only user for Grafana, the retention policy), Kibana on
//!   the monitoring address, and Filebeat (`monitoring/filebeat/filebeat.yml`) with
//!   Docker autodiscover. The cluster is `elasticsearch-logs`, a reserved name, so it
//!   never clashes with a `[[database]] kind = "elasticsearch"`.

pub mod dashboards;

use serde::Serialize;

use super::{RANDOM, image, req};
use crate::model::*;

pub mod rules;

pub const LOKI: &str = "loki";
pub const LOKI_PORT: u16 = 3100;
pub const ALLOY: &str = "alloy";
pub const ALLOY_PORT: u16 = 12345;
/// Alloy's storage path, the mount point of the volume `alloy-data`.
pub const ALLOY_DATA: &str = "/var/lib/alloy-data";
pub const ELASTICSEARCH: &str = "elasticsearch-logs";
pub const ELASTICSEARCH_PORT: u16 = 9200;
pub const SETUP: &str = "elasticsearch-logs-setup";
pub const KIBANA: &str = "kibana";
pub const KIBANA_PORT: u16 = 5601;
pub const FILEBEAT: &str = "filebeat";
/// Memory floor of the logs cluster: its 1 GiB heap at most half of it.
pub const ES_MIN_MEMORY_MIB: u64 = 2048;
/// Memory floor of Kibana.
pub const KIBANA_MIN_MEMORY_MIB: u64 = 1024;
/// Container variable holding the environment's name (set by each overlay).
pub const ENVIRONMENT_VAR: &str = "OBSGEN_ENVIRONMENT";
/// Index pattern (data streams) Filebeat writes and Grafana reads.
pub const INDEX_PATTERN: &str = "filebeat-*";
/// Elasticsearch user Filebeat writes as.
pub const WRITER_USER: &str = "obsgen_filebeat";
/// Elasticsearch user Grafana reads as.
pub const READER_USER: &str = "obsgen_grafana";
/// Variable with the `elastic` superuser's password (also the Kibana login).
pub const ELASTIC_PASSWORD_VAR: &str = "LOGS_ELASTIC_PASSWORD";
pub const KIBANA_PASSWORD_VAR: &str = "LOGS_KIBANA_SYSTEM_PASSWORD";
pub const WRITER_PASSWORD_VAR: &str = "LOGS_FILEBEAT_PASSWORD";
/// Grafana's Elasticsearch password (Grafana reads it through `$__env{…}`).
pub const READER_PASSWORD_VAR: &str = "LOGS_GRAFANA_PASSWORD";

/// `monitoring/loki/loki.yml`.
#[derive(Debug, Clone, Serialize)]
pub struct LokiConfig {
    pub port: u16,
    pub retention_hours: u64,
}

/// `monitoring/alloy/config.alloy`.
#[derive(Debug, Clone, Serialize)]
pub struct AlloyConfig {
    pub project: String,
    pub push_url: String,
    pub environment_var: String,
}

/// `monitoring/filebeat/filebeat.yml` and `monitoring/elasticsearch/setup.sh`.
#[derive(Debug, Clone, Serialize)]
pub struct ElasticConfig {
    pub project: String,
    pub url: String,
    pub index_pattern: String,
    pub writer_user: String,
    pub reader_user: String,
    /// `[logging] retention` as an Elasticsearch time value ([`es_time`]).
    pub retention: String,
    pub environment_var: String,
}

/// The logs component (`[logging]`).
pub struct Logs;

impl super::Component for Logs {
    fn name(&self) -> &'static str {
        "logs"
    }

    fn enabled(&self, settled: &Settled) -> bool {
        settled.logging != LogBackend::None
    }

    fn catalogues(&self) -> &'static [&'static str] {
        &["loki", "alloy"]
    }

    fn contribute(&self, settled: &Settled) -> Contribution {
        let mut out = Contribution::default();
        assemble(settled, &mut out);
        rules::contribute(&mut out);
        dashboards::contribute(settled, &mut out);
        out
    }
}

fn assemble(settled: &Settled, out: &mut Contribution) {
    match settled.logging {
        LogBackend::Loki => loki(settled, out),
        LogBackend::Elasticsearch => elasticsearch(settled, out),
        LogBackend::None => {}
    }
}

fn loki(settled: &Settled, out: &mut Contribution) {
    let mut c = ComposeService::new(LOKI, Role::Monitoring);
    c.image = Some(image(settled, "loki"));
    c.command = Some(vec!["-config.file=/etc/loki/loki.yml".into()]);
    c.expose = vec![LOKI_PORT];
    c.volumes = vec![
        "./monitoring/loki/loki.yml:/etc/loki/loki.yml:ro".into(),
        "loki-data:/loki".into(),
    ];
    // The image runs as uid 10001 and owns /loki; everything else can be read-only.
    c.user = Some("10001:10001".into());
    c.hardening.read_only = true;
    c.hardening.tmpfs = vec!["/tmp".into()];
    // No health check: the image has no HTTP client; Alloy retries its pushes.
    // monitoring: Grafana reads it, Alloy pushes to it, Prometheus scrapes it.
    c.networks = vec![attach("monitoring")];
    out.compose.push(c);
    out.volumes.push("loki-data".into());
    out.add_job(
        LOKI,
        "/metrics",
        "Loki (log store)",
        vec![group(LOKI, vec![format!("{LOKI}:{LOKI_PORT}")])],
    );
    let cfg = LokiConfig {
        port: LOKI_PORT,
        retention_hours: settled.addons.log_retention_hours,
    };
    out.add_file("monitoring/loki/loki.yml", "loki/loki.yml.j2", &cfg);

    let mut a = ComposeService::new(ALLOY, Role::Monitoring);
    a.image = Some(image(settled, "alloy"));
    a.command = Some(vec![
        "run".into(),
        "/etc/alloy/config.alloy".into(),
        format!("--server.http.listen-addr=0.0.0.0:{ALLOY_PORT}"),
        format!("--storage.path={ALLOY_DATA}"),
        "--disable-reporting".into(),
    ]);
    a.expose = vec![ALLOY_PORT];
    a.volumes = vec![
        "./monitoring/alloy/config.alloy:/etc/alloy/config.alloy:ro".into(),
        "/var/run/docker.sock:/var/run/docker.sock:ro".into(),
        format!("alloy-data:{ALLOY_DATA}"),
    ];
    // Root (the image's user) to open the Docker socket, which root owns: no
    // capability is needed for that, so all are dropped. Hence the storage path (the
    // positions of loki.source.docker) outside the image's /var/lib/alloy, which
    // belongs to its unused user alloy (uid 473, mode 770): a volume there would be
    // created with that owner, which root cannot write without CAP_DAC_OVERRIDE. A
    // volume on a path the image lacks is created owned by root.
    a.user = Some("0:0".into());
    a.hardening.read_only = true;
    a.hardening.tmpfs = vec!["/tmp".into()];
    a.depends_on = vec![Dependency {
        name: LOKI.into(),
        condition: Condition::ServiceStarted,
    }];
    a.networks = vec![attach("monitoring")];
    out.compose.push(a);
    out.volumes.push("alloy-data".into());
    out.add_job(
        ALLOY,
        "/metrics",
        "Grafana Alloy (log shipper)",
        vec![group(ALLOY, vec![format!("{ALLOY}:{ALLOY_PORT}")])],
    );
    let cfg = AlloyConfig {
        project: settled.project.clone(),
        push_url: format!("http://{LOKI}:{LOKI_PORT}/loki/api/v1/push"),
        environment_var: ENVIRONMENT_VAR.into(),
    };
    out.add_file(
        "monitoring/alloy/config.alloy",
        "alloy/config.alloy.j2",
        &cfg,
    );
}

fn elasticsearch(settled: &Settled, out: &mut Contribution) {
    let es_image = image(settled, "elasticsearch");
    let url = format!("http://{ELASTICSEARCH}:{ELASTICSEARCH_PORT}");
    out.secret_var(
        Section::Component,
        ELASTIC_PASSWORD_VAR,
        "Password of the `elastic` superuser of the logs cluster (also the Kibana login)",
        RANDOM,
    );
    out.secret_var(Section::Component, KIBANA_PASSWORD_VAR,
        "Password of the built-in `kibana_system` user (set by the setup job; Kibana logs in with it)",
        RANDOM,
    );
    out.secret_var(Section::Component, WRITER_PASSWORD_VAR,
        &format!(
            "Password of `{WRITER_USER}`, the user Filebeat writes logs as (created by the setup job)"
        ),
        RANDOM,
    );
    out.secret_var(Section::Component, READER_PASSWORD_VAR,
        &format!(
            "Password of `{READER_USER}`, the read-only user of Grafana's Elasticsearch datasource (created by the setup job)"
        ),
        RANDOM,
    );

    let mut es = ComposeService::new(ELASTICSEARCH, Role::Monitoring);
    es.image = Some(es_image.clone());
    es.environment = [
        ("discovery.type", "single-node".to_string()),
        ("xpack.security.enabled", "true".into()),
        // Plain HTTP inside the internal monitoring network; no auto-generated TLS.
        ("xpack.security.http.ssl.enabled", "false".into()),
        ("xpack.security.transport.ssl.enabled", "false".into()),
        ("xpack.ml.enabled", "false".into()),
        ("ELASTIC_PASSWORD", req(ELASTIC_PASSWORD_VAR)),
        ("ES_JAVA_OPTS", "-Xms1g -Xmx1g".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    es.expose = vec![ELASTICSEARCH_PORT];
    es.volumes = vec!["elasticsearch-logs-data:/usr/share/elasticsearch/data".into()];
    es.healthcheck = Some(Healthcheck {
        exec: Vec::new(),
        shell: format!(
            "curl -fsS -u \"elastic:$$ELASTIC_PASSWORD\" 'http://localhost:{ELASTICSEARCH_PORT}/_cluster/health?wait_for_status=yellow&timeout=5s' >/dev/null"
        ),
        interval: "10s".into(),
        timeout: "10s".into(),
        retries: 30,
        start_period: "60s".into(),
    });
    // A 1 GiB heap (ES_JAVA_OPTS) plus off-heap memory does not fit the monitoring
    // role's 512M limit (the kernel kills the JVM): Elastic sizes the heap at no more
    // than half of the memory, so the container gets at least 2 GiB.
    es.min_memory_mib = Some(ES_MIN_MEMORY_MIB);
    // The image runs as uid 1000 and writes its keystore under config/ at start.
    es.user = Some("1000:0".into());
    es.networks = vec![attach("monitoring")];
    out.compose.push(es);
    out.volumes.push("elasticsearch-logs-data".into());

    let mut setup = ComposeService::new(SETUP, Role::Monitoring);
    setup.image = Some(es_image);
    setup.command = Some(vec!["bash".into(), "/usr/local/bin/obsgen-setup.sh".into()]);
    setup.environment = [
        ("ELASTIC_PASSWORD", ELASTIC_PASSWORD_VAR),
        ("KIBANA_SYSTEM_PASSWORD", KIBANA_PASSWORD_VAR),
        ("WRITER_PASSWORD", WRITER_PASSWORD_VAR),
        ("READER_PASSWORD", READER_PASSWORD_VAR),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), req(v)))
    .collect();
    setup.volumes =
        vec!["./monitoring/elasticsearch/setup.sh:/usr/local/bin/obsgen-setup.sh:ro".into()];
    setup.user = Some("1000:0".into());
    setup.hardening.read_only = true;
    setup.hardening.tmpfs = vec!["/tmp".into()];
    setup.depends_on = vec![Dependency {
        name: ELASTICSEARCH.into(),
        condition: Condition::ServiceHealthy,
    }];
    setup.one_shot = true;
    setup.networks = vec![attach("monitoring")];
    out.compose.push(setup);

    let done = Dependency {
        name: SETUP.into(),
        condition: Condition::ServiceCompletedSuccessfully,
    };
    let mut k = ComposeService::new(KIBANA, Role::Monitoring);
    k.image = Some(image(settled, "kibana"));
    k.environment = [
        ("ELASTICSEARCH_HOSTS", url.clone()),
        ("ELASTICSEARCH_USERNAME", "kibana_system".into()),
        ("ELASTICSEARCH_PASSWORD", req(KIBANA_PASSWORD_VAR)),
        ("TELEMETRY_OPTIN", "false".into()),
        ("TELEMETRY_ALLOWCHANGINGOPTINSTATUS", "false".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    k.expose = vec![KIBANA_PORT];
    k.healthcheck = Some(Healthcheck {
        exec: Vec::new(),
        shell: format!(
            "curl -s -o /dev/null -w '%{{http_code}}' http://localhost:{KIBANA_PORT}/login | grep -q 200"
        ),
        interval: "15s".into(),
        timeout: "10s".into(),
        retries: 30,
        start_period: "90s".into(),
    });
    k.user = Some("1000:0".into());
    // Kibana sizes its Node.js heap from the memory it sees; Elastic's own default for
    // a Kibana container (ECK) is 1 GiB.
    k.min_memory_mib = Some(KIBANA_MIN_MEMORY_MIB);
    k.depends_on = vec![done.clone()];
    // edge: its UI is published on the monitoring address.
    k.networks = vec![attach("monitoring"), attach("edge")];
    out.compose.push(k);
    // Kibana exposes no Prometheus metrics: the blackbox exporter probes its login
    // page (alert `KibanaDown`).
    if settled.components.blackbox {
        out.probes.push(super::blackbox::probe(
            KIBANA,
            vec![format!("http://{KIBANA}:{KIBANA_PORT}/login")],
        ));
    }

    let mut f = ComposeService::new(FILEBEAT, Role::Monitoring);
    f.image = Some(image(settled, "filebeat"));
    // The configuration is mounted from the host, owned by whoever generated it.
    f.command = Some(vec![
        "filebeat".into(),
        "-e".into(),
        "--strict.perms=false".into(),
    ]);
    f.environment = [("WRITER_PASSWORD".to_string(), req(WRITER_PASSWORD_VAR))].into();
    f.volumes = vec![
        "./monitoring/filebeat/filebeat.yml:/usr/share/filebeat/filebeat.yml:ro".into(),
        "/var/lib/docker/containers:/var/lib/docker/containers:ro".into(),
        "/var/run/docker.sock:/var/run/docker.sock:ro".into(),
        "filebeat-data:/usr/share/filebeat/data".into(),
    ];
    // Root to read the container log files and the Docker socket, both owned by root.
    f.user = Some("0:0".into());
    f.hardening.read_only = true;
    f.hardening.tmpfs = vec!["/tmp".into(), "/usr/share/filebeat/logs".into()];
    f.depends_on = vec![done];
    f.networks = vec![attach("monitoring")];
    out.compose.push(f);
    out.volumes.push("filebeat-data".into());

    let cfg = ElasticConfig {
        project: settled.project.clone(),
        url,
        index_pattern: INDEX_PATTERN.into(),
        writer_user: WRITER_USER.into(),
        reader_user: READER_USER.into(),
        retention: es_time(
            crate::units::parse_duration(&settled.addons.log_retention).expect("validated"),
        ),
        environment_var: ENVIRONMENT_VAR.into(),
    };
    out.add_file(
        "monitoring/filebeat/filebeat.yml",
        "filebeat/filebeat.yml.j2",
        &cfg,
    );
    out.add_file(
        "monitoring/elasticsearch/setup.sh",
        "elasticsearch/setup.sh.j2",
        &cfg,
    );
}

/// A duration in milliseconds as an Elasticsearch time value (the lifecycle policy's
/// `min_age`): one number and one of the units `d`, `h`, `m`, `s`, `ms`, the largest
/// that divides it. Elasticsearch knows no `w` or `y` and no compound `1d12h`, which
/// `[logging] retention` accepts (Prometheus durations): `2w` is `14d`.
pub fn es_time(ms: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("d", 24 * 3_600_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
    ];
    UNITS
        .iter()
        .find(|(_, size)| ms.is_multiple_of(*size))
        .map_or_else(
            || format!("{ms}ms"),
            |(unit, size)| format!("{}{unit}", ms / size),
        )
}

/// Checks the syntax of an Alloy configuration as far as it matters for a generated
/// file: strings closed, brackets balanced, and returns its top-level blocks as
/// `(component, label)` (`("loki.write", "loki")`).
pub fn check_alloy(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut blocks = Vec::new();
    let mut stack: Vec<char> = Vec::new();
    let mut line = 1;
    let mut chars = text.chars().peekable();
    // Tokens of the current top-level statement, for block headers.
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    while let Some(c) = chars.next() {
        if c == '\n' {
            line += 1;
        }
        if c == '/' && chars.peek() == Some(&'/') {
            for n in chars.by_ref() {
                if n == '\n' {
                    line += 1;
                    break;
                }
            }
            continue;
        }
        if c == '"' {
            let mut s = String::new();
            let mut closed = false;
            while let Some(n) = chars.next() {
                match n {
                    '\\' => {
                        chars.next();
                    }
                    '"' => {
                        closed = true;
                        break;
                    }
                    '\n' => return Err(format!("line {line}: string not closed")),
                    n => s.push(n),
                }
            }
            if !closed {
                return Err(format!("line {line}: string not closed"));
            }
            if stack.is_empty() {
                words.push(format!("\"{s}\""));
            }
            continue;
        }
        if stack.is_empty() && (c.is_alphanumeric() || c == '.' || c == '_') {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        match c {
            '{' | '[' | '(' => {
                if c == '{' && stack.is_empty() {
                    match words.as_slice() {
                        [kind, label] if label.starts_with('"') => {
                            blocks.push((kind.clone(), label.trim_matches('"').to_string()))
                        }
                        _ => {
                            return Err(format!(
                                "line {line}: a top-level block needs `component \"label\" {{`, found `{}`",
                                words.join(" ")
                            ));
                        }
                    }
                }
                stack.push(c);
            }
            '}' | ']' | ')' => {
                let open = stack.pop();
                let want = match c {
                    '}' => '{',
                    ']' => '[',
                    _ => '(',
                };
                if open != Some(want) {
                    return Err(format!("line {line}: unbalanced `{c}`"));
                }
                if stack.is_empty() {
                    words.clear();
                }
            }
            c if c.is_whitespace() => {}
            c if stack.is_empty() => {
                return Err(format!("line {line}: unexpected `{c}` outside a block"));
            }
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(format!("{} bracket(s) not closed", stack.len()));
    }
    Ok(blocks)
}
