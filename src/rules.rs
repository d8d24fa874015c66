//! The rule-building kit every component uses: alert and recording rules, and a
//! promtool unit test for every alert.
//!
//! Each component builds the rules of what it runs (`src/components/<name>/rules.rs`)
//! with a [`Builder`]: recording rules, alerts ([`AlertSpec`]) with the cases under which
//! they fire ([`Firing`]: input series, with the exact labels and annotations promtool
//! must see) and under which they stay quiet, and the common shapes ([`Gauge`],
//! [`Usage`], [`Builder::counter_rate_alert`]). Annotations are built from [`Text`]
//! parts so the same description renders as a Go template for Prometheus and as the
//! expected string for the test. Test series carry the labels Prometheus adds
//! ([`ENV`] as the `environment`).

use std::collections::BTreeMap;

pub use crate::model::rules::{
    AlertTest, ExpAlert, ExprTest, Group, Place, Rule, RuleFile, RulePart, Series, TestCase,
};
use crate::units::parse_duration;

/// One part of an annotation.
#[derive(Debug, Clone)]
pub enum Part {
    Text(String),
    /// `{{ $labels.NAME }}`
    Label(&'static str),
    /// `{{ $value … }}` in a format.
    Value(Fmt),
}

/// How an alert's value is printed.
#[derive(Debug, Clone, Copy)]
pub enum Fmt {
    /// `humanizePercentage` (0.5 → `50%`).
    Percent,
    /// `humanizeDuration` (0.975 → `975ms`).
    Duration,
    /// `printf "%.Nf"`.
    Fixed(usize),
}

/// An annotation text: rendered for Prometheus, or evaluated for a test.
#[derive(Debug, Clone, Default)]
pub struct Text(pub Vec<Part>);

impl Text {
    pub fn new() -> Self {
        Text(Vec::new())
    }
    pub fn t(mut self, s: impl Into<String>) -> Self {
        self.0.push(Part::Text(s.into()));
        self
    }
    pub fn l(mut self, name: &'static str) -> Self {
        self.0.push(Part::Label(name));
        self
    }
    pub fn v(mut self, f: Fmt) -> Self {
        self.0.push(Part::Value(f));
        self
    }
    /// Appends the parts of another text.
    pub fn push(mut self, other: Text) -> Self {
        self.0.extend(other.0);
        self
    }

    /// The Go template Prometheus expands.
    pub fn template(&self) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Part::Text(s) => s.clone(),
                Part::Label(l) => format!("{{{{ $labels.{l} }}}}"),
                Part::Value(Fmt::Percent) => "{{ $value | humanizePercentage }}".into(),
                Part::Value(Fmt::Duration) => "{{ $value | humanizeDuration }}".into(),
                Part::Value(Fmt::Fixed(n)) => format!("{{{{ printf \"%.{n}f\" $value }}}}"),
            })
            .collect()
    }

    /// What Prometheus prints for these labels and value.
    pub fn expand(&self, labels: &BTreeMap<String, String>, value: f64) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Part::Text(s) => s.clone(),
                Part::Label(l) => labels.get(*l).cloned().unwrap_or_default(),
                Part::Value(Fmt::Percent) => format!("{}%", go_g4(value * 100.0)),
                Part::Value(Fmt::Duration) => go_humanize_duration(value),
                Part::Value(Fmt::Fixed(n)) => format!("{value:.n$}"),
            })
            .collect()
    }
}

