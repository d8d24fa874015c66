//! Checks of the rendered dashboards and provisioning (called by [`crate::verify`]):
//! every datasource uid a panel names is provisioned, dashboard uids are unique, titles
//! unique per folder, and every query parses — PromQL (variables substituted, see
//! [`substitute`]), LogQL ([`check_logql`]) or Lucene ([`check_lucene`]). The parsed
//! PromQL feeds the metric-existence check ([`crate::metrics`]). [`panel_queries`]
//! lists the queries of one kind of dashboard for a live test.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, bail};
use serde_json::Value as Json;

use super::{DASHBOARDS_OUT, DATASOURCES_FILE, MAX_UID, PROMETHEUS_UID, SCHEMA_VERSION};
use crate::model::File;
use crate::model::Model;

/// Values of the dashboard variables when a query is run outside Grafana.
#[derive(Debug, Clone)]
pub struct Vars {
    pub environment: String,
    /// A regex (`.*` for all, or one instance such as `node-exporter:9100`).
    pub instance: String,
    /// What `$__rate_interval`, `$__interval` and `$__range` stand for.
    pub interval: String,
}

impl Vars {
    pub fn new(environment: &str, instance: &str) -> Vars {
        Vars {
            environment: environment.into(),
            instance: instance.into(),
            interval: "1m".into(),
        }
    }
}

/// A query with Grafana's variables replaced by `vars` (and `$datasource` by the
/// Prometheus uid).
pub fn substitute(expr: &str, vars: &Vars) -> String {
    let mut out = expr.to_string();
    for (name, value) in [
        ("__rate_interval", vars.interval.as_str()),
        ("__interval", vars.interval.as_str()),
        ("__range", vars.interval.as_str()),
        ("environment", vars.environment.as_str()),
        ("instance", vars.instance.as_str()),
        ("datasource", PROMETHEUS_UID),
    ] {
        out = out
            .replace(&format!("${{{name}}}"), value)
            .replace(&format!("${name}"), value);
    }
    out
}

/// One panel query of a generated dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelQuery {
    pub dashboard: String,
    pub panel: String,
    /// PromQL, variables substituted.
    pub expr: String,
}

/// Every panel query of the dashboards of `kind` (`overview`, `service`, `host`,
/// `containers`, `database`, `slo`, `monitoring`), with the variables substituted.
/// For a live test: `panel_queries(&model, "host", &Vars::new("development", ".*"))`
/// lists each node-exporter query, ready for `/api/v1/query`.
pub fn panel_queries(model: &Model, kind: &str, vars: &Vars) -> Vec<PanelQuery> {
    let Some(g) = &model.provisioning else {
        return Vec::new();
    };
    g.dashboards
        .iter()
        .filter(|d| d.kind == kind)
        .flat_map(|d| queries_of(&d.value))
        .map(|(dashboard, panel, expr)| PanelQuery {
            dashboard,
            panel,
            expr: substitute(&expr, vars),
        })
        .collect()
}

/// `(dashboard uid, panel title, expr)` of every target of a dashboard value.
fn queries_of(dash: &Json) -> Vec<(String, String, String)> {
    let uid = dash["uid"].as_str().unwrap_or("").to_string();
    let mut out = Vec::new();
    for p in dash["panels"].as_array().into_iter().flatten() {
        for t in p["targets"].as_array().into_iter().flatten() {
            out.push((
                uid.clone(),
                p["title"].as_str().unwrap_or("").to_string(),
                t["expr"].as_str().unwrap_or("").to_string(),
            ));
        }
    }
    out
}

// ---- verification of the rendered files

