//! Loading the manifest: TOML text → [`Manifest`], with every problem of the document's
//! form reported at once, each with its location and key, and a [`SpanMap`] kept so
//! later semantic checks can point at the key they concern. Loading has three stages:
//!
//! 1. **Syntax.** Every TOML syntax error, and every dotted key of more than
//!    [`MAX_KEY_PARTS`] parts (the TOML parser reports a very deep one without a
//!    location). Nothing else can be checked without a syntax tree: syntax errors end
//!    loading.
//! 2. **Shape.** The document is walked against `T`'s JSON Schema: unknown keys, wrong
//!    types, numbers out of range, values outside an enumeration and missing keys; and
//!    every key and string value, wherever it is, for text no output can carry
//!    unchanged: control-like characters ([`forbidden_char`]; line breaks and tabs
//!    only in the [`MULTILINE`] fields) and keys over [`MAX_KEY_BYTES`] bytes.
//! 3. **Reading.** serde reads the document with what stage 2 rejected left out where
//!    serde can do without it: unknown or unusable keys, and optional values that hold
//!    no table and have the wrong type, range or enumeration value (`health = 3`). A
//!    missing or wrong required key, or a wrong table, leaves nothing serde can build:
//!    the semantic checks then wait for it to be fixed.
//!
//! [`parse_then`] runs the semantic checks ([`crate::validate`]) on what stage 3 read
//! and reports their problems together with stage 2's, sorted by position. The stages
//! depend on each other only as said above. A semantic problem is dropped when it may
//! only follow from a stage-2 problem:
//!
//! - about a value stage 2 reported already (`value contains a NEL line break`);
//! - about the table that held an unknown key (`service has neither image nor build`
//!   next to `unknown key source`);
//! - about anything in the top-level section (`service`, `route`, …) of a value that
//!   had to be left out — a wrongly typed value, or a misspelt key whose right spelling
//!   is not set — since the semantic checks relate the values of a section (host
//!   ports, route order). A value left out of `[project]` drops every semantic
//!   problem: all sections depend on the project's environments and profile.
//!
//! Loading takes time and memory linear in the size of the text: the parser bounds
//! nesting, and keys and dotted keys have a size limit.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diag::{Diagnostic, Diagnostics, Source, escape_controls, is_control_like, suggest};
use crate::manifest::Manifest;

/// Longest key, in bytes. No key of the manifest needs more (names, labels and
/// variables are far shorter); a longer one is hostile or a mistake.
pub const MAX_KEY_BYTES: usize = 256;

/// Most parts of one dotted key (`a.b.c` has three). No manifest key is nested more
/// than a few levels deep.
pub const MAX_KEY_PARTS: usize = 32;

/// The fields whose text may hold line breaks and tabs (`[]` stands for any index, `*`
/// for any key): a PromQL expression (whitespace to PromQL), an alert's description
/// (prose, shown as written), and what a container gets verbatim — its environment
/// values (a PEM block, JSON) and the arguments of its commands (a `sh -c` script).
/// Every other value is one line.
pub const MULTILINE: [&str; 6] = [
    "alerts.custom[].expr",
    "alerts.custom[].description",
    "service[].env.*",
    "service[].command[]",
    "service[].health_cmd[]",
    "service[].dev.command[]",
];

/// Whether the value at `path` (`service[2].env.PEM`) is one of the [`MULTILINE`] fields.
pub fn is_multiline(path: &str) -> bool {
    let path = generic_path(path);
    MULTILINE.iter().any(|pattern| {
        let mut parts = path.split('.');
        pattern
            .split('.')
            .all(|want| parts.next().is_some_and(|got| want == "*" || want == got))
            && parts.next().is_none()
    })
}

/// Whether text in a manifest may not hold `c`: any [`is_control_like`] character,
/// except tab and line feed where `multiline`. These do not pass unchanged through the
/// YAML, shell, Compose and PromQL files obsgen writes (YAML 1.1 readers such as the Go
/// tools read U+0085 and U+2028 as line breaks; DEL, C1 controls and noncharacters are
/// not allowed in YAML at all).
pub fn forbidden_char(c: char, multiline: bool) -> bool {
    is_control_like(c) && !(multiline && matches!(c, '\n' | '\t'))
}

/// What the character is, for messages: `a NEL line break (U+0085)`.
fn char_name(c: char) -> String {
    let n = c as u32;
    let what = match c {
        '\n' => "a line break",
        '\t' => "a tab",
        '\r' => "a carriage return",
        '\0' => "a NUL character",
        '\u{7f}' => "a DEL control character",
        '\u{85}' => "a NEL line break",
        '\u{2028}' => "a line separator",
        '\u{2029}' => "a paragraph separator",
        '\u{feff}' => "a byte-order mark",
        _ if n < 0x20 => "a control character",
        _ if (0x80..0xa0).contains(&n) => "a C1 control character",
        _ => "a Unicode noncharacter",
    };
    format!("{what} (U+{n:04X})")
}

/// Help for a forbidden character found in a value (`multiline`: of a [`MULTILINE`]
/// field) or a key.
fn char_help(c: char, multiline: bool) -> String {
    match c {
        '\r' if multiline => "a line ends with a line break (`\\n`) alone; remove the carriage return".into(),
        '\n' | '\t' => "this value is one line; line breaks and tabs are for `expr` and `description` of [[alerts.custom]], and a service's `env` values and command arguments".into(),
        _ => "remove it: control characters, Unicode line separators and noncharacters do not pass through YAML, shell and Compose files unchanged".into(),
    }
}

/// A key for display: escaped, and cut to 32 characters when it is over-long.
fn key_shown(key: &str) -> String {
    if key.len() > MAX_KEY_BYTES {
        let head: String = key.chars().take(32).collect();
        format!("{}…", escape_controls(&head))
    } else {
        escape_controls(key)
    }
}

