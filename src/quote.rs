//! Escaping for every output context obsgen writes manifest text into. This module
//! owns it: one function per context, each returning a type that says which context its
//! value is safe for. The types can only be made through these functions, so a value of
//! a type went through its escaping exactly once; templates and file builders receive
//! the escaped form.
//!
//! | context | function | type | rule |
//! |---|---|---|---|
//! | POSIX `sh` / `bash` word (workflow `run:`, SSM commands, `secrets.sh`, `routes.test.sh`) | [`sh`] | [`ShellWord`] | `'…'`, `'` as `'\''`: nothing expands inside |
//! | GitHub Actions string (`run:`, `env:`, `with:`, names, `working-directory`) | [`gh`] | [`GhText`] | every `${{` becomes the expression `${{ '${{' }}`, which evaluates to `${{` |
//! | GitHub expression (inside `if:` or `${{ … }}`) | [`gh_expr`] | [`GhExpr`] | a string literal `'…'` (`'` doubled); with `$` in it, a `format()` whose text holds no `${{` |
//! | Compose value (`image`, `build`, `command`, `user`, `tmpfs`, mounts, health checks) | [`compose`] | [`ComposeText`] | every `$` as `$$` (no interpolation) |
//! | Compose `environment` value of a service | [`compose_env`] | [`ComposeText`] + [`EnvRef`]s | `${NAME}`, `${NAME:-default}`, `${NAME-default}` stay references to `.env`; every other `$` as `$$`; any other `${…}` is an error ([`env_refs`], checked when the manifest loads) |
//! | CloudFormation `Fn::Sub` text | [`cfn_sub`] | [`CfnSubText`] | every `${` as `${!` (a literal `${`) |
//! | YAML / JSON / TOML scalar (the templates' `q` filter) | [`yaml_str`] | `String` | a JSON string, with U+0085, U+2028, U+2029, DEL, the C1 controls and non-characters as `\uXXXX` (YAML 1.1 readers such as Go's yaml.v2 take U+0085/U+2028/U+2029 for line breaks) |
//!
//! Values that reach a shell are single-quoted words (or come in through `env:` and are
//! used as `"$VAR"`); a value inside a command that is itself sent to another shell (the
//! SSM commands of the deploy workflow) is quoted once per shell it passes, innermost
//! first.

pub use crate::model::env::EnvRef;
use std::fmt;

use serde::{Serialize, Serializer};

macro_rules! escaped {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}

escaped!(
    /// One word for POSIX `sh` (and bash): the value, single-quoted.
    ShellWord
);
escaped!(
    /// Text of a GitHub Actions workflow string that the runner evaluates: no `${{` of
    /// the value is an expression.
    GhText
);
escaped!(
    /// A GitHub expression whose value is a given string.
    GhExpr
);
escaped!(
    /// A Compose file value: interpolation only where obsgen means it.
    ComposeText
);
escaped!(
    /// Text inside a CloudFormation `Fn::Sub` string: no `${…}` of the value is a
    /// substitution.
    CfnSubText
);

/// `s` as one shell word: `'…'`, with `'` written `'\''`.
pub fn sh(s: &str) -> ShellWord {
    ShellWord(format!("'{}'", s.replace('\'', "'\\''")))
}

/// The literal GitHub expression that evaluates to `${{`.
const GH_OPEN: &str = "${{ '${{' }}";

/// `s` as literal text of a workflow string the runner evaluates (`run:`, `env:`, `with:`,
/// `name:`): each `${{` becomes `${{ '${{' }}`. Text outside `${{ … }}` is literal for
/// the runner, `}}` included.
pub fn gh(s: &str) -> GhText {
    GhText(s.replace("${{", GH_OPEN))
}

