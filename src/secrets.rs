//! `obsgen secrets`: fills the project's `.env` and `secrets/` folder so the stack
//! can start, without ever replacing a value the user already has.
//!
//! - Every variable of [`Model::env_vars`] that `.env` lacks (or has empty) gets a
//!   value: settings their proposed value, passwords of the stack's own services a
//!   strong random one. Credentials issued elsewhere (a Sentry DSN) are listed as
//!   still needed, never invented.
//! - Every Compose secret file that mirrors a variable (`secrets/prometheus_password`
//!   holds `PROMETHEUS_PASSWORD`) is written with that value; the others (receiver
//!   keys, remote-write tokens) are listed as still needed.
//! - `.env` is written atomically with mode 0600 (and an existing one is tightened
//!   to 0600); `secrets/` is 0700, its files 0644 because the containers read them
//!   as their own non-root user through the bind mount.
//! - A service's `env_file` that does not exist is created empty (mode 0600): it is the
//!   user's file, but Compose refuses to start without it.
//! - `.gitignore` gets `.env`, `secrets/` and the env_files when it does not ignore them yet.
//!
//! Nothing here goes through the lock: these files are the user's, not generated.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result, anyhow};

use crate::model::Model;
use crate::project;

/// Characters of generated values: safe unquoted in `.env`, YAML, shells, URLs and
/// connection strings.
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// 32 characters of 62: about 190 bits.
const LENGTH: usize = 32;

/// A strong random value from the operating system's generator.
pub fn random_value() -> Result<String> {
    let mut out = String::with_capacity(LENGTH);
    let mut buf = [0u8; 64];
    while out.len() < LENGTH {
        getrandom::fill(&mut buf)
            .map_err(|e| anyhow!("reading the system's random generator: {e}"))?;
        // Rejection sampling keeps every character equally likely (248 = 4 × 62).
        for b in buf.iter().filter(|b| **b < 248) {
            if out.len() == LENGTH {
                break;
            }
            out.push(ALPHABET[(*b % 62) as usize] as char);
        }
    }
    Ok(out)
}

