//! Comparing fresh output with the disk and the lock, file by file (`ok | stale |
//! modified | missing | orphaned`): reading the lock and the pending record (refusing
//! tampered entries), the `.gitattributes` block, and the diff shown for a changed file.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use anyhow::{Result, anyhow, bail};
use serde::Serialize;

use super::disk::safe_read;
use super::{GITATTRIBUTES, Generated};
use crate::lock::{LOCK_FILE, Lock, LockedFile, PENDING_FILE, Pending, sha256, untrusted_entries};

/// State of one output file (docs/commands.md, "`obsgen check` in CI": drift and hand edits).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Ok,
    Stale,
    Modified,
    Missing,
    Orphaned,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Stale => "stale",
            State::Modified => "modified",
            State::Missing => "missing",
            State::Orphaned => "orphaned",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub path: String,
    pub state: State,
    pub template: Option<String>,
    /// One line saying why, for non-ok states.
    pub detail: String,
    /// Current bytes on disk (None when absent).
    #[serde(skip)]
    pub disk: Option<Vec<u8>>,
    /// Fresh bytes (None for orphans).
    #[serde(skip)]
    pub fresh: Option<Vec<u8>>,
}

/// The lock on disk, if any. An entry obsgen could never have written (see
/// [`untrusted_entries`]) makes it an error: the lock was tampered with.
pub fn read_lock(root: &Path) -> Result<Option<Lock>> {
    read_lock_for(root, None)
}

/// [`read_lock`], also refusing an entry that names the manifest.
pub(super) fn read_lock_for(root: &Path, manifest: Option<&str>) -> Result<Option<Lock>> {
    let Some(bytes) = safe_read(root, LOCK_FILE)? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    let lock = Lock::parse(&text).map_err(|e| {
        anyhow!(
            "{LOCK_FILE} is damaged: {e}\nhelp: restore it from version control, or delete it and run `obsgen generate --force` after checking `obsgen diff`"
        )
    })?;
    let bad = untrusted_entries(lock.files.iter().map(|f| f.path.as_str()), manifest, true);
    if !bad.is_empty() {
        return Err(tampered(
            LOCK_FILE,
            &bad,
            &format!(
                "restore {LOCK_FILE} from version control (`git checkout -- {LOCK_FILE}`), then run the command again"
            ),
        ));
    }
    Ok(Some(lock))
}

/// The pending record of an interrupted `generate`, if any (empty when none).
pub(super) fn read_pending(root: &Path, manifest: Option<&str>) -> Result<Pending> {
    let Some(bytes) = safe_read(root, PENDING_FILE)? else {
        return Ok(Pending::default());
    };
    let help = format!(
        "delete {PENDING_FILE} (an interrupted `obsgen generate` leaves it; never commit it), restore {LOCK_FILE} from version control if it changed too, and check `obsgen diff`"
    );
    let pending = Pending::parse(&String::from_utf8_lossy(&bytes))
        .map_err(|e| anyhow!("{PENDING_FILE} is damaged: {e}\nhelp: {help}"))?;
    let bad = untrusted_entries(
        pending.files.iter().map(|f| f.path.as_str()),
        manifest,
        false,
    );
    if !bad.is_empty() {
        return Err(tampered(PENDING_FILE, &bad, &help));
    }
    Ok(pending)
}

fn tampered(file: &str, bad: &[(String, &str)], help: &str) -> anyhow::Error {
    let list: Vec<String> = bad.iter().map(|(p, why)| format!("  {p}: {why}")).collect();
    anyhow!(
        "{file} was tampered with: {} {} obsgen could never have written; nothing was written or deleted\n{}\nhelp: {help}; obsgen only ever deletes files it generates",
        bad.len(),
        if bad.len() == 1 { "entry" } else { "entries" },
        list.join("\n")
    )
}

/// What `check` says about a file that differs from the fresh render only by CRLF.
const CRLF_NOTE: &str =
    "line endings are CRLF (git core.autocrlf?): obsgen writes LF; .gitattributes sets eol=lf";