/// A GitHub expression evaluating to `s`, for `if:` conditions and `${{ … }}`. An `if:`
/// holding `${{` anywhere turns into a string template (always true), so the text of the
/// expression never holds `${{`: with a `$` in `s`, it is `format('…{0}…', '$')`.
pub fn gh_expr(s: &str) -> GhExpr {
    let quoted = s.replace('\'', "''");
    if !s.contains('$') {
        return GhExpr(format!("'{quoted}'"));
    }
    let mut fmt = String::new();
    for ch in quoted.chars() {
        match ch {
            '$' => fmt.push_str("{0}"),
            '{' => fmt.push_str("{{"),
            '}' => fmt.push_str("}}"),
            c => fmt.push(c),
        }
    }
    GhExpr(format!("format('{fmt}', '$')"))
}

/// `s` as a Compose value read literally: every `$` as `$$`.
pub fn compose(s: &str) -> ComposeText {
    ComposeText(s.replace('$', "$$"))
}

/// A `${` in a service's `env` value that is no reference obsgen accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefError {
    /// Byte offset of the `$` in the value.
    pub at: usize,
    /// The offending text (`${1X}`, `${A:?err}`, `${`…).
    pub text: String,
    pub why: &'static str,
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.text, self.why)
    }
}

/// Scans an `env` value: the Compose form (references kept, every other `$` as `$$`)
/// and the references, or the first malformed `${…}`.
fn scan_env(s: &str) -> Result<(String, Vec<EnvRef>), RefError> {
    let mut out = String::with_capacity(s.len());
    let mut refs = Vec::new();
    let mut rest = s;
    let mut offset = 0;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let at = offset + i;
        let after = &rest[i + 1..];
        let Some(body_start) = after.strip_prefix('{') else {
            out.push_str("$$");
            offset = at + 1;
            rest = after;
            continue;
        };
        let Some(close) = body_start.find('}') else {
            return Err(RefError {
                at,
                text: rest[i..].chars().take(20).collect(),
                why: "opens a variable reference that is never closed with `}`",
            });
        };
        let body = &body_start[..close];
        let whole = format!("${{{body}}}");
        let name_len = body
            .char_indices()
            .find(|&(j, c)| !(c == '_' || c.is_ascii_alphabetic() || (j > 0 && c.is_ascii_digit())))
            .map_or(body.len(), |(j, _)| j);
        let err = |why| RefError {
            at,
            text: whole.clone(),
            why,
        };
        if name_len == 0 {
            return Err(err(
                "is not a variable reference: a name starts with a letter or `_`",
            ));
        }
        let name = &body[..name_len];
        let tail = &body[name_len..];
        let (default, default_if_empty) = if tail.is_empty() {
            (None, false)
        } else if let Some(d) = tail.strip_prefix(":-") {
            (Some(d), true)
        } else if let Some(d) = tail.strip_prefix('-') {
            (Some(d), false)
        } else if tail.starts_with(":?") || tail.starts_with('?') {
            return Err(err(
                "is Compose's required-variable form, which obsgen does not take in `env`",
            ));
        } else {
            return Err(err(
                "is not a variable reference obsgen supports (`${NAME}`, `${NAME:-default}`, `${NAME-default}`)",
            ));
        };
        if default.is_some_and(|d| d.contains('$')) {
            return Err(err(
                "has a `$` in its default, which Compose v1 and v2 read differently",
            ));
        }
        out.push_str(&whole);
        refs.push(EnvRef {
            name: name.to_string(),
            default: default.map(str::to_string),
            default_if_empty,
        });
        let consumed = i + 2 + close + 1;
        offset += consumed;
        rest = &rest[consumed..];
    }
    out.push_str(rest);
    Ok((out, refs))
}

/// The `.env` variables a service's `env` value references, or the first `${…}` that
/// is no reference obsgen accepts (checked when the manifest loads).
pub fn env_refs(s: &str) -> Result<Vec<EnvRef>, RefError> {
    scan_env(s).map(|(_, refs)| refs)
}

