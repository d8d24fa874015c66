//! Diagnostics: problems found in user input (the manifest, answers, `--set` values),
//! each with a location (file:line:col), the key it concerns and a `help:` line.
//!
//! Every stage that reads user input collects *all* of its problems into a
//! [`Diagnostics`] list instead of stopping at the first; the command line renders
//! them (with a source excerpt, coloured when asked) and exits with code 2.

use std::fmt::Write as _;
use std::ops::Range;

use anstyle::{AnsiColor, Style};

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
        let offset = offset.min(self.text.len());
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = self.text[line_start..offset].chars().count() + 1;
        (line, col)
    }

    fn line_text(&self, line: usize) -> &str {
        self.text.lines().nth(line - 1).unwrap_or("")
    }
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
        match &d.span {
            Some(span) => {
                let (line, col) = self.source.line_col(span.start);
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
        let mut out = String::new();
        for d in &self.items {
            writeln!(
                out,
                "{}: {}",
                paint(err, "error"),
                paint(Style::new().bold(), &d.message)
            )
            .unwrap();
            writeln!(out, "  {} {}", paint(blue, "-->"), self.location(d)).unwrap();
            if let Some(span) = &d.span {
                let (line, col) = self.source.line_col(span.start);
                let text = self.source.line_text(line);
                let width = line.to_string().len();
                let line_len = text.chars().count();
                let span_chars = self.source.text[span.clone()]
                    .lines()
                    .next()
                    .unwrap_or("")
                    .chars()
                    .count();
                let carets = span_chars.clamp(1, line_len.saturating_sub(col - 1).max(1));
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
                writeln!(out, "   = key: {key}").unwrap();
            }
            if let Some(help) = &d.help {
                writeln!(out, "{}: {help}", paint(help_style, "help")).unwrap();
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
}
