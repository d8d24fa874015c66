//! What the real tools refuse, obsgen refuses when the manifest loads — and what they
//! take, obsgen takes, arriving unchanged. Regexes (Go's RE2 in Alertmanager 0.25 and
//! Prometheus 2.42), PromQL functions and syntax, template delimiters, durations at
//! Go's bound, huge expressions, and counts that size allocations.
//!
//! Each list is proven both ways: obsgen exits 2 naming the key, and `amtool` /
//! `promtool` fail on the same value written by hand; the accepted lists go through
//! obsgen into the generated files, which the tools then accept.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Project, require_tool, tool};

/// A TOML basic string holding `s`.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A PromQL double-quoted string holding `s`.
fn promql_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

const HEAD: &str = r#"[project]
name = "dialect"
environments = ["production"]

[[service]]
name = "web"
image = "ghcr.io/acme/web:1.0.0"
port = 8080

[[receiver]]
name = "team"
kind = "pagerduty"
routing_key_env = "PAGERDUTY_ROUTING_KEY"
"#;

/// A manifest with one route per regex (`match_re = { service = … }`).
fn routes_manifest(regexes: &[&str]) -> String {
    let mut m = HEAD.to_string();
    for re in regexes {
        m.push_str(&format!(
            "\n[[route]]\nmatch_re = {{ service = {} }}\nreceivers = [\"team\"]\ncontinue = true\n",
            toml_str(re)
        ));
    }
    m
}

/// A manifest with one custom alert per expression.
fn alerts_manifest(exprs: &[&str]) -> String {
    let mut m = HEAD.to_string();
    for (i, e) in exprs.iter().enumerate() {
        m.push_str(&format!(
            "\n[[alerts.custom]]\nname = \"Custom{i}\"\nexpr = {}\nseverity = \"warning\"\nsummary = \"custom {i}\"\n",
            toml_str(e)
        ));
    }
    m
}

/// Writes an Alertmanager configuration with one regex matcher and runs amtool on it.
fn amtool_on_regex(amtool: &Path, dir: &Path, re: &str) -> (i32, String) {
    let value = re.replace('\\', "\\\\").replace('"', "\\\"");
    let config = json!({
        "route": { "receiver": "x", "routes": [
            { "matchers": [format!("service=~\"{value}\"")], "receiver": "x" }
        ]},
        "receivers": [{ "name": "x" }],
    });
    let file = dir.join("am.yml");
    std::fs::write(&file, config.to_string()).unwrap();
    tool(Command::new(amtool).arg("check-config").arg(&file))
}

/// Writes a rules file with one alert and runs `promtool check rules` on it.
fn promtool_check(promtool: &Path, dir: &Path, expr: &str) -> (i32, String) {
    let rules = json!({ "groups": [{ "name": "g", "rules": [
        { "alert": "A", "expr": expr }
    ]}]});
    let file = dir.join("rules.yml");
    std::fs::write(&file, rules.to_string()).unwrap();
    tool(Command::new(promtool).args(["check", "rules"]).arg(&file))
}

/// Writes a recording rule and a unit test that evaluates it; runs `promtool test rules`
/// (for what Prometheus checks only when a rule runs).
fn promtool_eval(promtool: &Path, dir: &Path, expr: &str) -> (i32, String) {
    let rules = json!({ "groups": [{ "name": "g", "rules": [
        { "record": "r", "expr": expr }
    ]}]});
    std::fs::write(dir.join("eval.yml"), rules.to_string()).unwrap();
    let test = json!({
        "rule_files": ["eval.yml"],
        "tests": [{
            "interval": "1m",
            "input_series": [{ "series": "x{s=\"a\"}", "values": "1 1 1" }],
            "promql_expr_test": [{ "expr": "r", "eval_time": "1m", "exp_samples": [] }],
        }],
    });
    std::fs::write(dir.join("eval.test.yml"), test.to_string()).unwrap();
    tool(
        Command::new(promtool)
            .args(["test", "rules", "eval.test.yml"])
            .current_dir(dir),
    )
}

fn tools() -> Option<(PathBuf, PathBuf)> {
    Some((require_tool("promtool")?, require_tool("amtool")?))
}

