//! `obsgen generate`: runs the pipeline (with a progress spinner and, with `-v`, stage
//! timings) and emits the project.

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;

use anyhow::Result;

use super::Cli;
use crate::project::{self, Project};

/// Runs the pipeline with a progress spinner (stderr is a terminal and not `-q`) and,
/// with `-v`, the time each stage took.
pub(super) fn run_pipeline(cli: &Cli, project: &Project) -> Result<project::Generated> {
    let bar = if std::io::stderr().is_terminal() && !cli.quiet {
        let b = indicatif::ProgressBar::new(7);
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{bar:20}] {msg}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        b.enable_steady_tick(std::time::Duration::from_millis(100));
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let start = std::time::Instant::now();
    let mut last: Option<(&'static str, std::time::Instant)> = None;
    let mut timings: Vec<(&'static str, std::time::Duration)> = Vec::new();
    let result =
        project::generate_project_stages(project, cli.templates.as_deref(), &mut |stage| {
            let now = std::time::Instant::now();
            if let Some((name, t)) = last.take() {
                timings.push((name, now - t));
            }
            last = Some((stage, now));
            bar.set_message(stage);
            bar.inc(1);
        });
    if let Some((name, t)) = last {
        timings.push((name, t.elapsed()));
    }
    bar.finish_and_clear();
    let generated = result?;
    if !cli.quiet {
        for c in generated
            .model
            .settled
            .alerts
            .custom
            .iter()
            .filter(|c| c.test.is_none())
        {
            errln!(
                "warning: custom alert `{}` has no test: add [alerts.custom.test] (input series, eval_time, the labels expected) so promtool checks it fires",
                c.name
            );
        }
    }
    if cli.verbose {
        for (name, took) in &timings {
            errln!("stage {name:<8} {:>8.1} ms", took.as_secs_f64() * 1000.0);
        }
        errln!(
            "pipeline: {} files in {:.1} ms",
            generated.files.len(),
            start.elapsed().as_secs_f64() * 1000.0
        );
    }
    Ok(generated)
}

pub(super) fn generate(cli: &Cli, project: &Project, dry_run: bool, force: bool) -> Result<u8> {
    // One run at a time (before anything is read); interrupted, it removes its
    // temporary files.
    let held = project::lock_project(&project.root)?;
    project::clean_up_on_interrupt();
    let generated = run_pipeline(cli, project)?;
    let t = std::time::Instant::now();
    let outcome = project::emit(&project.root, &held, &generated, force, dry_run)?;
    if cli.verbose {
        errln!(
            "stage {:<8} {:>8.1} ms",
            "write",
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
    if cli.quiet {
        return Ok(0);
    }
    if outcome.leftovers > 0 {
        outln!(
            "{} {} leftover temporary file{} of an interrupted run",
            if dry_run { "would remove" } else { "removed" },
            outcome.leftovers,
            if outcome.leftovers == 1 { "" } else { "s" }
        );
    }
    let verb = if dry_run { "would write" } else { "wrote" };
    for p in &outcome.written {
        outln!("{verb} {p}");
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    for p in &outcome.removed {
        outln!("{verb} {p}");
    }
    if cli.verbose {
        let written: std::collections::BTreeSet<&String> = outcome.written.iter().collect();
        for f in generated
            .files
            .iter()
            .filter(|f| !written.contains(&f.path))
        {
            outln!("unchanged {}", f.path);
        }
    }
    outln!(
        "{}: {} written, {} removed, {} unchanged{}",
        if dry_run { "dry run" } else { "generate" },
        outcome.written.len(),
        outcome.removed.len(),
        outcome.unchanged,
        if dry_run {
            " (nothing was written)"
        } else {
            ""
        }
    );
    Ok(0)
}

pub(super) fn write_atomically(folder: &Path, target: &Path, text: &str) -> Result<()> {
    let mut tmp = tempfile::Builder::new()
        .prefix(".obsgen-")
        .tempfile_in(folder)?;
    tmp.write_all(text.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))?;
    }
    tmp.persist(target)
        .map_err(|e| anyhow::anyhow!("writing {}: {}", target.display(), e.error))?;
    Ok(())
}
