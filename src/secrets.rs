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
//! - `.gitignore` gets `.env`, `secrets/` and the env_files when, by git's rules
//!   ([`crate::gitignore`]: last match wins, `!`, anchoring, globs), it does not
//!   ignore them yet.
//! - `.env` and `.gitignore` are bytes: every existing byte is kept (CRLF endings,
//!   values that are not UTF-8, a missing final newline); only empty values are
//!   filled and missing lines appended, in the file's own line ending.
//! - Every path it would write, create or change the mode of is checked before the
//!   first write: a symbolic link anywhere on the way (or something else where a file
//!   or folder belongs) is refused with nothing written; folders are created and
//!   modes changed without following links ([`crate::fsx`]).
//!
//! Nothing here goes through the lock: these files are the user's, not generated.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Result, anyhow, bail};

use crate::model::Model;
use crate::{fsx, project};

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

/// The `KEY=value` pairs of `.env` bytes (`export KEY=…` and quotes understood; CRLF
/// or LF; values are bytes, in whatever encoding the user wrote them); the last
/// assignment of a key wins, as in Compose.
pub fn parse_dotenv(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    bytes
        .split(|b| *b == b'\n')
        .filter_map(|l| {
            let (k, v) = assignment(l)?;
            Some((k.to_string(), unquote(v).to_vec()))
        })
        .collect()
}

/// The key and raw value of one `.env` line (`None` for comments, blank lines and
/// lines without `=` or whose key is not UTF-8).
fn assignment(line: &[u8]) -> Option<(&str, &[u8])> {
    let l = line.trim_ascii();
    if l.starts_with(b"#") {
        return None;
    }
    let l = l.strip_prefix(b"export ").unwrap_or(l);
    let eq = l.iter().position(|b| *b == b'=')?;
    let key = std::str::from_utf8(l[..eq].trim_ascii()).ok()?;
    Some((key, l[eq + 1..].trim_ascii()))
}

fn unquote(v: &[u8]) -> &[u8] {
    v.strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
        .or_else(|| v.strip_prefix(b"'").and_then(|v| v.strip_suffix(b"'")))
        .unwrap_or(v)
}

/// The line ending of a file: CRLF when its first line ends so, else LF.
fn line_ending(bytes: &[u8]) -> &'static str {
    match bytes.iter().position(|b| *b == b'\n') {
        Some(i) if i > 0 && bytes[i - 1] == b'\r' => "\r\n",
        _ => "\n",
    }
}

/// What one run decided, for the report (and the tests).
#[derive(Debug, Default)]
pub struct Plan {
    /// New `.env` bytes, when they change.
    pub dotenv: Option<Vec<u8>>,
    /// Variables given a random value.
    pub generated: Vec<String>,
    /// Variables given their proposed setting.
    pub proposed: Vec<String>,
    /// Variables `.env` already had.
    pub kept: Vec<String>,
    /// Secret files to write: (relative path, contents).
    pub files: Vec<(String, Vec<u8>)>,
    /// Secret files that already exist.
    pub files_kept: Vec<String>,
    /// Values only the user can provide: (what, how).
    pub needed: Vec<(String, String)>,
    /// Services' `env_file`s that do not exist yet: created empty (mode 0600), since
    /// Compose refuses to start without them.
    pub env_files: Vec<String>,
    /// New `.gitignore` bytes, when they change.
    pub gitignore: Option<Vec<u8>>,
}

/// Relative path of a Compose secret's host file (`./secrets/x` → `secrets/x`).
fn rel(file: &str) -> &str {
    file.strip_prefix("./").unwrap_or(file)
}

/// The folder holding the stack's secret files: mode 0700.
const SECRETS_DIR: &str = "secrets";

/// Decides everything from the model and what is on disk; writes nothing.
/// `exists` says whether a file is there (following links: a file that exists is
/// kept and never touched, wherever it lives).
pub fn plan(
    model: &Model,
    dotenv: Option<&[u8]>,
    gitignore: Option<&[u8]>,
    exists: impl Fn(&str) -> bool,
    mut random: impl FnMut() -> Result<String>,
) -> Result<Plan> {
    let mut p = Plan::default();
    let existing = dotenv.map(parse_dotenv).unwrap_or_default();
    let mut values: BTreeMap<String, Vec<u8>> = existing.clone();
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
        values.insert(v.name.clone(), value.clone().into_bytes());
        fill.insert(v.name.clone(), value);
    }
    if !fill.is_empty() || dotenv.is_none() {
        p.dotenv = Some(dotenv_bytes(model, dotenv, &fill));
    }
    let mut secrets: Vec<&crate::model::Secret> = model.secrets.iter().collect();
    secrets.extend(model.remote_write.iter().filter_map(|r| r.secret.as_ref()));
    let mut seen = std::collections::BTreeSet::new();
    let mut secret_paths = Vec::new();
    for s in secrets {
        let path = rel(&s.file).to_string();
        if !seen.insert(path.clone()) {
            continue;
        }
        secret_paths.push(path.clone());
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
    p.gitignore = gitignore_bytes(model, gitignore, &secret_paths);
    Ok(p)
}

