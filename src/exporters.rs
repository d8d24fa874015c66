//! Exporters and the parts of Prometheus beyond scraping the app: node-exporter,
//! cAdvisor, blackbox probes of every health endpoint, one exporter per
//! `[[database]]`, basic auth of the Prometheus UI and API (`web.yml`), and
//! `remote_write`.
//!
//! Each exporter contributes a Compose service (role [`Role::Exporter`]), a scrape job
//! named like that service and a file-SD target file (via [`stack::add_job`]), so every
//! address Prometheus talks to — including the blackbox exporter's, which rides in the
//! probe target file as the label `__tmp_blackbox_exporter` — sits in
//! `monitoring/prometheus/targets/*.yml`. Alertmanager's job belongs to the Alertmanager
//! family and is not added here.
//!
//! The web.yml hash: see [`web_hash`]. Secrets are never values in generated files:
//! database credentials are `${VAR:?…}` references to `.env`; Prometheus reads its own
//! password and remote-write credentials from files mounted as Compose secrets.

use anyhow::{Result, anyhow};

use crate::diag::Diagnostic;
use crate::load::SpanMap;
use crate::manifest::Manifest;
use crate::model::*;
use crate::plan::Artifact;
use crate::units::is_dns_label;

/// User name of the Prometheus UI and API.
pub const WEB_USER: &str = "prometheus";
/// Variable (environment or `.env`) holding the Prometheus password.
pub const PASSWORD_VAR: &str = "PROMETHEUS_PASSWORD";
/// Compose secret holding the same password, for scrapers of Prometheus itself.
pub const PASSWORD_SECRET: &str = "prometheus_password";
/// The Prometheus flag that turns basic auth on.
pub const WEB_CONFIG_ARG: &str = "--web.config.file=/etc/prometheus/web.yml";
/// Output path of the web configuration.
pub const WEB_FILE: &str = "monitoring/prometheus/web.yml";
/// Alertmanager's copy: the same user and hash (one login for the monitoring UIs).
pub const AM_WEB_FILE: &str = "monitoring/alertmanager/web.yml";
/// bcrypt cost of new hashes (Prometheus checks the hash on every request: keep it modest).
pub const BCRYPT_COST: u32 = 10;
/// A well-formed bcrypt hash that no known password matches (finding one means
/// inverting bcrypt): the UI stays locked until `PROMETHEUS_PASSWORD` is set.
pub const LOCKED_HASH: &str = "$2b$10$obsgen.locked.hash.no.password.set.run.obsgen.generat";

fn secret_path(name: &str) -> String {
    format!("/run/secrets/{name}")
}

/// The web auth of the model, from a hash.
pub fn web_auth(hash: &str, locked: bool) -> WebAuth {
    WebAuth {
        username: WEB_USER.into(),
        hash: hash.into(),
        locked,
        password_file: secret_path(PASSWORD_SECRET),
    }
}

/// Compose secret name of a remote-write credential.
fn remote_secret(name: &str) -> String {
    format!("remote_write_{}", name.replace('-', "_"))
}

/// The manifest's `remote_write` endpoints, with container paths of their secrets.
pub fn remote_write(m: &Manifest) -> Vec<RemoteWrite> {
    m.prometheus
        .remote_write
        .iter()
        .map(|r| RemoteWrite {
            name: r.name.clone(),
            url: r.url.clone(),
            basic_auth: match (&r.username, &r.password_file) {
                (Some(u), Some(_)) => Some(BasicAuth {
                    username: u.clone(),
                    password_file: secret_path(&remote_secret(&r.name)),
                }),
                _ => None,
            },
            credentials_file: r
                .bearer_token_file
                .as_ref()
                .map(|_| secret_path(&remote_secret(&r.name))),
            secret: r
                .password_file
                .as_ref()
                .or(r.bearer_token_file.as_ref())
                .map(|f| Secret {
                    name: remote_secret(&r.name),
                    file: host_file(f),
                    path: secret_path(&remote_secret(&r.name)),
                    description: format!("credential of remote_write `{}`", r.name),
                    how: "from the remote storage provider; write it without a trailing newline"
                        .into(),
                    copy_of: None,
                    section: Section::MonitoringLogin,
                }),
        })
        .collect()
}

/// Host file of a remote-write secret, as Compose wants it (`./secrets/x`).
fn host_file(path: &str) -> String {
    if path.starts_with("./") {
        path.to_string()
    } else {
        format!("./{path}")
    }
}

