//! Grafana: provisioning (datasources, dashboard provider) and generated dashboards.
//!
//! Everything is decided here, in Rust: every datasource uid, dashboard uid, title,
//! panel, query and threshold. Dashboards are built as JSON values (schemaVersion 39,
//! `gridPos` on every panel, datasources by uid through the `$datasource` variable)
//! and laid out by a thin template that prints them. The metric names are the ones the
//! generated scrape jobs, exporters and recording rules ([`crate::rules`]) produce.
//!
//! [`verify`] checks the rendered files against each other: every datasource uid a
//! panel names is provisioned, dashboard uids are unique, titles unique per folder,
//! every panel query (variables substituted, see [`substitute`]) parses as PromQL.
//! [`panel_queries`] lists the queries of one kind of dashboard for a live test.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, bail};
use serde::Serialize;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use crate::model::Model;
use crate::plan::Artifact;
use crate::render::File;

/// Stable uid of the Prometheus datasource.
pub const PROMETHEUS_UID: &str = "prometheus";
/// Stable uid of the Alertmanager datasource.
pub const ALERTMANAGER_UID: &str = "alertmanager";
/// Stable uids of the datasources of the optional components.
pub const LOKI_UID: &str = "loki";
pub const ELASTICSEARCH_UID: &str = "elasticsearch-logs";
pub const TEMPO_UID: &str = "tempo";
pub const JAEGER_UID: &str = "jaeger";
/// Dashboard schema version written into every dashboard.
pub const SCHEMA_VERSION: u32 = 39;
/// Where the dashboards folder is mounted inside the Grafana container.
pub const DASHBOARDS_DIR: &str = "/etc/grafana/dashboards";
/// Output folder of the dashboards.
pub const DASHBOARDS_OUT: &str = "monitoring/grafana/dashboards";
pub const DATASOURCES_FILE: &str = "monitoring/grafana/provisioning/datasources/datasources.yml";
pub const PROVIDERS_FILE: &str = "monitoring/grafana/provisioning/dashboards/dashboards.yml";
/// Longest dashboard uid Grafana accepts.
pub const MAX_UID: usize = 40;

/// Grafana's provisioning and dashboards, fully decided.
#[derive(Debug, Clone, Serialize)]
pub struct Grafana {
    pub datasources: Vec<Datasource>,
    pub dashboards: Vec<Dashboard>,
    /// Container path of the dashboards (the provider's `path`).
    pub dashboards_dir: String,
}

/// One provisioned datasource.
#[derive(Debug, Clone, Serialize)]
pub struct Datasource {
    pub name: String,
    pub uid: String,
    /// Grafana plugin type (`prometheus`, `alertmanager`).
    #[serde(rename = "type")]
    pub kind: String,
    pub url: String,
    pub default: bool,
    pub basic_auth_user: Option<String>,
    /// A Grafana provisioning reference (`$__file{/run/secrets/…}`), never a value.
    pub basic_auth_password: Option<String>,
    pub json_data: BTreeMap<String, Json>,
}

/// One generated dashboard.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub uid: String,
    pub title: String,
    /// Folder (directory under `monitoring/grafana/dashboards/`, and Grafana folder).
    pub folder: String,
    /// What it shows: overview, service, host, containers, database, slo, monitoring.
    pub kind: String,
    /// Output path.
    pub path: String,
    /// The dashboard JSON, pretty-printed, with a final newline.
    pub json: String,
    #[serde(skip)]
    pub value: Json,
}

impl Dashboard {
    /// Every panel that is not a row.
    pub fn panels(&self) -> Vec<&Json> {
        self.value["panels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["type"] != "row")
            .collect()
    }
}

/// A stable dashboard uid from its parts: a slug of `[a-z0-9-]`; when longer than
/// [`MAX_UID`], cut and suffixed with a hash of the whole so it stays unique.
pub fn uid(parts: &[&str]) -> String {
    let full: String = parts
        .join("-")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    if full.len() <= MAX_UID {
        return full;
    }
    let hash = format!("{:x}", Sha256::digest(full.as_bytes()));
    format!(
        "{}-{}",
        full[..MAX_UID - 9].trim_end_matches('-'),
        &hash[..8]
    )
}

// ---- panels

fn ds() -> Json {
    json!({ "type": "prometheus", "uid": "${datasource}" })
}

fn target(i: usize, expr: &str, legend: &str) -> Json {
    // The panel's datasource applies to its targets; Grafana's defaults are left out.
    json!({
        "refId": ((b'A' + i as u8) as char).to_string(),
        "expr": expr,
        "legendFormat": legend,
    })
}

fn targets<S: AsRef<str>>(queries: &[(S, &str)]) -> Json {
    Json::Array(
        queries
            .iter()
            .enumerate()
            .map(|(i, (e, l))| target(i, e.as_ref(), l))
            .collect(),
    )
}

/// Threshold steps: green below, then each `(value, color)`.
fn steps(lines: &[(f64, &str)]) -> Json {
    let mut s = vec![json!({ "color": "green", "value": null })];
    s.extend(lines.iter().map(|(v, c)| json!({ "color": c, "value": v })));
    json!({ "mode": "absolute", "steps": s })
}

/// A time series; `lines` are drawn as threshold lines (the alert thresholds).
/// Only what differs from Grafana's defaults is written.
fn timeseries<S: AsRef<str>>(
    title: &str,
    unit: &str,
    queries: &[(S, &str)],
    lines: &[(f64, &str)],
) -> Json {
    let mut defaults = json!({ "unit": unit });
    if !lines.is_empty() {
        defaults["thresholds"] = steps(lines);
        defaults["custom"] = json!({ "thresholdsStyle": { "mode": "line" } });
    }
    json!({
        "type": "timeseries",
        "title": title,
        "datasource": ds(),
        "targets": targets(queries),
        "fieldConfig": { "defaults": defaults, "overrides": [] },
        "options": { "tooltip": { "mode": "multi", "sort": "desc" } },
    })
}

/// A single value; `lines` colour it.
fn stat(title: &str, unit: &str, queries: &[(&str, &str)], lines: &[(f64, &str)]) -> Json {
    json!({
        "type": "stat",
        "title": title,
        "datasource": ds(),
        "targets": targets(queries),
        "fieldConfig": {
            "defaults": {
                "unit": unit,
                "color": { "mode": "thresholds" },
                "thresholds": steps(lines),
            },
            "overrides": [],
        },
        "options": { "colorMode": "background", "graphMode": "none", "textMode": "value_and_name" },
    })
}

/// A stat of 0/1 series shown as DOWN/UP.
fn up_stat(title: &str, queries: &[(&str, &str)]) -> Json {
    let mut p = stat(title, "none", queries, &[]);
    p["fieldConfig"]["defaults"]["thresholds"] = json!({
        "mode": "absolute",
        "steps": [{ "color": "red", "value": null }, { "color": "green", "value": 1 }],
    });
    p["fieldConfig"]["defaults"]["mappings"] = json!([{
        "type": "value",
        "options": {
            "0": { "text": "DOWN", "color": "red", "index": 0 },
            "1": { "text": "UP", "color": "green", "index": 1 },
        },
    }]);
    p["fieldConfig"]["defaults"]["noValue"] = json!("no target");
    p
}

/// A dashboard being laid out: panels left to right on the 24-column grid.
struct Board {
    uid: String,
    title: String,
    folder: String,
    kind: String,
    description: String,
    tags: Vec<String>,
    vars: Vec<Json>,
    links: Vec<Json>,
    panels: Vec<Json>,
    x: u32,
    y: u32,
    row_h: u32,
}

impl Board {
    fn new(model: &Model, kind: &str, folder: &str, uid: String, title: String) -> Board {
        Board {
            uid,
            title,
            folder: folder.into(),
            kind: kind.into(),
            description: String::new(),
            tags: vec!["obsgen".into(), model.project.clone(), kind.into()],
            vars: vec![datasource_var(), environment_var(model)],
            links: vec![json!({
                "type": "dashboards",
                "title": format!("{} dashboards", model.project),
                "tags": ["obsgen", model.project],
                "asDropdown": true,
                "icon": "external link",
                "includeVars": false,
                "keepTime": true,
                "targetBlank": false,
                "tooltip": "",
            })],
            panels: Vec::new(),
            x: 0,
            y: 0,
            row_h: 0,
        }
    }

    /// Places a panel `w` columns wide and `h` high.
    fn add(&mut self, w: u32, h: u32, mut panel: Json) {
        if self.x + w > 24 {
            self.newline();
        }
        panel["id"] = json!(self.panels.len() + 1);
        panel["gridPos"] = json!({ "x": self.x, "y": self.y, "w": w, "h": h });
        self.panels.push(panel);
        self.x += w;
        self.row_h = self.row_h.max(h);
    }

    fn newline(&mut self) {
        if self.x > 0 {
            self.y += self.row_h;
        }
        self.x = 0;
        self.row_h = 0;
    }

    /// A full-width row header.
    fn row(&mut self, title: &str) {
        self.newline();
        let id = self.panels.len() + 1;
        self.panels.push(json!({
            "type": "row",
            "title": title,
            "id": id,
            "collapsed": false,
            "panels": [],
            "gridPos": { "x": 0, "y": self.y, "w": 24, "h": 1 },
        }));
        self.y += 1;
    }

