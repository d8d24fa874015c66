//! The pipeline's entry points: load → validate → resolve → plan → render → verify, from
//! text or from a project on disk (whose Prometheus password and last `web.yml` hash, as
//! the lock records it, are read first).

use std::path::Path;

use anyhow::{Context as _, Result};

use super::Generated;
use super::disk::safe_read;
use super::locate::Project;
use super::status::{read_lock, read_pending};
use crate::components::prometheus::login as exporters;
use crate::delivery::Delivery;
use crate::diag::Diagnostics;
use crate::lock::{Lock, LockedFile, sha256};
use crate::render::Renderer;
use crate::{assets, load, plan, validate, verify};

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
    let mut model = crate::assemble::model(&manifest, manifest_name);
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
