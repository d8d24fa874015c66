//! File-system steps that never pass through a symbolic link, for the files obsgen
//! keeps in the user's project outside the lock (`obsgen secrets`): what is at a
//! path, creating folders and changing modes. Every component below the project root
//! is checked; on Unix the folders are walked by file descriptor (`openat` with
//! `O_NOFOLLOW`, `mkdirat`) and modes are changed with `fchmod` on a descriptor opened
//! with `O_NOFOLLOW`, so a link swapped in between the check and the change is refused
//! too. Writing a file's bytes is [`crate::project::write_file`]'s job.

use std::path::Path;

use anyhow::{Result, bail};

/// What is at a path below the project root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Missing,
    File,
    Dir,
    /// A socket, FIFO or device.
    Other,
}

/// The components of a plain relative path (`a/b/c`): no `.`, `..`, empty part,
/// leading `/` or backslash.
fn parts(rel: &str) -> Result<Vec<&str>> {
    let parts: Vec<&str> = rel.split('/').collect();
    if rel.contains('\\')
        || parts
            .iter()
            .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        bail!("refusing path `{rel}`: it is not a plain relative path inside the project");
    }
    Ok(parts)
}

/// The refusal of a link at `link`, where a plain file (`file`) or folder belongs.
fn symlink_error(rel: &str, link: &Path, file: bool) -> anyhow::Error {
    anyhow::anyhow!(
        "refusing to touch {rel}: {} is a symbolic link\nhelp: obsgen never writes through symlinks; replace it with a plain {}",
        link.display(),
        if file { "file" } else { "folder" }
    )
}

/// What is at `root/rel`, without following links: an error (with a `help:` line)
/// when any component is a symbolic link or a component before the last is not a
/// folder.
pub fn entry(root: &Path, rel: &str) -> Result<Entry> {
    let parts = parts(rel)?;
    let mut cur = root.to_path_buf();
    for (i, p) in parts.iter().enumerate() {
        cur.push(p);
        let last = i + 1 == parts.len();
        let meta = match std::fs::symlink_metadata(&cur) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Entry::Missing),
            Err(e) => bail!("reading {}: {e}", cur.display()),
        };
        if meta.file_type().is_symlink() {
            let to_dir = !last || std::fs::metadata(&cur).is_ok_and(|m| m.is_dir());
            return Err(symlink_error(rel, &cur, !to_dir));
        }
        if !last && !meta.is_dir() {
            bail!(
                "cannot write {rel}: {} is not a folder\nhelp: move it away, or change the path in the manifest",
                cur.display()
            );
        }
        if last {
            return Ok(if meta.is_file() {
                Entry::File
            } else if meta.is_dir() {
                Entry::Dir
            } else {
                Entry::Other
            });
        }
    }
    unreachable!("a path has at least one component")
}

#[cfg(unix)]
mod imp {
    use std::os::fd::OwnedFd;
    use std::path::Path;

    use anyhow::{Result, bail};
    use rustix::fs::{CWD, Mode, OFlags, mkdirat, openat};
    use rustix::io::Errno;

    /// Opens `root/parts…` as folders, one `openat(O_NOFOLLOW)` at a time; with
    /// `create`, makes the missing ones (mode 0777 less the umask).
    pub fn open_dirs(root: &Path, rel: &str, parts: &[&str], create: bool) -> Result<OwnedFd> {
        let dir = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let mut fd = openat(CWD, root, dir, Mode::empty())
            .map_err(|e| anyhow::anyhow!("opening {}: {e}", root.display()))?;
        let mut cur = root.to_path_buf();
        for p in parts {
            cur.push(p);
            let open = |fd: &OwnedFd| openat(fd, *p, dir | OFlags::NOFOLLOW, Mode::empty());
            let next = match open(&fd) {
                Err(Errno::NOENT) if create => {
                    match mkdirat(&fd, *p, Mode::from_raw_mode(0o777)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => bail!("creating folder {}: {e}", cur.display()),
                    }
                    open(&fd)
                }
                r => r,
            };
            fd = match next {
                Ok(next) => next,
                Err(Errno::LOOP | Errno::NOTDIR) => {
                    if std::fs::symlink_metadata(&cur).is_ok_and(|m| m.file_type().is_symlink()) {
                        return Err(super::symlink_error(rel, &cur, false));
                    }
                    bail!(
                        "cannot write {rel}: {} is not a folder\nhelp: move it away, or change the path in the manifest",
                        cur.display()
                    );
                }
                Err(e) => bail!("opening folder {}: {e}", cur.display()),
            };
        }
        Ok(fd)
    }

