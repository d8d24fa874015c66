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
}
