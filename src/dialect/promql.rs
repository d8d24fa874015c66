//! PromQL as both Prometheus 2.42 and 3.5 accept it without feature flags.
//!
//! **PromQL** (at most [`MAX_EXPR_BYTES`], checked before parsing: the parser is
//! superlinear) is parsed with `promql-parser`, which knows newer syntax than 2.42, so the
//! tree is walked and the text scanned the way the 2.42 lexer (`promql/parser/lex.go`)
//! scans it: functions only from [`FUNCTIONS`] (in `promql/parser/functions.go` of both
//! v2.42.0 and v3.5.0 and not experimental in 3.5), no `limitk`/`limit_ratio`, no `fill`
//! modifiers or `or` in matchers, every regex matcher and `label_replace` regex through
//! [`check_regex`], legacy label names where 2.42 checks them at run time, durations only
//! in `[…]` and after `offset` and within Go's range, no quoted (UTF-8) metric or label
//! names, no unitless durations.

use std::time::Duration;

use promql_parser::label::{MatchOp, Matchers};
use promql_parser::parser::{BinModifier, Expr, LabelModifier, Offset, VectorMatchCardinality};

use super::re2::check_regex;
use crate::units::MAX_DURATION_MS;

/// The longest PromQL expression accepted, in bytes. Parsing time grows faster than the
/// text (400 KB took half a minute); real alert expressions are far shorter.
pub const MAX_EXPR_BYTES: usize = 8 * 1024;

/// PromQL functions of Prometheus v2.42.0 that v3.5.0 also has and does not mark
/// experimental (`promql/parser/functions.go` of both tags).
pub const FUNCTIONS: &[&str] = &[
    "abs",
    "absent",
    "absent_over_time",
    "acos",
    "acosh",
    "asin",
    "asinh",
    "atan",
    "atanh",
    "avg_over_time",
    "ceil",
    "changes",
    "clamp",
    "clamp_max",
    "clamp_min",
    "cos",
    "cosh",
    "count_over_time",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "days_in_month",
    "deg",
    "delta",
    "deriv",
    "exp",
    "floor",
    "histogram_count",
    "histogram_fraction",
    "histogram_quantile",
    "histogram_sum",
    "hour",
    "idelta",
    "increase",
    "irate",
    "label_join",
    "label_replace",
    "last_over_time",
    "ln",
    "log10",
    "log2",
    "max_over_time",
    "min_over_time",
    "minute",
    "month",
    "pi",
    "predict_linear",
    "present_over_time",
    "quantile_over_time",
    "rad",
    "rate",
    "resets",
    "round",
    "scalar",
    "sgn",
    "sin",
    "sinh",
    "sort",
    "sort_desc",
    "sqrt",
    "stddev_over_time",
    "stdvar_over_time",
    "sum_over_time",
    "tan",
    "tanh",
    "time",
    "timestamp",
    "vector",
    "year",
];

/// Functions of Prometheus 3.5 that are experimental there (behind
/// `--enable-feature=promql-experimental-functions`) and unknown to 2.42.
const EXPERIMENTAL_IN_3_5: &[&str] = &[
    "double_exponential_smoothing",
    "info",
    "mad_over_time",
    "sort_by_label",
    "sort_by_label_desc",
    "ts_of_last_over_time",
    "ts_of_max_over_time",
    "ts_of_min_over_time",
];

/// Functions of Prometheus 3.5 that 2.42 does not have.
const ONLY_IN_3: &[&str] = &["histogram_avg", "histogram_stddev", "histogram_stdvar"];

/// Aggregation operators of both versions (3.5 adds the experimental `limitk` and
/// `limit_ratio`).
const AGGREGATIONS: &[&str] = &[
    "sum",
    "avg",
    "count",
    "min",
    "max",
    "group",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "count_values",
    "quantile",
];

/// A PromQL expression both Prometheus versions cannot take: what and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromqlProblem {
    pub message: String,
    pub help: String,
}