/// A string value for messages: on one line, escaped, cut to 60 characters.
fn text_shown(text: &str) -> String {
    let mut head: String = text.chars().take(60).collect();
    if head.len() < text.len() {
        head.push('…');
    }
    escape_controls(&head.replace('\n', "\\n").replace('\t', "\\t"))
}

/// `service[3].env` → `service[].env`: a path with its indices left out, for [`MULTILINE`].
fn generic_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

/// Byte spans of every key and value of a TOML document, by key path.
#[derive(Debug, Clone, Default)]
pub struct SpanMap {
    root: Node,
}

#[derive(Debug, Clone, Default)]
struct Node {
    key: Option<Range<usize>>,
    value: Option<Range<usize>>,
    children: BTreeMap<String, Node>,
    items: Vec<Node>,
}

/// One step of a key path: `service[1].port` is `service`, `[1]`, `port`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// Splits a key path (`service[2].env.PEM`, `alerts.custom[0].labels."a.b"`) into its
/// segments; a key written by [`key_path`] in quotes may hold `.`, `[` and `"`.
fn parse_path(path: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    let mut chars = path.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            '.' => {
                chars.next();
            }
            '[' => {
                chars.next();
                let digits: String = chars.by_ref().take_while(|c| *c != ']').collect();
                if let Ok(i) = digits.parse() {
                    segs.push(Seg::Index(i));
                }
            }
            '"' => {
                chars.next();
                let mut key = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => key.extend(chars.next()),
                        '"' => break,
                        c => key.push(c),
                    }
                }
                segs.push(Seg::Key(key));
            }
            _ => {
                let mut key = String::new();
                while let Some(&c) = chars.peek() {
                    if c == '.' || c == '[' {
                        break;
                    }
                    key.push(c);
                    chars.next();
                }
                segs.push(Seg::Key(key));
            }
        }
    }
    segs
}

/// The path of `key` below `parent` as [`SpanMap`] reads it: a bare key as it is, any
/// other (a user's label or variable name holding `.`, `[`, quotes, spaces) quoted.
pub fn key_path(parent: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_string()
    } else {
        format!("\"{}\"", key.replace('\\', "\\\\").replace('"', "\\\""))
    };
    if parent.is_empty() {
        key
    } else {
        format!("{parent}.{key}")
    }
}

impl SpanMap {
    fn build(table: &Spanned<DeTable<'_>>) -> Self {
        SpanMap {
            root: node_of_table(table.get_ref(), None, Some(table.span())),
        }
    }

    fn walk(&self, path: &str) -> Vec<&Node> {
        let mut trail = vec![&self.root];
        for seg in parse_path(path) {
            let cur = *trail.last().unwrap();
            let next = match seg {
                Seg::Key(k) => cur.children.get(&k),
                Seg::Index(i) => cur.items.get(i),
            };
            match next {
                Some(n) => trail.push(n),
                None => break,
            }
        }
        trail
    }

    /// Span of the value at `path`, or of the deepest part of the path that exists.
    pub fn value(&self, path: &str) -> Option<Range<usize>> {
        self.walk(path).iter().rev().find_map(|n| n.value.clone())
    }

    /// Span of the key at `path` (for "unknown key"-style problems), else of its value.
    pub fn key(&self, path: &str) -> Option<Range<usize>> {
        self.walk(path)
            .iter()
            .rev()
            .find_map(|n| n.key.clone().or_else(|| n.value.clone()))
    }

    /// Key path of the deepest key or value that contains byte `offset`
    /// (`service[1].port`), for errors that come with a span but no key.
    pub fn path_at(&self, offset: usize) -> Option<String> {
        fn inside(r: &Option<Range<usize>>, offset: usize) -> bool {
            r.as_ref()
                .is_some_and(|r| r.start <= offset && offset < r.end.max(r.start + 1))
        }
        fn walk(node: &Node, offset: usize, path: String) -> Option<String> {
            for (k, child) in &node.children {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                // `[[service]]` tables: items have their own spans (checked first, since
                // every item's header repeats the key).
                for (i, item) in child.items.iter().enumerate() {
                    let hit = inside(&item.value, offset)
                        || item
                            .children
                            .values()
                            .any(|c| inside(&c.key, offset) || inside(&c.value, offset));
                    if hit {
                        let ip = format!("{p}[{i}]");
                        return walk(item, offset, ip.clone()).or(Some(ip));
                    }
                }
                if inside(&child.key, offset) || inside(&child.value, offset) {
                    return walk(child, offset, p.clone()).or(Some(p));
                }
            }
            None
        }
        walk(&self.root, offset, String::new())
    }

    /// Whether the exact path is present in the document.
    pub fn has(&self, path: &str) -> bool {
        self.walk(path).len() == parse_path(path).len() + 1
    }
}

fn node_of_value(v: &Spanned<DeValue<'_>>, key: Option<Range<usize>>) -> Node {
    match v.get_ref() {
        DeValue::Table(t) => node_of_table(t, key, Some(v.span())),
        DeValue::Array(items) => Node {
            key,
            value: Some(v.span()),
            items: items.iter().map(|i| node_of_value(i, None)).collect(),
            ..Node::default()
        },
        _ => Node {
            key,
            value: Some(v.span()),
            ..Node::default()
        },
    }
}

fn node_of_table(t: &DeTable<'_>, key: Option<Range<usize>>, span: Option<Range<usize>>) -> Node {
    let children = t
        .iter()
        .map(|(k, v)| (k.get_ref().to_string(), node_of_value(v, Some(k.span()))))
        .collect();
    // A table header (`[[service]]`) spans only the header; use the key span as its value span
    // when the table itself has none.
    Node {
        value: span.filter(|s| !s.is_empty()).or(key.clone()),
        key,
        children,
        items: Vec::new(),
    }
}

