//! Reads and writes below the project root that never follow a symlink or leave the
//! folder: plain relative paths only, atomic writes through a temporary file (registered
//! for clean-up on interrupt), and the test-only fault injection points.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use anyhow::{Context as _, Result, anyhow, bail};

use super::TEMP_PREFIX;

/// A relative output path is plain: `/`-separated normal components only.
pub(super) fn checked_rel(rel: &str) -> Result<PathBuf> {
    let p = Path::new(rel);
    if rel.is_empty()
        || p.components().any(|c| !matches!(c, Component::Normal(_)))
        || rel.contains('\\')
    {
        bail!("refusing path `{rel}`: it is not a plain relative path inside the project");
    }
    Ok(p.to_path_buf())
}

/// Walks `root/rel` without following a symlink anywhere below the root: every folder on
/// the way is a plain folder, the file (when it exists) a regular file. Returns its path
/// and, when it exists, its metadata.
fn safe_path(root: &Path, rel: &str) -> Result<(PathBuf, Option<std::fs::Metadata>)> {
    let rel_path = checked_rel(rel)?;
    let mut cur = root.to_path_buf();
    let n = rel_path.components().count();
    for (i, c) in rel_path.components().enumerate() {
        cur.push(c);
        match std::fs::symlink_metadata(&cur) {
            Ok(meta) if meta.file_type().is_symlink() => {
                bail!(
                    "refusing to touch {}: {} is a symbolic link\nhelp: obsgen never writes through symlinks; replace it with a plain {}",
                    rel,
                    cur.display(),
                    if i + 1 == n { "file" } else { "folder" }
                );
            }
            Ok(meta) if i + 1 < n && !meta.is_dir() => {
                bail!("cannot write {rel}: {} is not a folder", cur.display());
            }
            Ok(meta) if i + 1 == n && !meta.is_file() => {
                bail!(
                    "cannot write {rel}: {} exists and is not a regular file",
                    cur.display()
                );
            }
            Ok(meta) if i + 1 == n => return Ok((cur, Some(meta))),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((root.join(rel_path), None));
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", cur.display())),
        }
    }
    Ok((cur, None))
}

/// Reads an output file without following symlinks anywhere below the root.
/// `Ok(None)` when absent.
pub(crate) fn safe_read(root: &Path, rel: &str) -> Result<Option<Vec<u8>>> {
    match safe_path(root, rel)? {
        (path, Some(_)) => std::fs::read(&path)
            .map(Some)
            .with_context(|| format!("reading {}", path.display())),
        (_, None) => Ok(None),
    }
}

/// Temporary files this process has on disk right now (between creation and rename);
/// an interruption removes them ([`clean_up_on_interrupt`]). Held while a temporary
/// file is created or renamed, so the signal handler never races either.
static TEMPS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

pub(super) fn temps() -> MutexGuard<'static, Vec<PathBuf>> {
    TEMPS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Test-only fault injection (see the module doc); debug builds only.
#[cfg(debug_assertions)]
fn fault_point() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let n = WRITES.fetch_add(1, Ordering::SeqCst);
    let at = |var: &str| {
        std::env::var(var)
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            == Some(n)
    };
    if at("OBSGEN_FAULT_ABORT_AFTER_WRITES") {
        std::process::abort();
    }
    if at("OBSGEN_FAULT_PAUSE_AFTER_WRITES") {
        // Tells a waiting test that the temporary file is complete and the run holds.
        let _ = writeln!(std::io::stderr(), "obsgen: paused (test switch)");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }
}

/// Writes `bytes` to `root/rel` through a temporary file in the same folder and a
/// rename; keeps the mode of a file it replaces (new files: 0644).
pub(super) fn write_atomic(root: &Path, rel: &str, bytes: &[u8]) -> Result<()> {
    write_batch(root, &[(rel, bytes, None)])
}

/// [`write_atomic`] with a fixed mode (`Some(0o600)`) instead of the kept one. The
/// temporary file is created 0600, so a secret is never readable on the way.
pub(crate) fn write_file(root: &Path, rel: &str, bytes: &[u8], mode: Option<u32>) -> Result<()> {
    write_batch(root, &[(rel, bytes, mode)])
}

/// One file of a batch: path, content, mode (`None`: keep the mode of the file it
/// replaces, 0644 for a new one).
pub(super) type Staged<'a> = (&'a str, &'a [u8], Option<u32>);