/// Files of this family: `web.yml` (Prometheus's, and Alertmanager's with the same
/// login when it runs), and the blackbox configuration when it runs.
pub fn plan(m: &Model) -> Vec<Artifact> {
    let web = |path: &str, what: &str| Artifact {
        item: Some(minijinja::Value::from(what)),
        ..Artifact::new(path, "prometheus/web.yml.j2")
    };
    let mut out = vec![web(WEB_FILE, "Prometheus")];
    if m.alertmanager.is_some() {
        out.push(web(AM_WEB_FILE, "Alertmanager"));
    }
    if !m.blackbox_modules.is_empty() {
        out.push(Artifact::new(
            "monitoring/blackbox/blackbox.yml",
            "blackbox/blackbox.yml.j2",
        ));
    }
    out
}

// ---- web.yml: a bcrypt hash that does not drift

/// What [`web_hash`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashSource {
    /// The hash on disk still matches the password: kept byte for byte.
    Reused,
    /// No password known (CI): the hash obsgen wrote last is kept as it is.
    Kept,
    /// The password is new or changed: a fresh hash with a random salt.
    New,
    /// No password and no earlier hash: the locked placeholder.
    Locked,
}

/// What obsgen knows when it renders `web.yml`.
#[derive(Debug, Clone, Default)]
pub struct WebInputs {
    /// `PROMETHEUS_PASSWORD` from the environment, else from `.env`.
    pub password: Option<String>,
    /// The hash in the `web.yml` obsgen wrote last (only when the file on disk is
    /// exactly what the lock records: a hand-edited hash is never trusted).
    pub on_disk: Option<String>,
}

/// Decides the bcrypt hash of `web.yml`:
/// - password known and the earlier hash verifies → reuse it (no drift);
/// - password known, no earlier hash or it does not verify → new hash, random salt;
/// - no password (CI) → keep the earlier hash unverified, so `check` sees no drift;
/// - neither → [`LOCKED_HASH`].
///
/// The salt is never derived from the password: it is stored in clear inside the
/// hash, so a salt computed by a fast hash of the password would let an attacker
/// skip bcrypt altogether.
pub fn web_hash(
    password: Option<&str>,
    on_disk: Option<&str>,
    cost: u32,
) -> Result<(String, HashSource)> {
    match (password, on_disk) {
        (Some(pw), Some(h)) if bcrypt::verify(pw, h).unwrap_or(false) => {
            Ok((h.to_string(), HashSource::Reused))
        }
        (Some(pw), _) => bcrypt::hash(pw, cost)
            .map(|h| (h, HashSource::New))
            .map_err(|e| anyhow!("hashing {PASSWORD_VAR}: {e}")),
        (None, Some(h)) => Ok((h.to_string(), HashSource::Kept)),
        (None, None) => Ok((LOCKED_HASH.to_string(), HashSource::Locked)),
    }
}

/// The hash of [`WEB_USER`] in a `web.yml` text, if it has one.
pub fn hash_in_web_yml(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_saphyr::from_str(text).ok()?;
    let h = v.get("basic_auth_users")?.get(WEB_USER)?.as_str()?;
    bcrypt_shaped(h).then(|| h.to_string())
}

/// `$2?$NN$` and 53 characters of bcrypt's base64 alphabet.
fn bcrypt_shaped(h: &str) -> bool {
    let b = h.as_bytes();
    h.len() == 60
        && b[0] == b'$'
        && b[1] == b'2'
        && matches!(b[2], b'a' | b'b' | b'y')
        && b[3] == b'$'
        && b[4].is_ascii_digit()
        && b[5].is_ascii_digit()
        && b[6] == b'$'
        && b[7..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'.' || *c == b'/')
}