/// Resolves a datasource uid through the dashboard's datasource variables
/// (`${datasource}` → the variable's current value).
fn resolve_uid(uid: &str, dash: &Json) -> String {
    let name = uid
        .strip_prefix("${")
        .and_then(|s| s.strip_suffix('}'))
        .or_else(|| uid.strip_prefix('$'));
    let Some(name) = name else {
        return uid.to_string();
    };
    dash["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == name && v["type"] == "datasource")
        .and_then(|v| v["current"]["value"].as_str())
        .unwrap_or(uid)
        .to_string()
}

/// Checks one dashboard against the provisioned datasource uids, and its queries.
pub fn check_dashboard(path: &str, dash: &Json, datasources: &BTreeSet<String>) -> Result<()> {
    let mut queries = Vec::new();
    collect_dashboard(path, dash, datasources, &mut queries)?;
    parse_all(&queries).map(|_| ())
}

/// A parsed query: where it came from, its text, and the tree of its [`parse_key`] shape
/// (with a trivial regex in place of every regex matcher's).
pub type Parsed = (String, String, promql_parser::parser::Expr);

/// Parses every query once per [`parse_key`] shape (dashboards share most shapes); the
/// first failure names where the query came from. Returns the first query of each shape.
pub fn parse_all(queries: &[(String, String)]) -> Result<Vec<Parsed>> {
    // The parser compiles the regex of every `=~`/`!~` matcher, which is most of its
    // cost, and dashboards repeat a few regexes (`.*`) everywhere: each distinct regex is
    // compiled once here, and the query is parsed with a trivial regex in its place.
    let mut regexes: BTreeMap<String, &str> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut unique = Vec::new();
    for (whence, q) in queries {
        let (plain, found) = split_regexes(q);
        for r in found {
            regexes.entry(r).or_insert(whence);
        }
        if seen.insert(parse_key(&plain)) {
            unique.push((whence, q, plain));
        }
    }
    for (r, whence) in &regexes {
        regex::Regex::new(&format!("^(?:{r})$"))
            .map_err(|e| anyhow::anyhow!("{whence}: regex `{r}` is invalid: {e}"))?;
    }
    let mut out = Vec::with_capacity(unique.len());
    for (whence, q, plain) in unique {
        let tree = promql_parser::parser::parse(&plain)
            .map_err(|e| anyhow::anyhow!("{whence} `{q}` does not parse: {e}"))?;
        out.push((whence.clone(), q.clone(), tree));
    }
    Ok(out)
}

/// The query with the value of every regex matcher (`=~"…"`, `!~"…"`) replaced by `"x"`,
/// and those values (unescaped). Other string literals are copied as they are.
pub fn split_regexes(q: &str) -> (String, Vec<String>) {
    let mut out = String::with_capacity(q.len());
    let mut found = Vec::new();
    let mut chars = q.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        // A double-quoted literal: read it whole.
        let mut raw = String::from('"');
        let mut value = String::new();
        while let Some(c) = chars.next() {
            raw.push(c);
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        raw.push(n);
                        if n != '"' && n != '\\' {
                            value.push('\\');
                        }
                        value.push(n);
                    }
                }
                '"' => break,
                c => value.push(c),
            }
        }
        let before = out.trim_end();
        if before.ends_with("=~") || before.ends_with("!~") {
            out.push_str("\"x\"");
            found.push(value);
        } else {
            out.push_str(&raw);
        }
    }
    (out, found)
}

/// Checks one dashboard's datasources and structure, and collects its queries (with
/// the variables substituted) as `(where, query)` for [`parse_all`].
pub fn collect_dashboard(
    path: &str,
    dash: &Json,
    datasources: &BTreeSet<String>,
    queries: &mut Vec<(String, String)>,
) -> Result<()> {
    let vars = Vars::new("production", ".*");
    let mut parses = |whence: String, q: &str| -> Result<(), String> {
        queries.push((whence, substitute(q, &vars)));
        Ok(())
    };
    let check_ds = |what: &str, ds: &Json| -> Result<()> {
        if ds.is_null() {
            return Ok(());
        }
        let uid = resolve_uid(ds["uid"].as_str().unwrap_or(""), dash);
        if !datasources.contains(&uid) {
            bail!("{path}: {what} names datasource uid `{uid}`, which is not provisioned");
        }
        Ok(())
    };
    if dash["schemaVersion"].as_u64().unwrap_or(0) < u64::from(SCHEMA_VERSION) {
        bail!("{path}: schemaVersion below {SCHEMA_VERSION}");
    }
    for v in dash["templating"]["list"].as_array().into_iter().flatten() {
        let name = v["name"].as_str().unwrap_or("");
        check_ds(&format!("variable `{name}`"), &v["datasource"])?;
        if v["type"] == "query" {
            let q = v["query"].as_str().unwrap_or("");
            let inner = q
                .strip_prefix("label_values(")
                .and_then(|s| s.rsplit_once(','))
                .map_or(q, |(sel, _)| sel);
            if let Err(e) = parses(format!("{path}: variable `{name}`: query"), inner) {
                bail!("{path}: variable `{name}`: query `{q}` does not parse: {e}");
            }
        }
    }
    for p in dash["panels"].as_array().into_iter().flatten() {
        let title = p["title"].as_str().unwrap_or("");
        if p["gridPos"].is_null() {
            bail!("{path}: panel `{title}` has no gridPos");
        }
        if p["type"] == "row" {
            continue;
        }
        check_ds(&format!("panel `{title}`"), &p["datasource"])?;
        for t in p["targets"].as_array().into_iter().flatten() {
            check_ds(&format!("panel `{title}`"), &t["datasource"])?;
            let kind = t["datasource"]["type"]
                .as_str()
                .or(p["datasource"]["type"].as_str())
                .unwrap_or("prometheus");
            match kind {
                "loki" => {
                    let expr = substitute(t["expr"].as_str().unwrap_or(""), &vars);
                    if let Err(e) = check_logql(&expr) {
                        bail!("{path}: panel `{title}`: LogQL `{expr}` does not parse: {e}");
                    }
                    continue;
                }
                "elasticsearch" => {
                    let q = substitute(t["query"].as_str().unwrap_or(""), &vars);
                    if let Err(e) = check_lucene(&q) {
                        bail!("{path}: panel `{title}`: Lucene query `{q}` does not parse: {e}");
                    }
                    continue;
                }
                _ => {}
            }
            let expr = t["expr"].as_str().unwrap_or("");
            if let Err(e) = parses(format!("{path}: panel `{title}`: query"), expr) {
                bail!("{path}: panel `{title}`: query `{expr}` does not parse: {e}");
            }
        }
    }
    Ok(())
}

