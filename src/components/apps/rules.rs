//! The rules of the app services: RED recording rules (request rate, errors, error
//! ratio, latency quantiles) and the alerts down, health probe failing, error ratio,
//! latency and traffic drop, with their tests. Services sharing a metric convention share
//! one rules file (`services.yml`, then `services-<first>.yml` per further convention).

use std::collections::BTreeMap;

use crate::model::settled::ServiceLevels;
use crate::model::{Contribution, Metrics, Service, Settled};
use crate::rules::*;

/// The services' rules files; their scrape jobs have `ServiceDown`.
pub(super) fn contribute(s: &Settled, out: &mut Contribution) {
    // Services sharing a metric convention share one rules file.
    let mut groups: Vec<(&Metrics, Vec<&Service>)> = Vec::new();
    for svc in &s.services {
        let Some(mm) = &svc.metrics else { continue };
        let same = |g: &Metrics| {
            g.requests == mm.requests
                && g.duration == mm.duration
                && g.status_label == mm.status_label
        };
        match groups.iter_mut().find(|(g, _)| same(g)) {
            Some((_, members)) => members.push(svc),
            None => groups.push((mm, vec![svc])),
        }
    }
    for (i, (_, members)) in groups.iter().enumerate() {
        let file = if i == 0 {
            "services".to_string()
        } else {
            format!("services-{}", members[0].name)
        };
        out.rules.extend(service_rules(s, &file, members));
        out.watched_jobs
            .extend(members.iter().map(|m| m.name.clone()));
    }
}

