//! Prometheus's rules: the monitoring stack's own rules file, `rules/monitoring.yml`
//! ("the monitoring stack itself"), which other components add their parts to (see
//! [`crate::model::rules::Place`]): Prometheus's own health, `PrometheusTargetMissing`
//! over every scrape job without a down alert of its own (an assembly step), the down
//! alerts of the optional components ([`probed_down`], [`scraped_down`]) and the
//! Watchdog.

use std::collections::BTreeMap;

use crate::model::Contribution;
use crate::rules::*;

/// Name of the monitoring stack's rules file.
pub const FILE: &str = "monitoring";
/// What it holds (its header).
pub const ABOUT: &str = "the monitoring stack itself";

/// A builder of a part of `rules/monitoring.yml`, in group `group`.
pub fn builder(group: &str) -> Builder {
    // A builder starts with a group named after its file.
    let mut b = Builder::new(FILE, ABOUT);
    if group != FILE {
        b.group(group);
    }
    b
}

/// The labels of Prometheus's own series as its self-scrape sees them (test input).
pub(crate) fn self_labels() -> BTreeMap<String, String> {
    labels(&[
        ("environment", ENV),
        ("instance", "localhost:9090"),
        ("job", "prometheus"),
        ("service", "prometheus"),
    ])
}

/// Prometheus's own health (configuration reload, rule evaluation) and the Watchdog.
pub(super) fn contribute(out: &mut Contribution, remote_write: bool) {
    let mut b = builder("monitoring");
    let prom = self_labels();
    let reload = selector("prometheus_config_last_reload_successful", &prom);
    b.gauge_zero_alert(
        spec(
            "PrometheusConfigReloadFailed",
            // prometheus-mixin PrometheusBadConfig: max_over_time, so one missed scrape
            // does not restart the `for`.
            "max_over_time(prometheus_config_last_reload_successful{job=\"prometheus\"}[5m]) == 0"
                .into(),
            "10m",
            "warning",
            Text::new().t("Prometheus configuration reload failed"),
            Text::new()
                .t("Prometheus ")
                .l("instance")
                .t(" runs an old configuration: the last reload failed (value ")
                .v(Fmt::Fixed(0))
                .t(")."),
        ),
        Gauge {
            series: reload.clone(),
            result: prom.clone(),
            samples: 20,
            eval: "14m",
            firing: "the reload failed",
            quiet: "the reload succeeded",
        },
    );
    let mut grp = prom.clone();
    grp.insert(
        "rule_group".into(),
        "/etc/prometheus/rules/host.yml;host".into(),
    );
    let failures = selector("prometheus_rule_evaluation_failures_total", &grp);
    b.alerts(
        vec![spec(
            "PrometheusRuleEvaluationFailures",
            "increase(prometheus_rule_evaluation_failures_total{job=\"prometheus\"}[5m]) > 0"
                .into(),
            "0m",
            "warning",
            Text::new().t("Prometheus rules fail to evaluate"),
            Text::new()
                .v(Fmt::Fixed(0))
                .t(" evaluations of rule group ")
                .l("rule_group")
                .t(" failed in 5 minutes."),
        )],
        vec![vec![case(
            "one failure a minute",
            vec![(failures.clone(), "0x5 1+1x10".into())],
            "12m",
            vec![(grp.clone(), 5.0)],
        )]],
        vec![case(
            "no failure",
            vec![(failures.clone(), "0x15".into())],
            "12m",
            vec![],
        )],
    );
    super::mixin::add(&mut b, &prom, remote_write);
    out.rule_parts.push(b.part(Place::Stack));

    let mut b = builder("watchdog");
    b.alerts(
        vec![spec(
            "Watchdog",
            "vector(1)".into(),
            "0m",
            "none",
            Text::new().t("Alerting pipeline is alive"),
            Text::new().t("This alert always fires. If it stops arriving, Prometheus or Alertmanager is broken (value ").v(Fmt::Fixed(0)).t(")."),
        )],
        vec![vec![case("always", vec![], "1m", vec![(BTreeMap::new(), 1.0)])]],
        vec![],
    );
    out.rule_parts.push(b.part(Place::Watchdog));
}

