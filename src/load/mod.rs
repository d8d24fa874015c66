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
//!
//! This module runs the stages (syntax and reading here, the schema walk in `shape`) and
//! decides which problems cover which; `spans` locates keys and values, `chars` holds the
//! rules for keys and characters.

mod chars;
mod shape;
mod spans;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::DeTable;

use crate::diag::{Diagnostic, Diagnostics, Source};
use crate::manifest::Manifest;
pub use chars::{MAX_KEY_BYTES, MAX_KEY_PARTS, MULTILINE, forbidden_char, is_multiline};
use shape::Shape;
pub use spans::{SpanMap, key_path};

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
