//! Writing a generated project: the advisory lock on the project folder, leftover
//! temporary files of an interrupted run, the order of writes (pending record, files,
//! `.gitattributes`, orphans, lock last) and the clean-up on SIGINT/SIGTERM/SIGHUP.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use super::disk::{Staged, checked_rel, temps, write_atomic, write_batch};
use super::status::{State, Status, orphan_edited, read_lock_for, read_pending, status};
use super::{GITATTRIBUTES, Generated, MANIFEST_FILE, TEMP_PREFIX};
use crate::lock::{LOCK_FILE, Lock, PENDING_FILE, Pending, PendingFile, sha256};

/// What `generate` did or would do.
#[derive(Debug, Default)]
pub struct Outcome {
    pub written: Vec<String>,
    pub removed: Vec<String>,
    pub unchanged: usize,
    /// Temporary files of an interrupted run removed (or, dry run, to remove).
    pub leftovers: usize,
}

/// The project's advisory lock: `flock` on the project folder itself (no file is
/// created), released when dropped or when the process ends, however it ends.
pub struct ProjectLock {
    #[cfg(unix)]
    _dir: std::fs::File,
}

/// Takes the project's advisory lock, or refuses (exit 2) while another `generate`
/// holds it.
pub fn lock_project(root: &Path) -> Result<ProjectLock> {
    #[cfg(unix)]
    {
        let dir = std::fs::File::open(root)
            .with_context(|| format!("opening the project folder {}", root.display()))?;
        match dir.try_lock() {
            Ok(()) => Ok(ProjectLock { _dir: dir }),
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "another `obsgen generate` is running in {} (it holds the folder's lock)\nhelp: wait for it to finish, then run `obsgen generate` again",
                root.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("locking the project folder {}", root.display()))
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = root;
        Ok(ProjectLock {})
    }
}

