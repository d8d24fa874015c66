//! Which metrics exist, and the check that every generated query selects one.
//!
//! Each monitored component declares the metric names its pinned image serves in
//! `templates/v<N>/components/<name>/metrics.toml` (inside the template set, so the set's
//! hash covers them), each name with the upstream `repository@tag: file` it was read from.
//! App services serve the request counter and duration histogram their manifest entry
//! names ([`crate::model::Metrics`]).
//!
//! [`check`], run by [`crate::verify`], parses every expression of the generated alert
//! and recording rules and every Prometheus query of the dashboards, and fails when one
//! selects a metric that no enabled component serves (a component is enabled when a
//! Compose service runs its image) and no recording rule records: a bug in obsgen, such as
//! an alert on a metric the pinned exporter removed. The manifest's custom alerts are the
//! user's own queries and are not checked.

use std::collections::BTreeSet;

use anyhow::{Result, anyhow, bail};
use promql_parser::label::{MatchOp, Matcher};
use promql_parser::parser::Expr;
use serde::Deserialize;

use crate::model::Model;

/// Where the catalogues live inside a template set.
const DIR: &str = "components";
const FILE: &str = "metrics.toml";

/// Suffixes Prometheus client libraries add to a histogram or summary base name.
const HISTOGRAM_SUFFIXES: [&str; 3] = ["_bucket", "_sum", "_count"];

/// The rules file of the manifest's custom alerts (see [`crate::components::alerts`]).
fn is_custom_rules(path: &str) -> bool {
    path == format!(
        "monitoring/prometheus/rules/{}.yml",
        crate::components::alerts::CUSTOM
    )
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogueFile {
    image: String,
    metrics: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    source: String,
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    histograms: Vec<String>,
}

/// The metric names one component's pinned image serves.
#[derive(Debug, Clone)]
pub struct Catalogue {
    /// Folder name: the image's name, whose pin is `image.toml` beside it (`node-exporter`).
    pub component: String,
    /// The pinned image the names were read for (`prom/node-exporter:v1.9.1`).
    pub image: String,
    /// `repository@tag: file` of each group of names.
    pub sources: Vec<String>,
    pub names: BTreeSet<String>,
    /// Histogram or summary base names (`_bucket`, `_sum`, `_count` are accepted).
    pub histograms: BTreeSet<String>,
}

/// Every catalogue of a template set, by component name. The embedded files are tested
/// to parse, so a parse failure here is a bug in obsgen.
pub fn catalogues(version: &str) -> Vec<Catalogue> {
    let prefix = format!("{DIR}/");
    crate::assets::template_set(version)
        .into_iter()
        .filter_map(|(path, text)| {
            let component = path
                .strip_prefix(&prefix)?
                .strip_suffix(&format!("/{FILE}"))?;
            let file: CatalogueFile = toml::from_str(text)
                .unwrap_or_else(|e| panic!("bug: embedded v{version}/{path}: {e}"));
            let mut c = Catalogue {
                component: component.to_string(),
                image: file.image,
                sources: Vec::new(),
                names: BTreeSet::new(),
                histograms: BTreeSet::new(),
            };
            for e in file.metrics {
                c.sources.push(e.source);
                c.names.extend(e.names);
                c.histograms.extend(e.histograms);
            }
            Some(c)
        })
        .collect()
}

/// `prom/node-exporter:v1.9.1` → `prom/node-exporter` (a digest is cut too).
fn repository(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => image,
    }
}

/// The metric names the enabled components of a stack serve.
#[derive(Debug, Default)]
pub struct Known {
    names: BTreeSet<String>,
    histograms: BTreeSet<String>,
}

impl Known {
    /// Every component whose image a Compose service runs, and every scraped app service.
    pub fn of(model: &Model) -> Known {
        let running: BTreeSet<&str> = model
            .compose
            .iter()
            .filter_map(|c| c.image.as_deref())
            .map(repository)
            .collect();
        let mut known = Known::default();
        for c in catalogues(&model.templates) {
            if running.contains(repository(&c.image)) {
                known.names.extend(c.names);
                known.histograms.extend(c.histograms);
            }
        }
        for m in model.services.iter().filter_map(|s| s.metrics.as_ref()) {
            known.names.insert(m.requests.clone());
            known.histograms.insert(m.duration.clone());
        }
        known
    }

