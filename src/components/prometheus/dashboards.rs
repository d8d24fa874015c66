//! The Prometheus datasource (the default one) and the monitoring-stack dashboard:
//! Prometheus, Alertmanager and Grafana themselves, and the optional components
//! Prometheus scrapes.

use std::collections::BTreeMap;

use serde_json::json;

use crate::components::{alertmanager, logs, storage, traces};
use crate::grafana::PROMETHEUS_UID;
use crate::grafana::kit::*;
use crate::model::*;

/// The Prometheus datasource and the monitoring-stack dashboard.
pub(super) fn contribute(s: &Settled, out: &mut Contribution) {
    out.datasources.push(Datasource {
        name: "Prometheus".into(),
        uid: PROMETHEUS_UID.into(),
        kind: "prometheus".into(),
        url: format!("http://{}:{}", s.prometheus.name, s.prometheus.port),
        default: true,
        basic_auth_user: Some(s.web.username.clone()),
        basic_auth_password: Some(format!("$__file{{{}}}", s.web.password_file)),
        json_data: BTreeMap::from([
            ("httpMethod".to_string(), json!("POST")),
            ("timeInterval".to_string(), json!(s.max_scrape_interval)),
        ]),
    });
    out.dashboards.push(monitoring(s));
}

/// The scrape jobs of the optional components (logs, traces, storage) that the settled
/// input runs, in the order their components add them to `prometheus.yml`.
pub fn component_jobs(s: &Settled) -> Vec<&'static str> {
    let mut jobs = Vec::new();
    if s.logging == LogBackend::Loki {
        jobs.extend([logs::LOKI, logs::ALLOY]);
    }
    match s.tracing {
        TraceBackend::Tempo => jobs.extend([traces::TEMPO, traces::COLLECTOR]),
        TraceBackend::Jaeger => jobs.extend([traces::JAEGER, traces::COLLECTOR]),
        TraceBackend::None => {}
    }
    if s.addons.buckets.is_some() {
        jobs.push(storage::MINIO);
    }
    jobs
}

fn monitoring(settled: &Settled) -> Dashboard {
    let mut b = Board::new(
        settled,
        "monitoring",
        "monitoring",
        uid(&[&settled.project, "monitoring"]),
        format!("{}: monitoring stack", settled.project),
    );
    b.description = "Prometheus, Alertmanager and Grafana themselves.".into();
    let mut jobs = vec!["prometheus"];
    if settled.components.alertmanager {
        jobs.push(alertmanager::NAME);
    }
    if settled.grafana.is_some() {
        jobs.push("grafana");
    }
    let own = jobs.len();
    jobs.extend(component_jobs(settled));
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
    if settled.components.alertmanager {
        let am = format!("job=\"{}\",{ENV}", alertmanager::NAME);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The monitoring dashboard shows the optional components' jobs exactly as
    /// `prometheus.yml` scrapes them, in its order, for every logs × traces × storage.
    #[test]
    fn component_jobs_are_the_scraped_ones_in_scrape_order() {
        let storage = ["", "[storage]\nminio = { buckets = [\"a-b\"] }\n"];
        for logging in ["none", "loki", "elasticsearch"] {
            for tracing in ["none", "tempo", "jaeger"] {
                for storage in storage {
                    let text = format!(
                        "[project]\nname = \"shop\"\n[logging]\nbackend = \"{logging}\"\n[tracing]\nbackend = \"{tracing}\"\n{storage}"
                    );
                    let m: crate::manifest::Manifest = toml::from_str(&text).unwrap();
                    let model = crate::assemble::model(&m, "obsgen.toml");
                    let scraped: Vec<&str> = model
                        .scrape_jobs
                        .iter()
                        .map(|j| j.name.as_str())
                        .filter(|j| crate::components::own_down_alert_jobs().any(|n| n == *j))
                        .collect();
                    assert_eq!(component_jobs(&model), scraped, "{text}");
                }
            }
        }
    }
}