/// Go's `%.4g` for values in the plain (non-exponent) range.
pub fn go_g4(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let exp = v.abs().log10().floor() as i32;
    let decimals = (3 - exp).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Go template `humanizeDuration` (Prometheus), for the ranges tests use.
pub fn go_humanize_duration(v: f64) -> String {
    if v == 0.0 {
        return "0s".into();
    }
    if v.abs() >= 1.0 {
        let total = v.abs() as i64;
        let (d, h, m, s) = (
            total / 86400,
            total / 3600 % 24,
            total / 60 % 60,
            total % 60,
        );
        let sign = if v < 0.0 { "-" } else { "" };
        return if d != 0 {
            format!("{sign}{d}d {h}h {m}m {s}s")
        } else if h != 0 {
            format!("{sign}{h}h {m}m {s}s")
        } else if m != 0 {
            format!("{sign}{m}m {s}s")
        } else {
            format!("{sign}{}s", go_g4(v.abs()))
        };
    }
    let mut v = v;
    let mut prefix = "";
    for p in ["m", "u", "n", "p"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", go_g4(v))
}

/// Labels as `{a="b",c="d"}` in sorted order.
pub fn selector(name: &str, labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}}", inner.join(","))
}

pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// An alert with its description parts and its test cases.
pub struct AlertSpec {
    pub name: String,
    pub expr: String,
    pub for_: String,
    pub severity: &'static str,
    pub extra_labels: BTreeMap<String, String>,
    pub summary: Text,
    pub description: Text,
}

/// A firing case: series, when to evaluate, and the alerts expected (their
/// labels before the rule's own, and the value their annotations print).
pub struct Firing {
    pub name: String,
    pub interval: &'static str,
    pub series: Vec<(String, String)>,
    pub eval_time: String,
    /// (labels of the result vector, value) per expected alert of each spec.
    pub expect: Vec<(BTreeMap<String, String>, f64)>,
}

/// Test data of a 0/1-gauge alert (see [`Builder::gauge_zero_alert`]).
pub struct Gauge {
    pub series: String,
    pub result: BTreeMap<String, String>,
    pub samples: u32,
    pub eval: &'static str,
    pub firing: &'static str,
    pub quiet: &'static str,
}