/// A service's `env` value for Compose: its `.env` references kept, every other `$` as
/// `$$`. A value with a malformed reference (rejected when the manifest loads) is
/// written entirely literal.
pub fn compose_env(s: &str) -> (ComposeText, Vec<EnvRef>) {
    match scan_env(s) {
        Ok((text, refs)) => (ComposeText(text), refs),
        Err(_) => (compose(s), Vec::new()),
    }
}

/// `s` as literal text inside a CloudFormation `Fn::Sub` string: `${` as `${!`.
pub fn cfn_sub(s: &str) -> CfnSubText {
    CfnSubText(s.replace("${", "${!"))
}

/// `s` as a double-quoted YAML scalar (also a JSON and a TOML string): a JSON string with
/// every character a YAML 1.1 reader would not keep as it is written `\uXXXX`.
pub fn yaml_str(s: &str) -> String {
    let json = serde_json::to_string(s).expect("strings serialize");
    if json.chars().all(yaml_keeps) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 12);
    for ch in json.chars() {
        if yaml_keeps(ch) {
            out.push(ch);
        } else {
            let mut buf = [0u16; 2];
            for unit in ch.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04X}"));
            }
        }
    }
    out
}

/// Characters a YAML reader keeps as written inside a double-quoted scalar: YAML's
/// printable set, less U+0085/U+2028/U+2029 (line breaks to YAML 1.1) and U+FEFF.
fn yaml_keeps(ch: char) -> bool {
    matches!(ch, '\t' | '\n' | '\r' | ' '..='~')
        || matches!(ch, '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
            && !matches!(ch, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    /// Strings a shell, a workflow or Compose could take for syntax.
    const HOSTILE: &[&str] = &[
        "plain",
        "",
        "it's",
        "\"double\"",
        "$(touch PWNED)",
        "`touch PWNED`",
        "a; touch PWNED",
        "${IFS}x$IFS",
        "${{ github.token }}",
        "$${{x}}}}",
        "back\\slash\\",
        "'\"'\"'",
        "new\nline",
        "* ? [a] ~ # ! &",
        "${A:-b} $B $$ $",
        "ünïcödé ✓",
    ];

    fn run(shell: &str, script: &str) -> String {
        let out = Command::new(shell).arg("-c").arg(script).output().unwrap();
        assert!(out.status.success(), "{shell} -c {script}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn shell_words_reach_sh_and_bash_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        for v in HOSTILE {
            for shell in ["sh", "bash"] {
                let script = format!(
                    "cd {} && printf '%s' {}",
                    sh(&dir.path().display().to_string()),
                    sh(v)
                );
                assert_eq!(run(shell, &script), *v, "{shell}: {v:?}");
            }
        }
        assert!(!dir.path().join("PWNED").exists());
    }

    #[test]
    fn shell_words_survive_a_second_shell() {
        // The SSM layer: a command line holding a quoted word, itself quoted for the
        // shell that runs it (`sh -c '<inner>'`).
        let dir = tempfile::tempdir().unwrap();
        for v in HOSTILE {
            let inner = format!("printf '%s' {}", sh(v));
            let outer = format!(
                "cd {} && sh -c {}",
                sh(&dir.path().display().to_string()),
                sh(&inner)
            );
            assert_eq!(run("bash", &outer), *v, "{v:?}");
            // And inside JSON, as the SSM parameters carry it.
            let json = serde_json::json!({ "commands": [inner] }).to_string();
            let back: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(run("sh", back["commands"][0].as_str().unwrap()), *v);
        }
        assert!(!dir.path().join("PWNED").exists());
    }

    #[test]
    fn github_text_holds_no_expression_of_the_value() {
        assert_eq!(
            gh("a ${{ github.token }}").as_str(),
            "a ${{ '${{' }} github.token }}"
        );
        assert_eq!(gh("no expr }} here").as_str(), "no expr }} here");
        for v in HOSTILE {
            // What the runner does: evaluate every `${{ … }}`; only the literal escape
            // may appear, and it gives back the value.
            assert_eq!(gh_eval(gh(v).as_str()), *v, "{v:?}");
        }
    }

    /// A model of the runner's template reading (actions/languageservices
    /// `TemplateReader.parseScalar`): `${{` starts an expression that ends at the first
    /// `}}` outside a `'…'` literal; only string literals are evaluated here.
    fn gh_eval(raw: &str) -> String {
        let mut out = String::new();
        let mut rest = raw;
        while let Some(start) = rest.find("${{") {
            out.push_str(&rest[..start]);
            let body = &rest[start + 3..];
            let mut in_str = false;
            let mut end = None;
            let b = body.as_bytes();
            for i in 0..b.len() {
                if b[i] == b'\'' {
                    in_str = !in_str;
                } else if !in_str && b[i] == b'}' && i > 0 && b[i - 1] == b'}' {
                    end = Some(i);
                    break;
                }
            }
            let end = end.expect("closed expression");
            let expr = body[..end - 1].trim();
            let lit = expr
                .strip_prefix('\'')
                .and_then(|e| e.strip_suffix('\''))
                .unwrap_or_else(|| panic!("evaluated a non-literal expression `{expr}`"));
            out.push_str(&lit.replace("''", "'"));
            rest = &body[end + 1..];
        }
        out.push_str(rest);
        out
    }

    #[test]
    fn github_expressions_never_hold_an_expression_opening() {
        assert_eq!(gh_expr("main").as_str(), "'main'");
        assert_eq!(gh_expr("it's").as_str(), "'it''s'");
        assert_eq!(
            gh_expr("a${{ b }}").as_str(),
            "format('a{0}{{{{ b }}}}', '$')"
        );
        for v in HOSTILE {
            assert!(!gh_expr(v).as_str().contains("${{"), "{v:?}");
        }
    }

    #[test]
    fn compose_text_and_env_references() {
        assert_eq!(compose("a$b${c}$$").as_str(), "a$$b$${c}$$$$");
        let (text, refs) = compose_env("x ${API_URL} $HOME ${MODE:-dev} ${T-} $(id) $");
        assert_eq!(
            text.as_str(),
            "x ${API_URL} $$HOME ${MODE:-dev} ${T-} $$(id) $$"
        );
        let names: Vec<&str> = refs.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["API_URL", "MODE", "T"]);
        assert_eq!(refs[1].default.as_deref(), Some("dev"));
        assert!(refs[1].default_if_empty && !refs[2].default_if_empty);
        for bad in [
            "${",
            "a ${B",
            "${1X}",
            "${}",
            "${A:?err}",
            "${A?e}",
            "${A:+x}",
            "${A:-$B}",
            "${A B}",
        ] {
            let e = env_refs(bad).unwrap_err();
            assert_eq!(&bad[e.at..e.at + 2], "${", "{bad}: {e}");
        }
        // A malformed value (refused at load) would still be written literally.
        assert_eq!(compose_env("${1X}").0.as_str(), "$${1X}");
    }

    #[test]
    fn cfn_sub_text_has_no_substitution() {
        assert_eq!(cfn_sub("/h${x}/${!y}$").as_str(), "/h${!x}/${!!y}$");
    }

    #[test]
    fn yaml_strings_escape_what_yaml_1_1_reads_as_line_breaks() {
        let v = "web\u{85}shop\u{2028}x\u{2029}y\u{7f}\u{9f}\u{feff}z\u{fffe}";
        let q = yaml_str(v);
        assert_eq!(
            q,
            "\"web\\u0085shop\\u2028x\\u2029y\\u007F\\u009F\\uFEFFz\\uFFFE\""
        );
        assert!(q.is_ascii());
        let back: String = serde_json::from_str(&q).unwrap();
        assert_eq!(back, v);
        let back: String = serde_saphyr::from_str(&q).unwrap();
        assert_eq!(back, v);
        assert_eq!(yaml_str("plain ✓ 😀"), "\"plain ✓ 😀\"");
    }
}
