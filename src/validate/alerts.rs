//! `[alerts]`: thresholds, SLOs (service, objective, window) and custom alerts (names,
//! PromQL in the dialect both Prometheus versions accept, labels, template delimiters).

use std::collections::BTreeSet;

use super::Checker;
use crate::dialect;
use crate::manifest::Manifest;
use crate::units::is_label_name;

pub(super) fn check_alerts(c: &mut Checker, m: &Manifest) {
    let a = &m.alerts;
    if let Some(r) = a.error_rate
        && !(r > 0.0 && r < 1.0)
    {
        c.at(
            "alerts.error_rate",
            format!("error_rate = {r} can never be crossed by a 5xx ratio"),
            "write a ratio strictly between 0 and 1 (0.05 means 5% of requests failing)",
        );
    }
    if let Some(l) = &a.latency_p95 {
        c.duration("alerts.latency_p95", l);
    }
    if let Some(f) = &a.for_ {
        c.duration("alerts.for", f);
    }
    let services: BTreeSet<&str> = m.services.iter().map(|s| s.name.as_str()).collect();
    for (i, slo) in a.slo.iter().flatten().enumerate() {
        let base = format!("alerts.slo[{i}]");
        if !services.contains(slo.service.as_str()) {
            c.at(
                &format!("{base}.service"),
                format!("SLO for unknown service `{}`", slo.service),
                "name a [[service]] of this manifest",
            );
        }
        if !(slo.objective > 0.0 && slo.objective < 100.0) {
            c.at(
                &format!("{base}.objective"),
                format!("objective {} is not a percentage below 100", slo.objective),
                "write the availability target in percent, for example 99.9",
            );
        } else if 100.0 - slo.objective < 0.001 {
            c.at(
                &format!("{base}.objective"),
                format!(
                    "objective {} leaves an error budget too small to alert on",
                    slo.objective
                ),
                "use at most 99.999",
            );
        }
        if let Some(ms) = c.duration(&format!("{base}.window"), &slo.window)
            && ms < 86_400_000
        {
            c.at(
                &format!("{base}.window"),
                "an SLO window shorter than 1d",
                "use a window like `28d` or `30d`",
            );
        }
    }
    let mut names = BTreeSet::new();
    for (i, rule) in a.custom.iter().flatten().enumerate() {
        let base = format!("alerts.custom[{i}]");
        if !is_label_name(&rule.name) || !rule.name.starts_with(|ch: char| ch.is_ascii_uppercase())
        {
            c.at(
                &format!("{base}.name"),
                format!("alert name `{}` is not a CamelCase identifier", rule.name),
                "use letters and digits, starting with an uppercase letter (`QueueBacklogHigh`)",
            );
        }
        // One name may have several severities (a warning and a critical threshold),
        // which the critical-silences-warning inhibition relies on; each pair only once.
        let severity = format!("{:?}", rule.severity).to_lowercase();
        if !names.insert((rule.name.as_str(), severity.clone())) {
            c.at(
                &format!("{base}.name"),
                format!(
                    "duplicate custom alert `{}` with severity {severity}",
                    rule.name
                ),
                "give each alert its own name, or each copy of a name its own severity",
            );
        }
        if let Err(p) = dialect::check_promql(&rule.expr) {
            c.at(&format!("{base}.expr"), p.message, p.help);
        }
        c.duration(&format!("{base}.for"), &rule.for_);
        c.no_template(
            &format!("{base}.summary"),
            "the summary",
            &rule.summary,
            true,
        );
        if let Some(d) = &rule.description {
            c.no_template(&format!("{base}.description"), "the description", d, true);
        }
        if let Some(t) = &rule.test {
            let tb = format!("{base}.test");
            c.duration(&format!("{tb}.eval_time"), &t.eval_time);
            if t.input.is_empty() {
                c.at(
                    &format!("{tb}.input"),
                    "the test has no input series",
                    "give the series the expression reads: input = [{ series = 'queue_depth{job=\"shop\"}', values = \"150x20\" }]",
                );
            }
            for (j, input) in t.input.iter().enumerate() {
                if !is_series(&input.series) {
                    c.at(
                        &format!("{tb}.input[{j}].series"),
                        format!("`{}` is not a series", input.series),
                        "write a metric name with `=` label matchers only: 'queue_depth{job=\"shop\"}'",
                    );
                }
                if !is_series_values(&input.values) {
                    c.at(
                        &format!("{tb}.input[{j}].values"),
                        format!("`{}` is not promtool's value notation", input.values),
                        "write values like \"150x20\", \"0+10x30\", \"1 2 _ 4\" or \"stale\"",
                    );
                }
            }
            for (j, e) in t.expect.iter().enumerate() {
                for label in e.keys() {
                    if !is_label_name(label) {
                        c.at_key(
                            &crate::load::key_path(&format!("{tb}.expect[{j}]"), label),
                            format!("`{label}` is not a label name"),
                            "use [a-zA-Z_][a-zA-Z0-9_]*",
                        );
                    }
                }
            }
            if rule.description.is_none() && t.description.is_none() && !t.expect.is_empty() {
                c.at(
                    &format!("{tb}.expect"),
                    "the test expects the alert, but its description is the default template, which the test cannot know expanded",
                    "give the alert a plain `description`, or the test the expanded one: description = \"…\"",
                );
            }
        }
        for (label, value) in &rule.labels {
            let key = crate::load::key_path(&format!("{base}.labels"), label);
            if !is_label_name(label) {
                c.at_key(
                    &key,
                    format!("`{label}` is not a label name"),
                    "use [a-zA-Z_][a-zA-Z0-9_]*",
                );
            } else if !c.reserved_label(&key, label, true)
                && (label == "alertname" || label == "severity")
            {
                c.at_key(
                    &key,
                    format!("label `{label}` is set from the alert itself"),
                    "Prometheus sets `alertname` to the alert's `name`, and obsgen sets `severity` from its `severity` field; remove this label",
                );
            }
            c.no_template(&key, &format!("label `{label}`"), value, true);
        }
    }
}

