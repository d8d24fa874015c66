//! The dashboard kit: panels, variables, the grid layout and the uid of a dashboard,
//! the pieces every component's dashboards are built from. Dashboards are JSON values
//! (schemaVersion [`SCHEMA_VERSION`], `gridPos` on every panel, datasources by uid
//! through the `$datasource` variable), laid out by [`Board::finish`] so a diff shows
//! what changed. Only what differs from Grafana's defaults is written.

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use super::{DASHBOARDS_OUT, MAX_UID, PROMETHEUS_UID, SCHEMA_VERSION};
use std::collections::BTreeMap;

use crate::model::{Dashboard, Datasource, Settled};

/// The environment matcher of every panel query (the `$environment` variable).
pub const ENV: &str = "environment=\"$environment\"";

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

pub fn ds() -> Json {
    json!({ "type": "prometheus", "uid": "${datasource}" })
}

pub fn target(i: usize, expr: &str, legend: &str) -> Json {
    // The panel's datasource applies to its targets; Grafana's defaults are left out.
    json!({
        "refId": ((b'A' + i as u8) as char).to_string(),
        "expr": expr,
        "legendFormat": legend,
    })
}

pub fn targets<S: AsRef<str>>(queries: &[(S, &str)]) -> Json {
    Json::Array(
        queries
            .iter()
            .enumerate()
            .map(|(i, (e, l))| target(i, e.as_ref(), l))
            .collect(),
    )
}

/// Threshold steps: green below, then each `(value, color)`.
pub fn steps(lines: &[(f64, &str)]) -> Json {
    let mut s = vec![json!({ "color": "green", "value": null })];
    s.extend(lines.iter().map(|(v, c)| json!({ "color": c, "value": v })));
    json!({ "mode": "absolute", "steps": s })
}

/// A time series; `lines` are drawn as threshold lines (the alert thresholds).
/// Only what differs from Grafana's defaults is written.
pub fn timeseries<S: AsRef<str>>(
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
pub fn stat(title: &str, unit: &str, queries: &[(&str, &str)], lines: &[(f64, &str)]) -> Json {
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
pub fn up_stat(title: &str, queries: &[(&str, &str)]) -> Json {
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
pub struct Board {
    pub uid: String,
    pub title: String,
    pub folder: String,
    pub kind: String,
    pub description: String,
    pub tags: Vec<String>,
    pub vars: Vec<Json>,
    pub links: Vec<Json>,
    pub panels: Vec<Json>,
    pub x: u32,
    pub y: u32,
    pub row_h: u32,
}

impl Board {
    pub fn new(settled: &Settled, kind: &str, folder: &str, uid: String, title: String) -> Board {
        Board {
            uid,
            title,
            folder: folder.into(),
            kind: kind.into(),
            description: String::new(),
            tags: vec!["obsgen".into(), settled.project.clone(), kind.into()],
            vars: vec![datasource_var(), environment_var(settled)],
            links: vec![json!({
                "type": "dashboards",
                "title": format!("{} dashboards", settled.project),
                "tags": ["obsgen", settled.project],
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
    pub fn add(&mut self, w: u32, h: u32, mut panel: Json) {
        if self.x + w > 24 {
            self.newline();
        }
        panel["id"] = json!(self.panels.len() + 1);
        panel["gridPos"] = json!({ "x": self.x, "y": self.y, "w": w, "h": h });
        self.panels.push(panel);
        self.x += w;
        self.row_h = self.row_h.max(h);
    }

    pub fn newline(&mut self) {
        if self.x > 0 {
            self.y += self.row_h;
        }
        self.x = 0;
        self.row_h = 0;
    }

    /// A full-width row header.
    pub fn row(&mut self, title: &str) {
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

    pub fn finish(self) -> Dashboard {
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
pub fn layout(v: &Json, depth: usize, indent: usize, out: &mut String) {
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

pub fn datasource_var() -> Json {
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

pub fn environment_var(settled: &Settled) -> Json {
    let first = settled
        .environment_names
        .first()
        .cloned()
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
pub fn instance_var(selector: &str, label: &str) -> Json {
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
pub fn jobs_matcher(label: &str, names: &[&str]) -> String {
    format!("{label}=~\"{}\"", names.join("|"))
}

/// Regex of the Compose containers of these Compose services: with
/// `COMPOSE_PROJECT_NAME=<project>` they are `<project>-<service>-<n>` under Compose v2 and
/// `<project>_<service>_<n>` under docker-compose v1 (cAdvisor's `name`).
pub fn containers_regex(project: &str, compose_services: &[String]) -> String {
    format!("{project}[-_]({})[-_][0-9]+", compose_services.join("|"))
}

/// A recording-rule query and, when known, the per-instance one from the raw metric.
pub fn with_raw(
    rule: String,
    legend: &'static str,
    raw: Option<String>,
) -> Vec<(String, &'static str)> {
    let mut q = vec![(rule, legend)];
    q.extend(raw.map(|r| (r, "{{instance}}")));
    q
}

/// A datasource without login or settings (the caller adds them).
pub fn datasource(name: &str, uid: &str, kind: &str, url: String) -> Datasource {
    Datasource {
        name: name.into(),
        uid: uid.into(),
        kind: kind.into(),
        url,
        default: false,
        basic_auth_user: None,
        basic_auth_password: None,
        json_data: BTreeMap::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
