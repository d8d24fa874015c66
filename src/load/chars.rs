//! Keys and characters no output can carry: the control-like characters refused in
//! every key and string ([`forbidden_char`]; line breaks and tabs only in the [`MULTILINE`]
//! fields), key length and dotted-key depth limits, and how a refused key or text is shown
//! in a message (escaped and shortened).

use crate::diag::{escape_controls, is_control_like};

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
pub(super) fn char_name(c: char) -> String {
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
pub(super) fn char_help(c: char, multiline: bool) -> String {
    match c {
        '\r' if multiline => "a line ends with a line break (`\\n`) alone; remove the carriage return".into(),
        '\n' | '\t' => "this value is one line; line breaks and tabs are for `expr` and `description` of [[alerts.custom]], and a service's `env` values and command arguments".into(),
        _ => "remove it: control characters, Unicode line separators and noncharacters do not pass through YAML, shell and Compose files unchanged".into(),
    }
}

/// A key for display: escaped, and cut to 32 characters when it is over-long.
pub(super) fn key_shown(key: &str) -> String {
    if key.len() > MAX_KEY_BYTES {
        let head: String = key.chars().take(32).collect();
        format!("{}…", escape_controls(&head))
    } else {
        escape_controls(key)
    }
}

/// A string value for messages: on one line, escaped, cut to 60 characters.
pub(super) fn text_shown(text: &str) -> String {
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

/// What is wrong with a key, if anything: a forbidden character, or its length.
pub(super) fn key_problem(key: &str) -> Option<(String, String)> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
