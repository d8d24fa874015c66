//! The containers dashboard: every container of the stack, from cAdvisor.

use crate::grafana::kit::*;
use crate::model::*;

/// The containers dashboard.
pub(super) fn contribute(s: &Settled, out: &mut Contribution) {
    out.dashboards.push(containers(s));
}

fn containers(settled: &Settled) -> Dashboard {
    let mut b = Board::new(
        settled,
        "containers",
        "infrastructure",
        uid(&[&settled.project, "containers"]),
        format!("{}: containers", settled.project),
    );
    b.description = "Every container of the stack, from cAdvisor.".into();
    let job = format!("job=\"cadvisor\",{ENV},name=~\"{}[-_].+\"", settled.project);
    b.vars.push(instance_var(
        &format!("container_last_seen{{{job}}}"),
        "name",
    ));
    // The variable is called `instance` everywhere; here it selects containers by name.
    let sel = format!("{job},name=~\"$instance\"");
    b.add(
        6,
        8,
        stat(
            "Containers",
            "none",
            &[(&format!("count(container_last_seen{{{sel}}})"), "running")],
            &[],
        ),
    );
    b.add(
        18,
        8,
        timeseries(
            "Restarts (1h)",
            "none",
            &[(
                &crate::components::cadvisor::rules::restarts(&sel, "1h", "name"),
                "{{name}}",
            )],
            &[],
        ),
    );
    for (title, unit, expr) in [
        (
            "CPU (cores)",
            "short",
            format!(
                "sum by (name) (rate(container_cpu_usage_seconds_total{{{sel}}}[$__rate_interval]))"
            ),
        ),
        (
            "Memory (working set)",
            "bytes",
            format!("sum by (name) (container_memory_working_set_bytes{{{sel}}})"),
        ),
        (
            "Network received",
            "Bps",
            format!(
                "sum by (name) (rate(container_network_receive_bytes_total{{{sel}}}[$__rate_interval]))"
            ),
        ),
        (
            "Network sent",
            "Bps",
            format!(
                "sum by (name) (rate(container_network_transmit_bytes_total{{{sel}}}[$__rate_interval]))"
            ),
        ),
    ] {
        b.add(12, 8, timeseries(title, unit, &[(&expr, "{{name}}")], &[]));
    }
    b.finish()
}
