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