/// A parsed manifest with the source text and spans it came from.
#[derive(Debug, Clone)]
pub struct Loaded<T = Manifest> {
    pub value: T,
    pub source: Source,
    pub spans: SpanMap,
}

/// What loading found: every problem, and — when serde could read the document with the
/// rejected values left out — the value read, for the semantic checks.
struct Report<T> {
    source: Source,
    spans: SpanMap,
    problems: Vec<Diagnostic>,
    value: Option<T>,
    covers: Vec<Cover>,
}

/// Later problems that only follow from a load problem (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cover {
    /// Problems about the table at this path itself (`service[0]`): it held an unknown
    /// key.
    Table(String),
    /// Problems about this value, or anything below it: it was reported already.
    Value(String),
    /// Problems anywhere in this top-level section (`service`): a value in it had to be
    /// left out, and the semantic checks relate the values of a section (ports, route
    /// order). A value left out of `[project]` covers everything: every section depends
    /// on the project's environments, profile and templates.
    Section(String),
}

impl Cover {
    fn covers(&self, key: Option<&str>) -> bool {
        fn below(key: &str, path: &str) -> bool {
            key == path
                || key
                    .strip_prefix(path)
                    .is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
        }
        match (self, key) {
            (Cover::Section(s), _) if s == "project" => true,
            (_, None) => false,
            (Cover::Table(p), Some(k)) => k == p,
            (Cover::Value(p) | Cover::Section(p), Some(k)) => below(k, p),
        }
    }

    /// The top-level section of a path: `service[0].env.A` → `service`.
    fn section(path: &str) -> Cover {
        let end = path.find(['.', '[']).unwrap_or(path.len());
        Cover::Section(path[..end].to_string())
    }
}

/// Parses TOML text into `T`: syntax errors (all of them), then every problem of the
/// document's form (unknown keys, types, ranges, enumerations, missing keys, forbidden
/// characters, over-long keys), each located. Any problem is an error.
pub fn parse<T: DeserializeOwned + schemars::JsonSchema>(
    source: Source,
) -> Result<Loaded<T>, Diagnostics> {
    parse_then(source, |_| Vec::new())
}

/// [`parse`], then the semantic checks `semantic` on the value read — also when the
/// load found problems but serde could read the document around them. The problems
/// of both come back together, in source order (see the module doc).
pub fn parse_then<T: DeserializeOwned + schemars::JsonSchema>(
    source: Source,
    semantic: impl FnOnce(&Loaded<T>) -> Vec<Diagnostic>,
) -> Result<Loaded<T>, Diagnostics> {
    let report = check::<T>(source)?;
    let Some(value) = report.value else {
        return Err(Diagnostics::new(report.source, report.problems));
    };
    let loaded = Loaded {
        value,
        source: report.source,
        spans: report.spans,
    };
    let mut problems = report.problems;
    let covers = report.covers;
    problems.extend(
        semantic(&loaded)
            .into_iter()
            .filter(|d| !covers.iter().any(|c| c.covers(d.key.as_deref()))),
    );
    if problems.is_empty() {
        Ok(loaded)
    } else {
        Err(Diagnostics::new(loaded.source, problems))
    }
}

/// Stages 1–3 of the module doc. `Err` for syntax errors.
fn check<T: DeserializeOwned + schemars::JsonSchema>(
    source: Source,
) -> Result<Report<T>, Diagnostics> {
    let (doc, errors) = DeTable::parse_recoverable(&source.text);
    let deep = deep_dotted_keys(&source.text);
    if !errors.is_empty() || !deep.is_empty() {
        let mut items: Vec<Diagnostic> = errors
            .iter()
            // The parser's own report of a too-deep dotted key has no location; `deep`
            // has it with one.
            .filter(|e| deep.is_empty() || e.span().is_some())
            .map(|e| {
                Diagnostic::new(format!("TOML syntax: {}", e.message().trim_end()))
                    .span(e.span())
                    .help("fix the TOML syntax; see https://toml.io for the format")
            })
            .collect();
        items.extend(deep);
        return Err(Diagnostics::new(source, items));
    }
    let spans = SpanMap::build(&doc);
    let schema = serde_json::to_value(schemars::schema_for!(T)).expect("schema serializes");
    let mut shape = Shape {
        root: &schema,
        spans: &spans,
        out: Vec::new(),
        covers: Vec::new(),
    };
    let doc_span = doc.span();
    let mut table = doc.into_inner();
    let readable = shape.table(&schema, &mut table, "", doc_span.clone());
    let Shape {
        out: mut problems,
        covers,
        ..
    } = shape;
    let value = if readable {
        match T::deserialize(toml::de::Deserializer::from(Spanned::new(doc_span, table))) {
            Ok(v) => Some(v),
            Err(e) => {
                // Something the schema walk does not know about: serde's own report.
                if !problems.iter().any(|d| d.span == e.span()) {
                    problems.push(serde_problem(&e, &spans));
                }
                None
            }
        }
    } else {
        None
    };
    Ok(Report {
        source,
        spans,
        problems,
        value,
        covers,
    })
}

/// A serde error as a diagnostic, in the manifest's terms.
fn serde_problem(e: &toml::de::Error, spans: &SpanMap) -> Diagnostic {
    let msg = e.message().trim_end().to_string();
    let help = if msg.starts_with("missing field") {
        "add the missing key; `obsgen schema` prints every key and its type"
    } else {
        "`obsgen schema` prints every key and the type it expects"
    };
    let key = e.span().and_then(|sp| spans.path_at(sp.start));
    let msg = friendlier(&msg);
    let msg = match (&key, msg.starts_with("missing field")) {
        (Some(k), true) => format!("{msg} in [{k}]"),
        _ => msg,
    };
    let mut d = Diagnostic::new(msg).span(e.span()).help(help);
    d.key = key;
    d
}

