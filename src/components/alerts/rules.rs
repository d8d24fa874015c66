//! The rules of the manifest's own alerts: one file per availability SLO
//! (`rules/slo-<service>.yml`: Sloth-compatible multi-window multi-burn-rate recording
//! rules and alerts, with their tests) and the custom alerts (`rules/custom.yml`).

use std::collections::BTreeMap;

use crate::model::{Contribution, Settled};
use crate::rules::*;
use crate::units::parse_duration;

pub(super) fn contribute(s: &Settled, out: &mut Contribution) {
    out.rules.extend(slo_rules(s));
    out.rules.extend(custom_rules(s));
}

fn slo_rules(s: &Settled) -> Vec<RuleFile> {
    let mut out = Vec::new();
    for slo in &s.alerts.slo {
        let Some(svc) = s.services.iter().find(|s| s.name == slo.service) else {
            continue;
        };
        let Some(mm) = svc.metrics.as_ref() else {
            continue;
        };
        let name = &svc.name;
        let id = format!("{name}-availability");
        let mut b = Builder::new(
            &format!("slo-{name}"),
            &format!(
                "the availability SLO of \"{name}\" ({}%)",
                num(slo.objective)
            ),
        );
        let slo_labels = labels(&[
            ("service", name),
            ("sloth_id", &id),
            ("sloth_service", name),
            ("sloth_slo", "availability"),
        ]);
        let filter =
            format!("{{sloth_id=\"{id}\", sloth_service=\"{name}\", sloth_slo=\"availability\"}}");
        let (req, status) = (&mm.requests, &mm.status_label);
        let job = format!("job=\"{name}\"");
        b.group(&format!("slo-{name}-sli"));
        let windows = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];
        for w in windows {
            let mut l = slo_labels.clone();
            l.insert("sloth_window".into(), w.into());
            b.record(
                &format!("slo:sli_error:ratio_rate{w}"),
                // `or 0 * requests`: no 5xx series yet is an error ratio of 0, not empty.
                format!(
                    "(sum by (environment) (rate({req}{{{job},{status}=~\"5..\"}}[{w}])) or (0 * sum by (environment) (rate({req}{{{job}}}[{w}])))) / (sum by (environment) (rate({req}{{{job}}}[{w}])))"
                ),
                l,
            );
        }
        // Sloth names windows as Prometheus prints durations: 28d is `4w`, 30d `30d`.
        let period_ms = parse_duration(&slo.window).unwrap_or(0);
        let period = prom_duration(period_ms);
        let mut period_labels = slo_labels.clone();
        period_labels.insert("sloth_window".into(), period.clone());
        b.record(
            &format!("slo:sli_error:ratio_rate{period}"),
            format!(
                "sum_over_time(slo:sli_error:ratio_rate5m{filter}[{period}]) / ignoring (sloth_window) count_over_time(slo:sli_error:ratio_rate5m{filter}[{period}])"
            ),
            period_labels,
        );
        b.group(&format!("slo-{name}-meta"));
        let ratio = slo.objective / 100.0;
        let days = period_ms as f64 / 86_400_000.0;
        b.record(
            "slo:objective:ratio",
            format!("vector({})", num(ratio)),
            slo_labels.clone(),
        );
        b.record(
            "slo:error_budget:ratio",
            format!("vector(1 - {})", num(ratio)),
            slo_labels.clone(),
        );
        b.record(
            "slo:time_period:days",
            format!("vector({})", num(days)),
            slo_labels.clone(),
        );
        let on = "on (sloth_id, sloth_slo, sloth_service) group_left";
        b.record(
            "slo:current_burn_rate:ratio",
            format!("slo:sli_error:ratio_rate5m{filter} / {on} slo:error_budget:ratio{filter}"),
            slo_labels.clone(),
        );
        b.record(
            "slo:period_burn_rate:ratio",
            format!(
                "slo:sli_error:ratio_rate{period}{filter} / {on} slo:error_budget:ratio{filter}"
            ),
            slo_labels.clone(),
        );
        b.record(
            "slo:period_error_budget_remaining:ratio",
            format!("1 - slo:period_burn_rate:ratio{filter}"),
            slo_labels.clone(),
        );
        let mut info = slo_labels.clone();
        info.insert("sloth_mode".into(), "obsgen".into());
        info.insert("sloth_objective".into(), num(slo.objective));
        info.insert("sloth_spec".into(), "obsgen/v1".into());
        info.insert("sloth_version".into(), env!("CARGO_PKG_VERSION").into());
        b.record("sloth_slo_info", "vector(1)".into(), info);

        b.group(&format!("slo-{name}-alerts"));
        let budget = slo.error_budget;
        // Sloth's multi-window multi-burn-rate alert (internal/plugin/slo/core/
        // alert_rules_v1/plugin.go, mwmbAlertTpl): each window's ratio against the burn
        // factor, `max … without (sloth_window)` so the alert keeps one label set
        // whichever window pair fires, and no `for`.
        let over = |w: &str, factor: f64| {
            format!(
                "max(slo:sli_error:ratio_rate{w}{filter} > ({} * {})) without (sloth_window)",
                num(factor),
                num(budget)
            )
        };
        let pairs = |quick: (&str, &str, f64), slow: (&str, &str, f64)| {
            format!(
                "({} and {}) or ({} and {})",
                over(quick.0, quick.2),
                over(quick.1, quick.2),
                over(slow.0, slow.2),
                over(slow.1, slow.2)
            )
        };
        let hours = period_ms as f64 / 3_600_000.0;
        let [pq, ps, tq, ts] = burn_factors(hours);
        let page = pairs(("5m", "1h", pq), ("30m", "6h", ps));
        let ticket = pairs(("2h", "1d", tq), ("6h", "3d", ts));
        let mk = |alert: &str,
                  expr: String,
                  for_: &str,
                  severity: &'static str,
                  sloth: &str,
                  speed: &str| {
            let mut s = spec(
                alert,
                expr,
                for_,
                severity,
                Text::new().t("Service ").l("service").t(format!(" burns its error budget {speed}")),
                Text::new()
                    .l("service")
                    .t(" in ")
                    .l("environment")
                    .t(" fails ")
                    .v(Fmt::Percent)
                    .t(format!(
                        " of its requests; at this rate the error budget of the {}% objective over {period} runs out {}.",
                        num(slo.objective),
                        if sloth == "page" { "within days" } else { "before the period ends" }
                    )),
            );
            s.extra_labels = BTreeMap::from([("sloth_severity".to_string(), sloth.to_string())]);
            s
        };
        let series = |err_per_min: f64, steps: u32| {
            let total_sel = selector(
                req,
                &labels(&[
                    ("environment", ENV),
                    ("instance", &mm.targets[0]),
                    ("job", name),
                    ("service", name),
                    (status.as_str(), "200"),
                ]),
            );
            let err_sel = selector(
                req,
                &labels(&[
                    ("environment", ENV),
                    ("instance", &mm.targets[0]),
                    ("job", name),
                    ("service", name),
                    (status.as_str(), "500"),
                ]),
            );
            vec![
                (
                    total_sel,
                    format!("0+{}x{steps}", num(1000.0 - err_per_min)),
                ),
                (err_sel, format!("0+{}x{steps}", num(err_per_min))),
            ]
        };
        let result = |_: &str| {
            let mut l = slo_labels.clone();
            l.insert("environment".into(), ENV.into());
            l
        };
        // Fast burn: every request fails. Slow burn: 5× the budget (below the page's slow
        // factor, 5.6 for 28 days, 6 for 30).
        let slow_ratio = 5.0 * budget;
        let fast_series = series(1000.0, 100);
        let slow_series = series(1000.0 * slow_ratio, 200);
        let mut fast_case = case(
            "every request fails",
            fast_series.clone(),
            "90m",
            vec![(result("5m"), 1.0)],
        );
        fast_case.interval = "1m";
        b.alerts(
            vec![mk(
                "ErrorBudgetBurnFast",
                page,
                "",
                "critical",
                "page",
                "fast",
            )],
            vec![vec![fast_case]],
            vec![case(
                "the error ratio is 5× the budget",
                slow_series.clone(),
                "190m",
                vec![],
            )],
        );
        b.alerts(
            vec![mk(
                "ErrorBudgetBurnSlow",
                ticket,
                "",
                "warning",
                "ticket",
                "slowly",
            )],
            vec![vec![case(
                "the error ratio is 5× the budget",
                slow_series.clone(),
                "190m",
                vec![(result("2h"), slow_ratio)],
            )]],
            vec![case("no request fails", series(0.0, 200), "190m", vec![])],
        );
        // Traffic, no 5xx: the SLI is 0 and the whole budget remains (not "No data").
        let mut l5 = result("5m");
        l5.insert("sloth_window".into(), "5m".into());
        let ok_only = vec![series(0.0, 40).remove(0)];
        let mut lp = result("");
        lp.insert("sloth_window".into(), period.clone());
        b.expr_case(
            "traffic, no 5xx: the error ratio is 0 and the budget whole",
            ok_only,
            "30m",
            vec![
                (
                    format!("slo:sli_error:ratio_rate5m{filter}"),
                    vec![(selector("slo:sli_error:ratio_rate5m", &l5), "0".into())],
                ),
                (
                    format!("slo:period_error_budget_remaining:ratio{filter}"),
                    vec![(
                        selector("slo:period_error_budget_remaining:ratio", &lp),
                        "1".into(),
                    )],
                ),
            ],
        );
        out.push(b.finish());
    }
    out
}