/// `PROMETHEUS_PASSWORD`: the environment wins over `.env`; empty means unset.
pub fn password_from(env: Option<String>, dotenv: Option<&str>) -> Option<String> {
    let from_file = || {
        dotenv?.lines().find_map(|l| {
            let l = l.trim();
            let l = l.strip_prefix("export ").unwrap_or(l);
            let (k, v) = l.split_once('=')?;
            (k.trim() == PASSWORD_VAR).then(|| {
                let v = v.trim();
                let unquoted = v
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .or_else(|| v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
                    .unwrap_or(v);
                unquoted.to_string()
            })
        })
    };
    env.filter(|v| !v.is_empty())
        .or_else(from_file)
        .filter(|v| !v.is_empty())
}

/// Puts the decided hash into the model.
pub fn apply_web(model: &mut Model, inputs: &WebInputs) -> Result<HashSource> {
    let (hash, source) = web_hash(
        inputs.password.as_deref(),
        inputs.on_disk.as_deref(),
        BCRYPT_COST,
    )?;
    model.settled.web = web_auth(&hash, hash == LOCKED_HASH);
    Ok(source)
}

// ---- validation of `[prometheus]` and of names the exporters take

/// Problems in `[prometheus]` and names that clash with a database's exporter.
pub fn validate(m: &Manifest, spans: &SpanMap) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut at = |key: &str, message: String, help: &str| {
        out.push(
            Diagnostic::new(message)
                .key(key)
                .span(spans.value(key))
                .help(help),
        );
    };
    let names = m
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("service[{i}].name"), "service", &s.name))
        .chain(
            m.databases
                .iter()
                .enumerate()
                .map(|(i, d)| (format!("database[{i}].name"), "database", &d.name)),
        );
    for (key, what, name) in names {
        if let Some(d) = m
            .databases
            .iter()
            .find(|d| format!("{}-exporter", d.name) == *name)
        {
            at(
                &key,
                format!(
                    "{what} name `{name}` is taken by the exporter of database `{}`",
                    d.name
                ),
                "each database gets an exporter named `<database>-exporter`; rename one of them",
            );
        } else if name == "probe" {
            at(
                &key,
                format!("{what} name `probe` is taken by the scrape job of the blackbox probes"),
                "rename it (for example `probe-api`)",
            );
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for (i, r) in m.prometheus.remote_write.iter().enumerate() {
        let base = format!("prometheus.remote_write[{i}]");
        if !is_dns_label(&r.name) {
            at(
                &format!("{base}.name"),
                format!("remote_write name `{}` is not a DNS label", r.name),
                "use 1-63 lowercase letters, digits and `-`, like `grafana-cloud`",
            );
        } else if seen.contains(&r.name.as_str()) {
            at(
                &format!("{base}.name"),
                format!("duplicate remote_write name `{}`", r.name),
                "give each remote_write endpoint its own name",
            );
        }
        seen.push(&r.name);
        if let Err(why) = check_url(&r.url) {
            at(
                &format!("{base}.url"),
                format!("`{}` is not a remote-write URL: {why}", r.url),
                "write `https://host[:port]/path`, without user or password (credentials go in `username` + `password_file` or `bearer_token_file`)",
            );
        }
        match (&r.username, &r.password_file, &r.bearer_token_file) {
            (_, Some(_), Some(_)) => at(
                &format!("{base}.bearer_token_file"),
                "remote_write has both `password_file` and `bearer_token_file`".into(),
                "use basic auth (`username` + `password_file`) or a bearer token, not both",
            ),
            (Some(_), None, _) => at(
                &format!("{base}.username"),
                "remote_write `username` without `password_file`".into(),
                "add `password_file = \"secrets/<file>\"`: a file holding the password, created at deploy time",
            ),
            (None, Some(_), _) => at(
                &format!("{base}.password_file"),
                "remote_write `password_file` without `username`".into(),
                "add the basic-auth `username` (not secret)",
            ),
            _ => {}
        }
        for (field, value) in [
            ("password_file", &r.password_file),
            ("bearer_token_file", &r.bearer_token_file),
        ] {
            if let Some(p) = value
                && !is_plain_relative(p)
            {
                at(
                    &format!("{base}.{field}"),
                    format!("`{p}` is not a plain relative path inside the project"),
                    "name a file below the manifest's folder, like `secrets/grafana-cloud-token` (keep it out of version control)",
                );
            }
        }
    }
    out
}

fn is_plain_relative(p: &str) -> bool {
    let p = p.strip_prefix("./").unwrap_or(p);
    !p.is_empty()
        && !p.starts_with('/')
        && !p.ends_with('/')
        && p.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        })
}