    fn finish(self) -> Dashboard {
        let value = json!({
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": self.tags,
            "editable": false,
            "graphTooltip": 1,
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "timezone": "browser",
            "refresh": "30s",
            "time": { "from": "now-1h", "to": "now" },
            "templating": { "list": self.vars },
            "links": self.links,
            "panels": self.panels,
        });
        let mut text = String::new();
        layout(&value, 3, 0, &mut text);
        text.push('\n');
        Dashboard {
            path: format!("{DASHBOARDS_OUT}/{}/{}.json", self.folder, self.uid),
            uid: self.uid,
            title: self.title,
            folder: self.folder,
            kind: self.kind,
            json: text,
            value,
        }
    }
}

/// Writes `v` expanded (one member per line) down to `depth` levels, compact below:
/// with depth 3 every panel key and every variable sits on its own line, so a diff
/// shows what changed, while a dashboard stays a fraction of its fully pretty size.
fn layout(v: &Json, depth: usize, indent: usize, out: &mut String) {
    let pad = |n: usize, out: &mut String| out.extend(std::iter::repeat_n(' ', n));
    match v {
        Json::Object(m) if depth > 0 && !m.is_empty() => {
            out.push_str("{\n");
            for (i, (k, val)) in m.iter().enumerate() {
                pad(indent + 2, out);
                out.push_str(&Json::from(k.as_str()).to_string());
                out.push_str(": ");
                layout(val, depth - 1, indent + 2, out);
                out.push_str(if i + 1 < m.len() { ",\n" } else { "\n" });
            }
            pad(indent, out);
            out.push('}');
        }
        Json::Array(a) if depth > 0 && !a.is_empty() => {
            out.push_str("[\n");
            for (i, val) in a.iter().enumerate() {
                pad(indent + 2, out);
                layout(val, depth - 1, indent + 2, out);
                out.push_str(if i + 1 < a.len() { ",\n" } else { "\n" });
            }
            pad(indent, out);
            out.push(']');
        }
        _ => out.push_str(&v.to_string()),
    }
}

fn datasource_var() -> Json {
    json!({
        "name": "datasource",
        "label": "Data source",
        "type": "datasource",
        "query": "prometheus",
        "current": { "text": "Prometheus", "value": PROMETHEUS_UID },
        "hide": 0,
        "includeAll": false,
        "multi": false,
        "options": [],
        "refresh": 1,
        "regex": "",
    })
}

fn environment_var(model: &Model) -> Json {
    let first = model
        .environments
        .first()
        .map(|e| e.name.clone())
        .unwrap_or_default();
    json!({
        "name": "environment",
        "label": "Environment",
        "type": "query",
        "datasource": ds(),
        "query": "label_values(up{job=\"prometheus\"}, environment)",
        "current": { "text": first, "value": first },
        "hide": 0,
        "includeAll": false,
        "multi": false,
        "options": [],
        "refresh": 2,
        "regex": "",
        "sort": 1,
    })
}

/// `$instance`: every instance of `selector`'s series, all by default.
fn instance_var(selector: &str, label: &str) -> Json {
    json!({
        "name": "instance",
        "label": "Instance",
        "type": "query",
        "datasource": ds(),
        "query": format!("label_values({selector}, {label})"),
        "current": { "text": "All", "value": "$__all" },
        "hide": 0,
        "includeAll": true,
        "allValue": ".*",
        "multi": true,
        "options": [],
        "refresh": 2,
        "regex": "",
        "sort": 1,
    })
}

/// `job=~"a|b"`.
fn jobs_matcher(label: &str, names: &[&str]) -> String {
    format!("{label}=~\"{}\"", names.join("|"))
}

/// Regex of the Compose containers of these Compose services: with
/// `COMPOSE_PROJECT_NAME=<project>` they are `<project>-<service>-<n>` under Compose v2 and
/// `<project>_<service>_<n>` under docker-compose v1 (cAdvisor's `name`).
fn containers_regex(project: &str, compose_services: &[String]) -> String {
    format!("{project}[-_]({})[-_][0-9]+", compose_services.join("|"))
}

// ---- dashboards

const ENV: &str = "environment=\"$environment\"";

fn overview(model: &Model, services: &[(String, String)]) -> Dashboard {
    let mut b = Board::new(
        model,
        "overview",
        "overview",
        uid(&[&model.project, "overview"]),
        format!("{}: stack overview", model.project),
    );
    b.description = "Every service at a glance: up/down, traffic, errors, latency, alerts.".into();
    for (title, uid) in services {
        b.links.push(json!({
            "type": "link",
            "title": title,
            "url": format!("/d/{uid}"),
            "tags": [],
            "asDropdown": false,
            "icon": "dashboard",
            "includeVars": true,
            "keepTime": true,
            "targetBlank": false,
            "tooltip": format!("RED, saturation and restarts: {title}"),
        }));
    }
    let up = format!("min by (job) (up{{{ENV}}})");
    b.add(
        24,
        5,
        up_stat("Scrape targets up (per job)", &[(&up, "{{job}}")]),
    );
    let firing = "count(ALERTS{alertstate=\"firing\"}) or vector(0)";
    let mut fs = stat(
        "Firing alerts",
        "none",
        &[(firing, "firing")],
        &[(1.0, "red")],
    );
    fs["options"]["textMode"] = json!("value");
    b.add(6, 6, fs);
    b.add(
        18,
        6,
        timeseries(
            "Firing alerts by name",
            "none",
            &[(
                "count by (alertname, severity) (ALERTS{alertstate=\"firing\"})",
                "{{alertname}} ({{severity}})",
            )],
            &[],
        ),
    );
    let metered: Vec<&str> = model
        .services
        .iter()
        .filter(|s| s.metrics.is_some())
        .map(|s| s.name.as_str())
        .collect();
    if !metered.is_empty() {
        // Only scraped services have these recording rules: no service matcher needed.
        let sel = ENV;
        b.row("Services (RED)");
        b.add(
            8,
            8,
            timeseries(
                "Request rate",
                "reqps",
                &[(
                    &format!("service:http_requests:rate5m{{{sel}}}"),
                    "{{service}}",
                )],
                &[],
            ),
        );
        b.add(
            8,
            8,
            timeseries(
                "Error ratio (5xx)",
                "percentunit",
                &[(
                    &format!("service:http_error_ratio:rate5m{{{sel}}}"),
                    "{{service}}",
                )],
                &[(model.alerts.error_rate, "red")],
            ),
        );
        b.add(
            8,
            8,
            timeseries(
                "Latency p95",
                "s",
                &[(
                    &format!("service:http_request_duration_seconds:p95_5m{{{sel}}}"),
                    "{{service}}",
                )],
                &[(model.alerts.latency_p95_seconds, "red")],
            ),
        );
    }
    b.finish()
}

/// What a service dashboard shows: one service, or any (`$service`) in a large project.
struct Subject {
    uid: String,
    title: String,
    /// Value of the `service`/`job` labels: a name, or `$service`.
    name: String,
    /// Regex of its containers' names (cAdvisor `name`).
    containers: String,
    /// Its Compose services (replicas), as a regex (`backend-1|backend-2`).
    compose: String,
    /// Request counter and status label, for the per-instance panels.
    raw: Option<(String, String)>,
    red: bool,
    health: bool,
}

fn service(model: &Model, s: &crate::model::Service) -> Dashboard {
    service_board(
        model,
        Subject {
            uid: uid(&[&model.project, "svc", &s.name]),
            title: format!("{}: service {}", model.project, s.name),
            name: s.name.clone(),
            containers: containers_regex(&model.project, &s.replicas),
            compose: s.replicas.join("|"),
            raw: s
                .metrics
                .as_ref()
                .map(|m| (m.requests.clone(), m.status_label.clone())),
            red: s.metrics.is_some(),
            health: s.health.is_some(),
        },
        None,
    )
}

/// Above this many, services share one dashboard with a `$service` variable.
pub const MAX_SERVICE_DASHBOARDS: usize = 50;

/// One dashboard for every service of a large project, chosen by `$service`.
fn services_templated(model: &Model) -> Dashboard {
    let metered: Vec<&crate::model::Metrics> = model
        .services
        .iter()
        .filter_map(|s| s.metrics.as_ref())
        .collect();
    // Raw per-instance panels only when every service shares one metric convention.
    let raw = metered.first().and_then(|m| {
        metered
            .iter()
            .all(|x| x.requests == m.requests && x.status_label == m.status_label)
            .then(|| (m.requests.clone(), m.status_label.clone()))
    });
    let var = json!({
        "name": "service",
        "label": "Service",
        "type": "query",
        "datasource": ds(),
        "query": "label_values(service:http_requests:rate5m{environment=\"$environment\"}, service)",
        "hide": 0,
        "includeAll": false,
        "multi": false,
        "options": [],
        "refresh": 2,
        "regex": "",
        "sort": 1,
    });
    service_board(
        model,
        Subject {
            uid: uid(&[&model.project, "services"]),
            title: format!("{}: service", model.project),
            name: "$service".into(),
            containers: format!("{}[-_]$service(-[0-9]+)?[-_][0-9]+", model.project),
            compose: "$service(-[0-9]+)?".into(),
            raw,
            red: !metered.is_empty(),
            health: model.services.iter().any(|s| s.health.is_some()),
        },
        Some(var),
    )
}

fn service_board(model: &Model, s: Subject, var: Option<Json>) -> Dashboard {
    let mut b = Board::new(model, "service", "services", s.uid, s.title);
    b.description = format!(
        "Service {}: rate, errors, duration (from the recording rules), saturation and restarts of its containers.",
        s.name
    );
    b.vars.extend(var);
    let svc = format!("service=\"{}\",{ENV}", s.name);
    if s.red {
        let job = format!("job=\"{}\",{ENV}", s.name);
        b.vars
            .push(instance_var(&format!("up{{{job}}}"), "instance"));
        let inst = format!("{job},instance=~\"$instance\"");
        b.row("Requests (RED)");
        let up = format!("sum(up{{{inst}}})");
        b.add(4, 8, stat("Targets up", "none", &[(&up, "up")], &[]));
        b.add(
            10,
            8,
            timeseries(
                "Request rate",
                "reqps",
                &with_raw(
                    format!("service:http_requests:rate5m{{{svc}}}"),
                    "all instances",
                    s.raw.as_ref().map(|(req, _)| {
                        format!("sum by (instance) (rate({req}{{{inst}}}[$__rate_interval]))")
                    }),
                ),
                &[],
            ),
        );
        b.add(
            10,
            8,
            timeseries(
                "Error ratio (5xx)",
                "percentunit",
                &with_raw(
                    format!("service:http_error_ratio:rate5m{{{svc}}}"),
                    "5xx ratio",
                    s.raw.as_ref().map(|(req, st)| {
                        format!(
                            "sum by (instance) (rate({req}{{{inst},{st}=~\"5..\"}}[$__rate_interval])) / sum by (instance) (rate({req}{{{inst}}}[$__rate_interval]))"
                        )
                    }),
                ),
                &[(model.alerts.error_rate, "red")],
            ),
        );
        let q: Vec<String> = ["p50", "p95", "p99"]
            .iter()
            .map(|p| format!("service:http_request_duration_seconds:{p}_5m{{{svc}}}"))
            .collect();
        b.add(
            24,
            8,
            timeseries(
                "Latency",
                "s",
                &[(&q[0], "p50"), (&q[1], "p95"), (&q[2], "p99")],
                &[(model.alerts.latency_p95_seconds, "red")],
            ),
        );
    }
    if model.components.blackbox && s.health {
        b.row("Health");
        b.add(
            24,
            5,
            up_stat(
                "Health probe",
                &[(
                    &format!("probe_success{{job=\"probe\",{svc}}}"),
                    "{{instance}}",
                )],
            ),
        );
    }
    if model.components.cadvisor {
        let sel = format!("job=\"cadvisor\",{ENV},name=~\"{}\"", s.containers);
        b.row("Saturation (containers)");
        b.add(
            8,
            8,
            timeseries(
                "CPU (cores)",
                "short",
                &[(
                    &format!(
                        "sum by (name) (rate(container_cpu_usage_seconds_total{{{sel}}}[$__rate_interval]))"
                    ),
                    "{{name}}",
                )],
                &[],
            ),
        );
        b.add(
            8,
            8,
            timeseries(
                "Memory (working set)",
                "bytes",
                &[(
                    &format!("sum by (name) (container_memory_working_set_bytes{{{sel}}})"),
                    "{{name}}",
                )],
                &[],
            ),
        );
        b.add(
            8,
            8,
            timeseries(
                "Restarts (1h)",
                "none",
                &[(
                    &format!("changes(container_start_time_seconds{{{sel}}}[1h])"),
                    "{{name}}",
                )],
                &[],
            ),
        );
    }
    if let Some((var, panel)) = logs_panel(model, &s.compose) {
        b.vars.push(var);
        b.row("Logs");
        b.add(24, 12, panel);
    }
    b.finish()
}

/// The logs of a service's containers (`compose`: a regex of its Compose services),
/// from Loki (LogQL) or Elasticsearch (Lucene), when logging is on.
fn logs_panel(model: &Model, compose: &str) -> Option<(Json, Json)> {
    let (kind, name, uid) = match model.logging.as_str() {
        "loki" => ("loki", "Loki", LOKI_UID),
        "elasticsearch" => ("elasticsearch", "Elasticsearch (logs)", ELASTICSEARCH_UID),
        _ => return None,
    };
    // Like `$datasource`: the panel names the logs datasource through a variable.
    let var = json!({
        "name": "logs",
        "label": "Logs data source",
        "type": "datasource",
        "query": kind,
        "current": { "text": name, "value": uid },
        "hide": 0,
        "includeAll": false,
        "multi": false,
        "options": [],
        "refresh": 1,
        "regex": "",
    });
    let (ds, target) = match kind {
        "loki" => {
            let ds = json!({ "type": "loki", "uid": "${logs}" });
            let expr = format!("{{service=~\"{compose}\",{ENV}}}");
            (
                ds.clone(),
                json!({ "refId": "A", "datasource": ds, "expr": expr }),
            )
        }
        _ => {
            let ds = json!({ "type": "elasticsearch", "uid": "${logs}" });
            let query = format!("service.name:/{compose}/ AND environment:\"$environment\"");
            (
                ds.clone(),
                json!({
                    "refId": "A",
                    "datasource": ds,
                    "query": query,
                    "metrics": [{ "id": "1", "type": "logs" }],
                    "bucketAggs": [],
                    "timeField": "@timestamp",
                }),
            )
        }
    };
    let panel = json!({
        "type": "logs",
        "title": "Logs",
        "datasource": ds,
        "targets": [target],
        "options": {
            "showTime": true,
            "wrapLogMessage": true,
            "sortOrder": "Descending",
            "enableLogDetails": true,
            "dedupStrategy": "none",
            "prettifyLogMessage": false,
            "showCommonLabels": false,
            "showLabels": false,
        },
    });
    Some((var, panel))
}

/// The datasources of the optional components (logs, traces) with their links:
/// trace ids in log lines open the trace, a trace opens its logs.
fn component_datasources(model: &Model) -> Vec<Datasource> {
    let mut out = Vec::new();
    let trace_uid = match model.tracing.as_str() {
        "tempo" => Some(TEMPO_UID),
        "jaeger" => Some(JAEGER_UID),
        _ => None,
    };
    let ds = |name: &str, uid: &str, kind: &str, url: String| Datasource {
        name: name.into(),
        uid: uid.into(),
        kind: kind.into(),
        url,
        default: false,
        basic_auth_user: None,
        basic_auth_password: None,
        json_data: BTreeMap::new(),
    };
    use crate::components::{logs, traces};
    match model.logging.as_str() {
        "loki" => {
            let mut d = ds(
                "Loki",
                LOKI_UID,
                "loki",
                format!("http://{}:{}", logs::LOKI, logs::LOKI_PORT),
            );
            d.json_data.insert("maxLines".into(), json!(1000));
            if let Some(uid) = trace_uid {
                // `$$` is a literal `$` in provisioning files (Grafana expands `$VAR`).
                d.json_data.insert(
                    "derivedFields".into(),
                    json!([{
                        "name": "TraceID",
                        "matcherRegex": "(?:trace_id|traceID|traceId)[\"=: ]+([0-9a-fA-F]{16,32})",
                        "datasourceUid": uid,
                        "url": "$${__value.raw}",
                        "urlDisplayLabel": "Open trace",
                    }]),
                );
            }
            out.push(d);
        }
        "elasticsearch" => {
            let mut d = ds(
                "Elasticsearch (logs)",
                ELASTICSEARCH_UID,
                "elasticsearch",
                format!(
                    "http://{}:{}",
                    logs::ELASTICSEARCH,
                    logs::ELASTICSEARCH_PORT
                ),
            );
            d.basic_auth_user = Some(logs::READER_USER.into());
            d.basic_auth_password = Some(format!("$__env{{{}}}", logs::READER_PASSWORD_VAR));
            d.json_data = BTreeMap::from([
                ("index".to_string(), json!(logs::INDEX_PATTERN)),
                ("timeField".to_string(), json!("@timestamp")),
                ("logMessageField".to_string(), json!("message")),
                ("logLevelField".to_string(), json!("log.level")),
                ("maxConcurrentShardRequests".to_string(), json!(5)),
            ]);
            if let Some(uid) = trace_uid {
                // Filebeat copies a JSON log line's trace id to `trace.id`.
                d.json_data.insert(
                    "dataLinks".into(),
                    json!([{
                        "field": "trace.id",
                        "datasourceUid": uid,
                        "url": "$${__value.raw}",
                        "urlDisplayLabel": "Open trace",
                    }]),
                );
            }
            out.push(d);
        }
        _ => {}
    }
    let logs_uid = match model.logging.as_str() {
        "loki" => Some(LOKI_UID),
        "elasticsearch" => Some(ELASTICSEARCH_UID),
        _ => None,
    };
    let traces_to_logs = |logs_uid: &str| {
        let query = if logs_uid == LOKI_UID {
            "{environment=~\".+\"} |= \"$${__trace.traceId}\""
        } else {
            "trace.id:\"$${__trace.traceId}\""
        };
        json!({
            "datasourceUid": logs_uid,
            "spanStartTimeShift": "-5m",
            "spanEndTimeShift": "5m",
            "filterByTraceID": false,
            "filterBySpanID": false,
            "customQuery": true,
            "query": query,
        })
    };
    let traces = match model.tracing.as_str() {
        "tempo" => Some((
            "Tempo",
            TEMPO_UID,
            "tempo",
            traces::TEMPO,
            traces::TEMPO_PORT,
        )),
        "jaeger" => Some((
            "Jaeger",
            JAEGER_UID,
            "jaeger",
            traces::JAEGER,
            traces::JAEGER_UI_PORT,
        )),
        _ => None,
    };
    if let Some((name, uid, kind, host, port)) = traces {
        let mut d = ds(name, uid, kind, format!("http://{host}:{port}"));
        d.json_data
            .insert("nodeGraph".into(), json!({ "enabled": true }));
        if let Some(l) = logs_uid {
            d.json_data
                .insert("tracesToLogsV2".into(), traces_to_logs(l));
        }
        if kind == "tempo" && logs_uid == Some(LOKI_UID) {
            d.json_data
                .insert("lokiSearch".into(), json!({ "datasourceUid": LOKI_UID }));
        }
        out.push(d);
    }
    out
}

/// A recording-rule query and, when known, the per-instance one from the raw metric.
fn with_raw(
    rule: String,
    legend: &'static str,
    raw: Option<String>,
) -> Vec<(String, &'static str)> {
    let mut q = vec![(rule, legend)];
    q.extend(raw.map(|r| (r, "{{instance}}")));
    q
}

fn host(model: &Model) -> Dashboard {
    let mut b = Board::new(
        model,
        "host",
        "infrastructure",
        uid(&[&model.project, "host"]),
        format!("{}: host", model.project),
    );
    b.description = "The Docker host, from node-exporter.".into();
    let job = format!("job=\"node-exporter\",{ENV}");
    b.vars.push(instance_var(
        &format!("node_uname_info{{{job}}}"),
        "instance",
    ));
    let sel = format!("{job},instance=~\"$instance\"");
    let fs = format!("{sel},fstype!~\"tmpfs|overlay|squashfs|ramfs\",mountpoint!~\"/boot.*\"");
    b.add(
        6,
        5,
        stat(
            "Uptime",
            "s",
            &[(
                &format!("time() - node_boot_time_seconds{{{sel}}}"),
                "{{instance}}",
            )],
            &[],
        ),
    );
    b.add(
        6,
        5,
        stat(
            "CPU cores",
            "none",
            &[(
                &format!("count by (instance) (node_cpu_seconds_total{{{sel},mode=\"idle\"}})"),
                "{{instance}}",
            )],
            &[],
        ),
    );
    b.add(
        6,
        5,
        stat(
            "Memory total",
            "bytes",
            &[(
                &format!("node_memory_MemTotal_bytes{{{sel}}}"),
                "{{instance}}",
            )],
            &[],
        ),
    );
    b.add(
        6,
        5,
        stat(
            "Load (1m)",
            "short",
            &[(&format!("node_load1{{{sel}}}"), "{{instance}}")],
            &[],
        ),
    );
    b.add(
        12,
        8,
        timeseries(
            "CPU busy",
            "percent",
            &[(
                &format!(
                    "100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{{{sel},mode=\"idle\"}}[$__rate_interval])))"
                ),
                "{{instance}}",
            )],
            &[(90.0, "red")],
        ),
    );
    b.add(
        12,
        8,
        timeseries(
            "Memory used",
            "percent",
            &[(
                &format!(
                    "100 * (1 - node_memory_MemAvailable_bytes{{{sel}}} / node_memory_MemTotal_bytes{{{sel}}})"
                ),
                "{{instance}}",
            )],
            &[(90.0, "red")],
        ),
    );
    b.add(
        12,
        8,
        timeseries(
            "Load average",
            "short",
            &[
                (&format!("node_load1{{{sel}}}"), "1m"),
                (&format!("node_load5{{{sel}}}"), "5m"),
                (&format!("node_load15{{{sel}}}"), "15m"),
            ],
            &[],
        ),
    );
    b.add(
        12,
        8,
        timeseries(
            "Disk space used",
            "percent",
            &[(
                &format!(
                    "100 * (1 - node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}})"
                ),
                "{{mountpoint}}",
            )],
            &[],
        ),
    );
    b.add(
        12,
        8,
        timeseries(
            "Network traffic",
            "Bps",
            &[
                (
                    &format!(
                        "sum by (instance) (rate(node_network_receive_bytes_total{{{sel},device!=\"lo\"}}[$__rate_interval]))"
                    ),
                    "received",
                ),
                (
                    &format!(
                        "sum by (instance) (rate(node_network_transmit_bytes_total{{{sel},device!=\"lo\"}}[$__rate_interval]))"
                    ),
                    "sent",
                ),
            ],
            &[],
        ),
    );
    b.add(
        12,
        8,
        timeseries(
            "Disk I/O",
            "Bps",
            &[
                (
                    &format!(
                        "sum by (instance) (rate(node_disk_read_bytes_total{{{sel}}}[$__rate_interval]))"
                    ),
                    "read",
                ),
                (
                    &format!(
                        "sum by (instance) (rate(node_disk_written_bytes_total{{{sel}}}[$__rate_interval]))"
                    ),
                    "written",
                ),
            ],
            &[],
        ),
    );
    b.finish()
}

fn containers(model: &Model) -> Dashboard {
    let mut b = Board::new(
        model,
        "containers",
        "infrastructure",
        uid(&[&model.project, "containers"]),
        format!("{}: containers", model.project),
    );
    b.description = "Every container of the stack, from cAdvisor.".into();
    let job = format!("job=\"cadvisor\",{ENV},name=~\"{}[-_].+\"", model.project);
    b.vars.push(instance_var(
        &format!("container_last_seen{{{job}}}"),
        "name",
    ));
    // The variable is called `instance` everywhere; here it selects containers by name.
    let sel = format!("{job},name=~\"$instance\"");
    b.add(
        6,
        8,
        stat(
            "Containers",
            "none",
            &[(&format!("count(container_last_seen{{{sel}}})"), "running")],
            &[],
        ),
    );
    b.add(
        18,
        8,
        timeseries(
            "Restarts (1h)",
            "none",
            &[(
                &format!("changes(container_start_time_seconds{{{sel}}}[1h])"),
                "{{name}}",
            )],
            &[],
        ),
    );
    for (title, unit, expr) in [
        (
            "CPU (cores)",
            "short",
            format!(
                "sum by (name) (rate(container_cpu_usage_seconds_total{{{sel}}}[$__rate_interval]))"
            ),
        ),
        (
            "Memory (working set)",
            "bytes",
            format!("sum by (name) (container_memory_working_set_bytes{{{sel}}})"),
        ),
        (
            "Network received",
            "Bps",
            format!(
                "sum by (name) (rate(container_network_receive_bytes_total{{{sel}}}[$__rate_interval]))"
            ),
        ),
        (
            "Network sent",
            "Bps",
            format!(
                "sum by (name) (rate(container_network_transmit_bytes_total{{{sel}}}[$__rate_interval]))"
            ),
        ),
    ] {
        b.add(12, 8, timeseries(title, unit, &[(&expr, "{{name}}")], &[]));
    }
    b.finish()
}

/// Title, unit and `(query, legend)` of one database panel.
type DbPanel = (&'static str, &'static str, Vec<(String, &'static str)>);

/// Per database kind: its exporter's up metric and a few vital signs.
fn database(model: &Model, kind: &str, names: &[&str]) -> Dashboard {
    let mut b = Board::new(
        model,
        "database",
        "infrastructure",
        uid(&[&model.project, "db", kind]),
        format!("{}: {kind}", model.project),
    );
    b.description = format!("Databases of kind {kind}: {}.", names.join(", "));
    let jobs: Vec<String> = names.iter().map(|n| format!("{n}-exporter")).collect();
    let jobs: Vec<&str> = jobs.iter().map(String::as_str).collect();
    let job = format!("{},{ENV}", jobs_matcher("job", &jobs));
    let sel = format!("{job},instance=~\"$instance\"");
    let (up, reachable) = match kind {
        "postgres" => ("pg_up", format!("pg_up{{{sel}}}")),
        "mysql" => ("mysql_up", format!("mysql_up{{{sel}}}")),
        "mongodb" => ("mongodb_up", format!("mongodb_up{{{sel}}}")),
        "redis" => ("redis_up", format!("redis_up{{{sel}}}")),
        // elasticsearch_exporter v1.9.0 has no such gauge: it serves cluster health only
        // while it reaches the cluster (see `ElasticsearchDown` in rules.rs).
        _ => (
            "up",
            format!(
                "(up{{{sel}}} and on(instance) elasticsearch_cluster_health_number_of_nodes{{{sel}}}) or up{{{sel}}} * 0"
            ),
        ),
    };
    b.vars
        .push(instance_var(&format!("{up}{{{job}}}"), "instance"));
    b.add(
        24,
        5,
        up_stat(
            "Database reachable (exporter)",
            &[(&reachable, "{{service}}")],
        ),
    );
    let r = "[$__rate_interval]";
    let panels: Vec<DbPanel> = match kind {
        "postgres" => vec![
            (
                "Connections",
                "short",
                vec![
                    (
                        format!("sum by (service) (pg_stat_activity_count{{{sel}}})"),
                        "{{service}} used",
                    ),
                    (
                        format!("max by (service) (pg_settings_max_connections{{{sel}}})"),
                        "{{service}} max",
                    ),
                ],
            ),
            (
                "Transactions",
                "ops",
                vec![(
                    format!(
                        "sum by (service) (rate(pg_stat_database_xact_commit{{{sel}}}{r}) + rate(pg_stat_database_xact_rollback{{{sel}}}{r}))"
                    ),
                    "{{service}}",
                )],
            ),
            (
                "Database size",
                "bytes",
                vec![(
                    format!("sum by (service, datname) (pg_database_size_bytes{{{sel}}})"),
                    "{{service}} {{datname}}",
                )],
            ),
        ],
        "mysql" => vec![
            (
                "Connections",
                "short",
                vec![
                    (
                        format!("mysql_global_status_threads_connected{{{sel}}}"),
                        "{{service}} used",
                    ),
                    (
                        format!("mysql_global_variables_max_connections{{{sel}}}"),
                        "{{service}} max",
                    ),
                ],
            ),
            (
                "Queries",
                "ops",
                vec![(
                    format!("rate(mysql_global_status_queries{{{sel}}}{r})"),
                    "{{service}}",
                )],
            ),
            (
                "Slow queries",
                "ops",
                vec![(
                    format!("rate(mysql_global_status_slow_queries{{{sel}}}{r})"),
                    "{{service}}",
                )],
            ),
        ],
        "mongodb" => vec![
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
        ],
        "redis" => vec![
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
        ],
        _ => vec![
            (
                "Cluster status green",
                "none",
                vec![(
                    format!("elasticsearch_cluster_health_status{{{sel},color=\"green\"}}"),
                    "{{service}}",
                )],
            ),
            (
                "Nodes",
                "short",
                vec![(
                    format!("elasticsearch_cluster_health_number_of_nodes{{{sel}}}"),
                    "{{service}}",
                )],
            ),
            (
                "JVM heap used",
                "bytes",
                vec![(
                    format!(
                        "sum by (service) (elasticsearch_jvm_memory_used_bytes{{{sel},area=\"heap\"}})"
                    ),
                    "{{service}}",
                )],
            ),
        ],
    };
    for (title, unit, queries) in panels {
        let q: Vec<(&str, &str)> = queries.iter().map(|(e, l)| (e.as_str(), *l)).collect();
        b.add(8, 8, timeseries(title, unit, &q, &[]));
    }
    b.finish()
}

fn slo(model: &Model, s: &crate::model::Slo) -> Dashboard {
    let mut b = Board::new(
        model,
        "slo",
        "slo",
        uid(&[&model.project, "slo", &s.service]),
        format!("{}: SLO {} availability", model.project, s.service),
    );
    b.description = format!(
        "Availability SLO of {}: {}% over {} (Sloth-style recording rules).",
        s.service, s.objective, s.window
    );
    let id = format!("sloth_service=\"{}\",sloth_slo=\"availability\"", s.service);
    let sel = format!("{id},{ENV}");
    let objective = format!("slo:objective:ratio{{{id}}}");
    let mut o = stat(
        "Objective",
        "percentunit",
        &[(&objective, "objective")],
        &[],
    );
    o["fieldConfig"]["defaults"]["decimals"] = json!(3);
    b.add(6, 6, o);
    b.add(
        6,
        6,
        stat(
            &format!("Error budget remaining ({})", s.window),
            "percentunit",
            &[(
                &format!("slo:period_error_budget_remaining:ratio{{{sel}}}"),
                "remaining",
            )],
            &[],
        ),
    );
    let mut budget = b.panels.pop().expect("just added");
    budget["fieldConfig"]["defaults"]["thresholds"] = json!({
        "mode": "absolute",
        "steps": [
            { "color": "red", "value": null },
            { "color": "orange", "value": 0.25 },
            { "color": "green", "value": 0.5 },
        ],
    });
    b.x -= 6;
    b.add(6, 6, budget);
    b.add(
        6,
        6,
        stat(
            "Burn rate now (5m)",
            "short",
            &[(
                &format!("slo:current_burn_rate:ratio{{{sel}}}"),
                "burn rate",
            )],
            &[(1.0, "orange"), (6.0, "red")],
        ),
    );
    b.add(
        6,
        6,
        stat(
            &format!("Burn rate over {}", s.window),
            "short",
            &[(&format!("slo:period_burn_rate:ratio{{{sel}}}"), "burn rate")],
            &[(1.0, "red")],
        ),
    );
    b.add(
        12,
        8,
        timeseries(
            "Error budget remaining",
            "percentunit",
            &[(
                &format!("slo:period_error_budget_remaining:ratio{{{sel}}}"),
                "remaining",
            )],
            &[],
        ),
    );
    b.add(
        12,
        8,
        timeseries(
            "Burn rate",
            "short",
            &[
                (&format!("slo:current_burn_rate:ratio{{{sel}}}"), "now (5m)"),
                (
                    &format!("slo:period_burn_rate:ratio{{{sel}}}"),
                    "whole period",
                ),
            ],
            &[(1.0, "red")],
        ),
    );
    let windows = ["5m", "1h", "6h", "1d", "3d"];
    let q: Vec<String> = windows
        .iter()
        .map(|w| format!("slo:sli_error:ratio_rate{w}{{{sel}}}"))
        .collect();
    let qs: Vec<(&str, &str)> = q
        .iter()
        .zip(windows)
        .map(|(e, w)| (e.as_str(), w))
        .collect();
    b.add(
        24,
        8,
        timeseries(
            "Error ratio (SLI) per window",
            "percentunit",
            &qs,
            &[(s.error_budget, "red")],
        ),
    );
    b.finish()
}

fn monitoring(model: &Model) -> Dashboard {
    let mut b = Board::new(
        model,
        "monitoring",
        "monitoring",
        uid(&[&model.project, "monitoring"]),
        format!("{}: monitoring stack", model.project),
    );
    b.description = "Prometheus, Alertmanager and Grafana themselves.".into();
    let mut jobs = vec!["prometheus"];
    if model.alertmanager.is_some() {
        jobs.push(crate::alertmanager::NAME);
    }
    if model.grafana.is_some() {
        jobs.push("grafana");
    }
    let own = jobs.len();
    jobs.extend(
        model
            .scrape_jobs
            .iter()
            .map(|j| j.name.as_str())
            .filter(|j| crate::rules::COMPONENT_JOBS.iter().any(|(n, ..)| n == j)),
    );
    if jobs.len() > own {
        b.description =
            "Prometheus, Alertmanager and Grafana themselves, and the log, trace and storage components."
                .into();
    }
    let up = format!("up{{{},{ENV}}}", jobs_matcher("job", &jobs));
    b.add(24, 5, up_stat("Components up", &[(&up, "{{job}}")]));
    let prom = format!("job=\"prometheus\",{ENV}");
    let r = "[$__rate_interval]";
    b.add(
        12,
        8,
        timeseries(
            "Targets down",
            "short",
            &[(&format!("count by (job) (up{{{ENV}}} == 0)"), "{{job}}")],
            &[],
        ),
    );
    b.add(
        12,
        8,
        timeseries(
            "Scrape duration",
            "s",
            &[(
                &format!("max by (job) (scrape_duration_seconds{{{ENV}}})"),
                "{{job}}",
            )],
            &[],
        ),
    );
    b.add(
        12,
        8,
        timeseries(
            "Head series",
            "short",
            &[(&format!("prometheus_tsdb_head_series{{{prom}}}"), "series")],
            &[],
        ),
    );
    b.add(
        12,
        8,
        timeseries(
            "Rule evaluation failures",
            "ops",
            &[(
                &format!("sum(rate(prometheus_rule_evaluation_failures_total{{{prom}}}{r}))"),
                "failures",
            )],
            &[],
        ),
    );
    b.add(
        12,
        8,
        timeseries(
            "Notifications to Alertmanager failing",
            "ops",
            &[(
                &format!("sum(rate(prometheus_notifications_errors_total{{{prom}}}{r}))"),
                "errors",
            )],
            &[],
        ),
    );
    if model.alertmanager.is_some() {
        let am = format!("job=\"{}\",{ENV}", crate::alertmanager::NAME);
        b.add(
            12,
            8,
            timeseries(
                "Alertmanager notifications failed",
                "ops",
                &[(
                    &format!(
                        "sum by (integration) (rate(alertmanager_notifications_failed_total{{{am}}}{r}))"
                    ),
                    "{{integration}}",
                )],
                &[],
            ),
        );
        b.add(
            12,
            8,
            timeseries(
                "Alerts in Alertmanager",
                "short",
                &[(
                    &format!("sum by (state) (alertmanager_alerts{{{am}}})"),
                    "{{state}}",
                )],
                &[],
            ),
        );
    }
    b.finish()
}

// ---- the whole family

/// Builds Grafana's provisioning and dashboards and completes its Compose service:
/// the provisioning and dashboards mounted read-only, the Prometheus password as a
/// Compose secret, the root URL from `[deploy.aws] domain`. Called from
/// [`crate::resolve`] once the stack is assembled.
pub fn contribute(model: &mut Model, domain: Option<&str>) {
    let Some(g) = model.grafana.clone() else {
        return;
    };
    let mut datasources = vec![Datasource {
        name: "Prometheus".into(),
        uid: PROMETHEUS_UID.into(),
        kind: "prometheus".into(),
        url: format!("http://{}:{}", model.prometheus.name, model.prometheus.port),
        default: true,
        basic_auth_user: Some(model.web.username.clone()),
        basic_auth_password: Some(format!("$__file{{{}}}", model.web.password_file)),
        json_data: BTreeMap::from([
            ("httpMethod".to_string(), json!("POST")),
            (
                "timeInterval".to_string(),
                json!(max_scrape_interval(model)),
            ),
        ]),
    }];
    if let Some(am) = model
        .compose
        .iter()
        .find(|c| c.name == crate::alertmanager::NAME)
    {
        datasources.push(Datasource {
            name: "Alertmanager".into(),
            uid: ALERTMANAGER_UID.into(),
            kind: "alertmanager".into(),
            url: format!("http://{}:{}", am.name, crate::alertmanager::PORT),
            default: false,
            basic_auth_user: Some(model.web.username.clone()),
            basic_auth_password: Some(format!("$__file{{{}}}", model.web.password_file)),
            json_data: BTreeMap::from([
                ("implementation".to_string(), json!("prometheus")),
                ("handleGrafanaManagedAlerts".to_string(), json!(false)),
            ]),
        });
    }
    datasources.extend(component_datasources(model));

    let mut dashboards = Vec::new();
    let shown: Vec<&crate::model::Service> = model
        .services
        .iter()
        .filter(|s| s.metrics.is_some() || model.components.cadvisor)
        .collect();
    // One dashboard per service, linked from the overview; a large project gets one
    // dashboard with a `$service` variable instead (a folder of a thousand is no help).
    let per_service: Vec<Dashboard> = if shown.len() <= MAX_SERVICE_DASHBOARDS {
        shown.iter().map(|s| service(model, s)).collect()
    } else {
        vec![services_templated(model)]
    };
    let links: Vec<(String, String)> = if shown.len() <= MAX_SERVICE_DASHBOARDS {
        shown
            .iter()
            .zip(&per_service)
            .map(|(s, d)| (format!("service {}", s.name), d.uid.clone()))
            .collect()
    } else {
        per_service
            .iter()
            .map(|d| ("services".to_string(), d.uid.clone()))
            .collect()
    };
    dashboards.push(overview(model, &links));
    dashboards.extend(per_service);
    if model.components.node_exporter {
        dashboards.push(host(model));
    }
    if model.components.cadvisor {
        dashboards.push(containers(model));
    }
    let mut kinds: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for d in &model.databases {
        kinds.entry(d.kind.as_str()).or_default().push(&d.name);
    }
    for (kind, names) in &kinds {
        dashboards.push(database(model, kind, names));
    }
    for s in &model.alerts.slo {
        if model
            .services
            .iter()
            .any(|x| x.name == s.service && x.metrics.is_some())
        {
            dashboards.push(slo(model, s));
        }
    }
    dashboards.push(monitoring(model));

    let secret = crate::exporters::PASSWORD_SECRET.to_string();
    if let Some(c) = model.compose.iter_mut().find(|c| c.name == g.name) {
        c.volumes
            .push("./monitoring/grafana/provisioning:/etc/grafana/provisioning:ro".into());
        c.volumes
            .push(format!("./{DASHBOARDS_OUT}:{DASHBOARDS_DIR}:ro"));
        if !c.secrets.contains(&secret) {
            c.secrets.push(secret);
        }
        if let Some(domain) = domain {
            c.environment
                .insert("GF_SERVER_ROOT_URL".into(), root_url(domain));
        }
        if model.logging == "elasticsearch" {
            // Read by the Elasticsearch datasource through `$__env{…}`.
            let var = crate::components::logs::READER_PASSWORD_VAR;
            c.environment
                .insert(var.into(), crate::components::req(var));
        }
        c.environment
            .insert("GF_NEWS_NEWS_FEED_ENABLED".into(), "false".into());
        c.environment
            .insert("GF_PLUGINS_PLUGIN_ADMIN_ENABLED".into(), "false".into());
    }
    model.provisioning = Some(Grafana {
        datasources,
        dashboards,
        dashboards_dir: DASHBOARDS_DIR.into(),
    });
}

/// Grafana's public URL for `[deploy.aws] domain`: its own subdomain, so Grafana
/// serves from `/` both behind a proxy and through an SSH tunnel to its loopback port.
pub fn root_url(domain: &str) -> String {
    format!("https://grafana.{domain}/")
}

/// The longest scrape interval of any environment (Grafana's `$__rate_interval` base).
fn max_scrape_interval(model: &Model) -> String {
    model
        .environments
        .iter()
        .map(|e| e.scrape_interval.clone())
        .max_by_key(|i| crate::units::parse_duration(i).unwrap_or(0))
        .unwrap_or_else(|| "15s".into())
}

/// Files of this family: the two provisioning files and one file per dashboard.
pub fn artifacts(m: &Model) -> Vec<Artifact> {
    let Some(g) = &m.provisioning else {
        return Vec::new();
    };
    let mut out = vec![
        Artifact::per_item(DATASOURCES_FILE, "grafana/datasources.yml.j2", g),
        Artifact::per_item(PROVIDERS_FILE, "grafana/dashboards.yml.j2", g),
    ];
    out.extend(
        g.dashboards
            .iter()
            .map(|d| Artifact::per_item(d.path.clone(), "grafana/dashboard.json.j2", d)),
    );
    out
}

// ---- queries, for verification and live tests

/// Values of the dashboard variables when a query is run outside Grafana.
#[derive(Debug, Clone)]
pub struct Vars {
    pub environment: String,
    /// A regex (`.*` for all, or one instance such as `node-exporter:9100`).
    pub instance: String,
    /// What `$__rate_interval`, `$__interval` and `$__range` stand for.
    pub interval: String,
}

impl Vars {
    pub fn new(environment: &str, instance: &str) -> Vars {
        Vars {
            environment: environment.into(),
            instance: instance.into(),
            interval: "1m".into(),
        }
    }
}

/// A query with Grafana's variables replaced by `vars` (and `$datasource` by the
/// Prometheus uid).
pub fn substitute(expr: &str, vars: &Vars) -> String {
    let mut out = expr.to_string();
    for (name, value) in [
        ("__rate_interval", vars.interval.as_str()),
        ("__interval", vars.interval.as_str()),
        ("__range", vars.interval.as_str()),
        ("environment", vars.environment.as_str()),
        ("instance", vars.instance.as_str()),
        ("datasource", PROMETHEUS_UID),
    ] {
        out = out
            .replace(&format!("${{{name}}}"), value)
            .replace(&format!("${name}"), value);
    }
    out
}

/// One panel query of a generated dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelQuery {
    pub dashboard: String,
    pub panel: String,
    /// PromQL, variables substituted.
    pub expr: String,
}

/// Every panel query of the dashboards of `kind` (`overview`, `service`, `host`,
/// `containers`, `database`, `slo`, `monitoring`), with the variables substituted.
/// For a live test: `panel_queries(&model, "host", &Vars::new("development", ".*"))`
/// lists each node-exporter query, ready for `/api/v1/query`.
pub fn panel_queries(model: &Model, kind: &str, vars: &Vars) -> Vec<PanelQuery> {
    let Some(g) = &model.provisioning else {
        return Vec::new();
    };
    g.dashboards
        .iter()
        .filter(|d| d.kind == kind)
        .flat_map(|d| queries_of(&d.value))
        .map(|(dashboard, panel, expr)| PanelQuery {
            dashboard,
            panel,
            expr: substitute(&expr, vars),
        })
        .collect()
}

/// `(dashboard uid, panel title, expr)` of every target of a dashboard value.
fn queries_of(dash: &Json) -> Vec<(String, String, String)> {
    let uid = dash["uid"].as_str().unwrap_or("").to_string();
    let mut out = Vec::new();
    for p in dash["panels"].as_array().into_iter().flatten() {
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push((
                uid.clone(),
                p["title"].as_str().unwrap_or("").to_string(),
                t["expr"].as_str().unwrap_or("").to_string(),
            ));
        }
    }
    out
}

// ---- verification of the rendered files

/// Resolves a datasource uid through the dashboard's datasource variables
/// (`${datasource}` → the variable's current value).
fn resolve_uid(uid: &str, dash: &Json) -> String {
    let name = uid
        .strip_prefix("${")
        .and_then(|s| s.strip_suffix('}'))
        .or_else(|| uid.strip_prefix('$'));
    let Some(name) = name else {
        return uid.to_string();
    };
    dash["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == name && v["type"] == "datasource")
        .and_then(|v| v["current"]["value"].as_str())
        .unwrap_or(uid)
        .to_string()
}

/// Checks one dashboard against the provisioned datasource uids, and its queries.
pub fn check_dashboard(path: &str, dash: &Json, datasources: &BTreeSet<String>) -> Result<()> {
    let mut queries = Vec::new();
    collect_dashboard(path, dash, datasources, &mut queries)?;
    parse_all(&queries).map(|_| ())
}

/// A parsed query: where it came from, its text, and the tree of its [`parse_key`] shape
/// (with a trivial regex in place of every regex matcher's).
pub type Parsed = (String, String, promql_parser::parser::Expr);

/// Parses every query once per [`parse_key`] shape (dashboards share most shapes); the
/// first failure names where the query came from. Returns the first query of each shape.
pub fn parse_all(queries: &[(String, String)]) -> Result<Vec<Parsed>> {
    // The parser compiles the regex of every `=~`/`!~` matcher, which is most of its
    // cost, and dashboards repeat a few regexes (`.*`) everywhere: each distinct regex is
    // compiled once here, and the query is parsed with a trivial regex in its place.
    let mut regexes: BTreeMap<String, &str> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut unique = Vec::new();
    for (whence, q) in queries {
        let (plain, found) = split_regexes(q);
        for r in found {
            regexes.entry(r).or_insert(whence);
        }
        if seen.insert(parse_key(&plain)) {
            unique.push((whence, q, plain));
        }
    }
    for (r, whence) in &regexes {
        regex::Regex::new(&format!("^(?:{r})$"))
            .map_err(|e| anyhow::anyhow!("{whence}: regex `{r}` is invalid: {e}"))?;
    }
    let mut out = Vec::with_capacity(unique.len());
    for (whence, q, plain) in unique {
        let tree = promql_parser::parser::parse(&plain)
            .map_err(|e| anyhow::anyhow!("{whence} `{q}` does not parse: {e}"))?;
        out.push((whence.clone(), q.clone(), tree));
    }
    Ok(out)
}

/// The query with the value of every regex matcher (`=~"…"`, `!~"…"`) replaced by `"x"`,
/// and those values (unescaped). Other string literals are copied as they are.
pub fn split_regexes(q: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(q.len());
    let mut found = Vec::new();
    let mut chars = q.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        // A double-quoted literal: read it whole.
        let mut raw = String::from('"');
        let mut value = String::new();
        while let Some(c) = chars.next() {
            raw.push(c);
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        raw.push(n);
                        if n != '"' && n != '\\' {
                            value.push('\\');
                        }
                        value.push(n);
                    }
                }
                '"' => break,
                c => value.push(c),
            }
        }
        let before = out.trim_end();
        if before.ends_with("=~") || before.ends_with("!~") {
            out.push_str("\"x\"");
            found.push(value);
        } else {
            out.push_str(&raw);
        }
    }
    (out, found)
}

