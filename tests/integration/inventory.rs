//! The template-set pin (docs/templates.md): within a set, an obsgen upgrade may add
//! names to the output, never remove or rename one unless the removal is recorded
//! while obsgen is 0.x.
//!
//! `tests/inventory/v<N>.toml` holds, per example, every name its output has had:
//! file paths, alert and recording rule names, the static labels of each rule, scrape
//! jobs and the labels they attach (plus Prometheus's external labels, as `*{label}`),
//! dashboard uids. It may only grow. The test fails when an example's output has a
//! name the inventory lacks (refresh: [`REFRESH`]), and when it lacks a recorded name
//! that no `[[removed]]` entry covers; each `[[removed]]` entry cites the heading of
//! `templates/CHANGES.toml` whose `removed` list names it, and is refused once obsgen
//! is 1.0 or later (a removal then needs a new set). A changed example manifest is a
//! new input, not an obsgen change: the refresh records that example afresh.

use std::collections::{BTreeMap, BTreeSet};

use obsgen::assets::{SetChanges, UNRELEASED};
use serde::Deserialize;

use crate::support::{Project, examples, repo, yaml};

/// The command that records added names (and changed or new examples).
const REFRESH: &str = "OBSGEN_UPDATE_INVENTORY=1 cargo test --locked --test integration inventory";

/// What the inventory records, in file order.
const KINDS: [&str; 7] = [
    "files",
    "alerts",
    "records",
    "rule_labels",
    "jobs",
    "job_labels",
    "dashboards",
];

type Names = BTreeMap<String, BTreeSet<String>>;

/// One example as recorded: the hash of its manifest and its names by kind (any
/// other key is taken as a kind, and refused unless one of [`KINDS`]: serde's
/// `flatten` and `deny_unknown_fields` do not combine).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct Entry {
    manifest: String,
    #[serde(flatten)]
    names: Names,
}

/// A recorded name that is no longer generated, and the CHANGES.toml heading (under
/// the set) whose `removed` list says so.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Removed {
    /// Only this example; every example when absent.
    example: Option<String>,
    kind: String,
    name: String,
    changes: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct Inventory {
    #[serde(default)]
    example: BTreeMap<String, Entry>,
    #[serde(default)]
    removed: Vec<Removed>,
}

fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

impl Inventory {
    fn to_text(&self, set: &str) -> String {
        let mut out = format!(
            "# Every name the examples have generated with template set v{set}, per example; it\n\
             # may only grow (docs/templates.md). Record added names with\n\
             #   {REFRESH}\n\
             # A name no longer generated needs a [[removed]] entry (example = optional, kind,\n\
             # name, changes = the heading under [v{set}] in templates/CHANGES.toml whose\n\
             # `removed` list names it), allowed while obsgen is 0.x.\n"
        );
        for (name, entry) in &self.example {
            out.push_str(&format!(
                "\n[example.{}]\nmanifest = {}\n",
                quoted(name),
                quoted(&entry.manifest)
            ));
            for kind in KINDS {
                let names = entry.names.get(kind).cloned().unwrap_or_default();
                if names.is_empty() {
                    continue;
                }
                out.push_str(&format!("{kind} = [\n"));
                for n in names {
                    out.push_str(&format!("  {},\n", quoted(&n)));
                }
                out.push_str("]\n");
            }
        }
        for r in &self.removed {
            out.push_str("\n[[removed]]\n");
            if let Some(e) = &r.example {
                out.push_str(&format!("example = {}\n", quoted(e)));
            }
            out.push_str(&format!(
                "kind = {}\nname = {}\nchanges = {}\n",
                quoted(&r.kind),
                quoted(&r.name),
                quoted(&r.changes)
            ));
        }
        out
    }

    /// Whether a `[[removed]]` entry covers this name of this example. A removed rule
    /// or job takes its labels (`Name{label}`) with it.
    fn is_removed(&self, example: &str, kind: &str, name: &str) -> bool {
        let owner = owner(kind, name);
        self.removed.iter().any(|r| {
            r.example.as_deref().is_none_or(|e| e == example)
                && ((r.kind == kind && r.name == name)
                    || owner.is_some_and(|(k, n)| k.contains(&r.kind.as_str()) && r.name == n))
        })
    }
}

