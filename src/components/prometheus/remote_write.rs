//! `[prometheus] remote_write`: the endpoints every environment's Prometheus writes to,
//! their credentials only as files mounted as Compose secrets, and the checks of the
//! manifest's section.

use crate::diag::Diagnostic;
use crate::load::SpanMap;
use crate::manifest::Manifest;
use crate::model::{BasicAuth, RemoteWrite, Secret, Section};
use crate::units::is_dns_label;

use super::login::secret_path;

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

/// Problems in `[prometheus] remote_write`.
pub fn check(m: &Manifest, spans: &SpanMap) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut at = |key: &str, message: String, help: &str| {
        out.push(
            Diagnostic::new(message)
                .key(key)
                .span(spans.value(key))
                .help(help),
        );
    };
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

#[cfg(test)]
mod tests {
    use super::*;

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