/// Reads a double-quoted string at the start of `s` (Go/LogQL escapes); returns the
/// value and the rest.
fn quoted(s: &str) -> Result<(String, &str), String> {
    let mut chars = s.char_indices();
    if chars.next().map(|(_, c)| c) != Some('"') {
        return Err(format!("expected a \"string\" at `{s}`"));
    }
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, n)) => {
                    if n != '"' && n != '\\' {
                        value.push('\\');
                    }
                    value.push(n);
                }
                None => break,
            },
            '"' => return Ok((value, &s[i + 1..])),
            c => value.push(c),
        }
    }
    Err("string not closed".into())
}

/// Checks a LogQL log query: a stream selector with at least one matcher (each regex
/// compiles, and not every matcher may match the empty string), then line filters
/// (`|=`, `!=`, `|~`, `!~` with a string) and parser stages (`| json`, `| logfmt`).
pub fn check_logql(q: &str) -> Result<(), String> {
    let mut rest = q.trim_start();
    rest = rest
        .strip_prefix('{')
        .ok_or("a log query starts with a stream selector `{…}`")?;
    let mut matchers = 0;
    let mut non_empty = false;
    loop {
        rest = rest.trim_start();
        if let Some(r) = rest.strip_prefix('}') {
            rest = r;
            break;
        }
        let name_len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = &rest[..name_len];
        if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(format!("expected a label name at `{rest}`"));
        }
        rest = rest[name_len..].trim_start();
        let op = ["=~", "!~", "!=", "="]
            .into_iter()
            .find(|op| rest.starts_with(op))
            .ok_or_else(|| format!("expected =, !=, =~ or !~ after `{name}`"))?;
        rest = rest[op.len()..].trim_start();
        let (value, r) = quoted(rest)?;
        rest = r.trim_start();
        let matches_empty = match op {
            "=~" | "!~" => {
                let re = regex::Regex::new(&format!("^(?:{value})$"))
                    .map_err(|e| format!("regex `{value}` of `{name}` is invalid: {e}"))?;
                (op == "=~") == re.is_match("")
            }
            "=" => value.is_empty(),
            _ => !value.is_empty(),
        };
        non_empty |= !matches_empty;
        matchers += 1;
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        }
    }
    if matchers == 0 || !non_empty {
        return Err(
            "the stream selector needs a matcher that does not match the empty string".into(),
        );
    }
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(());
        }
        if let Some(op) = ["|=", "!=", "|~", "!~"]
            .into_iter()
            .find(|op| rest.starts_with(op))
        {
            let (value, r) = quoted(rest[op.len()..].trim_start())?;
            if op.ends_with('~') {
                regex::Regex::new(&value)
                    .map_err(|e| format!("line filter regex `{value}`: {e}"))?;
            }
            rest = r;
            continue;
        }
        if let Some(r) = rest.strip_prefix('|') {
            let r = r.trim_start();
            let stage = ["json", "logfmt", "unpack"]
                .into_iter()
                .find(|s| r.starts_with(s))
                .ok_or_else(|| format!("unknown pipeline stage at `{r}`"))?;
            rest = &r[stage.len()..];
            continue;
        }
        return Err(format!("unexpected `{rest}`"));
    }
}