/// The rule or job a `Name{label}` belongs to: the kinds it may be and its name.
fn owner<'a>(kind: &str, name: &'a str) -> Option<(&'static [&'static str], &'a str)> {
    let kinds: &'static [&'static str] = match kind {
        "rule_labels" => &["alerts", "records"],
        "job_labels" => &["jobs"],
        _ => return None,
    };
    Some((kinds, name.split_once('{')?.0))
}

/// One example's output: its template set, manifest hash and names.
struct Found {
    set: String,
    manifest: String,
    names: Names,
}

fn add(names: &mut Names, kind: &str, name: impl Into<String>) {
    names
        .entry(kind.to_string())
        .or_default()
        .insert(name.into());
}

fn str_keys(v: &serde_json::Value) -> Vec<String> {
    v.as_object()
        .map(|o| o.keys().filter(|k| !k.starts_with("__")).cloned().collect())
        .unwrap_or_default()
}

fn list(v: &serde_json::Value) -> &[serde_json::Value] {
    v.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// Generates an example and reads the names off its output.
fn gather(example: &str) -> Found {
    let p = Project::example(example);
    p.generate();
    let lock = obsgen::lock::Lock::parse(&p.read("obsgen.lock")).unwrap();
    let mut names = Names::new();
    for f in &lock.files {
        let path = f.path.as_str();
        add(&mut names, "files", path);
        if path.starts_with("monitoring/prometheus/rules/") && path.ends_with(".yml") {
            for group in list(&yaml(&p.read(path))["groups"]) {
                for rule in list(&group["rules"]) {
                    let (kind, name) = match (rule["alert"].as_str(), rule["record"].as_str()) {
                        (Some(a), _) => ("alerts", a),
                        (_, Some(r)) => ("records", r),
                        _ => panic!("{example}: {path}: a rule without a name: {rule}"),
                    };
                    add(&mut names, kind, name);
                    for label in str_keys(&rule["labels"]) {
                        add(&mut names, "rule_labels", format!("{name}{{{label}}}"));
                    }
                }
            }
        } else if path.starts_with("monitoring/prometheus/prometheus.") {
            let config = yaml(&p.read(path));
            for label in str_keys(&config["global"]["external_labels"]) {
                add(&mut names, "job_labels", format!("*{{{label}}}"));
            }
            for job in list(&config["scrape_configs"]) {
                let name = job["job_name"].as_str().expect("job_name");
                add(&mut names, "jobs", name);
                let mut labels: Vec<String> = list(&job["relabel_configs"])
                    .iter()
                    .filter_map(|r| r["target_label"].as_str())
                    .filter(|l| !l.starts_with("__"))
                    .map(str::to_string)
                    .collect();
                for sc in list(&job["static_configs"]) {
                    labels.extend(str_keys(&sc["labels"]));
                }
                for sd in list(&job["file_sd_configs"]) {
                    for file in list(&sd["files"]) {
                        let file = file.as_str().expect("file_sd file");
                        let targets = yaml(&p.read(&format!("monitoring/prometheus/{file}")));
                        for group in list(&targets) {
                            labels.extend(str_keys(&group["labels"]));
                        }
                    }
                }
                for label in labels {
                    add(&mut names, "job_labels", format!("{name}{{{label}}}"));
                }
            }
        } else if path.starts_with("monitoring/grafana/dashboards/") && path.ends_with(".json") {
            let board: serde_json::Value = serde_json::from_str(&p.read(path)).unwrap();
            let uid = board["uid"]
                .as_str()
                .unwrap_or_else(|| panic!("{path}: no uid"));
            add(&mut names, "dashboards", uid);
        }
    }
    Found {
        set: lock.templates,
        manifest: lock.manifest_hash,
        names,
    }
}

/// What fixes a problem with the pin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fix {
    /// [`REFRESH`] records it (an added name, a new or changed example).
    Refresh,
    /// A name is no longer generated: keep it, or record the removal.
    Removal,
    /// A broken `[[removed]]` entry or inventory.
    Edit,
}

