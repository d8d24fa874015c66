//! Elasticsearch (single node, security on) and elasticsearch_exporter.

use std::collections::BTreeMap;

use super::{DbPanel, Kind, Labels, Login};
use crate::model::{ComposeService, Database};
use crate::rules::*;

/// `kind = "elasticsearch"`.
pub struct Elasticsearch;

impl Kind for Elasticsearch {
    fn image_names(&self) -> &'static [&'static str] {
        &["elasticsearch", "opensearch"]
    }

    fn server(&self, _d: &Database, login: &Login, c: &mut ComposeService) -> &'static str {
        c.environment = BTreeMap::from([
            ("ELASTIC_PASSWORD".to_string(), login.password()),
            ("discovery.type".to_string(), "single-node".to_string()),
            ("xpack.security.enabled".to_string(), "true".to_string()),
            ("ES_JAVA_OPTS".to_string(), "-Xms512m -Xmx512m".to_string()),
        ]);
        // 512 MiB heap (ES_JAVA_OPTS) plus off-heap memory.
        c.min_memory_mib = Some(1536);
        // The image's own user (uid 1000, group 0), made explicit. It writes its keystore
        // into /usr/share/elasticsearch/config at start (ELASTIC_PASSWORD): the root stays
        // writable; no capability is needed.
        c.user = Some("1000:0".into());
        c.healthcheck = Some(super::healthcheck(
            "curl -fsS -u \"elastic:$$ELASTIC_PASSWORD\" http://localhost:9200/_cluster/health >/dev/null",
        ));
        "/usr/share/elasticsearch/data"
    }

    fn has_user(&self) -> bool {
        false
    }

    fn exporter(&self, d: &Database, login: &Login, c: &mut ComposeService) -> u16 {
        c.command = Some(vec![format!("--es.uri=http://{}", super::host(d))]);
        c.environment = BTreeMap::from([
            ("ES_USERNAME".to_string(), "elastic".to_string()),
            ("ES_PASSWORD".into(), login.password()),
        ]);
        9114
    }

    fn down(&self, b: &mut Builder, _d: &Database, job: &str, base: &Labels) {
        elasticsearch_down(b, job, base);
    }

    // elasticsearch_exporter v1.9.0 has no up gauge: it serves cluster health only while
    // it reaches the cluster (see `elasticsearch_down`).
    fn reachable(&self, sel: &str) -> (&'static str, String) {
        (
            "up",
            format!(
                "(up{{{sel}}} and on(instance) elasticsearch_cluster_health_number_of_nodes{{{sel}}}) or up{{{sel}}} * 0"
            ),
        )
    }

    fn alerts(&self, b: &mut Builder, _d: &Database, job: &str, base: &Labels) {
        let red = selector("elasticsearch_cluster_health_status", &{
            let mut l = base.clone();
            l.insert("color".into(), "red".into());
            l
        });
        let mut red_labels = base.clone();
        red_labels.insert("color".into(), "red".into());
        b.alerts(
            vec![spec(
                "ElasticsearchClusterRed",
                format!("elasticsearch_cluster_health_status{{job=\"{job}\",color=\"red\"}} == 1"),
                "5m",
                "critical",
                Text::new().t("Elasticsearch ").l("service").t(" is red"),
                Text::new()
                    .t("Cluster health of ")
                    .l("service")
                    .t(" is red: some primary shards are unassigned (value ")
                    .v(Fmt::Fixed(0))
                    .t(")."),
            )],
            vec![vec![case(
                "the cluster is red",
                vec![(red.clone(), "1x20".into())],
                "10m",
                vec![(red_labels, 1.0)],
            )]],
            vec![case(
                "the cluster is green",
                vec![(red.clone(), "0x20".into())],
                "10m",
                vec![],
            )],
        );
        more_alerts(b, job, base);
    }

    fn panels(&self, sel: &str, _r: &str) -> Vec<DbPanel> {
        vec![
            (
                "Cluster status green",
                "none",
                vec![(
                    format!("elasticsearch_cluster_health_status{{{sel},color=\"green\"}}"),
                    "{{service}}",
                )],
            ),
            (
                "Nodes",
                "short",
                vec![(
                    format!("elasticsearch_cluster_health_number_of_nodes{{{sel}}}"),
                    "{{service}}",
                )],
            ),
            (
                "JVM heap used",
                "bytes",
                vec![(
                    format!(
                        "sum by (service) (elasticsearch_jvm_memory_used_bytes{{{sel},area=\"heap\"}})"
                    ),
                    "{{service}}",
                )],
            ),
        ]
    }
}