/// `bytes` with CRLF line endings turned into LF, when it has any.
fn lf_only(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.windows(2).any(|w| w == b"\r\n") {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len());
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
            continue;
        }
        out.push(*b);
    }
    Some(out)
}

/// State of a generated file whose disk bytes differ from the fresh render: stale
/// when obsgen wrote those bytes (the lock, or the pending record of an interrupted
/// run, has their hash; also after undoing CRLF line endings), else modified.
/// `stale_why` says why a file the lock records is out of date.
fn changed_state(
    path: &str,
    disk: &[u8],
    fresh: &[u8],
    locked: Option<&LockedFile>,
    pending: &Pending,
    stale_why: &str,
) -> (State, String) {
    let lf = lf_only(disk);
    if lf.as_deref() == Some(fresh) {
        return (State::Stale, CRLF_NOTE.to_string());
    }
    let why_own = |sha: &str| {
        if locked.is_some_and(|l| l.sha256 == sha) {
            Some(stale_why)
        } else if pending.has(path, sha) {
            Some("written by an interrupted `obsgen generate`; out of date")
        } else {
            None
        }
    };
    if let Some(why) = why_own(&sha256(disk)) {
        return (State::Stale, why.to_string());
    }
    if let Some(why) = lf.as_deref().and_then(|b| why_own(&sha256(b))) {
        return (State::Stale, format!("{why}; {CRLF_NOTE}"));
    }
    let crlf = if lf.is_some() {
        format!("; {CRLF_NOTE}")
    } else {
        String::new()
    };
    let why = if locked.is_some() {
        "edited by hand since obsgen generated it"
    } else {
        "exists but was not generated by obsgen (not in obsgen.lock)"
    };
    (State::Modified, format!("{why}{crlf}"))
}

/// The `.gitattributes` lines for the generated files: LF line endings on checkout.
fn gitattributes_lines(generated: &Generated) -> Vec<String> {
    let mut paths: Vec<&str> = generated.files.iter().map(|f| f.path.as_str()).collect();
    paths.push(LOCK_FILE);
    paths.sort();
    paths
        .into_iter()
        .map(|p| format!("/{p} text eol=lf"))
        .collect()
}

/// `old` (the text of a user's file, `file` in messages) with its block
/// `# >>> obsgen: <title>` … `# <<< obsgen` replaced by one holding `lines`, or with
/// that block appended when it has none. Everything outside the block is kept byte
/// for byte; the block follows the file's line endings. A block marker that is
/// missing its partner or repeated is an error (the user's lines in between are
/// never guessed away).
pub(crate) fn merge_block(
    file: &str,
    old: Option<&str>,
    title: &str,
    lines: &[String],
) -> Result<String> {
    const START: &str = "# >>> obsgen";
    const END: &str = "# <<< obsgen";
    let old = old.unwrap_or("");
    let eol = if old.contains("\r\n") { "\r\n" } else { "\n" };
    let mut block = format!("{START}: {title}{eol}");
    for l in lines {
        block.push_str(l);
        block.push_str(eol);
    }
    block.push_str(END);
    block.push_str(eol);
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let find = |f: &dyn Fn(&str) -> bool| -> Vec<usize> {
        (0..old_lines.len())
            .filter(|i| f(old_lines[*i].trim_end()))
            .collect()
    };
    let starts = find(&|l| l == START || l.starts_with(&format!("{START}:")));
    let ends = find(&|l| l == END);
    match (starts.as_slice(), ends.as_slice()) {
        ([], []) => {
            let mut out = old.to_string();
            if !out.is_empty() && !out.ends_with('\n') {
                out.push_str(eol);
            }
            out.push_str(&block);
            Ok(out)
        }
        ([s], [e]) if s < e => Ok(format!(
            "{}{block}{}",
            old_lines[..*s].concat(),
            old_lines[e + 1..].concat()
        )),
        _ => bail!(
            "{file} has a damaged obsgen block: `{START}` and `{END}` must each appear once, in that order\nhelp: delete obsgen's lines (from `{START}` to `{END}`) from {file}; `obsgen generate` writes the block again"
        ),
    }
}

