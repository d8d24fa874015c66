//! The host dashboard: the Docker host's vital signs, from node-exporter.

use crate::grafana::kit::*;
use crate::model::*;

/// The host dashboard.
pub(super) fn contribute(s: &Settled, out: &mut Contribution) {
    out.dashboards.push(host(s));
}

fn host(settled: &Settled) -> Dashboard {
    let mut b = Board::new(
        settled,
        "host",
        "infrastructure",
        uid(&[&settled.project, "host"]),
        format!("{}: host", settled.project),
    );
    b.description = "The Docker host, from node-exporter.".into();
    let job = format!("job=\"node-exporter\",{ENV}");
    b.vars.push(instance_var(
        &format!("node_uname_info{{{job}}}"),
        "instance",
    ));
    let sel = format!("{job},instance=~\"$instance\"");
    let fs = format!("{sel},fstype!~\"tmpfs|overlay|squashfs|ramfs\",mountpoint!~\"/boot.*\"");
    b.add(
        6,
        5,
        stat(
            "Uptime",
            "s",
            &[(
                &format!("time() - node_boot_time_seconds{{{sel}}}"),
                "{{instance}}",
            )],
            &[],
        ),
    );
    b.add(
        6,
        5,
        stat(
            "CPU cores",
            "none",
            &[(
                &format!("count by (instance) (node_cpu_seconds_total{{{sel},mode=\"idle\"}})"),
                "{{instance}}",
            )],
            &[],
        ),
    );
    b.add(
        6,
        5,
        stat(
            "Memory total",
            "bytes",
            &[(
                &format!("node_memory_MemTotal_bytes{{{sel}}}"),
                "{{instance}}",
            )],
            &[],
        ),
    );
    b.add(
        6,
        5,
        stat(
            "Load (1m)",
            "short",
            &[(&format!("node_load1{{{sel}}}"), "{{instance}}")],
            &[],
        ),
    );
    b.add(
        12,
        8,
        timeseries(
            "CPU busy",
            "percent",
            &[(
                &format!(
                    "100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{{{sel},mode=\"idle\"}}[$__rate_interval])))"
                ),
                "{{instance}}",
            )],
            &[(90.0, "red")],
        ),
    );
    b.add(
        12,
        8,
        timeseries(
            "Memory used",
            "percent",
            &[(
                &format!(
                    "100 * (1 - node_memory_MemAvailable_bytes{{{sel}}} / node_memory_MemTotal_bytes{{{sel}}})"
                ),
                "{{instance}}",
            )],
            &[(90.0, "red")],
        ),
    );
    b.add(
        12,
        8,
        timeseries(
            "Load average",
            "short",
            &[
                (&format!("node_load1{{{sel}}}"), "1m"),
                (&format!("node_load5{{{sel}}}"), "5m"),
                (&format!("node_load15{{{sel}}}"), "15m"),
            ],
            &[],
        ),
    );
    b.add(
        12,
        8,
        timeseries(
            "Disk space used",
            "percent",
            &[(
                &format!(
                    "100 * (1 - node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}})"
                ),
                "{{mountpoint}}",
            )],
            &[],
        ),
    );
    b.add(
        12,
        8,
        timeseries(
            "Network traffic",
            "Bps",
            &[
                (
                    &format!(
                        "sum by (instance) (rate(node_network_receive_bytes_total{{{sel},device!=\"lo\"}}[$__rate_interval]))"
                    ),
                    "received",
                ),
                (
                    &format!(
                        "sum by (instance) (rate(node_network_transmit_bytes_total{{{sel},device!=\"lo\"}}[$__rate_interval]))"
                    ),
                    "sent",
                ),
            ],
            &[],
        ),
    );
    b.add(
        12,
        8,
        timeseries(
            "Disk I/O",
            "Bps",
            &[
                (
                    &format!(
                        "sum by (instance) (rate(node_disk_read_bytes_total{{{sel}}}[$__rate_interval]))"
                    ),
                    "read",
                ),
                (
                    &format!(
                        "sum by (instance) (rate(node_disk_written_bytes_total{{{sel}}}[$__rate_interval]))"
                    ),
                    "written",
                ),
            ],
            &[],
        ),
    );
    b.finish()
}