    /// Adds the names recording rules record.
    pub fn record(&mut self, name: &str) {
        self.names.insert(name.to_string());
    }

    fn has(&self, name: &str) -> bool {
        self.names.contains(name)
            || HISTOGRAM_SUFFIXES.iter().any(|s| {
                name.strip_suffix(s)
                    .is_some_and(|base| self.histograms.contains(base))
            })
    }

    /// Whether a `__name__=~"…"` regex selects at least one known name.
    fn any_match(&self, re: &regex::Regex) -> bool {
        self.names.iter().any(|n| re.is_match(n))
            || self.histograms.iter().any(|h| {
                HISTOGRAM_SUFFIXES
                    .iter()
                    .any(|s| re.is_match(&format!("{h}{s}")))
            })
    }
}

/// What a vector selector asks for by name.
#[derive(Debug)]
pub enum Selected {
    /// `up`, `{__name__="up"}`.
    Name(String),
    /// `{__name__=~"node_load.*"}` (the regex and its text).
    Pattern(regex::Regex, String),
}

fn by_matchers(matchers: &[Matcher], out: &mut Vec<Selected>) {
    for m in matchers.iter().filter(|m| m.name == "__name__") {
        match &m.op {
            MatchOp::Equal => out.push(Selected::Name(m.value.clone())),
            MatchOp::Re(re) => out.push(Selected::Pattern(re.clone(), m.value.clone())),
            // A negative matcher selects everything else: no name to check.
            MatchOp::NotEqual | MatchOp::NotRe(_) => {}
        }
    }
}

/// The metric names (and `__name__` regexes) every vector selector of a parsed expression
/// selects, walking the tree without recursion.
pub fn selected(tree: &Expr) -> Vec<Selected> {
    let mut out = Vec::new();
    let mut stack = vec![tree];
    while let Some(e) = stack.pop() {
        let vs = match e {
            Expr::Aggregate(a) => {
                stack.push(&a.expr);
                stack.extend(a.param.as_deref());
                continue;
            }
            Expr::Unary(u) => {
                stack.push(&u.expr);
                continue;
            }
            Expr::Binary(b) => {
                stack.push(&b.lhs);
                stack.push(&b.rhs);
                continue;
            }
            Expr::Paren(p) => {
                stack.push(&p.expr);
                continue;
            }
            Expr::Subquery(s) => {
                stack.push(&s.expr);
                continue;
            }
            Expr::Call(c) => {
                stack.extend(c.args.args.iter().map(|a| &**a));
                continue;
            }
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => continue,
            Expr::VectorSelector(v) => v,
            Expr::MatrixSelector(m) => &m.vs,
        };
        if let Some(name) = &vs.name {
            out.push(Selected::Name(name.clone()));
        }
        by_matchers(&vs.matchers.matchers, &mut out);
        for alternative in &vs.matchers.or_matchers {
            by_matchers(alternative, &mut out);
        }
    }
    out
}

/// Fails when the parsed query selects a metric `known` lacks. `tree` is the query's
/// [`crate::grafana::parse_key`] shape, whose regex matchers are trivial: a query with a
/// `__name__` matcher is parsed again as it is.
fn check_query(known: &Known, whence: &str, q: &str, tree: &Expr, version: &str) -> Result<()> {
    let reparsed;
    let tree = if q.contains("__name__") {
        reparsed = promql_parser::parser::parse(q)
            .map_err(|e| anyhow!("{whence}: `{q}` does not parse: {e}"))?;
        &reparsed
    } else {
        tree
    };
    for s in selected(tree) {
        let problem = match &s {
            Selected::Name(n) if !known.has(n) => {
                format!("metric `{n}` is served by no enabled component and recorded by no rule")
            }
            Selected::Pattern(re, text) if !known.any_match(re) => format!(
                "`__name__=~\"{text}\"` matches no metric an enabled component serves or a rule records"
            ),
            _ => continue,
        };
        bail!(
            "{whence}: {problem} (`{q}`; the catalogues are templates/v{version}/{DIR}/*/{FILE})"
        );
    }
    Ok(())
}

