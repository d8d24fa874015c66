//! Alert and recording rules, and a promtool unit test for every alert.
//!
//! Rules are built from the resolved model: per service (RED recording rules; down,
//! health probe, error ratio, latency, traffic drop), host and containers (when
//! node-exporter / cAdvisor run), each database kind, the monitoring stack itself, a
//! Watchdog, the SLOs (Sloth-compatible multi-window multi-burn-rate rules) and the
//! manifest's custom alerts. Every generated alert carries its own test cases: input
//! series under which it fires, with the exact labels and annotations promtool must
//! see, and input under which it does not. Annotations are built from [`Text`]
//! parts so the same description renders as a Go template for Prometheus and as the
//! expected string for the test.

use std::collections::BTreeMap;

pub use crate::model::rules::{AlertTest, ExpAlert, Group, Rule, RuleFile, Series, TestCase};
use crate::model::{Model, Service};
use crate::units::{camel_of, parse_duration};

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
    fn new() -> Self {
        Text(Vec::new())
    }
    fn t(mut self, s: impl Into<String>) -> Self {
        self.0.push(Part::Text(s.into()));
        self
    }
    fn l(mut self, name: &'static str) -> Self {
        self.0.push(Part::Label(name));
        self
    }
    fn v(mut self, f: Fmt) -> Self {
        self.0.push(Part::Value(f));
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
fn selector(name: &str, labels: &BTreeMap<String, String>) -> String {
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}}", inner.join(","))
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// An alert with its description parts and its test cases.
struct AlertSpec {
    name: String,
    expr: String,
    for_: String,
    severity: &'static str,
    extra_labels: BTreeMap<String, String>,
    summary: Text,
    description: Text,
}

/// A firing case: series, when to evaluate, and the alerts expected (their
/// labels before the rule's own, and the value their annotations print).
struct Firing {
    name: String,
    interval: &'static str,
    series: Vec<(String, String)>,
    eval_time: String,
    /// (labels of the result vector, value) per expected alert of each spec.
    expect: Vec<(BTreeMap<String, String>, f64)>,
}

/// Test data of a 0/1-gauge alert (see [`Builder::gauge_zero_alert`]).
struct Gauge {
    series: String,
    result: BTreeMap<String, String>,
    samples: u32,
    eval: &'static str,
    firing: &'static str,
    quiet: &'static str,
}