/// The `KEY=value` pairs of a `.env` text (`export KEY=…` and quotes understood);
/// the last assignment of a key wins, as in Compose.
pub fn parse_dotenv(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.starts_with('#') {
                return None;
            }
            let l = l.strip_prefix("export ").unwrap_or(l);
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

/// What one run decided, for the report (and the tests).
#[derive(Debug, Default)]
pub struct Plan {
    /// New `.env` text, when it changes.
    pub dotenv: Option<String>,
    /// Variables given a random value.
    pub generated: Vec<String>,
    /// Variables given their proposed setting.
    pub proposed: Vec<String>,
    /// Variables `.env` already had.
    pub kept: Vec<String>,
    /// Secret files to write: (relative path, contents).
    pub files: Vec<(String, String)>,
    /// Secret files that already exist.
    pub files_kept: Vec<String>,
    /// Values only the user can provide: (what, how).
    pub needed: Vec<(String, String)>,
    /// Services' `env_file`s that do not exist yet: created empty (mode 0600), since
    /// Compose refuses to start without them.
    pub env_files: Vec<String>,
    /// New `.gitignore` text, when it changes.
    pub gitignore: Option<String>,
}

/// Relative path of a Compose secret's host file (`./secrets/x` → `secrets/x`).
fn rel(file: &str) -> &str {
    file.strip_prefix("./").unwrap_or(file)
}

/// Decides everything from the model and what is on disk; writes nothing.
pub fn plan(
    model: &Model,
    dotenv: Option<&str>,
    gitignore: Option<&str>,
    exists: impl Fn(&str) -> bool,
    mut random: impl FnMut() -> Result<String>,
) -> Result<Plan> {
    let mut p = Plan::default();
    let existing = dotenv.map(parse_dotenv).unwrap_or_default();
    let mut values: BTreeMap<String, String> = existing.clone();
    let mut fill: BTreeMap<String, String> = BTreeMap::new();
    for v in &model.env_vars {
        if existing.get(&v.name).is_some_and(|x| !x.is_empty()) {
            p.kept.push(v.name.clone());
            continue;
        }
        let value = if v.random {
            p.generated.push(v.name.clone());
            random()?
        } else if !v.value.is_empty() {
            p.proposed.push(v.name.clone());
            v.value.clone()
        } else {
            p.needed.push((
                format!("{} in .env ({})", v.name, v.description),
                v.how.clone(),
            ));
            continue;
        };
        values.insert(v.name.clone(), value.clone());
        fill.insert(v.name.clone(), value);
    }
    if !fill.is_empty() || dotenv.is_none() {
        p.dotenv = Some(dotenv_text(model, dotenv, &fill));
    }
    let mut secrets: Vec<&crate::model::Secret> = model.secrets.iter().collect();
    secrets.extend(model.remote_write.iter().filter_map(|r| r.secret.as_ref()));
    let mut seen = std::collections::BTreeSet::new();
    for s in secrets {
        let path = rel(&s.file).to_string();
        if !seen.insert(path.clone()) {
            continue;
        }
        if exists(&path) {
            p.files_kept.push(path);
            continue;
        }
        match s.copy_of.as_ref().and_then(|var| values.get(var)) {
            Some(value) if !value.is_empty() => p.files.push((path, value.clone())),
            _ => p
                .needed
                .push((format!("{path} ({})", s.description), s.how.clone())),
        }
    }
    p.env_files = model
        .env_files
        .iter()
        .map(|f| rel(f).to_string())
        .filter(|f| !exists(f))
        .collect();
    // Services' env_files hold settings and often secrets of the deployment: ignored too.
    let entries: Vec<String> = [".env".to_string(), "secrets/".to_string()]
        .into_iter()
        .chain(model.env_files.iter().map(|f| rel(f).to_string()))
        .collect();
    let needs: Vec<&String> = entries
        .iter()
        .filter(|entry| !ignores(gitignore.unwrap_or(""), entry))
        .collect();
    if !needs.is_empty() {
        let mut text = gitignore.unwrap_or("").to_string();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str("# Secrets of the stack (obsgen secrets): never commit them.\n");
        for n in needs {
            text.push_str(n);
            text.push('\n');
        }
        p.gitignore = Some(text);
    }
    Ok(p)
}

/// Whether a `.gitignore` text has a plain line ignoring `entry` (`.env`, `secrets/`).
fn ignores(text: &str, entry: &str) -> bool {
    let bare = entry.trim_end_matches('/');
    text.lines().map(str::trim).any(|l| {
        let l = l.strip_prefix('/').unwrap_or(l);
        l == entry || l == bare || (entry.ends_with('/') && l == format!("{bare}/*"))
    })
}

/// The `.env` text: the old one with empty assignments filled in place and missing
/// variables appended, or a new file in the order of `.env.example`.
fn dotenv_text(model: &Model, old: Option<&str>, fill: &BTreeMap<String, String>) -> String {
    let mut remaining = fill.clone();
    let mut out = String::new();
    match old {
        Some(old) => {
            for line in old.lines() {
                let t = line.trim();
                let t = t.strip_prefix("export ").unwrap_or(t);
                let filled = t.split_once('=').and_then(|(k, v)| {
                    let v = v.trim();
                    (v.is_empty() || v == "\"\"" || v == "''")
                        .then(|| remaining.remove(k.trim()).map(|val| (k.trim().to_string(), val)))
                        .flatten()
                });
                match filled {
                    Some((k, val)) => out.push_str(&format!("{k}={val}\n")),
                    None => {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
            }
            if !remaining.is_empty() {
                out.push_str("\n# Added by obsgen secrets.\n");
            }
        }
        None => out.push_str(&format!(
            "# Settings and secrets of project {} (made by obsgen secrets). Never commit\n# this file; it is mode 0600. Each variable is described in .env.example.\n",
            model.project
        )),
    }
    for v in &model.env_vars {
        if let Some(val) = remaining.remove(&v.name) {
            out.push_str(&format!("\n# {}\n{}={val}\n", v.description, v.name));
        }
    }
    out
}

/// Runs `obsgen secrets` in `root`: writes (unless `dry_run`) and returns the plan.
pub fn run(root: &Path, model: &Model, dry_run: bool) -> Result<Plan> {
    let read = |rel: &str| -> Result<Option<String>> {
        Ok(project::safe_read(root, rel)?.map(|b| String::from_utf8_lossy(&b).into_owned()))
    };
    let dotenv = read(".env")?;
    let gitignore = read(".gitignore")?;
    let plan = plan(
        model,
        dotenv.as_deref(),
        gitignore.as_deref(),
        |rel| root.join(rel).exists(),
        random_value,
    )?;
    if dry_run {
        return Ok(plan);
    }
    if let Some(text) = &plan.dotenv {
        project::write_file(root, ".env", text.as_bytes(), Some(0o600))?;
    } else {
        tighten(&root.join(".env"))?;
    }
    if !plan.files.is_empty() {
        let dir = root.join("secrets");
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("setting the mode of {}", dir.display()))?;
        }
    }
    for (path, value) in &plan.files {
        if let Some(parent) = Path::new(path).parent() {
            std::fs::create_dir_all(root.join(parent))
                .with_context(|| format!("creating {}", root.join(parent).display()))?;
        }
        project::write_file(root, path, value.as_bytes(), Some(0o644))?;
    }
    for path in &plan.env_files {
        if let Some(parent) = Path::new(path).parent() {
            std::fs::create_dir_all(root.join(parent))
                .with_context(|| format!("creating {}", root.join(parent).display()))?;
        }
        project::write_file(root, path, b"", Some(0o600))?;
    }
    if let Some(text) = &plan.gitignore {
        project::write_file(root, ".gitignore", text.as_bytes(), None)?;
    }
    Ok(plan)
}

/// Makes an existing `.env` readable by its owner only.
fn tighten(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        if let Ok(meta) = std::fs::symlink_metadata(path)
            && meta.is_file()
            && meta.permissions().mode() & 0o077 != 0
        {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
                .with_context(|| format!("setting the mode of {}", path.display()))?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        let text = r##"
[project]
name = "shop"
[[service]]
name = "api"
image = "ghcr.io/a/api:1.0.0"
port = 8080
[[database]]
name = "db"
kind = "postgres"
[errors]
backend = "sentry"
[[receiver]]
name = "chat"
kind = "slack"
channel = "#x"
webhook_url_env = "SLACK_WEBHOOK_URL"
[[route]]
match = { severity = "critical" }
receivers = ["chat"]
"##;
        let m = crate::project::load_valid(text.into(), "obsgen.toml").unwrap();
        crate::resolve::resolve(&m, "obsgen.toml")
    }

    fn counter() -> impl FnMut() -> Result<String> {
        let mut n = 0;
        move || {
            n += 1;
            Ok(format!("random{n}"))
        }
    }

    #[test]
    fn random_values_are_long_and_from_the_alphabet() {
        let a = random_value().unwrap();
        let b = random_value().unwrap();
        assert_eq!(a.len(), LENGTH);
        assert!(a.bytes().all(|c| ALPHABET.contains(&c)));
        assert_ne!(a, b);
    }

    #[test]
    fn a_new_env_gets_every_variable_and_secret_files_mirror_their_variable() {
        let m = model();
        let p = plan(&m, None, None, |_| false, counter()).unwrap();
        let env = parse_dotenv(p.dotenv.as_deref().unwrap());
        assert_eq!(env["COMPOSE_PROJECT_NAME"], "shop");
        assert_eq!(env["DB_USER"], "db_app");
        assert!(env["DB_PASSWORD"].starts_with("random"));
        assert_eq!(
            p.generated,
            vec![
                "DB_PASSWORD",
                "GRAFANA_ADMIN_PASSWORD",
                "PROMETHEUS_PASSWORD"
            ]
        );
        assert!(!env.contains_key("SENTRY_DSN"), "never invented");
        let prom = &env["PROMETHEUS_PASSWORD"];
        assert_eq!(
            p.files,
            vec![("secrets/prometheus_password".to_string(), prom.clone())]
        );
        let needed: Vec<&str> = p.needed.iter().map(|(w, _)| w.as_str()).collect();
        assert!(
            needed.iter().any(|w| w.starts_with("SENTRY_DSN in .env")),
            "{needed:?}"
        );
        assert!(
            needed
                .iter()
                .any(|w| w.starts_with("secrets/slack_webhook_url")),
            "{needed:?}"
        );
        assert_eq!(
            p.gitignore.as_deref(),
            Some("# Secrets of the stack (obsgen secrets): never commit them.\n.env\nsecrets/\n")
        );
    }

    #[test]
    fn existing_values_are_never_replaced_and_empty_ones_are_filled_in_place() {
        let m = model();
        let old = "# mine\nDB_PASSWORD=hunter2hunter2\nexport GRAFANA_ADMIN_PASSWORD=\nEXTRA=1\n";
        let p = plan(
            &m,
            Some(old),
            Some("target\n/.env\nsecrets\n"),
            |_| false,
            counter(),
        )
        .unwrap();
        let text = p.dotenv.unwrap();
        assert!(
            text.starts_with("# mine\nDB_PASSWORD=hunter2hunter2\nGRAFANA_ADMIN_PASSWORD=random"),
            "{text}"
        );
        assert!(text.contains("EXTRA=1\n"));
        let env = parse_dotenv(&text);
        assert_eq!(env["DB_PASSWORD"], "hunter2hunter2");
        assert!(p.kept.contains(&"DB_PASSWORD".to_string()));
        assert_eq!(
            p.gitignore, None,
            "`/.env` and `secrets` already ignore both"
        );
        // a second run over its own output changes nothing
        let again = plan(
            &m,
            Some(&text),
            None,
            |f| f == "secrets/prometheus_password",
            counter(),
        )
        .unwrap();
        assert_eq!(again.dotenv, None);
        assert!(again.generated.is_empty() && again.files.is_empty());
        assert_eq!(again.files_kept, vec!["secrets/prometheus_password"]);
    }
}
