//! Stage 2 of loading: the document walked against the JSON Schema of `T` — unknown
//! keys (with suggestions), wrong types, numbers out of range, values outside an enumeration,
//! missing keys, and forbidden characters and over-long keys anywhere — recording which
//! values serde must read without and which later problems they cover.

use std::collections::BTreeSet;
use std::ops::Range;

use serde_json::Value as Json;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::Cover;
use super::chars::{
    char_help, char_name, forbidden_char, is_multiline, key_problem, key_shown, text_shown,
};
use super::spans::SpanMap;
use crate::diag::{Diagnostic, suggest};

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
pub(super) struct Shape<'a> {
    pub(super) root: &'a Json,
    pub(super) spans: &'a SpanMap,
    pub(super) out: Vec<Diagnostic>,
    pub(super) covers: Vec<Cover>,
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
    pub(super) fn table(
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