/// `ElasticsearchDown`: the exporter answers (`up` 1) but serves no cluster health.
/// elasticsearch_exporter v1.9.0 has no `elasticsearch_cluster_health_up` (removed in
/// v1.7.0, commit acddc58), and its cluster-health collector (`collector/cluster_health.go`,
/// `Collect`) returns without a single series when `/_cluster/health` cannot be fetched:
/// an unreachable cluster, or a refused login, is an `up` without
/// `elasticsearch_cluster_health_number_of_nodes` (which every successful fetch serves).
/// A down exporter (`up` 0) is `PrometheusTargetMissing`'s.
fn elasticsearch_down(b: &mut Builder, job: &str, base: &Labels) {
    let up = selector("up", base);
    let mut health_labels = base.clone();
    health_labels.insert("cluster".into(), "docker-cluster".into());
    let health = selector(
        "elasticsearch_cluster_health_number_of_nodes",
        &health_labels,
    );
    b.alerts(
        vec![spec(
            "ElasticsearchDown",
            format!(
                "up{{job=\"{job}\"}} == 1 unless on(instance) elasticsearch_cluster_health_number_of_nodes{{job=\"{job}\"}}"
            ),
            "1m",
            "critical",
            Text::new().t("Elasticsearch ").l("service").t(" is down"),
            Text::new()
                .t("The exporter of Elasticsearch database ")
                .l("service")
                .t(" in ")
                .l("environment")
                .t(" answers but gets no cluster health from it: Elasticsearch is unreachable or refuses the exporter's login."),
        )],
        vec![vec![case(
            "the exporter answers without cluster health",
            vec![(up.clone(), "1x10".into())],
            "5m",
            vec![(base.clone(), 1.0)],
        )]],
        vec![
            case(
                "the exporter reports cluster health",
                vec![(up.clone(), "1x10".into()), (health, "1x10".into())],
                "5m",
                vec![],
            ),
            case(
                "the exporter itself is down (PrometheusTargetMissing)",
                vec![(up, "0x10".into())],
                "5m",
                vec![],
            ),
        ],
    );
}