/// Checks an Elasticsearch (Lucene) query string: not empty, quotes and `/regex/`s
/// closed, parentheses balanced, every `field:` a field name.
pub fn check_lucene(q: &str) -> Result<(), String> {
    if q.trim().is_empty() {
        return Err("empty query".into());
    }
    let mut depth = 0i32;
    let mut chars = q.chars().peekable();
    let mut token = String::new();
    while let Some(c) = chars.next() {
        match c {
            '"' | '/' => {
                let mut closed = false;
                while let Some(n) = chars.next() {
                    if n == '\\' {
                        chars.next();
                    } else if n == c {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return Err(format!("`{c}` not closed"));
                }
                token.clear();
            }
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth < 0 {
                    return Err("unbalanced `)`".into());
                }
            }
            ':' => {
                if token.is_empty()
                    || !token
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'))
                {
                    return Err(format!("`{token}:` is not a field"));
                }
                token.clear();
            }
            c if c.is_whitespace() => token.clear(),
            c => token.push(c),
        }
    }
    if depth != 0 {
        return Err("unbalanced `(`".into());
    }
    Ok(())
}

/// A query with the parts of its string literals that cannot affect whether it parses
/// folded: every run of `[A-Za-z0-9_-]` outside a regex class (`[…]`) or repetition
/// (`{…}`) becomes `x`. Such a run is valid both in a label value and in a regex, so
/// `up{job="svc-0001"}` and `up{job="svc-0002"}` share one key, while `[0-9]` stays as
/// it is. A literal with an escape or a `(?` group keeps the rest of the query verbatim.
pub fn parse_key(q: &str) -> String {
    let mut out = String::with_capacity(q.len());
    let mut rest = q;
    while let Some(start) = rest.find('"') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find(['"', '\\']) else {
            out.push_str(&rest[start..]);
            return out;
        };
        let lit = &after[..end];
        if after.as_bytes()[end] == b'\\' || lit.contains("(?") {
            out.push_str(&rest[start..]);
            return out;
        }
        out.push('"');
        let (mut class, mut brace, mut run) = (0u32, 0u32, false);
        for c in lit.chars() {
            match c {
                '[' => class += 1,
                ']' => class = class.saturating_sub(1),
                '{' => brace += 1,
                '}' => brace = brace.saturating_sub(1),
                _ => {}
            }
            let foldable =
                class == 0 && brace == 0 && (c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if foldable {
                if !run {
                    out.push('x');
                }
                run = true;
            } else {
                out.push(c);
                run = false;
            }
        }
        out.push('"');
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Cross-file checks of Grafana's rendered files (parsed values by path). Returns the
/// dashboards' Prometheus queries, parsed once per shape (for the metric-existence check).
pub fn verify(files: &[(&File, &Json)]) -> Result<Vec<Parsed>> {
    let Some((_, ds)) = files.iter().find(|(f, _)| f.path == DATASOURCES_FILE) else {
        if files
            .iter()
            .any(|(f, _)| f.path.starts_with(DASHBOARDS_OUT))
        {
            bail!("dashboards are generated without {DATASOURCES_FILE}");
        }
        return Ok(Vec::new());
    };
    let mut uids = BTreeSet::new();
    let mut defaults = 0;
    for d in ds["datasources"].as_array().into_iter().flatten() {
        let uid = d["uid"].as_str().unwrap_or("").to_string();
        if uid.is_empty() || !uids.insert(uid.clone()) {
            bail!("{DATASOURCES_FILE}: datasource uid `{uid}` is empty or not unique");
        }
        if d["isDefault"] == true {
            defaults += 1;
        }
    }
    if defaults != 1 {
        bail!("{DATASOURCES_FILE}: {defaults} default datasources, want 1");
    }
    let mut dash_uids = BTreeSet::new();
    let mut titles = BTreeSet::new();
    let mut checks = Vec::new();
    for (f, dash) in files {
        let Some(rest) = f.path.strip_prefix(&format!("{DASHBOARDS_OUT}/")) else {
            continue;
        };
        let folder = rest.rsplit_once('/').map_or("", |(d, _)| d);
        let uid = dash["uid"].as_str().unwrap_or("");
        if uid.is_empty() || uid.len() > MAX_UID || !dash_uids.insert(uid.to_string()) {
            bail!(
                "{}: dashboard uid `{uid}` is empty, longer than {MAX_UID} or not unique",
                f.path
            );
        }
        if !f.path.ends_with(&format!("/{uid}.json")) {
            bail!("{}: file name is not the dashboard uid `{uid}`", f.path);
        }
        let title = dash["title"].as_str().unwrap_or("");
        if !titles.insert((folder.to_string(), title.to_string())) {
            bail!(
                "{}: title `{title}` is not unique in folder `{folder}`",
                f.path
            );
        }
        checks.push((f.path.as_str(), *dash));
    }
    let mut queries = Vec::new();
    for (path, dash) in checks {
        collect_dashboard(path, dash, &uids, &mut queries)?;
    }
    parse_all(&queries)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_panel_without_grid_position_is_caught() {
        let dash = json!({
            "uid": "x", "title": "x", "schemaVersion": 39,
            "panels": [{ "type": "stat", "title": "p", "targets": [] }],
        });
        let e = check_dashboard("d.json", &dash, &BTreeSet::new()).unwrap_err();
        assert!(e.to_string().contains("gridPos"), "{e}");
    }

    #[test]
    fn regex_values_are_split_out_and_checked_once() {
        let (plain, found) = split_regexes(r#"up{job=~"a|b",x!~"\\.y",z="=~",w=~"c"} == 0"#);
        assert_eq!(plain, r#"up{job=~"x",x!~"x",z="=~",w=~"x"} == 0"#);
        assert_eq!(
            found,
            vec!["a|b".to_string(), r"\.y".to_string(), "c".to_string()]
        );
        let q = |s: &str| vec![("p".to_string(), s.to_string())];
        assert!(parse_all(&q(r#"up{job=~"a|b"}"#)).is_ok());
        let e = parse_all(&q(r#"up{job=~"(a"}"#)).unwrap_err().to_string();
        assert!(e.contains("regex `(a` is invalid"), "{e}");
        assert!(parse_all(&q("sum(up{job=\"a\"}")).is_err());
    }

    #[test]
    fn parse_keys_fold_plain_values_but_keep_regexes() {
        assert_eq!(
            parse_key(r#"up{job="svc-0001",environment="prod"} == 0"#),
            parse_key(r#"up{job="svc-0002",environment="dev"} == 0"#)
        );
        assert_eq!(
            parse_key(r#"x{a="b",name=~"shop-(backend-1|backend-2)-[0-9]+"}"#),
            r#"x{a="x",name=~"x(x|x)x[0-9]+"}"#
        );
        assert_ne!(
            parse_key(r#"x{name=~"a-(b|c)-[0-9]+"}"#),
            parse_key(r#"x{name=~"a-(b|c-[0-9]+"}"#)
        );
        assert_eq!(
            parse_key(r#"x{a=~"5..", b=~"[z-a]{2,3}"}"#),
            r#"x{a=~"x..", b=~"[z-a]{2,3}"}"#
        );
        assert_eq!(parse_key(r#"x{a=~"(?z)b"}"#), r#"x{a=~"(?z)b"}"#);
        assert_eq!(parse_key(r#"x{a="q\\"b"}"#), r#"x{a="q\\"b"}"#);
    }

    #[test]
    fn substitute_replaces_both_spellings() {
        let v = Vars::new("dev", ".*");
        assert_eq!(
            substitute(
                "rate(x{environment=\"${environment}\",instance=~\"$instance\"}[$__rate_interval])",
                &v
            ),
            "rate(x{environment=\"dev\",instance=~\".*\"}[1m])"
        );
    }

    #[test]
    fn logql_and_lucene_checks() {
        for ok in [
            r#"{service=~"api|web",environment="production"}"#,
            r#"{service="api"} |= "error" != "debug" | json"#,
            r#"{service=~"$service(-[0-9]+)?"} |~ "time(out)?""#,
        ] {
            check_logql(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
        for (bad, why) in [
            (r#"service="api""#, "stream selector"),
            (r#"{}"#, "empty string"),
            (r#"{service=~".*"}"#, "empty string"),
            (r#"{service=~"(api"}"#, "invalid"),
            (r#"{service="api"} | nonsense"#, "unknown pipeline stage"),
            (r#"{service="api}"#, "not closed"),
            (r#"{service=="api"}"#, "string"),
        ] {
            let e = check_logql(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
        check_lucene(r#"service.name:/api(-[0-9]+)?/ AND environment:"production""#).unwrap();
        for bad in ["", r#"service.name:"api"#, "(a AND b", r#":"x""#] {
            assert!(check_lucene(bad).is_err(), "{bad}");
        }
    }
}