/// The rules of services that share one metric convention: one rule per concern
/// for all of them (selected by job), tested on the first of them.
fn service_rules(s: &Settled, file: &str, svcs: &[&Service]) -> Option<RuleFile> {
    let svc = svcs.first()?;
    let mm = svc.metrics.as_ref()?;
    let name = &svc.name;
    let names: Vec<&str> = svcs.iter().map(|s| s.name.as_str()).collect();
    let about = match names.len() {
        1 => format!("service \"{name}\""),
        n if n <= 8 => format!(
            "services {}",
            names
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        n => format!("{n} services (\"{}\" … \"{}\")", names[0], names[n - 1]),
    };
    let mut b = Builder::new(file, &about);
    let job = matcher("job", &names);
    let svc_sel = matcher("service", &names);
    let instance = mm.targets[0].clone();
    let base = labels(&[
        ("environment", ENV),
        ("instance", &instance),
        ("job", name),
        ("service", name),
    ]);
    let alerts = &s.alerts;
    let for_ = alerts.for_.clone();
    let for_min = minutes(&for_);

    // Recording rules the alerts and dashboards share.
    let (req, dur, status) = (&mm.requests, &mm.duration, &mm.status_label);
    let by = "service, environment";
    b.record(
        "service:http_requests:rate5m",
        format!("sum by ({by}) (rate({req}{{{job}}}[5m]))"),
        BTreeMap::new(),
    );
    b.record(
        "service:http_errors:rate5m",
        // `or 0 * requests`: client libraries create the 5xx series on the first 5xx, so
        // a healthy service has errors 0, not "No data".
        format!("sum by ({by}) (rate({req}{{{job},{status}=~\"5..\"}}[5m])) or (0 * sum by ({by}) (rate({req}{{{job}}}[5m])))"),
        BTreeMap::new(),
    );
    b.record(
        "service:http_error_ratio:rate5m",
        format!(
            "service:http_errors:rate5m{{{svc_sel}}} / service:http_requests:rate5m{{{svc_sel}}}"
        ),
        BTreeMap::new(),
    );
    for (q, rec) in [("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99")] {
        b.record(
            &format!("service:http_request_duration_seconds:{rec}_5m"),
            format!("histogram_quantile({q}, sum by ({by}, le) (rate({dur}_bucket{{{job}}}[5m])))"),
            BTreeMap::new(),
        );
    }

    // Traffic and no 5xx: errors and error ratio are 0 (the 5xx series does not exist yet).
    let only_ok = {
        let mut l = base.clone();
        l.insert(status.clone(), "200".into());
        selector(req, &l)
    };
    let rate_l = labels(&[("environment", ENV), ("service", name)]);
    b.expr_case(
        "traffic, no 5xx: errors and error ratio are 0, not empty",
        vec![(only_ok, "0+60x20".into())],
        "15m",
        [
            "service:http_errors:rate5m",
            "service:http_error_ratio:rate5m",
        ]
        .into_iter()
        .map(|r| {
            (
                format!("{r}{{service=\"{name}\"}}"),
                vec![(selector(r, &rate_l), "0".to_string())],
            )
        })
        .collect(),
    );

    // Target down.
    let up = selector("up", &base);
    b.alerts(
        vec![spec(
            "ServiceDown",
            format!("up{{{job}}} == 0"),
            "2m",
            "critical",
            Text::new().t("Service ").l("service").t(" is down"),
            Text::new()
                .t("Prometheus cannot scrape ")
                .l("instance")
                .t(" of service ")
                .l("service")
                .t(" in ")
                .l("environment")
                .t(" (up = ")
                .v(Fmt::Fixed(0))
                .t(") for 2 minutes."),
        )],
        vec![vec![case(
            "the target has been unreachable for 5 minutes",
            vec![(up.clone(), "0x10".into())],
            "5m",
            vec![(base.clone(), 0.0)],
        )]],
        vec![
            case(
                "the target is up",
                vec![(up.clone(), "1x10".into())],
                "5m",
                vec![],
            ),
            case(
                "down for less than 2 minutes",
                vec![(up.clone(), "1x5 0x5".into())],
                "6m",
                vec![],
            ),
        ],
    );

    // Health probe (blackbox), for the services that have a health path.
    let probed: Vec<&Service> = svcs
        .iter()
        .copied()
        .filter(|s| s.health.is_some())
        .collect();
    if let (Some(first), true) = (probed.first(), s.components.blackbox) {
        let probed_names: Vec<&str> = probed.iter().map(|s| s.name.as_str()).collect();
        let probe_sel = matcher("service", &probed_names);
        let url = format!(
            "http://{}:{}{}",
            first.replicas[0],
            first.port,
            first.health.as_deref().unwrap_or("/")
        );
        let probe_labels = labels(&[
            ("environment", ENV),
            ("instance", &url),
            ("job", "probe"),
            ("service", &first.name),
        ]);
        let probe = selector("probe_success", &probe_labels);
        b.alerts(
            vec![spec(
                "ServiceHealthCheckFailing",
                format!("probe_success{{job=\"probe\",{probe_sel}}} == 0"),
                "2m",
                "critical",
                Text::new()
                    .t("Health check of ")
                    .l("service")
                    .t(" is failing"),
                Text::new()
                    .t("The blackbox probe of ")
                    .l("instance")
                    .t(" has failed for 2 minutes (probe_success = ")
                    .v(Fmt::Fixed(0))
                    .t(")."),
            )],
            vec![vec![case(
                "the probe fails",
                vec![(probe.clone(), "0x10".into())],
                "5m",
                vec![(probe_labels.clone(), 0.0)],
            )]],
            vec![case(
                "the probe succeeds",
                vec![(probe.clone(), "1x10".into())],
                "5m",
                vec![],
            )],
        );
        super::absent::slow_probe(&mut b, &probe_sel, &probe_labels);
    }
    super::absent::metrics_missing(&mut b, &job, &base, req, status);

    // Error ratio and latency: a warning and a critical level per service (`[alerts]`, over
    // which its own `alerts`); services with the same levels share a rule. Tested on the
    // first service; the rules of other levels stay quiet on its series.
    let mut by_levels: Vec<(ServiceLevels, Vec<&str>)> = Vec::new();
    for sv in svcs {
        match by_levels.iter_mut().find(|(l, _)| *l == sv.levels) {
            Some((_, names)) => names.push(&sv.name),
            None => by_levels.push((sv.levels, vec![&sv.name])),
        }
    }
    let first = svc.levels;
    let rate_labels = labels(&[("environment", ENV), ("service", name)]);
    let ok = |code: &str| {
        let mut l = base.clone();
        l.insert(status.clone(), code.into());
        selector(req, &l)
    };
    let error_levels = |l: &ServiceLevels| {
        let mut v = vec![("warning", l.error_rate)];
        if let Some(c) = l.error_rate_critical {
            v.push(("critical", c));
        }
        v
    };
    let mut specs = Vec::new();
    for (l, names) in &by_levels {
        let sel = matcher("service", names);
        for (severity, t) in error_levels(l) {
            specs.push(spec(
                "ServiceHighErrorRate",
                format!("service:http_error_ratio:rate5m{{{sel}}} > {}", num(t)),
                &for_,
                severity,
                Text::new()
                    .t("Service ")
                    .l("service")
                    .t(" is failing requests"),
                Text::new()
                    .v(Fmt::Percent)
                    .t(" of the requests to ")
                    .l("service")
                    .t(" in ".to_string())
                    .l("environment")
                    .t(format!(" fail with 5xx (threshold {}).", percent(t))),
            ));
        }
    }
    // Above both levels of the first service (at least half the requests fail).
    let top = first.error_rate_critical.unwrap_or(first.error_rate);
    let fail_ratio = 0.5_f64.max(top + (1.0 - top) / 2.0).min(0.999);
    let (ok_rate, err_rate) = ((1.0 - fail_ratio) * 120.0, fail_ratio * 120.0);
    let eval = format!("{}m", for_min + 10);
    let steps = for_min + 15;
    let failing = vec![
        (ok("200"), format!("0+{}x{steps}", num(ok_rate))),
        (ok("500"), format!("0+{}x{steps}", num(err_rate))),
    ];
    let mut firing: Vec<Firing> = Vec::new();
    for (l, _) in &by_levels {
        for _ in error_levels(l) {
            let expect = if *l == first {
                vec![(rate_labels.clone(), fail_ratio)]
            } else {
                vec![]
            };
            let series = if firing.is_empty() {
                failing.clone()
            } else {
                vec![]
            };
            firing.push(case(
                &format!("{} of the requests fail", percent(fail_ratio)),
                series,
                &eval,
                expect,
            ));
        }
    }
    b.alerts(
        specs,
        vec![firing],
        vec![case(
            "no request fails",
            vec![
                (ok("200"), format!("0+120x{steps}")),
                (ok("500"), format!("0x{steps}")),
            ],
            &eval,
            vec![],
        )],
    );

    // Latency p95.
    let bucket = |le: &str| {
        let mut l = base.clone();
        l.insert("le".into(), le.into());
        selector(&format!("{dur}_bucket"), &l)
    };
    let mut specs = Vec::new();
    for (l, names) in &by_levels {
        let sel = matcher("service", names);
        for (severity, limit) in [
            ("warning", l.latency_p95_seconds),
            ("critical", l.latency_p95_critical_seconds),
        ] {
            specs.push(spec(
                "ServiceHighLatency",
                format!(
                    "service:http_request_duration_seconds:p95_5m{{{sel}}} > {}",
                    num(limit)
                ),
                &for_,
                severity,
                Text::new().t("Service ").l("service").t(" is slow"),
                Text::new()
                    .t("95% of the requests to ")
                    .l("service")
                    .t(" in ")
                    .l("environment")
                    .t(" take up to ")
                    .v(Fmt::Duration)
                    .t(format!(" (threshold {}).", seconds_text(limit))),
            ));
        }
    }
    // Buckets at the warning t, the critical c and 2c. All requests between t and c:
    // p95 = t + 0.95 (c - t) (warning, not critical); all between c and 2c: p95 = 1.95 c (both).
    let (t, c) = (
        first.latency_p95_seconds,
        first.latency_p95_critical_seconds,
    );
    let (le1, le2, le4) = (num(t), num(c), num(2.0 * c));
    let hist = |counts: [u32; 3]| -> Vec<(String, String)> {
        let mut v = vec![];
        for (le, n) in [
            (le1.as_str(), counts[0]),
            (le2.as_str(), counts[1]),
            (le4.as_str(), counts[2]),
            ("+Inf", counts[2]),
        ] {
            v.push((bucket(le), format!("0+{n}x{steps}")));
        }
        v
    };
    let mid = t + 0.95 * (c - t);
    let high = 1.95 * c;
    let (mut warn_case, mut both_case) = (Vec::new(), Vec::new());
    for (l, _) in &by_levels {
        let mine = *l == first;
        let series = |h: Vec<(String, String)>| if warn_case.is_empty() { h } else { vec![] };
        let wa = if mine {
            vec![(rate_labels.clone(), mid)]
        } else {
            vec![]
        };
        let ba = if mine {
            vec![(rate_labels.clone(), high)]
        } else {
            vec![]
        };
        let name_w = format!(
            "requests take {} (between warning and critical)",
            seconds_text(mid)
        );
        let name_b = format!("requests take {} (above critical)", seconds_text(high));
        let s1 = series(hist([0, 60, 60]));
        let s2 = if both_case.is_empty() {
            hist([0, 0, 60])
        } else {
            vec![]
        };
        warn_case.push(case(&name_w, s1, &eval, wa.clone()));
        warn_case.push(case(&name_w, vec![], &eval, vec![]));
        both_case.push(case(&name_b, s2, &eval, ba.clone()));
        both_case.push(case(&name_b, vec![], &eval, ba));
    }
    b.alerts(
        specs,
        vec![warn_case, both_case],
        vec![case(
            "requests are faster than the threshold",
            hist([60, 60, 60]),
            &eval,
            vec![],
        )],
    );

    // Traffic dropped to zero: no requests now, but some an hour ago.
    let total = selector(req, &{
        let mut l = base.clone();
        l.insert(status.clone(), "200".into());
        l
    });
    b.alerts(
        vec![spec(
            "ServiceNoTraffic",
            format!(
                "service:http_requests:rate5m{{{svc_sel}}} == 0 and service:http_requests:rate5m{{{svc_sel}}} offset 1h > 0"
            ),
            "10m",
            "warning",
            Text::new().t("Service ").l("service").t(" gets no traffic"),
            Text::new()
                .l("service")
                .t(" in ")
                .l("environment")
                .t(" has received no requests for 10 minutes (")
                .v(Fmt::Fixed(1))
                .t(" requests/s), but had traffic an hour earlier."),
        )],
        vec![vec![case(
            "traffic stops after 70 minutes",
            vec![(total.clone(), "0+60x70 4200x30".into())],
            "95m",
            vec![(rate_labels.clone(), 0.0)],
        )]],
        vec![case("steady traffic", vec![(total.clone(), "0+60x100".into())], "95m", vec![])],
    );
    Some(b.finish())
}