/// Compares fresh output with the disk and the lock, file by file, sorted by path.
/// The lock itself is reported as `obsgen.lock` (missing or stale), and the obsgen
/// block of `.gitattributes` as `.gitattributes` (missing or stale, never modified).
pub fn status(root: &Path, generated: &Generated) -> Result<Vec<Status>> {
    let manifest = generated.model.manifest_file.as_str();
    if let Some(f) = generated.files.iter().find(|f| f.path == manifest) {
        bail!(
            "refusing to generate {}: it is the manifest\nhelp: rename the manifest (obsgen.toml)",
            f.path
        );
    }
    let lock = read_lock_for(root, Some(manifest))?;
    let pending = read_pending(root, Some(manifest))?;
    let locked_by_path: HashMap<&str, &LockedFile> = lock
        .iter()
        .flat_map(|l| l.files.iter())
        .map(|f| (f.path.as_str(), f))
        .collect();
    let fresh_paths: BTreeSet<&str> = generated.files.iter().map(|f| f.path.as_str()).collect();
    // Another obsgen version wrote the lock from the same manifest: say so.
    let version_change = lock
        .as_ref()
        .and_then(|l| l.version_change(&generated.lock));
    let stale_why = version_change.as_ref().map_or_else(
        || "out of date with the manifest or templates".to_string(),
        |c| c.file_detail(),
    );
    let mut out = Vec::new();
    for f in &generated.files {
        let disk = safe_read(root, &f.path)?;
        let locked = locked_by_path.get(f.path.as_str()).copied();
        let (state, detail) = match &disk {
            None => (State::Missing, "not on disk".to_string()),
            Some(d) if *d == f.bytes => (State::Ok, String::new()),
            Some(d) => changed_state(&f.path, d, &f.bytes, locked, &pending, &stale_why),
        };
        out.push(Status {
            path: f.path.clone(),
            state,
            template: Some(f.template.clone()),
            detail,
            disk,
            fresh: Some(f.bytes.clone()),
        });
    }
    // Orphans: what the lock lists, and what an interrupted run wrote, that is no
    // longer generated.
    let mut orphans: BTreeMap<&str, Option<&LockedFile>> = BTreeMap::new();
    for l in lock.iter().flat_map(|l| l.files.iter()) {
        orphans.insert(&l.path, Some(l));
    }
    for p in &pending.files {
        orphans.entry(&p.path).or_insert(None);
    }
    for (path, locked) in orphans {
        if fresh_paths.contains(path) {
            continue;
        }
        let Some(disk) = safe_read(root, path)? else {
            continue;
        };
        let own = |bytes: &[u8]| {
            let sha = sha256(bytes);
            locked.is_some_and(|l| l.sha256 == sha) || pending.has(path, &sha)
        };
        let ours = own(&disk) || lf_only(&disk).is_some_and(|b| own(&b));
        let detail = match (locked, ours) {
            // An interrupted run meant to write it and never did: not obsgen's file.
            (None, false) => continue,
            (None, true) => {
                "written by an interrupted `obsgen generate` and no longer generated; `obsgen generate` removes it"
            }
            (Some(_), true) => "no longer generated; `obsgen generate` removes it",
            (Some(_), false) => "no longer generated, and edited by hand since",
        };
        out.push(Status {
            path: path.to_string(),
            state: State::Orphaned,
            template: locked.map(|l| l.template.clone()),
            detail: detail.to_string(),
            disk: Some(disk),
            fresh: None,
        });
    }
    let fresh_lock = generated.lock.to_bytes();
    let disk_lock = safe_read(root, LOCK_FILE)?;
    let (state, detail) = match &disk_lock {
        None => (State::Missing, "not on disk".to_string()),
        Some(d) if *d == fresh_lock => (State::Ok, String::new()),
        Some(d) if lf_only(d).as_deref() == Some(&fresh_lock) => {
            (State::Stale, CRLF_NOTE.to_string())
        }
        Some(_) => (
            State::Stale,
            version_change.as_ref().map_or_else(
                || "records another manifest, template set or obsgen version".to_string(),
                |c| c.lock_detail(&generated.lock.templates),
            ),
        ),
    };
    out.push(Status {
        path: LOCK_FILE.into(),
        state,
        template: None,
        detail,
        disk: disk_lock,
        fresh: Some(fresh_lock),
    });
    out.push(gitattributes_status(root, generated)?);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// `.gitattributes`: missing, or stale when obsgen's block is missing or out of date.
fn gitattributes_status(root: &Path, generated: &Generated) -> Result<Status> {
    let disk = safe_read(root, GITATTRIBUTES)?;
    let old = match &disk {
        None => None,
        Some(b) => Some(std::str::from_utf8(b).map_err(|_| {
            anyhow!("{GITATTRIBUTES} is not UTF-8 text\nhelp: save it as UTF-8; obsgen keeps a block of lines in it")
        })?),
    };
    let fresh = merge_block(
        GITATTRIBUTES,
        old,
        "LF line endings for the files obsgen generates (obsgen generate rewrites this block)",
        &gitattributes_lines(generated),
    )?
    .into_bytes();
    let (state, detail) = match &disk {
        None => (State::Missing, "not on disk".to_string()),
        Some(d) if *d == fresh => (State::Ok, String::new()),
        Some(_) => (
            State::Stale,
            "obsgen's block (`# >>> obsgen` … `# <<< obsgen`) is missing or out of date"
                .to_string(),
        ),
    };
    Ok(Status {
        path: GITATTRIBUTES.into(),
        state,
        template: None,
        detail,
        disk,
        fresh: Some(fresh),
    })
}

/// Whether an orphan was edited by hand (then removing it needs `--force`).
pub(super) fn orphan_edited(s: &Status) -> bool {
    s.state == State::Orphaned && s.detail.contains("edited by hand")
}

/// A unified diff of one file, from disk to fresh.
pub fn unified_diff(s: &Status) -> String {
    let old = s
        .disk
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let new = s
        .fresh
        .as_deref()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let a = if s.disk.is_some() {
        format!("a/{}", s.path)
    } else {
        "/dev/null".into()
    };
    let b = if s.fresh.is_some() {
        format!("b/{}", s.path)
    } else {
        "/dev/null".into()
    };
    similar::TextDiff::from_lines(old.as_ref(), new.as_ref())
        .unified_diff()
        .context_radius(3)
        .header(&a, &b)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_obsgen_block_is_appended_replaced_and_keeps_the_users_lines() {
        let lines = vec!["/a text eol=lf".to_string()];
        let merge = |old: Option<&str>| merge_block(".gitattributes", old, "t", &lines);
        let block = "# >>> obsgen: t\n/a text eol=lf\n# <<< obsgen\n";
        assert_eq!(merge(None).unwrap(), block);
        assert_eq!(
            merge(Some("*.png binary")).unwrap(),
            format!("*.png binary\n{block}")
        );
        let old = "x\n# >>> obsgen: old\n/b text eol=lf\n# <<< obsgen\ny\n";
        assert_eq!(merge(Some(old)).unwrap(), format!("x\n{block}y\n"));
        assert_eq!(
            merge(Some(&merge(Some(old)).unwrap())).unwrap(),
            format!("x\n{block}y\n")
        );
        // The file's CRLF line endings are kept, the block follows them.
        assert_eq!(
            merge(Some("x\r\n")).unwrap(),
            "x\r\n# >>> obsgen: t\r\n/a text eol=lf\r\n# <<< obsgen\r\n"
        );
        for damaged in [
            "# >>> obsgen: t\nmine\n",
            "mine\n# <<< obsgen\n",
            "# <<< obsgen\n# >>> obsgen\n",
            "# >>> obsgen\n# <<< obsgen\n# >>> obsgen\n# <<< obsgen\n",
        ] {
            let e = merge(Some(damaged)).unwrap_err().to_string();
            assert!(
                e.contains("damaged obsgen block") && e.contains("help:"),
                "{e}"
            );
        }
    }
}