/// One rule of a rules file, as far as the check reads it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RuleText {
    pub alert: Option<String>,
    pub record: Option<String>,
    pub expr: String,
}

/// A container open in the YAML event stream: a mapping (with the key read and not yet
/// given its value) or a sequence, and the key it is the value of (`[]` for an item).
enum Open {
    Map(Option<String>),
    Seq,
}

/// The rules (`groups[].rules[]`: `alert`, `record`, `expr`) of a rules file, read from
/// the YAML parser's event stream: every syntax error of the file is reported, at a
/// third of the cost of building its value.
pub fn rules_of(text: &str) -> Result<Vec<RuleText>, String> {
    const RULE: [&str; 5] = ["", "groups", "[]", "rules", "[]"];
    use granit_parser::Event;
    let mut stack: Vec<(Open, String)> = Vec::new();
    let mut rule: Option<RuleText> = None;
    let mut out = Vec::new();
    let in_rule = |stack: &[(Open, String)]| {
        stack.len() == RULE.len() && stack.iter().zip(RULE).all(|((_, k), r)| k == r)
    };
    for event in granit_parser::Parser::new_from_str(text) {
        let (event, _) = event.map_err(|e| e.to_string())?;
        match event {
            Event::Scalar(value, ..) => {
                let at_rule = in_rule(&stack);
                if let Some((Open::Map(key), _)) = stack.last_mut() {
                    match key.take() {
                        None => *key = Some(value.into_owned()),
                        Some(k) => {
                            if let (true, Some(r)) = (at_rule, rule.as_mut()) {
                                match k.as_str() {
                                    "alert" => r.alert = Some(value.into_owned()),
                                    "record" => r.record = Some(value.into_owned()),
                                    "expr" => r.expr = value.into_owned(),
                                    _ => {}
                                }
                            }
                        }
                    }
                }
            }
            Event::Alias(_) => {
                let at_rule = in_rule(&stack);
                if let Some((Open::Map(key), _)) = stack.last_mut() {
                    match key.take() {
                        None => *key = Some("*".into()),
                        Some(k) if at_rule && ["alert", "record", "expr"].contains(&k.as_str()) => {
                            return Err(format!("a rule's `{k}` is an alias (obsgen writes none)"));
                        }
                        Some(_) => {}
                    }
                }
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let under = match stack.last_mut() {
                    // A container as a key: the mapping's value comes next.
                    Some((Open::Map(key), _)) => key.take().unwrap_or_else(|| "?".into()),
                    Some((Open::Seq, _)) => "[]".into(),
                    None => String::new(),
                };
                let open = if matches!(event, Event::SequenceStart(..)) {
                    Open::Seq
                } else {
                    Open::Map(None)
                };
                stack.push((open, under));
                if in_rule(&stack) {
                    rule = Some(RuleText::default());
                }
            }
            Event::MappingEnd | Event::SequenceEnd => {
                if in_rule(&stack) {
                    out.extend(rule.take());
                }
                if let Some((_, under)) = stack.pop()
                    && under == "?"
                    && let Some((Open::Map(key), _)) = stack.last_mut()
                {
                    *key = Some("?".into());
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// What the check needs from the model and the rendered rule files: the names the
/// enabled components serve and the recording rules record, and the rules' expressions
/// (the custom alerts' left out) parsed once per shape.
#[derive(Debug)]
pub struct Rules {
    known: Known,
    parsed: Vec<crate::grafana::Parsed>,
    templates: String,
}

impl Rules {
    /// Reads the rules of the model's stack: `(path, rules)` of each rules file.
    pub fn parse(model: &Model, files: &[(&str, Vec<RuleText>)]) -> Result<Rules> {
        let mut out = Rules {
            known: Known::of(model),
            parsed: Vec::new(),
            templates: model.templates.clone(),
        };
        let mut seen = BTreeSet::new();
        for (path, rules) in files {
            for rule in rules {
                if let Some(r) = &rule.record {
                    out.known.record(r);
                }
                if is_custom_rules(path) {
                    continue;
                }
                let what = match (&rule.alert, &rule.record) {
                    (Some(a), _) => format!("alert `{a}`"),
                    (None, Some(r)) => format!("recording rule `{r}`"),
                    (None, None) => "a rule".to_string(),
                };
                let q = &rule.expr;
                // As the dashboards' queries: one parse per shape, trivial regexes.
                let key = crate::grafana::parse_key(&crate::grafana::split_regexes(q).0);
                if !seen.insert(key.clone()) {
                    continue;
                }
                let whence = format!("{path}: {what}");
                let tree = promql_parser::parser::parse(&key)
                    .map_err(|e| anyhow!("{whence}: `{q}` does not parse: {e}"))?;
                out.parsed.push((whence, q.clone(), tree));
            }
        }
        Ok(out)
    }
}

/// Checks every generated query against what the enabled components serve and the
/// rules record: the rules' and the dashboards' (as [`crate::grafana::verify`] parsed them).
pub fn check(rules: &Rules, dashboards: &[crate::grafana::Parsed]) -> Result<()> {
    for (whence, q, tree) in rules.parsed.iter().chain(dashboards) {
        check_query(&rules.known, whence, q, tree, &rules.templates)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_support::{rendered, replace};

    fn shop() -> Model {
        let m: crate::manifest::Manifest =
            toml::from_str(include_str!("../examples/shop/obsgen.toml")).unwrap();
        crate::assemble::model(&m, "obsgen.toml")
    }

    const REDIS_RULES: &str = "monitoring/prometheus/rules/database-redis.yml";
    const REDIS_BOARD: &str = "monitoring/grafana/dashboards/infrastructure/shop-db-redis.json";

    /// Verifies the shop with one edit; the error, or "" when it verifies.
    fn shop_with(path: &str, from: &str, to: &str) -> String {
        let m = shop();
        let mut files = rendered(&m);
        replace(&mut files, path, from, to);
        crate::verify::verify(&m, &files)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn an_unknown_metric_in_a_rule_is_caught() {
        let e = shop_with(REDIS_RULES, "redis_up{", "redis_upp{");
        assert!(e.starts_with("bug in obsgen: "), "{e}");
        for part in [REDIS_RULES, "alert `RedisDown`", "metric `redis_upp`"] {
            assert!(e.contains(part), "{part}: {e}");
        }
        // Served by a component, but not one this stack runs (no postgres here).
        let e = shop_with(REDIS_RULES, "redis_up{", "pg_up{");
        assert!(
            e.contains("metric `pg_up` is served by no enabled component"),
            "{e}"
        );
    }

    #[test]
    fn an_unknown_metric_in_a_panel_is_caught() {
        let e = shop_with(REDIS_BOARD, "redis_connected_clients{", "redis_clients{");
        for part in [REDIS_BOARD, "panel `", "metric `redis_clients`"] {
            assert!(e.contains(part), "{part}: {e}");
        }
        let e = shop_with(
            REDIS_BOARD,
            "redis_connected_clients{",
            r#"{__name__=~\"redis_conected_.*\","#,
        );
        assert!(
            e.contains(r#"`__name__=~"redis_conected_.*"` matches no metric"#),
            "{e}"
        );
        let ok = shop_with(
            REDIS_BOARD,
            "redis_connected_clients{",
            r#"{__name__=~\"redis_connected_.*\","#,
        );
        assert_eq!(ok, "");
    }

    #[test]
    fn elasticsearch_down_as_it_was_is_caught() {
        // Before the fix it read a metric elasticsearch_exporter removed in v1.7.0.
        let m: crate::manifest::Manifest =
            toml::from_str(include_str!("../examples/all-exporters/obsgen.toml")).unwrap();
        let m = crate::assemble::model(&m, "obsgen.toml");
        let mut files = rendered(&m);
        replace(
            &mut files,
            "monitoring/prometheus/rules/database-search.yml",
            "up{job=\\\"search-exporter\\\"} == 1 unless on(instance) elasticsearch_cluster_health_number_of_nodes",
            "elasticsearch_cluster_health_up",
        );
        let e = crate::verify::verify(&m, &files).unwrap_err().to_string();
        assert!(
            e.contains("alert `ElasticsearchDown`: metric `elasticsearch_cluster_health_up` is served by no enabled component"),
            "{e}"
        );
    }

    #[test]
    fn recorded_names_count_and_custom_alerts_are_the_users() {
        // The dashboards and alerts read `service:http_requests:rate5m`: without its
        // recording rule they select nothing.
        let e = shop_with(
            "monitoring/prometheus/rules/services.yml",
            "record: service:http_requests:rate5m",
            "record: service:http_requests:rate1m",
        );
        assert!(e.contains("metric `service:http_requests:rate5m`"), "{e}");
        // The custom alert's metric is the app's own: not obsgen's to know.
        let m = shop();
        let files = rendered(&m);
        let custom = files
            .iter()
            .find(|f| f.path == "monitoring/prometheus/rules/custom.yml")
            .unwrap();
        assert!(String::from_utf8_lossy(&custom.bytes).contains("shop_checkout_queue_depth"));
        crate::verify::verify(&m, &files).unwrap();
    }

    fn names(expr: &str) -> Vec<String> {
        let tree = promql_parser::parser::parse(expr).unwrap();
        let mut out: Vec<String> = selected(&tree)
            .into_iter()
            .map(|s| match s {
                Selected::Name(n) => n,
                Selected::Pattern(_, t) => format!("~{t}"),
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_selector_is_found() {
        assert_eq!(
            names(
                r#"sum by (job) (rate(a_total{x="1"}[5m])) / on(job) group_left() max(b) > bool 0
                   unless count_values("v", c) or label_replace(max_over_time(d[5m:1m] offset 1m), "a", "$1", "b", "(.*)")
                   and histogram_quantile(0.9, sum by (le) (rate(e_bucket[5m]))) and -f and (g)"#
            ),
            ["a_total", "b", "c", "d", "e_bucket", "f", "g"]
        );
        assert_eq!(
            names(
                r#"{__name__="up", job="x"} + {__name__=~"node_load.*"} + {__name__!="z", job="x"}"#
            ),
            ["up", "~node_load.*"]
        );
        // A selector by labels only names no metric.
        assert!(names(r#"{job="x"}"#).is_empty());
        assert!(names("vector(1) + time()").is_empty());
    }

    /// The rules as the full YAML parse sees them.
    fn rules_by_value(text: &str) -> Vec<RuleText> {
        let v: serde_json::Value = serde_saphyr::from_str(text).unwrap();
        let mut out = Vec::new();
        for g in v["groups"].as_array().into_iter().flatten() {
            for r in g["rules"].as_array().into_iter().flatten() {
                let s = |k: &str| r[k].as_str().map(str::to_string);
                out.push(RuleText {
                    alert: s("alert"),
                    record: s("record"),
                    expr: s("expr").unwrap_or_default(),
                });
            }
        }
        out
    }

    #[test]
    fn the_rules_reader_sees_what_the_full_parse_sees() {
        for example in ["shop", "everything", "all-exporters"] {
            let text = std::fs::read_to_string(format!(
                "{}/examples/{example}/obsgen.toml",
                env!("CARGO_MANIFEST_DIR")
            ))
            .unwrap();
            let m: crate::manifest::Manifest = toml::from_str(&text).unwrap();
            let m = crate::assemble::model(&m, "obsgen.toml");
            let mut rules = 0;
            for f in rendered(&m)
                .iter()
                .filter(|f| f.path.starts_with("monitoring/prometheus/rules/"))
            {
                let text = std::str::from_utf8(&f.bytes).unwrap();
                let got = rules_of(text).unwrap();
                assert_eq!(got, rules_by_value(text), "{example}: {}", f.path);
                rules += got.len();
            }
            assert!(rules > 20, "{example}: {rules} rules");
        }
        // Keys of the same name elsewhere, flow style, anchors and complex keys.
        let tricky = r#"
other: {expr: "no"}
groups:
  - name: g
    rules:
      - {alert: A, expr: 'up == 0', labels: {expr: "not a rule's"}}
      - record: r
        expr: &e "sum(x)"
        annotations:
          expr: "nor this"
      - alert: B
        expr: "x"
        labels: *e
        ? [complex, key]
        : expr
    other:
      - expr: "not in rules"
"#;
        let rule = |alert: Option<&str>, record: Option<&str>, expr: &str| RuleText {
            alert: alert.map(str::to_string),
            record: record.map(str::to_string),
            expr: expr.into(),
        };
        assert_eq!(
            rules_of(tricky).unwrap(),
            [
                rule(Some("A"), None, "up == 0"),
                rule(None, Some("r"), "sum(x)"),
                rule(Some("B"), None, "x"),
            ]
        );
        // A value the reader cannot see is an error, not a rule without an expression.
        let alias = "groups:\n  - rules:\n      - record: &r a\n        expr: x\n      - record: *r\n        expr: y\n";
        assert!(
            rules_of(alias)
                .unwrap_err()
                .contains("`record` is an alias")
        );
    }

    #[test]
    fn histograms_accept_their_suffixes_only() {
        let mut k = Known::default();
        k.histograms.insert("http_request_duration_seconds".into());
        k.record("service:x:rate5m");
        for n in [
            "http_request_duration_seconds_bucket",
            "http_request_duration_seconds_sum",
            "http_request_duration_seconds_count",
            "service:x:rate5m",
        ] {
            assert!(k.has(n), "{n}");
        }
        for n in [
            "http_request_duration_seconds",
            "http_request_duration_seconds_total",
            "service:x:rate1h",
        ] {
            assert!(!k.has(n), "{n}");
        }
        let re = |s: &str| regex::Regex::new(&format!("^(?:{s})$")).unwrap();
        assert!(k.any_match(&re("http_request_duration_seconds_(sum|count)")));
        assert!(!k.any_match(&re("http_request_duration")));
    }

    #[test]
    fn images_are_compared_without_their_tag() {
        assert_eq!(
            repository("prom/node-exporter:v1.9.1"),
            "prom/node-exporter"
        );
        assert_eq!(repository("localhost:5000/x:1"), "localhost:5000/x");
        assert_eq!(repository("localhost:5000/x"), "localhost:5000/x");
        assert_eq!(repository("a/b@sha256:00"), "a/b");
    }

    /// Every catalogue is for the image its folder pins, names each source as
    /// `repository@tag: file`, and lists valid metric names.
    #[test]
    fn catalogues_match_the_pins_and_cite_their_sources() {
        let source = regex::Regex::new(r"^[\w.-]+/[\w.-]+@[\w.-]+: \S").unwrap();
        let name = regex::Regex::new(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$").unwrap();
        for version in crate::assets::template_versions() {
            let images = crate::assets::images(&version);
            let all = catalogues(&version);
            assert!(all.len() >= 16, "v{version}: {} catalogues", all.len());
            for c in all {
                assert_eq!(
                    images.get(&c.component),
                    Some(&c.image),
                    "v{version}/{DIR}/{}/{FILE}: `image` is not the pin in image.toml beside it: re-read its sources at the new tag",
                    c.component
                );
                assert!(!c.sources.is_empty(), "{}", c.component);
                for s in &c.sources {
                    assert!(source.is_match(s), "{}: source `{s}`", c.component);
                }
                assert!(!c.names.is_empty() || !c.histograms.is_empty());
                for n in c.names.iter().chain(&c.histograms) {
                    assert!(name.is_match(n), "{}: `{n}`", c.component);
                }
            }
        }
    }
}