/// A series as promtool's input reads it: a metric name, then optionally `{…}` with
/// `=` matchers only, valid PromQL in the dialect both versions accept.
fn is_series(s: &str) -> bool {
    let name_end = s.find('{').unwrap_or(s.len());
    let name = &s[..name_end];
    let name_ok = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
    let rest = &s[name_end..];
    let braces_ok = rest.is_empty() || (rest.starts_with('{') && rest.ends_with('}'));
    name_ok
        && braces_ok
        && !rest.contains("=~")
        && !rest.contains("!=")
        && !rest.contains("!~")
        && dialect::check_promql(s).is_ok()
}

/// promtool's expanding notation: space-separated `_`, `stale`, `a`, `axn`, `a+bxn`,
/// `a-bxn`, `_xn` (numbers in decimal notation, counts in digits).
fn is_series_values(v: &str) -> bool {
    fn number(t: &str) -> bool {
        let t = t.strip_prefix('-').unwrap_or(t);
        let (int, frac) = t.split_once('.').unwrap_or((t, "0"));
        !int.is_empty()
            && !frac.is_empty()
            && int.chars().all(|c| c.is_ascii_digit())
            && frac.chars().all(|c| c.is_ascii_digit())
    }
    fn count(t: &str) -> bool {
        !t.is_empty() && t.len() <= 6 && t.chars().all(|c| c.is_ascii_digit())
    }
    fn token(t: &str) -> bool {
        if t == "_" || t == "stale" || number(t) {
            return true;
        }
        let Some((head, n)) = t.rsplit_once('x') else {
            return false;
        };
        if !count(n) {
            return false;
        }
        if head == "_" || number(head) {
            return true;
        }
        // a+b or a-b (a may itself be negative).
        let body = head.strip_prefix('-').unwrap_or(head);
        match body.find(['+', '-']) {
            Some(i) => number(&head[..head.len() - body.len() + i]) && number(&body[i + 1..]),
            None => false,
        }
    }
    let tokens: Vec<&str> = v.split(' ').collect();
    !v.is_empty() && tokens.len() <= 1000 && tokens.iter().all(|t| token(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_and_values_as_promtool_reads_them() {
        assert!(is_series("up"));
        assert!(is_series("queue_depth{job=\"shop\",instance=\"a:1\"}"));
        assert!(!is_series("up{job=~\"a\"}"));
        assert!(!is_series("up{job=\"a\"} + 1"));
        assert!(!is_series("1up"));
        for v in [
            "150x20",
            "0+10x30",
            "1 2 _ 4",
            "stale",
            "_x3 100x3",
            "1950-20x80",
            "-1+2x3",
            "0.5",
        ] {
            assert!(is_series_values(v), "{v}");
        }
        for v in ["", "x", "1x", "1+x3", "abc", "1  2", "1e5", "1x1234567"] {
            assert!(!is_series_values(v), "{v}");
        }
    }
}
