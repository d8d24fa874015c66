//! Diagnostics: problems found in user input (the manifest, answers, `--set` values),
//! each with a location (file:line:col), the key it concerns and a `help:` line.
//!
//! Every stage that reads user input collects *all* of its problems into a
//! [`Diagnostics`] list instead of stopping at the first; the command line renders
//! them (with a source excerpt, coloured when asked) and exits with code 2.
//!
//! Rendering is safe on hostile input: characters that could drive a terminal or
//! break the layout ([`is_control_like`]) are shown escaped (`\u{85}`) in messages and
//! as U+FFFD in excerpts, a long line is cut to a window around the column, and
//! locations come from a line index, so many problems in a large file render in
//! linear time.

use std::fmt::Write as _;
use std::ops::Range;

use anstyle::{AnsiColor, Style};

/// Characters no text obsgen reads may carry into its output, nor print raw: C0
/// controls (tab and line feed included; callers that allow them test for them first),
/// DEL, C1 controls (NEL, U+0085, among them), the line and paragraph separators
/// U+2028/U+2029 (line breaks to YAML 1.1 readers such as Go's yaml.v2), the
/// byte-order mark U+FEFF and the 66 Unicode noncharacters (U+FDD0–U+FDEF and
/// U+xxFFFE/U+xxFFFF).
pub fn is_control_like(c: char) -> bool {
    let n = c as u32;
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
        || (0xfdd0..=0xfdef).contains(&n)
        || n & 0xfffe == 0xfffe
}

/// `text` with every [`is_control_like`] character except tab and line feed written
/// as a Rust escape (`\u{85}`), for messages that quote user input.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_control_like(c) && c != '\n' && c != '\t' {
            write!(out, "\\u{{{:x}}}", c as u32).unwrap();
        } else {
            out.push(c);
        }
    }
    out
}

/// One problem in user input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    /// Dotted key path, for example `service[1].port`.
    pub key: Option<String>,
    /// Byte range in the source text.
    pub span: Option<Range<usize>>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            key: None,
            span: None,
            help: None,
        }
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub fn span(mut self, span: Option<Range<usize>>) -> Self {
        self.span = span;
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// A source text with its display name, for turning byte offsets into line:col.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub text: String,
}

impl Source {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Source {
            name: name.into(),
            text: text.into(),
        }
    }

    /// 1-based (line, column) of a byte offset; column counts characters.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        LineIndex::new(&self.text).line_col(offset)
    }
}

/// Byte offsets of line starts, for many `line:col` look-ups in one text.
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    /// 1-based (line, column) of a byte offset; column counts characters.
    fn line_col(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line - 1];
        (line, self.text[start..offset].chars().count() + 1)
    }

    /// Text of a 1-based line, without its line break.
    fn line_text(&self, line: usize) -> &'a str {
        let Some(&start) = self.starts.get(line - 1) else {
            return "";
        };
        let end = self
            .starts
            .get(line)
            .map_or(self.text.len(), |&next| next - 1);
        self.text[start..end].trim_end_matches('\r')
    }
}

/// Lines longer than this many characters are shown as a window around the column.
const EXCERPT_MAX: usize = 160;
/// Characters of a long line shown before the column.
const EXCERPT_BEFORE: usize = 40;
/// Characters of a long line shown in all.
const EXCERPT_WINDOW: usize = 120;

/// The part of a source line to show, and the column in it: control-like characters
/// as U+FFFD (one column each, so the carets stay aligned), and a line longer than
/// [`EXCERPT_MAX`] characters cut to a window around `col`, marked with `…`.
fn excerpt(line: &str, col: usize) -> (String, usize) {
    let chars: Vec<char> = line
        .chars()
        .map(|c| {
            if is_control_like(c) && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    if chars.len() <= EXCERPT_MAX {
        return (chars.into_iter().collect(), col);
    }
    let from = (col - 1).saturating_sub(EXCERPT_BEFORE).min(chars.len());
    let to = (from + EXCERPT_WINDOW).min(chars.len());
    let mut text = String::new();
    let mut col = col - from;
    if from > 0 {
        text.push('…');
        col += 1;
    }
    text.extend(&chars[from..to]);
    if to < chars.len() {
        text.push('…');
    }
    (text, col)
}

/// All problems found in one source, rendered together.
#[derive(Debug, Clone)]
pub struct Diagnostics {
    pub source: Source,
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new(source: Source, mut items: Vec<Diagnostic>) -> Self {
        // Report in source order; problems without a location last.
        items.sort_by_key(|d| d.span.as_ref().map_or(usize::MAX, |s| s.start));
        Diagnostics { source, items }
    }

    /// `file:line:col` of one diagnostic (or just `file`).
    pub fn location(&self, d: &Diagnostic) -> String {
        self.location_in(&LineIndex::new(&self.source.text), d)
    }

    fn location_in(&self, index: &LineIndex<'_>, d: &Diagnostic) -> String {
        match &d.span {
            Some(span) => {
                let (line, col) = index.line_col(span.start);
                format!("{}:{line}:{col}", self.source.name)
            }
            None => self.source.name.clone(),
        }
    }

    /// Renders every diagnostic, rustc-style, and a closing count.
    pub fn render(&self, color: bool) -> String {
        let paint = |style: Style, text: &str| {
            if color {
                format!("{}{text}{}", style.render(), style.render_reset())
            } else {
                text.to_string()
            }
        };
        let err = Style::new().bold().fg_color(Some(AnsiColor::Red.into()));
        let blue = Style::new().bold().fg_color(Some(AnsiColor::Blue.into()));
        let help_style = Style::new().bold().fg_color(Some(AnsiColor::Cyan.into()));
        let index = LineIndex::new(&self.source.text);
        let mut out = String::new();
        for d in &self.items {
            writeln!(
                out,
                "{}: {}",
                paint(err, "error"),
                paint(Style::new().bold(), &escape_controls(&d.message))
            )
            .unwrap();
            writeln!(
                out,
                "  {} {}",
                paint(blue, "-->"),
                self.location_in(&index, d)
            )
            .unwrap();
            if let Some(span) = &d.span {
                let (line, col) = index.line_col(span.start);
                let line_text = index.line_text(line);
                // Carets under the span's first line (at least one, within the line).
                let span_end = span.end.min(line_text.len() + index.starts[line - 1]);
                let span_chars = self
                    .source
                    .text
                    .get(span.start..span_end.max(span.start))
                    .map_or(0, |s| s.chars().count());
                let (text, col) = excerpt(line_text, col);
                let line_len = text.chars().count();
                let carets = span_chars.clamp(1, line_len.saturating_sub(col - 1).max(1));
                let width = line.to_string().len();
                let pad = " ".repeat(width);
                writeln!(out, "{pad} {}", paint(blue, "|")).unwrap();
                writeln!(
                    out,
                    "{} {} {text}",
                    paint(blue, &line.to_string()),
                    paint(blue, "|")
                )
                .unwrap();
                writeln!(
                    out,
                    "{pad} {} {}{}",
                    paint(blue, "|"),
                    " ".repeat(col - 1),
                    paint(err, &"^".repeat(carets))
                )
                .unwrap();
            }
            if let Some(key) = &d.key {
                writeln!(out, "   = key: {}", escape_controls(key)).unwrap();
            }
            if let Some(help) = &d.help {
                writeln!(
                    out,
                    "{}: {}",
                    paint(help_style, "help"),
                    escape_controls(help)
                )
                .unwrap();
            }
            out.push('\n');
        }
        let n = self.items.len();
        writeln!(
            out,
            "{}: {} has {n} problem{}; nothing was written",
            paint(err, "error"),
            self.source.name,
            if n == 1 { "" } else { "s" }
        )
        .unwrap();
        out
    }
}

impl std::fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(false))
    }
}

