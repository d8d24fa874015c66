//! Elasticsearch (single node, security on) and elasticsearch_exporter.

use std::collections::BTreeMap;

use super::{DbPanel, Kind, Labels, Login};
use crate::model::{ComposeService, Database};
use crate::rules::*;

/// `kind = "elasticsearch"`.
pub struct Elasticsearch;

impl Kind for Elasticsearch {
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