fn problem(message: impl Into<String>, help: impl Into<String>) -> PromqlProblem {
    PromqlProblem {
        message: message.into(),
        help: help.into(),
    }
}

/// Checks a PromQL expression: size, syntax, and everything Prometheus 2.42 or 3.5 would
/// reject (see the module docs).
pub fn check_promql(expr: &str) -> Result<(), PromqlProblem> {
    if expr.len() > MAX_EXPR_BYTES {
        return Err(problem(
            format!(
                "the expression is {} bytes long, above the limit of {MAX_EXPR_BYTES}",
                expr.len()
            ),
            "split it into recording rules and alert on their result",
        ));
    }
    let tree = match promql_parser::parser::parse(expr) {
        Ok(tree) => tree,
        Err(e) => {
            match scan(expr) {
                Err(p) => return Err(p),
                Ok(Some(unknown)) => return Err(function_problem(&unknown)),
                Ok(None) => {}
            }
            return Err(problem(
                format!("PromQL does not parse: {}", e.trim()),
                "fix the expression; try it in the Prometheus UI first",
            ));
        }
    };
    scan(expr)?;
    walk(&tree)
}

const HELP_FUNCTIONS: &str = "use functions both Prometheus 2.42 (CI's promtool) and 3.5 (the generated stack) know without feature flags";

fn function_problem(name: &str) -> PromqlProblem {
    let why = if name == "holt_winters" {
        "was removed in Prometheus 3 (renamed `double_exponential_smoothing`, experimental there)"
            .to_string()
    } else if EXPERIMENTAL_IN_3_5.contains(&name) {
        "is experimental in Prometheus 3.5 (needs `--enable-feature=promql-experimental-functions`) and unknown to 2.42".to_string()
    } else if ONLY_IN_3.contains(&name) {
        "is unknown to Prometheus 2.42".to_string()
    } else if name == "limitk" || name == "limit_ratio" {
        "is an experimental aggregation of Prometheus 3.5 (needs `--enable-feature=promql-experimental-functions`) and unknown to 2.42".to_string()
    } else {
        "is not in Prometheus 2.42 or 3.5".to_string()
    };
    problem(format!("`{name}` {why}"), HELP_FUNCTIONS)
}

fn label_name(name: &str) -> bool {
    crate::units::is_label_name(name)
}

fn duration_ok(d: &Duration) -> bool {
    d.as_millis() <= MAX_DURATION_MS as u128
}

fn offset_ok(o: &Option<Offset>) -> bool {
    match o {
        Some(Offset::Pos(d) | Offset::Neg(d)) => duration_ok(d),
        None => true,
    }
}

fn too_long() -> PromqlProblem {
    problem(
        "a duration in the expression is longer than Prometheus accepts (about 292 years)",
        "use a shorter range or offset",
    )
}

fn regex_problem(re: &str, why: String) -> PromqlProblem {
    problem(
        format!("the regex `{re}` is not one Prometheus accepts: {why}"),
        "write Go RE2 syntax, which both Prometheus versions compile: (?P<name>…) groups, flags i m s U, no look-around or back-references",
    )
}

fn matchers(m: &Matchers) -> Result<(), PromqlProblem> {
    if !m.or_matchers.is_empty() {
        return Err(problem(
            "`or` between label matchers is not PromQL of Prometheus 2.42 or 3.5",
            "write two selectors joined by `or`",
        ));
    }
    for m in &m.matchers {
        if !label_name(&m.name) {
            return Err(problem(
                format!("`{}` is not a label name Prometheus 2.42 accepts", m.name),
                "use [a-zA-Z_][a-zA-Z0-9_]*",
            ));
        }
        if let MatchOp::Re(_) | MatchOp::NotRe(_) = m.op {
            check_regex(&m.value).map_err(|why| regex_problem(&m.value, why))?;
        }
    }
    Ok(())
}