#[test]
fn replicas_are_range_checked_before_any_allocation() {
    // Before: the replica names (4 billion strings) were built before the range check,
    // and obsgen aborted trying to allocate ~100 GB. Under a 1 GB address-space limit,
    // obsgen must answer with the range error.
    let p = Project::with_manifest(
        &format!("{HEAD}\n").replace("port = 8080\n", "port = 8080\nreplicas = 4294967295\n"),
    );
    let bin = assert_cmd::cargo::cargo_bin("obsgen");
    let start = Instant::now();
    let out = Command::new("sh")
        .args(["-c", "ulimit -v 1000000 && exec \"$0\" check"])
        .arg(&bin)
        .current_dir(p.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("replicas = 4294967295 is out of range"),
        "{stderr}"
    );
    assert!(start.elapsed() < Duration::from_secs(20));
}

/// Regexes Go's RE2 parser rejects (Prometheus 2.42 and Alertmanager 0.25).
const REJECTED_REGEXES: &[&str] = &[
    "(?x) a b",
    "(?u)a",
    "(?R)a",
    "(?<n>a)",
    "(?P<a.b>a)",
    "a**",
    "a{2}{3}",
    "a{1001}",
    "(a{2}){501}",
    "\\p{greek}",
    "\\p{Alphabetic}",
    "\\p{Script=Greek}",
    "\\p{Vithkuqi}",
    "\\u0041",
    "a(?=b)",
    "(a)\\1",
];