/// Checks one dashboard's datasources and structure, and collects its queries (with
/// the variables substituted) as `(where, query)` for [`parse_all`].
pub fn collect_dashboard(
    path: &str,
    dash: &Json,
    datasources: &BTreeSet<String>,
    queries: &mut Vec<(String, String)>,
) -> Result<()> {
    let vars = Vars::new("production", ".*");
    let mut parses = |whence: String, q: &str| -> Result<(), String> {
        queries.push((whence, substitute(q, &vars)));
        Ok(())
    };
    let check_ds = |what: &str, ds: &Json| -> Result<()> {
        if ds.is_null() {
            return Ok(());
        }
        let uid = resolve_uid(ds["uid"].as_str().unwrap_or(""), dash);
        if !datasources.contains(&uid) {
            bail!("{path}: {what} names datasource uid `{uid}`, which is not provisioned");
        }
        Ok(())
    };
    if dash["schemaVersion"].as_u64().unwrap_or(0) < u64::from(SCHEMA_VERSION) {
        bail!("{path}: schemaVersion below {SCHEMA_VERSION}");
    }
    for v in dash["templating"]["list"].as_array().into_iter().flatten() {
        let name = v["name"].as_str().unwrap_or("");
        check_ds(&format!("variable `{name}`"), &v["datasource"])?;
        if v["type"] == "query" {
            let q = v["query"].as_str().unwrap_or("");
            let inner = q
                .strip_prefix("label_values(")
                .and_then(|s| s.rsplit_once(','))
                .map_or(q, |(sel, _)| sel);
            if let Err(e) = parses(format!("{path}: variable `{name}`: query"), inner) {
                bail!("{path}: variable `{name}`: query `{q}` does not parse: {e}");
            }
        }
    }
    for p in dash["panels"].as_array().into_iter().flatten() {
        let title = p["title"].as_str().unwrap_or("");
        if p["gridPos"].is_null() {
            bail!("{path}: panel `{title}` has no gridPos");
        }
        if p["type"] == "row" {
            continue;
        }
        check_ds(&format!("panel `{title}`"), &p["datasource"])?;
        for t in p["targets"].as_array().into_iter().flatten() {
            check_ds(&format!("panel `{title}`"), &t["datasource"])?;
            let kind = t["datasource"]["type"]
                .as_str()
                .or(p["datasource"]["type"].as_str())
                .unwrap_or("prometheus");
            match kind {
                "loki" => {
                    let expr = substitute(t["expr"].as_str().unwrap_or(""), &vars);
                    if let Err(e) = check_logql(&expr) {
                        bail!("{path}: panel `{title}`: LogQL `{expr}` does not parse: {e}");
                    }
                    continue;
                }
                "elasticsearch" => {
                    let q = substitute(t["query"].as_str().unwrap_or(""), &vars);
                    if let Err(e) = check_lucene(&q) {
                        bail!("{path}: panel `{title}`: Lucene query `{q}` does not parse: {e}");
                    }
                    continue;
                }
                _ => {}
            }
            let expr = t["expr"].as_str().unwrap_or("");
            if let Err(e) = parses(format!("{path}: panel `{title}`: query"), expr) {
                bail!("{path}: panel `{title}`: query `{expr}` does not parse: {e}");
            }
        }
    }
    Ok(())
}