/// serde's wording, in the manifest's terms (`u16` → "a port number 0-65535").
fn friendlier(msg: &str) -> String {
    msg.replace(
        "expected u16",
        "expected a whole number from 0 to 65535 (a port)",
    )
    .replace("expected u32", "expected a whole number")
    .replace("expected f64", "expected a number")
    .replace("expected a boolean", "expected true or false")
    .replace("invalid type: ", "wrong type: ")
    .replace("invalid value: ", "bad value: ")
    .replace("a sequence", "a list")
    .replace("expected a string", "expected a string in quotes")
}

/// Every dotted key of more than [`MAX_KEY_PARTS`] parts, located, from the TOML
/// parser's events (table headers, keys of key/value pairs and of inline tables).
fn deep_dotted_keys(text: &str) -> Vec<Diagnostic> {
    use toml_parser::parser::{Event, EventKind, RecursionGuard, parse_document};

    fn flush(out: &mut Vec<Diagnostic>, run: Option<(usize, usize, usize)>) {
        if let Some((start, end, parts)) = run
            && parts > MAX_KEY_PARTS
        {
            out.push(
                Diagnostic::new(format!(
                    "dotted key has {parts} parts (at most {MAX_KEY_PARTS})"
                ))
                .span(Some(start..end))
                .help(
                    "no manifest key is nested that deep; write a `[table]` header and short keys",
                ),
            );
        }
    }

    let source = toml_parser::Source::new(text);
    let tokens = source.lex().into_vec();
    let mut out = Vec::new();
    // The dotted key being read: start, end, parts; and whether a `.` came last.
    let mut run: Option<(usize, usize, usize)> = None;
    let mut after_dot = false;
    let mut receiver = |e: Event| {
        let span = e.span();
        match e.kind() {
            EventKind::SimpleKey => {
                match run.as_mut() {
                    Some(r) if after_dot => {
                        r.1 = span.end();
                        r.2 += 1;
                    }
                    _ => {
                        flush(&mut out, run.take());
                        run = Some((span.start(), span.end(), 1));
                    }
                }
                after_dot = false;
            }
            EventKind::KeySep => after_dot = true,
            EventKind::Whitespace => {}
            _ => {
                flush(&mut out, run.take());
                after_dot = false;
            }
        }
    };
    // The same nesting bound as `toml`'s parser.
    let mut guarded = RecursionGuard::new(&mut receiver, 80);
    parse_document(&tokens, &mut guarded, &mut ());
    flush(&mut out, run.take());
    out
}

/// The kind of value a schema asks for.
#[derive(Debug, Clone, Copy)]
enum Expect<'a> {
    /// A table: a struct (`properties`) or a map (`additionalProperties`).
    Table(&'a Json),
    List(Option<&'a Json>),
    /// A string, maybe one of an enumeration.
    Str(Option<&'a [Json]>, Option<&'a [Json]>),
    Int(i128, i128),
    Num,
    Bool,
    /// Anything the walk does not model: serde decides.
    Any,
}

impl Expect<'_> {
    /// The enumeration's values, when the schema has one.
    fn choices(&self) -> Option<Vec<&str>> {
        let Expect::Str(values, branches) = self else {
            return None;
        };
        if let Some(values) = values {
            return Some(values.iter().filter_map(Json::as_str).collect());
        }
        branches.map(|bs| {
            bs.iter()
                .flat_map(|b| {
                    b.get("const")
                        .into_iter()
                        .chain(b.get("enum").and_then(Json::as_array).into_iter().flatten())
                })
                .filter_map(Json::as_str)
                .collect()
        })
    }

    /// "a whole number from 0 to 65535 (a port)": what serde would have expected.
    fn describe(&self) -> String {
        match self {
            Expect::Table(_) => "a table".into(),
            Expect::List(_) => "a list".into(),
            Expect::Str(..) => match self.choices() {
                Some(c) => format!("one of {}", or_list(&c)),
                None => "a string in quotes".into(),
            },
            Expect::Int(0, 65535) => "a whole number from 0 to 65535 (a port)".into(),
            Expect::Int(min, max) => format!("a whole number from {min} to {max}"),
            Expect::Num => "a number".into(),
            Expect::Bool => "true or false".into(),
            Expect::Any => "another value".into(),
        }
    }
}

/// "`a`, `b` or `c`".
fn or_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}

/// "string \"http\"", "integer `5`": what was found, in serde's words.
fn found(v: &DeValue<'_>) -> String {
    match v {
        DeValue::String(s) => format!("string \"{}\"", text_shown(s).replace('"', "\\\"")),
        DeValue::Integer(i) => match i128::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => format!("integer `{n}`"),
            Err(_) => format!("integer `{}`", text_shown(i.as_str())),
        },
        DeValue::Float(f) => format!("floating point `{}`", text_shown(f.as_str())),
        DeValue::Boolean(b) => format!("boolean `{b}`"),
        DeValue::Datetime(d) => format!("date-time `{d}`"),
        DeValue::Array(_) => "a list".into(),
        DeValue::Table(_) => "a table".into(),
    }
}

