//! `obsgen init` without prompts: answers from `--defaults`, an answers file
//! (`--answers FILE`, TOML) and `--set key=value` (highest precedence), rendered into
//! a commented `obsgen.toml` that is validated before it is written.
//!
//! The answers are in `answers`, where they come from in `gather`, what is still missing
//! in `missing`, how they become decided values in `fill`; this module renders them.

mod answers;
mod fill;
mod gather;
mod missing;

use std::path::Path;

use anyhow::{Context as _, Result};

pub use answers::{
    Answers, AwsAnswers, Backend, CiAnswers, DeployAnswers, ProjectAnswers, ReceiverAnswers,
    RoutingAnswers, ServiceAnswers, StorageAnswers, StringOrList, service_list,
};
pub use fill::{
    Filled, FilledCi, FilledDatabase, FilledProject, FilledReceiver, FilledService, RECEIVER_KINDS,
    fill, parse_databases, profile_backends, settle_ports,
};
pub use gather::{
    SCALAR_KEYS, answers_over, env_name, env_sets, gather, gather_all, parse_sets, proposals,
};
pub use missing::{Missing, missing, missing_error};

/// Renders the manifest for filled-in answers, moving clashing host ports first.
pub fn render_filled(filled: &Filled) -> Result<String> {
    let mut filled = filled.clone();
    settle_ports(&mut filled)?;
    render_unsettled(&filled)
}

fn render_unsettled(filled: &Filled) -> Result<String> {
    let template = crate::assets::template_set(&filled.project.templates)
        .get("init/obsgen.toml.j2")
        .copied()
        .or_else(|| {
            crate::assets::template_set("1")
                .get("init/obsgen.toml.j2")
                .copied()
        })
        .context("bug: no init template")?;
    let mut env = crate::render::environment();
    env.add_template("init", template)?;
    let text = env.get_template("init")?.render(
        minijinja::context! { a => minijinja::Value::from(minijinja::value::Serde(filled)) },
    )?;
    Ok(text)
}

/// Renders the manifest for the answers, filling the rest from defaults.
pub fn render(answers: Answers, folder: &Path) -> Result<String> {
    render_filled(&fill(&answers, folder)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_manifest_is_valid_for_the_defaults() {
        let text = render(Answers::default(), Path::new("/tmp/demo")).unwrap();
        crate::project::load_valid(text.clone(), "obsgen.toml")
            .unwrap_or_else(|d| panic!("{d}\n{text}"));
        assert!(text.contains("name = \"demo\""));
    }
}
