//! A project on disk: finding its manifest, running the pipeline
//! (load → validate → resolve → plan → render → verify), comparing the result with
//! the disk and the lock (`ok | stale | modified | missing | orphaned`), and
//! emitting it safely: nothing is written until everything succeeded, writes are
//! atomic, no path leaves the project folder or passes through a symlink, and hand
//! edits are not overwritten without `--force`.
//!
//! The manifest is a regular file (or a symbolic link to one; output then goes next
//! to the link): a folder, a dangling link or a special file named `obsgen.toml`
//! stops the walk up with an error instead of using a manifest further up.
//!
//! `generate` ([`emit`]) holds the project's advisory lock ([`lock_project`]: `flock`
//! on the project folder, so two runs cannot interleave) and then, in this order:
//! removes leftover temporary files (`.obsgen-XXXXXX`) of an interrupted run, writes
//! the pending record (`obsgen.lock.pending`, the hashes of the files it is about to
//! write), the files, the `.gitattributes` block, removes orphans, writes the lock
//! last, and removes the pending record. A failure anywhere leaves the old lock, so
//! `check` still reports what is left to do; the pending record lets `check` and the
//! next run tell the files an interrupted run wrote from hand edits. The lock (and the
//! pending record) are untrusted: an entry obsgen could never have written makes every
//! command refuse before touching anything ([`crate::lock::untrusted_entries`]).
//! SIGINT, SIGTERM and SIGHUP during `generate` remove its temporary files and exit 130
//! ([`clean_up_on_interrupt`]).
//!
//! `.gitattributes` gets a marked block (`# >>> obsgen` … `# <<< obsgen`, see
//! [`status::merge_block`]) setting `text eol=lf` on every generated file: a CRLF checkout
//! would otherwise make every file differ. The rest of the file is the user's; the
//! block is never a reason to demand `--force`. A file that differs from the fresh
//! render only by CRLF line endings is reported as stale, with a note saying so.
//!
//! Test-only fault injection (compiled only with `debug_assertions`, so release
//! binaries ignore it): every file [`write_file`] writes counts, the pending record
//! first. `OBSGEN_FAULT_ABORT_AFTER_WRITES=N` aborts the process (SIGABRT, no clean-up,
//! as `kill -9` would) once N files are in place and the next one's temporary file is
//! written; `OBSGEN_FAULT_PAUSE_AFTER_WRITES=N` pauses there forever instead (holding
//! the advisory lock), for race and signal tests.
//!
//! Where each part is: `locate` (finding the project), `pipeline` (the entry points),
//! `status` (comparing with the disk and the lock), `emit` (writing, the advisory lock,
//! interrupted runs) and `disk` (symlink-safe reads and atomic writes, fault injection).

mod disk;
mod emit;
mod locate;
mod pipeline;
mod status;

use crate::delivery::Delivery;
use crate::lock::Lock;
use crate::model::Model;
use crate::render::File;
pub(crate) use disk::{safe_read, write_file};
pub use emit::{Outcome, ProjectLock, clean_up_on_interrupt, emit, lock_project};
pub use locate::Project;
pub use pipeline::{
    generate, generate_from, generate_project_stages, generate_stages, generate_with, load_valid,
};
pub use status::{State, Status, read_lock, status, unified_diff};

pub const MANIFEST_FILE: &str = "obsgen.toml";
/// The user's git attributes file, where obsgen keeps a block for its files.
pub const GITATTRIBUTES: &str = ".gitattributes";
/// Prefix of obsgen's temporary files; `tempfile` adds 6 random letters and digits.
pub const TEMP_PREFIX: &str = ".obsgen-";

/// The fresh output of the pipeline, not yet written.
#[derive(Debug)]
pub struct Generated {
    pub model: Model,
    pub delivery: Delivery,
    pub files: Vec<File>,
    pub lock: Lock,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn states_follow_the_design_table() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let manifest = "[project]\nname = \"t\"\nprofile = \"minimal\"\n[[service]]\nname = \"a\"\nimage = \"x/a:1\"\nport = 80\nmetrics = {}\n";
        let generated = generate_from(manifest, "obsgen.toml", None).unwrap();
        let states = |root: &Path| -> Vec<(String, State)> {
            status(root, &generated)
                .unwrap()
                .into_iter()
                .map(|s| (s.path, s.state))
                .collect()
        };
        assert!(states(root).iter().all(|(_, s)| *s == State::Missing));
        let held = lock_project(root).unwrap();
        emit(root, &held, &generated, false, false).unwrap();
        assert!(states(root).iter().all(|(_, s)| *s == State::Ok));
        std::fs::write(root.join("compose.yaml"), "# mine\n").unwrap();
        let st = states(root);
        assert!(
            st.contains(&("compose.yaml".into(), State::Modified)),
            "{st:?}"
        );
        assert!(emit(root, &held, &generated, false, false).is_err());
        assert_eq!(
            std::fs::read_to_string(root.join("compose.yaml")).unwrap(),
            "# mine\n"
        );
        emit(root, &held, &generated, true, false).unwrap();
        assert!(states(root).iter().all(|(_, s)| *s == State::Ok));
    }
}