struct Problem {
    text: String,
    fix: Fix,
}

/// Said once under the problems that need it.
fn advice(set: &str, fix: Fix) -> String {
    match fix {
        Fix::Refresh => format!("record added names and changed examples with: {REFRESH}"),
        Fix::Removal => format!(
            "within a template set an obsgen upgrade only adds and fixes (docs/templates.md); removing or renaming \
             a name needs a new set once a release has shipped. While obsgen is 0.x a removal is allowed when \
             recorded: a [[removed]] entry in tests/inventory/v{set}.toml (kind, name, changes = \"{UNRELEASED}\", \
             example = … when only one example loses it) and an entry naming it in backticks under `removed` \
             of [v{set}.{UNRELEASED}] in templates/CHANGES.toml"
        ),
        Fix::Edit => format!("fix tests/inventory/v{set}.toml or templates/CHANGES.toml by hand"),
    }
}

fn major(version: &str) -> Option<u64> {
    version.split('.').next()?.parse().ok()
}

fn ticks(names: &BTreeSet<String>) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Compares the examples' output with the inventory of set `set`; returns the
/// problems and the inventory with everything a refresh may record.
fn compare(
    set: &str,
    inventory: &Inventory,
    found: &BTreeMap<String, Found>,
    changes: Option<&SetChanges>,
    this_version: &str,
) -> (Vec<Problem>, Inventory) {
    let mut problems = Vec::new();
    let mut note = |fix: Fix, text: String| problems.push(Problem { text, fix });
    let mut refreshed = inventory.clone();
    for (name, f) in found {
        let fresh = Entry {
            manifest: f.manifest.clone(),
            names: f.names.clone(),
        };
        let Some(entry) = inventory.example.get(name) else {
            note(
                Fix::Refresh,
                format!("example `{name}` is not recorded yet"),
            );
            refreshed.example.insert(name.clone(), fresh);
            continue;
        };
        if entry.manifest != f.manifest {
            note(
                Fix::Refresh,
                format!(
                    "examples/{name}/obsgen.toml changed since it was recorded (a new input, not an obsgen change)"
                ),
            );
            // Recorded afresh, keeping what `[[removed]]` entries name.
            let mut rebuilt = fresh;
            for (kind, names) in &entry.names {
                for n in names.iter().filter(|n| inventory.is_removed(name, kind, n)) {
                    add(&mut rebuilt.names, kind, n.clone());
                }
            }
            refreshed.example.insert(name.clone(), rebuilt);
            continue;
        }
        let kinds: BTreeSet<&String> = entry.names.keys().chain(f.names.keys()).collect();
        for kind in kinds {
            if !KINDS.contains(&kind.as_str()) {
                note(
                    Fix::Edit,
                    format!("example `{name}`: `{kind}` is not one of {KINDS:?}"),
                );
                continue;
            }
            let recorded = entry.names.get(kind).cloned().unwrap_or_default();
            let now = f.names.get(kind).cloned().unwrap_or_default();
            let added: BTreeSet<String> = now.difference(&recorded).cloned().collect();
            if !added.is_empty() {
                note(
                    Fix::Refresh,
                    format!(
                        "example `{name}` generates {kind} not recorded yet: {}",
                        ticks(&added)
                    ),
                );
                let slot = refreshed.example.get_mut(name).unwrap();
                slot.names.entry(kind.clone()).or_default().extend(added);
            }
            let gone: BTreeSet<String> = recorded
                .difference(&now)
                .filter(|n| !inventory.is_removed(name, kind, n))
                .cloned()
                .collect();
            if !gone.is_empty() {
                note(
                    Fix::Removal,
                    format!(
                        "example `{name}` no longer generates {kind} {}",
                        ticks(&gone)
                    ),
                );
            }
        }
    }
    for name in inventory.example.keys().filter(|n| !found.contains_key(*n)) {
        note(
            Fix::Refresh,
            format!("example `{name}` no longer exists (or uses another set)"),
        );
        refreshed.example.remove(name);
    }
    for r in &inventory.removed {
        let what = format!("[[removed]] {} `{}`", r.kind, r.name);
        if !KINDS.contains(&r.kind.as_str()) {
            note(Fix::Edit, format!("{what}: kind is one of {KINDS:?}"));
            continue;
        }
        let covered: Vec<&String> = inventory
            .example
            .keys()
            .filter(|e| r.example.as_ref().is_none_or(|x| x == *e))
            .collect();
        if !covered.iter().any(|e| {
            inventory.example[*e]
                .names
                .get(&r.kind)
                .is_some_and(|n| n.contains(&r.name))
        }) {
            note(
                Fix::Edit,
                format!("{what}: names nothing the inventory records"),
            );
        }
        for e in covered {
            if found
                .get(e)
                .and_then(|f| f.names.get(&r.kind))
                .is_some_and(|n| n.contains(&r.name))
            {
                note(
                    Fix::Edit,
                    format!(
                        "{what}: example `{e}` generates it again; delete the entry (or give it `example =`)"
                    ),
                );
            }
        }
        let release = changes.and_then(|c| c.releases.iter().find(|(h, _)| *h == r.changes));
        // A label may be cited by itself or by the rule or job it belongs to.
        let cited = format!("`{}`", r.name);
        let by_owner = owner(&r.kind, &r.name).map(|(_, n)| format!("`{n}`"));
        let cites =
            |c: &String| c.contains(&cited) || by_owner.as_ref().is_some_and(|o| c.contains(o));
        match release {
            Some((_, rel)) if rel.removed.iter().any(cites) => {}
            _ => note(
                Fix::Edit,
                format!(
                    "{what}: templates/CHANGES.toml has no entry naming {cited} under `removed` of [v{set}.{}]",
                    r.changes
                ),
            ),
        }
        let version = if r.changes == UNRELEASED {
            this_version
        } else {
            r.changes.as_str()
        };
        if major(version).is_none_or(|m| m >= 1) {
            note(
                Fix::Edit,
                format!(
                    "{what}: obsgen {version} is past 0.x, so the pin of v{set} holds: keep generating it, or add the change to a new set"
                ),
            );
        }
    }
    (problems, refreshed)
}