/// The new `.gitignore` (the old bytes, then a block adding what is not ignored yet),
/// or `None` when git already ignores `.env`, `secrets/` and the services' env_files.
fn gitignore_bytes(model: &Model, old: Option<&[u8]>, secret_paths: &[String]) -> Option<Vec<u8>> {
    let rules = crate::gitignore::Gitignore::parse(old.unwrap_or_default());
    // `secrets/` counts as ignored when the folder is, or every file obsgen puts there
    // and any other file there (a receiver key added later) is.
    let secrets_ignored = rules.ignores(SECRETS_DIR, true)
        || [format!("{SECRETS_DIR}/obsgen-any-file")]
            .iter()
            .chain(secret_paths.iter().filter(|p| p.starts_with("secrets/")))
            .all(|p| rules.ignores(p, false));
    let mut needs: Vec<String> = Vec::new();
    if !rules.ignores(".env", false) {
        needs.push(".env".into());
    }
    if !secrets_ignored {
        needs.push(format!("{SECRETS_DIR}/"));
    }
    // Services' env_files hold settings and often secrets of the deployment: ignored too.
    for f in &model.env_files {
        let f = rel(f);
        if !rules.ignores(f, false) && !needs.iter().any(|n| n == f) {
            needs.push(f.to_string());
        }
    }
    if needs.is_empty() {
        return None;
    }
    let mut out = old.unwrap_or_default().to_vec();
    let eol = line_ending(&out);
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.extend_from_slice(eol.as_bytes());
    }
    out.extend_from_slice(b"# Secrets of the stack (obsgen secrets): never commit them.");
    out.extend_from_slice(eol.as_bytes());
    for n in needs {
        out.extend_from_slice(n.as_bytes());
        out.extend_from_slice(eol.as_bytes());
    }
    Some(out)
}

/// The `.env` bytes: the old ones kept byte for byte, with empty assignments filled in
/// place and missing variables appended (in the file's own line ending), or a new file
/// in the order of `.env.example`.
fn dotenv_bytes(model: &Model, old: Option<&[u8]>, fill: &BTreeMap<String, String>) -> Vec<u8> {
    let mut remaining = fill.clone();
    let mut out: Vec<u8> = Vec::new();
    let eol = old.map(line_ending).unwrap_or("\n");
    match old {
        Some(old) => {
            for line in old.split_inclusive(|b| *b == b'\n') {
                let ending = if line.ends_with(b"\r\n") {
                    2
                } else {
                    usize::from(line.ends_with(b"\n"))
                };
                let (content, ending) = line.split_at(line.len() - ending);
                let filled = assignment(content).and_then(|(k, v)| {
                    (v.is_empty() || v == b"\"\"" || v == b"''")
                        .then(|| remaining.remove(k))
                        .flatten()
                });
                match filled {
                    // `KEY=`, `export KEY=""`: everything up to `=` kept, the value set.
                    Some(val) => {
                        let eq = content.iter().position(|b| *b == b'=').expect("an assignment");
                        out.extend_from_slice(&content[..=eq]);
                        out.extend_from_slice(val.as_bytes());
                        out.extend_from_slice(ending);
                    }
                    None => out.extend_from_slice(line),
                }
            }
            if !remaining.is_empty() {
                if !out.is_empty() && !out.ends_with(b"\n") {
                    out.extend_from_slice(eol.as_bytes());
                }
                out.extend_from_slice(format!("{eol}# Added by obsgen secrets.{eol}").as_bytes());
            }
        }
        None => out.extend_from_slice(format!(
            "# Settings and secrets of project {} (made by obsgen secrets). Never commit\n# this file; it is mode 0600. Each variable is described in .env.example.\n",
            model.project
        ).as_bytes()),
    }
    for v in &model.env_vars {
        if let Some(val) = remaining.remove(&v.name) {
            out.extend_from_slice(
                format!("{eol}# {}{eol}{}={val}{eol}", v.description, v.name).as_bytes(),
            );
        }
    }
    out
}

