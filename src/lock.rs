//! `obsgen.lock`: what obsgen generated last, so `check` can tell a stale file
//! (the fresh render differs from the lock) from a hand edit (the file on disk
//! differs from the lock), and `generate` can remove files it no longer renders.
//!
//! The lock is data from an untrusted source (a one-line change in a pull request):
//! [`untrusted_entries`] names every entry obsgen could never have written (outside
//! [`crate::plan::is_generated_path`], the lock itself, the manifest, a VCS folder, a
//! path listed twice); the project refuses such a lock before touching anything.
//!
//! [`Pending`] (`obsgen.lock.pending`) records the hashes of the files a `generate`
//! run is about to write, before it writes them; the run removes it after writing the
//! lock. After an interruption (kill -9, a full disk, a failed removal) the next run
//! and `check` recognise those files as obsgen's own, not as hand edits.
//!
//! [`Lock::version_change`] tells when only obsgen's version changed since the lock
//! was written (same manifest bytes), so `check` can say the differences come from
//! the upgrade and point at `obsgen templates list` (`templates/CHANGES.toml`).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const LOCK_FILE: &str = "obsgen.lock";
/// Hashes of the files an unfinished `generate` was writing (see [`Pending`]).
pub const PENDING_FILE: &str = "obsgen.lock.pending";
const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    /// Format of this file.
    pub lock_version: u32,
    /// obsgen version that wrote it.
    pub obsgen: String,
    /// Template-set major version.
    pub templates: String,
    /// sha256 of the template set used (embedded or overlaid).
    pub templates_hash: String,
    /// sha256 of the embedded profiles.
    pub profiles_hash: String,
    /// sha256 of the manifest bytes.
    pub manifest_hash: String,
    #[serde(default, rename = "file")]
    pub files: Vec<LockedFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockedFile {
    pub path: String,
    pub template: String,
    pub sha256: String,
}

/// Hex sha256 of bytes.
pub fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

impl Lock {
    pub fn new(templates: &str, templates_hash: String, manifest: &[u8]) -> Self {
        Lock {
            lock_version: FORMAT,
            obsgen: env!("CARGO_PKG_VERSION").into(),
            templates: templates.into(),
            templates_hash,
            profiles_hash: crate::assets::profiles_hash(),
            manifest_hash: format!("sha256:{}", sha256(manifest)),
            files: Vec::new(),
        }
    }

    /// The lock file's bytes: a comment line, then TOML.
    pub fn to_bytes(&self) -> Vec<u8> {
        let body = toml::to_string(self).expect("lock serializes");
        format!("# Written by obsgen generate; do not edit. `obsgen check` compares the project against it.\n{body}")
            .into_bytes()
    }

    pub fn parse(text: &str) -> Result<Lock, String> {
        let lock: Lock = toml::from_str(text).map_err(|e| e.to_string())?;
        if lock.lock_version != FORMAT {
            return Err(format!(
                "lock format {} is not supported (this obsgen writes {FORMAT})",
                lock.lock_version
            ));
        }
        Ok(lock)
    }
}

/// The lock on disk was written by another obsgen version from the same manifest
/// bytes: whatever differs now comes from obsgen itself (see `docs/templates.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionChange {
    /// Written by this older version (or one that does not compare as newer).
    Upgraded { from: String },
    /// Written by this newer version.
    Downgraded { from: String },
}

impl Lock {
    /// How `self` (the lock on disk) relates to `fresh` (this run's) when only the
    /// obsgen version differs. `None` when the versions agree, the manifest changed, or
    /// the recorded version is not a plain `X.Y.Z[-pre][+build]` (the lock is
    /// untrusted: its text is printed only when it looks like a version).
    pub fn version_change(&self, fresh: &Lock) -> Option<VersionChange> {
        if self.obsgen == fresh.obsgen || self.manifest_hash != fresh.manifest_hash {
            return None;
        }
        let old = release_triple(&self.obsgen)?;
        let from = self.obsgen.clone();
        Some(match release_triple(&fresh.obsgen) {
            Some(new) if old > new => VersionChange::Downgraded { from },
            _ => VersionChange::Upgraded { from },
        })
    }
}