/// The promtool case of a custom alert's own test (`[alerts.custom.test]`): its input,
/// and each expected alert with the rule's labels and the literal summary and
/// description (or the test's expanded one).
fn custom_test(
    c: &crate::model::CustomAlert,
    t: &crate::model::alerting::CustomAlertTest,
    rule_labels: &BTreeMap<String, String>,
) -> TestCase {
    let description = c
        .description
        .clone()
        .or_else(|| t.description.clone())
        .unwrap_or_default();
    TestCase {
        name: format!("{}: the manifest's own test", c.name),
        interval: "1m".into(),
        input_series: t
            .input
            .iter()
            .map(|i| Series {
                series: i.series.clone(),
                values: i.values.clone(),
            })
            .collect(),
        alert_rule_test: vec![AlertTest {
            eval_time: t.eval_time.clone(),
            alertname: c.name.clone(),
            exp_alerts: t
                .expect
                .iter()
                .map(|e| {
                    let mut l = e.clone();
                    l.extend(rule_labels.clone());
                    ExpAlert {
                        exp_labels: l,
                        exp_annotations: BTreeMap::from([
                            ("summary".to_string(), c.summary.clone()),
                            ("description".to_string(), description.clone()),
                        ]),
                    }
                })
                .collect(),
        }],
        promql_expr_test: Vec::new(),
    }
}