/// Reads a double-quoted string at the start of `s` (Go/LogQL escapes); returns the
/// value and the rest.
fn quoted(s: &str) -> Result<(String, &str), String> {
    let mut chars = s.char_indices();
    if chars.next().map(|(_, c)| c) != Some('"') {
        return Err(format!("expected a \"string\" at `{s}`"));
    }
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, n)) => {
                    if n != '"' && n != '\\' {
                        value.push('\\');
                    }
                    value.push(n);
                }
                None => break,
            },
            '"' => return Ok((value, &s[i + 1..])),
            c => value.push(c),
        }
    }
    Err("string not closed".into())
}

/// Checks a LogQL log query: a stream selector with at least one matcher (each regex
/// compiles, and not every matcher may match the empty string), then line filters
/// (`|=`, `!=`, `|~`, `!~` with a string) and parser stages (`| json`, `| logfmt`).
pub fn check_logql(q: &str) -> Result<(), String> {
    let mut rest = q.trim_start();
    rest = rest
        .strip_prefix('{')
        .ok_or("a log query starts with a stream selector `{…}`")?;
    let mut matchers = 0;
    let mut non_empty = false;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix('}') {
            rest = r;
            break;
        }
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!("expected a label name at `{rest}`"));
        }
        rest = rest[name_len..].trim_start();
        let op = ["=~", "!~", "!=", "="]
            .into_iter()
            .find(|op| rest.starts_with(op))
            .ok_or_else(|| format!("expected =, !=, =~ or !~ after `{name}`"))?;
        rest = rest[op.len()..].trim_start();
        let (value, r) = quoted(rest)?;
        rest = r.trim_start();
        let matches_empty = match op {
            "=~" | "!~" => {
                let re = regex::Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| format!("regex `{value}` of `{name}` is invalid: {e}"))?;
                (op == "=~") == re.is_match("")
            }
            "=" => value.is_empty(),
            _ => !value.is_empty(),
        };
        non_empty |= !matches_empty;
        matchers += 1;
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        }
    }
    if matchers == 0 || !non_empty {
        return Err(
            "the stream selector needs a matcher that does not match the empty string".into(),
        );
    }
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(());
        }
        if let Some(op) = ["|=", "!=", "|~", "!~"]
            .into_iter()
            .find(|op| rest.starts_with(op))
        {
            let (value, r) = quoted(rest[op.len()..].trim_start())?;
            if op.ends_with('~') {
                regex::Regex::new(&value)
                    .map_err(|e| format!("line filter regex `{value}`: {e}"))?;
            }
            rest = r;
            continue;
        }
        if let Some(r) = rest.strip_prefix('|') {
            let r = r.trim_start();
            let stage = ["json", "logfmt", "unpack"]
                .into_iter()
                .find(|s| r.starts_with(s))
                .ok_or_else(|| format!("unknown pipeline stage at `{r}`"))?;
            rest = &r[stage.len()..];
            continue;
        }
        return Err(format!("unexpected `{rest}`"));
    }
}