impl VersionChange {
    /// Why a file obsgen wrote is stale.
    pub fn file_detail(&self) -> String {
        let this = env!("CARGO_PKG_VERSION");
        match self {
            VersionChange::Upgraded { from } => format!(
                "written by obsgen {from}; obsgen {this} generates it differently from the same manifest"
            ),
            VersionChange::Downgraded { from } => format!(
                "written by obsgen {from}, newer than this obsgen {this}, from the same manifest"
            ),
        }
    }

    /// Why the lock is stale, and where to read what changed (`templates`: the set).
    pub fn lock_detail(&self, templates: &str) -> String {
        let this = env!("CARGO_PKG_VERSION");
        match self {
            VersionChange::Upgraded { from } => format!(
                "written by obsgen {from}, this is obsgen {this}; the manifest did not change, so the differences come from the upgrade: `obsgen templates list` shows what changed in template set v{templates} (templates/CHANGES.toml)"
            ),
            VersionChange::Downgraded { from } => format!(
                "written by obsgen {from}, newer than this obsgen {this}: install that version (`cargo install obsgen --locked --version {from}`) rather than generate with an older one"
            ),
        }
    }
}

/// `(major, minor, patch)` of a plain version `X.Y.Z`, optionally followed by
/// `-pre` / `+build` of ASCII letters, digits, `.` and `-`; `None` for anything else.
fn release_triple(v: &str) -> Option<(u64, u64, u64)> {
    if v.len() > 64 {
        return None;
    }
    let (core, rest) = match v.find(['-', '+']) {
        Some(i) => v.split_at(i),
        None => (v, ""),
    };
    if !rest
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'))
    {
        return None;
    }
    let mut parts = core.split('.').map(|p| {
        (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u64>().ok())
            .flatten()
    });
    let triple = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(triple)
}

/// Entries of a lock (or pending record) that obsgen could never have written, each
/// with why: a path that is not plain, outside obsgen's naming, inside a VCS folder,
/// the lock, the pending record or the manifest (`manifest`, when known), or listed
/// twice (when `unique`).
pub fn untrusted_entries<'a>(
    paths: impl IntoIterator<Item = &'a str>,
    manifest: Option<&str>,
    unique: bool,
) -> Vec<(String, &'static str)> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for path in paths {
        let why = if path == LOCK_FILE || path == PENDING_FILE {
            Some("the lock itself; the lock never lists itself")
        } else if Some(path) == manifest {
            Some("the manifest; obsgen never writes it")
        } else if path.is_empty()
            || path.starts_with('/')
            || path.contains('\\')
            || path
                .split('/')
                .any(|p| p.is_empty() || p == "." || p == "..")
        {
            Some("not a plain relative path inside the project")
        } else if path
            .split('/')
            .any(|p| crate::plan::VCS_FOLDERS.contains(&p))
        {
            Some("inside a version-control folder")
        } else if !crate::plan::is_generated_path(path) {
            Some("a file obsgen never generates (outside its folders or naming)")
        } else if unique && !seen.insert(path) {
            Some("listed twice")
        } else {
            None
        };
        if let Some(why) = why {
            out.push((path.to_string(), why));
        }
    }
    out
}

/// What a `generate` run is about to write: every file with the hash it will have.
/// Written (atomically) before the first file, removed after the lock; one path may
/// appear with several hashes (runs interrupted one after another).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pending {
    #[serde(default, rename = "file")]
    pub files: Vec<PendingFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingFile {
    pub path: String,
    pub sha256: String,
}

impl Pending {
    pub fn to_bytes(&self) -> Vec<u8> {
        let body = toml::to_string(self).expect("pending record serializes");
        format!("# Written by obsgen generate before it changes files and removed when it is done:\n# a run was interrupted. The next `obsgen generate` finishes the job.\n{body}")
            .into_bytes()
    }

    pub fn parse(text: &str) -> Result<Pending, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Whether an unfinished run was writing `path` with this hash.
    pub fn has(&self, path: &str, sha: &str) -> bool {
        self.files.iter().any(|f| f.path == path && f.sha256 == sha)
    }

