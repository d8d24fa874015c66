//! Rendering: the planned artifacts through minijinja, with the template set pinned
//! by the manifest (embedded, optionally overlaid file by file with `--templates DIR`).
//!
//! Auto-escaping is off and undefined values are errors. Strings from the manifest
//! reach YAML through the `q` filter (a JSON string, which is also a valid YAML and
//! TOML string; see [`crate::quote`]), so `:`, `#`, quotes, newlines, `{{` and the
//! characters YAML 1.1 reads as line breaks (U+0085, U+2028, U+2029) survive a parse back.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result, anyhow};
use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};

use crate::assets;
use crate::delivery::Delivery;
use crate::model::Artifact;
pub use crate::model::File;
use crate::model::Model;
use crate::parallel::parallel_map;

/// What templates see as `m`: the stack, and the delivery (`m.ci`, `m.aws`) beside it.
#[derive(serde::Serialize)]
struct Context<'a> {
    #[serde(flatten)]
    model: &'a Model,
    #[serde(flatten)]
    delivery: &'a Delivery,
}

/// Quotes any value as a JSON scalar: strings become double-quoted with escapes
/// ([`crate::quote::yaml_str`]), numbers and booleans stay as they are.
fn quote(value: Value) -> Result<String, minijinja::Error> {
    if let Some(s) = value.as_str() {
        return Ok(crate::quote::yaml_str(s));
    }
    let json = serde_json::to_value(&value).map_err(|e| {
        minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string())
    })?;
    Ok(json.to_string())
}

/// A template environment with obsgen's rules: no auto-escaping, strict undefined,
/// block tags that leave no blank lines, and the `q` quoting filter.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_syntax(
        SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("valid syntax config"),
    );
    env.add_filter("q", quote);
    env
}

/// The template environment for one template set.
pub struct Renderer {
    /// Template sources by name, for the content hash of what was actually used.
    pub sources: BTreeMap<String, String>,
}

impl Renderer {
    /// Loads template set `version`, overlaid by files of the same relative path in
    /// `overlay` (a user's template folder), if given.
    pub fn new(version: &str, overlay: Option<&std::path::Path>) -> Result<Self> {
        let mut sources: BTreeMap<String, String> = assets::template_set(version)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        if sources.is_empty() {
            return Err(anyhow!(
                "template set v{version} is not embedded in this obsgen"
            ));
        }
        if let Some(dir) = overlay {
            for name in sources.clone().keys() {
                let path = dir.join(name);
                if path.is_file() {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading template {}", path.display()))?;
                    sources.insert(name.clone(), text);
                }
            }
        }
        Ok(Renderer { sources })
    }

    /// A template environment with the templates `artifacts` use, compiled (a project
    /// without logs or tracing never pays for compiling their templates).
    fn environment_for(&self, artifacts: &[Artifact]) -> Result<Environment<'static>> {
        let used: std::collections::BTreeSet<&str> =
            artifacts.iter().map(|a| a.template.as_str()).collect();
        let mut env = environment();
        for name in used {
            let text = self
                .sources
                .get(name)
                .ok_or_else(|| anyhow!("bug: no template {name}"))?;
            env.add_template_owned(name.to_string(), text.clone())
                .map_err(|e| anyhow!("bug: template {name} does not compile: {e:#}"))?;
        }
        Ok(env)
    }

    /// Renders every artifact against the model.
    pub fn render(
        &self,
        model: &Model,
        delivery: &Delivery,
        artifacts: &[Artifact],
    ) -> Result<Vec<File>> {
        let compiled = self.environment_for(artifacts)?;
        let m = Value::from(minijinja::value::Serde(Context { model, delivery }));
        let envs: Vec<Value> = model
            .environments
            .iter()
            .map(|e| Value::from(minijinja::value::Serde(e)))
            .collect();
        let header = Value::from(model.header());
        let render_one = |a: &Artifact| -> Result<File> {
            let tmpl = compiled
                .get_template(&a.template)
                .map_err(|e| anyhow!("bug: {e}"))?;
            let env = a
                .environment
                .map(|i| envs[i].clone())
                .unwrap_or_else(|| Value::from(()));
            let item = a.item.clone().unwrap_or_else(|| Value::from(()));
            let ctx = minijinja::context! { m => m.clone(), env => env, item => item, header => header.clone() };
            let text = tmpl.render(ctx).map_err(|e| {
                let mut msg = format!(
                    "bug in obsgen: template {} failed to render {}: {e}",
                    a.template, a.path
                );
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    msg.push_str(&format!("\n  caused by: {s}"));
                    source = s.source();
                }
                anyhow!(msg)
            })?;
            Ok(File {
                path: a.path.clone(),
                template: a.template.clone(),
                bytes: text.into_bytes(),
            })
        };
        parallel_map(artifacts, render_one).into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_filter_escapes_for_yaml() {
        let mut env = environment();
        env.add_template("t", "key: {{ v | q }}\nn: {{ n | q }}\n")
            .unwrap();
        let nasty = "a: b # c \"d\" 'e' {{ f }}\nsecond line\ttab";
        let out = env
            .get_template("t")
            .unwrap()
            .render(minijinja::context! { v => nasty, n => 5 })
            .unwrap();
        let parsed: serde_json::Value = serde_saphyr::from_str(&out).unwrap();
        assert_eq!(parsed["key"], serde_json::json!(nasty));
        assert_eq!(parsed["n"], serde_json::json!(5));
    }

    #[test]
    fn undefined_values_are_errors() {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.add_template("t", "{{ nope }}").unwrap();
        assert!(
            env.get_template("t")
                .unwrap()
                .render(minijinja::context! {})
                .is_err()
        );
    }
}

/// Helpers for unit tests that break a rendered file on purpose and expect
/// [`crate::verify`] to catch it.
#[cfg(test)]
pub(crate) mod test_support {
    use super::File;
    use crate::model::Model;

    /// Every file of a model, rendered with the embedded templates, not yet verified.
    pub fn rendered(m: &Model) -> Vec<File> {
        let r = super::Renderer::new("1", None).unwrap();
        let delivery = crate::delivery::Delivery::default();
        r.render(m, &delivery, &crate::plan::plan(m, &delivery))
            .unwrap()
    }

    /// Replaces the first `from` in the file at `path` (which must contain it).
    pub fn replace(files: &mut [File], path: &str, from: &str, to: &str) {
        let f = files.iter_mut().find(|f| f.path == path).unwrap();
        let text = String::from_utf8(f.bytes.clone()).unwrap();
        assert!(text.contains(from), "{path} lacks {from}");
        f.bytes = text.replacen(from, to, 1).into_bytes();
    }
}