fn inventory_path(set: &str) -> std::path::PathBuf {
    repo().join("tests/inventory").join(format!("v{set}.toml"))
}

#[test]
fn every_example_keeps_every_name_its_template_set_has_shipped() {
    let update = std::env::var_os("OBSGEN_UPDATE_INVENTORY").is_some_and(|v| v == "1");
    let mut by_set: BTreeMap<String, BTreeMap<String, Found>> = BTreeMap::new();
    for name in examples() {
        let f = gather(&name);
        by_set.entry(f.set.clone()).or_default().insert(name, f);
    }
    let mut report = Vec::new();
    for v in obsgen::assets::template_versions() {
        if !by_set.contains_key(&v) {
            report.push(format!(
                "template set v{v}: no example uses it; add one under examples/ with `project.templates = \"{v}\"`"
            ));
        }
    }
    for (set, found) in &by_set {
        let path = inventory_path(set);
        let inventory: Inventory = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Inventory::default(),
            Err(e) => panic!("{}: {e}", path.display()),
        };
        let changes = obsgen::assets::template_changes(set);
        let (problems, refreshed) = compare(
            set,
            &inventory,
            found,
            changes.as_ref(),
            env!("CARGO_PKG_VERSION"),
        );
        if update && refreshed != inventory {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, refreshed.to_text(set)).unwrap();
        }
        let shown: Vec<&Problem> = problems
            .iter()
            .filter(|p| !(update && p.fix == Fix::Refresh))
            .collect();
        for fix in [Fix::Removal, Fix::Edit, Fix::Refresh] {
            let of_fix: Vec<&str> = shown
                .iter()
                .filter(|p| p.fix == fix)
                .map(|p| p.text.as_str())
                .collect();
            if !of_fix.is_empty() {
                report.push(format!(
                    "tests/inventory/v{set}.toml:\n  - {}\n  => {}",
                    of_fix.join("\n  - "),
                    advice(set, fix)
                ));
            }
        }
    }
    assert!(
        report.is_empty(),
        "the template-set pin (docs/templates.md) does not hold:\n{}\n",
        report.join("\n")
    );
}