/// A "usage near its limit" alert and its test data (see [`Builder::usage_alert`]).
pub struct Usage {
    pub alert: &'static str,
    pub expr: String,
    pub summary: Text,
    /// Text after the printed share (` of max_connections.`).
    pub of_what: &'static str,
    /// Series selectors of the used amount and of the limit.
    pub used: String,
    pub limit: String,
    /// Labels of the alert's result vector.
    pub result: BTreeMap<String, String>,
    /// (used, limit, case name) under which it fires, and under which it stays quiet.
    pub firing: (u32, u32, &'static str),
    pub quiet: (u32, u32, &'static str),
}

/// Builds one rules file (or one [`RulePart`] of a shared one): groups, rules, tests.
pub struct Builder {
    file: RuleFile,
    group: usize,
    /// The levels (percent) of the "connections near the limit" usage alerts
    /// (`[alerts] database_connections`), when the caller sets them.
    pub connections_level: Option<crate::model::alerting::Level>,
}

impl Builder {
    pub fn new(name: &str, about: &str) -> Self {
        Builder {
            file: RuleFile {
                name: name.into(),
                about: about.into(),
                groups: vec![Group {
                    name: name.into(),
                    rules: Vec::new(),
                }],
                tests: Vec::new(),
                alerts: 0,
                records: 0,
            },
            group: 0,
            connections_level: None,
        }
    }

    pub fn group(&mut self, name: &str) {
        self.file.groups.push(Group {
            name: name.into(),
            rules: Vec::new(),
        });
        self.group = self.file.groups.len() - 1;
    }

    pub fn record(&mut self, record: &str, expr: String, labels: BTreeMap<String, String>) {
        self.file.groups[self.group].rules.push(Rule {
            record: Some(record.into()),
            alert: None,
            expr,
            for_: None,
            labels,
            annotations: BTreeMap::new(),
        });
        self.file.records += 1;
    }

    /// Adds alerts sharing one name (e.g. a warning and a critical threshold) and
    /// their tests: each firing case expects every spec whose `expect` entry is given;
    /// each quiet case expects none of them.
    pub fn alerts(&mut self, specs: Vec<AlertSpec>, firing: Vec<Vec<Firing>>, quiet: Vec<Firing>) {
        let name = specs[0].name.clone();
        for spec in &specs {
            let mut labels = spec.extra_labels.clone();
            labels.insert("severity".into(), spec.severity.into());
            self.file.groups[self.group].rules.push(Rule {
                record: None,
                alert: Some(spec.name.clone()),
                expr: spec.expr.clone(),
                // An empty `for` is none (Sloth's SLO alerts have none).
                for_: (!spec.for_.is_empty()).then(|| spec.for_.clone()),
                labels,
                annotations: BTreeMap::from([
                    ("summary".to_string(), spec.summary.template()),
                    ("description".to_string(), spec.description.template()),
                ]),
            });
            self.file.alerts += 1;
        }
        // firing[i][j]: case i, expectation for spec j (the case's series are those of firing[i][0]).
        for cases in firing {
            let first = &cases[0];
            let mut exp_alerts = Vec::new();
            for (spec, case) in specs.iter().zip(cases.iter()) {
                for (result_labels, value) in &case.expect {
                    let mut l = result_labels.clone();
                    l.extend(spec.extra_labels.clone());
                    l.insert("severity".into(), spec.severity.into());
                    exp_alerts.push(ExpAlert {
                        exp_annotations: BTreeMap::from([
                            ("summary".to_string(), spec.summary.expand(&l, *value)),
                            (
                                "description".to_string(),
                                spec.description.expand(&l, *value),
                            ),
                        ]),
                        exp_labels: l,
                    });
                }
            }
            self.file.tests.push(TestCase {
                name: format!("{name}: {}", first.name),
                interval: first.interval.into(),
                input_series: first
                    .series
                    .iter()
                    .map(|(s, v)| Series {
                        series: s.clone(),
                        values: v.clone(),
                    })
                    .collect(),
                alert_rule_test: vec![AlertTest {
                    eval_time: first.eval_time.clone(),
                    alertname: name.clone(),
                    exp_alerts,
                }],
                promql_expr_test: Vec::new(),
            });
        }
        for q in quiet {
            self.file.tests.push(TestCase {
                name: format!("{name} stays quiet: {}", q.name),
                interval: q.interval.into(),
                input_series: q
                    .series
                    .iter()
                    .map(|(s, v)| Series {
                        series: s.clone(),
                        values: v.clone(),
                    })
                    .collect(),
                alert_rule_test: vec![AlertTest {
                    eval_time: q.eval_time.clone(),
                    alertname: name.clone(),
                    exp_alerts: Vec::new(),
                }],
                promql_expr_test: Vec::new(),
            });
        }
    }

    /// One alert (one or more severity levels of one name) with one firing case, where
    /// every level fires with the same labels and value, and one quiet case.
    pub fn levels(&mut self, specs: Vec<AlertSpec>, firing: Firing, quiet: Firing) {
        let n = specs.len();
        let mut cases = vec![firing];
        for _ in 1..n {
            let expect = cases[0].expect.clone();
            cases.push(case("", vec![], &cases[0].eval_time.clone(), expect));
        }
        self.alerts(specs, vec![cases], vec![quiet]);
    }

    /// An alert on a 0/1 gauge (`up`, `*_up`, `*_reload_successful`): fires when the
    /// series is 0 for `samples` minutes, stays quiet when it is 1; evaluated at `eval`.
    pub fn gauge_zero_alert(&mut self, spec: AlertSpec, g: Gauge) {
        self.alerts(
            vec![spec],
            vec![vec![case(
                g.firing,
                vec![(g.series.clone(), format!("0x{}", g.samples))],
                g.eval,
                vec![(g.result, 0.0)],
            )]],
            vec![case(
                g.quiet,
                vec![(g.series, format!("1x{}", g.samples))],
                g.eval,
                vec![],
            )],
        );
    }

    /// An alert on a counter that should not grow (`rate(...) > 0`): fires when it grows
    /// by one a minute, stays quiet when it stays flat.
    pub fn counter_rate_alert(
        &mut self,
        spec: AlertSpec,
        series: String,
        result: BTreeMap<String, String>,
        firing: &str,
        quiet: &str,
    ) {
        self.alerts(
            vec![spec],
            vec![vec![case(
                firing,
                vec![(series.clone(), "0+1x20".into())],
                "15m",
                vec![(result, 1.0 / 60.0)],
            )]],
            vec![case(quiet, vec![(series, "0x20".into())], "15m", vec![])],
        );
    }

    /// A warning when a usage gauge nears its limit: fires on `firing` (used, limit),
    /// stays quiet on `quiet`; the description prints the used share.
    pub fn usage_alert(&mut self, u: Usage) {
        if let (Some(level), " of max_connections.") = (self.connections_level, u.of_what) {
            return self.connections_alert(u, level);
        }
        let (used, limit, name) = u.firing;
        let share = f64::from(used) / f64::from(limit);
        let (q_used, q_limit, q_name) = u.quiet;
        self.alerts(
            vec![spec(
                u.alert,
                u.expr,
                "5m",
                "warning",
                u.summary,
                Text::new()
                    .l("service")
                    .t(" uses ")
                    .v(Fmt::Percent)
                    .t(u.of_what),
            )],
            vec![vec![case(
                name,
                vec![
                    (u.used.clone(), format!("{used}x20")),
                    (u.limit.clone(), format!("{limit}x20")),
                ],
                "10m",
                vec![(u.result, share)],
            )]],
            vec![case(
                q_name,
                vec![
                    (u.used, format!("{q_used}x20")),
                    (u.limit, format!("{q_limit}x20")),
                ],
                "10m",
                vec![],
            )],
        );
    }

    /// A test of recording rules: on `series`, each expression returns exactly the
    /// samples given (series selector with every label, value) at `eval_time`.
    pub fn expr_case(
        &mut self,
        name: &str,
        series: Vec<(String, String)>,
        eval_time: &str,
        exprs: Vec<(String, Vec<(String, String)>)>,
    ) {
        self.file.tests.push(TestCase {
            name: name.into(),
            interval: "1m".into(),
            input_series: series
                .into_iter()
                .map(|(series, values)| Series { series, values })
                .collect(),
            alert_rule_test: Vec::new(),
            promql_expr_test: exprs
                .into_iter()
                .map(|(expr, exp_samples)| ExprTest {
                    expr,
                    eval_time: eval_time.into(),
                    exp_samples,
                })
                .collect(),
        });
    }

    /// A connections-near-the-limit alert at a warning and a critical level (percent):
    /// the usage alert's ratio (its expression before its last ` > `) against each level;
    /// it fires beyond both, stays quiet at half the warning.
    fn connections_alert(&mut self, u: Usage, level: crate::model::alerting::Level) {
        let ratio = u
            .expr
            .rsplit_once(" > ")
            .map_or(u.expr.as_str(), |(r, _)| r);
        let specs = [("warning", level.warning), ("critical", level.critical)]
            .into_iter()
            .map(|(severity, t)| {
                spec(
                    u.alert,
                    format!("{ratio} > {}", num(t / 100.0)),
                    "5m",
                    severity,
                    u.summary.clone(),
                    Text::new()
                        .l("service")
                        .t(" uses ")
                        .v(Fmt::Percent)
                        .t(format!(" of max_connections (threshold {}%).", num(t))),
                )
            })
            .collect();
        let over = ((level.critical + (100.0 - level.critical) * 0.6) * 10.0).round() / 10.0;
        let under = (level.warning / 2.0).floor();
        let limit = 1000.0;
        let firing = case(
            &format!("{}% of the connections", num(over)),
            vec![
                (u.used.clone(), format!("{}x20", num(over * 10.0))),
                (u.limit.clone(), format!("{}x20", num(limit))),
            ],
            "10m",
            vec![(u.result.clone(), over / 100.0)],
        );
        let quiet = case(
            &format!("{}% of the connections", num(under)),
            vec![
                (u.used, format!("{}x20", num(under * 10.0))),
                (u.limit, format!("{}x20", num(limit))),
            ],
            "10m",
            vec![],
        );
        self.levels(specs, firing, quiet);
    }

    /// Adds a test case as given (a custom alert's own test).
    pub fn test(&mut self, t: TestCase) {
        self.file.tests.push(t);
    }

    /// Adds a rule as given, without generated tests (the manifest's custom alerts:
    /// their input is the user's).
    pub fn rule(&mut self, rule: Rule) {
        if rule.alert.is_some() {
            self.file.alerts += 1;
        } else {
            self.file.records += 1;
        }
        self.file.groups[self.group].rules.push(rule);
    }

    /// The part of a shared rules file (named by [`Builder::new`]) that goes at `place`.
    pub fn part(self, place: Place) -> RulePart {
        RulePart {
            place,
            file: self.finish(),
        }
    }

    pub fn finish(mut self) -> RuleFile {
        self.file.groups.retain(|g| !g.rules.is_empty());
        self.file
    }
}

pub fn spec(
    name: &str,
    expr: String,
    for_: &str,
    severity: &'static str,
    summary: Text,
    description: Text,
) -> AlertSpec {
    AlertSpec {
        name: name.into(),
        expr,
        for_: for_.into(),
        severity,
        extra_labels: BTreeMap::new(),
        summary,
        description,
    }
}

pub fn case(
    name: &str,
    series: Vec<(String, String)>,
    eval_time: &str,
    expect: Vec<(BTreeMap<String, String>, f64)>,
) -> Firing {
    Firing {
        name: name.into(),
        interval: "1m",
        series,
        eval_time: eval_time.into(),
        expect,
    }
}

/// Minutes of a duration string, for test timing (at least 1).
pub fn minutes(d: &str) -> u64 {
    (parse_duration(d).unwrap_or(60_000) / 60_000).max(1)
}

/// `5%`, `2.5%` for a ratio.
pub fn percent(r: f64) -> String {
    format!("{}%", go_g4(r * 100.0))
}

/// `500ms`, `1.5s` for seconds.
pub fn seconds_text(s: f64) -> String {
    go_humanize_duration(s)
}

/// Formats a float as Prometheus and test values do (`0.5`, `1.2`, `2`).
pub fn num(v: f64) -> String {
    let s = format!("{v}");
    if s.contains('e') {
        format!("{v:.9}")
    } else {
        s
    }
}

/// The `environment` label of the test series.
pub const ENV: &str = "production";

/// `label="a"`, or `label=~"a|b"` for several names (DNS labels: regex-safe).
pub fn matcher(label: &str, names: &[&str]) -> String {
    if names.len() == 1 {
        format!("{label}=\"{}\"", names[0])
    } else {
        format!("{label}=~\"{}\"", names.join("|"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_formats() {
        assert_eq!(go_g4(50.0), "50");
        assert_eq!(go_g4(97.5), "97.5");
        assert_eq!(go_g4(0.5), "0.5");
        assert_eq!(go_g4(5.000000001), "5");
        assert_eq!(go_humanize_duration(0.975), "975ms");
        assert_eq!(go_humanize_duration(0.585), "585ms");
        assert_eq!(go_humanize_duration(3.9), "3.9s");
        assert_eq!(go_humanize_duration(117.0), "1m 57s");
        assert_eq!(percent(0.05), "5%");
        assert_eq!(percent(0.025), "2.5%");
    }

    #[test]
    fn text_renders_a_go_template_and_its_expansion() {
        let t = Text::new().t("a ").l("service").t(" at ").v(Fmt::Percent);
        assert_eq!(
            t.template(),
            "a {{ $labels.service }} at {{ $value | humanizePercentage }}"
        );
        let l = BTreeMap::from([("service".to_string(), "api".to_string())]);
        assert_eq!(t.expand(&l, 0.5), "a api at 50%");
    }
}