fn labels(names: &[String]) -> Result<(), PromqlProblem> {
    match names.iter().find(|n| !label_name(n)) {
        Some(n) => Err(problem(
            format!("`{n}` is not a label name Prometheus 2.42 accepts"),
            "use [a-zA-Z_][a-zA-Z0-9_]*",
        )),
        None => Ok(()),
    }
}

fn string_arg(e: &Expr) -> Option<&str> {
    match e {
        Expr::StringLiteral(s) => Some(&s.val),
        Expr::Paren(p) => string_arg(&p.expr),
        _ => None,
    }
}

/// Walks the tree without recursion (an 8 KiB expression can nest thousands deep).
fn walk(tree: &Expr) -> Result<(), PromqlProblem> {
    let mut stack = vec![tree];
    while let Some(e) = stack.pop() {
        match e {
            Expr::Aggregate(a) => {
                let op = a.op.to_string();
                if !AGGREGATIONS.contains(&op.as_str()) {
                    return Err(function_problem(&op));
                }
                if let Some(LabelModifier::Include(l) | LabelModifier::Exclude(l)) = &a.modifier {
                    labels(&l.labels)?;
                }
                if op == "count_values"
                    && let Some(name) = a.param.as_deref().and_then(string_arg)
                    && !label_name(name)
                {
                    return Err(problem(
                        format!("`{name}` is not a label name Prometheus 2.42 accepts"),
                        "use [a-zA-Z_][a-zA-Z0-9_]*",
                    ));
                }
                stack.push(&a.expr);
                stack.extend(a.param.as_deref());
            }
            Expr::Unary(u) => stack.push(&u.expr),
            Expr::Binary(b) => {
                if let Some(BinModifier {
                    card,
                    matching,
                    fill_values,
                    ..
                }) = &b.modifier
                {
                    if fill_values.lhs.is_some() || fill_values.rhs.is_some() {
                        return Err(problem(
                            "`fill` modifiers are not PromQL of Prometheus 2.42 or 3.5",
                            "handle missing series with `or` instead",
                        ));
                    }
                    if let Some(LabelModifier::Include(l) | LabelModifier::Exclude(l)) = matching {
                        labels(&l.labels)?;
                    }
                    if let VectorMatchCardinality::ManyToOne(l)
                    | VectorMatchCardinality::OneToMany(l) = card
                    {
                        labels(&l.labels)?;
                    }
                }
                stack.push(&b.lhs);
                stack.push(&b.rhs);
            }
            Expr::Paren(p) => stack.push(&p.expr),
            Expr::Subquery(s) => {
                if !duration_ok(&s.range)
                    || !s.step.as_ref().is_none_or(duration_ok)
                    || !offset_ok(&s.offset)
                {
                    return Err(too_long());
                }
                stack.push(&s.expr);
            }
            Expr::NumberLiteral(_) | Expr::StringLiteral(_) => {}
            Expr::VectorSelector(v) => {
                if !offset_ok(&v.offset) {
                    return Err(too_long());
                }
                matchers(&v.matchers)?;
            }
            Expr::MatrixSelector(m) => {
                if !duration_ok(&m.range) || !offset_ok(&m.vs.offset) {
                    return Err(too_long());
                }
                matchers(&m.vs.matchers)?;
            }
            Expr::Call(c) => {
                let name = c.func.name;
                if !FUNCTIONS.contains(&name) {
                    return Err(function_problem(name));
                }
                let args: Vec<&Expr> = c.args.args.iter().map(|a| &**a).collect();
                // Prometheus 2.42 checks these label names only when the rule runs:
                // label_replace's destination, label_join's destination and sources.
                let label_args: Vec<&Expr> = match name {
                    "label_replace" => args.iter().skip(1).take(1).copied().collect(),
                    "label_join" => args
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i == 1 || *i >= 3)
                        .map(|(_, a)| *a)
                        .collect(),
                    _ => Vec::new(),
                };
                for n in label_args.into_iter().filter_map(string_arg) {
                    if !label_name(n) {
                        return Err(problem(
                            format!(
                                "`{n}` in {name}() is not a label name Prometheus 2.42 accepts"
                            ),
                            "use [a-zA-Z_][a-zA-Z0-9_]*",
                        ));
                    }
                }
                if name == "label_replace"
                    && let Some(re) = args.get(4).copied().and_then(string_arg)
                {
                    check_regex(re).map_err(|why| regex_problem(re, why))?;
                }
                stack.extend(args);
            }
            Expr::Extension(_) => {}
        }
    }
    Ok(())
}