/// Whether a file name is one of obsgen's temporary files (`.obsgen-` and the 6
/// random letters and digits `tempfile` adds).
fn is_temp_name(name: &str) -> bool {
    name.strip_prefix(TEMP_PREFIX)
        .is_some_and(|r| r.len() == 6 && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Temporary files an interrupted run left in the folders obsgen writes into (the
/// project folder and the folders of every generated, locked or pending file). Only
/// regular files; folders reached through a symlink are skipped.
fn leftover_temps(
    root: &Path,
    generated: &Generated,
    lock: Option<&Lock>,
    pending: &Pending,
) -> Vec<PathBuf> {
    let mut dirs: BTreeSet<PathBuf> = BTreeSet::from([PathBuf::new()]);
    let paths = generated
        .files
        .iter()
        .map(|f| f.path.as_str())
        .chain(
            lock.iter()
                .flat_map(|l| l.files.iter())
                .map(|f| f.path.as_str()),
        )
        .chain(pending.files.iter().map(|f| f.path.as_str()));
    for p in paths {
        if let Some(parent) = Path::new(p).parent() {
            dirs.insert(parent.to_path_buf());
        }
    }
    let mut out = Vec::new();
    'dirs: for rel in dirs {
        let mut cur = root.to_path_buf();
        for c in rel.components() {
            cur.push(c);
            match std::fs::symlink_metadata(&cur) {
                Ok(m) if m.is_dir() => {}
                _ => continue 'dirs,
            }
        }
        let Ok(entries) = std::fs::read_dir(&cur) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            if name.to_str().is_some_and(is_temp_name)
                && std::fs::symlink_metadata(e.path()).is_ok_and(|m| m.is_file())
            {
                out.push(e.path());
            }
        }
    }
    out.sort();
    out
}

/// Writes the generated files. Refuses (before writing anything) when a file was
/// edited by hand, unless `force`; refuses a tampered lock. The caller holds the
/// project's lock (`_held`), so temporary files found are an interrupted run's.
pub fn emit(
    root: &Path,
    _held: &ProjectLock,
    generated: &Generated,
    force: bool,
    dry_run: bool,
) -> Result<Outcome> {
    let statuses = status(root, generated)?;
    let blocked: Vec<&Status> = statuses
        .iter()
        .filter(|s| (s.state == State::Modified || orphan_edited(s)) && s.path != LOCK_FILE)
        .collect();
    if !blocked.is_empty() && !force {
        let list: Vec<String> = blocked
            .iter()
            .map(|s| format!("  {} ({})", s.path, s.detail))
            .collect();
        bail!(
            "refusing to overwrite {} file{} changed by hand:\n{}\nhelp: run `obsgen diff` to see the changes; move what you need into {MANIFEST_FILE} (or a template overlay), then run `obsgen generate --force`",
            blocked.len(),
            if blocked.len() == 1 { "" } else { "s" },
            list.join("\n")
        );
    }
    let manifest = Some(generated.model.manifest_file.as_str());
    let old_lock = read_lock_for(root, manifest)?;
    let mut pending = read_pending(root, manifest)?;
    let leftovers = leftover_temps(root, generated, old_lock.as_ref(), &pending);
    let mut outcome = Outcome {
        leftovers: leftovers.len(),
        ..Outcome::default()
    };
    let mut files: Vec<(&str, &[u8])> = Vec::new();
    let mut attributes = None;
    let mut lock = None;
    for s in &statuses {
        match (s.state, s.fresh.as_deref()) {
            (State::Ok, _) => outcome.unchanged += 1,
            (State::Orphaned, _) => outcome.removed.push(s.path.clone()),
            (_, Some(bytes)) if s.path == LOCK_FILE => lock = Some(bytes),
            (_, Some(bytes)) if s.path == GITATTRIBUTES => attributes = Some(bytes),
            (_, Some(bytes)) => files.push((&s.path, bytes)),
            (_, None) => {}
        }
    }
    // The order of the writes below; the lock goes last, so a run that fails or is
    // interrupted leaves the old lock (and `check` sees what is left to do).
    outcome.written = files
        .iter()
        .map(|(p, _)| p.to_string())
        .chain(attributes.map(|_| GITATTRIBUTES.to_string()))
        .chain(lock.map(|_| LOCK_FILE.to_string()))
        .collect();
    if dry_run {
        return Ok(outcome);
    }
    for t in &leftovers {
        match std::fs::remove_file(t) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).with_context(|| format!("removing {}", t.display()));
            }
            _ => {}
        }
    }
    // Every parent folder is created before the first file is written, so a failure to
    // create one leaves the files untouched.
    let parents: BTreeSet<&Path> = files
        .iter()
        .filter_map(|(path, _)| Path::new(path).parent())
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    for parent in parents {
        std::fs::create_dir_all(root.join(parent))
            .with_context(|| format!("creating folder {}", root.join(parent).display()))?;
    }
    // What this run is about to write, before it writes it: an interrupted run's files
    // are then recognised as obsgen's own (not hand edits) by `check` and the next run.
    if !files.is_empty() {
        pending.extend(files.iter().map(|(path, bytes)| PendingFile {
            path: path.to_string(),
            sha256: sha256(bytes),
        }));
        write_atomic(root, PENDING_FILE, &pending.to_bytes())?;
    }
    let batch: Vec<Staged<'_>> = files
        .iter()
        .map(|(path, bytes)| (*path, *bytes, None))
        .chain(attributes.map(|bytes| (GITATTRIBUTES, bytes, None)))
        .collect();
    write_batch(root, &batch)?;
    for path in &outcome.removed {
        let full = root.join(checked_rel(path)?);
        std::fs::remove_file(&full).with_context(|| format!("removing {}", full.display()))?;
        // Remove folders the orphan leaves empty, up to the project root.
        let mut dir = full.parent();
        while let Some(d) = dir {
            if d == root || std::fs::remove_dir(d).is_err() {
                break;
            }
            dir = d.parent();
        }
    }
    if let Some(bytes) = lock {
        write_atomic(root, LOCK_FILE, bytes)?;
    }
    match std::fs::remove_file(root.join(PENDING_FILE)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", root.join(PENDING_FILE).display()))
        }
        _ => Ok(outcome),
    }
}

/// Makes SIGINT, SIGTERM and SIGHUP remove this process's temporary files, say so and
/// exit 130. The lock is not written: the next `generate` finishes the job.
pub fn clean_up_on_interrupt() {
    crate::signals::on_interrupt(|| {
        let mut temps = temps();
        for t in temps.drain(..) {
            let _ = std::fs::remove_file(&t);
        }
        let _ = writeln!(
            std::io::stderr(),
            "error: generate interrupted; its temporary files are removed and {LOCK_FILE} is not updated\nhelp: run `obsgen generate` again to finish"
        );
        // Still holding TEMPS: no temporary file can be created or renamed any more.
        std::process::exit(130);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_obsgen_temporary_names_are_leftovers() {
        assert!(is_temp_name(".obsgen-aB3xZ9"));
        for name in [
            ".obsgen-notes",
            ".obsgen-aB3xZ9x",
            ".obsgen-aB3x.9",
            "obsgen-aB3xZ9",
            ".obsgen-",
        ] {
            assert!(!is_temp_name(name), "{name}");
        }
    }
}
