//! `[alerts]` levels of the built-in alerts and each service's own thresholds: in range,
//! and each critical level beyond its warning (a critical a rising value reaches before
//! its warning — or a falling one, for free space — would page first and make the
//! warning meaningless).

use super::Checker;
use crate::manifest::Manifest;
use crate::model::alerting::{Level, ServiceAlerts};

pub(super) fn check_levels(c: &mut Checker, m: &Manifest) {
    let a = &m.alerts;
    for (name, level, falling) in [
        ("host_cpu", a.host_cpu, false),
        ("host_memory", a.host_memory, false),
        ("host_disk_free", a.host_disk_free, true),
        ("container_memory", a.container_memory, false),
        ("database_connections", a.database_connections, false),
    ] {
        if let Some(l) = level {
            percent_level(c, &format!("alerts.{name}"), l, falling);
        }
    }
    let own = ServiceAlerts {
        error_rate: a.error_rate,
        error_rate_critical: a.error_rate_critical,
        latency_p95: a.latency_p95.clone(),
        latency_p95_critical: a.latency_p95_critical.clone(),
    };
    // `error_rate` and `latency_p95` themselves are checked with the rest of [alerts].
    service_levels(c, "alerts", &own, false);
    for (i, s) in m.services.iter().enumerate() {
        if let Some(own) = &s.alerts {
            service_levels(c, &format!("service[{i}].alerts"), own, true);
        }
    }
}

fn percent_level(c: &mut Checker, base: &str, l: Level, falling: bool) {
    let mut ok = true;
    for (which, v) in [("warning", l.warning), ("critical", l.critical)] {
        if !(v > 0.0 && v <= 100.0) {
            c.at(
                &format!("{base}.{which}"),
                format!("{which} level {v} is not a percentage"),
                "write a percentage above 0 and at most 100 (90 means 90%)",
            );
            ok = false;
        }
    }
    if !ok {
        return;
    }
    if falling && l.critical >= l.warning {
        c.at(
            &format!("{base}.critical"),
            format!(
                "critical level {}% is not below its warning {}%: free space falling reaches the critical level first, so the warning can never come before it",
                l.critical, l.warning
            ),
            "give critical a lower free share than warning (for example warning = 10, critical = 5)",
        );
    } else if !falling && l.critical <= l.warning {
        c.at(
            &format!("{base}.critical"),
            format!(
                "critical level {}% is not above its warning {}%: a rising value reaches the critical level first, so the warning can never come before it",
                l.critical, l.warning
            ),
            "give critical a higher level than warning (for example warning = 90, critical = 95)",
        );
    }
}

fn service_levels(c: &mut Checker, base: &str, s: &ServiceAlerts, own: bool) {
    if let Some(r) = s.error_rate_critical {
        if !(r > 0.0 && r < 1.0) {
            c.at(
                &format!("{base}.error_rate_critical"),
                format!("error_rate_critical = {r} can never be crossed by a 5xx ratio"),
                "write a ratio strictly between 0 and 1 (0.1 means 10% of requests failing)",
            );
        } else if let Some(w) = s.error_rate
            && r <= w
        {
            c.at(
                &format!("{base}.error_rate_critical"),
                format!(
                    "error_rate_critical = {r} is not above error_rate = {w}: a rising error ratio reaches the critical level first, so the warning can never come before it"
                ),
                "give error_rate_critical a higher ratio than error_rate",
            );
        }
    }
    if own
        && let Some(r) = s.error_rate
        && !(r > 0.0 && r < 1.0)
    {
        c.at(
            &format!("{base}.error_rate"),
            format!("error_rate = {r} can never be crossed by a 5xx ratio"),
            "write a ratio strictly between 0 and 1 (0.05 means 5% of requests failing)",
        );
    }
    let warning = match &s.latency_p95 {
        Some(l) if own => c.duration(&format!("{base}.latency_p95"), l),
        Some(l) => crate::units::parse_duration(l),
        None => None,
    };
    if let Some(l) = &s.latency_p95_critical
        && let Some(crit) = c.duration(&format!("{base}.latency_p95_critical"), l)
        && let Some(w) = warning
        && crit <= w
    {
        c.at(
            &format!("{base}.latency_p95_critical"),
            format!(
                "latency_p95_critical = \"{l}\" is not above latency_p95: a rising latency reaches the critical level first, so the warning can never come before it"
            ),
            "give latency_p95_critical a longer duration than latency_p95",
        );
    }
}
