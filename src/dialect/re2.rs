//! Regular expressions in the dialect of Go's `regexp/syntax` (RE2).
//!
//! **Regexes** are parsed with `regex-syntax`'s AST parser (never compiled, never a C++
//! RE2) and every node is checked against an allow-list of what Go's parser takes with
//! `syntax.Perl` flags, as in Go 1.19/1.20 (Prometheus 2.42, Alertmanager 0.25) and later
//! (Prometheus 3.5, Alertmanager 0.28), grounded in Go's `src/regexp/syntax/parse.go` and
//! `src/unicode/tables.go`:
//! - named groups only as `(?P<name>…)` with an ASCII word name (`(?<name>…)` arrived in
//!   Go 1.22; `isValidCaptureName` takes `[A-Za-z0-9_]+`, Rust also `.`, `[` and `]`);
//! - flags only `i`, `m`, `s`, `U` (`parsePerlFlags`), so no `(?x)`, `(?u)`, `(?R)`;
//! - escapes: `\a \f \t \n \r \v`, `\x7F`, `\x{10FFFF}`, `\` before ASCII punctuation,
//!   `\A \z \b \B`, `\d \s \w` (and negations), `\pL`, `\p{Name}`; not Rust's `\u…`/`\U…`,
//!   `\<`, `\>`, `\b{start}`…, nor `\p{Script=…}`-style properties;
//! - Unicode class names exactly as in Go's `unicode.Categories` and `unicode.Scripts`
//!   of Unicode 13.0.0 (Go 1.19/1.20), plus `Any`: Rust also matches them loosely
//!   (`\p{greek}`) and knows binary properties and newer scripts Go 1.20 does not;
//! - classes without Rust's nesting (`[a[b]]`) and set operations (`&&`, `--`, `~~`),
//!   which Go reads as literal characters;
//! - counted repetitions written as Go reads them (`{n}`, `{n,}`, `{n,m}`: no spaces or
//!   leading zeros, else Go takes the braces literally), each count at most 1000 and
//!   their nested product too (`maxRepeat`, `repeatIsValid`), no repetition of a
//!   repetition (`a**`, `a{2}{3}`: `ErrInvalidRepeatOp`), and a compiled size below Go's
//!   `maxSize` (`calcSize`, estimated from above).
//!
//! Look-around and back-references are errors of the AST parser already; its nesting
//! limit (250) is below Go's `maxHeight` (1000).

use regex_syntax::ast::{self, Ast, ClassSetBinaryOp, ClassSetItem, Visitor};

/// The longest regular expression accepted (a `match_re` value), in bytes.
pub const MAX_REGEX_BYTES: usize = 8 * 1024;

/// Go's `maxSize`: 128 MB of 40-byte instructions.
const GO_MAX_SIZE: u64 = (128 << 20) / 40;

/// `unicode.Categories` of Go (the same in every version since 1.0).
const GO_CATEGORIES: &[&str] = &[
    "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc", "Me", "Mn", "N",
    "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po", "Ps", "S", "Sc", "Sk", "Sm", "So",
    "Z", "Zl", "Zp", "Zs",
];

