//! Whether the project's `.gitignore` ignores a path, by git's rules (gitignore(5)),
//! without running git: the last matching pattern wins, `!` re-includes, a leading or
//! inner `/` anchors a pattern to the project root, a trailing `/` matches folders
//! only, `*`, `?`, `[…]` and `**` glob as in git, `#` starts a comment, `\` escapes,
//! trailing spaces and a CR before the newline are dropped, and nothing below an
//! ignored folder can be re-included. `obsgen secrets` asks only about the few paths
//! it writes; a pattern it cannot decide (a `[:class:]`, a broken `[`) makes the
//! answer "not ignored", so the caller adds its own entry, which is always safe.

/// One pattern line.
#[derive(Debug)]
struct Pattern {
    glob: Vec<char>,
    negated: bool,
    dir_only: bool,
    /// Had a `/` before its end: matched against the whole path from the root;
    /// otherwise against the last component, at any depth.
    anchored: bool,
}

/// The patterns of one `.gitignore` at the project root.
#[derive(Debug, Default)]
pub struct Gitignore {
    patterns: Vec<Pattern>,
}

/// A pattern this module does not decide.
#[derive(Debug)]
struct Exotic;

impl Gitignore {
    /// Parses `.gitignore` bytes (any encoding: lines that are not UTF-8 cannot
    /// match the ASCII paths asked about, and are read lossily).
    pub fn parse(bytes: &[u8]) -> Gitignore {
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let text = String::from_utf8_lossy(bytes);
        let patterns = text
            .split('\n')
            .filter_map(|line| {
                let line = line.strip_suffix('\r').unwrap_or(line);
                if line.is_empty() || line.starts_with('#') {
                    return None;
                }
                let line = trim_trailing_spaces(line);
                let (negated, line) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest),
                    None => (false, line),
                };
                let (dir_only, line) = match line.strip_suffix('/') {
                    Some(rest) => (true, rest),
                    None => (false, line),
                };
                let anchored = line.contains('/');
                let line = line.strip_prefix('/').unwrap_or(line);
                (!line.is_empty()).then(|| Pattern {
                    glob: line.chars().collect(),
                    negated,
                    dir_only,
                    anchored,
                })
            })
            .collect();
        Gitignore { patterns }
    }

    /// Whether git ignores the file (or, with `is_dir`, the folder) at `path`
    /// (`/`-separated, relative to the root). `false` when undecidable.
    pub fn ignores(&self, path: &str, is_dir: bool) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        // A file below an ignored folder stays ignored, whatever a later `!` says.
        for i in 1..parts.len() {
            match self.last_match(&parts[..i].join("/"), true) {
                Err(Exotic) => return false,
                Ok(Some(true)) => return true,
                Ok(_) => {}
            }
        }
        matches!(self.last_match(path, is_dir), Ok(Some(true)))
    }

    /// `Some(ignored)` from the last pattern matching `path`, `None` when none does.
    fn last_match(&self, path: &str, is_dir: bool) -> Result<Option<bool>, Exotic> {
        let base = path.rsplit('/').next().unwrap_or(path);
        for p in self.patterns.iter().rev() {
            if p.dir_only && !is_dir {
                continue;
            }
            let text: Vec<char> = if p.anchored { path } else { base }.chars().collect();
            if wildmatch(&p.glob, &text)? {
                return Ok(Some(!p.negated));
            }
        }
        Ok(None)
    }
}

/// Drops unescaped trailing spaces (`a\ ` keeps its space).
fn trim_trailing_spaces(line: &str) -> &str {
    let mut end = 0;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
            end = i + c.len_utf8();
        } else if c == '\\' {
            escaped = true;
            end = i + 1;
        } else if c != ' ' {
            end = i + c.len_utf8();
        }
    }
    &line[..end]
}

/// git's `wildmatch` with `WM_PATHNAME`: `*` and `?` never match `/`; `**` between
/// slashes (or at an end) matches across them. Memoised, so no pattern takes long.
fn wildmatch(glob: &[char], text: &[char]) -> Result<bool, Exotic> {
    let mut memo = std::collections::HashMap::new();
    matches_at(glob, text, 0, 0, &mut memo)
}

