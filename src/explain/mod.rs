//! `obsgen explain`: where a service, a database, an alert or a generated file comes
//! from (manifest lines, profile values, templates) and what depends on it. It runs
//! the whole pipeline, so what it says is what `generate` would write.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail};

use crate::load::{Loaded, SpanMap};
use crate::manifest::Manifest;
use crate::model::Model;
use crate::project::{Generated, Project};
use crate::render::File;

mod alerts;
mod files;
mod subjects;

use alerts::alert;
use files::explain_file;
use subjects::{explain_database, explain_service};

struct Ctx<'a> {
    manifest_name: &'a str,
    text: &'a str,
    loaded: &'a Loaded<Manifest>,
    gen_: &'a Generated,
    overlay: Option<&'a Path>,
}

impl Ctx<'_> {
    fn model(&self) -> &Model {
        &self.gen_.model
    }
    fn spans(&self) -> &SpanMap {
        &self.loaded.spans
    }
    /// Line of the key at `path` (1-based), when the manifest has it.
    fn line(&self, path: &str) -> Option<usize> {
        self.spans()
            .has(path)
            .then(|| self.spans().key(path))
            .flatten()
            .map(|r| self.loaded.source.line_col(r.start).0)
    }
    /// `obsgen.toml:12` for a key the manifest sets.
    fn at(&self, path: &str) -> Option<String> {
        self.line(path)
            .map(|l| format!("{}:{l}", self.manifest_name))
    }
    /// The manifest lines of a table item (`service[1]`): from its `[[…]]` header to
    /// the next table header, without trailing blank or comment lines; numbered.
    fn lines_of(&self, path: &str, out: &mut String) {
        let Some(first) = self
            .line(&format!("{path}.name"))
            .or_else(|| self.line(path))
        else {
            return;
        };
        let lines: Vec<&str> = self.text.lines().collect();
        let mut start = first - 1;
        while start > 0 && !lines[start].trim_start().starts_with('[') {
            start -= 1;
        }
        if !lines[start].trim_start().starts_with('[') {
            start = first - 1;
        }
        let mut end = start + 1;
        while end < lines.len() && !lines[end].trim_start().starts_with('[') {
            end += 1;
        }
        while end > start + 1 && {
            let t = lines[end - 1].trim();
            t.is_empty() || t.starts_with('#')
        } {
            end -= 1;
        }
        for (i, line) in lines.iter().enumerate().take(end).skip(start) {
            let _ = writeln!(out, "    {:>4} | {line}", i + 1);
        }
    }
    fn file(&self, path: &str) -> Option<&File> {
        self.gen_.files.iter().find(|f| f.path == path)
    }
}

/// Whether `word` appears in `text` as a whole name (not inside a longer name).
fn mentions(text: &str, word: &str) -> bool {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(is_name) && !after.is_some_and(is_name)
    })
}

