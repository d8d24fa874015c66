//! Explaining an alert: which rule file holds it, its expression and thresholds, where
//! its values come from, its tests and the receivers its route reaches.

use std::fmt::Write as _;

use super::*;

/// Where an alert's threshold and duration come from.
pub(super) fn alert(ctx: &Ctx, name: &str) -> String {
    let m = ctx.model();
    let mut out = String::new();
    let _ = writeln!(out, "alert `{name}`");
    let custom = m.alerts.custom.iter().position(|c| c.name == name);
    for f in &m.rules {
        for g in &f.groups {
            for r in g.rules.iter().filter(|r| r.alert.as_deref() == Some(name)) {
                let sev = r.labels.get("severity").map(String::as_str).unwrap_or("-");
                let _ = writeln!(
                    out,
                    "  monitoring/prometheus/rules/{}.yml, group `{}`: severity {sev}, for {}",
                    f.name,
                    g.name,
                    r.for_.as_deref().unwrap_or("0s")
                );
                let _ = writeln!(out, "    expr: {}", r.expr);
                if let Some(s) = r.annotations.get("summary") {
                    let _ = writeln!(out, "    summary: {s}");
                }
                let tests = f
                    .tests
                    .iter()
                    .filter(|t| t.alert_rule_test.iter().any(|a| a.alertname == name))
                    .count();
                if tests > 0 {
                    let _ = writeln!(
                        out,
                        "    tested: {tests} promtool case(s) in monitoring/prometheus/tests/{}.test.yml",
                        f.name
                    );
                }
                // Receivers: routes matching the severity, in order, else the default.
                let mut receivers: Vec<String> = Vec::new();
                for (ri, route) in m.routes.iter().enumerate() {
                    let sev_ok = route.matchers.get("severity").is_none_or(|s| s == sev);
                    let name_ok = route.matchers.get("alertname").is_none_or(|a| a == name);
                    if sev_ok && name_ok && route.match_re.is_empty() {
                        receivers.push(format!(
                            "{} (route {})",
                            route.receivers.join(", "),
                            ctx.at(&format!("route[{ri}]"))
                                .unwrap_or_else(|| format!("#{}", ri + 1))
                        ));
                        if !route.continue_ {
                            break;
                        }
                    }
                }
                if m.alertmanager.is_some() {
                    if receivers.is_empty() && !m.receivers.is_empty() {
                        receivers.push(format!("{} (the default route)", m.receivers[0].name));
                    }
                    if !receivers.is_empty() {
                        let _ = writeln!(out, "    notifies: {}", receivers.join("; "));
                    }
                }
            }
        }
    }
    let _ = writeln!(out, "  where the values come from:");
    let setting = |key: &str, profile_key: &str| -> String {
        match ctx.at(key) {
            Some(at) => format!("{key} at {at}"),
            None => format!(
                "{} [alerts] {profile_key} = {} (the `{}` preset; set {key} in {} to change it)",
                profile_file(&m.profile),
                profile_value(&m.profile, "alerts", profile_key).unwrap_or_default(),
                m.profile,
                ctx.manifest_name
            ),
        }
    };
    if let Some(i) = custom {
        let _ = writeln!(
            out,
            "    written in the manifest: [[alerts.custom]] at {}",
            ctx.at(&format!("alerts.custom[{i}]")).unwrap_or_default()
        );
        ctx.lines_of(&format!("alerts.custom[{i}]"), &mut out);
    } else if name.starts_with("ServiceHighErrorRate") {
        let _ = writeln!(
            out,
            "    threshold {} (critical {}): {}",
            m.alerts.error_rate,
            m.alerts
                .error_rate_critical
                .map_or("none".to_string(), |c| c.to_string()),
            setting("alerts.error_rate", "error_rate")
        );
        let _ = writeln!(
            out,
            "    for {}: {}",
            m.alerts.for_,
            setting("alerts.for", "for")
        );
    } else if name.starts_with("ServiceHighLatency") {
        let _ = writeln!(
            out,
            "    threshold {} (critical {}s): {}",
            m.alerts.latency_p95,
            m.alerts.latency_p95_critical_seconds,
            setting("alerts.latency_p95", "latency_p95")
        );
        let _ = writeln!(
            out,
            "    for {}: {}",
            m.alerts.for_,
            setting("alerts.for", "for")
        );
    } else if name.starts_with("ErrorBudget") {
        for (i, slo) in m.alerts.slo.iter().enumerate() {
            let _ = writeln!(
                out,
                "    [[alerts.slo]] at {}: service {}, objective {}%, window {} (multi-window burn rates are fixed)",
                ctx.at(&format!("alerts.slo[{i}]")).unwrap_or_default(),
                slo.service,
                slo.objective,
                slo.window
            );
        }
    } else {
        let _ = writeln!(
            out,
            "    built into obsgen's rules for template set v{}: the threshold and duration are fixed",
            m.templates
        );
    }
    out
}