/// An `http(s)://host[:port][/path]` URL without credentials, spaces or templates.
fn check_url(url: &str) -> Result<(), &'static str> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it contains spaces or control characters");
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("it does not start with http:// or https://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') {
        return Err("it carries credentials");
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (h, Some(p)),
        _ => (authority, None),
    };
    if let Some(p) = port
        && !p.parse::<u16>().is_ok_and(|n| n > 0)
    {
        return Err("its port is not a number from 1 to 65535");
    }
    let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        !v6.is_empty() && v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':')
    } else {
        !host.is_empty()
            && host.split('.').all(|l| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    };
    if !host_ok {
        return Err("it has no valid host name");
    }
    if url.contains("{{") || url.contains("${") {
        return Err("it contains a template or variable");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const COST: u32 = 4; // bcrypt's minimum: fast tests, same logic

    #[test]
    fn locked_hash_is_well_formed_and_opens_for_nothing() {
        assert!(bcrypt_shaped(LOCKED_HASH), "{}", LOCKED_HASH.len());
        for pw in ["", "password", "prometheus", "obsgen", "admin"] {
            assert!(!bcrypt::verify(pw, LOCKED_HASH).unwrap_or(false), "{pw}");
        }
    }

    #[test]
    fn hash_is_reused_while_the_password_verifies() {
        let (first, src) = web_hash(Some("s3cret-one"), None, COST).unwrap();
        assert_eq!(src, HashSource::New);
        assert!(bcrypt::verify("s3cret-one", &first).unwrap());
        let (again, src) = web_hash(Some("s3cret-one"), Some(&first), COST).unwrap();
        assert_eq!((again.as_str(), src), (first.as_str(), HashSource::Reused));
    }

    #[test]
    fn a_changed_password_gets_a_new_hash() {
        let (first, _) = web_hash(Some("s3cret-one"), None, COST).unwrap();
        let (second, src) = web_hash(Some("s3cret-two"), Some(&first), COST).unwrap();
        assert_eq!(src, HashSource::New);
        assert_ne!(first, second);
        assert!(bcrypt::verify("s3cret-two", &second).unwrap());
        // a new hash never reuses the old salt: salts are random, not derived
        assert_ne!(first[7..29], second[7..29]);
    }

    #[test]
    fn without_a_password_the_hash_on_disk_is_kept_or_the_ui_is_locked() {
        let (first, _) = web_hash(Some("s3cret-one"), None, COST).unwrap();
        assert_eq!(
            web_hash(None, Some(&first), COST).unwrap(),
            (first.clone(), HashSource::Kept)
        );
        assert_eq!(
            web_hash(None, None, COST).unwrap(),
            (LOCKED_HASH.to_string(), HashSource::Locked)
        );
        // a password set later replaces the placeholder
        let (h, src) = web_hash(Some("s3cret-one"), Some(LOCKED_HASH), COST).unwrap();
        assert_eq!(src, HashSource::New);
        assert!(bcrypt::verify("s3cret-one", &h).unwrap());
    }

    #[test]
    fn a_garbled_hash_on_disk_is_replaced_when_the_password_is_known() {
        let (h, src) = web_hash(Some("pw"), Some("not a hash"), COST).unwrap();
        assert_eq!(src, HashSource::New);
        assert!(bcrypt::verify("pw", &h).unwrap());
    }

    #[test]
    fn the_hash_is_read_back_from_web_yml() {
        let (h, _) = web_hash(Some("pw"), None, COST).unwrap();
        let text = format!("# header\nbasic_auth_users:\n  {WEB_USER}: \"{h}\"\n");
        assert_eq!(hash_in_web_yml(&text), Some(h));
        assert_eq!(
            hash_in_web_yml("basic_auth_users:\n  prometheus: \"plain\"\n"),
            None
        );
        assert_eq!(hash_in_web_yml("basic_auth_users:\n  other: \"x\"\n"), None);
        assert_eq!(hash_in_web_yml(": : :"), None);
    }

    #[test]
    fn password_comes_from_the_environment_then_dotenv() {
        let dotenv = "# c\nOTHER=1\nPROMETHEUS_PASSWORD=\"from-file\"\n";
        assert_eq!(
            password_from(Some("from-env".into()), Some(dotenv)).as_deref(),
            Some("from-env")
        );
        assert_eq!(
            password_from(None, Some(dotenv)).as_deref(),
            Some("from-file")
        );
        assert_eq!(
            password_from(
                Some(String::new()),
                Some("export PROMETHEUS_PASSWORD='q'\n")
            )
            .as_deref(),
            Some("q")
        );
        assert_eq!(password_from(None, Some("PROMETHEUS_PASSWORD=\n")), None);
        assert_eq!(password_from(None, None), None);
    }

    #[test]
    fn urls_and_paths() {
        for ok in [
            "https://prometheus-prod-01-eu-west-0.grafana.net/api/prom/push",
            "http://mimir:9009/api/v1/push",
            "https://[::1]:9090/api/v1/write",
        ] {
            assert_eq!(check_url(ok), Ok(()), "{ok}");
        }
        for bad in [
            "ftp://x/y",
            "https://user:pw@host/x",
            "https://host:99999/x",
            "https:///x",
            "https://ho st/x",
            "https://host/${TOKEN}",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(is_plain_relative("secrets/token"));
        assert!(is_plain_relative("./secrets/token"));
        for bad in ["/etc/shadow", "../x", "a/../b", "", "a b", "secrets/"] {
            assert!(!is_plain_relative(bad), "{bad}");
        }
    }
}
