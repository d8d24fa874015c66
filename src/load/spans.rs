//! Where each key and value is in the text: the [`SpanMap`] built from the TOML syntax
//! tree, addressed by key paths (`service[0].env.A`, [`key_path`]), for every diagnostic's
//! location.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

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
    pub(super) fn build(table: &Spanned<DeTable<'_>>) -> Self {
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
}
