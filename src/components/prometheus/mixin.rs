//! Prometheus's own alerts taken from the prometheus-mixin (prometheus/prometheus@v3.5.0
//! documentation/prometheus-mixin/alerts.libsonnet; where it has none, from
//! awesome-prometheus-alerts dist/rules/prometheus-self-monitoring/embedded-exporter.yml):
//! TSDB reloads, compactions and WAL corruptions, ingestion stopped, Alertmanager not
//! connected or its queue full, missed and slow rule evaluations, duplicate and out-of-order
//! samples, and remote_write failing or behind (when remote_write is configured). Each
//! with a firing and a quiet promtool case.

use std::collections::BTreeMap;

use crate::rules::*;

pub(super) fn add(b: &mut Builder, prom: &BTreeMap<String, String>, remote_write: bool) {
    // prometheus-mixin PrometheusTSDBReloadsFailing / PrometheusTSDBCompactionsFailing:
    // any failure in 3 hours, for 4h.
    for (alert, metric, what) in [
        (
            "PrometheusTsdbReloadsFailing",
            "prometheus_tsdb_reloads_failures_total",
            "block reloads from disk",
        ),
        (
            "PrometheusTsdbCompactionsFailing",
            "prometheus_tsdb_compactions_failed_total",
            "compactions",
        ),
    ] {
        let s = selector(metric, prom);
        b.levels(
            vec![spec(
                alert,
                format!("increase({metric}{{job=\"prometheus\"}}[3h]) > 0"),
                "4h",
                "warning",
                Text::new().t(format!("Prometheus TSDB {what} fail")),
                Text::new()
                    .t("Prometheus ")
                    .l("instance")
                    .t(" had ")
                    .v(Fmt::Fixed(0))
                    .t(format!(" failed {what} in 3 hours.")),
            )],
            case(
                "a failure a minute",
                vec![(s.clone(), "0+1x300".into())],
                "260m",
                vec![(prom.clone(), 180.0)],
            ),
            case("no failure", vec![(s, "0x300".into())], "260m", vec![]),
        );
    }

    // awesome-prometheus-alerts PrometheusTsdbWalCorruptions: any WAL corruption.
    let wal = selector("prometheus_tsdb_wal_corruptions_total", prom);
    b.counter_rate_alert(
        spec(
            "PrometheusTsdbWalCorruptions",
            "rate(prometheus_tsdb_wal_corruptions_total{job=\"prometheus\"}[5m]) > 0".into(),
            "0m",
            "critical",
            Text::new().t("Prometheus's write-ahead log is corrupt"),
            Text::new()
                .t("Prometheus ")
                .l("instance")
                .t(" finds its WAL corrupt (")
                .v(Fmt::Fixed(3))
                .t(" corruptions/s): recent samples may be lost."),
        ),
        wal,
        prom.clone(),
        "one corruption a minute",
        "no corruption",
    );

    // prometheus-mixin PrometheusNotIngestingSamples: no sample appended while it has
    // targets or rules, for 10m.
    let mut float = prom.clone();
    float.insert("type".into(), "float".into());
    let appended = selector("prometheus_tsdb_head_samples_appended_total", &float);
    let mut grp = prom.clone();
    grp.insert(
        "rule_group".into(),
        "/etc/prometheus/rules/host.yml;host".into(),
    );
    let rules = selector("prometheus_rule_group_rules", &grp);
    b.levels(
        vec![spec(
            "PrometheusNotIngestingSamples",
            "(sum without (type) (rate(prometheus_tsdb_head_samples_appended_total{job=\"prometheus\"}[5m])) <= 0 and (sum without (scrape_job) (prometheus_target_metadata_cache_entries{job=\"prometheus\"}) > 0 or sum without (rule_group) (prometheus_rule_group_rules{job=\"prometheus\"}) > 0))".into(),
            "10m",
            "warning",
            Text::new().t("Prometheus is not ingesting samples"),
            Text::new()
                .t("Prometheus ")
                .l("instance")
                .t(" appends ")
                .v(Fmt::Fixed(0))
                .t(" samples a second although it has targets or rules."),
        )],
        case(
            "no sample appended",
            vec![(appended.clone(), "100x30".into()), (rules.clone(), "5x30".into())],
            "20m",
            vec![(prom.clone(), 0.0)],
        ),
        case(
            "samples appended",
            vec![(appended, "0+600x30".into()), (rules, "5x30".into())],
            "20m",
            vec![],
        ),
    );

    // prometheus-mixin PrometheusNotConnectedToAlertmanagers: none discovered, for 10m.
    let discovered = selector("prometheus_notifications_alertmanagers_discovered", prom);
    b.levels(
        vec![spec(
            "PrometheusNotConnectedToAlertmanager",
            "max_over_time(prometheus_notifications_alertmanagers_discovered{job=\"prometheus\"}[5m]) < 1".into(),
            "10m",
            "critical",
            Text::new().t("Prometheus is not connected to Alertmanager"),
            Text::new()
                .t("Prometheus ")
                .l("instance")
                .t(" knows ")
                .v(Fmt::Fixed(0))
                .t(" Alertmanagers: no alert reaches anyone."),
        )],
        case("none discovered", vec![(discovered.clone(), "0x20".into())], "15m", vec![(prom.clone(), 0.0)]),
        case("one discovered", vec![(discovered, "1x20".into())], "15m", vec![]),
    );

    // prometheus-mixin PrometheusNotificationQueueRunningFull: the queue reaches its
    // capacity within 30 minutes, for 15m.
    let length = selector("prometheus_notifications_queue_length", prom);
    let capacity = selector("prometheus_notifications_queue_capacity", prom);
    b.levels(
        vec![spec(
            "PrometheusNotificationQueueFull",
            "predict_linear(prometheus_notifications_queue_length{job=\"prometheus\"}[5m], 60 * 30) > min_over_time(prometheus_notifications_queue_capacity{job=\"prometheus\"}[5m])".into(),
            "15m",
            "warning",
            Text::new().t("Prometheus's alert queue is filling up"),
            Text::new()
                .t("The queue of alerts Prometheus ")
                .l("instance")
                .t(" sends reaches its capacity within 30 minutes (")
                .v(Fmt::Fixed(0))
                .t(" alerts predicted)."),
        )],
        case(
            "300 more alerts queued a minute",
            vec![(length.clone(), "0+300x40".into()), (capacity.clone(), "10000x40".into())],
            "30m",
            vec![(prom.clone(), 18000.0)],
        ),
        case(
            "the queue is empty",
            vec![(length, "0x40".into()), (capacity, "10000x40".into())],
            "30m",
            vec![],
        ),
    );

    // prometheus-mixin PrometheusMissingRuleEvaluations: iterations missed, for 15m.
    let missed = selector("prometheus_rule_group_iterations_missed_total", &grp);
    b.levels(
        vec![spec(
            "PrometheusMissingRuleEvaluations",
            "increase(prometheus_rule_group_iterations_missed_total{job=\"prometheus\"}[5m]) > 0"
                .into(),
            "15m",
            "warning",
            Text::new().t("Prometheus skips rule evaluations"),
            Text::new()
                .t("Rule group ")
                .l("rule_group")
                .t(" missed ")
                .v(Fmt::Fixed(0))
                .t(" evaluations in 5 minutes: it takes longer than its interval."),
        )],
        case(
            "one missed a minute",
            vec![(missed.clone(), "0+1x30".into())],
            "25m",
            vec![(grp.clone(), 5.0)],
        ),
        case("none missed", vec![(missed, "0x30".into())], "25m", vec![]),
    );

    // awesome-prometheus-alerts PrometheusRuleEvaluationSlow: a group's last evaluation
    // took longer than its interval, for 5m.
    let last = selector("prometheus_rule_group_last_duration_seconds", &grp);
    let interval = selector("prometheus_rule_group_interval_seconds", &grp);
    b.levels(
        vec![spec(
            "PrometheusRuleEvaluationSlow",
            "prometheus_rule_group_last_duration_seconds{job=\"prometheus\"} > prometheus_rule_group_interval_seconds{job=\"prometheus\"}".into(),
            "5m",
            "warning",
            Text::new().t("Prometheus evaluates rules slowly"),
            Text::new()
                .t("Rule group ")
                .l("rule_group")
                .t(" took ")
                .v(Fmt::Duration)
                .t(" to evaluate, longer than its interval."),
        )],
        case(
            "90s for a 60s interval",
            vec![(last.clone(), "90x15".into()), (interval.clone(), "60x15".into())],
            "10m",
            vec![(grp.clone(), 90.0)],
        ),
        case(
            "1s for a 60s interval",
            vec![(last, "1x15".into()), (interval, "60x15".into())],
            "10m",
            vec![],
        ),
    );

    // prometheus-mixin PrometheusDuplicateTimestamps / PrometheusOutOfOrderTimestamps: for 10m.
    for (alert, metric, what) in [
        (
            "PrometheusDuplicateTimestamps",
            "prometheus_target_scrapes_sample_duplicate_timestamp_total",
            "with a duplicate timestamp and different values",
        ),
        (
            "PrometheusOutOfOrderTimestamps",
            "prometheus_target_scrapes_sample_out_of_order_total",
            "out of order",
        ),
    ] {
        b.counter_rate_alert(
            spec(
                alert,
                format!("rate({metric}{{job=\"prometheus\"}}[5m]) > 0"),
                "10m",
                "warning",
                Text::new().t(format!("Prometheus drops samples {what}")),
                Text::new()
                    .t("Prometheus ")
                    .l("instance")
                    .t(" drops ")
                    .v(Fmt::Fixed(3))
                    .t(format!(" samples/s {what}.")),
            ),
            selector(metric, prom),
            prom.clone(),
            "one a minute",
            "none",
        );
    }

    // prometheus-mixin PrometheusHighQueryLoad: above 80 % of the concurrent query
    // capacity, for 15m.
    let queries = selector("prometheus_engine_queries", prom);
    let max = selector("prometheus_engine_queries_concurrent_max", prom);
    b.levels(
        vec![spec(
            "PrometheusHighQueryLoad",
            "avg_over_time(prometheus_engine_queries{job=\"prometheus\"}[5m]) / max_over_time(prometheus_engine_queries_concurrent_max{job=\"prometheus\"}[5m]) > 0.8".into(),
            "15m",
            "warning",
            Text::new().t("Prometheus is near its query capacity"),
            Text::new()
                .t("Prometheus ")
                .l("instance")
                .t(" runs ")
                .v(Fmt::Percent)
                .t(" of the concurrent queries it allows (threshold 80%): dashboards and rules wait."),
        )],
        case(
            "18 of 20 queries",
            vec![(queries.clone(), "18x30".into()), (max.clone(), "20x30".into())],
            "25m",
            vec![(prom.clone(), 0.9)],
        ),
        case(
            "2 of 20 queries",
            vec![(queries, "2x30".into()), (max, "20x30".into())],
            "25m",
            vec![],
        ),
    );

    if !remote_write {
        return;
    }
    let mut rw = prom.clone();
    rw.insert("remote_name".into(), "5d3f9a".into());
    rw.insert(
        "url".into(),
        "https://metrics.example.com/api/v1/write".into(),
    );
    // prometheus-mixin PrometheusRemoteStorageFailures: more than 1 % of the samples fail, for 15m.
    let failed = selector("prometheus_remote_storage_samples_failed_total", &rw);
    let sent = selector("prometheus_remote_storage_samples_total", &rw);
    b.levels(
        vec![spec(
            "PrometheusRemoteWriteFailing",
            "(rate(prometheus_remote_storage_samples_failed_total{job=\"prometheus\"}[5m]) * 100) / (rate(prometheus_remote_storage_samples_failed_total{job=\"prometheus\"}[5m]) + rate(prometheus_remote_storage_samples_total{job=\"prometheus\"}[5m])) > 1".into(),
            "15m",
            "critical",
            Text::new().t("Prometheus fails to remote-write samples"),
            Text::new()
                .v(Fmt::Fixed(1))
                .t("% of the samples sent to ")
                .l("url")
                .t(" fail."),
        )],
        case(
            "10% fail",
            vec![(failed.clone(), "0+100x30".into()), (sent.clone(), "0+900x30".into())],
            "25m",
            vec![(rw.clone(), 10.0)],
        ),
        case(
            "none fail",
            vec![(failed, "0x30".into()), (sent, "0+900x30".into())],
            "25m",
            vec![],
        ),
    );
    // prometheus-mixin PrometheusRemoteWriteBehind: more than 120 s behind, for 15m.
    let highest = selector(
        "prometheus_remote_storage_highest_timestamp_in_seconds",
        prom,
    );
    let highest_sent = selector(
        "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
        &rw,
    );
    b.levels(
        vec![spec(
            "PrometheusRemoteWriteBehind",
            "(max_over_time(prometheus_remote_storage_highest_timestamp_in_seconds{job=\"prometheus\"}[5m]) - ignoring (remote_name, url) group_right max_over_time(prometheus_remote_storage_queue_highest_sent_timestamp_seconds{job=\"prometheus\"}[5m])) > 120".into(),
            "15m",
            "critical",
            Text::new().t("Prometheus's remote write falls behind"),
            Text::new()
                .t("Remote write to ")
                .l("url")
                .t(" is ")
                .v(Fmt::Duration)
                .t(" behind."),
        )],
        case(
            "nothing sent for 30 minutes",
            vec![(highest.clone(), "1000+60x40".into()), (highest_sent.clone(), "1000x40".into())],
            "30m",
            vec![(rw.clone(), 1800.0)],
        ),
        case(
            "up to date",
            vec![(highest, "1000+60x40".into()), (highest_sent, "1000+60x40".into())],
            "30m",
            vec![],
        ),
    );
}
