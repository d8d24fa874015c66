//! How `check` and `diff` print file states: one coloured line per file, a summary, and
//! unified diffs.

use anstyle::{AnsiColor, Style};
use anyhow::Result;

use super::paint;
use crate::project::{self, State, Status};

pub(super) fn state_style(state: State) -> Style {
    let c = match state {
        State::Ok => AnsiColor::Green,
        State::Stale | State::Missing => AnsiColor::Yellow,
        State::Modified | State::Orphaned => AnsiColor::Red,
    };
    Style::new().fg_color(Some(c.into())).bold()
}

pub(super) fn write_diff(out: &mut impl std::io::Write, s: &Status, color: bool) -> Result<()> {
    let diff = project::unified_diff(s);
    for line in diff.lines() {
        let style = if line.starts_with("+++") || line.starts_with("---") {
            Style::new().bold()
        } else if line.starts_with('+') {
            Style::new().fg_color(Some(AnsiColor::Green.into()))
        } else if line.starts_with('-') {
            Style::new().fg_color(Some(AnsiColor::Red.into()))
        } else if line.starts_with("@@") {
            Style::new().fg_color(Some(AnsiColor::Cyan.into()))
        } else {
            Style::new()
        };
        writeln!(out, "{}", paint(color, style, line))?;
    }
    Ok(())
}

/// `check`'s report: the files that are not ok (every file with `all`, i.e. `-v`), the
/// diffs of stale files, then one summary line — as `cargo fmt --check` and `terraform plan`.
pub(super) fn print_human(
    out: &mut impl std::io::Write,
    statuses: &[Status],
    color: bool,
    all: bool,
) -> Result<()> {
    let listed: Vec<&Status> = statuses
        .iter()
        .filter(|s| all || s.state != State::Ok)
        .collect();
    for s in &listed {
        let state = paint(
            color,
            state_style(s.state),
            &format!("{:<9}", s.state.as_str()),
        );
        if s.detail.is_empty() {
            writeln!(out, "{state} {}", s.path)?;
        } else {
            writeln!(out, "{state} {}  ({})", s.path, s.detail)?;
        }
    }
    for s in statuses
        .iter()
        .filter(|s| s.state == State::Stale && s.path != crate::lock::LOCK_FILE)
    {
        writeln!(out)?;
        write_diff(out, s, color)?;
    }
    let drift: Vec<&Status> = statuses.iter().filter(|s| s.state != State::Ok).collect();
    if !listed.is_empty() {
        writeln!(out)?;
    }
    if drift.is_empty() {
        writeln!(out, "check: all {} files up to date", statuses.len())?;
    } else {
        let edited = drift.iter().any(|s| s.state == State::Modified);
        writeln!(
            out,
            "check: {} of {} files drifted; run `obsgen generate`{}",
            drift.len(),
            statuses.len(),
            if edited {
                " (hand edits: move them into the manifest first, then --force)"
            } else {
                ""
            }
        )?;
    }
    Ok(())
}