/// Writes several files, each atomically, as one batch:
///
/// 1. every temporary file is created beside its target (registered for clean-up on
///    interrupt), filled and given its mode, and closed;
/// 2. all of them are made durable together (Linux: one `syncfs` of the project's file
///    system; elsewhere: an `fsync` each, as they are written);
/// 3. each is renamed over its target, in the order given;
/// 4. the renames are made durable together (Linux: `syncfs` again; elsewhere: an
///    `fsync` of each folder written to).
///
/// So no target ever holds a partial file, and once this returns the new contents and
/// names are on disk. Two syncs for the batch replace an `fsync` per file. An error or
/// an interruption before step 3 leaves every target as it was; during step 3 some are
/// renamed and the rest are temporary files that the next run removes.
pub(super) fn write_batch(root: &Path, files: &[Staged<'_>]) -> Result<()> {
    let mut staged: Vec<(tempfile::TempPath, PathBuf)> = Vec::with_capacity(files.len());
    let result = stage_and_rename(root, files, &mut staged);
    let mut temps = temps();
    for (tmp, _) in &staged {
        temps.retain(|p| p != &**tmp);
    }
    drop(temps);
    // What is still staged was never renamed: its temporary files go (TempPath's drop).
    drop(staged);
    result
}

fn stage_and_rename(
    root: &Path,
    files: &[Staged<'_>],
    staged: &mut Vec<(tempfile::TempPath, PathBuf)>,
) -> Result<()> {
    for (rel, bytes, mode) in files {
        // Re-check right before writing: no symlink may have appeared on the way.
        let (target, existing) = safe_path(root, rel)?;
        let dir = target.parent().unwrap_or(root);
        let mut tmp = {
            let mut temps = temps();
            let tmp = tempfile::Builder::new()
                .prefix(TEMP_PREFIX)
                .tempfile_in(dir)
                .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
            temps.push(tmp.path().to_path_buf());
            tmp
        };
        tmp.write_all(bytes)
            .with_context(|| format!("writing {}", target.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = mode.unwrap_or_else(|| {
                existing
                    .as_ref()
                    .map_or(0o644, |m| m.permissions().mode() & 0o7777)
            });
            tmp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(mode))
                .with_context(|| format!("setting the mode of {}", target.display()))?;
        }
        #[cfg(not(unix))]
        let _ = (mode, &existing);
        #[cfg(not(target_os = "linux"))]
        tmp.as_file().sync_all().ok();
        staged.push((tmp.into_temp_path(), target));
    }
    sync_batch(root, staged.iter().map(|(_, t)| t.as_path()), false);
    staged.reverse();
    while let Some((tmp, target)) = staged.pop() {
        #[cfg(debug_assertions)]
        fault_point();
        let mut temps = temps();
        let tmp_path = tmp.to_path_buf();
        let persisted = tmp.persist(&target);
        temps.retain(|p| *p != tmp_path);
        drop(temps);
        if let Err(e) = persisted {
            let error = anyhow!("replacing {}: {}", target.display(), e.error);
            // Back into the batch, so its temporary file is removed.
            staged.push((e.path, target));
            return Err(error);
        }
    }
    sync_batch(root, files.iter().map(|(rel, _, _)| Path::new(*rel)), true);
    Ok(())
}

/// Makes a batch durable. Linux: one `syncfs` of the file system holding `root` (it
/// flushes the batch's data, or its renames, in one call). Elsewhere the files were
/// synced as they were written; after the renames (`dirs`), each folder is synced.
/// Best effort, as before: a file system that cannot sync (some network and FUSE ones)
/// does not fail the run.
fn sync_batch<'a>(root: &Path, paths: impl Iterator<Item = &'a Path>, dirs: bool) {
    #[cfg(target_os = "linux")]
    {
        let _ = (paths, dirs);
        if let Ok(dir) = std::fs::File::open(root) {
            let _ = rustix::fs::syncfs(&dir);
        }
    }
    #[cfg(not(target_os = "linux"))]
    if dirs {
        let mut folders: Vec<PathBuf> = paths
            .map(|p| root.join(p.parent().unwrap_or(Path::new(""))))
            .collect();
        folders.sort();
        folders.dedup();
        for f in folders {
            if let Ok(d) = std::fs::File::open(&f) {
                let _ = d.sync_all();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_paths_are_accepted() {
        for ok in [
            "compose.yaml",
            "monitoring/prometheus/targets/a.yml",
            ".env.example",
        ] {
            assert!(checked_rel(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "./a", "a\\..\\b"] {
            assert!(checked_rel(bad).is_err(), "{bad}");
        }
    }
}
