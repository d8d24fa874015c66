//! `obsgen secrets`: fills `.env` and `secrets/` where values are missing (`--dry-run`
//! and `--check` write nothing; `--check` exits 1 when something would be written) and
//! prints what it did or would do.

use std::io::Write as _;

use anyhow::{Context as _, Result};

use super::{Cli, cwd};
use crate::project::{self, Project};

pub(super) fn secrets(cli: &Cli, dry_run: bool, check: bool) -> Result<u8> {
    let dir = cwd(cli)?;
    let project = Project::locate(&dir, cli.manifest.as_deref())?;
    let text = std::fs::read_to_string(&project.manifest)
        .with_context(|| format!("reading {}", project.manifest.display()))?;
    let manifest = project::load_valid(text, &project.manifest_name)?;
    let model = crate::assemble::model(&manifest, &project.manifest_name);
    let plan = crate::secrets::run(&project.root, &model, dry_run)?;
    let pending = plan.dotenv.is_some()
        || !plan.files.is_empty()
        || plan.gitignore.is_some()
        || !plan.env_files.is_empty()
        || !plan.needed.is_empty();
    if cli.quiet {
        return Ok(u8::from(check && pending));
    }
    let would = |yes: &str, no: &str| {
        if dry_run {
            no.to_string()
        } else {
            yes.to_string()
        }
    };
    let mut lines = Vec::new();
    if plan.dotenv.is_some() {
        lines.push(format!(
            "{} .env (mode 0600): {} random, {} proposed, {} kept",
            would("wrote", "would write"),
            plan.generated.len(),
            plan.proposed.len(),
            plan.kept.len()
        ));
        if !plan.generated.is_empty() {
            lines.push(format!("  random: {}", plan.generated.join(", ")));
        }
        if !plan.proposed.is_empty() {
            lines.push(format!("  proposed: {}", plan.proposed.join(", ")));
        }
    } else {
        lines.push(format!(".env: every value set ({} kept)", plan.kept.len()));
    }
    for (path, _) in &plan.files {
        lines.push(format!("{} {path}", would("wrote", "would write")));
    }
    for path in &plan.files_kept {
        lines.push(format!("{path}: exists, kept"));
    }
    for path in &plan.env_files {
        lines.push(format!(
            "{} {path} (empty env_file of a service, mode 0600; put its settings there)",
            would("created", "would create")
        ));
    }
    if plan.gitignore.is_some() {
        lines.push(format!(
            "{} .gitignore: ignore .env, secrets/ and env_files",
            would("updated", "would update")
        ));
    }
    if !plan.needed.is_empty() {
        lines.push("still needed, only you can provide these:".into());
        for (what, how) in &plan.needed {
            lines.push(format!("  - {what}: {how}"));
        }
    }
    if plan
        .generated
        .iter()
        .any(|v| v == crate::components::prometheus::login::PASSWORD_VAR)
        && !dry_run
    {
        lines.push(format!(
            "next: run `obsgen generate` so {} gets the hash of the new {}",
            crate::components::prometheus::login::WEB_FILE,
            crate::components::prometheus::login::PASSWORD_VAR
        ));
    }
    for l in lines {
        outln!("{l}");
    }
    Ok(u8::from(check && pending))
}