// ---- the comparison itself, on made-up output ----

#[test]
fn a_removed_rule_takes_its_labels_and_a_label_may_be_cited_by_its_rule() {
    let c = changes("alert `Gone`: renamed");
    let mut inv = recorded(&["Gone", "Kept"], &[("Gone", "unreleased")]);
    let entry = inv.example.get_mut("shop").unwrap();
    entry.names.insert(
        "rule_labels".into(),
        ["Gone{severity}", "Kept{severity}", "Kept{team}"]
            .map(String::from)
            .into(),
    );
    let mut f = found(&["Kept"]);
    f.get_mut("shop").unwrap().names.insert(
        "rule_labels".into(),
        ["Kept{severity}"].map(String::from).into(),
    );
    let (p, _) = compare("1", &inv, &f, Some(&c), "0.1.0");
    assert_eq!(
        texts(&p),
        [(
            Fix::Removal,
            "example `shop` no longer generates rule_labels `Kept{team}`".to_string()
        )]
    );
    inv.removed.push(Removed {
        example: Some("shop".into()),
        kind: "rule_labels".into(),
        name: "Kept{team}".into(),
        changes: "unreleased".into(),
    });
    let (p, _) = compare("1", &inv, &f, Some(&c), "0.1.0");
    assert_eq!(texts(&p), [(Fix::Edit, "[[removed]] rule_labels `Kept{team}`: templates/CHANGES.toml has no entry naming `Kept{team}` under `removed` of [v1.unreleased]".to_string())]);
    let (p, _) = compare(
        "1",
        &inv,
        &f,
        Some(&changes("alert `Gone`; label `team` of alert `Kept`")),
        "0.1.0",
    );
    assert!(p.is_empty(), "{:?}", texts(&p));
}

fn names(pairs: &[(&str, &[&str])]) -> Names {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect()
}

fn found(alerts: &[&str]) -> BTreeMap<String, Found> {
    BTreeMap::from([(
        "shop".to_string(),
        Found {
            set: "1".into(),
            manifest: "sha256:m".into(),
            names: names(&[("alerts", alerts)]),
        },
    )])
}

fn recorded(alerts: &[&str], removed: &[(&str, &str)]) -> Inventory {
    Inventory {
        example: BTreeMap::from([(
            "shop".to_string(),
            Entry {
                manifest: "sha256:m".into(),
                names: names(&[("alerts", alerts)]),
            },
        )]),
        removed: removed
            .iter()
            .map(|(name, changes)| Removed {
                example: None,
                kind: "alerts".into(),
                name: name.to_string(),
                changes: changes.to_string(),
            })
            .collect(),
    }
}

fn changes(removed: &str) -> SetChanges {
    let text = format!(
        "[v1]\nsummary = \"s\"\nchanges = []\n[v1.unreleased]\nremoved = [{}]\n[v1.\"0.2.0\"]\nremoved = [\"alert `Old`: gone\"]\n",
        quoted(removed)
    );
    SetChanges::parse(&text, "1").unwrap().unwrap()
}

fn texts(problems: &[Problem]) -> Vec<(Fix, String)> {
    problems.iter().map(|p| (p.fix, p.text.clone())).collect()
}