/// Sloth's burn factors for an SLO period of `hours` (page quick, page slow, ticket quick,
/// ticket slow): the share of the error budget its windows spend (Sloth's google-28d and
/// google-30d windows: 2 % in 1h, 5 % in 6h, 10 % in 1d, 10 % in 3d) times the period over
/// the long window (internal/alert/window.go, getBurnRateFactor). 30 days: 14.4, 6, 3, 1;
/// 28 days: 13.44, 5.6, 2.8, 0.933333 (rounded to six decimals: Sloth prints the float's
/// error too, 5.6000000000000005).
pub fn burn_factors(hours: f64) -> [f64; 4] {
    let f = |percent: f64, long: f64| (percent * hours / 100.0 / long * 1e6).round() / 1e6;
    [f(2.0, 1.0), f(5.0, 6.0), f(10.0, 24.0), f(10.0, 72.0)]
}

/// A duration as Prometheus prints it (common/model `Duration.String`): years and weeks
/// only when exact, then days, hours, minutes, seconds, milliseconds (28d → `4w`).
pub fn prom_duration(ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut left = ms;
    let mut out = String::new();
    for (unit, mult, exact) in [
        ("y", 365 * 86_400_000, true),
        ("w", 7 * 86_400_000, true),
        ("d", 86_400_000, false),
        ("h", 3_600_000, false),
        ("m", 60_000, false),
        ("s", 1000, false),
        ("ms", 1, false),
    ] {
        if exact && !left.is_multiple_of(mult) {
            continue;
        }
        let v = left / mult;
        if v > 0 {
            out.push_str(&format!("{v}{unit}"));
            left -= v * mult;
        }
    }
    out
}

/// Name of the rules file of the manifest's custom alerts (`rules/custom.yml`).
pub const CUSTOM: &str = "custom";

fn custom_rules(s: &Settled) -> Option<RuleFile> {
    if s.alerts.custom.is_empty() {
        return None;
    }
    let mut b = Builder::new(
        CUSTOM,
        "the manifest's custom alerts (tested with the input each one's `test` gives)",
    );
    for c in &s.alerts.custom {
        let mut l = c.labels.clone();
        l.insert(
            "severity".into(),
            format!("{:?}", c.severity).to_lowercase(),
        );
        if let Some(t) = &c.test {
            b.test(custom_test(c, t, &l));
        }
        b.rule(Rule {
            record: None,
            alert: Some(c.name.clone()),
            expr: c.expr.clone(),
            for_: Some(c.for_.clone()),
            labels: l,
            annotations: BTreeMap::from([
                ("summary".to_string(), c.summary.clone()),
                (
                    "description".to_string(),
                    c.description.clone().unwrap_or_else(|| {
                        format!(
                            "{} (value {{{{ $value }}}}, labels {{{{ $labels }}}})",
                            c.summary
                        )
                    }),
                ),
            ]),
        });
    }
    Some(b.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_prometheus_and_sloth_name_them() {
        assert_eq!(prom_duration(28 * 86_400_000), "4w");
        assert_eq!(prom_duration(30 * 86_400_000), "30d");
        assert_eq!(prom_duration(7 * 86_400_000), "1w");
        assert_eq!(prom_duration(90 * 60_000), "1h30m");
    }

    #[test]
    fn burn_factors_are_sloths() {
        assert_eq!(burn_factors(720.0), [14.4, 6.0, 3.0, 1.0]);
        assert_eq!(burn_factors(672.0), [13.44, 5.6, 2.8, 0.933333]);
    }
}
