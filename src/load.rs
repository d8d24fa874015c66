//! Loading the manifest: TOML text → [`Manifest`], with every syntax error and every
//! unknown key reported at once, each with its location, and a [`SpanMap`] kept so
//! later semantic checks can point at the key they concern.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use toml::de::{DeTable, DeValue};

use crate::diag::{Diagnostic, Diagnostics, Source, suggest};
use crate::manifest::Manifest;

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

fn parse_path(path: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    for part in path.split('.') {
        let (name, rest) = part.split_once('[').map_or((part, ""), |(a, b)| (a, b));
        if !name.is_empty() {
            segs.push(Seg::Key(name.to_string()));
        }
        for idx in rest.split('[') {
            if let Ok(i) = idx.trim_end_matches(']').parse() {
                segs.push(Seg::Index(i));
            }
        }
    }
    segs
}

impl SpanMap {
    fn build(table: &toml::Spanned<DeTable<'_>>) -> Self {
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

fn node_of_value(v: &toml::Spanned<DeValue<'_>>, key: Option<Range<usize>>) -> Node {
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

/// Parses TOML text into `T`: syntax errors (all of them), then unknown keys (all of
/// them, checked against `T`'s JSON Schema), then type errors (serde reports the first).
pub fn parse<T: DeserializeOwned + schemars::JsonSchema>(
    source: Source,
) -> Result<Loaded<T>, Diagnostics> {
    let (doc, errors) = DeTable::parse_recoverable(&source.text);
    if !errors.is_empty() {
        let items = errors
            .iter()
            .map(|e| {
                Diagnostic::new(format!("TOML syntax: {}", e.message().trim_end()))
                    .span(e.span())
                    .help("fix the TOML syntax; see https://toml.io for the format")
            })
            .collect();
        return Err(Diagnostics::new(source, items));
    }
    let spans = SpanMap::build(&doc);
    let schema = serde_json::to_value(schemars::schema_for!(T)).expect("schema serializes");
    let mut unknown = Vec::new();
    check_table(&schema, &schema, doc.get_ref(), "", &mut unknown);
    if !unknown.is_empty() {
        return Err(Diagnostics::new(source, unknown));
    }
    match toml::from_str::<T>(&source.text) {
        Ok(value) => Ok(Loaded {
            value,
            source,
            spans,
        }),
        Err(e) => {
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
            Err(Diagnostics::new(source, vec![d]))
        }
    }
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

/// Follows `$ref` and picks the object branch of `anyOf`/`oneOf` (for `Option<T>`).
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
            && let Some(b) = branches
                .iter()
                .find(|b| b.get("type").and_then(Json::as_str) != Some("null"))
        {
            s = b;
            continue;
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

fn check_table(root: &Json, schema: &Json, t: &DeTable<'_>, path: &str, out: &mut Vec<Diagnostic>) {
    let schema = resolve(root, schema);
    let props = schema.get("properties").and_then(Json::as_object);
    let additional = schema.get("additionalProperties");
    for (k, v) in t.iter() {
        let key = k.get_ref().as_ref();
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
                    let help = match suggest(key, known.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("known keys here: {}", known.join(", ")),
                    };
                    out.push(
                        Diagnostic::new(format!("unknown key `{key}` in {table}"))
                            .key(child_path)
                            .span(Some(k.span()))
                            .help(help),
                    );
                    continue;
                }
                Some(s @ Json::Object(_)) => s,
                _ => continue,
            },
        };
        check_value(root, child_schema, v.get_ref(), &child_path, out);
    }
}

fn check_value(root: &Json, schema: &Json, v: &DeValue<'_>, path: &str, out: &mut Vec<Diagnostic>) {
    match v {
        DeValue::Table(t) => check_table(root, schema, t, path, out),
        DeValue::Array(items) => {
            let schema = resolve(root, schema);
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check_value(
                        root,
                        item_schema,
                        item.get_ref(),
                        &format!("{path}[{i}]"),
                        out,
                    );
                }
            }
        }
        _ => {}
    }
}

/// Reads and parses the manifest file at `path`; `display` is the name used in messages.
pub fn load_manifest(text: String, display: &str) -> Result<Loaded<Manifest>, Diagnostics> {
    parse::<Manifest>(Source::new(display, text))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