    /// Adds entries, keeping the record sorted and free of repeats.
    pub fn extend(&mut self, more: impl IntoIterator<Item = PendingFile>) {
        self.files.extend(more);
        self.files.sort();
        self.files.dedup();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mut lock = Lock::new("1", "sha256:00".into(), b"manifest");
        lock.files.push(LockedFile {
            path: "compose.yaml".into(),
            template: "compose/compose.yaml.j2".into(),
            sha256: sha256(b"x"),
        });
        let text = String::from_utf8(lock.to_bytes()).unwrap();
        assert!(text.starts_with("# Written by obsgen"));
        assert_eq!(Lock::parse(&text).unwrap(), lock);
        assert!(Lock::parse("lock_version = 9\n").is_err());
    }

    #[test]
    fn entries_obsgen_never_writes_are_named_with_why() {
        let paths = [
            "compose.yaml",
            ".git/HEAD",
            "obsgen.lock",
            "obsgen.toml",
            "../x",
            "notes/todo.md",
            "compose.yaml",
            "monitoring/prometheus/web.yml",
        ];
        let bad = untrusted_entries(paths, Some("obsgen.toml"), true);
        let got: Vec<(&str, &str)> = bad
            .iter()
            .map(|(p, w)| (p.as_str(), w.split(';').next().unwrap()))
            .collect();
        assert_eq!(
            got,
            vec![
                (".git/HEAD", "inside a version-control folder"),
                ("obsgen.lock", "the lock itself"),
                ("obsgen.toml", "the manifest"),
                ("../x", "not a plain relative path inside the project"),
                (
                    "notes/todo.md",
                    "a file obsgen never generates (outside its folders or naming)"
                ),
                ("compose.yaml", "listed twice"),
            ]
        );
        assert!(untrusted_entries(["compose.yaml", "compose.yaml"], None, false).is_empty());
    }

    #[test]
    fn pending_round_trips_and_dedups() {
        let mut p = Pending::default();
        let f = |path: &str, sha: &str| PendingFile {
            path: path.into(),
            sha256: sha.into(),
        };
        p.extend([
            f("compose.yaml", "b"),
            f("compose.yaml", "a"),
            f("compose.yaml", "b"),
        ]);
        assert_eq!(
            p.files,
            vec![f("compose.yaml", "a"), f("compose.yaml", "b")]
        );
        let text = String::from_utf8(p.to_bytes()).unwrap();
        assert_eq!(Pending::parse(&text).unwrap(), p);
        assert!(p.has("compose.yaml", "a") && !p.has("compose.yaml", "c"));
    }

    #[test]
    fn only_a_version_change_from_the_same_manifest_is_named() {
        let fresh = Lock::new("1", "sha256:00".into(), b"manifest");
        let with = |v: &str, manifest: &[u8]| Lock {
            obsgen: v.into(),
            ..Lock::new("1", "sha256:11".into(), manifest)
        };
        let up = |v: &str| VersionChange::Upgraded { from: v.into() };
        assert_eq!(
            with("0.0.9", b"manifest").version_change(&fresh),
            Some(up("0.0.9"))
        );
        assert_eq!(
            with("0.1.0-rc.1+b7", b"manifest").version_change(&fresh),
            Some(up("0.1.0-rc.1+b7"))
        );
        assert_eq!(
            with("10.0.0", b"manifest").version_change(&fresh),
            Some(VersionChange::Downgraded {
                from: "10.0.0".into()
            })
        );
        // Same version, another manifest, or text that is not a version: nothing to say.
        assert_eq!(fresh.version_change(&fresh), None);
        assert_eq!(with("0.0.9", b"other").version_change(&fresh), None);
        for bad in [
            "",
            "0.1",
            "0.1.0.0",
            "v0.1.0",
            "0.1.x",
            "0.0.9\u{1b}[31m",
            "0.0.9 ",
            "0..9",
        ] {
            assert_eq!(
                with(bad, b"manifest").version_change(&fresh),
                None,
                "{bad:?}"
            );
        }
        assert!(up("0.0.9").lock_detail("1").contains("template set v1"));
    }
}