/// A "usage near its limit" alert and its test data (see [`Builder::usage_alert`]).
struct Usage {
    alert: &'static str,
    expr: String,
    summary: Text,
    /// Text after the printed share (` of max_connections.`).
    of_what: &'static str,
    /// Series selectors of the used amount and of the limit.
    used: String,
    limit: String,
    /// Labels of the alert's result vector.
    result: BTreeMap<String, String>,
    /// (used, limit, case name) under which it fires, and under which it stays quiet.
    firing: (u32, u32, &'static str),
    quiet: (u32, u32, &'static str),
}

struct Builder {
    file: RuleFile,
    group: usize,
}

impl Builder {
    fn new(name: &str, about: &str) -> Self {
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
        }
    }

    fn group(&mut self, name: &str) {
        self.file.groups.push(Group {
            name: name.into(),
            rules: Vec::new(),
        });
        self.group = self.file.groups.len() - 1;
    }

    fn record(&mut self, record: &str, expr: String, labels: BTreeMap<String, String>) {
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
    fn alerts(&mut self, specs: Vec<AlertSpec>, firing: Vec<Vec<Firing>>, quiet: Vec<Firing>) {
        let name = specs[0].name.clone();
        for spec in &specs {
            let mut labels = spec.extra_labels.clone();
            labels.insert("severity".into(), spec.severity.into());
            self.file.groups[self.group].rules.push(Rule {
                record: None,
                alert: Some(spec.name.clone()),
                expr: spec.expr.clone(),
                for_: Some(spec.for_.clone()),
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
            });
        }
    }

    /// An alert on a 0/1 gauge (`up`, `*_up`, `*_reload_successful`): fires when the
    /// series is 0 for `samples` minutes, stays quiet when it is 1; evaluated at `eval`.
    fn gauge_zero_alert(&mut self, spec: AlertSpec, g: Gauge) {
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
    fn counter_rate_alert(
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
    fn usage_alert(&mut self, u: Usage) {
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

    fn finish(mut self) -> RuleFile {
        self.file.groups.retain(|g| !g.rules.is_empty());
        self.file
    }
}

fn spec(
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

fn case(
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
fn minutes(d: &str) -> u64 {
    (parse_duration(d).unwrap_or(60_000) / 60_000).max(1)
}

/// `5%`, `2.5%` for a ratio.
fn percent(r: f64) -> String {
    format!("{}%", go_g4(r * 100.0))
}

/// `500ms`, `1.5s` for seconds.
fn seconds_text(s: f64) -> String {
    go_humanize_duration(s)
}

/// Formats a float as Prometheus and test values do (`0.5`, `1.2`, `2`).
fn num(v: f64) -> String {
    let s = format!("{v}");
    if s.contains('e') {
        format!("{v:.9}")
    } else {
        s
    }
}

const ENV: &str = "production";

/// `label="a"`, or `label=~"a|b"` for several names (DNS labels: regex-safe).
fn matcher(label: &str, names: &[&str]) -> String {
    if names.len() == 1 {
        format!("{label}=\"{}\"", names[0])
    } else {
        format!("{label}=~\"{}\"", names.join("|"))
    }
}

/// The rules of services that share one metric convention: one rule per concern
/// for all of them (selected by job), tested on the first of them.
fn service_rules(model: &Model, file: &str, svcs: &[&Service]) -> Option<RuleFile> {
    let svc = svcs.first()?;
    let mm = svc.metrics.as_ref()?;
    let name = &svc.name;
    let names: Vec<&str> = svcs.iter().map(|s| s.name.as_str()).collect();
    let about = match names.len() {
        1 => format!("service \"{name}\""),
        n if n <= 8 => format!(
            "services {}",
            names
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        n => format!("{n} services (\"{}\" … \"{}\")", names[0], names[n - 1]),
    };
    let mut b = Builder::new(file, &about);
    let job = matcher("job", &names);
    let svc_sel = matcher("service", &names);
    let instance = mm.targets[0].clone();
    let base = labels(&[
        ("environment", ENV),
        ("instance", &instance),
        ("job", name),
        ("service", name),
    ]);
    let alerts = &model.alerts;
    let for_ = alerts.for_.clone();
    let for_min = minutes(&for_);

    // Recording rules the alerts and dashboards share.
    let (req, dur, status) = (&mm.requests, &mm.duration, &mm.status_label);
    let by = "service, environment";
    b.record(
        "service:http_requests:rate5m",
        format!("sum by ({by}) (rate({req}{{{job}}}[5m]))"),
        BTreeMap::new(),
    );
    b.record(
        "service:http_errors:rate5m",
        format!("sum by ({by}) (rate({req}{{{job},{status}=~\"5..\"}}[5m]))"),
        BTreeMap::new(),
    );
    b.record(
        "service:http_error_ratio:rate5m",
        format!(
            "service:http_errors:rate5m{{{svc_sel}}} / service:http_requests:rate5m{{{svc_sel}}}"
        ),
        BTreeMap::new(),
    );
    for (q, rec) in [("0.5", "p50"), ("0.95", "p95"), ("0.99", "p99")] {
        b.record(
            &format!("service:http_request_duration_seconds:{rec}_5m"),
            format!("histogram_quantile({q}, sum by ({by}, le) (rate({dur}_bucket{{{job}}}[5m])))"),
            BTreeMap::new(),
        );
    }

    // Target down.
    let up = selector("up", &base);
    b.alerts(
        vec![spec(
            "ServiceDown",
            format!("up{{{job}}} == 0"),
            "2m",
            "critical",
            Text::new().t("Service ").l("service").t(" is down"),
            Text::new()
                .t("Prometheus cannot scrape ")
                .l("instance")
                .t(" of service ")
                .l("service")
                .t(" in ")
                .l("environment")
                .t(" (up = ")
                .v(Fmt::Fixed(0))
                .t(") for 2 minutes."),
        )],
        vec![vec![case(
            "the target has been unreachable for 5 minutes",
            vec![(up.clone(), "0x10".into())],
            "5m",
            vec![(base.clone(), 0.0)],
        )]],
        vec![
            case(
                "the target is up",
                vec![(up.clone(), "1x10".into())],
                "5m",
                vec![],
            ),
            case(
                "down for less than 2 minutes",
                vec![(up.clone(), "1x5 0x5".into())],
                "6m",
                vec![],
            ),
        ],
    );

    // Health probe (blackbox), for the services that have a health path.
    let probed: Vec<&Service> = svcs
        .iter()
        .copied()
        .filter(|s| s.health.is_some())
        .collect();
    if let (Some(first), true) = (probed.first(), model.components.blackbox) {
        let probed_names: Vec<&str> = probed.iter().map(|s| s.name.as_str()).collect();
        let probe_sel = matcher("service", &probed_names);
        let url = format!(
            "http://{}:{}{}",
            first.replicas[0],
            first.port,
            first.health.as_deref().unwrap_or("/")
        );
        let probe_labels = labels(&[
            ("environment", ENV),
            ("instance", &url),
            ("job", "probe"),
            ("service", &first.name),
        ]);
        let probe = selector("probe_success", &probe_labels);
        b.alerts(
            vec![spec(
                "ServiceHealthCheckFailing",
                format!("probe_success{{job=\"probe\",{probe_sel}}} == 0"),
                "2m",
                "critical",
                Text::new()
                    .t("Health check of ")
                    .l("service")
                    .t(" is failing"),
                Text::new()
                    .t("The blackbox probe of ")
                    .l("instance")
                    .t(" has failed for 2 minutes (probe_success = ")
                    .v(Fmt::Fixed(0))
                    .t(")."),
            )],
            vec![vec![case(
                "the probe fails",
                vec![(probe.clone(), "0x10".into())],
                "5m",
                vec![(probe_labels.clone(), 0.0)],
            )]],
            vec![case(
                "the probe succeeds",
                vec![(probe.clone(), "1x10".into())],
                "5m",
                vec![],
            )],
        );
    }

    // Error ratio: warning at the threshold, critical at twice the threshold (when below 100%).
    let threshold = alerts.error_rate;
    let rate_labels = labels(&[("environment", ENV), ("service", name)]);
    let ok = |code: &str| {
        let mut l = base.clone();
        l.insert(status.clone(), code.into());
        selector(req, &l)
    };
    let mut specs = Vec::new();
    let mut levels = vec![("warning", threshold)];
    if threshold * 2.0 < 1.0 {
        levels.push(("critical", threshold * 2.0));
    }
    for (severity, t) in &levels {
        specs.push(spec(
            "ServiceHighErrorRate",
            format!("service:http_error_ratio:rate5m{{{svc_sel}}} > {}", num(*t)),
            &for_,
            severity,
            Text::new()
                .t("Service ")
                .l("service")
                .t(" is failing requests"),
            Text::new()
                .v(Fmt::Percent)
                .t(" of the requests to ")
                .l("service")
                .t(" in ".to_string())
                .l("environment")
                .t(format!(" fail with 5xx (threshold {}).", percent(*t))),
        ));
    }
    // Half the requests fail: above both thresholds (capped at 50%: above critical only if 2t < 0.5).
    let fail_ratio = 0.5_f64
        .max(threshold * 2.0 + (1.0 - threshold * 2.0) / 2.0)
        .min(0.999);
    let (ok_rate, err_rate) = ((1.0 - fail_ratio) * 120.0, fail_ratio * 120.0);
    let eval = format!("{}m", for_min + 10);
    let steps = for_min + 15;
    let firing: Vec<Firing> = levels
        .iter()
        .map(|_| {
            case(
                &format!("{} of the requests fail", percent(fail_ratio)),
                vec![
                    (ok("200"), format!("0+{}x{steps}", num(ok_rate))),
                    (ok("500"), format!("0+{}x{steps}", num(err_rate))),
                ],
                &eval,
                vec![(rate_labels.clone(), fail_ratio)],
            )
        })
        .collect();
    b.alerts(
        specs,
        vec![firing],
        vec![case(
            "no request fails",
            vec![
                (ok("200"), format!("0+120x{steps}")),
                (ok("500"), format!("0x{steps}")),
            ],
            &eval,
            vec![],
        )],
    );

    // Latency p95: warning at the threshold, critical at twice.
    let t = alerts.latency_p95_seconds;
    let bucket = |le: &str| {
        let mut l = base.clone();
        l.insert("le".into(), le.into());
        selector(&format!("{dur}_bucket"), &l)
    };
    let mut specs = Vec::new();
    for (severity, limit) in [("warning", t), ("critical", 2.0 * t)] {
        specs.push(spec(
            "ServiceHighLatency",
            format!(
                "service:http_request_duration_seconds:p95_5m{{{svc_sel}}} > {}",
                num(limit)
            ),
            &for_,
            severity,
            Text::new().t("Service ").l("service").t(" is slow"),
            Text::new()
                .t("95% of the requests to ")
                .l("service")
                .t(" in ")
                .l("environment")
                .t(" take up to ")
                .v(Fmt::Duration)
                .t(format!(" (threshold {}).", seconds_text(limit))),
        ));
    }
    // All requests between t and 2t: p95 = t + 0.95 t = 1.95 t (warning, not critical);
    // all requests between 2t and 4t: p95 = 3.9 t (both).
    let (le1, le2, le4) = (num(t), num(2.0 * t), num(4.0 * t));
    let hist = |counts: [u32; 3]| -> Vec<(String, String)> {
        let mut v = vec![];
        for (le, c) in [
            (le1.as_str(), counts[0]),
            (le2.as_str(), counts[1]),
            (le4.as_str(), counts[2]),
            ("+Inf", counts[2]),
        ] {
            v.push((bucket(le), format!("0+{c}x{steps}")));
        }
        v
    };
    b.alerts(
        specs,
        vec![
            vec![
                case(
                    "requests take 1.95× the threshold",
                    hist([0, 60, 60]),
                    &eval,
                    vec![(rate_labels.clone(), 1.95 * t)],
                ),
                case("", vec![], &eval, vec![]),
            ],
            vec![
                case(
                    "requests take 3.9× the threshold",
                    hist([0, 0, 60]),
                    &eval,
                    vec![(rate_labels.clone(), 3.9 * t)],
                ),
                case("", vec![], &eval, vec![(rate_labels.clone(), 3.9 * t)]),
            ],
        ],
        vec![case(
            "requests are faster than the threshold",
            hist([60, 60, 60]),
            &eval,
            vec![],
        )],
    );

    // Traffic dropped to zero: no requests now, but some an hour ago.
    let total = selector(req, &{
        let mut l = base.clone();
        l.insert(status.clone(), "200".into());
        l
    });
    b.alerts(
        vec![spec(
            "ServiceNoTraffic",
            format!(
                "service:http_requests:rate5m{{{svc_sel}}} == 0 and service:http_requests:rate5m{{{svc_sel}}} offset 1h > 0"
            ),
            "10m",
            "warning",
            Text::new().t("Service ").l("service").t(" gets no traffic"),
            Text::new()
                .l("service")
                .t(" in ")
                .l("environment")
                .t(" has received no requests for 10 minutes (")
                .v(Fmt::Fixed(1))
                .t(" requests/s), but had traffic an hour earlier."),
        )],
        vec![vec![case(
            "traffic stops after 70 minutes",
            vec![(total.clone(), "0+60x70 4200x30".into())],
            "95m",
            vec![(rate_labels.clone(), 0.0)],
        )]],
        vec![case("steady traffic", vec![(total.clone(), "0+60x100".into())], "95m", vec![])],
    );
    Some(b.finish())
}

fn host_rules(model: &Model) -> Option<RuleFile> {
    if !model.components.node_exporter {
        return None;
    }
    let mut b = Builder::new("host", "the host (node-exporter)");
    let base = labels(&[
        ("environment", ENV),
        ("instance", "node-exporter:9100"),
        ("job", "node-exporter"),
        ("service", "node-exporter"),
    ]);
    let with = |extra: &[(&str, &str)]| {
        let mut l = base.clone();
        for (k, v) in extra {
            l.insert(k.to_string(), v.to_string());
        }
        l
    };
    let idle = selector(
        "node_cpu_seconds_total",
        &with(&[("cpu", "0"), ("mode", "idle")]),
    );
    let env_inst = labels(&[("environment", ENV), ("instance", "node-exporter:9100")]);
    b.alerts(
        vec![spec(
            "HostHighCpuUsage",
            "100 * (1 - avg by (instance, environment) (rate(node_cpu_seconds_total{job=\"node-exporter\",mode=\"idle\"}[5m]))) > 90".into(),
            "10m",
            "warning",
            Text::new().t("Host CPU is busy"),
            Text::new().t("CPU of ").l("instance").t(" has been ").v(Fmt::Fixed(0)).t("% busy for 10 minutes (threshold 90%)."),
        )],
        vec![vec![case("idle 5% of the time", vec![(idle.clone(), "0+3x30".into())], "20m", vec![(env_inst.clone(), 95.0)])]],
        vec![case("idle 90% of the time", vec![(idle.clone(), "0+54x30".into())], "20m", vec![])],
    );

    let avail = selector("node_memory_MemAvailable_bytes", &base);
    let total = selector("node_memory_MemTotal_bytes", &base);
    b.alerts(
        vec![spec(
            "HostHighMemoryUsage",
            "100 * (1 - node_memory_MemAvailable_bytes{job=\"node-exporter\"} / node_memory_MemTotal_bytes{job=\"node-exporter\"}) > 90".into(),
            "5m",
            "warning",
            Text::new().t("Host memory is nearly full"),
            Text::new().t("Memory of ").l("instance").t(" is ").v(Fmt::Fixed(0)).t("% used (threshold 90%)."),
        )],
        vec![vec![case(
            "95% used",
            vec![(avail.clone(), "50x20".into()), (total.clone(), "1000x20".into())],
            "10m",
            vec![(base.clone(), 95.0)],
        )]],
        vec![case("50% used", vec![(avail.clone(), "500x20".into()), (total.clone(), "1000x20".into())], "10m", vec![])],
    );

    let fs = with(&[
        ("device", "/dev/sda1"),
        ("fstype", "ext4"),
        ("mountpoint", "/"),
    ]);
    let fs_sel =
        "job=\"node-exporter\",fstype!~\"tmpfs|overlay|squashfs|ramfs\",mountpoint!~\"/boot.*\"";
    let fs_avail = selector("node_filesystem_avail_bytes", &fs);
    let fs_size = selector("node_filesystem_size_bytes", &fs);
    let fs_ro = selector("node_filesystem_readonly", &fs);
    let mut filling = case(
        "2 bytes a minute are written, 11% free",
        vec![
            (fs_avail.clone(), "1900-10x80".into()),
            (fs_size.clone(), "10000x80".into()),
            (fs_ro.clone(), "0x80".into()),
        ],
        "400m",
        vec![(fs.clone(), 11.0)],
    );
    filling.interval = "5m";
    let mut steady = case(
        "half free, steady",
        vec![
            (fs_avail.clone(), "5000x80".into()),
            (fs_size.clone(), "10000x80".into()),
            (fs_ro.clone(), "0x80".into()),
        ],
        "400m",
        vec![],
    );
    steady.interval = "5m";
    b.alerts(
        vec![spec(
            "HostDiskWillFillIn24Hours",
            format!(
                "(100 * node_filesystem_avail_bytes{{{fs_sel}}} / node_filesystem_size_bytes{{{fs_sel}}} < 20) and predict_linear(node_filesystem_avail_bytes{{{fs_sel}}}[6h], 86400) < 0 and node_filesystem_readonly{{{fs_sel}}} == 0"
            ),
            "30m",
            "warning",
            Text::new().t("Disk of the host fills up within 24 hours"),
            Text::new()
                .t("Filesystem ")
                .l("mountpoint")
                .t(" of ")
                .l("instance")
                .t(" has ")
                .v(Fmt::Fixed(1))
                .t("% free and, at the rate of the last 6 hours, is full within 24 hours."),
        )],
        vec![vec![filling]],
        vec![steady],
    );
    b.alerts(
        vec![spec(
            "HostDiskAlmostFull",
            format!(
                "(100 * node_filesystem_avail_bytes{{{fs_sel}}} / node_filesystem_size_bytes{{{fs_sel}}} < 5) and node_filesystem_readonly{{{fs_sel}}} == 0"
            ),
            "5m",
            "critical",
            Text::new().t("Disk of the host is almost full"),
            Text::new().t("Filesystem ").l("mountpoint").t(" of ").l("instance").t(" has only ").v(Fmt::Fixed(1)).t("% free."),
        )],
        vec![vec![case(
            "3% free",
            vec![(fs_avail.clone(), "300x20".into()), (fs_size.clone(), "10000x20".into()), (fs_ro.clone(), "0x20".into())],
            "10m",
            vec![(fs.clone(), 3.0)],
        )]],
        vec![case(
            "50% free",
            vec![(fs_avail.clone(), "5000x20".into()), (fs_size.clone(), "10000x20".into()), (fs_ro.clone(), "0x20".into())],
            "10m",
            vec![],
        )],
    );

    let oom = selector("node_vmstat_oom_kill", &base);
    b.alerts(
        vec![spec(
            "HostOomKillDetected",
            "increase(node_vmstat_oom_kill{job=\"node-exporter\"}[5m]) > 0".into(),
            "0m",
            "warning",
            Text::new().t("The kernel killed a process for lack of memory"),
            Text::new()
                .t("The OOM killer ran on ")
                .l("instance")
                .t(" (")
                .v(Fmt::Fixed(0))
                .t(" kills in 5 minutes)."),
        )],
        vec![vec![case(
            "one process killed",
            vec![(oom.clone(), "0x5 1x10".into())],
            "8m",
            vec![(base.clone(), 1.0)],
        )]],
        vec![case(
            "no kill",
            vec![(oom.clone(), "0x15".into())],
            "8m",
            vec![],
        )],
    );
    Some(b.finish())
}

fn container_rules(model: &Model) -> Option<RuleFile> {
    if !model.components.cadvisor {
        return None;
    }
    let mut b = Builder::new("containers", "the containers (cAdvisor)");
    let c = labels(&[
        ("environment", ENV),
        ("instance", "cadvisor:8080"),
        ("job", "cadvisor"),
        ("name", &format!("{}-app-1", model.project)),
        ("service", "cadvisor"),
    ]);
    let start = selector("container_start_time_seconds", &c);
    b.alerts(
        vec![spec(
            "ContainerRestarting",
            "changes(container_start_time_seconds{job=\"cadvisor\",name!=\"\"}[15m]) > 2".into(),
            "0m",
            "warning",
            Text::new().t("Container ").l("name").t(" keeps restarting"),
            Text::new()
                .t("Container ")
                .l("name")
                .t(" restarted ")
                .v(Fmt::Fixed(0))
                .t(" times in 15 minutes."),
        )],
        vec![vec![case(
            "three restarts",
            vec![(start.clone(), "100x5 400x3 700x3 1000x10".into())],
            "14m",
            vec![(c.clone(), 3.0)],
        )]],
        vec![case(
            "no restart",
            vec![(start.clone(), "100x20".into())],
            "14m",
            vec![],
        )],
    );
    let ws = selector("container_memory_working_set_bytes", &c);
    let limit = selector("container_spec_memory_limit_bytes", &c);
    b.alerts(
        vec![spec(
            "ContainerMemoryNearLimit",
            "(container_memory_working_set_bytes{job=\"cadvisor\",name!=\"\"} / container_spec_memory_limit_bytes{job=\"cadvisor\",name!=\"\"} > 0.9) and container_spec_memory_limit_bytes{job=\"cadvisor\",name!=\"\"} > 0".into(),
            "5m",
            "warning",
            Text::new().t("Container ").l("name").t(" is near its memory limit"),
            Text::new().t("Container ").l("name").t(" uses ").v(Fmt::Percent).t(" of its memory limit."),
        )],
        vec![vec![case(
            "95% of the limit",
            vec![(ws.clone(), "950x20".into()), (limit.clone(), "1000x20".into())],
            "10m",
            vec![(c.clone(), 0.95)],
        )]],
        vec![case("no limit set", vec![(ws.clone(), "950x20".into()), (limit.clone(), "0x20".into())], "10m", vec![])],
    );
    Some(b.finish())
}

fn database_rules(model: &Model) -> Vec<RuleFile> {
    let mut out = Vec::new();
    for d in &model.databases {
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

/// Scrape jobs of the optional components with their own "down" alert: (job, alert,
/// what stops working, severity). [`monitoring_rules`] leaves them out of
/// `PrometheusTargetMissing`.
pub const COMPONENT_JOBS: &[(&str, &str, &str, &str)] = &[
    (
        "loki",
        "LokiDown",
        "logs are not stored or searchable",
        "warning",
    ),
    (
        "alloy",
        "AlloyDown",
        "container logs are not shipped to Loki",
        "warning",
    ),
    (
        "otel-collector",
        "OtelCollectorDown",
        "traces from the apps are dropped",
        "warning",
    ),
    (
        "tempo",
        "TempoDown",
        "traces are not stored or searchable",
        "warning",
    ),
    (
        "jaeger",
        "JaegerDown",
        "traces are not stored or searchable",
        "warning",
    ),
    (
        "minio",
        "MinioDown",
        "the apps' object storage is unavailable",
        "critical",
    ),
];

/// Optional components without metrics of their own, watched through their blackbox
/// probe: (Compose service, alert, what stops working).
pub const COMPONENT_PROBES: &[(&str, &str, &str)] = &[
    (
        "glitchtip",
        "GlitchtipDown",
        "the apps' errors are not recorded",
    ),
    ("kibana", "KibanaDown", "logs cannot be searched in Kibana"),
];

/// One "down" alert per optional component that Prometheus scrapes, and one per
/// probed component ([`COMPONENT_PROBES`]).
fn component_alerts(b: &mut Builder, model: &Model) {
    let probes = model
        .target_files
        .iter()
        .filter(|t| t.path == "targets/probe.yml")
        .flat_map(|t| &t.groups);
    for g in probes {
        let Some(service) = g.labels.get("service") else {
            continue;
        };
        let Some((_, alert, what)) = COMPONENT_PROBES.iter().find(|(s, ..)| s == service) else {
            continue;
        };
        let t = labels(&[
            ("environment", ENV),
            ("instance", &g.targets[0]),
            ("job", "probe"),
            ("service", service),
        ]);
        b.gauge_zero_alert(
            spec(
                alert,
                format!("probe_success{{job=\"probe\",service=\"{service}\"}} == 0"),
                "5m",
                "warning",
                Text::new().t(format!("{service} is down")),
                Text::new()
                    .t("The health probe of ")
                    .l("instance")
                    .t(" has failed for 5 minutes (probe_success = ")
                    .v(Fmt::Fixed(0))
                    .t(format!("): {what}.")),
            ),
            Gauge {
                series: selector("probe_success", &t),
                result: t,
                samples: 15,
                eval: "10m",
                firing: "the probe fails",
                quiet: "the probe succeeds",
            },
        );
    }
    for (job, alert, what, severity) in COMPONENT_JOBS {
        let Some(j) = model.scrape_jobs.iter().find(|j| j.name == *job) else {
            continue;
        };
        let target = model
            .target_files
            .iter()
            .find(|t| t.path == j.file)
            .and_then(|t| t.groups.first())
            .and_then(|g| g.targets.first())
            .cloned()
            .unwrap_or_default();
        let t = labels(&[
            ("environment", ENV),
            ("instance", &target),
            ("job", job),
            ("service", job),
        ]);
        let up = selector("up", &t);
        let s = spec(
            alert,
            format!("up{{job=\"{job}\"}} == 0"),
            "5m",
            severity,
            Text::new().t(format!("{job} is down")),
            Text::new()
                .t("Prometheus cannot scrape ")
                .l("instance")
                .t(" for 5 minutes (up = ")
                .v(Fmt::Fixed(0))
                .t(format!("): {what}.")),
        );
        b.gauge_zero_alert(
            s,
            Gauge {
                series: up,
                result: t,
                samples: 15,
                eval: "10m",
                firing: "the component is down",
                quiet: "the component is up",
            },
        );
    }
    // The collector is up but its trace store refuses or cannot be reached: spans are
    // lost while `OtelCollectorDown` stays quiet. Its counter (collector telemetry
    // through the Prometheus reader, which adds `_total`) carries the `exporter` label.
    if let Some(j) = model.scrape_jobs.iter().find(|j| j.name == COLLECTOR_JOB) {
        let target = model
            .target_files
            .iter()
            .find(|t| t.path == j.file)
            .and_then(|t| t.groups.first())
            .and_then(|g| g.targets.first())
            .cloned()
            .unwrap_or_default();
        // The exporter is named after the backend (`otlp/tempo`, `otlp/jaeger`).
        let exporter = format!("otlp/{}", model.tracing);
        let t = labels(&[
            ("environment", ENV),
            ("exporter", &exporter),
            ("instance", &target),
            ("job", COLLECTOR_JOB),
            ("service", COLLECTOR_JOB),
        ]);
        b.counter_rate_alert(
            spec(
                "OtelCollectorExportFailing",
                format!(
                    "rate(otelcol_exporter_send_failed_spans_total{{job=\"{COLLECTOR_JOB}\"}}[5m]) > 0"
                ),
                "5m",
                "warning",
                Text::new().t("The OpenTelemetry collector cannot export traces"),
                Text::new()
                    .t("Exporter ")
                    .l("exporter")
                    .t(" of ")
                    .l("instance")
                    .t(" fails to send spans (")
                    .v(Fmt::Fixed(3))
                    .t(" spans/s): traces are lost."),
            ),
            selector("otelcol_exporter_send_failed_spans_total", &t),
            t,
            "one failed span a minute",
            "no failed span",
        );
    }
}

/// Scrape job of the OpenTelemetry collector.
const COLLECTOR_JOB: &str = crate::components::traces::COLLECTOR;

fn monitoring_rules(model: &Model) -> RuleFile {
    let mut b = Builder::new("monitoring", "the monitoring stack itself");
    let prom = labels(&[
        ("environment", ENV),
        ("instance", "localhost:9090"),
        ("job", "prometheus"),
        ("service", "prometheus"),
    ]);
    let reload = selector("prometheus_config_last_reload_successful", &prom);
    b.gauge_zero_alert(
        spec(
            "PrometheusConfigReloadFailed",
            "prometheus_config_last_reload_successful{job=\"prometheus\"} == 0".into(),
            "5m",
            "warning",
            Text::new().t("Prometheus configuration reload failed"),
            Text::new()
                .t("Prometheus ")
                .l("instance")
                .t(" runs an old configuration: the last reload failed (value ")
                .v(Fmt::Fixed(0))
                .t(")."),
        ),
        Gauge {
            series: reload.clone(),
            result: prom.clone(),
            samples: 15,
            eval: "10m",
            firing: "the reload failed",
            quiet: "the reload succeeded",
        },
    );
    let mut grp = prom.clone();
    grp.insert(
        "rule_group".into(),
        "/etc/prometheus/rules/host.yml;host".into(),
    );
    let failures = selector("prometheus_rule_evaluation_failures_total", &grp);
    b.alerts(
        vec![spec(
            "PrometheusRuleEvaluationFailures",
            "increase(prometheus_rule_evaluation_failures_total{job=\"prometheus\"}[5m]) > 0"
                .into(),
            "0m",
            "warning",
            Text::new().t("Prometheus rules fail to evaluate"),
            Text::new()
                .v(Fmt::Fixed(0))
                .t(" evaluations of rule group ")
                .l("rule_group")
                .t(" failed in 5 minutes."),
        )],
        vec![vec![case(
            "one failure a minute",
            vec![(failures.clone(), "0x5 1+1x10".into())],
            "12m",
            vec![(grp.clone(), 5.0)],
        )]],
        vec![case(
            "no failure",
            vec![(failures.clone(), "0x15".into())],
            "12m",
            vec![],
        )],
    );
    if model.components.alertmanager {
        let mut am = prom.clone();
        am.insert(
            "alertmanager".into(),
            "http://alertmanager:9093/api/v2/alerts".into(),
        );
        let errors = selector("prometheus_notifications_errors_total", &am);
        b.counter_rate_alert(
            spec(
                "PrometheusNotificationsFailing",
                "rate(prometheus_notifications_errors_total{job=\"prometheus\"}[5m]) > 0".into(),
                "5m",
                "warning",
                Text::new().t("Prometheus cannot send alerts to Alertmanager"),
                Text::new()
                    .t("Sending alerts to ")
                    .l("alertmanager")
                    .t(" fails (")
                    .v(Fmt::Fixed(3))
                    .t(" errors/s)."),
            ),
            errors.clone(),
            am.clone(),
            "one error a minute",
            "no error",
        );
        let amx = labels(&[
            ("environment", ENV),
            ("instance", "alertmanager:9093"),
            ("integration", "slack"),
            ("job", "alertmanager"),
            ("service", "alertmanager"),
        ]);
        let failed = selector("alertmanager_notifications_failed_total", &amx);
        b.counter_rate_alert(
            spec(
                "AlertmanagerNotificationsFailing",
                "rate(alertmanager_notifications_failed_total{job=\"alertmanager\"}[5m]) > 0"
                    .into(),
                "5m",
                "warning",
                Text::new().t("Alertmanager cannot deliver notifications"),
                Text::new()
                    .t("Notifications through ")
                    .l("integration")
                    .t(" fail (")
                    .v(Fmt::Fixed(3))
                    .t(" failures/s)."),
            ),
            failed.clone(),
            amx.clone(),
            "one failure a minute",
            "no failure",
        );
        let amb = labels(&[
            ("environment", ENV),
            ("instance", "alertmanager:9093"),
            ("job", "alertmanager"),
            ("service", "alertmanager"),
        ]);
        let am_reload = selector("alertmanager_config_last_reload_successful", &amb);
        b.gauge_zero_alert(
            spec(
                "AlertmanagerConfigReloadFailed",
                "alertmanager_config_last_reload_successful{job=\"alertmanager\"} == 0".into(),
                "5m",
                "warning",
                Text::new().t("Alertmanager configuration reload failed"),
                Text::new()
                    .t("Alertmanager ")
                    .l("instance")
                    .t(" runs an old configuration: the last reload failed (value ")
                    .v(Fmt::Fixed(0))
                    .t(")."),
            ),
            Gauge {
                series: am_reload.clone(),
                result: amb.clone(),
                samples: 15,
                eval: "10m",
                firing: "the reload failed",
                quiet: "the reload succeeded",
            },
        );
    }
    // Every target that is not an app service (those have ServiceDown).
    let apps: Vec<&str> = model
        .services
        .iter()
        .filter(|s| s.metrics.is_some())
        .map(|s| s.name.as_str())
        .collect();
    let others: Vec<&str> = model
        .scrape_jobs
        .iter()
        .map(|j| j.name.as_str())
        .filter(|j| !apps.contains(j) && !COMPONENT_JOBS.iter().any(|(c, ..)| c == j))
        .collect();
    if !others.is_empty() {
        let job = others[0];
        let t = labels(&[
            ("environment", ENV),
            ("instance", &format!("{job}:9100")),
            ("job", job),
            ("service", job),
        ]);
        let up = selector("up", &t);
        b.gauge_zero_alert(
            spec(
                "PrometheusTargetMissing",
                format!("up{{job=~\"{}\"}} == 0", others.join("|")),
                "5m",
                "warning",
                Text::new().t("A monitoring target is down"),
                Text::new()
                    .t("Prometheus cannot scrape ")
                    .l("instance")
                    .t(" (job ")
                    .l("job")
                    .t(", up = ")
                    .v(Fmt::Fixed(0))
                    .t(") for 5 minutes."),
            ),
            Gauge {
                series: up.clone(),
                result: t.clone(),
                samples: 15,
                eval: "10m",
                firing: "the target is down",
                quiet: "the target is up",
            },
        );
    }
    b.group("components");
    component_alerts(&mut b, model);
    b.group("watchdog");
    b.alerts(
        vec![spec(
            "Watchdog",
            "vector(1)".into(),
            "0m",
            "none",
            Text::new().t("Alerting pipeline is alive"),
            Text::new().t("This alert always fires. If it stops arriving, Prometheus or Alertmanager is broken (value ").v(Fmt::Fixed(0)).t(")."),
        )],
        vec![vec![case("always", vec![], "1m", vec![(BTreeMap::new(), 1.0)])]],
        vec![],
    );
    b.finish()
}

fn slo_rules(model: &Model) -> Vec<RuleFile> {
    let mut out = Vec::new();
    for slo in &model.alerts.slo {
        let Some(svc) = model.services.iter().find(|s| s.name == slo.service) else {
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

fn custom_rules(model: &Model) -> Option<RuleFile> {
    if model.alerts.custom.is_empty() {
        return None;
    }
    let mut b = Builder::new(
        CUSTOM,
        "the manifest's custom alerts (no generated tests: their input is yours)",
    );
    for c in &model.alerts.custom {
        let mut l = c.labels.clone();
        l.insert(
            "severity".into(),
            format!("{:?}", c.severity).to_lowercase(),
        );
        b.file.groups[0].rules.push(Rule {
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
        b.file.alerts += 1;
    }
    Some(b.finish())
}

/// Every rules file of the model, in a stable order.
pub fn build(model: &Model) -> Vec<RuleFile> {
    let mut out = Vec::new();
    // Services sharing a metric convention share one rules file.
    let mut groups: Vec<(&crate::model::Metrics, Vec<&Service>)> = Vec::new();
    for svc in &model.services {
        let Some(mm) = &svc.metrics else { continue };
        let same = |g: &crate::model::Metrics| {
            g.requests == mm.requests
                && g.duration == mm.duration
                && g.status_label == mm.status_label
        };
        match groups.iter_mut().find(|(g, _)| same(g)) {
            Some((_, members)) => members.push(svc),
            None => groups.push((mm, vec![svc])),
        }
    }
    for (i, (_, members)) in groups.iter().enumerate() {
        let file = if i == 0 {
            "services".to_string()
        } else {
            format!("services-{}", members[0].name)
        };
        out.extend(service_rules(model, &file, members));
    }
    out.extend(host_rules(model));
    out.extend(container_rules(model));
    out.extend(database_rules(model));
    out.extend(slo_rules(model));
    out.extend(custom_rules(model));
    out.push(monitoring_rules(model));
    out
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