/// `unicode.Scripts` of Go 1.19/1.20 (Unicode 13.0.0, 156 scripts). Later Go versions
/// add Cypro_Minoan, Old_Uyghur, Tangsa, Toto, Vithkuqi (Unicode 14), Kawi and
/// Nag_Mundari (15), which Prometheus 2.42 and Alertmanager 0.25 reject.
const GO_SCRIPTS: &[&str] = &[
    "Adlam",
    "Ahom",
    "Anatolian_Hieroglyphs",
    "Arabic",
    "Armenian",
    "Avestan",
    "Balinese",
    "Bamum",
    "Bassa_Vah",
    "Batak",
    "Bengali",
    "Bhaiksuki",
    "Bopomofo",
    "Brahmi",
    "Braille",
    "Buginese",
    "Buhid",
    "Canadian_Aboriginal",
    "Carian",
    "Caucasian_Albanian",
    "Chakma",
    "Cham",
    "Cherokee",
    "Chorasmian",
    "Common",
    "Coptic",
    "Cuneiform",
    "Cypriot",
    "Cyrillic",
    "Deseret",
    "Devanagari",
    "Dives_Akuru",
    "Dogra",
    "Duployan",
    "Egyptian_Hieroglyphs",
    "Elbasan",
    "Elymaic",
    "Ethiopic",
    "Georgian",
    "Glagolitic",
    "Gothic",
    "Grantha",
    "Greek",
    "Gujarati",
    "Gunjala_Gondi",
    "Gurmukhi",
    "Han",
    "Hangul",
    "Hanifi_Rohingya",
    "Hanunoo",
    "Hatran",
    "Hebrew",
    "Hiragana",
    "Imperial_Aramaic",
    "Inherited",
    "Inscriptional_Pahlavi",
    "Inscriptional_Parthian",
    "Javanese",
    "Kaithi",
    "Kannada",
    "Katakana",
    "Kayah_Li",
    "Kharoshthi",
    "Khitan_Small_Script",
    "Khmer",
    "Khojki",
    "Khudawadi",
    "Lao",
    "Latin",
    "Lepcha",
    "Limbu",
    "Linear_A",
    "Linear_B",
    "Lisu",
    "Lycian",
    "Lydian",
    "Mahajani",
    "Makasar",
    "Malayalam",
    "Mandaic",
    "Manichaean",
    "Marchen",
    "Masaram_Gondi",
    "Medefaidrin",
    "Meetei_Mayek",
    "Mende_Kikakui",
    "Meroitic_Cursive",
    "Meroitic_Hieroglyphs",
    "Miao",
    "Modi",
    "Mongolian",
    "Mro",
    "Multani",
    "Myanmar",
    "Nabataean",
    "Nandinagari",
    "New_Tai_Lue",
    "Newa",
    "Nko",
    "Nushu",
    "Nyiakeng_Puachue_Hmong",
    "Ogham",
    "Ol_Chiki",
    "Old_Hungarian",
    "Old_Italic",
    "Old_North_Arabian",
    "Old_Permic",
    "Old_Persian",
    "Old_Sogdian",
    "Old_South_Arabian",
    "Old_Turkic",
    "Oriya",
    "Osage",
    "Osmanya",
    "Pahawh_Hmong",
    "Palmyrene",
    "Pau_Cin_Hau",
    "Phags_Pa",
    "Phoenician",
    "Psalter_Pahlavi",
    "Rejang",
    "Runic",
    "Samaritan",
    "Saurashtra",
    "Sharada",
    "Shavian",
    "Siddham",
    "SignWriting",
    "Sinhala",
    "Sogdian",
    "Sora_Sompeng",
    "Soyombo",
    "Sundanese",
    "Syloti_Nagri",
    "Syriac",
    "Tagalog",
    "Tagbanwa",
    "Tai_Le",
    "Tai_Tham",
    "Tai_Viet",
    "Takri",
    "Tamil",
    "Tangut",
    "Telugu",
    "Thaana",
    "Thai",
    "Tibetan",
    "Tifinagh",
    "Tirhuta",
    "Ugaritic",
    "Vai",
    "Wancho",
    "Warang_Citi",
    "Yezidi",
    "Yi",
    "Zanabazar_Square",
];

/// Checks a regular expression against the allow-list of Go's RE2 dialect; the error
/// names the construct and why.
pub fn check_regex(re: &str) -> Result<(), String> {
    if re.len() > MAX_REGEX_BYTES {
        return Err(format!(
            "it is {} bytes long, above the limit of {MAX_REGEX_BYTES}",
            re.len()
        ));
    }
    let parsed = ast::parse::Parser::new().parse(re).map_err(|e| {
        let at = &re[e.span().start.offset..e.span().end.offset];
        if at.is_empty() {
            e.kind().to_string()
        } else {
            format!("{} at `{at}`", e.kind())
        }
    })?;
    ast::visit(
        &parsed,
        GoRe2 {
            re,
            budgets: Vec::new(),
            sizes: Vec::new(),
        },
    )
}