#[test]
fn a_name_no_longer_generated_fails_unless_recorded_with_its_changes_entry() {
    let c = changes("alert `Gone`: folded into `Other`");
    let (p, refreshed) = compare(
        "1",
        &recorded(&["Gone", "Kept"], &[]),
        &found(&["Kept"]),
        Some(&c),
        "0.1.0",
    );
    assert_eq!(p.len(), 1, "{:?}", texts(&p));
    assert_eq!(
        texts(&p),
        [(
            Fix::Removal,
            "example `shop` no longer generates alerts `Gone`".to_string()
        )]
    );
    assert_eq!(
        refreshed,
        recorded(&["Gone", "Kept"], &[]),
        "a refresh never drops a name"
    );
    // Recorded, and cited: the pin holds.
    let inv = recorded(&["Gone", "Kept"], &[("Gone", "unreleased")]);
    let (p, _) = compare("1", &inv, &found(&["Kept"]), Some(&c), "0.1.0");
    assert!(p.is_empty(), "{:?}", texts(&p));
    // Recorded without a CHANGES.toml entry naming it.
    let (p, _) = compare(
        "1",
        &inv,
        &found(&["Kept"]),
        Some(&changes("alert `Other`")),
        "0.1.0",
    );
    assert_eq!(texts(&p), [(Fix::Edit, "[[removed]] alerts `Gone`: templates/CHANGES.toml has no entry naming `Gone` under `removed` of [v1.unreleased]".to_string())]);
    // A removal in an old 0.x release stays valid after 1.0; a new one is refused.
    let old = recorded(&["Old", "Kept"], &[("Old", "0.2.0")]);
    let (p, _) = compare("1", &old, &found(&["Kept"]), Some(&c), "1.0.0");
    assert!(p.is_empty(), "{:?}", texts(&p));
    let (p, _) = compare("1", &inv, &found(&["Kept"]), Some(&c), "1.0.0");
    assert_eq!(p.len(), 1, "{:?}", texts(&p));
    assert!(
        p[0].text.contains("obsgen 1.0.0 is past 0.x"),
        "{:?}",
        texts(&p)
    );
    // A removed name that comes back, and one the inventory never had.
    let (p, _) = compare("1", &inv, &found(&["Gone", "Kept"]), Some(&c), "0.1.0");
    assert!(
        p.iter().any(|p| p.text.contains("generates it again")),
        "{:?}",
        texts(&p)
    );
    let typo = recorded(&["Kept"], &[("Gone", "unreleased")]);
    let (p, _) = compare("1", &typo, &found(&["Kept"]), Some(&c), "0.1.0");
    assert!(
        p.iter()
            .any(|p| p.text.contains("names nothing the inventory records")),
        "{:?}",
        texts(&p)
    );
}

#[test]
fn an_added_name_fails_until_the_refresh_records_it() {
    let c = changes("x");
    let (p, refreshed) = compare(
        "1",
        &recorded(&["Kept"], &[]),
        &found(&["Kept", "New"]),
        Some(&c),
        "0.1.0",
    );
    assert_eq!(
        texts(&p),
        [(
            Fix::Refresh,
            "example `shop` generates alerts not recorded yet: `New`".to_string()
        )]
    );
    assert_eq!(refreshed, recorded(&["Kept", "New"], &[]));
    let (p, _) = compare("1", &refreshed, &found(&["Kept", "New"]), Some(&c), "0.1.0");
    assert!(p.is_empty(), "{:?}", texts(&p));
    // What the refresh writes reads back the same.
    let text = refreshed.to_text("1");
    assert_eq!(
        toml::from_str::<Inventory>(&text).unwrap(),
        refreshed,
        "{text}"
    );
}

#[test]
fn a_changed_example_manifest_is_recorded_afresh_keeping_removed_names() {
    let c = changes("alert `Gone`");
    let inv = recorded(&["Gone", "Kept", "Dropped"], &[("Gone", "unreleased")]);
    let mut f = found(&["Kept", "New"]);
    f.get_mut("shop").unwrap().manifest = "sha256:edited".into();
    let (p, refreshed) = compare("1", &inv, &f, Some(&c), "0.1.0");
    assert_eq!(p.len(), 1, "{:?}", texts(&p));
    assert!(p[0].fix == Fix::Refresh && p[0].text.contains("examples/shop/obsgen.toml changed"));
    let entry = &refreshed.example["shop"];
    assert_eq!(entry.manifest, "sha256:edited");
    assert_eq!(ticks(&entry.names["alerts"]), "`Gone`, `Kept`, `New`");
}