/// Checks an Elasticsearch (Lucene) query string: not empty, quotes and `/regex/`s
/// closed, parentheses balanced, every `field:` a field name.
pub fn check_lucene(q: &str) -> Result<(), String> {
    if q.trim().is_empty() {
        return Err("empty query".into());
    }
    let mut depth = 0i32;
    let mut chars = q.chars().peekable();
    let mut token = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' | '/' => {
                let mut closed = false;
                while let Some(n) = chars.next() {
                    if n == '\\' {
                        chars.next();
                    } else if n == c {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Err(format!("`{c}` not closed"));
                }
                token.clear();
            }
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced `)`".into());
                }
            }
            ':' => {
                if token.is_empty()
                    || !token
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
                {
                    return Err(format!("`{token}:` is not a field"));
                }
                token.clear();
            }
            c if c.is_whitespace() => token.clear(),
            c => token.push(c),
        }
    }
    if depth != 0 {
        return Err("unbalanced `(`".into());
    }
    Ok(())
}

/// A query with the parts of its string literals that cannot affect whether it parses
/// folded: every run of `[A-Za-z0-9_-]` outside a regex class (`[…]`) or repetition
/// (`{…}`) becomes `x`. Such a run is valid both in a label value and in a regex, so
/// `up{job="svc-0001"}` and `up{job="svc-0002"}` share one key, while `[0-9]` stays as
/// it is. A literal with an escape or a `(?` group keeps the rest of the query verbatim.
pub fn parse_key(q: &str) -> String {
    let mut out = String::with_capacity(q.len());
    let mut rest = q;
    while let Some(start) = rest.find('"') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find(['"', '\\']) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let lit = &after[..end];
        if after.as_bytes()[end] == b'\\' || lit.contains("(?") {
            out.push_str(&rest[start..]);
            return out;
        }
        out.push('"');
        let (mut class, mut brace, mut run) = (0u32, 0u32, false);
        for c in lit.chars() {
            match c {
                '[' => class += 1,
                ']' => class = class.saturating_sub(1),
                '{' => brace += 1,
                '}' => brace = brace.saturating_sub(1),
                _ => {}
            }
            let foldable =
                class == 0 && brace == 0 && (c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if foldable {
                if !run {
                    out.push('x');
                }
                run = true;
            } else {
                out.push(c);
                run = false;
            }
        }
        out.push('"');
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Cross-file checks of Grafana's rendered files (parsed values by path). Returns the
/// dashboards' Prometheus queries, parsed once per shape (for the metric-existence check).
pub fn verify(files: &[(&File, &Json)]) -> Result<Vec<Parsed>> {
    let Some((_, ds)) = files.iter().find(|(f, _)| f.path == DATASOURCES_FILE) else {
        if files
            .iter()
            .any(|(f, _)| f.path.starts_with(DASHBOARDS_OUT))
        {
            bail!("dashboards are generated without {DATASOURCES_FILE}");
        }
        return Ok(Vec::new());
    };
    let mut uids = BTreeSet::new();
    let mut defaults = 0;
    for d in ds["datasources"].as_array().into_iter().flatten() {
        let uid = d["uid"].as_str().unwrap_or("").to_string();
        if uid.is_empty() || !uids.insert(uid.clone()) {
            bail!("{DATASOURCES_FILE}: datasource uid `{uid}` is empty or not unique");
        }
        if d["isDefault"] == true {
            defaults += 1;
        }
    }
    if defaults != 1 {
        bail!("{DATASOURCES_FILE}: {defaults} default datasources, want 1");
    }
    let mut dash_uids = BTreeSet::new();
    let mut titles = BTreeSet::new();
    let mut checks = Vec::new();
    for (f, dash) in files {
        let Some(rest) = f.path.strip_prefix(&format!("{DASHBOARDS_OUT}/")) else {
            continue;
        };
        let folder = rest.rsplit_once('/').map_or("", |(d, _)| d);
        let uid = dash["uid"].as_str().unwrap_or("");
        if uid.is_empty() || uid.len() > MAX_UID || !dash_uids.insert(uid.to_string()) {
            bail!(
                "{}: dashboard uid `{uid}` is empty, longer than {MAX_UID} or not unique",
                f.path
            );
        }
        if !f.path.ends_with(&format!("/{uid}.json")) {
            bail!("{}: file name is not the dashboard uid `{uid}`", f.path);
        }
        let title = dash["title"].as_str().unwrap_or("");
        if !titles.insert((folder.to_string(), title.to_string())) {
            bail!(
                "{}: title `{title}` is not unique in folder `{folder}`",
                f.path
            );
        }
        checks.push((f.path.as_str(), *dash));
    }
    let mut queries = Vec::new();
    for (path, dash) in checks {
        collect_dashboard(path, dash, &uids, &mut queries)?;
    }
    parse_all(&queries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_support::{rendered, replace};

    fn model(text: &str) -> Model {
        let m: crate::manifest::Manifest = toml::from_str(text).unwrap();
        crate::resolve::resolve(&m, "obsgen.toml")
    }

    fn shop() -> Model {
        model(include_str!("../examples/shop/obsgen.toml"))
    }

    #[test]
    fn uids_are_slugs_short_and_stable() {
        assert_eq!(uid(&["shop", "svc", "gateway"]), "shop-svc-gateway");
        let long = "a-very-long-project-name-that-goes-on-and-on-and-on";
        let a = uid(&[long, "svc", "backend"]);
        let b = uid(&[long, "svc", "backend-2"]);
        assert!(a.len() <= MAX_UID && b.len() <= MAX_UID, "{a} {b}");
        assert_ne!(a, b);
        assert_eq!(a, uid(&[long, "svc", "backend"]));
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }

    #[test]
    fn shop_gets_every_dashboard_kind() {
        let m = shop();
        let g = m.provisioning.as_ref().unwrap();
        let uids: Vec<&str> = g.dashboards.iter().map(|d| d.uid.as_str()).collect();
        assert_eq!(
            uids,
            [
                "shop-overview",
                "shop-svc-gateway",
                "shop-svc-backend",
                "shop-host",
                "shop-containers",
                "shop-db-mongodb",
                "shop-db-redis",
                "shop-slo-gateway",
                "shop-monitoring",
            ]
        );
        let ds: Vec<&str> = g.datasources.iter().map(|d| d.uid.as_str()).collect();
        assert_eq!(ds, [PROMETHEUS_UID, ALERTMANAGER_UID]);
        // Thresholds of the manifest are drawn on the service dashboards.
        let gw = &g.dashboards[1].json;
        assert!(gw.contains("\"value\":0.05"), "error-rate line");
        assert!(gw.contains("\"value\":0.5"), "latency p95 line");
        assert!(gw.contains("\"mode\":\"line\""));
    }

    #[test]
    fn the_rendered_shop_verifies() {
        let m = shop();
        crate::verify::verify(&m, &rendered(&m)).unwrap();
    }

    #[test]
    fn a_panel_naming_an_unknown_datasource_is_caught() {
        let m = shop();
        let mut files = rendered(&m);
        let path = format!("{DASHBOARDS_OUT}/infrastructure/shop-host.json");
        replace(
            &mut files,
            &path,
            "\"uid\":\"${datasource}\"",
            "\"uid\": \"loki\"",
        );
        let e = crate::verify::verify(&m, &files).unwrap_err().to_string();
        assert!(e.contains("datasource uid `loki`"), "{e}");
    }

    #[test]
    fn a_datasource_variable_pointing_nowhere_is_caught() {
        let m = shop();
        let mut files = rendered(&m);
        let path = format!("{DASHBOARDS_OUT}/overview/shop-overview.json");
        replace(
            &mut files,
            &path,
            "\"value\":\"prometheus\"",
            "\"value\": \"gone\"",
        );
        let e = crate::verify::verify(&m, &files).unwrap_err().to_string();
        assert!(e.contains("`gone`"), "{e}");
    }

    #[test]
    fn a_broken_panel_query_is_caught() {
        let m = shop();
        let mut files = rendered(&m);
        let path = format!("{DASHBOARDS_OUT}/services/shop-svc-gateway.json");
        replace(&mut files, &path, "sum(up{", "sum(up{{");
        let e = crate::verify::verify(&m, &files).unwrap_err().to_string();
        assert!(e.contains("does not parse"), "{e}");
    }

    #[test]
    fn duplicate_uids_and_titles_are_caught() {
        let m = shop();
        let mut files = rendered(&m);
        let path = format!("{DASHBOARDS_OUT}/infrastructure/shop-db-redis.json");
        replace(
            &mut files,
            &path,
            "\"title\": \"shop: redis\"",
            "\"title\": \"shop: host\"",
        );
        let e = crate::verify::verify(&m, &files).unwrap_err().to_string();
        assert!(e.contains("not unique in folder `infrastructure`"), "{e}");

        let mut files = rendered(&m);
        replace(
            &mut files,
            &path,
            "\"uid\": \"shop-db-redis\"",
            "\"uid\": \"shop-host\"",
        );
        let e = crate::verify::verify(&m, &files).unwrap_err().to_string();
        assert!(e.contains("uid `shop-host`"), "{e}");
    }

    #[test]
    fn a_panel_without_grid_position_is_caught() {
        let dash = json!({
            "uid": "x", "title": "x", "schemaVersion": 39,
            "panels": [{ "type": "stat", "title": "p", "targets": [] }],
        });
        let e = check_dashboard("d.json", &dash, &BTreeSet::new()).unwrap_err();
        assert!(e.to_string().contains("gridPos"), "{e}");
    }

    #[test]
    fn host_panel_queries_are_substituted_and_parse() {
        let m = shop();
        let q = panel_queries(&m, "host", &Vars::new("production", "node-exporter:9100"));
        assert!(q.len() >= 10, "{q:?}");
        for p in &q {
            assert!(!p.expr.contains('$'), "{p:?}");
            assert!(p.expr.contains("node_"), "{p:?}");
            assert!(p.expr.contains("environment=\"production\""), "{p:?}");
            assert!(p.expr.contains("instance=~\"node-exporter:9100\""), "{p:?}");
            promql_parser::parser::parse(&p.expr).unwrap();
        }
        assert!(q.iter().all(|p| p.dashboard == "shop-host"));
        assert!(panel_queries(&m, "nothing", &Vars::new("production", ".*")).is_empty());
    }

    #[test]
    fn regex_values_are_split_out_and_checked_once() {
        let (plain, found) = split_regexes(r#"up{job=~"a|b",x!~"\\.y",z="=~",w=~"c"} == 0"#);
        assert_eq!(plain, r#"up{job=~"x",x!~"x",z="=~",w=~"x"} == 0"#);
        assert_eq!(
            found,
            vec!["a|b".to_string(), r"\.y".to_string(), "c".to_string()]
        );
        let q = |s: &str| vec![("p".to_string(), s.to_string())];
        assert!(parse_all(&q(r#"up{job=~"a|b"}"#)).is_ok());
        let e = parse_all(&q(r#"up{job=~"(a"}"#)).unwrap_err().to_string();
        assert!(e.contains("regex `(a` is invalid"), "{e}");
        assert!(parse_all(&q("sum(up{job=\"a\"}")).is_err());
    }

    #[test]
    fn parse_keys_fold_plain_values_but_keep_regexes() {
        assert_eq!(
            parse_key(r#"up{job="svc-0001",environment="prod"} == 0"#),
            parse_key(r#"up{job="svc-0002",environment="dev"} == 0"#)
        );
        assert_eq!(
            parse_key(r#"x{a="b",name=~"shop-(backend-1|backend-2)-[0-9]+"}"#),
            r#"x{a="x",name=~"x(x|x)x[0-9]+"}"#
        );
        assert_ne!(
            parse_key(r#"x{name=~"a-(b|c)-[0-9]+"}"#),
            parse_key(r#"x{name=~"a-(b|c-[0-9]+"}"#)
        );
        assert_eq!(
            parse_key(r#"x{a=~"5..", b=~"[z-a]{2,3}"}"#),
            r#"x{a=~"x..", b=~"[z-a]{2,3}"}"#
        );
        assert_eq!(parse_key(r#"x{a=~"(?z)b"}"#), r#"x{a=~"(?z)b"}"#);
        assert_eq!(parse_key(r#"x{a="q\\"b"}"#), r#"x{a="q\\"b"}"#);
    }

    /// A manifest with `n` scraped services (`svc-001`…), every tenth with 2 replicas.
    fn many(n: usize) -> String {
        let mut text = String::from(
            "[project]\nname = \"big\"\nenvironments = [\"development\", \"production\"]\n",
        );
        for i in 1..=n {
            text.push_str(&format!(
                "[[service]]\nname = \"svc-{i:03}\"\nimage = \"ghcr.io/acme/svc:1.0.0\"\nport = {}\nmetrics = {{}}\nhealth = \"/health\"\n",
                10000 + i
            ));
            if i % 10 == 0 {
                text.push_str("replicas = 2\n");
            }
        }
        text
    }

    #[test]
    fn the_templated_service_dashboard_shows_logs_of_the_chosen_service() {
        for backend in ["loki", "elasticsearch"] {
            let text = format!(
                "{}[logging]\nbackend = \"{backend}\"\n",
                many(MAX_SERVICE_DASHBOARDS + 1)
            );
            let m = model(&text);
            let g = m.provisioning.as_ref().unwrap();
            let board = g
                .dashboards
                .iter()
                .find(|d| d.uid == "big-services")
                .unwrap();
            let logs = board
                .panels()
                .into_iter()
                .find(|p| p["type"] == "logs")
                .unwrap();
            let target = &logs["targets"][0];
            let q = target["expr"]
                .as_str()
                .or(target["query"].as_str())
                .unwrap();
            assert!(q.contains("$service(-[0-9]+)?"), "{backend}: {q}");
            crate::verify::verify(&m, &rendered(&m)).unwrap();
        }
    }

    #[test]
    fn a_large_project_gets_one_templated_service_dashboard() {
        let m = model(&many(MAX_SERVICE_DASHBOARDS));
        let g = m.provisioning.as_ref().unwrap();
        let n = g.dashboards.iter().filter(|d| d.kind == "service").count();
        assert_eq!(n, MAX_SERVICE_DASHBOARDS);

        let m = model(&many(MAX_SERVICE_DASHBOARDS + 1));
        let g = m.provisioning.as_ref().unwrap();
        let svc: Vec<&Dashboard> = g
            .dashboards
            .iter()
            .filter(|d| d.kind == "service")
            .collect();
        assert_eq!(svc.len(), 1);
        assert_eq!(svc[0].uid, "big-services");
        assert!(
            svc[0]
                .json
                .contains(r#"name=~\"big[-_]$service(-[0-9]+)?[-_][0-9]+\""#)
        );
        assert!(
            svc[0]
                .json
                .contains(r#"service:http_requests:rate5m{service=\"$service\""#)
        );
        let overview = &g.dashboards[0];
        assert!(overview.json.contains("/d/big-services"));
        crate::verify::verify(&m, &rendered(&m)).unwrap();
    }

    #[test]
    fn substitute_replaces_both_spellings() {
        let v = Vars::new("dev", ".*");
        assert_eq!(
            substitute(
                "rate(x{environment=\"${environment}\",instance=~\"$instance\"}[$__rate_interval])",
                &v
            ),
            "rate(x{environment=\"dev\",instance=~\".*\"}[1m])"
        );
    }

    #[test]
    fn without_alertmanager_or_exporters_there_is_less() {
        let m = model(
            r#"
[project]
name = "tiny"
profile = "minimal"
environments = ["production"]
[[service]]
name = "api"
image = "ghcr.io/acme/api:1.0.0"
port = 8080
metrics = {}
"#,
        );
        let g = m.provisioning.as_ref().unwrap();
        assert_eq!(g.datasources.len(), 1);
        let kinds: Vec<&str> = g.dashboards.iter().map(|d| d.kind.as_str()).collect();
        assert_eq!(kinds, ["overview", "service", "monitoring"]);
        let grafana = m.compose.iter().find(|c| c.name == "grafana").unwrap();
        assert!(!grafana.environment.contains_key("GF_SERVER_ROOT_URL"));
        crate::verify::verify(&m, &rendered(&m)).unwrap();
    }

    #[test]
    fn logql_and_lucene_checks() {
        for ok in [
            r#"{service=~"api|web",environment="production"}"#,
            r#"{service="api"} |= "error" != "debug" | json"#,
            r#"{service=~"$service(-[0-9]+)?"} |~ "time(out)?""#,
        ] {
            check_logql(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (bad, why) in [
            (r#"service="api""#, "stream selector"),
            (r#"{}"#, "empty string"),
            (r#"{service=~".*"}"#, "empty string"),
            (r#"{service=~"(api"}"#, "invalid"),
            (r#"{service="api"} | nonsense"#, "unknown pipeline stage"),
            (r#"{service="api}"#, "not closed"),
            (r#"{service=="api"}"#, "string"),
        ] {
            let e = check_logql(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        check_lucene(r#"service.name:/api(-[0-9]+)?/ AND environment:"production""#).unwrap();
        for bad in ["", r#"service.name:"api"#, "(a AND b", r#":"x""#] {
            assert!(check_lucene(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn logs_panels_query_their_datasource_and_are_checked() {
        let text = format!(
            "{}\n[logging]\nbackend = \"loki\"\n",
            include_str!("../examples/shop/obsgen.toml")
        );
        let m = model(&text);
        let g = m.provisioning.as_ref().unwrap();
        assert!(g.datasources.iter().any(|d| d.uid == LOKI_UID));
        let board = g
            .dashboards
            .iter()
            .find(|d| d.uid == "shop-svc-gateway")
            .unwrap();
        let logs = board
            .panels()
            .into_iter()
            .find(|p| p["type"] == "logs")
            .unwrap();
        assert_eq!(logs["datasource"]["uid"], "${logs}");
        assert_eq!(
            logs["targets"][0]["expr"],
            "{service=~\"gateway\",environment=\"$environment\"}"
        );
        let mut files = rendered(&m);
        crate::verify::verify(&m, &files).unwrap();
        let path = format!("{DASHBOARDS_OUT}/services/shop-svc-gateway.json");
        replace(&mut files, &path, "{service=~", "{service~");
        let e = crate::verify::verify(&m, &files).unwrap_err().to_string();
        assert!(e.contains("LogQL"), "{e}");
        // The logs variable pointing at a datasource that is not provisioned.
        let mut files = rendered(&m);
        replace(
            &mut files,
            &path,
            "\"value\":\"loki\"",
            "\"value\":\"elastic\"",
        );
        let e = crate::verify::verify(&m, &files).unwrap_err().to_string();
        assert!(e.contains("datasource uid `elastic`"), "{e}");
    }
}
