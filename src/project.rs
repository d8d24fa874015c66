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
//! [`merge_block`]) setting `text eol=lf` on every generated file: a CRLF checkout
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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write as _;
use std::path::{Component, Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use anyhow::{Context as _, Result, anyhow, bail};
use serde::Serialize;

use crate::components::prometheus::login as exporters;
use crate::delivery::Delivery;
use crate::diag::Diagnostics;
use crate::lock::{
    LOCK_FILE, Lock, LockedFile, PENDING_FILE, Pending, PendingFile, sha256, untrusted_entries,
};
use crate::model::Model;
use crate::render::{File, Renderer};
use crate::{assets, load, plan, resolve, validate, verify};

pub const MANIFEST_FILE: &str = "obsgen.toml";
/// The user's git attributes file, where obsgen keeps a block for its files.
pub const GITATTRIBUTES: &str = ".gitattributes";
/// Prefix of obsgen's temporary files; `tempfile` adds 6 random letters and digits.
pub const TEMP_PREFIX: &str = ".obsgen-";

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

/// The fresh output of the pipeline, not yet written.
#[derive(Debug)]
pub struct Generated {
    pub model: Model,
    pub delivery: Delivery,
    pub files: Vec<File>,
    pub lock: Lock,
}

/// Loads and validates manifest text; the diagnostics name `display`. Load and
/// validation problems come back together where the document can be read around the
/// load problems (see [`crate::load`]).
pub fn load_valid(text: String, display: &str) -> Result<crate::manifest::Manifest, Diagnostics> {
    load::load_manifest_then(text, display, validate::validate).map(|loaded| loaded.value)
}

/// Runs the pipeline on manifest text, with no password and no earlier output
/// (`web.yml` gets the locked placeholder hash).
pub fn generate_from(text: &str, manifest_name: &str, overlay: Option<&Path>) -> Result<Generated> {
    generate_with(
        text,
        manifest_name,
        overlay,
        &exporters::WebInputs::default(),
    )
}

/// Runs the pipeline on manifest text; `web` says what is known for `web.yml`.
pub fn generate_with(
    text: &str,
    manifest_name: &str,
    overlay: Option<&Path>,
    web: &exporters::WebInputs,
) -> Result<Generated> {
    generate_stages(text, manifest_name, overlay, web, &mut |_| {})
}

/// [`generate_with`], calling `stage` with the name of each stage as it starts
/// (`load`, `resolve`, `plan`, `render`, `verify`, `lock`), for progress and timing.
pub fn generate_stages(
    text: &str,
    manifest_name: &str,
    overlay: Option<&Path>,
    web: &exporters::WebInputs,
    stage: &mut dyn FnMut(&'static str),
) -> Result<Generated> {
    stage("load");
    let manifest = load_valid(text.to_string(), manifest_name)?;
    stage("resolve");
    let mut model = resolve::resolve(&manifest, manifest_name);
    exporters::apply_web(&mut model, web)?;
    stage("plan");
    let renderer = Renderer::new(&model.templates, overlay)?;
    let delivery = Delivery::build(&manifest, &model);
    let artifacts = plan::plan(&model, &delivery);
    stage("render");
    let files = renderer.render(&model, &delivery, &artifacts)?;
    stage("verify");
    verify::verify(&model, &files)?;
    stage("lock");
    let templates_hash = assets::content_hash(
        renderer
            .sources
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    );
    let mut lock = Lock::new(&model.templates, templates_hash, text.as_bytes());
    lock.files = files
        .iter()
        .map(|f| LockedFile {
            path: f.path.clone(),
            template: f.template.clone(),
            sha256: sha256(&f.bytes),
        })
        .collect();
    Ok(Generated {
        model,
        delivery,
        files,
        lock,
    })
}

/// Reads the manifest of a project and runs the pipeline.
pub fn generate(project: &Project, overlay: Option<&Path>) -> Result<Generated> {
    let text = std::fs::read_to_string(&project.manifest)
        .with_context(|| format!("reading {}", project.manifest.display()))?;
    // Messages name the manifest relative to where the user is, when possible.
    let web = web_inputs(&project.root)?;
    generate_with(&text, &project.manifest_name, overlay, &web)
}

/// [`generate`] with a callback per stage (see [`generate_stages`]).
pub fn generate_project_stages(
    project: &Project,
    overlay: Option<&Path>,
    stage: &mut dyn FnMut(&'static str),
) -> Result<Generated> {
    stage("read");
    let text = std::fs::read_to_string(&project.manifest)
        .with_context(|| format!("reading {}", project.manifest.display()))?;
    let web = web_inputs(&project.root)?;
    generate_stages(&text, &project.manifest_name, overlay, &web, stage)
}

/// The Prometheus password (environment, then `.env`) and the hash of the `web.yml`
/// obsgen wrote last — only if the file on disk is byte for byte what the lock (or
/// the pending record of an interrupted run) records, so a hash edited by hand is
/// never carried forward.
fn web_inputs(root: &Path) -> Result<exporters::WebInputs> {
    let dotenv = safe_read(root, ".env")?.map(|b| String::from_utf8_lossy(&b).into_owned());
    let password = exporters::password_from(
        std::env::var(exporters::PASSWORD_VAR).ok(),
        dotenv.as_deref(),
    );
    let locked_sha = read_lock(root)
        .ok()
        .flatten()
        .and_then(|l| l.files.into_iter().find(|f| f.path == exporters::WEB_FILE))
        .map(|f| f.sha256);
    // An interrupted run may have written it: the pending record has its hash then.
    let pending = read_pending(root, None).unwrap_or_default();
    let on_disk = match safe_read(root, exporters::WEB_FILE)? {
        Some(bytes)
            if locked_sha.as_deref() == Some(sha256(&bytes).as_str())
                || pending.has(exporters::WEB_FILE, &sha256(&bytes)) =>
        {
            exporters::hash_in_web_yml(&String::from_utf8_lossy(&bytes))
        }
        _ => None,
    };
    Ok(exporters::WebInputs { password, on_disk })
}

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

/// A relative output path is plain: `/`-separated normal components only.
fn checked_rel(rel: &str) -> Result<PathBuf> {
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

/// The lock on disk, if any. An entry obsgen could never have written (see
/// [`untrusted_entries`]) makes it an error: the lock was tampered with.
pub fn read_lock(root: &Path) -> Result<Option<Lock>> {
    read_lock_for(root, None)
}

/// [`read_lock`], also refusing an entry that names the manifest.
fn read_lock_for(root: &Path, manifest: Option<&str>) -> Result<Option<Lock>> {
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
fn read_pending(root: &Path, manifest: Option<&str>) -> Result<Pending> {
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
fn orphan_edited(s: &Status) -> bool {
    s.state == State::Orphaned && s.detail.contains("edited by hand")
}

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
    for (path, _) in &files {
        if let Some(parent) = Path::new(path).parent() {
            std::fs::create_dir_all(root.join(parent))
                .with_context(|| format!("creating folder {}", root.join(parent).display()))?;
        }
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
    for (path, bytes) in &files {
        write_atomic(root, path, bytes)?;
    }
    if let Some(bytes) = attributes {
        write_atomic(root, GITATTRIBUTES, bytes)?;
    }
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

/// Temporary files this process has on disk right now (between creation and rename);
/// an interruption removes them ([`clean_up_on_interrupt`]). Held while a temporary
/// file is created or renamed, so the signal handler never races either.
static TEMPS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn temps() -> MutexGuard<'static, Vec<PathBuf>> {
    TEMPS.lock().unwrap_or_else(|e| e.into_inner())
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
fn write_atomic(root: &Path, rel: &str, bytes: &[u8]) -> Result<()> {
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
