//! Each database's alerts (`rules/database-<name>.yml`): down (through its exporter),
//! connections or memory near the limit, cluster health, with their tests.

use std::collections::BTreeMap;

use crate::model::{Contribution, Settled};
use crate::rules::*;
use crate::units::camel_of;

pub(super) fn contribute(s: &Settled, out: &mut Contribution) {
    out.rules.extend(database_rules(s));
}

fn database_rules(s: &Settled) -> Vec<RuleFile> {
    let mut out = Vec::new();
    for d in &s.databases {
        let job = format!("{}-exporter", d.name);
        let mut b = Builder::new(
            &format!("database-{}", d.name),
            &format!("database \"{}\" ({})", d.name, d.kind),
        );
        let base = labels(&[
            ("environment", ENV),
            ("instance", &format!("{job}:9000")),
            ("job", &job),
            ("service", &d.name),
        ]);
        let up_metric = match d.kind.as_str() {
            "postgres" => Some(("pg_up", "PostgreSQL")),
            "mysql" => Some(("mysql_up", "MySQL")),
            "mongodb" => Some(("mongodb_up", "MongoDB")),
            "redis" => Some(("redis_up", "Redis")),
            // The pinned exporter has no such gauge.
            _ => None,
        };
        match up_metric {
            None => elasticsearch_down(&mut b, &job, &base),
            Some((metric, label)) => b.gauge_zero_alert(
                spec(
                    &format!("{}Down", camel_of(d.kind.as_str())),
                    format!("{metric}{{job=\"{job}\"}} == 0"),
                    "1m",
                    "critical",
                    Text::new()
                        .t(format!("{label} "))
                        .l("service")
                        .t(" is down"),
                    Text::new()
                        .t(format!("The exporter of {label} database "))
                        .l("service")
                        .t(" in ")
                        .l("environment")
                        .t(format!(" cannot reach it ({metric} = "))
                        .v(Fmt::Fixed(0))
                        .t(")."),
                ),
                Gauge {
                    series: selector(metric, &base),
                    result: base.clone(),
                    samples: 10,
                    eval: "5m",
                    firing: "the database is unreachable",
                    quiet: "the database answers",
                },
            ),
        }
        match d.kind.as_str() {
            "postgres" => {
                let mut act = base.clone();
                act.insert("datname".into(), d.name.clone());
                act.insert("state".into(), "active".into());
                b.usage_alert(Usage {
                    alert: "PostgresTooManyConnections",
                    expr: format!("sum by (service, environment) (pg_stat_activity_count{{job=\"{job}\"}}) / max by (service, environment) (pg_settings_max_connections{{job=\"{job}\"}}) > 0.8"),
                    summary: Text::new().t("PostgreSQL ").l("service").t(" is running out of connections"),
                    of_what: " of max_connections.",
                    used: selector("pg_stat_activity_count", &act),
                    limit: selector("pg_settings_max_connections", &base),
                    result: labels(&[("environment", ENV), ("service", &d.name)]),
                    firing: (90, 100, "90 of 100 connections"),
                    quiet: (10, 100, "10 of 100 connections"),
                });
            }
            "mysql" => b.usage_alert(Usage {
                alert: "MysqlTooManyConnections",
                expr: format!("mysql_global_status_threads_connected{{job=\"{job}\"}} / mysql_global_variables_max_connections{{job=\"{job}\"}} > 0.8"),
                summary: Text::new().t("MySQL ").l("service").t(" is running out of connections"),
                of_what: " of max_connections.",
                used: selector("mysql_global_status_threads_connected", &base),
                limit: selector("mysql_global_variables_max_connections", &base),
                result: base.clone(),
                firing: (90, 100, "90 of 100 connections"),
                quiet: (10, 100, "10 of 100 connections"),
            }),
            "redis" => b.usage_alert(Usage {
                alert: "RedisMemoryNearLimit",
                expr: format!("(redis_memory_used_bytes{{job=\"{job}\"}} / redis_memory_max_bytes{{job=\"{job}\"}} > 0.9) and redis_memory_max_bytes{{job=\"{job}\"}} > 0"),
                summary: Text::new().t("Redis ").l("service").t(" is near maxmemory"),
                of_what: " of maxmemory; keys will be evicted or writes refused.",
                used: selector("redis_memory_used_bytes", &base),
                limit: selector("redis_memory_max_bytes", &base),
                result: base.clone(),
                firing: (950, 1000, "95% of maxmemory"),
                quiet: (950, 0, "no maxmemory set"),
            }),
            "elasticsearch" => {
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
                        Text::new().t("Cluster health of ").l("service").t(" is red: some primary shards are unassigned (value ").v(Fmt::Fixed(0)).t(")."),
                    )],
                    vec![vec![case("the cluster is red", vec![(red.clone(), "1x20".into())], "10m", vec![(red_labels, 1.0)])]],
                    vec![case("the cluster is green", vec![(red.clone(), "0x20".into())], "10m", vec![])],
                );
            }
            _ => {}
        }
        out.push(b.finish());
    }
    out
}

/// `ElasticsearchDown`: the exporter answers (`up` 1) but serves no cluster health.
/// elasticsearch_exporter v1.9.0 has no `elasticsearch_cluster_health_up` (removed in
/// v1.7.0, commit acddc58), and its cluster-health collector (`collector/cluster_health.go`,
/// `Collect`) returns without a single series when `/_cluster/health` cannot be fetched:
/// an unreachable cluster, or a refused login, is an `up` without
/// `elasticsearch_cluster_health_number_of_nodes` (which every successful fetch serves).
/// A down exporter (`up` 0) is `PrometheusTargetMissing`'s.
fn elasticsearch_down(b: &mut Builder, job: &str, base: &BTreeMap<String, String>) {
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