/// Heap, disk watermarks and unassigned shards (issue 13). The elasticsearch-mixin of
/// elasticsearch_exporter v1.9.0 compiles to no alert (elasticsearch-mixin/compiled/
/// alerts.yaml is `{}`); its example rules (examples/prometheus/elasticsearch.rules.yml)
/// and awesome-prometheus-alerts (samber/awesome-prometheus-alerts,
/// dist/rules/elasticsearch/prometheus-community-elasticsearch-exporter.yml) give the
/// thresholds. Names are v1.9.0's (collector/nodes.go, collector/cluster_health.go).
fn more_alerts(b: &mut Builder, job: &str, base: &Labels) {
    use super::rules::{Levels, Simple, levels, simple, with};
    let sel = format!("job=\"{job}\"");
    let node = with(
        base,
        &[
            ("cluster", "docker-cluster"),
            ("host", "172.18.0.5"),
            ("name", "search"),
        ],
    );
    // ElasticsearchHeapUsageWarning / ...TooHigh: heap above 80 % (warning) and 90 %
    // (critical) for 2m.
    let heap = with(&node, &[("area", "heap")]);
    levels(
        b,
        Levels {
            name: "ElasticsearchHeapUsageHigh",
            ratio: format!(
                "elasticsearch_jvm_memory_used_bytes{{{sel},area=\"heap\"}} / elasticsearch_jvm_memory_max_bytes{{{sel},area=\"heap\"}}"
            ),
            op: ">",
            warning: 0.8,
            critical: 0.9,
            for_: "2m",
            summary: Text::new()
                .t("Elasticsearch ")
                .l("service")
                .t(" is short of heap"),
            before: Text::new()
                .t("Node ")
                .l("name")
                .t(" of ")
                .l("service")
                .t(" uses "),
            after: " of its JVM heap: garbage collection stalls it, then it fails with OutOfMemoryError.",
            num: selector("elasticsearch_jvm_memory_used_bytes", &heap),
            den: selector("elasticsearch_jvm_memory_max_bytes", &heap),
            result: heap.clone(),
            warn: (450.0, 500.0),
            crit: (475.0, 500.0),
            quiet: (250.0, 500.0),
            complement: false,
        },
    );
    // Disk watermarks: Elasticsearch stops allocating shards to a node above its low
    // watermark (85 % used, `cluster.routing.allocation.disk.watermark.low`), moves them
    // away above the high one (90 %), and makes indices read-only at the flood stage (95 %).
    // A warning at the low watermark and a critical at the high one (awesome-prometheus-
    // alerts ElasticsearchDiskSpaceLow / ...OutOfSpace: free below 20 % / 10 %).
    let fs = with(
        &node,
        &[
            ("mount", "/usr/share/elasticsearch/data (/dev/sda1)"),
            ("path", "/usr/share/elasticsearch/data"),
        ],
    );
    levels(
        b,
        Levels {
            name: "ElasticsearchDiskWatermark",
            ratio: format!(
                "1 - elasticsearch_filesystem_data_available_bytes{{{sel}}} / elasticsearch_filesystem_data_size_bytes{{{sel}}}"
            ),
            op: ">",
            warning: 0.85,
            critical: 0.9,
            for_: "5m",
            summary: Text::new()
                .t("Elasticsearch ")
                .l("service")
                .t(" is past a disk watermark"),
            before: Text::new()
                .t("The data disk of node ")
                .l("name")
                .t(" of ")
                .l("service")
                .t(" is "),
            after: " full: past 85% no new shard goes there, past 90% shards move away, at 95% its indices turn read-only.",
            num: selector("elasticsearch_filesystem_data_available_bytes", &fs),
            den: selector("elasticsearch_filesystem_data_size_bytes", &fs),
            result: fs.clone(),
            warn: (12.0, 100.0),
            crit: (5.0, 100.0),
            quiet: (50.0, 100.0),
            complement: true,
        },
    );
    // ElasticsearchUnassignedShards (awesome: `unassigned_shards > 0` for 2m, critical).
    // Only with two data nodes or more: obsgen runs Elasticsearch as one node, where the
    // replica of every index with `number_of_replicas` 1 (the default) can never be
    // assigned and the cluster is yellow by design; an unassigned primary turns it red
    // (ElasticsearchClusterRed). Delayed shards (a node that just left) wait 15m here.
    let health = with(base, &[("cluster", "docker-cluster")]);
    let h = |m: &str| selector(m, &health);
    simple(
        b,
        Simple {
            spec: spec(
                "ElasticsearchUnassignedShards",
                format!(
                    "elasticsearch_cluster_health_unassigned_shards{{{sel}}} > 0 and on(instance) elasticsearch_cluster_health_number_of_data_nodes{{{sel}}} > 1"
                ),
                "15m",
                "warning",
                Text::new().t("Elasticsearch ").l("service").t(" has unassigned shards"),
                Text::new()
                    .v(Fmt::Fixed(0))
                    .t(" shards of ")
                    .l("service")
                    .t(" are unassigned: a data node is gone or out of disk, and their copies are missing."),
            ),
            interval: "1m",
            eval: "30m",
            firing: (
                "3 unassigned shards on 3 data nodes",
                vec![
                    (h("elasticsearch_cluster_health_unassigned_shards"), "3x40".into()),
                    (h("elasticsearch_cluster_health_number_of_data_nodes"), "3x40".into()),
                ],
                health.clone(),
                3.0,
            ),
            quiet: vec![
                (
                    "every shard assigned",
                    vec![
                        (h("elasticsearch_cluster_health_unassigned_shards"), "0x40".into()),
                        (h("elasticsearch_cluster_health_number_of_data_nodes"), "3x40".into()),
                    ],
                ),
                (
                    "one node: its replicas cannot be assigned",
                    vec![
                        (h("elasticsearch_cluster_health_unassigned_shards"), "5x40".into()),
                        (h("elasticsearch_cluster_health_number_of_data_nodes"), "1x40".into()),
                    ],
                ),
            ],
        },
    );
}
