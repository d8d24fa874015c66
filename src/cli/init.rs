//! `obsgen init`: the answers (flags, answers file, `OBSGEN_*` variables, what the folder
//! suggests; the wizard on a terminal), and the manifest rendered from them and written
//! atomically.

use std::io::{IsTerminal as _, Write as _};
use std::path::Path;

use anyhow::{Context as _, Result, bail};

use super::generate::{generate, write_atomically};
use super::{Cli, cwd, use_color};
use crate::project::{self, MANIFEST_FILE, Project};

pub(super) fn init(
    cli: &Cli,
    defaults: bool,
    set: &[String],
    answers: Option<&Path>,
    force: bool,
) -> Result<u8> {
    let dir = cwd(cli)?;
    let target = match &cli.manifest {
        Some(p) if p.is_absolute() => p.clone(),
        Some(p) => dir.join(p),
        None => dir.join(MANIFEST_FILE),
    };
    if std::fs::symlink_metadata(&target).is_ok() && !force {
        bail!(
            "{} already exists\nhelp: pass --force to overwrite it",
            target.display()
        );
    }
    let answers_file = match answers {
        Some(p) => {
            let text = std::fs::read_to_string(dir.join(p))
                .with_context(|| format!("reading {}", p.display()))?;
            Some((p.display().to_string(), text))
        }
        None => None,
    };
    let env = crate::init::env_sets(std::env::vars())?;
    let given = crate::init::gather_all(
        answers_file.as_ref().map(|(n, t)| (n.as_str(), t.clone())),
        &env,
        set,
    )?;
    let folder = target.parent().unwrap_or(&dir).to_path_buf();
    let found = crate::detect::scan(&folder);
    let proposed = crate::init::proposals(&found, &folder);
    let interactive = !defaults
        && std::io::stdin().is_terminal()
        && std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none_or(|v| v.is_empty());
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| MANIFEST_FILE.into());
    let wizard = if interactive {
        crate::wizard::install_ctrlc();
        Some(crate::wizard::Wizard::new(use_color(
            cli.color,
            std::io::stderr().is_terminal(),
        )))
    } else {
        None
    };
    let all = match &wizard {
        Some(w) => w.ask(&given, &proposed, &found)?,
        None => {
            for w in &found.warnings {
                if !cli.quiet {
                    errln!("warning: {w}");
                }
            }
            let all = crate::init::answers_over(given, proposed);
            let missing = crate::init::missing(&all);
            if !defaults && !missing.is_empty() {
                return Err(crate::init::missing_error(&missing));
            }
            all
        }
    };
    let mut filled = crate::init::fill(&all, &folder)?;
    let moves = crate::init::settle_ports(&mut filled)?;
    if !cli.quiet && wizard.is_none() {
        for m in &moves {
            errln!("note: {m}");
        }
    }
    let text = crate::init::render_filled(&filled)?;
    // The manifest must be valid before it is written.
    project::load_valid(text.clone(), &format!("{name} (from your answers)"))?;
    if let Some(w) = &wizard {
        let generated = project::generate_from(&text, &name, cli.templates.as_deref())?;
        let files: Vec<String> = generated.files.iter().map(|f| f.path.clone()).collect();
        let locked: Vec<String> = project::read_lock(&folder)
            .ok()
            .flatten()
            .map(|l| l.files.into_iter().map(|f| f.path).collect())
            .unwrap_or_default();
        let mut summary = crate::wizard::summary(&filled);
        summary.extend(moves.iter().map(|m| format!("note: {m}")));
        for f in files
            .iter()
            .filter(|f| folder.join(f).exists() && !locked.contains(f))
        {
            summary.push(format!(
                "note: {f} exists and was not written by obsgen: `generate` leaves it alone until you move it away (or pass --force)"
            ));
        }
        if !w.confirm(&summary, &files, &name)? {
            w.say("nothing written")?;
            return Ok(0);
        }
    }
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    crate::wizard::WRITING.store(true, std::sync::atomic::Ordering::SeqCst);
    let written = write_atomically(&folder, &target, &text);
    crate::wizard::WRITING.store(false, std::sync::atomic::Ordering::SeqCst);
    written?;
    if !cli.quiet {
        outln!("wrote {}", target.display());
    }
    if let Some(w) = &wizard
        && w.offer_generate()?
    {
        let project = Project::locate(&folder, Some(&target))?;
        return generate(cli, &project, false, false);
    }
    if !cli.quiet {
        outln!("next: edit it, then run `obsgen generate`");
    }
    Ok(0)
}
