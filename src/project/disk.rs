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

/// Reads an output file without following symlinks anywhere below the root.
/// `Ok(None)` when absent.
pub(crate) fn safe_read(root: &Path, rel: &str) -> Result<Option<Vec<u8>>> {
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
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("reading {}", cur.display())),
        }
    }
    std::fs::read(&cur)
        .map(Some)
        .with_context(|| format!("reading {}", cur.display()))
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
    write_file(root, rel, bytes, None)
}

/// [`write_atomic`] with a fixed mode (`Some(0o600)`) instead of the kept one. The
/// temporary file is created 0600, so a secret is never readable on the way.
pub(crate) fn write_file(root: &Path, rel: &str, bytes: &[u8], mode: Option<u32>) -> Result<()> {
    // Re-check right before writing: no symlink may have appeared on the way.
    safe_read(root, rel)?;
    let target = root.join(checked_rel(rel)?);
    let dir = target.parent().unwrap_or(root);
    let tmp = {
        let mut temps = temps();
        let tmp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempfile_in(dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        temps.push(tmp.path().to_path_buf());
        tmp
    };
    let tmp_path = tmp.path().to_path_buf();
    let result = fill_and_rename(tmp, &target, bytes, mode);
    temps().retain(|p| *p != tmp_path);
    result
}

/// The body of [`write_file`] once its temporary file exists (and is registered).
fn fill_and_rename(
    mut tmp: tempfile::NamedTempFile,
    target: &Path,
    bytes: &[u8],
    mode: Option<u32>,
) -> Result<()> {
    #[cfg(not(unix))]
    let _ = mode;
    tmp.write_all(bytes)
        .with_context(|| format!("writing {}", target.display()))?;
    tmp.as_file().sync_all().ok();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = mode.unwrap_or_else(|| {
            std::fs::metadata(target)
                .map(|m| m.permissions().mode() & 0o7777)
                .unwrap_or(0o644)
        });
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting the mode of {}", target.display()))?;
    }
    #[cfg(debug_assertions)]
    fault_point();
    let mut temps = temps();
    let tmp_path = tmp.path().to_path_buf();
    let persisted = tmp.persist(target);
    temps.retain(|p| *p != tmp_path);
    persisted.map_err(|e| anyhow!("replacing {}: {}", target.display(), e.error))?;
    Ok(())
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