#[test]
fn regexes_obsgen_rejects_amtool_and_promtool_reject_too() {
    // All at once through obsgen: one problem per route, each naming its key.
    let p = Project::with_manifest(&routes_manifest(REJECTED_REGEXES));
    let out = p.run(&["check"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    for (i, re) in REJECTED_REGEXES.iter().enumerate() {
        assert!(
            out.stderr
                .contains(&format!("= key: route[{i}].match_re.service")),
            "route[{i}] ({re}) not reported:\n{}",
            out.stderr
        );
    }
    assert!(
        out.stderr
            .contains(&format!("has {} problems", REJECTED_REGEXES.len())),
        "{}",
        out.stderr
    );
    // In PromQL too.
    let exprs: Vec<String> = REJECTED_REGEXES
        .iter()
        .map(|re| format!("up{{service=~{}}}", promql_str(re)))
        .collect();
    let refs: Vec<&str> = exprs.iter().map(String::as_str).collect();
    let out = Project::with_manifest(&alerts_manifest(&refs)).run(&["check"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains(&format!("has {} problems", REJECTED_REGEXES.len())),
        "{}",
        out.stderr
    );

    let Some((promtool, amtool)) = tools() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The harness works: a plain regex passes both tools.
    let (code, text) = amtool_on_regex(&amtool, dir.path(), "api|web");
    assert_eq!(code, 0, "{text}");
    let (code, text) = promtool_check(&promtool, dir.path(), "up{service=~\"api|web\"}");
    assert_eq!(code, 0, "{text}");
    for (re, expr) in REJECTED_REGEXES.iter().zip(&exprs) {
        let (code, text) = amtool_on_regex(&amtool, dir.path(), re);
        assert_ne!(code, 0, "amtool accepts {re:?}:\n{text}");
        let (code, text) = promtool_check(&promtool, dir.path(), expr);
        assert_ne!(code, 0, "promtool accepts {expr}:\n{text}");
    }
}

/// Regexes Go's RE2 and Rust's regex syntax both read the same way, some of them
/// unusual; obsgen must take them.
const ACCEPTED_REGEXES: &[&str] = &[
    "api|web",
    "db-.*",
    "(?P<name>api)-[0-9]+",
    "(?i)API|(?s:.)|(?m)^x$|(?U)a+",
    "(?:a*)*",
    "a{0}|a{1000}|(a{2}){500}",
    "[[:alpha:]][[:^digit:]][[:word:]]",
    "\\p{Greek}\\pL\\PN\\p{Yezidi}\\p{Any}",
    "[\\p{Han}\\d_-]+",
    "\\x41\\x{263A}\\t\\v",
    "\\A\\bx\\B\\z",
    "[]a][^]b]",
    "é|日本|ü+",
    "\\$1 #:% \"q\" 's'",
    "",
];

#[test]
fn tricky_regexes_obsgen_accepts_pass_amtool_and_promtool() {
    let mut manifest = routes_manifest(ACCEPTED_REGEXES);
    let exprs: Vec<String> = ACCEPTED_REGEXES
        .iter()
        .map(|re| format!("up{{service=~{}, job=\"x\"}} > 0", promql_str(re)))
        .collect();
    let refs: Vec<&str> = exprs.iter().map(String::as_str).collect();
    manifest.push_str(&alerts_manifest(&refs)[HEAD.len()..]);
    let p = Project::with_manifest(&manifest);
    p.generate();
    let Some((promtool, amtool)) = tools() else {
        return;
    };
    let am = "monitoring/alertmanager/alertmanager.production.yml";
    let (code, text) = tool(
        Command::new(&amtool)
            .arg("check-config")
            .arg(p.path().join(am)),
    );
    assert_eq!(code, 0, "{text}\n{}", p.read(am));
    let rules = "monitoring/prometheus/rules/custom.yml";
    let (code, text) = tool(
        Command::new(&promtool)
            .args(["check", "rules"])
            .arg(p.path().join(rules)),
    );
    assert_eq!(code, 0, "{text}\n{}", p.read(rules));
    // Each regex arrives as written: Alertmanager's matchers and the PromQL.
    let config = crate::support::yaml(&p.read(am));
    let matchers: Vec<String> = config["route"]["routes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["matchers"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m.as_str().map(str::to_string))
        .collect();
    let custom = crate::support::yaml(&p.read(rules));
    let written: Vec<&str> = custom["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["expr"].as_str().unwrap())
        .collect();
    for (re, expr) in ACCEPTED_REGEXES.iter().zip(&exprs) {
        let value = re.replace('\\', "\\\\").replace('"', "\\\"");
        assert!(
            matchers.contains(&format!("service=~\"{value}\"")),
            "{re:?} not in {matchers:?}"
        );
        assert!(written.contains(&expr.as_str()), "{expr}");
    }
}

/// PromQL that Prometheus 2.42 rejects when it loads the rules.
const REJECTED_PROMQL: &[&str] = &[
    "limitk(2, up)",
    "limit_ratio(0.5, up)",
    "sort_by_label(up, \"job\")",
    "sort_by_label_desc(up, \"job\")",
    "info(up)",
    "mad_over_time(up[5m])",
    "double_exponential_smoothing(up[5m], 0.5, 0.5)",
    "ts_of_max_over_time(up[5m])",
    "histogram_avg(up)",
    "first_over_time(up[5m])",
    "{\"my.metric\"}",
    "up{\"a.b\"=\"c\"}",
    "sum by (\"a.b\") (up)",
    "rate(up[300])",
    "up offset 5",
    "up > 1m",
    "rate(up[1000y])",
    "up + fill(0) up",
];

/// PromQL that Prometheus 2.42 loads but refuses when the rule runs.
const REJECTED_AT_RUN_TIME: &[&str] = &[
    "label_replace(x, \"d\", \"$1\", \"s\", \"(?x).*\")",
    "count_values(\"a.b\", x)",
    "label_join(x, \"d.s\", \",\", \"s\")",
    "label_join(x, \"d\", \",\", \"a.b\")",
];

#[test]
fn promql_obsgen_rejects_promtool_rejects_too() {
    let all: Vec<&str> = REJECTED_PROMQL
        .iter()
        .chain(REJECTED_AT_RUN_TIME)
        .copied()
        .collect();
    let out = Project::with_manifest(&alerts_manifest(&all)).run(&["check"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    for (i, e) in all.iter().enumerate() {
        assert!(
            out.stderr
                .contains(&format!("= key: alerts.custom[{i}].expr")),
            "{e} not reported:\n{}",
            out.stderr
        );
    }
    assert!(
        out.stderr.contains(&format!("has {} problems", all.len())),
        "{}",
        out.stderr
    );
    let Some((promtool, _)) = tools() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (code, text) = promtool_check(&promtool, dir.path(), "rate(up[5m]) > 1");
    assert_eq!(code, 0, "{text}");
    // Evaluates label_replace on a series, and yields nothing.
    let (code, text) = promtool_eval(
        &promtool,
        dir.path(),
        "label_replace(x, \"d\", \"$1\", \"s\", \"(.*)\") > 1",
    );
    assert_eq!(code, 0, "{text}");
    for e in REJECTED_PROMQL {
        let (code, text) = promtool_check(&promtool, dir.path(), e);
        assert_ne!(code, 0, "promtool accepts {e}:\n{text}");
    }
    for e in REJECTED_AT_RUN_TIME {
        let (code, text) = promtool_check(&promtool, dir.path(), e);
        assert_eq!(code, 0, "{e}: {text}");
        let (code, text) = promtool_eval(&promtool, dir.path(), e);
        assert_ne!(code, 0, "promtool evaluates {e}:\n{text}");
    }
}

#[test]
fn promql_both_versions_accept_passes_promtool() {
    let exprs = [
        "sum(rate(http_requests_total{status=~\"5..\"}[5m])) by (service) / sum(rate(http_requests_total[5m])) by (service) > 0.05",
        "histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m]))) > 0.5",
        "up offset -5m @ 1609746000 == bool 0",
        "max_over_time(up[1h:5m] offset 1h) < 1",
        "label_replace(up, \"dst\", \"$1\", \"instance\", \"(?P<host>[^:]+):.*\") > 0",
        "count_values(\"value\", up) > 0",
        "x{a=\"5m\", b='it\\'s', c=`raw\"`} > 0x1f + 1e3 + .5",
        "absent(up{job=\"web\"}) # a comment with 5m and \"quotes\"",
        "rate(x[290y]) > 0",
    ];
    let p = Project::with_manifest(&alerts_manifest(&exprs));
    p.generate();
    let Some((promtool, _)) = tools() else {
        return;
    };
    let rules = "monitoring/prometheus/rules/custom.yml";
    let (code, text) = tool(
        Command::new(&promtool)
            .args(["check", "rules"])
            .arg(p.path().join(rules)),
    );
    assert_eq!(code, 0, "{text}\n{}", p.read(rules));
}

/// Free text that must be accepted and arrive unchanged in summaries, descriptions,
/// label values, Slack channels and e-mail display names: `$`, both quotes, `#`, `:`,
/// `%`, spaces, non-ASCII letters, `}}`, single braces, backslashes.
const FREE_TEXT: &str = "Queue $HOME ${x} 'single' \"double\" #hash a:b 50% ok  two  ünïcödé 日本 }} {one} `tick` back\\slash";

#[test]
fn free_text_arrives_unchanged_through_prometheus_and_alertmanager_templates() {
    let manifest = format!(
        r#"{HEAD}
[[receiver]]
name = "chat"
kind = "slack"
channel = {channel}
webhook_url_env = "SLACK_WEBHOOK_URL"

[[receiver]]
name = "mail"
kind = "email"
to = ["first.last+tag@example.com"]
from = "Jürgen O'Neil <jürgen@example.com>"
smarthost = "smtp.example.com:587"

[[route]]
match = {{ severity = "warning" }}
receivers = ["chat", "mail"]

[[alerts.custom]]
name = "QueueBacklog"
expr = 'sum(queue_depth) > 100'
for = "5m"
severity = "warning"
summary = {text}
description = {text}
labels = {{ team = {text} }}
"#,
        channel = toml_str(&format!("#alerts {FREE_TEXT}")),
        text = toml_str(FREE_TEXT),
    );
    let p = Project::with_manifest(&manifest);
    p.generate();
    let Some((promtool, amtool)) = tools() else {
        return;
    };
    // Prometheus: a unit test that fires the alert and expects the text verbatim.
    let test = json!({
        "rule_files": ["../rules/custom.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [{ "series": "queue_depth", "values": "200x20" }],
            "alert_rule_test": [{
                "eval_time": "10m",
                "alertname": "QueueBacklog",
                "exp_alerts": [{
                    "exp_labels": { "severity": "warning", "team": FREE_TEXT },
                    "exp_annotations": { "summary": FREE_TEXT, "description": FREE_TEXT },
                }],
            }],
        }],
    });
    p.write(
        "monitoring/prometheus/tests/free-text.test.yml",
        &test.to_string(),
    );
    let (code, text) = tool(
        Command::new(&promtool)
            .args(["test", "rules", "tests/free-text.test.yml"])
            .current_dir(p.path().join("monitoring/prometheus")),
    );
    assert_eq!(
        code,
        0,
        "{text}\n{}",
        p.read("monitoring/prometheus/rules/custom.yml")
    );
    // Alertmanager: the configuration loads, and its templated fields render to
    // themselves.
    let am = "monitoring/alertmanager/alertmanager.production.yml";
    let (code, text) = tool(
        Command::new(&amtool)
            .arg("check-config")
            .arg(p.path().join(am)),
    );
    assert_eq!(code, 0, "{text}\n{}", p.read(am));
    let config = crate::support::yaml(&p.read(am));
    let field = |receiver: &str, kind: &str, key: &str| -> String {
        config["receivers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == receiver)
            .and_then(|r| r[kind][0][key].as_str())
            .unwrap_or_else(|| panic!("{receiver}.{kind}.{key} missing"))
            .to_string()
    };
    let glob = p.path().join("empty.tmpl");
    std::fs::write(&glob, "{{ define \"x\" }}{{ end }}").unwrap();
    for (value, want) in [
        (
            field("chat", "slack_configs", "channel"),
            format!("#alerts {FREE_TEXT}"),
        ),
        (
            field("mail", "email_configs", "from"),
            "Jürgen O'Neil <jürgen@example.com>".to_string(),
        ),
        (
            field("mail", "email_configs", "to"),
            "first.last+tag@example.com".to_string(),
        ),
    ] {
        assert_eq!(value, want);
        let (code, text) = tool(
            Command::new(&amtool)
                .args(["template", "render"])
                .arg(format!("--template.glob={}", glob.display()))
                .arg(format!("--template.text={value}")),
        );
        assert_eq!(code, 0, "{text}");
        assert_eq!(text.trim_end_matches('\n'), want);
    }
    // Why `{{` is refused: the same text with it does not survive.
    let (code, _) = tool(
        Command::new(&amtool)
            .args(["template", "render"])
            .arg(format!("--template.glob={}", glob.display()))
            .arg("--template.text=#alerts {{ oops"),
    );
    assert_ne!(code, 0);
    let dir = tempfile::tempdir().unwrap();
    let rules = json!({ "groups": [{ "name": "g", "rules": [
        { "alert": "A", "expr": "up", "annotations": { "summary": "a {{ b" } }
    ]}]});
    std::fs::write(dir.path().join("r.yml"), rules.to_string()).unwrap();
    let (code, _) = tool(
        Command::new(&promtool)
            .args(["check", "rules"])
            .arg(dir.path().join("r.yml")),
    );
    assert_ne!(code, 0);
}

#[test]
fn health_paths_with_legal_punctuation_pass_obsgens_own_promtool_tests() {
    // `$`, `'`, `(`, `*`, `:`, `@`, `%20` and a query are legal in a URL path: accepted,
    // and the generated probe tests (which carry the path in the `instance` label) pass.
    let path = "/health/$x/it's(ok)*+,;=:@!~/a%20b?full=1&y=$z";
    let manifest = HEAD.replace(
        "port = 8080\n",
        &format!(
            "port = 8080\nhealth = {}\nmetrics = {{ path = {} }}\n",
            toml_str(path),
            toml_str(path)
        ),
    );
    let p = Project::with_manifest(&manifest);
    p.generate();
    let Some((promtool, _)) = tools() else {
        return;
    };
    let (code, text) = tool(
        Command::new(&promtool)
            .args(["test", "rules", "tests/services.test.yml"])
            .current_dir(p.path().join("monitoring/prometheus")),
    );
    assert_eq!(code, 0, "{text}");
    let (code, text) = tool(
        Command::new(&promtool).args(["check", "config"]).arg(
            p.path()
                .join("monitoring/prometheus/prometheus.production.yml"),
        ),
    );
    assert_eq!(code, 0, "{text}");
    let targets = p.read("monitoring/prometheus/targets/probe.yml");
    assert!(
        targets.contains("http://web:8080/health/$x/it's(ok)*+,;=:@!~/a%20b?full=1&y=$z"),
        "{targets}"
    );
}

#[test]
fn durations_stop_where_prometheus_and_alertmanager_do() {
    // Go's model.ParseDuration holds at most 1<<63-1 ns: `292y` is the last whole year.
    let manifest = |d: &str| {
        format!(
            "{}\n[[route]]\nmatch = {{ severity = \"critical\" }}\nreceivers = [\"team\"]\ngroup_wait = \"{d}\"\n",
            alerts_manifest(&["up == 0"])
        )
        .replace("severity = \"warning\"\n", &format!("severity = \"warning\"\nfor = \"{d}\"\n"))
    };
    let p = Project::with_manifest(&manifest("293y"));
    let out = p.run(&["check"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr.contains("= key: alerts.custom[0].for"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("= key: route[0].group_wait"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("longer than Prometheus and Alertmanager accept")
    );

    let p = Project::with_manifest(&manifest("292y"));
    p.generate();
    let Some((promtool, amtool)) = tools() else {
        return;
    };
    let rules = p.path().join("monitoring/prometheus/rules/custom.yml");
    let (code, text) = tool(Command::new(&promtool).args(["check", "rules"]).arg(&rules));
    assert_eq!(code, 0, "{text}");
    let am = p
        .path()
        .join("monitoring/alertmanager/alertmanager.production.yml");
    let (code, text) = tool(Command::new(&amtool).arg("check-config").arg(&am));
    assert_eq!(code, 0, "{text}");
    // One year more, written by hand: both tools refuse it.
    let over = |f: &Path| std::fs::read_to_string(f).unwrap().replace("292y", "293y");
    std::fs::write(&rules, over(&rules)).unwrap();
    std::fs::write(&am, over(&am)).unwrap();
    let (code, _) = tool(Command::new(&promtool).args(["check", "rules"]).arg(&rules));
    assert_ne!(code, 0);
    let (code, _) = tool(Command::new(&amtool).arg("check-config").arg(&am));
    assert_ne!(code, 0);
}

#[test]
fn a_huge_expression_is_refused_within_seconds() {
    // Before: a 1 MB expression kept `check` parsing for minutes.
    let expr: String = (0..40_000)
        .map(|i| format!("up{{job=\"j{i}\"}}"))
        .collect::<Vec<_>>()
        .join(" + ");
    assert!(expr.len() > 500_000);
    let p = Project::with_manifest(&alerts_manifest(&[&expr]));
    // stderr goes to a file: the report echoes the whole line, more than a pipe holds.
    let log = p.path().join("stderr.log");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("obsgen"))
        .arg("check")
        .current_dir(p.path())
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!(
                "obsgen check still runs after 20 s on a {} byte expression",
                expr.len()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("above the limit of 8192"), "{stderr}");
}

#[test]
fn reserved_and_overridden_labels_are_refused() {
    let manifest = format!(
        "{}labels = {{ __name__ = \"x\", __meta = \"y\", alertname = \"z\", severity = \"info\" }}\n\n[[route]]\nmatch = {{ __name__ = \"up\" }}\nmatch_re = {{ __x = \"a\" }}\ngroup_by = [\"__y\"]\nreceivers = [\"team\"]\n",
        alerts_manifest(&["up == 0"])
    );
    let out = Project::with_manifest(&manifest).run(&["check"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    for key in [
        "alerts.custom[0].labels.__name__",
        "alerts.custom[0].labels.__meta",
        "alerts.custom[0].labels.alertname",
        "alerts.custom[0].labels.severity",
        "route[0].match.__name__",
        "route[0].match_re.__x",
        "route[0].group_by[0]",
    ] {
        assert!(
            out.stderr.contains(&format!("= key: {key}\n")),
            "{key}:\n{}",
            out.stderr
        );
    }
}

#[test]
fn counts_and_sizes_out_of_range_are_refused() {
    let manifest = format!(
        "{HEAD}\n[environment.production]\nretention_size = \"8EB\"\nretention_time = \"1000y\"\nscrape_interval = \"99999999999999999999s\"\nlog_max_size = \"lots\"\nlog_max_file = 0\nmemory = \"8589934592g\"\n"
    );
    let out = Project::with_manifest(&manifest).run(&["check"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    for key in [
        "retention_size",
        "retention_time",
        "scrape_interval",
        "log_max_size",
        "log_max_file",
        "memory",
    ] {
        assert!(
            out.stderr
                .contains(&format!("= key: environment.production.{key}\n")),
            "{key}:\n{}",
            out.stderr
        );
    }
}
