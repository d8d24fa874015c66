//! Each database's alerts (`rules/database-<name>.yml`): down (through its exporter),
//! connections or memory near the limit, cluster health, with their tests.

use crate::model::{Contribution, Settled};
use crate::rules::*;
use crate::units::camel_of;

pub(super) fn contribute(s: &Settled, out: &mut Contribution) {
    out.rules.extend(database_rules(s));
}

fn database_rules(s: &Settled) -> Vec<RuleFile> {
    let mut out = Vec::new();
    for d in &s.databases {
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
        // `[alerts] database_connections`: the levels of the connections-near-the-limit alerts.
        b.connections_level = Some(s.alerts.levels.database_connections);
        let k = super::kind(d.kind);
        k.down(&mut b, d, &job, &base);
        k.alerts(&mut b, d, &job, &base);
        out.push(b.finish());
    }
    out
}

/// The down alert of a kind whose exporter serves a 0/1 gauge of reaching the server
/// (`pg_up`); `label` names the kind in the texts (`PostgreSQL`).
pub(super) fn gauge_down(
    b: &mut Builder,
    d: &crate::model::Database,
    job: &str,
    base: &super::Labels,
    metric: &str,
    label: &str,
) {
    b.gauge_zero_alert(
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
            series: selector(metric, base),
            result: base.clone(),
            samples: 10,
            eval: "5m",
            firing: "the database is unreachable",
            quiet: "the database answers",
        },
    );
}

/// An alert with one firing and one quiet case (the shape of most database alerts
/// beyond being down): `firing` is (case name, series, labels of the expected alert,
/// the value its description prints); `quiet` is (case name, series). Both are
/// evaluated at `eval`, with samples every `interval`.
pub(super) struct Simple {
    pub spec: AlertSpec,
    pub interval: &'static str,
    pub eval: &'static str,
    pub firing: (&'static str, Vec<(String, String)>, super::Labels, f64),
    pub quiet: Vec<(&'static str, Vec<(String, String)>)>,
}

pub(super) fn simple(b: &mut Builder, s: Simple) {
    let (f_name, f_series, f_labels, f_value) = s.firing;
    let mut firing = case(f_name, f_series, s.eval, vec![(f_labels, f_value)]);
    firing.interval = s.interval;
    let quiet = s
        .quiet
        .into_iter()
        .map(|(name, series)| {
            let mut q = case(name, series, s.eval, vec![]);
            q.interval = s.interval;
            q
        })
        .collect();
    b.alerts(vec![s.spec], vec![vec![firing]], quiet);
}

/// A warning and a critical level of one ratio alert (`<name>` twice): fires the warning
/// alone on `warn` (numerator, denominator), both on `crit`, neither on `quiet`.
pub(super) struct Levels {
    pub name: &'static str,
    /// The expression without its comparison (`used / max`).
    pub ratio: String,
    /// `>` or `<`.
    pub op: &'static str,
    pub warning: f64,
    pub critical: f64,
    pub for_: &'static str,
    pub summary: Text,
    /// Description before the printed ratio, and after it.
    pub before: Text,
    pub after: &'static str,
    pub num: String,
    pub den: String,
    pub result: super::Labels,
    pub warn: (f64, f64),
    pub crit: (f64, f64),
    pub quiet: (f64, f64),
    /// The ratio is `1 - num / den` (a disk's used share from its free bytes).
    pub complement: bool,
}

pub(super) fn levels(b: &mut Builder, l: Levels) {
    let spec_of = |severity: &'static str, level: f64| {
        spec(
            l.name,
            format!("{} {} {}", l.ratio, l.op, num(level)),
            l.for_,
            severity,
            l.summary.clone(),
            Text(
                l.before
                    .0
                    .iter()
                    .cloned()
                    .chain(Text::new().v(Fmt::Percent).t(l.after).0)
                    .collect(),
            ),
        )
    };
    let series = |(n, d): (f64, f64)| {
        vec![
            (l.num.clone(), format!("{}x20", num(n))),
            (l.den.clone(), format!("{}x20", num(d))),
        ]
    };
    let value = |(n, d): (f64, f64)| if l.complement { 1.0 - n / d } else { n / d };
    let (w, c) = (value(l.warn), value(l.crit));
    b.alerts(
        vec![
            spec_of("warning", l.warning),
            spec_of("critical", l.critical),
        ],
        vec![
            vec![
                case(
                    "past the warning level",
                    series(l.warn),
                    "10m",
                    vec![(l.result.clone(), w)],
                ),
                case("past the warning level", vec![], "10m", vec![]),
            ],
            vec![
                case(
                    "past the critical level",
                    series(l.crit),
                    "10m",
                    vec![(l.result.clone(), c)],
                ),
                case(
                    "past the critical level",
                    vec![],
                    "10m",
                    vec![(l.result.clone(), c)],
                ),
            ],
        ],
        vec![case("below both levels", series(l.quiet), "10m", vec![])],
    );
}

/// `l` with more labels.
pub(super) fn with(l: &super::Labels, more: &[(&str, &str)]) -> super::Labels {
    let mut out = l.clone();
    for (k, v) in more {
        out.insert((*k).into(), (*v).into());
    }
    out
}
