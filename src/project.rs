//! A project on disk: finding its manifest, running the pipeline
//! (load → validate → resolve → plan → render → verify), comparing the result with
//! the disk and the lock (`ok | stale | modified | missing | orphaned`), and
//! emitting it safely: nothing is written until everything succeeded, writes are
//! atomic, no path leaves the project folder or passes through a symlink, and hand
//! edits are not overwritten without `--force`.

use std::io::Write as _;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use serde::Serialize;

use crate::diag::Diagnostics;
use crate::lock::{LOCK_FILE, Lock, LockedFile, sha256};
use crate::model::Model;
use crate::render::{File, Renderer};
use crate::{assets, exporters, load, plan, resolve, validate, verify};

pub const MANIFEST_FILE: &str = "obsgen.toml";

/// Where the manifest is and where output goes (the manifest's folder).
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub manifest: PathBuf,
    /// File name of the manifest, for messages and headers.
    pub manifest_name: String,
}

impl Project {
    /// `--manifest PATH`, or the first `obsgen.toml` walking up from `cwd`.
    pub fn locate(cwd: &Path, manifest: Option<&Path>) -> Result<Project> {
        let manifest = match manifest {
            Some(p) => {
                let p = if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) };
                if !p.is_file() {
                    bail!("manifest {} does not exist\nhelp: check the path given to --manifest", p.display());
                }
                p
            }
            None => cwd
                .ancestors()
                .map(|d| d.join(MANIFEST_FILE))
                .find(|p| p.is_file())
                .ok_or_else(|| {
                    anyhow!(
                        "no {MANIFEST_FILE} in {} or any parent folder\nhelp: run `obsgen init` to create one, or pass --manifest PATH",
                        cwd.display()
                    )
                })?,
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

/// The fresh output of the pipeline, not yet written.
#[derive(Debug)]
pub struct Generated {
    pub model: Model,
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
    let artifacts = plan::plan(&model);
    stage("render");
    let files = renderer.render(&model, &artifacts)?;
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
    Ok(Generated { model, files, lock })
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
/// obsgen wrote last — only if the file on disk is byte for byte what the lock
/// records, so a hash edited by hand is never carried forward.
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
    let on_disk = match (safe_read(root, exporters::WEB_FILE)?, locked_sha) {
        (Some(bytes), Some(sha)) if sha256(&bytes) == sha => {
            exporters::hash_in_web_yml(&String::from_utf8_lossy(&bytes))
        }
        _ => None,
    };
    Ok(exporters::WebInputs { password, on_disk })
}

/// State of one output file (DESIGN.md: the lockfile, drift and hand edits).
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

/// The lock on disk, if any.
pub fn read_lock(root: &Path) -> Result<Option<Lock>> {
    match safe_read(root, LOCK_FILE)? {
        None => Ok(None),
        Some(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lock = Lock::parse(&text).map_err(|e| {
                anyhow!(
                    "{LOCK_FILE} is damaged: {e}\nhelp: restore it from version control, or delete it and run `obsgen generate --force` after checking `obsgen diff`"
                )
            })?;
            for f in &lock.files {
                checked_rel(&f.path).with_context(|| format!("{LOCK_FILE} lists a bad path"))?;
            }
            Ok(Some(lock))
        }
    }
}

/// Compares fresh output with the disk and the lock, file by file, sorted by path.
/// The lock itself is reported as `obsgen.lock` (missing or stale).
pub fn status(root: &Path, generated: &Generated) -> Result<Vec<Status>> {
    let lock = read_lock(root)?;
    let locked_by_path: std::collections::HashMap<&str, &LockedFile> = lock
        .iter()
        .flat_map(|l| l.files.iter())
        .map(|f| (f.path.as_str(), f))
        .collect();
    let fresh_paths: std::collections::HashSet<&str> =
        generated.files.iter().map(|f| f.path.as_str()).collect();
    let mut out = Vec::new();
    for f in &generated.files {
        let disk = safe_read(root, &f.path)?;
        let locked = locked_by_path.get(f.path.as_str()).copied();
        let (state, detail) = match (&disk, locked) {
            (None, _) => (State::Missing, "not on disk".to_string()),
            (Some(d), _) if *d == f.bytes => (State::Ok, String::new()),
            (Some(d), Some(l)) if sha256(d) != l.sha256 => (
                State::Modified,
                "edited by hand since obsgen generated it".to_string(),
            ),
            (Some(_), Some(_)) => (
                State::Stale,
                "out of date with the manifest or templates".to_string(),
            ),
            (Some(_), None) => (
                State::Modified,
                "exists but was not generated by obsgen (not in obsgen.lock)".to_string(),
            ),
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
    if let Some(lock) = &lock {
        for l in &lock.files {
            if fresh_paths.contains(l.path.as_str()) {
                continue;
            }
            if let Some(disk) = safe_read(root, &l.path)? {
                let edited = sha256(&disk) != l.sha256;
                let detail = if edited {
                    "no longer generated, and edited by hand since".to_string()
                } else {
                    "no longer generated; `obsgen generate` removes it".to_string()
                };
                out.push(Status {
                    path: l.path.clone(),
                    state: State::Orphaned,
                    template: Some(l.template.clone()),
                    detail,
                    disk: Some(disk),
                    fresh: None,
                });
            }
        }
    }
    let fresh_lock = generated.lock.to_bytes();
    let disk_lock = safe_read(root, LOCK_FILE)?;
    let (state, detail) = match &disk_lock {
        None => (State::Missing, "not on disk".to_string()),
        Some(d) if *d == fresh_lock => (State::Ok, String::new()),
        Some(_) => (
            State::Stale,
            "records another manifest, template set or obsgen version".to_string(),
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
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Whether an orphan was edited by hand (then removing it needs `--force`).
fn orphan_edited(s: &Status) -> bool {
    s.state == State::Orphaned && s.detail.contains("edited")
}

/// What `generate` did or would do.
#[derive(Debug, Default)]
pub struct Outcome {
    pub written: Vec<String>,
    pub removed: Vec<String>,
    pub unchanged: usize,
}

/// Writes the generated files. Refuses (before writing anything) when a file was
/// edited by hand, unless `force`.
pub fn emit(root: &Path, generated: &Generated, force: bool, dry_run: bool) -> Result<Outcome> {
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
    let mut outcome = Outcome::default();
    let mut writes: Vec<(&str, &[u8])> = Vec::new();
    for s in &statuses {
        match (s.state, &s.fresh) {
            (State::Ok, _) => outcome.unchanged += 1,
            (State::Orphaned, _) => outcome.removed.push(s.path.clone()),
            (_, Some(bytes)) => writes.push((&s.path, bytes)),
            (_, None) => {}
        }
    }
    // The lock goes last, so an interrupted run leaves the old lock (and `check` sees it).
    writes.sort_by_key(|(p, _)| *p == LOCK_FILE);
    outcome.written = writes.iter().map(|(p, _)| p.to_string()).collect();
    if dry_run {
        return Ok(outcome);
    }
    // Every parent folder is created before the first file is written, so a failure to
    // create one leaves the files untouched.
    for (path, _) in &writes {
        if let Some(parent) = Path::new(path).parent() {
            std::fs::create_dir_all(root.join(parent))
                .with_context(|| format!("creating folder {}", root.join(parent).display()))?;
        }
    }
    for (path, bytes) in &writes {
        write_atomic(root, path, bytes)?;
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
    Ok(outcome)
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
    let mut tmp = tempfile::Builder::new()
        .prefix(".obsgen-")
        .tempfile_in(dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    #[cfg(not(unix))]
    let _ = mode;
    tmp.write_all(bytes)
        .with_context(|| format!("writing {}", target.display()))?;
    tmp.as_file().sync_all().ok();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = mode.unwrap_or_else(|| {
            std::fs::metadata(&target)
                .map(|m| m.permissions().mode() & 0o7777)
                .unwrap_or(0o644)
        });
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting the mode of {}", target.display()))?;
    }
    tmp.persist(&target)
        .map_err(|e| anyhow!("replacing {}: {}", target.display(), e.error))?;
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
        emit(root, &generated, false, false).unwrap();
        assert!(states(root).iter().all(|(_, s)| *s == State::Ok));
        std::fs::write(root.join("compose.yaml"), "# mine\n").unwrap();
        let st = states(root);
        assert!(
            st.contains(&("compose.yaml".into(), State::Modified)),
            "{st:?}"
        );
        assert!(emit(root, &generated, false, false).is_err());
        assert_eq!(
            std::fs::read_to_string(root.join("compose.yaml")).unwrap(),
            "# mine\n"
        );
        emit(root, &generated, true, false).unwrap();
        assert!(states(root).iter().all(|(_, s)| *s == State::Ok));
    }
}