/// Label-matcher values of a PromQL expression (`job=~"a|b"` → `a`, `b`).
fn matcher_values(expr: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r#"[=~!]"([^"]*)""#).expect("valid regex");
    re.captures_iter(expr)
        .flat_map(|c| c[1].split('|').map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// Runs the explanation for `what` (`gateway`, `alert ServiceDown`, `compose.yaml`).
pub fn explain(project: &Project, overlay: Option<&Path>, what: &[String]) -> Result<String> {
    let text = std::fs::read_to_string(&project.manifest)
        .with_context(|| format!("reading {}", project.manifest.display()))?;
    let loaded = crate::load::load_manifest(text.clone(), &project.manifest_name)?;
    let gen_ = crate::project::generate(project, overlay)?;
    let ctx = Ctx {
        manifest_name: &project.manifest_name,
        text: &text,
        loaded: &loaded,
        gen_: &gen_,
        overlay,
    };
    let m = ctx.model();
    let alert_names: BTreeSet<String> = m
        .rules
        .iter()
        .flat_map(|f| f.groups.iter().flat_map(|g| g.rules.iter()))
        .filter_map(|r| r.alert.clone())
        .collect();
    let (kind, name) = match what {
        [k, n] if k == "alert" => ("alert", n.as_str()),
        [k, n] if k == "service" || k == "database" || k == "file" => (k.as_str(), n.as_str()),
        [n] => ("", n.as_str()),
        _ => bail!(
            "explain takes one name, or `alert NAME`\nhelp: for example `obsgen explain gateway`, `obsgen explain alert ServiceDown`, `obsgen explain compose.production.yaml`"
        ),
    };
    let files: Vec<&str> = gen_.files.iter().map(|f| f.path.as_str()).collect();
    let file_match = |n: &str| -> Option<String> {
        if files.contains(&n) {
            return Some(n.to_string());
        }
        let by_suffix: Vec<&&str> = files
            .iter()
            .filter(|f| f.ends_with(&format!("/{n}")))
            .collect();
        (by_suffix.len() == 1).then(|| by_suffix[0].to_string())
    };
    let service = m.services.iter().position(|s| s.name == name);
    let database = m.databases.iter().position(|d| d.name == name);
    match kind {
        "alert" if alert_names.contains(name) => return Ok(alert(&ctx, name)),
        "service" if service.is_some() => return Ok(explain_service(&ctx, service.unwrap())),
        "database" if database.is_some() => return Ok(explain_database(&ctx, database.unwrap())),
        "file" => {
            if let Some(f) = file_match(name) {
                return explain_file(&ctx, &f);
            }
        }
        "" => {
            if let Some(i) = service {
                return Ok(explain_service(&ctx, i));
            }
            if let Some(i) = database {
                return Ok(explain_database(&ctx, i));
            }
            if let Some(f) = file_match(name) {
                return explain_file(&ctx, &f);
            }
            if alert_names.contains(name) {
                return Ok(alert(&ctx, name));
            }
        }
        _ => {}
    }
    // Not found: suggest the nearest name of the kind asked for (or any kind).
    let mut candidates: Vec<String> = Vec::new();
    if kind.is_empty() || kind == "service" {
        candidates.extend(m.services.iter().map(|s| s.name.clone()));
    }
    if kind.is_empty() || kind == "database" {
        candidates.extend(m.databases.iter().map(|d| d.name.clone()));
    }
    if kind.is_empty() || kind == "alert" {
        candidates.extend(alert_names.iter().cloned());
    }
    if kind.is_empty() || kind == "file" {
        candidates.extend(files.iter().map(|f| f.to_string()));
        candidates.extend(
            files
                .iter()
                .filter_map(|f| f.rsplit('/').next().map(str::to_string)),
        );
    }
    let what = match kind {
        "" => "service, database, alert or generated file",
        "file" => "generated file",
        k => k,
    };
    let help = match crate::diag::suggest(name, candidates.iter().map(String::as_str)) {
        Some(s) if kind == "alert" || (kind.is_empty() && alert_names.contains(s)) => {
            format!("did you mean `obsgen explain alert {s}`?")
        }
        Some(s) => format!("did you mean `{s}`?"),
        None => {
            let services: Vec<&str> = m.services.iter().map(|s| s.name.as_str()).collect();
            format!(
                "services are {}; `obsgen explain alert NAME` for an alert; a path from obsgen.lock for a file",
                services.join(", ")
            )
        }
    };
    Err(anyhow!(
        "no {what} named `{name}` in {}\nhelp: {help}",
        ctx.manifest_name
    ))
}

fn profile_file(name: &str) -> String {
    format!("profiles/{name}.toml")
}

/// The value of `key` in `[table]` of an embedded profile, as written there.
fn profile_value(profile: &str, table: &str, key: &str) -> Option<String> {
    let text = crate::assets::profile_source(profile)?;
    let t: toml::Table = toml::from_str(text).ok()?;
    let mut v = &toml::Value::Table(t);
    for part in table.split('.').filter(|p| !p.is_empty()) {
        v = v.get(part)?;
    }
    v.get(key).map(|v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_name_mentions() {
        assert!(mentions("job=~\"api|web\"", "api"));
        assert!(!mentions("rapid", "api"));
        assert!(!mentions("api-db", "api"));
        assert!(mentions("- api\n", "api"));
    }

    #[test]
    fn matcher_values_split_alternations() {
        let v = matcher_values(r#"up{job=~"gateway|backend",env!="x"} == 0"#);
        assert!(v.contains("gateway") && v.contains("backend") && v.contains("x"));
    }
}