/// The AST visitor behind [`check_regex`].
struct GoRe2<'a> {
    re: &'a str,
    /// Per open counted repetition: how many copies its sub-expressions may still make
    /// (Go's `repeatIsValid` budget); `None` below a `{0}`, which Go does not descend.
    budgets: Vec<Option<u32>>,
    /// Estimated compiled sizes of finished sub-expressions (Go's `calcSize`).
    sizes: Vec<u64>,
}

impl GoRe2<'_> {
    fn text(&self, span: &ast::Span) -> &str {
        &self.re[span.start.offset..span.end.offset]
    }

    fn literal(&self, l: &ast::Literal) -> Result<(), String> {
        use ast::{HexLiteralKind, LiteralKind, SpecialLiteralKind};
        let bad = match &l.kind {
            LiteralKind::Verbatim => false,
            LiteralKind::Meta | LiteralKind::Superfluous => {
                !l.c.is_ascii() || l.c.is_ascii_alphanumeric()
            }
            LiteralKind::HexFixed(HexLiteralKind::X) | LiteralKind::HexBrace(HexLiteralKind::X) => {
                false
            }
            LiteralKind::Special(s) => matches!(s, SpecialLiteralKind::Space),
            _ => true,
        };
        if bad {
            return Err(format!(
                "the escape `{}` is Rust-only syntax (Go knows \\a \\f \\t \\n \\r \\v, \\x7F, \\x{{10FFFF}} and `\\` before punctuation)",
                self.text(&l.span)
            ));
        }
        Ok(())
    }

    fn unicode_class(&self, c: &ast::ClassUnicode) -> Result<(), String> {
        use ast::ClassUnicodeKind;
        let known = match &c.kind {
            ClassUnicodeKind::OneLetter(ch) => GO_CATEGORIES.contains(&ch.to_string().as_str()),
            ClassUnicodeKind::Named(name) => {
                name == "Any"
                    || GO_CATEGORIES.contains(&name.as_str())
                    || GO_SCRIPTS.contains(&name.as_str())
            }
            ClassUnicodeKind::NamedValue { .. } => false,
        };
        if known {
            Ok(())
        } else {
            Err(format!(
                "`{}` is no Unicode class Go knows (Go takes a general category like `L` or `Lu`, or a script like `Greek`, spelled exactly; no properties like `Alphabetic`, no `name=value`)",
                self.text(&c.span)
            ))
        }
    }

    fn flags(&self, flags: &ast::Flags) -> Result<(), String> {
        use ast::{Flag, FlagsItemKind};
        for item in &flags.items {
            if let FlagsItemKind::Flag(f) = &item.kind
                && !matches!(
                    f,
                    Flag::CaseInsensitive
                        | Flag::MultiLine
                        | Flag::DotMatchesNewLine
                        | Flag::SwapGreed
                )
            {
                return Err(format!(
                    "the flag `{}` is Rust-only syntax (Go knows the flags i, m, s and U)",
                    self.text(&item.span)
                ));
            }
        }
        Ok(())
    }

    fn repetition_pre(&mut self, r: &ast::Repetition) -> Result<(), String> {
        use ast::{RepetitionKind, RepetitionRange};
        if let Ast::Repetition(_) = &*r.ast {
            return Err(format!(
                "`{}` repeats a repetition, which Go rejects (group it: `(?:a*)*`)",
                self.text(&r.span)
            ));
        }
        let RepetitionKind::Range(range) = &r.op.kind else {
            return Ok(());
        };
        // Go reads `{n}`, `{n,}` and `{n,m}` only in this exact form; anything else
        // (spaces, leading zeros) is literal text to Go but a repetition to Rust.
        let op = self.text(&r.op.span);
        let body = op.trim_end_matches('?');
        let body = body
            .strip_prefix('{')
            .and_then(|b| b.strip_suffix('}'))
            .unwrap_or("");
        let number = |n: &str| {
            !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
                && !(n.len() > 1 && n.starts_with('0'))
        };
        let go_form = match body.split_once(',') {
            None => number(body),
            Some((lo, hi)) => number(lo) && (hi.is_empty() || number(hi)),
        };
        if !go_form {
            return Err(format!(
                "Go reads `{op}` as literal text, not a repetition: write `{{n}}`, `{{n,}}` or `{{n,m}}` without spaces or leading zeros, or escape the brace as `\\{{`"
            ));
        }
        let (min, max) = match *range {
            RepetitionRange::Exactly(n) => (n, Some(n)),
            RepetitionRange::AtLeast(n) => (n, None),
            RepetitionRange::Bounded(a, b) => (a, Some(b)),
        };
        // Go's repeatIsValid: the larger count (the smaller if unbounded) against what
        // enclosing counted repetitions leave of the limit of 1000 copies.
        let m = max.unwrap_or(min);
        let budget = self.budgets.last().copied().flatten().unwrap_or(1000);
        if m == 0 {
            self.budgets.push(None);
        } else if m > budget {
            return Err(if budget == 1000 {
                format!("`{op}` repeats more than 1000 times, Go's limit")
            } else {
                format!(
                    "`{op}` inside other counted repetitions makes more than 1000 copies, Go's limit"
                )
            });
        } else {
            self.budgets.push(Some(budget / m));
        }
        Ok(())
    }

    /// Go's `calcSize` of the node just finished, from its children's sizes.
    fn size_post(&mut self, ast: &Ast) -> Result<(), String> {
        use ast::{GroupKind, RepetitionKind, RepetitionRange};
        let mut take = |n: usize| -> Vec<u64> {
            let at = self.sizes.len().saturating_sub(n);
            self.sizes.split_off(at)
        };
        let size = match ast {
            Ast::Flags(_) => 0,
            Ast::Concat(c) => take(c.asts.len())
                .iter()
                .fold(0u64, |a, b| a.saturating_add(*b)),
            Ast::Alternation(a) => take(a.asts.len())
                .iter()
                .fold(a.asts.len().saturating_sub(1) as u64, |a, b| {
                    a.saturating_add(*b)
                }),
            Ast::Group(g) => {
                let sub = take(1).first().copied().unwrap_or(1);
                match g.kind {
                    GroupKind::NonCapturing(_) => sub,
                    _ => sub.saturating_add(2),
                }
            }
            Ast::Repetition(r) => {
                let sub = take(1).first().copied().unwrap_or(1);
                let (min, max) = match &r.op.kind {
                    RepetitionKind::ZeroOrMore => (0, None),
                    RepetitionKind::OneOrMore => (1, None),
                    RepetitionKind::ZeroOrOne => (0, Some(1)),
                    RepetitionKind::Range(RepetitionRange::Exactly(n)) => (*n, Some(*n)),
                    RepetitionKind::Range(RepetitionRange::AtLeast(n)) => (*n, None),
                    RepetitionKind::Range(RepetitionRange::Bounded(a, b)) => (*a, Some(*b)),
                };
                match max {
                    None if min == 0 => sub.saturating_add(2),
                    None => (min as u64).saturating_mul(sub).saturating_add(1),
                    Some(max) => (max as u64)
                        .saturating_mul(sub)
                        .saturating_add((max - min) as u64),
                }
            }
            _ => 1,
        };
        let size = size.max(1);
        if size > GO_MAX_SIZE {
            return Err(format!(
                "it would compile to more than Go's limit of {GO_MAX_SIZE} instructions"
            ));
        }
        self.sizes.push(size);
        Ok(())
    }
}