/// Follows `$ref`, and `anyOf`/`oneOf` with a `null` branch (an `Option<T>`) to the
/// other branch.
fn resolve<'a>(root: &'a Json, schema: &'a Json) -> &'a Json {
    let mut s = schema;
    for _ in 0..16 {
        if let Some(r) = s.get("$ref").and_then(Json::as_str) {
            let name = r.rsplit('/').next().unwrap_or("");
            match root.get("$defs").and_then(|d| d.get(name)) {
                Some(t) => {
                    s = t;
                    continue;
                }
                None => return s,
            }
        }
        if let Some(branches) = s
            .get("anyOf")
            .or_else(|| s.get("oneOf"))
            .and_then(Json::as_array)
        {
            let is_null = |b: &Json| b.get("type").and_then(Json::as_str) == Some("null");
            let others: Vec<&Json> = branches.iter().filter(|b| !is_null(b)).collect();
            if others.len() == 1 && others.len() < branches.len() {
                s = others[0];
                continue;
            }
        }
        return s;
    }
    s
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// Stage 2: the walk of the document against the schema. Values that serde can do
/// without are removed from the document as the walk finds them.
struct Shape<'a> {
    root: &'a Json,
    spans: &'a SpanMap,
    out: Vec<Diagnostic>,
    covers: Vec<Cover>,
}

impl<'a> Shape<'a> {
    fn expect(&self, schema: &'a Json) -> Expect<'a> {
        let s = resolve(self.root, schema);
        let enum_values = s.get("enum").and_then(Json::as_array).map(Vec::as_slice);
        let branches = s.get("oneOf").and_then(Json::as_array).map(Vec::as_slice);
        if branches.is_some_and(|bs| {
            bs.iter()
                .all(|b| b.get("const").is_some_and(Json::is_string) || b.get("enum").is_some())
        }) || enum_values.is_some()
        {
            return Expect::Str(enum_values, branches);
        }
        let ty = match s.get("type") {
            Some(Json::String(t)) => t.as_str(),
            Some(Json::Array(ts)) => ts
                .iter()
                .filter_map(Json::as_str)
                .find(|t| *t != "null")
                .unwrap_or(""),
            _ if s.get("properties").is_some() => "object",
            _ => "",
        };
        match ty {
            "object" => Expect::Table(s),
            "array" => Expect::List(s.get("items")),
            "string" => Expect::Str(None, None),
            "number" => Expect::Num,
            "boolean" => Expect::Bool,
            "integer" => {
                let (lo, hi) = match s.get("format").and_then(Json::as_str) {
                    Some("uint8") => (0, u8::MAX.into()),
                    Some("uint16") => (0, u16::MAX.into()),
                    Some("uint32") => (0, u32::MAX.into()),
                    Some("uint64") => (0, u64::MAX.into()),
                    Some("int8") => (i8::MIN.into(), i8::MAX.into()),
                    Some("int16") => (i16::MIN.into(), i16::MAX.into()),
                    Some("int32") => (i32::MIN.into(), i32::MAX.into()),
                    _ => (i64::MIN.into(), i64::MAX.into()),
                };
                let bound =
                    |k: &str, d: i128| s.get(k).and_then(Json::as_i64).map_or(d, i128::from);
                Expect::Int(bound("minimum", lo).max(lo), bound("maximum", hi).min(hi))
            }
            _ => Expect::Any,
        }
    }

    /// Whether a value of this schema can be left out for serde (its default applies)
    /// without anything else depending on it: scalars, and lists and maps of them.
    fn leafy(&self, schema: &'a Json) -> bool {
        match self.expect(schema) {
            Expect::Table(s) => {
                s.get("properties").is_none()
                    && s.get("additionalProperties")
                        .is_some_and(|a| a.is_object() && self.leafy(a))
            }
            Expect::List(Some(items)) => self.leafy(items),
            Expect::List(None) => true,
            Expect::Any => false,
            _ => true,
        }
    }

    fn problem(&mut self, message: String, path: &str, span: Range<usize>, help: String) {
        self.out.push(
            Diagnostic::new(message)
                .key(path)
                .span(Some(span))
                .help(help),
        );
    }

    /// Checks a table; false when serde could not read it.
    fn table(
        &mut self,
        schema: &'a Json,
        t: &mut DeTable<'_>,
        path: &str,
        span: Range<usize>,
    ) -> bool {
        let Expect::Table(schema) = self.expect(schema) else {
            return true;
        };
        let props = schema.get("properties").and_then(Json::as_object);
        let additional = schema.get("additionalProperties");
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Json::as_array)
            .map(|r| r.iter().filter_map(Json::as_str).collect())
            .unwrap_or_default();
        let mut readable = true;
        let mut leave_out = BTreeSet::new();
        let t_keys: BTreeSet<String> = t.iter().map(|(k, _)| k.get_ref().to_string()).collect();
        for (k, v) in t.iter_mut() {
            let key: &str = k.get_ref();
            let key_span = k.span();
            if let Some((message, help)) = key_problem(key) {
                self.out.push(
                    Diagnostic::new(message)
                        .key(join(path, &key_shown(key)))
                        .span(Some(key_span))
                        .help(help),
                );
                self.covers.push(Cover::Table(path.to_string()));
                leave_out.insert(key.to_string());
                continue;
            }
            let child_path = join(path, key);
            let child_schema = match props.and_then(|p| p.get(key)) {
                Some(s) => s,
                None => match additional {
                    Some(Json::Bool(false)) => {
                        let known: Vec<&str> = props
                            .map(|p| p.keys().map(String::as_str).collect())
                            .unwrap_or_default();
                        let table = if path.is_empty() {
                            "the top level".to_string()
                        } else {
                            format!("[{path}]")
                        };
                        let meant = suggest(key, known.iter().copied());
                        let help = match meant {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!("known keys here: {}", known.join(", ")),
                        };
                        self.problem(
                            format!("unknown key `{key}` in {table}"),
                            &child_path,
                            key_span,
                            help,
                        );
                        // A misspelt key that is not also set: its value is meant for
                        // that key, so the checks run without a value the user gave.
                        self.covers.push(match meant {
                            Some(m) if t_keys.contains(m) => Cover::Table(path.to_string()),
                            Some(_) => Cover::section(&child_path),
                            None => Cover::Table(path.to_string()),
                        });
                        leave_out.insert(key.to_string());
                        continue;
                    }
                    Some(s @ Json::Object(_)) => s,
                    _ => {
                        self.texts(v, &child_path);
                        continue;
                    }
                },
            };
            if !self.value(child_schema, v, &child_path) {
                if required.contains(&key) || !self.leafy(child_schema) {
                    readable = false;
                } else {
                    self.covers.push(Cover::section(&child_path));
                    leave_out.insert(key.to_string());
                }
            }
        }
        for name in &required {
            if t.get(*name).is_none() {
                let message = if path.is_empty() {
                    format!("missing field `{name}`")
                } else {
                    format!("missing field `{name}` in [{path}]")
                };
                let mut d = Diagnostic::new(message)
                    .span(self.spans.value(path).or(Some(span.clone())))
                    .help("add the missing key; `obsgen schema` prints every key and its type");
                if !path.is_empty() {
                    d = d.key(path);
                }
                self.out.push(d);
                readable = false;
            }
        }
        for key in &leave_out {
            t.remove(key.as_str());
        }
        readable
    }