/// `PrometheusTargetMissing` over `others`, the scrape jobs that no other alert watches
/// (none when there are none). The assembler calls it: only the assembled jobs say which
/// those are.
pub fn target_missing(others: &[&str]) -> Option<RulePart> {
    let job = *others.first()?;
    let mut b = builder("monitoring");
    let t = labels(&[
        ("environment", ENV),
        ("instance", &format!("{job}:9100")),
        ("job", job),
        ("service", job),
    ]);
    let up = selector("up", &t);
    b.gauge_zero_alert(
        spec(
            "PrometheusTargetMissing",
            format!("up{{job=~\"{}\"}} == 0", others.join("|")),
            "5m",
            "warning",
            Text::new().t("A monitoring target is down"),
            Text::new()
                .t("Prometheus cannot scrape ")
                .l("instance")
                .t(" (job ")
                .l("job")
                .t(", up = ")
                .v(Fmt::Fixed(0))
                .t(") for 5 minutes."),
        ),
        Gauge {
            series: up.clone(),
            result: t.clone(),
            samples: 15,
            eval: "10m",
            firing: "the target is down",
            quiet: "the target is up",
        },
    );
    Some(b.part(Place::Targets))
}

/// A down alert for each of the contribution's probes named in `probed` (Compose
/// service, alert, what stops working), for components without metrics of their own.
pub fn probed_down(out: &mut Contribution, probed: &[(&str, &str, &str)]) {
    let mut b = builder("components");
    for g in &out.probes {
        let Some(service) = g.labels.get("service") else {
            continue;
        };
        let Some((_, alert, what)) = probed.iter().find(|(s, ..)| s == service) else {
            continue;
        };
        let t = labels(&[
            ("environment", ENV),
            ("instance", &g.targets[0]),
            ("job", "probe"),
            ("service", service),
        ]);
        b.gauge_zero_alert(
            spec(
                alert,
                format!("probe_success{{job=\"probe\",service=\"{service}\"}} == 0"),
                "5m",
                "warning",
                Text::new().t(format!("{service} is down")),
                Text::new()
                    .t("The health probe of ")
                    .l("instance")
                    .t(" has failed for 5 minutes (probe_success = ")
                    .v(Fmt::Fixed(0))
                    .t(format!("): {what}.")),
            ),
            Gauge {
                series: selector("probe_success", &t),
                result: t,
                samples: 15,
                eval: "10m",
                firing: "the probe fails",
                quiet: "the probe succeeds",
            },
        );
    }
    push(out, b, Place::Probed);
}

/// A down alert (`up == 0`) for each of the contribution's scrape jobs named in
/// `scraped` (job, alert, what stops working, severity); those jobs are then watched,
/// so `PrometheusTargetMissing` leaves them out.
pub fn scraped_down(out: &mut Contribution, scraped: &[(&str, &str, &str, &'static str)]) {
    let mut b = builder("components");
    for (job, alert, what, severity) in scraped {
        let Some(target) = first_target(out, job) else {
            continue;
        };
        let t = labels(&[
            ("environment", ENV),
            ("instance", &target),
            ("job", job),
            ("service", job),
        ]);
        let up = selector("up", &t);
        let s = spec(
            alert,
            format!("up{{job=\"{job}\"}} == 0"),
            "5m",
            severity,
            Text::new().t(format!("{job} is down")),
            Text::new()
                .t("Prometheus cannot scrape ")
                .l("instance")
                .t(" for 5 minutes (up = ")
                .v(Fmt::Fixed(0))
                .t(format!("): {what}.")),
        );
        b.gauge_zero_alert(
            s,
            Gauge {
                series: up,
                result: t,
                samples: 15,
                eval: "10m",
                firing: "the component is down",
                quiet: "the component is up",
            },
        );
        out.watched_jobs.push(job.to_string());
    }
    push(out, b, Place::Scraped);
}

/// The first target of one of the contribution's scrape jobs, when it has that job.
pub fn first_target(out: &Contribution, job: &str) -> Option<String> {
    let j = out.scrape_jobs.iter().find(|j| j.name == job)?;
    Some(
        out.target_files
            .iter()
            .find(|t| t.path == j.file)
            .and_then(|t| t.groups.first())
            .and_then(|g| g.targets.first())
            .cloned()
            .unwrap_or_default(),
    )
}

/// Adds the part `b` built at `place`, unless it has no rule.
pub fn push(out: &mut Contribution, b: Builder, place: Place) {
    let part = b.part(place);
    if !part.file.groups.is_empty() {
        out.rule_parts.push(part);
    }
}
