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
    // prometheus-mixin (prometheus@v3.5.0 documentation/prometheus-mixin/alerts.libsonnet,
    // PrometheusErrorSendingAlertsToSomeAlertmanagers): errors over sent above 1 %.
    let errors = selector("prometheus_notifications_errors_total", &am);
    let sent = selector("prometheus_notifications_sent_total", &am);
    b.alerts(
        vec![spec(
            "PrometheusNotificationsFailing",
            "rate(prometheus_notifications_errors_total{job=\"prometheus\"}[5m]) / rate(prometheus_notifications_sent_total{job=\"prometheus\"}[5m]) > 0.01".into(),
            "15m",
            "warning",
            Text::new().t("Prometheus cannot send alerts to Alertmanager"),
            Text::new()
                .v(Fmt::Percent)
                .t(" of the alerts sent to ")
                .l("alertmanager")
                .t(" fail."),
        )],
        vec![vec![case(
            "5% of the alerts fail",
            vec![(sent.clone(), "0+1000x30".into()), (errors.clone(), "0+50x30".into())],
            "25m",
            vec![(am.clone(), 0.05)],
        )]],
        vec![case(
            "0.1% of the alerts fail",
            vec![(sent, "0+1000x30".into()), (errors, "0+1x30".into())],
            "25m",
            vec![],
        )],
    );
    // alertmanager-mixin (alertmanager@v0.28.1 doc/alertmanager-mixin/alerts.libsonnet,
    // AlertmanagerFailedToSendAlerts): failed over sent notifications above 1 %.
    let amx = labels(&[
        ("environment", ENV),
        ("instance", "alertmanager:9093"),
        ("integration", "slack"),
        ("job", "alertmanager"),
        ("service", "alertmanager"),
    ]);
    let mut failed_l = amx.clone();
    failed_l.insert("reason".into(), "other".into());
    let failed = selector("alertmanager_notifications_failed_total", &failed_l);
    let total = selector("alertmanager_notifications_total", &amx);
    b.alerts(
        vec![spec(
            "AlertmanagerNotificationsFailing",
            "rate(alertmanager_notifications_failed_total{job=\"alertmanager\"}[5m]) / ignoring (reason) group_left rate(alertmanager_notifications_total{job=\"alertmanager\"}[5m]) > 0.01".into(),
            "5m",
            "warning",
            Text::new().t("Alertmanager cannot deliver notifications"),
            Text::new()
                .v(Fmt::Percent)
                .t(" of the notifications through ")
                .l("integration")
                .t(" fail."),
        )],
        vec![vec![case(
            "5% of the notifications fail",
            vec![(total.clone(), "0+1000x30".into()), (failed.clone(), "0+50x30".into())],
            "25m",
            vec![(failed_l.clone(), 0.05)],
        )]],
        vec![case(
            "0.1% of the notifications fail",
            vec![(total, "0+1000x30".into()), (failed, "0+1x30".into())],
            "25m",
            vec![],
        )],
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
            // alertmanager-mixin AlertmanagerFailedReload: max_over_time, so one missed
            // scrape does not restart the `for`.
            "max_over_time(alertmanager_config_last_reload_successful{job=\"alertmanager\"}[5m]) == 0".into(),
            "10m",
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
            eval: "14m",
            firing: "the reload failed",
            quiet: "the reload succeeded",
        },
    );
    out.rule_parts.push(b.part(Place::Stack));
}