    /// Checks one value; false when serde could not read it (it has been reported).
    fn value(&mut self, schema: &'a Json, v: &mut Spanned<DeValue<'_>>, path: &str) -> bool {
        let expect = self.expect(schema);
        let span = v.span();
        let wrong = |v: &DeValue<'_>| {
            (
                format!("wrong type: {}, expected {}", found(v), expect.describe()),
                "`obsgen schema` prints every key and the type it expects".to_string(),
            )
        };
        let problem = match (expect, v.get_mut()) {
            (Expect::Any, _) => {
                self.texts(v, path);
                return true;
            }
            (Expect::Table(_), DeValue::Table(t)) => return self.table(schema, t, path, span),
            (Expect::List(items), DeValue::Array(list)) => {
                let mut readable = true;
                for (i, item) in list.iter_mut().enumerate() {
                    let item_path = format!("{path}[{i}]");
                    readable &= match items {
                        Some(items) => self.value(items, item, &item_path),
                        None => {
                            self.texts(item, &item_path);
                            true
                        }
                    };
                }
                return readable;
            }
            (Expect::Str(..), DeValue::String(s)) => match expect.choices() {
                Some(choices) if !choices.contains(&s.as_ref()) => {
                    let help = match suggest(s, choices.iter().copied()) {
                        Some(c) => format!("did you mean `{c}`?"),
                        None => format!("write one of {}", or_list(&choices)),
                    };
                    (
                        format!(
                            "unknown value `{}`, expected one of {}",
                            text_shown(s),
                            or_list(&choices)
                        ),
                        help,
                    )
                }
                _ => {
                    self.text(s, path, span);
                    return true;
                }
            },
            (Expect::Int(lo, hi), DeValue::Integer(i)) => {
                match i128::from_str_radix(i.as_str(), i.radix()) {
                    Ok(n) if (lo..=hi).contains(&n) => return true,
                    _ => (
                        format!(
                            "bad value: {}, expected {}",
                            found(v.get_ref()),
                            expect.describe()
                        ),
                        "`obsgen schema` prints every key and the type it expects".to_string(),
                    ),
                }
            }
            (Expect::Num, DeValue::Float(_)) | (Expect::Bool, DeValue::Boolean(_)) => {
                return true;
            }
            (Expect::Num, DeValue::Integer(i)) => {
                // serde reads an integer as a number only within 64 bits.
                match i128::from_str_radix(i.as_str(), i.radix()) {
                    Ok(n) if (i128::from(i64::MIN)..=i128::from(u64::MAX)).contains(&n) => {
                        return true;
                    }
                    _ => (
                        format!("bad value: {}, expected a number", found(v.get_ref())),
                        "`obsgen schema` prints every key and the type it expects".to_string(),
                    ),
                }
            }
            (_, other) => wrong(other),
        };
        self.problem(problem.0, path, span, problem.1);
        false
    }

    /// Checks the text of a string value (see [`forbidden_char`]).
    fn text(&mut self, s: &str, path: &str, span: Range<usize>) {
        let multiline = is_multiline(path);
        if let Some(c) = s.chars().find(|&c| forbidden_char(c, multiline)) {
            self.problem(
                format!("value contains {}", char_name(c)),
                path,
                span,
                char_help(c, multiline),
            );
            self.covers.push(Cover::Value(path.to_string()));
        }
    }

    /// Checks every key and string below a value the schema says nothing about.
    fn texts(&mut self, v: &Spanned<DeValue<'_>>, path: &str) {
        match v.get_ref() {
            DeValue::String(s) => self.text(s, path, v.span()),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.texts(item, &format!("{path}[{i}]"));
                }
            }
            DeValue::Table(t) => {
                for (k, item) in t {
                    let key: &str = k.get_ref();
                    if let Some((message, help)) = key_problem(key) {
                        self.problem(message, &join(path, &key_shown(key)), k.span(), help);
                        self.covers.push(Cover::Value(path.to_string()));
                    } else {
                        self.texts(item, &join(path, key));
                    }
                }
            }
            _ => {}
        }
    }
}

/// What is wrong with a key, if anything: a forbidden character, or its length.
fn key_problem(key: &str) -> Option<(String, String)> {
    if key.len() > MAX_KEY_BYTES {
        return Some((
            format!("key is {} bytes long (at most {MAX_KEY_BYTES})", key.len()),
            "shorten the key; no key of the manifest needs that many characters".into(),
        ));
    }
    let c = key.chars().find(|&c| forbidden_char(c, false))?;
    Some((
        format!("key `{}` contains {}", escape_controls(key), char_name(c)),
        char_help(c, false),
    ))
}

