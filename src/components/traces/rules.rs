//! The traces component's part of `rules/monitoring.yml`: `OtelCollectorDown`,
//! `TempoDown` or `JaegerDown` (scraped), and `OtelCollectorExportFailing`.

use crate::model::{Contribution, Settled};
use crate::rules::*;

use super::{COLLECTOR, JAEGER, TEMPO};
use crate::components::prometheus::rules::{builder, first_target, push, scraped_down};

pub(super) fn contribute(s: &Settled, out: &mut Contribution) {
    scraped_down(out, SCRAPED);
    export_failing(s, out);
}

/// Its scrape jobs with a down alert: (job, alert, what stops working, severity).
pub const SCRAPED: &[(&str, &str, &str, &str)] = &[
    (
        COLLECTOR,
        "OtelCollectorDown",
        "traces from the apps are dropped",
        "warning",
    ),
    (
        TEMPO,
        "TempoDown",
        "traces are not stored or searchable",
        "warning",
    ),
    (
        JAEGER,
        "JaegerDown",
        "traces are not stored or searchable",
        "warning",
    ),
];

/// The collector is up but its trace store refuses or cannot be reached: spans are
/// lost while `OtelCollectorDown` stays quiet. Its counter (collector telemetry
/// through the Prometheus reader, which adds `_total`) carries the `exporter` label.
fn export_failing(s: &Settled, out: &mut Contribution) {
    let Some(target) = first_target(out, COLLECTOR) else {
        return;
    };
    let mut b = builder("components");
    // The exporter is named after the backend (`otlp/tempo`, `otlp/jaeger`).
    let exporter = format!("otlp/{}", s.tracing.as_str());
    let t = labels(&[
        ("environment", ENV),
        ("exporter", &exporter),
        ("instance", &target),
        ("job", COLLECTOR),
        ("service", COLLECTOR),
    ]);
    b.counter_rate_alert(
        spec(
            "OtelCollectorExportFailing",
            format!(
                "rate(otelcol_exporter_send_failed_spans_total{{job=\"{COLLECTOR}\"}}[5m]) > 0"
            ),
            "5m",
            "warning",
            Text::new().t("The OpenTelemetry collector cannot export traces"),
            Text::new()
                .t("Exporter ")
                .l("exporter")
                .t(" of ")
                .l("instance")
                .t(" fails to send spans (")
                .v(Fmt::Fixed(3))
                .t(" spans/s): traces are lost."),
        ),
        selector("otelcol_exporter_send_failed_spans_total", &t),
        t,
        "one failed span a minute",
        "no failed span",
    );
    push(out, b, Place::Pipeline);
}
