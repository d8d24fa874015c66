//! Alertmanager's part of `rules/monitoring.yml`: Prometheus failing to send it alerts,
//! and its own notifications and configuration reload, with their tests.

use crate::model::Contribution;
use crate::rules::*;

use crate::components::prometheus::rules::{builder, self_labels};

pub(super) fn contribute(out: &mut Contribution) {
    let mut b = builder("monitoring");
    let prom = self_labels();
    let mut am = prom.clone();
    am.insert(
        "alertmanager".into(),
        "http://alertmanager:9093/api/v2/alerts".into(),
    );
    let errors = selector("prometheus_notifications_errors_total", &am);
    b.counter_rate_alert(
        spec(
            "PrometheusNotificationsFailing",
            "rate(prometheus_notifications_errors_total{job=\"prometheus\"}[5m]) > 0".into(),
            "5m",
            "warning",
            Text::new().t("Prometheus cannot send alerts to Alertmanager"),
            Text::new()
                .t("Sending alerts to ")
                .l("alertmanager")
                .t(" fails (")
                .v(Fmt::Fixed(3))
                .t(" errors/s)."),
        ),
        errors.clone(),
        am.clone(),
        "one error a minute",
        "no error",
    );
    let amx = labels(&[
        ("environment", ENV),
        ("instance", "alertmanager:9093"),
        ("integration", "slack"),
        ("job", "alertmanager"),
        ("service", "alertmanager"),
    ]);
    let failed = selector("alertmanager_notifications_failed_total", &amx);
    b.counter_rate_alert(
        spec(
            "AlertmanagerNotificationsFailing",
            "rate(alertmanager_notifications_failed_total{job=\"alertmanager\"}[5m]) > 0".into(),
            "5m",
            "warning",
            Text::new().t("Alertmanager cannot deliver notifications"),
            Text::new()
                .t("Notifications through ")
                .l("integration")
                .t(" fail (")
                .v(Fmt::Fixed(3))
                .t(" failures/s)."),
        ),
        failed.clone(),
        amx.clone(),
        "one failure a minute",
        "no failure",
    );
    let amb = labels(&[
        ("environment", ENV),
        ("instance", "alertmanager:9093"),
        ("job", "alertmanager"),
        ("service", "alertmanager"),
    ]);
    let am_reload = selector("alertmanager_config_last_reload_successful", &amb);
    b.gauge_zero_alert(
        spec(
            "AlertmanagerConfigReloadFailed",
            "alertmanager_config_last_reload_successful{job=\"alertmanager\"} == 0".into(),
            "5m",
            "warning",
            Text::new().t("Alertmanager configuration reload failed"),
            Text::new()
                .t("Alertmanager ")
                .l("instance")
                .t(" runs an old configuration: the last reload failed (value ")
                .v(Fmt::Fixed(0))
                .t(")."),
        ),
        Gauge {
            series: am_reload.clone(),
            result: amb.clone(),
            samples: 15,
            eval: "10m",
            firing: "the reload failed",
            quiet: "the reload succeeded",
        },
    );
    out.rule_parts.push(b.part(Place::Stack));
}