/// Reads and parses the manifest file at `path`; `display` is the name used in messages.
pub fn load_manifest(text: String, display: &str) -> Result<Loaded<Manifest>, Diagnostics> {
    parse::<Manifest>(Source::new(display, text))
}

/// [`load_manifest`], then the semantic checks `semantic` (see [`parse_then`]).
pub fn load_manifest_then(
    text: String,
    display: &str,
    semantic: impl FnOnce(&Loaded<Manifest>) -> Vec<Diagnostic>,
) -> Result<Loaded<Manifest>, Diagnostics> {
    parse_then::<Manifest>(Source::new(display, text), semantic)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_dots_quotes_and_brackets_are_located_at_their_own_line() {
        let text = "[[alerts.custom]]\nname = \"A\"\n[alerts.custom.labels]\nplain = \"x\"\n\"{{ .La$b }}x<\" = \"y\"\n'q\"[1].z\\\\' = \"w\"\n";
        let table = DeTable::parse(text).unwrap();
        let spans = SpanMap::build(&table);
        let line = |path: &str| {
            let at = spans.key(path).unwrap().start;
            text[..at].matches('\n').count() + 1
        };
        assert_eq!(line(&key_path("alerts.custom[0].labels", "plain")), 4);
        assert_eq!(
            line(&key_path("alerts.custom[0].labels", "{{ .La$b }}x<")),
            5
        );
        assert_eq!(
            line(&key_path("alerts.custom[0].labels", "q\"[1].z\\\\")),
            6
        );
        assert_eq!(key_path("a", "b-c_1"), "a.b-c_1");
        assert_eq!(key_path("a", "b.c"), "a.\"b.c\"");
    }

    #[test]
    fn paths_parse_keys_and_indices() {
        assert_eq!(
            parse_path("service[1].metrics.port"),
            vec![
                Seg::Key("service".into()),
                Seg::Index(1),
                Seg::Key("metrics".into()),
                Seg::Key("port".into())
            ]
        );
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let text = "[project]\nname = \"shop\"\n\n[[service]]\nname = \"a\"\nport = 80\n\n[[service]]\nname = \"b\"\nport = 81\n";
        let (doc, errs) = DeTable::parse_recoverable(text);
        assert!(errs.is_empty());
        let m = SpanMap::build(&doc);
        let v = m.value("service[1].port").unwrap();
        assert_eq!(&text[v], "81");
        let k = m.key("service[1].port").unwrap();
        assert_eq!(&text[k], "port");
        // missing leaf falls back to the deepest existing part
        assert!(m.value("service[1].nope").is_some());
        assert!(m.has("service[1].name"));
        assert!(!m.has("service[2]"));
    }

    #[test]
    fn all_unknown_keys_are_reported_with_suggestions() {
        let text = "[project]\nnam = \"x\"\nname = \"x\"\n\n[[service]]\nname = \"a\"\nport = 1\nreplica = 2\n[logging]\nbackend = \"loki\"\ncolour = 1\n";
        let err = load_manifest(text.to_string(), "obsgen.toml").unwrap_err();
        let rendered = err.render(false);
        assert_eq!(err.items.len(), 3, "{rendered}");
        assert!(
            rendered.contains("unknown key `nam` in [project]"),
            "{rendered}"
        );
        assert!(rendered.contains("did you mean `name`?"), "{rendered}");
        assert!(rendered.contains("obsgen.toml:8:1"), "{rendered}");
        assert!(rendered.contains("did you mean `replicas`?"), "{rendered}");
        assert!(
            rendered.contains("unknown key `colour` in [logging]"),
            "{rendered}"
        );
    }

    #[test]
    fn syntax_and_type_errors_have_locations() {
        let err = load_manifest("[project\nname = 1\n".into(), "m.toml").unwrap_err();
        assert!(
            err.render(false).contains("m.toml:1:"),
            "{}",
            err.render(false)
        );
        let err = load_manifest(
            "[project]\nname = \"x\"\n[[service]]\nname = \"a\"\nport = \"http\"\n".into(),
            "m.toml",
        )
        .unwrap_err();
        let r = err.render(false);
        assert!(r.contains("m.toml:5:8"), "{r}");
        assert!(r.contains("= key: service[0].port"), "{r}");
        assert!(r.contains("expected a whole number from 0 to 65535"), "{r}");
        let err = load_manifest(
            "[project]\nname = \"x\"\n[[service]]\nname = \"a\"\n".into(),
            "m.toml",
        )
        .unwrap_err();
        let r = err.render(false);
        assert!(r.contains("missing field `port` in [service[0]]"), "{r}");
    }

    fn problems(text: &str) -> Vec<Diagnostic> {
        match crate::project::load_valid(text.to_string(), "m.toml") {
            Ok(_) => Vec::new(),
            Err(d) => d.items,
        }
    }

    const SERVICE: &str =
        "[project]\nname = \"x\"\n[[service]]\nname = \"a\"\nimage = \"a/b:1\"\nport = 80\n";

    #[test]
    fn forbidden_characters_are_the_control_like_ones() {
        for c in [
            '\0',
            '\u{1b}',
            '\r',
            '\u{7f}',
            '\u{80}',
            '\u{85}',
            '\u{9f}',
            '\u{2028}',
            '\u{2029}',
            '\u{feff}',
            '\u{fdd0}',
            '\u{fdef}',
            '\u{fffe}',
            '\u{ffff}',
            '\u{1fffe}',
            '\u{10ffff}',
        ] {
            assert!(forbidden_char(c, true), "U+{:04X}", c as u32);
        }
        for c in [
            'a',
            ' ',
            'é',
            '\u{a0}',
            '\u{fffd}',
            '\u{fdcf}',
            '\u{fdf0}',
            '\u{1f600}',
            '$',
            '"',
        ] {
            assert!(!forbidden_char(c, false), "U+{:04X}", c as u32);
        }
        assert!(forbidden_char('\n', false) && !forbidden_char('\n', true));
        assert!(forbidden_char('\t', false) && !forbidden_char('\t', true));
        assert_eq!(
            generic_path("alerts.custom[12].expr"),
            "alerts.custom[].expr"
        );
    }

    #[test]
    fn every_wrong_type_is_reported_not_only_the_first() {
        let d = problems(&format!(
            "{SERVICE}public = \"yes\"\nreplicas = -1\nhost_port = 1.5\n[alerts]\nerror_rate = true\n"
        ));
        let keys: Vec<_> = d.iter().map(|d| d.key.as_deref().unwrap()).collect();
        assert_eq!(
            keys,
            [
                "service[0].public",
                "service[0].replicas",
                "service[0].host_port",
                "alerts.error_rate"
            ],
            "{d:#?}"
        );
        assert!(
            d[1].message
                .contains("bad value: integer `-1`, expected a whole number from 0 to 4294967295"),
            "{d:#?}"
        );
        assert!(
            d[2].message.contains("wrong type: floating point `1.5`"),
            "{d:#?}"
        );
    }

    #[test]
    fn semantic_problems_come_with_load_problems_unless_they_follow_from_them() {
        // An unknown key elsewhere: the bad project name is still found.
        let d = problems(&SERVICE.replace("name = \"x\"", "name = \"X\"\ncolour = 1"));
        assert_eq!(d.len(), 2, "{d:#?}");
        assert_eq!(d[0].key.as_deref(), Some("project.name"));
        assert_eq!(d[1].key.as_deref(), Some("project.colour"));
        // `source` is no key; the service then has neither image nor build, which
        // follows from it and is not reported.
        let d = problems(&SERVICE.replace("image = \"a/b:1\"", "source = \"./a\""));
        assert_eq!(d.len(), 1, "{d:#?}");
        // A wrong type in one section hides nothing of another.
        let d = problems(&format!(
            "{SERVICE}health = 3\n[alerts]\nlatency_p95 = \"fast\"\n"
        ));
        assert_eq!(d.len(), 2, "{d:#?}");
        assert_eq!(d[1].key.as_deref(), Some("alerts.latency_p95"));
        // A missing required key leaves nothing to check semantically.
        let d = problems("[project]\nname = \"X\"\n[[service]]\nname = \"a\"\nimage = 5\n");
        let msgs: Vec<_> = d.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(
            msgs[0].starts_with("missing field `port`") && msgs[1].starts_with("wrong type"),
            "{msgs:?}"
        );
    }

    #[test]
    fn covers_match_what_they_say() {
        assert!(Cover::Table("service[0]".into()).covers(Some("service[0]")));
        assert!(!Cover::Table("service[0]".into()).covers(Some("service[0].name")));
        assert!(Cover::Value("service[0].env".into()).covers(Some("service[0].env.A")));
        assert!(!Cover::Value("service[0].env".into()).covers(Some("service[0].environment")));
        assert!(Cover::section("route[2].match.x").covers(Some("route[3]")));
        assert!(!Cover::section("route[2].match.x").covers(Some("receiver[0]")));
        assert!(!Cover::section("route[2]").covers(None));
        assert!(Cover::section("project.environments").covers(Some("environment.staging")));
        assert!(Cover::section("project.environments").covers(None));
    }

    #[test]
    fn deep_dotted_keys_are_located_and_bounded() {
        let key = vec!["a"; 20_000].join(".");
        for text in [
            format!("{SERVICE}{key} = 1\n"),
            format!("[{key}]\n"),
            format!("x = {{ {key} = 1 }}\n"),
        ] {
            let started = std::time::Instant::now();
            let err = load_manifest(text.clone(), "m.toml").unwrap_err();
            assert!(started.elapsed() < std::time::Duration::from_secs(5));
            assert_eq!(err.items.len(), 1, "{}", err.render(false));
            let d = &err.items[0];
            assert_eq!(d.message, "dotted key has 20000 parts (at most 32)");
            let span = d.span.clone().unwrap();
            assert_eq!(&text[span], key);
        }
        // 32 parts is a key like any other (here: an unknown one).
        let key = vec!["a"; 32].join(".");
        let err = load_manifest(format!("{SERVICE}{key} = 1\n"), "m.toml").unwrap_err();
        assert!(
            err.items[0].message.starts_with("unknown key `a`"),
            "{}",
            err.render(false)
        );
    }

    #[test]
    fn over_long_and_control_keys_are_located_and_shown_short_and_escaped() {
        let long = "K".repeat(10_000);
        let err = load_manifest(
            format!("{SERVICE}env = {{ {long} = \"x\", \"B\\u0085\" = \"y\" }}\n"),
            "m.toml",
        )
        .unwrap_err();
        assert_eq!(err.items.len(), 2, "{}", err.render(false));
        assert_eq!(
            err.items[0].message,
            "key is 10000 bytes long (at most 256)"
        );
        assert_eq!(
            err.items[0].key.as_deref(),
            Some(&*format!("service[0].env.{}…", "K".repeat(32)))
        );
        assert_eq!(
            err.items[1].message,
            "key `B\\u{85}` contains a NEL line break (U+0085)"
        );
        let shown = err.render(false);
        assert!(shown.len() < 2_000, "{shown}");
    }
}