fn matches_at(
    p: &[char],
    t: &[char],
    pi: usize,
    ti: usize,
    memo: &mut std::collections::HashMap<(usize, usize), bool>,
) -> Result<bool, Exotic> {
    if let Some(&m) = memo.get(&(pi, ti)) {
        return Ok(m);
    }
    let m = match p.get(pi) {
        None => ti == t.len(),
        Some('*') => {
            let mut end = pi;
            while p.get(end) == Some(&'*') {
                end += 1;
            }
            let double = end - pi >= 2;
            let starts = pi == 0 || p[pi - 1] == '/';
            if double && starts && end == p.len() {
                true
            } else if double && starts && p[end] == '/' {
                // `**/`: zero folders, or any run of text ending before a `/`.
                matches_at(p, t, end + 1, ti, memo)?
                    || (ti..t.len())
                        .filter(|&k| t[k] == '/')
                        .try_fold(false, |found, k| {
                            Ok::<_, Exotic>(found || matches_at(p, t, end, k, memo)?)
                        })?
            } else {
                // A single star (or `**` elsewhere): any run without `/`.
                let stop = (ti..t.len()).find(|&k| t[k] == '/').unwrap_or(t.len());
                (ti..=stop).try_fold(false, |found, k| {
                    Ok::<_, Exotic>(found || matches_at(p, t, end, k, memo)?)
                })?
            }
        }
        Some('?') => ti < t.len() && t[ti] != '/' && matches_at(p, t, pi + 1, ti + 1, memo)?,
        Some('[') => {
            let (matched, next) = class(p, pi, t.get(ti).copied())?;
            matched && matches_at(p, t, next, ti + 1, memo)?
        }
        // A trailing `\\` matches nothing, as in git.
        Some('\\') => {
            p.get(pi + 1).is_some_and(|c| t.get(ti) == Some(c))
                && matches_at(p, t, pi + 2, ti + 1, memo)?
        }
        Some(c) => t.get(ti) == Some(c) && matches_at(p, t, pi + 1, ti + 1, memo)?,
    };
    memo.insert((pi, ti), m);
    Ok(m)
}

