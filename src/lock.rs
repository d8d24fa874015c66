//! `obsgen.lock`: what obsgen generated last, so `check` can tell a stale file
//! (the fresh render differs from the lock) from a hand edit (the file on disk
//! differs from the lock), and `generate` can remove files it no longer renders.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const LOCK_FILE: &str = "obsgen.lock";
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
}
