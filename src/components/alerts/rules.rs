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
                format!(
                    "(sum by (environment) (rate({req}{{{job},{status}=~\"5..\"}}[{w}]))) / (sum by (environment) (rate({req}{{{job}}}[{w}])))"
                ),
                l,
            );
        }
        let period = slo.window.clone();
        b.record(
            &format!("slo:sli_error:ratio_rate{period}"),
            format!(
                "sum_over_time(slo:sli_error:ratio_rate5m{filter}[{period}]) / ignoring (sloth_window) count_over_time(slo:sli_error:ratio_rate5m{filter}[{period}])"
            ),
            labels(&[("sloth_window", &period)]),
        );
        b.group(&format!("slo-{name}-meta"));
        let ratio = slo.objective / 100.0;
        let days = parse_duration(&period).unwrap_or(0) as f64 / 86_400_000.0;
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
        let burn = |short: &str, long: &str, factor: f64| {
            format!(
                "(slo:sli_error:ratio_rate{short}{filter} > ({} * {})) and ignoring (sloth_window) (slo:sli_error:ratio_rate{long}{filter} > ({} * {}))",
                num(factor),
                num(budget),
                num(factor),
                num(budget)
            )
        };
        let page = format!(
            "({}) or ignoring (sloth_window) ({})",
            burn("5m", "1h", 14.4),
            burn("30m", "6h", 6.0)
        );
        let ticket = format!(
            "({}) or ignoring (sloth_window) ({})",
            burn("2h", "1d", 3.0),
            burn("6h", "3d", 1.0)
        );
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
        let result = |w: &str| {
            let mut l = slo_labels.clone();
            l.insert("environment".into(), ENV.into());
            l.insert("sloth_window".into(), w.into());
            l
        };
        // Fast burn: every request fails. Slow burn: 5× the budget (below the 6× of the page).
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
                "2m",
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
                "15m",
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
        out.push(b.finish());
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
        "the manifest's custom alerts (no generated tests: their input is yours)",
    );
    for c in &s.alerts.custom {
        let mut l = c.labels.clone();
        l.insert(
            "severity".into(),
            format!("{:?}", c.severity).to_lowercase(),
        );
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
