//! The database dashboards: one per database kind, over every database of that kind —
//! whether its exporter reaches it, and a few vital signs of the kind.

use std::collections::BTreeMap;

use crate::grafana::kit::*;
use crate::model::*;

/// One dashboard per database kind, in the order of the kinds' names.
pub(super) fn contribute(s: &Settled, out: &mut Contribution) {
    let mut kinds: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for d in &s.databases {
        kinds.entry(d.kind.as_str()).or_default().push(&d.name);
    }
    for (kind, names) in &kinds {
        out.dashboards.push(database(s, kind, names));
    }
}

/// Title, unit and `(query, legend)` of one database panel.
type DbPanel = (&'static str, &'static str, Vec<(String, &'static str)>);

/// Per database kind: its exporter's up metric and a few vital signs.
fn database(settled: &Settled, kind: &str, names: &[&str]) -> Dashboard {
    let mut b = Board::new(
        settled,
        "database",
        "infrastructure",
        uid(&[&settled.project, "db", kind]),
        format!("{}: {kind}", settled.project),
    );
    b.description = format!("Databases of kind {kind}: {}.", names.join(", "));
    let jobs: Vec<String> = names.iter().map(|n| format!("{n}-exporter")).collect();
    let jobs: Vec<&str> = jobs.iter().map(String::as_str).collect();
    let job = format!("{},{ENV}", jobs_matcher("job", &jobs));
    let sel = format!("{job},instance=~\"$instance\"");
    let (up, reachable) = match kind {
        "postgres" => ("pg_up", format!("pg_up{{{sel}}}")),
        "mysql" => ("mysql_up", format!("mysql_up{{{sel}}}")),
        "mongodb" => ("mongodb_up", format!("mongodb_up{{{sel}}}")),
        "redis" => ("redis_up", format!("redis_up{{{sel}}}")),
        // elasticsearch_exporter v1.9.0 has no such gauge: it serves cluster health only
        // while it reaches the cluster (see `ElasticsearchDown` in rules.rs).
        _ => (
            "up",
            format!(
                "(up{{{sel}}} and on(instance) elasticsearch_cluster_health_number_of_nodes{{{sel}}}) or up{{{sel}}} * 0"
            ),
        ),
    };
    b.vars
        .push(instance_var(&format!("{up}{{{job}}}"), "instance"));
    b.add(
        24,
        5,
        up_stat(
            "Database reachable (exporter)",
            &[(&reachable, "{{service}}")],
        ),
    );
    let r = "[$__rate_interval]";
    let panels: Vec<DbPanel> = match kind {
        "postgres" => vec![
            (
                "Connections",
                "short",
                vec![
                    (
                        format!("sum by (service) (pg_stat_activity_count{{{sel}}})"),
                        "{{service}} used",
                    ),
                    (
                        format!("max by (service) (pg_settings_max_connections{{{sel}}})"),
                        "{{service}} max",
                    ),
                ],
            ),
            (
                "Transactions",
                "ops",
                vec![(
                    format!(
                        "sum by (service) (rate(pg_stat_database_xact_commit{{{sel}}}{r}) + rate(pg_stat_database_xact_rollback{{{sel}}}{r}))"
                    ),
                    "{{service}}",
                )],
            ),
            (
                "Database size",
                "bytes",
                vec![(
                    format!("sum by (service, datname) (pg_database_size_bytes{{{sel}}})"),
                    "{{service}} {{datname}}",
                )],
            ),
        ],
        "mysql" => vec![
            (
                "Connections",
                "short",
                vec![
                    (
                        format!("mysql_global_status_threads_connected{{{sel}}}"),
                        "{{service}} used",
                    ),
                    (
                        format!("mysql_global_variables_max_connections{{{sel}}}"),
                        "{{service}} max",
                    ),
                ],
            ),
            (
                "Queries",
                "ops",
                vec![(
                    format!("rate(mysql_global_status_queries{{{sel}}}{r})"),
                    "{{service}}",
                )],
            ),
            (
                "Slow queries",
                "ops",
                vec![(
                    format!("rate(mysql_global_status_slow_queries{{{sel}}}{r})"),
                    "{{service}}",
                )],
            ),
        ],
        "mongodb" => vec![
            (
                "Connections",
                "short",
                vec![(
                    format!("mongodb_connections{{{sel},state=\"current\"}}"),
                    "{{service}}",
                )],
            ),
            (
                "Operations",
                "ops",
                vec![(
                    format!("sum by (service, type) (rate(mongodb_op_counters_total{{{sel}}}{r}))"),
                    "{{service}} {{type}}",
                )],
            ),
            (
                "Resident memory",
                "decmbytes",
                vec![(
                    format!("mongodb_memory{{{sel},type=\"resident\"}}"),
                    "{{service}}",
                )],
            ),
        ],
        "redis" => vec![
            (
                "Clients",
                "short",
                vec![(format!("redis_connected_clients{{{sel}}}"), "{{service}}")],
            ),
            (
                "Memory",
                "bytes",
                vec![
                    (
                        format!("redis_memory_used_bytes{{{sel}}}"),
                        "{{service}} used",
                    ),
                    (
                        format!("redis_memory_max_bytes{{{sel}}} > 0"),
                        "{{service}} max",
                    ),
                ],
            ),
            (
                "Commands",
                "ops",
                vec![(
                    format!("rate(redis_commands_processed_total{{{sel}}}{r})"),
                    "{{service}}",
                )],
            ),
        ],
        _ => vec![
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
        ],
    };
    for (title, unit, queries) in panels {
        let q: Vec<(&str, &str)> = queries.iter().map(|(e, l)| (e.as_str(), *l)).collect();
        b.add(8, 8, timeseries(title, unit, &q, &[]));
    }
    b.finish()
}
