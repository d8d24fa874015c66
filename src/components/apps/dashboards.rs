//! The dashboards of the apps: the stack overview, one dashboard per service (or one
//! with a `$service` variable in a large project) and one per availability SLO. Their
//! queries read the recording rules of the apps ([`crate::rules`]), cAdvisor's
//! container metrics and the blackbox probes, as the settled input turns them on.

use serde_json::{Value as Json, json};

use crate::grafana::kit::*;
use crate::model::*;

/// The overview, the service dashboards and the SLO dashboards.
pub(super) fn contribute(s: &Settled, out: &mut Contribution) {
    let shown: Vec<&Service> = s
        .services
        .iter()
        .filter(|x| x.metrics.is_some() || s.components.cadvisor)
        .collect();
    // One dashboard per service, linked from the overview; a large project gets one
    // dashboard with a `$service` variable instead (a folder of a thousand is no help).
    let per_service: Vec<Dashboard> = if shown.len() <= MAX_SERVICE_DASHBOARDS {
        shown.iter().map(|x| service(s, x)).collect()
    } else {
        vec![services_templated(s)]
    };
    let links: Vec<(String, String)> = if shown.len() <= MAX_SERVICE_DASHBOARDS {
        shown
            .iter()
            .zip(&per_service)
            .map(|(x, d)| (format!("service {}", x.name), d.uid.clone()))
            .collect()
    } else {
        per_service
            .iter()
            .map(|d| ("services".to_string(), d.uid.clone()))
            .collect()
    };
    out.dashboards.push(overview(s, &links));
    out.dashboards.extend(per_service);
    for slo_of in &s.alerts.slo {
        if s.services
            .iter()
            .any(|x| x.name == slo_of.service && x.metrics.is_some())
        {
            out.dashboards.push(slo(s, slo_of));
        }
    }
}

fn overview(settled: &Settled, services: &[(String, String)]) -> Dashboard {
    let mut b = Board::new(
        settled,
        "overview",
        "overview",
        uid(&[&settled.project, "overview"]),
        format!("{}: stack overview", settled.project),
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
    let metered: Vec<&str> = settled
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
                &[(settled.alerts.error_rate, "red")],
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
                &[(settled.alerts.latency_p95_seconds, "red")],
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

fn service(settled: &Settled, s: &Service) -> Dashboard {
    service_board(
        settled,
        Subject {
            uid: uid(&[&settled.project, "svc", &s.name]),
            title: format!("{}: service {}", settled.project, s.name),
            name: s.name.clone(),
            containers: containers_regex(&settled.project, &s.replicas),
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
fn services_templated(settled: &Settled) -> Dashboard {
    let metered: Vec<&Metrics> = settled
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
        settled,
        Subject {
            uid: uid(&[&settled.project, "services"]),
            title: format!("{}: service", settled.project),
            name: "$service".into(),
            containers: format!("{}[-_]$service(-[0-9]+)?[-_][0-9]+", settled.project),
            compose: "$service(-[0-9]+)?".into(),
            raw,
            red: !metered.is_empty(),
            health: settled.services.iter().any(|s| s.health.is_some()),
        },
        Some(var),
    )
}

fn service_board(settled: &Settled, s: Subject, var: Option<Json>) -> Dashboard {
    let mut b = Board::new(settled, "service", "services", s.uid, s.title);
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
                &[(settled.alerts.error_rate, "red")],
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
                &[(settled.alerts.latency_p95_seconds, "red")],
            ),
        );
    }
    if settled.components.blackbox && s.health {
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
    if settled.components.cadvisor {
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
                    &crate::components::cadvisor::rules::restarts(&sel, "1h", "name"),
                    "{{name}}",
                )],
                &[],
            ),
        );
    }
    if let Some((var, panel)) = crate::components::logs::dashboards::logs_panel(settled, &s.compose)
    {
        b.vars.push(var);
        b.row("Logs");
        b.add(24, 12, panel);
    }
    b.finish()
}

fn slo(settled: &Settled, s: &Slo) -> Dashboard {
    let mut b = Board::new(
        settled,
        "slo",
        "slo",
        uid(&[&settled.project, "slo", &s.service]),
        format!("{}: SLO {} availability", settled.project, s.service),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_support::rendered;

    fn model(text: &str) -> Model {
        let m: crate::manifest::Manifest = toml::from_str(text).unwrap();
        crate::assemble::model(&m, "obsgen.toml")
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
}
