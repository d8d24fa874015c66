//! Service alerts beside the RED ones: the request metric absent while the target is up
//! (every SLO, error and latency alert is silent then) and slow health probes.

use std::collections::BTreeMap;

use crate::rules::*;

/// `ServiceMetricsMissing`: a scraped replica (`up` 1) serves no request metric, for 10m.
/// Its SLO, error-ratio and latency alerts cannot fire (their input is missing): a renamed
/// metric, a different client library, or instrumentation left out of a build.
pub(super) fn metrics_missing(
    b: &mut Builder,
    job: &str,
    base: &BTreeMap<String, String>,
    req: &str,
    status: &str,
) {
    let up = selector("up", base);
    let mut ok = base.clone();
    ok.insert(status.into(), "200".into());
    let requests = selector(req, &ok);
    b.levels(
        vec![spec(
            "ServiceMetricsMissing",
            format!("up{{{job}}} == 1 unless on (job, instance) {req}{{{job}}}"),
            "10m",
            "warning",
            Text::new()
                .t("Service ")
                .l("service")
                .t(" serves no request metric"),
            Text::new()
                .l("instance")
                .t(" of service ")
                .l("service")
                .t(format!(
                    " is scraped but serves no {req}: its SLO, error and latency alerts cannot fire (up = "
                ))
                .v(Fmt::Fixed(0))
                .t(")."),
        )],
        case(
            "scraped, no request metric",
            vec![(up.clone(), "1x20".into())],
            "15m",
            vec![(base.clone(), 1.0)],
        ),
        case(
            "scraped, with its request metric",
            vec![(up, "1x20".into()), (requests, "0+60x20".into())],
            "15m",
            vec![],
        ),
    );
}

/// `ServiceHealthCheckSlow`: the health probe takes over a second on average over 5
/// minutes, for 5m (awesome-prometheus-alerts BlackboxSlowProbe).
pub(super) fn slow_probe(
    b: &mut Builder,
    probe_sel: &str,
    probe_labels: &BTreeMap<String, String>,
) {
    let duration = selector("probe_duration_seconds", probe_labels);
    b.levels(
        vec![spec(
            "ServiceHealthCheckSlow",
            format!("avg_over_time(probe_duration_seconds{{job=\"probe\",{probe_sel}}}[5m]) > 1"),
            "5m",
            "warning",
            Text::new().t("Health check of ").l("service").t(" is slow"),
            Text::new()
                .t("The blackbox probe of ")
                .l("instance")
                .t(" takes ")
                .v(Fmt::Duration)
                .t(" on average (threshold 1s)."),
        )],
        case(
            "the probe takes 2s",
            vec![(duration.clone(), "2x20".into())],
            "15m",
            vec![(probe_labels.clone(), 2.0)],
        ),
        case(
            "the probe takes 50ms",
            vec![(duration, "0.05x20".into())],
            "15m",
            vec![],
        ),
    );
}