/// Runs `obsgen secrets` in `root`: checks every path it would write, create or
/// change (no symbolic link anywhere on the way, nothing unexpected in the place of
/// a file or folder), then, unless `dry_run`, writes; returns the plan.
pub fn run(root: &Path, model: &Model, dry_run: bool) -> Result<Plan> {
    let dotenv = project::safe_read(root, ".env")?;
    let gitignore = project::safe_read(root, ".gitignore")?;
    let plan = plan(
        model,
        dotenv.as_deref(),
        gitignore.as_deref(),
        |rel| root.join(rel).exists(),
        random_value,
    )?;
    // Every check before the first write: a refusal leaves the project as it was.
    let mut files: Vec<&str> = plan.files.iter().map(|(p, _)| p.as_str()).collect();
    files.extend(plan.env_files.iter().map(String::as_str));
    let folders: std::collections::BTreeSet<&str> = files
        .iter()
        .filter_map(|f| f.rsplit_once('/').map(|(dir, _)| dir))
        .collect();
    let secrets_dir = files
        .iter()
        .any(|f| f.starts_with(&format!("{SECRETS_DIR}/")));
    for dir in folders
        .iter()
        .copied()
        .chain(secrets_dir.then_some(SECRETS_DIR))
    {
        if !matches!(
            fsx::entry(root, dir)?,
            fsx::Entry::Missing | fsx::Entry::Dir
        ) {
            bail!(
                "cannot create folder {dir}: {} exists and is not a folder\nhelp: move it away, then run `obsgen secrets` again",
                root.join(dir).display()
            );
        }
    }
    for file in &files {
        if fsx::entry(root, file)? != fsx::Entry::Missing {
            bail!(
                "cannot write {file}: {} exists and is not a regular file\nhelp: move it away, then run `obsgen secrets` again",
                root.join(file).display()
            );
        }
    }
    for (file, planned) in [(".env", true), (".gitignore", plan.gitignore.is_some())] {
        if planned
            && !matches!(
                fsx::entry(root, file)?,
                fsx::Entry::Missing | fsx::Entry::File
            )
        {
            bail!(
                "cannot write {file}: {} is not a regular file\nhelp: move it away, then run `obsgen secrets` again",
                root.join(file).display()
            );
        }
    }
    if dry_run {
        return Ok(plan);
    }
    if secrets_dir {
        fsx::create_dir_all(root, SECRETS_DIR, Some(0o700))?;
    }
    for dir in &folders {
        fsx::create_dir_all(root, dir, None)?;
    }
    // `.env` first: a secret file is only ever a copy of a value `.env` already holds.
    match &plan.dotenv {
        Some(bytes) => project::write_file(root, ".env", bytes, Some(0o600))?,
        // Readable by its owner only.
        None => fsx::chmod_file(root, ".env", |m| if m & 0o077 != 0 { 0o600 } else { m })?,
    }
    for (path, value) in &plan.files {
        project::write_file(root, path, value, Some(0o644))?;
    }
    for path in &plan.env_files {
        project::write_file(root, path, b"", Some(0o600))?;
    }
    if let Some(bytes) = &plan.gitignore {
        project::write_file(root, ".gitignore", bytes, None)?;
    }
    Ok(plan)
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
        let m = project::load_valid(text.into(), "obsgen.toml").unwrap();
        crate::assemble::model(&m, "obsgen.toml")
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

    /// A `.env` as text, for assertions.
    fn text(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn value<'a>(env: &'a BTreeMap<String, Vec<u8>>, key: &str) -> &'a str {
        std::str::from_utf8(&env[key]).unwrap()
    }

    #[test]
    fn a_new_env_gets_every_variable_and_secret_files_mirror_their_variable() {
        let m = model();
        let p = plan(&m, None, None, |_| false, counter()).unwrap();
        let env = parse_dotenv(p.dotenv.as_deref().unwrap());
        assert_eq!(value(&env, "COMPOSE_PROJECT_NAME"), "shop");
        assert_eq!(value(&env, "DB_USER"), "db_app");
        assert!(value(&env, "DB_PASSWORD").starts_with("random"));
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
            p.gitignore.as_deref().map(text).as_deref(),
            Some("# Secrets of the stack (obsgen secrets): never commit them.\n.env\nsecrets/\n")
        );
    }

    #[test]
    fn existing_values_are_never_replaced_and_empty_ones_are_filled_in_place() {
        let m = model();
        let old = "# mine\nDB_PASSWORD=hunter2hunter2\nexport GRAFANA_ADMIN_PASSWORD=\nEXTRA=1\n";
        let p = plan(
            &m,
            Some(old.as_bytes()),
            Some(b"target\n/.env\nsecrets\n"),
            |_| false,
            counter(),
        )
        .unwrap();
        let new = p.dotenv.unwrap();
        let t = text(&new);
        assert!(
            t.starts_with(
                "# mine\nDB_PASSWORD=hunter2hunter2\nexport GRAFANA_ADMIN_PASSWORD=random1\nEXTRA=1\n"
            ),
            "{t}"
        );
        let env = parse_dotenv(&new);
        assert_eq!(value(&env, "DB_PASSWORD"), "hunter2hunter2");
        assert!(p.kept.contains(&"DB_PASSWORD".to_string()));
        assert_eq!(
            p.gitignore, None,
            "`/.env` and `secrets` already ignore both"
        );
        // a second run over its own output changes nothing
        let again = plan(
            &m,
            Some(&new),
            None,
            |f| f == "secrets/prometheus_password",
            counter(),
        )
        .unwrap();
        assert_eq!(again.dotenv, None);
        assert!(again.generated.is_empty() && again.files.is_empty());
        assert_eq!(again.files_kept, vec!["secrets/prometheus_password"]);
    }

    #[test]
    fn env_bytes_are_kept_crlf_and_non_utf8_included() {
        let m = model();
        let old: &[u8] = b"A=caf\xe9\r\n  DB_PASSWORD = \"\" \r\nPROMETHEUS_PASSWORD='\xff'\r\nB=1";
        let p = plan(&m, Some(old), None, |_| false, counter()).unwrap();
        let new = p.dotenv.unwrap();
        assert!(
            new.starts_with(
                b"A=caf\xe9\r\n  DB_PASSWORD =random1\r\nPROMETHEUS_PASSWORD='\xff'\r\nB=1\r\n\r\n# Added by obsgen secrets.\r\n\r\n# "
            ),
            "{:?}",
            String::from_utf8_lossy(&new)
        );
        assert!(
            !new.windows(2).any(|w| w[1] == b'\n' && w[0] != b'\r'),
            "every added line ends in CRLF"
        );
        // The kept, non-UTF-8 password is copied byte for byte into its secret file.
        assert_eq!(
            p.files,
            vec![("secrets/prometheus_password".into(), vec![0xff])]
        );
        let env = parse_dotenv(&new);
        assert_eq!(env["A"], b"caf\xe9");
        assert_eq!(value(&env, "GRAFANA_ADMIN_PASSWORD"), "random2");
        // LF files get LF lines; a missing final newline is added before the block.
        let p = plan(&m, Some(b"B=1"), None, |_| false, counter()).unwrap();
        let new = text(&p.dotenv.unwrap());
        assert!(
            new.starts_with("B=1\n\n# Added by obsgen secrets.\n\n# "),
            "{new}"
        );
        assert!(!new.contains('\r'));
    }

    #[test]
    fn gitignore_is_followed_by_git_rules_and_kept_byte_for_byte() {
        let m = model();
        let run = |old: &[u8]| {
            plan(&m, None, Some(old), |_| false, counter())
                .unwrap()
                .gitignore
        };
        assert_eq!(run(b".env\nsecrets/\n"), None);
        assert_eq!(run(b"*.env\n/secrets/*\n"), None);
        assert_eq!(
            run(b".env\n!.env\nsecrets/\n")
                .as_deref()
                .map(text)
                .as_deref(),
            Some(
                ".env\n!.env\nsecrets/\n# Secrets of the stack (obsgen secrets): never commit them.\n.env\n"
            )
        );
        // A re-included secret file: the whole folder is ignored again.
        assert_eq!(
            run(b".env\nsecrets/*\n!secrets/prometheus_password\n")
                .as_deref()
                .map(text)
                .as_deref(),
            Some(
                ".env\nsecrets/*\n!secrets/prometheus_password\n# Secrets of the stack (obsgen secrets): never commit them.\nsecrets/\n"
            )
        );
        // Only some files of the folder: not enough.
        assert!(run(b".env\nsecrets/*_password\n").is_some());
        // CRLF and non-UTF-8 bytes kept; the block follows the file's line ending.
        assert_eq!(
            run(b"# caf\xe9\r\ntarget").unwrap(),
            b"# caf\xe9\r\ntarget\r\n# Secrets of the stack (obsgen secrets): never commit them.\r\n.env\r\nsecrets/\r\n"
        );
    }
}