/// A token as Prometheus 2.42's lexer sees it, as far as [`scan`] needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Start,
    LeftBrace,
    Comma,
    Offset,
    Minus,
    Other,
}

/// Scans the text as Prometheus 2.42's lexer does and rejects what `promql-parser`
/// takes but 2.42 does not: quoted (UTF-8) metric and label names, numbers where 2.42
/// wants a duration (`[5]`, `offset 5`), durations where it wants a number (`> 1m`).
/// Returns the first call of a function neither version knows (`holt_winters(`), for a
/// better message when the parser fails on it.
fn scan(expr: &str) -> Result<Option<String>, PromqlProblem> {
    let mut unknown_call = None;
    let b = expr.as_bytes();
    let mut i = 0;
    let mut prev = Tok::Start;
    let mut brace = false;
    let mut bracket = false;
    // After by/without/on/ignoring/group_left/group_right: the next `(` opens a label list.
    let mut grouping_keyword = false;
    let mut in_label_list = false;
    let quoted_name = || {
        problem(
            "quoted metric or label names (`{\"my.metric\"}`) are Prometheus 3 syntax; Prometheus 2.42 rejects them",
            "write metric and label names unquoted: [a-zA-Z_:][a-zA-Z0-9_:]*",
        )
    };
    while i < b.len() {
        let c = b[i];
        let mut tok = Tok::Other;
        let mut keyword = false;
        match c {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            c if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'"' | b'\'' | b'`' => {
                if (brace && matches!(prev, Tok::LeftBrace | Tok::Comma)) || in_label_list {
                    return Err(quoted_name());
                }
                i += 1;
                while i < b.len() && b[i] != c {
                    if b[i] == b'\\' && c != b'`' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            c if c.is_ascii_digit()
                || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                let start = i;
                let hex = b.get(start + 1).is_some_and(|x| matches!(x, b'x' | b'X'));
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.') {
                    // An exponent's sign belongs to the number (`1e+3`, not `0x1e+3`).
                    if !hex
                        && matches!(b[i], b'e' | b'E')
                        && matches!(b.get(i + 1), Some(b'+' | b'-'))
                    {
                        i += 1;
                    }
                    i += 1;
                }
                let text = &expr[start..i];
                let duration = is_duration_token(text);
                // `offset 5m`, `offset -5m` and `[5m:1m]` want durations.
                let wants_duration = bracket || matches!(prev, Tok::Offset | Tok::Minus);
                if wants_duration && !duration {
                    return Err(problem(
                        format!("`{text}` has no unit where Prometheus 2.42 wants a duration"),
                        format!("write a duration with a unit, like `{text}s` or `5m`"),
                    ));
                }
                if !wants_duration && duration {
                    return Err(problem(
                        format!(
                            "the duration `{text}` stands where Prometheus 2.42 wants a number"
                        ),
                        "write the number of seconds (`300`, not `5m`); durations go only in `[…]` and after `offset`",
                    ));
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' || (c == b':' && !bracket) => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':')
                {
                    i += 1;
                }
                let word = &expr[start..i];
                let call = expr[i..].trim_start().starts_with('(');
                let known = FUNCTIONS
                    .iter()
                    .chain(AGGREGATIONS)
                    .chain(&[
                        "by",
                        "without",
                        "on",
                        "ignoring",
                        "group_left",
                        "group_right",
                    ])
                    .chain(&[
                        "bool", "offset", "and", "or", "unless", "atan2", "start", "end",
                    ])
                    .any(|k| word.eq_ignore_ascii_case(k));
                if call && !brace && !bracket && !known && unknown_call.is_none() {
                    unknown_call = Some(word.to_string());
                }
                if !brace && !bracket {
                    if word.eq_ignore_ascii_case("offset") {
                        tok = Tok::Offset;
                    }
                    keyword = [
                        "by",
                        "without",
                        "on",
                        "ignoring",
                        "group_left",
                        "group_right",
                    ]
                    .iter()
                    .any(|k| word.eq_ignore_ascii_case(k));
                }
            }
            _ => {
                i += 1;
                match c {
                    b'{' if !bracket => {
                        brace = true;
                        tok = Tok::LeftBrace;
                    }
                    b'}' => brace = false,
                    b'[' => bracket = true,
                    b']' => bracket = false,
                    b',' if brace => tok = Tok::Comma,
                    b'-' if prev == Tok::Offset => tok = Tok::Minus,
                    b'(' if grouping_keyword => in_label_list = true,
                    b')' => in_label_list = false,
                    _ => {}
                }
            }
        }
        grouping_keyword = keyword;
        prev = tok;
    }
    Ok(unknown_call)
}

/// A duration token of the 2.42 lexer: digits and units (`5m`, `1h30m`, `500ms`).
fn is_duration_token(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    if b.is_empty() {
        return false;
    }
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start || i == b.len() || !b"smhdwy".contains(&b[i]) {
            return false;
        }
        i += 1;
        if b[i - 1] == b'm' && b.get(i) == Some(&b's') {
            i += 1;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_lists() {
        assert_eq!(FUNCTIONS.len(), 69);
        assert!(FUNCTIONS.windows(2).all(|w| w[0] < w[1]), "sorted, unique");
        for f in FUNCTIONS {
            let expr = match *f {
                "label_replace" => "label_replace(up, \"a\", \"$1\", \"b\", \"(.*)\")".into(),
                "label_join" => "label_join(up, \"a\", \",\", \"b\")".into(),
                "histogram_quantile" => format!("{f}(0.5, rate(x_bucket[5m]))"),
                "histogram_fraction" => format!("{f}(0, 0.5, rate(x_bucket[5m]))"),
                "quantile_over_time" => format!("{f}(0.5, up[5m])"),
                "predict_linear" => format!("{f}(up[5m], 60)"),
                "clamp" => format!("{f}(up, 0, 1)"),
                "clamp_max" | "clamp_min" | "round" => format!("{f}(up, 1)"),
                "pi" | "time" => format!("{f}()"),
                "vector" => format!("{f}(1)"),
                "scalar" => format!("{f}(up)"),
                f if f.ends_with("_over_time")
                    || [
                        "changes", "delta", "deriv", "idelta", "increase", "irate", "rate",
                        "resets",
                    ]
                    .contains(&f) =>
                {
                    format!("{f}(up[5m])")
                }
                _ => format!("{f}(up)"),
            };
            assert_eq!(check_promql(&expr), Ok(()), "{expr}");
        }
        for f in EXPERIMENTAL_IN_3_5.iter().chain(ONLY_IN_3) {
            let err = check_promql(&format!("{f}(up)")).unwrap_err();
            assert!(err.message.contains(f), "{f}: {err:?}");
        }
        for agg in ["limitk(2, up)", "limit_ratio(0.5, up)"] {
            let err = check_promql(agg).unwrap_err();
            assert!(err.message.contains("experimental aggregation"), "{err:?}");
        }
        for (expr, why) in [
            ("holt_winters(up[5m], 0.5, 0.5)", "removed in Prometheus 3"),
            ("first_over_time(up[5m])", "not in Prometheus 2.42 or 3.5"),
            ("step()", "not in Prometheus 2.42 or 3.5"),
        ] {
            let err = check_promql(expr).unwrap_err();
            assert!(err.message.contains(why), "{expr}: {err:?}");
        }
    }

    #[test]
    fn promql_that_2_42_rejects() {
        for (expr, why) in [
            ("x{a=~\"(?x)b\"}", "flag"),
            ("x{a!~\"(?<n>b)\"}", "(?P<"),
            ("label_replace(x, \"d\", \"$1\", \"s\", \"(?x).*\")", "flag"),
            (
                "label_replace(x, \"d.s\", \"$1\", \"s\", \"(.*)\")",
                "label name",
            ),
            ("count_values(\"a.b\", x)", "label name"),
            ("{\"my.metric\"}", "quoted"),
            ("{\"my_metric\"}", "quoted"),
            ("x{\"a.b\"=\"c\"}", "quoted"),
            ("x{a=\"b\", \"c\"=\"d\"}", "quoted"),
            ("sum by (\"a.b\") (x)", "quoted"),
            ("x * on(\"a\") group_left y", "quoted"),
            ("x[5]", "no unit"),
            ("x[5m:1]", "no unit"),
            ("x offset 5", "no unit"),
            ("x offset -5", "no unit"),
            ("1m", "wants a number"),
            ("x > 1m", "wants a number"),
            ("x[1000y]", "292 years"),
            ("x offset 300y", "292 years"),
            ("x + fill(0) y", "fill"),
            ("x{a=\"b\" or c=\"d\"}", "or"),
        ] {
            let err = check_promql(expr).expect_err(expr);
            assert!(err.message.contains(why), "{expr}: {err:?} lacks {why:?}");
        }
    }

    #[test]
    fn promql_both_versions_accept() {
        for expr in [
            "sum(shop_checkout_queue_depth) > 100",
            "x offset 5m",
            "x offset -5m",
            "x[ 5m ]",
            "x[5m :1m]",
            "x[5m:1m] offset 1m",
            "x[1d:]",
            "x[1h30m]",
            "x[290y]",
            "rate(x[5m])[1h:]",
            "0x1f + 1e3 + 1e+3 + .5 + 5. + Inf + NaN",
            "x{a=~\"a\",}",
            "sum(x) by (a,)",
            "sum without () (x)",
            "count_values(\"l\", x)",
            "label_replace(x, \"dst\", \"$1\", \"src\", \"(.*)\")",
            "label_join(x, \"dst\", \",\", \"a\", \"b\")",
            "topk(3, x) and on(a) y",
            "x * on(a) group_left(b) y",
            "x * ignoring(a) group_right y",
            "x @ 1609746000",
            "x @ start()",
            "x[5m] @ end()",
            "x offset 1h @ 100",
            "x == bool 1",
            "x # a comment with \"quotes\" and 5m",
            "x{a=\"5m\", b='it\\'s'} > 5",
            "{__name__=~\"http_.*\", job=\"api\"}",
            "x{a=~\"\\\\d+\", b!~'\\\\p{Greek}'}",
            "histogram_quantile(0.95, sum by (le) (rate(x_bucket[5m]))) > 0.5",
            "-(-x) + +x - -1",
        ] {
            assert_eq!(check_promql(expr), Ok(()), "{expr}");
        }
    }

    #[test]
    fn huge_expressions_are_refused_before_parsing() {
        let expr = "up + ".repeat(2000) + "up";
        let t = std::time::Instant::now();
        let err = check_promql(&expr).unwrap_err();
        assert!(err.message.contains("above the limit of 8192"), "{err:?}");
        assert!(t.elapsed() < Duration::from_millis(50));
        // Deep unary chains are walked without recursion.
        let deep = "-".repeat(MAX_EXPR_BYTES - 1) + "x";
        assert_eq!(check_promql(&deep), Ok(()));
    }
}
