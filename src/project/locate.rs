//! Finding the project: the manifest (`obsgen.toml`, a regular file or a link to one,
//! looked for from the working folder up) and the output root (its folder).

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};

use super::MANIFEST_FILE;

/// Where the manifest is and where output goes (the manifest's folder).
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub manifest: PathBuf,
    /// File name of the manifest, for messages and headers.
    pub manifest_name: String,
}

impl Project {
    /// `--manifest PATH`, or the first `obsgen.toml` walking up from `cwd`. An
    /// `obsgen.toml` that is not a regular file (nor a link to one) stops the walk.
    pub fn locate(cwd: &Path, manifest: Option<&Path>) -> Result<Project> {
        let manifest = match manifest {
            Some(p) => {
                let p = if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    cwd.join(p)
                };
                match manifest_kind(&p) {
                    None => bail!(
                        "manifest {} does not exist\nhelp: check the path given to --manifest",
                        p.display()
                    ),
                    Some(Err(what)) => bail!(
                        "manifest {} is not a regular file: it is {what}\nhelp: pass the path of the manifest file to --manifest",
                        p.display()
                    ),
                    Some(Ok(())) => p,
                }
            }
            None => {
                let mut found = None;
                for p in cwd.ancestors().map(|d| d.join(MANIFEST_FILE)) {
                    match manifest_kind(&p) {
                        None => {}
                        Some(Ok(())) => {
                            found = Some(p);
                            break;
                        }
                        Some(Err(what)) => bail!(
                            "{} is not a regular file: it is {what}\nhelp: obsgen stops here rather than use a manifest further up: replace it with the manifest file, move it away, or pass --manifest PATH",
                            p.display()
                        ),
                    }
                }
                found.ok_or_else(|| {
                    anyhow!(
                        "no {MANIFEST_FILE} in {} or any parent folder\nhelp: run `obsgen init` to create one, or pass --manifest PATH",
                        cwd.display()
                    )
                })?
            }
        };
        let root = manifest
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| cwd.to_path_buf());
        let manifest_name = manifest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Project {
            root,
            manifest,
            manifest_name,
        })
    }
}

/// What is at a manifest path: `None` when nothing is; `Ok` for a regular file or a
/// symbolic link to one; else what it is instead.
fn manifest_kind(p: &Path) -> Option<std::result::Result<(), &'static str>> {
    let meta = std::fs::symlink_metadata(p).ok()?;
    let target = if meta.file_type().is_symlink() {
        match std::fs::metadata(p) {
            Ok(m) => m,
            Err(_) => return Some(Err("a dangling symbolic link")),
        }
    } else {
        meta.clone()
    };
    Some(if target.is_file() {
        Ok(())
    } else if target.is_dir() && meta.file_type().is_symlink() {
        Err("a symbolic link to a folder")
    } else if target.is_dir() {
        Err("a folder")
    } else {
        Err("a special file (a FIFO, socket or device)")
    })
}
