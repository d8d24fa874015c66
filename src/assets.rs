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

/// What a template set contains and every change to its output since it first
/// shipped, from `templates/CHANGES.toml` (the contract: `docs/templates.md`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetChanges {
    /// One line: what the set is.
    pub summary: String,
    /// What it contained when it first shipped.
    pub changes: Vec<String>,
    /// Changes to its output since, newest first, under the obsgen version that made
    /// them (`unreleased` first, until the next release).
    pub releases: Vec<(String, Release)>,
}

/// The changes one obsgen version made to a set's output. Each entry names what it
/// touches in backticks (an alert, a file, a dashboard uid, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    #[serde(default)]
    pub added: Vec<String>,
    #[serde(default)]
    pub fixed: Vec<String>,
    /// Removals and renames: allowed within a set only while obsgen is 0.x.
    #[serde(default)]
    pub removed: Vec<String>,
}

/// The heading of changes not yet in a release.
pub const UNRELEASED: &str = "unreleased";

/// `[vN]`: any key besides these is a release heading (serde's `flatten` and
/// `deny_unknown_fields` do not combine; a stray value fails as a [`Release`]).
#[derive(serde::Deserialize)]
struct RawSet {
    summary: String,
    changes: Vec<String>,
    #[serde(flatten)]
    releases: BTreeMap<String, Release>,
}

/// `(major, minor, patch)` of a release heading `X.Y.Z`.
fn release_key(v: &str) -> Option<(u64, u64, u64)> {
    let mut parts = v.split('.').map(|p| {
        (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u64>().ok())
            .flatten()
    });
    let key = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(key)
}

impl SetChanges {
    /// The entry `[v<version>]` of a CHANGES.toml text: `Ok(None)` when it has none,
    /// an error when the text or a heading under it is malformed.
    pub fn parse(text: &str, version: &str) -> Result<Option<SetChanges>, String> {
        let mut table: BTreeMap<String, toml::Value> =
            toml::from_str(text).map_err(|e| e.to_string())?;
        let Some(entry) = table.remove(&format!("v{version}")) else {
            return Ok(None);
        };
        let raw: RawSet = entry.try_into().map_err(|e| format!("[v{version}]: {e}"))?;
        let mut releases = Vec::new();
        for (heading, release) in raw.releases {
            if heading != UNRELEASED && release_key(&heading).is_none() {
                return Err(format!(
                    "[v{version}.{heading}]: a heading is `{UNRELEASED}` or the obsgen version X.Y.Z that made the changes"
                ));
            }
            releases.push((heading, release));
        }
        // Newest first: unreleased, then versions in descending order.
        releases
            .sort_by_key(|(h, _)| std::cmp::Reverse(release_key(h).unwrap_or((u64::MAX, 0, 0))));
        Ok(Some(SetChanges {
            summary: raw.summary,
            changes: raw.changes,
            releases,
        }))
    }

    /// The lines `obsgen templates list` prints for the set (indented by two).
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![format!("  {}; what changed:", self.summary)];
        out.extend(self.changes.iter().map(|c| format!("    - {c}")));
        let shipped: Vec<_> = self
            .releases
            .iter()
            .filter(|(_, r)| !(r.added.is_empty() && r.fixed.is_empty() && r.removed.is_empty()))
            .collect();
        if !shipped.is_empty() {
            out.push("  changes to its output since, newest first:".into());
        }
        for (heading, r) in shipped {
            out.push(if heading == UNRELEASED {
                "    not yet released:".into()
            } else {
                format!("    obsgen {heading}:")
            });
            for (kind, list) in [
                ("added", &r.added),
                ("fixed", &r.fixed),
                ("removed", &r.removed),
            ] {
                out.extend(list.iter().map(|c| format!("      - {kind}: {c}")));
            }
        }
        out
    }
}

/// What a template-set version contains and what changed (`templates/CHANGES.toml`),
/// or `None` when the version has no entry. The file is embedded and tested to parse,
/// so a malformed one is a bug in obsgen.
pub fn template_changes(version: &str) -> Option<SetChanges> {
    let text = templates()
        .iter()
        .find(|(p, _)| *p == "CHANGES.toml")
        .map(|(_, t)| *t)?;
    SetChanges::parse(text, version)
        .unwrap_or_else(|e| panic!("bug: embedded templates/CHANGES.toml: {e}"))
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

/// The pinned images of a template set: image name → image reference, one
/// `components/<name>/image.toml` each.
pub fn images(version: &str) -> BTreeMap<String, String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Pin {
        image: String,
    }
    template_set(version)
        .into_iter()
        .filter_map(|(path, text)| {
            let name = path
                .strip_prefix("components/")?
                .strip_suffix("/image.toml")?;
            let pin: Pin = toml::from_str(text)
                .unwrap_or_else(|e| panic!("bug: embedded v{version}/{path}: {e}"));
            Some((name.to_string(), pin.image))
        })
        .collect()
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

    #[test]
    fn changes_parse_strictly_and_list_newest_first() {
        // The embedded file: every set has an entry, every heading is valid.
        for v in template_versions() {
            assert!(template_changes(&v).is_some(), "v{v}");
        }
        let text = r#"
[v1]
summary = "first"
changes = ["everything"]
[v1."0.2.0"]
added = ["alert `A`"]
[v1.unreleased]
fixed = ["alert `B`: its expression"]
[v1."0.10.0"]
removed = ["alert `C`"]
[v1."0.3.0"]
"#;
        let set = SetChanges::parse(text, "1").unwrap().unwrap();
        let order: Vec<&str> = set.releases.iter().map(|(h, _)| h.as_str()).collect();
        assert_eq!(order, ["unreleased", "0.10.0", "0.3.0", "0.2.0"]);
        assert_eq!(
            set.lines(),
            [
                "  first; what changed:",
                "    - everything",
                "  changes to its output since, newest first:",
                "    not yet released:",
                "      - fixed: alert `B`: its expression",
                "    obsgen 0.10.0:",
                "      - removed: alert `C`",
                "    obsgen 0.2.0:",
                "      - added: alert `A`",
            ]
        );
        assert_eq!(SetChanges::parse(text, "2"), Ok(None));
        // Nothing after first shipping: no section.
        let plain = SetChanges::parse(
            "[v1]\nsummary = \"s\"\nchanges = []\n[v1.unreleased]\n",
            "1",
        )
        .unwrap()
        .unwrap();
        assert_eq!(plain.lines(), ["  s; what changed:"]);
        for bad in [
            "[v1]\nsummary = \"s\"\nchanges = []\n[v1.next]\n",
            "[v1]\nsummary = \"s\"\nchanges = []\n[v1.\"1.0\"]\n",
            "[v1]\nsummary = \"s\"\nchanges = []\n[v1.unreleased]\nchanged = []\n",
            "[v1]\nsummary = \"s\"\nchanges = []\nnote = \"x\"\n",
            "[v1]\nchanges = []\n",
        ] {
            assert!(SetChanges::parse(bad, "1").is_err(), "{bad}");
        }
    }
}
