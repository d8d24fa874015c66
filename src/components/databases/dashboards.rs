//! The database dashboards: one per database kind, over every database of that kind —
//! whether its exporter reaches it, and a few vital signs of the kind.

use std::collections::BTreeMap;

use crate::grafana::kit::*;
use crate::model::*;

/// One dashboard per database kind, in the order of the kinds' names.
pub(super) fn contribute(s: &Settled, out: &mut Contribution) {
    let mut kinds: BTreeMap<&str, (DatabaseKind, Vec<&str>)> = BTreeMap::new();
    for d in &s.databases {
        kinds
            .entry(d.kind.as_str())
            .or_insert((d.kind, Vec::new()))
            .1
            .push(&d.name);
    }
    for (kind, names) in kinds.values() {
        out.dashboards.push(database(s, *kind, names));
    }
}

/// Per database kind: its exporter's up metric and a few vital signs.
fn database(settled: &Settled, k: DatabaseKind, names: &[&str]) -> Dashboard {
    let kind = k.as_str();
    let mut b = Board::new(
        settled,
        "database",
        "infrastructure",
        uid(&[&settled.project, "db", kind]),
        format!("{}: {kind}", settled.project),
    );
    b.description = format!("Databases of kind {kind}: {}.", names.join(", "));
    let jobs: Vec<String> = names.iter().map(|n| format!("{n}-exporter")).collect();
    let jobs: Vec<&str> = jobs.iter().map(String::as_str).collect();
    let job = format!("{},{ENV}", jobs_matcher("job", &jobs));
    let sel = format!("{job},instance=~\"$instance\"");
    let (up, reachable) = super::kind(k).reachable(&sel);
    b.vars
        .push(instance_var(&format!("{up}{{{job}}}"), "instance"));
    b.add(
        24,
        5,
        up_stat(
            "Database reachable (exporter)",
            &[(&reachable, "{{service}}")],
        ),
    );
    let r = "[$__rate_interval]";
    let panels = super::kind(k).panels(&sel, r);
    for (title, unit, queries) in panels {
        let q: Vec<(&str, &str)> = queries.iter().map(|(e, l)| (e.as_str(), *l)).collect();
        b.add(8, 8, timeseries(title, unit, &q, &[]));
    }
    b.finish()
}
