//! The monitoring login: one user (`prometheus`) and password (`PROMETHEUS_PASSWORD`) for
//! the Prometheus and Alertmanager UIs and APIs. The password lives in `.env` and, for
//! scrapers inside the stack, in `secrets/prometheus_password`; `web.yml` holds its bcrypt
//! hash, which must not drift between runs (see [`web_hash`]).

use anyhow::{Result, anyhow};

use crate::model::{Model, WebAuth};

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

/// Where a container reads Compose secret `name`.
pub(crate) fn secret_path(name: &str) -> String {
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

#[cfg(test)]
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
}