impl Visitor for GoRe2<'_> {
    type Output = ();
    type Err = String;

    fn finish(self) -> Result<(), String> {
        Ok(())
    }

    fn visit_pre(&mut self, ast: &Ast) -> Result<(), String> {
        use ast::{AssertionKind, GroupKind};
        match ast {
            Ast::Literal(l) => self.literal(l),
            Ast::Assertion(a) => match a.kind {
                AssertionKind::StartLine
                | AssertionKind::EndLine
                | AssertionKind::StartText
                | AssertionKind::EndText
                | AssertionKind::WordBoundary
                | AssertionKind::NotWordBoundary => Ok(()),
                _ => Err(format!(
                    "`{}` is Rust-only syntax (Go knows the assertions ^ $ \\A \\z \\b \\B)",
                    self.text(&a.span)
                )),
            },
            Ast::ClassUnicode(c) => self.unicode_class(c),
            Ast::Flags(f) => self.flags(&f.flags),
            Ast::Group(g) => match &g.kind {
                GroupKind::CaptureIndex(_) => Ok(()),
                GroupKind::NonCapturing(flags) => self.flags(flags),
                GroupKind::CaptureName {
                    starts_with_p,
                    name,
                } => {
                    let word = name
                        .name
                        .starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                        && name
                            .name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if !starts_with_p {
                        Err(format!(
                            "the named group `(?<{}>` needs Go 1.22; Prometheus 2.42 and Alertmanager 0.25 take only `(?P<{}>…)`",
                            name.name, name.name
                        ))
                    } else if !word {
                        Err(format!(
                            "the group name `{}` is not a word of ASCII letters, digits and `_`",
                            name.name
                        ))
                    } else {
                        Ok(())
                    }
                }
            },
            Ast::Repetition(r) => self.repetition_pre(r),
            _ => Ok(()),
        }
    }

    fn visit_post(&mut self, ast: &Ast) -> Result<(), String> {
        if let Ast::Repetition(r) = ast
            && let ast::RepetitionKind::Range(_) = r.op.kind
        {
            self.budgets.pop();
        }
        self.size_post(ast)
    }

    fn visit_class_set_item_pre(&mut self, item: &ClassSetItem) -> Result<(), String> {
        match item {
            ClassSetItem::Literal(l) => self.literal(l),
            ClassSetItem::Range(r) => {
                self.literal(&r.start)?;
                self.literal(&r.end)
            }
            ClassSetItem::Unicode(c) => self.unicode_class(c),
            ClassSetItem::Bracketed(b) => Err(format!(
                "the nested class `{}` is Rust-only syntax (Go reads `[` inside a class as a literal; escape it as `\\[`)",
                self.text(&b.span)
            )),
            _ => Ok(()),
        }
    }

    fn visit_class_set_binary_op_pre(&mut self, op: &ClassSetBinaryOp) -> Result<(), String> {
        Err(format!(
            "the class operation `{}` is Rust-only syntax (Go reads `&&`, `--` and `~~` as literal characters)",
            self.text(&op.span)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regexes Go's parser (Go 1.19/1.20 and later) accepts with the meaning Rust gives
    /// them; each was run through promtool 2.42 (see tests/integration/dialect.rs).
    const GO_ACCEPTS: &[&str] = &[
        "",
        "api|web",
        "db-.*",
        "(?P<n>a)",
        "(?P<name_1>a)",
        "(?i)a",
        "(?is-mU:a)",
        "(?U)a+",
        "(?:a*)*",
        "()",
        "(?:)",
        "a*?",
        "a+?",
        "a??",
        "a{2}?",
        "a{0}",
        "a{1000}",
        "(a{2}){500}",
        "((a{10}){10}){10}",
        "(a*){1000}",
        "(a{0,2}){500}",
        "(a{2,}){500}",
        "(a{0}){1000}",
        "[[:alpha:]]",
        "[[:^alpha:]]",
        "[[:word:]]",
        "\\p{Greek}",
        "\\p{Yezidi}",
        "\\pL",
        "\\PN",
        "\\p{Any}",
        "\\pZ",
        "[\\p{Greek}\\d]",
        "[\\P{L}]",
        "\\x{41}",
        "\\x41",
        "\\z",
        "\\A",
        "\\v",
        "\\%",
        "\\ ",
        "\\_",
        "é",
        "^a$",
        "(?m)^a$",
        "\\b",
        "\\B",
        "[]a]",
        "[^]a]",
        "[a-]",
        "[\\-]",
        "[a\\]]",
        "\\d{3}",
        "[^\\x00-\\x{10FFFF}]",
        "|",
        "a{0,0}",
        "(?s:.)",
        "5..",
        "$1 #:% \"'",
    ];

    /// Regexes Prometheus 2.42 and Alertmanager 0.25 reject, with a word of the reason.
    const GO_REJECTS: &[(&str, &str)] = &[
        ("(?x) a", "flag"),
        ("(?u)a", "flag"),
        ("(?R)a", "flag"),
        ("(?<n>a)", "(?P<"),
        ("(?P<a.b>a)", "group name"),
        ("a**", "repeats a repetition"),
        ("a*+", "repeats a repetition"),
        ("a{2}{3}", "repeats a repetition"),
        ("a{1001}", "1000"),
        ("(a{100}){100}", "1000"),
        ("(a{2}){501}", "1000"),
        ("((a{10}){10}){11}", "1000"),
        ("\\p{greek}", "Unicode class"),
        ("\\p{Script=Greek}", "Unicode class"),
        ("\\p{Alphabetic}", "Unicode class"),
        ("\\p{LC}", "Unicode class"),
        ("\\p{Cn}", "Unicode class"),
        ("\\p{Vithkuqi}", "Unicode class"),
        ("\\p{Kawi}", "Unicode class"),
        ("\\u0041", "escape"),
        ("\\U00000041", "escape"),
        ("\\u{41}", "escape"),
        ("[a--b]", "class operation"),
        ("[[:foo:]]", "nested class"),
        ("a(?=b)", "look"),
        ("(a)\\1", "backreference"),
        ("\\1", "backreference"),
        ("\\Z", "escape"),
        ("\\C", "escape"),
        ("\\e", "escape"),
        ("(?#c)a", "flag"),
        ("(?i-)", "flag"),
        ("[z-a]", "range"),
        ("\\x{110000}", "hexadecimal"),
        ("a|*", "repetition"),
    ];

    /// Regexes Go accepts but reads differently than Rust (`[a[b]]` is `[a[b]` then
    /// `]`; `a{ 2 }` is literal text; `a)|(b` escapes the anchoring `^(?:…)$`): obsgen
    /// rejects them so the manifest means what its author read.
    const GO_READS_DIFFERENTLY: &[(&str, &str)] = &[
        ("a{ 2 }", "literal text"),
        ("a{02}", "literal text"),
        ("\\<a", "assertion"),
        ("a\\>", "assertion"),
        ("\\b{start}", "assertion"),
        ("\\b{end}", "assertion"),
        ("[a[b]]", "nested class"),
        ("[a&&b]", "class operation"),
        ("[a~~b]", "class operation"),
        ("a)|(b", "unopened group"),
    ];

    #[test]
    fn go_re2_allow_list() {
        for re in GO_ACCEPTS {
            assert_eq!(check_regex(re), Ok(()), "{re:?} should pass");
        }
        for (re, why) in GO_REJECTS.iter().chain(GO_READS_DIFFERENTLY) {
            let err = check_regex(re).expect_err(re);
            let lower = err.to_lowercase();
            let why_lower = why.to_lowercase();
            assert!(
                lower.contains(&why_lower)
                    || (why_lower == "flag" && lower.contains("flag"))
                    || (why_lower == "look" && lower.contains("look")),
                "{re:?}: {err}"
            );
        }
    }

    #[test]
    fn go_re2_size_limits() {
        // Go's maxSize: 1000 copies of 4000 literals is 4M instructions.
        let big = format!("(?:{}){{1000}}", "a".repeat(4000));
        assert!(check_regex(&big).unwrap_err().contains("instructions"));
        assert_eq!(
            check_regex(&format!("(?:{}){{100}}", "a".repeat(4000))),
            Ok(())
        );
        let long = "a".repeat(MAX_REGEX_BYTES + 1);
        assert!(check_regex(&long).unwrap_err().contains("bytes long"));
        // Deep nesting stops at the AST parser's limit, below Go's.
        let deep = format!("{}a{}", "(".repeat(300), ")".repeat(300));
        assert!(check_regex(&deep).is_err());
    }

    #[test]
    fn script_list_is_go_1_20s() {
        assert_eq!(GO_SCRIPTS.len(), 156);
        assert!(GO_SCRIPTS.windows(2).all(|w| w[0] < w[1]), "sorted, unique");
        assert!(
            GO_CATEGORIES.windows(2).all(|w| w[0] < w[1]),
            "sorted, unique"
        );
    }
}