/// A `[…]` class at `p[start]` against `c`: (matched, index after `]`).
fn class(p: &[char], start: usize, c: Option<char>) -> Result<(bool, usize), Exotic> {
    let mut i = start + 1;
    let negated = matches!(p.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    loop {
        let lo = match p.get(i) {
            None => return Err(Exotic),
            Some(']') if !first => break,
            Some('[') if p.get(i + 1) == Some(&':') => return Err(Exotic),
            Some('\\') => {
                i += 1;
                *p.get(i).ok_or(Exotic)?
            }
            Some(&ch) => ch,
        };
        first = false;
        i += 1;
        let mut hi = lo;
        if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&n| n != ']') {
            i += 1;
            hi = match p[i] {
                '\\' => {
                    i += 1;
                    *p.get(i).ok_or(Exotic)?
                }
                ch => ch,
            };
            i += 1;
        }
        // A reversed range (`[z-a]`) matches nothing, as in git.
        if c.is_some_and(|c| lo <= c && c <= hi) {
            hit = true;
        }
    }
    let matched = match c {
        Some(c) if c != '/' => hit != negated,
        _ => false,
    };
    Ok((matched, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignored(gitignore: &str, path: &str) -> bool {
        Gitignore::parse(gitignore.as_bytes()).ignores(path, false)
    }

    fn ignored_dir(gitignore: &str, path: &str) -> bool {
        Gitignore::parse(gitignore.as_bytes()).ignores(path, true)
    }

    #[test]
    fn the_last_matching_pattern_wins_and_bang_re_includes() {
        assert!(ignored(".env\n", ".env"));
        assert!(!ignored(".env\n!.env\n", ".env"));
        assert!(ignored(".env\n!.env\n.env\n", ".env"));
        assert!(!ignored("*\n!.env\n", ".env"));
        assert!(ignored("!.env\n*\n", ".env"));
        assert!(!ignored("", ".env"));
        assert!(!ignored(".envrc\n.env.local\nenv\n", ".env"));
    }

    #[test]
    fn comments_escapes_spaces_and_crlf() {
        assert!(!ignored("# .env\n", ".env"));
        assert!(
            !ignored(" .env\n", ".env"),
            "leading spaces are part of the pattern"
        );
        assert!(ignored(".env   \n", ".env"), "trailing spaces are dropped");
        assert!(
            ignored(".env\r\n", ".env"),
            "a CR before the newline is dropped"
        );
        assert!(ignored("\u{feff}.env\n", ".env"), "a BOM is skipped");
        assert!(ignored("\\#x\n", "#x"));
        assert!(!ignored("#x\n", "#x"));
        assert!(ignored("\\!x\n", "!x"));
        assert!(
            ignored(".env\n\\!.env\n", ".env"),
            "`\\!` is a literal, not a negation"
        );
        assert!(ignored("a\\ \n", "a "));
        assert!(ignored(".e\\nv\n", ".env"));
        assert!(
            ignored(".env\n.en\\\n", ".env"),
            "a trailing `\\` matches nothing"
        );
    }

    #[test]
    fn slashes_anchor_and_a_trailing_slash_means_folders_only() {
        assert!(ignored("/.env\n", ".env"));
        assert!(!ignored("/.env\n", "app/.env"));
        assert!(ignored(".env\n", "app/.env"), "no slash: any depth");
        assert!(ignored("app/.env\n", "app/.env"));
        assert!(
            !ignored("app/.env\n", "x/app/.env"),
            "an inner slash anchors too"
        );
        assert!(!ignored(".env/\n", ".env"), "a file is not a folder");
        assert!(ignored_dir("secrets/\n", "secrets"));
        assert!(
            ignored("secrets/\n", "secrets/x"),
            "below an ignored folder"
        );
        assert!(ignored("secrets\n", "secrets/x"));
        assert!(
            ignored("secrets/\n!secrets/x\n", "secrets/x"),
            "nothing below an ignored folder is re-included"
        );
        assert!(ignored("conf/\n", "conf/sub/a.env"));
        assert!(!ignored("/sub/\n", "conf/sub/a.env"));
        assert!(ignored("sub/\n", "conf/sub/a.env"));
        assert!(!ignored("/\n!\n", ".env"), "empty patterns are skipped");
    }

    #[test]
    fn globs_match_as_in_git() {
        assert!(ignored("*.env\n", "worker.env"));
        assert!(ignored("*.env\n", ".env"));
        assert!(ignored("*.env\n", "conf/worker.env"));
        assert!(!ignored("/*.env\n", "conf/worker.env"), "`*` stops at `/`");
        assert!(ignored("conf/*.env\n", "conf/worker.env"));
        assert!(ignored(".en?\n", ".env"));
        assert!(ignored(".e[mn]v\n", ".env"));
        assert!(ignored(".e[a-z]v\n", ".env"));
        assert!(!ignored(".e[!n]v\n", ".env"));
        assert!(ignored(".e[^m]v\n", ".env"));
        assert!(ignored("[]]x\n", "]x"));
        assert!(ignored("secrets/*\n", "secrets/x"));
        assert!(!ignored_dir("secrets/*\n", "secrets"));
        assert!(!ignored("/s*b\n", "s/b"), "`*` stops at `/`");
        assert!(
            ignored("secrets/*\n", "secrets/a/b"),
            "the folder secrets/a is ignored"
        );
        assert!(ignored("secrets/**\n", "secrets/a/b"));
        assert!(ignored("**/.env\n", ".env"));
        assert!(ignored("**/.env\n", "a/b/.env"));
        assert!(ignored("a/**/b.env\n", "a/b.env"));
        assert!(ignored("a/**/b.env\n", "a/x/y/b.env"));
        assert!(!ignored("a/**/b.env\n", "a/xb.env"));
        assert!(ignored("a**\n", "ab"));
        assert!(!ignored("/a**b\n", "a/b"), "`**` inside a component is `*`");
        assert!(ignored("**\n", "a/b/c"));
        assert!(
            ignored(
                &format!("{}b\n", "*a".repeat(40)),
                &format!("{}b", "a".repeat(45))
            ),
            "fast on many stars"
        );
        assert!(!ignored(
            &format!("{}c\n", "*a".repeat(40)),
            &"a".repeat(60)
        ));
    }

    #[test]
    fn what_it_cannot_decide_counts_as_not_ignored() {
        assert!(!ignored(".env\n[[:alpha:]]x\n", ".env"));
        assert!(!ignored(".env\n[abc\n", ".env"));
        assert!(!ignored(".env\n.en[\n", ".env"));
        // Decided before reaching the exotic pattern (searching from the last line).
        assert!(ignored("[[:alpha:]]x\n.env\n", ".env"));
    }
}
