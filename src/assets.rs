//! The template sets and profiles embedded in the binary at build time (see
//! `build.rs`), their versions and content hashes.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::settings::{EnvProfile, StackProfile};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// All embedded template files, `(path under templates/, contents)`, sorted by path.
pub fn templates() -> &'static [(&'static str, &'static str)] {
    embedded::TEMPLATES
}

/// Template-set versions available (`"1"` for `templates/v1/`), ascending.
pub fn template_versions() -> Vec<String> {
    let mut versions: Vec<String> = templates()
        .iter()
        .filter_map(|(p, _)| p.split('/').next()?.strip_prefix('v').map(str::to_string))
        .collect();
    versions.sort_by_key(|v| v.parse::<u32>().unwrap_or(u32::MAX));
    versions.dedup();
    versions
}

/// The files of one template set, keyed by their path inside it (`compose/compose.yaml.j2`).
pub fn template_set(version: &str) -> BTreeMap<&'static str, &'static str> {
    let prefix = format!("v{version}/");
    templates()
        .iter()
        .filter_map(|(p, c)| Some((p.strip_prefix(prefix.as_str())?, *c)))
        .collect()
}

/// sha256 over the paths and contents of a set of files, in path order.
pub fn content_hash<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut h = Sha256::new();
    for (path, text) in files {
        h.update((path.len() as u64).to_le_bytes());
        h.update(path.as_bytes());
        h.update((text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
    }
    format!("sha256:{:x}", h.finalize())
}

/// Content hash of one template set (recorded in `obsgen.lock`).
pub fn template_set_hash(version: &str) -> String {
    content_hash(template_set(version))
}

/// Content hash of all embedded profiles (recorded in `obsgen.lock`).
pub fn profiles_hash() -> String {
    content_hash(embedded::PROFILES.iter().copied())
}

fn profile_text(name: &str) -> Option<&'static str> {
    let file = format!("{name}.toml");
    embedded::PROFILES
        .iter()
        .find(|(p, _)| *p == file)
        .map(|(_, t)| *t)
}

/// What a template-set version contains and what changed (`templates/CHANGES.toml`):
/// its one-line summary and change list, or `None` when the version has no entry.
pub fn template_changes(version: &str) -> Option<(String, Vec<String>)> {
    let text = templates()
        .iter()
        .find(|(p, _)| *p == "CHANGES.toml")
        .map(|(_, t)| *t)?;
    let table: toml::Table = toml::from_str(text).ok()?;
    let entry = table.get(&format!("v{version}"))?;
    let summary = entry.get("summary")?.as_str()?.to_string();
    let changes = entry
        .get("changes")?
        .as_array()?
        .iter()
        .filter_map(|c| c.as_str().map(str::to_string))
        .collect();
    Some((summary, changes))
}

/// The text of an embedded profile (`profiles/<name>.toml`), for `obsgen explain`.
pub fn profile_source(name: &str) -> Option<&'static str> {
    profile_text(name)
}

fn profile_names(stack: bool) -> Vec<String> {
    embedded::PROFILES
        .iter()
        .filter(|(_, text)| text.contains("\n[environment]") != stack)
        .filter_map(|(p, _)| p.strip_suffix(".toml").map(str::to_string))
        .collect()
}

/// Names of the stack presets (`minimal`, `standard`, `full`).
pub fn stack_profile_names() -> Vec<String> {
    profile_names(true)
}

/// Names of the environment overlays (`development`, `staging`, `production`).
pub fn env_profile_names() -> Vec<String> {
    profile_names(false)
}

/// A stack preset by name. Embedded profiles are tested to parse, so a parse failure
/// here is a bug in obsgen.
pub fn stack_profile(name: &str) -> Option<StackProfile> {
    let text = profile_text(name)?;
    if text.contains("\n[environment]") {
        return None;
    }
    Some(toml::from_str(text).unwrap_or_else(|e| panic!("bug: embedded profile {name}.toml: {e}")))
}

/// An environment overlay by name.
pub fn env_profile(name: &str) -> Option<EnvProfile> {
    let text = profile_text(name)?;
    if !text.contains("\n[environment]") {
        return None;
    }
    Some(toml::from_str(text).unwrap_or_else(|e| panic!("bug: embedded profile {name}.toml: {e}")))
}

/// The pinned image table of a template set (`images.toml`): component → image reference.
pub fn images(version: &str) -> BTreeMap<String, String> {
    let text = template_set(version)
        .get("images.toml")
        .copied()
        .unwrap_or("");
    toml::from_str(text).unwrap_or_else(|e| panic!("bug: embedded images.toml of v{version}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Layer as _;

    #[test]
    fn version_one_is_embedded() {
        assert_eq!(template_versions(), vec!["1".to_string()]);
        assert!(template_set("1").contains_key("compose/compose.yaml.j2"));
        assert!(template_set_hash("1").starts_with("sha256:"));
    }

    #[test]
    fn every_profile_parses_and_presets_are_complete() {
        let stacks = stack_profile_names();
        for required in ["minimal", "standard", "full"] {
            assert!(stacks.contains(&required.to_string()), "{stacks:?}");
        }
        for name in &stacks {
            let p = stack_profile(name).unwrap();
            assert!(
                p.components.unset().is_empty(),
                "{name}: {:?}",
                p.components.unset()
            );
            assert!(
                p.logging.unset().is_empty(),
                "{name}: {:?}",
                p.logging.unset()
            );
            assert!(
                p.tracing.unset().is_empty(),
                "{name}: {:?}",
                p.tracing.unset()
            );
            assert!(
                p.errors.unset().is_empty(),
                "{name}: {:?}",
                p.errors.unset()
            );
            assert!(p.service_defaults.unset().is_empty(), "{name}");
            let alerts = p.alerts.clone().over(Default::default());
            assert!(
                alerts.error_rate.is_some()
                    && alerts.latency_p95.is_some()
                    && alerts.for_.is_some(),
                "{name}"
            );
        }
        let envs = env_profile_names();
        for required in ["development", "production"] {
            assert!(envs.contains(&required.to_string()), "{envs:?}");
        }
        for name in &envs {
            let p = env_profile(name).unwrap();
            // every field but `extends` (manifest only) is set by every overlay
            assert_eq!(p.environment.unset(), vec!["extends"], "{name}");
        }
    }

    #[test]
    fn images_are_pinned() {
        for (name, image) in images("1") {
            let tag = image.rsplit_once(':').map(|(_, t)| t).unwrap_or("");
            assert!(
                !tag.is_empty() && tag != "latest" && !tag.contains('/'),
                "{name} = {image}"
            );
        }
    }
}
