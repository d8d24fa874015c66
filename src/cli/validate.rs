//! `obsgen validate`: runs the external validators over the generated files and prints a
//! table of their outcomes.

use std::io::{IsTerminal as _, Write as _};

use anyhow::{Result, bail};

use super::report::state_style;
use super::{Cli, cwd, paint};
use crate::project::{self, Project, State};

pub(super) fn validate(cli: &Cli, color: bool) -> Result<u8> {
    use crate::validators::{Outcome, checks, run};
    let dir = cwd(cli)?;
    let project = Project::locate(&dir, cli.manifest.as_deref())?;
    let Some(lock) = project::read_lock(&project.root)? else {
        bail!(
            "{} has no obsgen.lock: nothing was generated yet\nhelp: run `obsgen generate` first",
            project.root.display()
        );
    };
    let generated: Vec<String> = lock.files.iter().map(|f| f.path.clone()).collect();
    let checks = checks(&project.root, &generated);
    let bar = if std::io::stderr().is_terminal() && !cli.quiet {
        let b = indicatif::ProgressBar::new(checks.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut rows = Vec::new();
    for c in &checks {
        bar.set_message(c.name.clone());
        rows.push(run(&project.root, c));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let mut out = std::io::stdout().lock();
    let width = rows
        .iter()
        .map(|r| r.check.name.len())
        .max()
        .unwrap_or(10)
        .min(70);
    // With -q only the failures are printed.
    for r in rows
        .iter()
        .filter(|r| !cli.quiet || matches!(r.outcome, Outcome::Failed(_)))
    {
        let (text, style) = match &r.outcome {
            Outcome::Ok => ("ok", state_style(State::Ok)),
            Outcome::Failed(_) => ("FAILED", state_style(State::Modified)),
            Outcome::NotFound => ("not found", state_style(State::Missing)),
        };
        writeln!(
            out,
            "{:<9} {:<width$}  {:>6} ms",
            paint(color, style, text),
            r.check.name,
            r.took.as_millis()
        )?;
    }
    let failed: Vec<_> = rows
        .iter()
        .filter(|r| matches!(r.outcome, Outcome::Failed(_)))
        .collect();
    let missing: std::collections::BTreeMap<&str, &str> = rows
        .iter()
        .filter(|r| r.outcome == Outcome::NotFound)
        .map(|r| {
            (
                r.check
                    .needs
                    .filter(|n| crate::validators::find(n).is_none())
                    .unwrap_or(r.check.tool),
                r.check.install,
            )
        })
        .collect();
    for r in &failed {
        if let Outcome::Failed(text) = &r.outcome {
            writeln!(
                out,
                "\n--- {} ({} {}):\n{}",
                r.check.name,
                r.check.tool,
                r.check.args.join(" "),
                text.trim_end()
            )?;
        }
    }
    if cli.quiet {
        return Ok(u8::from(!failed.is_empty()));
    }
    if !missing.is_empty() {
        writeln!(out)?;
        for (tool, install) in &missing {
            writeln!(out, "not found: {tool} (install: {install})")?;
        }
    }
    let ok = rows.iter().filter(|r| r.outcome == Outcome::Ok).count();
    writeln!(
        out,
        "\nvalidate: {ok} passed, {} failed, {} not run (validator not found)",
        failed.len(),
        rows.len() - ok - failed.len()
    )?;
    Ok(u8::from(!failed.is_empty()))
}