impl std::error::Error for Diagnostics {}

/// Levenshtein distance, for "did you mean" suggestions.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The closest candidate to `word`, if it is close enough to be a likely typo.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_and_in_characters() {
        let s = Source::new("f", "a = 1\nbé = \"x\"\n");
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(6), (2, 1));
        // "bé = " : é is two bytes, one column
        assert_eq!(s.line_col(6 + "bé = ".len()), (2, 6));
    }

    #[test]
    fn render_shows_location_key_and_help() {
        let src = Source::new("obsgen.toml", "[project]\nname = \"Foo\"\n");
        let d = Diagnostic::new("bad name")
            .key("project.name")
            .span(Some(17..22))
            .help("use lowercase");
        let text = Diagnostics::new(src, vec![d]).render(false);
        assert!(text.contains("--> obsgen.toml:2:8"), "{text}");
        assert!(text.contains("^^^^^"), "{text}");
        assert!(text.contains("= key: project.name"), "{text}");
        assert!(text.contains("help: use lowercase"), "{text}");
        assert!(text.contains("has 1 problem;"), "{text}");
    }

    #[test]
    fn suggestions_only_for_near_misses() {
        assert_eq!(suggest("replica", ["replicas", "port"]), Some("replicas"));
        assert_eq!(suggest("zzzz", ["replicas", "port"]), None);
    }

    #[test]
    fn control_characters_are_never_printed_raw() {
        let text = "a = \"x\u{85}y\u{1b}[31m\"\n";
        let d = Diagnostic::new("bad `x\u{85}y\u{1b}`")
            .key("a\u{2028}")
            .span(Some(4..text.len() - 1))
            .help("h\u{9b}");
        let out = Diagnostics::new(Source::new("f", text), vec![d]).render(false);
        assert!(
            !out.chars().any(|c| is_control_like(c) && c != '\n'),
            "{out:?}"
        );
        assert!(out.contains("bad `x\\u{85}y\\u{1b}`"), "{out}");
        assert!(out.contains("= key: a\\u{2028}"), "{out}");
        assert!(out.contains("a = \"x\u{fffd}y\u{fffd}[31m\""), "{out}");
    }

    #[test]
    fn long_lines_are_cut_around_the_column() {
        let text = format!("{} = 1\n", "k".repeat(5_000));
        let d = Diagnostic::new("m").span(Some(3_000..3_001));
        let out = Diagnostics::new(Source::new("f", text.clone()), vec![d]).render(false);
        assert!(out.contains("--> f:1:3001"), "{out}");
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[3], format!("1 | …{}…", "k".repeat(120)));
        // The caret sits under the column: 40 characters of context, then `…`.
        assert_eq!(lines[4], format!("  | {}^", " ".repeat(41)));
        let d = Diagnostic::new("m").span(Some(0..5_000));
        let out = Diagnostics::new(Source::new("f", text), vec![d]).render(false);
        assert!(out.len() < 500, "{out}");
    }

    #[test]
    fn many_problems_in_a_large_file_render_in_linear_time() {
        let text = "x = 1\n".repeat(100_000);
        let items = (0..100_000)
            .map(|i| Diagnostic::new("m").span(Some(i * 6..i * 6 + 1)))
            .collect();
        let started = std::time::Instant::now();
        let out = Diagnostics::new(Source::new("f", text), items).render(false);
        assert!(out.contains("--> f:100000:1"));
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}