    /// Opens the regular file `name` in `dir` without following a link (and without
    /// blocking on a FIFO).
    pub fn open_file(dir: &OwnedFd, name: &str) -> rustix::io::Result<std::fs::File> {
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        openat(dir, name, flags, Mode::empty()).map(std::fs::File::from)
    }
}

/// Creates the folder `root/rel` and its missing parents, never through a symbolic
/// link; `mode` (0700) is then set on `rel` itself, new or not.
pub fn create_dir_all(root: &Path, rel: &str, mode: Option<u32>) -> Result<()> {
    let parts = parts(rel)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let fd = imp::open_dirs(root, rel, &parts, true)?;
        if let Some(mode) = mode {
            std::fs::File::from(fd)
                .set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(|e| {
                    anyhow::anyhow!("setting the mode of {}: {e}", root.join(rel).display())
                })?;
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (parts, mode);
        match entry(root, rel)? {
            Entry::Missing | Entry::Dir => {
                std::fs::create_dir_all(root.join(rel)).map_err(|e| {
                    anyhow::anyhow!("creating folder {}: {e}", root.join(rel).display())
                })?
            }
            _ => bail!("cannot create folder {rel}: something else is there"),
        }
    }
    Ok(())
}

/// Changes the mode of the regular file `root/rel` to `new(old mode)`, never through a
/// symbolic link (the file is opened with `O_NOFOLLOW` and changed by descriptor).
pub fn chmod_file(root: &Path, rel: &str, new: impl FnOnce(u32) -> u32) -> Result<()> {
    let parts = parts(rel)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let (name, folders) = parts.split_last().expect("at least one component");
        let dir = imp::open_dirs(root, rel, folders, false)?;
        let path = root.join(rel);
        let file = imp::open_file(&dir, name).map_err(|e| {
            if e == rustix::io::Errno::LOOP {
                symlink_error(rel, &path, true)
            } else {
                anyhow::anyhow!("opening {}: {e}", path.display())
            }
        })?;
        let meta = file
            .metadata()
            .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        if !meta.is_file() {
            bail!(
                "cannot change {rel}: {} is not a regular file",
                path.display()
            );
        }
        let old = meta.permissions().mode() & 0o7777;
        let mode = new(old);
        if mode != old {
            file.set_permissions(std::fs::Permissions::from_mode(mode))
                .map_err(|e| anyhow::anyhow!("setting the mode of {}: {e}", path.display()))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (parts, new);
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt as _, symlink};

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn entries_are_read_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("d")).unwrap();
        std::fs::write(root.join("d/f"), "x").unwrap();
        symlink(root.join("d"), root.join("l")).unwrap();
        assert_eq!(entry(root, "d").unwrap(), Entry::Dir);
        assert_eq!(entry(root, "d/f").unwrap(), Entry::File);
        assert_eq!(entry(root, "d/g/h").unwrap(), Entry::Missing);
        for bad in ["l", "l/f", "l/new"] {
            let e = entry(root, bad).unwrap_err().to_string();
            assert!(
                e.contains("symbolic link") && e.contains("\nhelp: "),
                "{bad}: {e}"
            );
        }
        assert!(
            entry(root, "d/f/x")
                .unwrap_err()
                .to_string()
                .contains("not a folder")
        );
        for bad in ["../x", "a//b", "./a", "/etc", "a\\b", ""] {
            assert!(entry(root, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn folders_are_created_and_modes_changed_only_below_real_folders() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::set_permissions(outside.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        symlink(outside.path(), root.join("link")).unwrap();
        std::fs::write(outside.path().join("f"), "x").unwrap();
        std::fs::set_permissions(
            outside.path().join("f"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        symlink(outside.path().join("f"), root.join("file-link")).unwrap();

        create_dir_all(root, "a/b", Some(0o700)).unwrap();
        assert_eq!(mode(&root.join("a/b")), 0o700);
        for bad in ["link", "link/sub", "link/sub/deeper"] {
            let e = create_dir_all(root, bad, Some(0o700))
                .unwrap_err()
                .to_string();
            assert!(e.contains("symbolic link"), "{bad}: {e}");
        }
        assert_eq!(mode(outside.path()), 0o755);
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);

        std::fs::write(root.join("a/secret"), "x").unwrap();
        std::fs::set_permissions(
            root.join("a/secret"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        chmod_file(root, "a/secret", |_| 0o600).unwrap();
        assert_eq!(mode(&root.join("a/secret")), 0o600);
        for bad in ["file-link", "link/f"] {
            let e = chmod_file(root, bad, |_| 0o600).unwrap_err().to_string();
            assert!(e.contains("symbolic link"), "{bad}: {e}");
        }
        assert_eq!(mode(&outside.path().join("f")), 0o644);
    }
}
