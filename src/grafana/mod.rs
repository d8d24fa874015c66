//! Grafana's provisioning, as files: the datasources file, the dashboard provider and
//! one file per dashboard ([`artifacts`]), with the uids, paths and versions they share.
//!
//! The dashboards and datasources themselves belong to the components that are
//! monitored (`src/components/<name>/dashboards.rs`): each builds its own from the
//! settled input with the [`kit`] (panels, variables, the grid, [`uid`]), and the
//! assembler (`src/assemble.rs`) gathers them into `Model.provisioning` when Grafana
//! runs. Everything is decided in Rust — every uid, title, panel, query and threshold —
//! and a thin template prints it.
//!
//! [`check`] checks the rendered files against each other ([`verify`]): every
//! datasource uid a panel names is provisioned, dashboard uids are unique, titles
//! unique per folder, every query parses; [`panel_queries`] lists the queries of one
//! kind of dashboard for a live test.

pub mod check;
pub mod kit;

pub use check::{
    PanelQuery, Parsed, Vars, check_dashboard, check_logql, check_lucene, collect_dashboard,
    panel_queries, parse_all, parse_key, split_regexes, substitute, verify,
};
pub use kit::uid;

pub use crate::model::dashboards::{Dashboard, Datasource, Grafana};
use crate::model::{Artifact, Model, Settled};

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

/// The uid of the logs datasource, when logging is on (the traces datasource links to it).
pub fn logs_uid(s: &Settled) -> Option<&'static str> {
    match s.logging {
        crate::model::LogBackend::Loki => Some(LOKI_UID),
        crate::model::LogBackend::Elasticsearch => Some(ELASTICSEARCH_UID),
        crate::model::LogBackend::None => None,
    }
}

/// The uid of the traces datasource, when tracing is on (the logs datasource links to it).
pub fn traces_uid(s: &Settled) -> Option<&'static str> {
    match s.tracing {
        crate::model::TraceBackend::Tempo => Some(TEMPO_UID),
        crate::model::TraceBackend::Jaeger => Some(JAEGER_UID),
        crate::model::TraceBackend::None => None,
    }
}

/// Grafana's public URL for `[deploy.aws] domain`: its own subdomain, so Grafana
/// serves from `/` both behind a proxy and through an SSH tunnel to its loopback port.
pub fn root_url(domain: &str) -> String {
    format!("https://grafana.{domain}/")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_support::{rendered, replace};

    fn model(text: &str) -> Model {
        let m: crate::manifest::Manifest = toml::from_str(text).unwrap();
        crate::assemble::model(&m, "obsgen.toml")
    }

    fn shop() -> Model {
        model(include_str!("../../examples/shop/obsgen.toml"))
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
    fn without_grafana_no_dashboard_or_datasource_is_gathered() {
        let text = format!(
            "{}\n[components]\ngrafana = false\n",
            include_str!("../../examples/shop/obsgen.toml")
        );
        let m = model(&text);
        assert!(m.provisioning.is_none());
        let files = rendered(&m);
        assert!(
            !files
                .iter()
                .any(|f| f.path.starts_with("monitoring/grafana"))
        );
        crate::verify::verify(&m, &files).unwrap();
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
    fn logs_panels_query_their_datasource_and_are_checked() {
        let text = format!(
            "{}\n[logging]\nbackend = \"loki\"\n",
            include_str!("../../examples/shop/obsgen.toml")
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
