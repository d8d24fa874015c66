//! Value formats shared by validation and resolution: Prometheus durations
//! (`1h30m`), byte sizes (`10GB`, `512M`), DNS labels, label and variable names, and
//! the values Prometheus and Alertmanager read as URLs, `host:port`, e-mail addresses,
//! HTTP paths and file paths — each within the bounds the real tools accept.

/// The longest duration Prometheus and Alertmanager accept, in milliseconds: their
/// `model.ParseDuration` (prometheus/common v0.39.0 `model/time.go`, used by Prometheus
/// 2.42 and Alertmanager 0.25) refuses anything above `1<<63 - 1` nanoseconds (about
/// 292 years) as "duration out of range"; so does PromQL's lexer.
pub const MAX_DURATION_MS: u64 = (i64::MAX as u64) / 1_000_000;

/// Why a duration or size was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueError {
    /// Not written in the format at all.
    Syntax,
    /// Well formed, but beyond what the tools accept.
    OutOfRange,
}

/// Parses a Prometheus duration (`[0-9]+(y|w|d|h|m|s|ms)` units, largest first, each at
/// most once) into milliseconds. Returns `None` for anything else, and for durations
/// above [`MAX_DURATION_MS`].
pub fn parse_duration(text: &str) -> Option<u64> {
    duration(text).ok()
}

/// [`parse_duration`], saying why a duration was refused.
pub fn duration(text: &str) -> Result<u64, ValueError> {
    const UNITS: [(&str, u64); 7] = [
        ("y", 365 * 24 * 3_600_000),
        ("w", 7 * 24 * 3_600_000),
        ("d", 24 * 3_600_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    if text.is_empty() {
        return Err(ValueError::Syntax);
    }
    let mut rest = text;
    let mut total: u64 = 0;
    let mut overflow = false;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(ValueError::Syntax);
        }
        // Too many digits for u64 is out of range, not a syntax error.
        let n: Option<u64> = rest[..digits].parse().ok();
        rest = &rest[digits..];
        // "ms" must be tried before "m".
        let pos = UNITS[next_unit..]
            .iter()
            .enumerate()
            .filter(|(_, (u, _))| rest.starts_with(u) && !(*u == "m" && rest.starts_with("ms")))
            .map(|(i, _)| i + next_unit)
            .next()
            .ok_or(ValueError::Syntax)?;
        let (unit, ms) = UNITS[pos];
        match n
            .and_then(|n| n.checked_mul(ms))
            .and_then(|v| total.checked_add(v))
        {
            Some(t) => total = t,
            None => overflow = true,
        }
        rest = &rest[unit.len()..];
        next_unit = pos + 1;
    }
    if overflow || total > MAX_DURATION_MS {
        return Err(ValueError::OutOfRange);
    }
    Ok(total)
}

/// Formats milliseconds as the shortest Prometheus duration.
pub fn format_duration(mut ms: u64) -> String {
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if ms >= size {
            out.push_str(&format!("{}{unit}", ms / size));
            ms %= size;
        }
    }
    out
}

/// A Prometheus retention size: an integer with one of B, KB, MB, GB, TB, PB, EB.
pub fn is_prometheus_size(text: &str) -> bool {
    prometheus_size(text).is_ok()
}

/// A Prometheus retention size in bytes. Prometheus reads it as a base-2
/// `units.Base2Bytes`, an int64: larger sizes are [`ValueError::OutOfRange`].
pub fn prometheus_size(text: &str) -> Result<u64, ValueError> {
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let units = ["B", "KB", "MB", "GB", "TB", "PB", "EB"];
    let power = units
        .iter()
        .position(|u| *u == &text[digits..])
        .filter(|_| digits > 0)
        .ok_or(ValueError::Syntax)?;
    text[..digits]
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1u64 << (10 * power)))
        .filter(|b| i64::try_from(*b).is_ok())
        .ok_or(ValueError::OutOfRange)
}

/// A Compose memory size: a number with an optional b, k, m or g unit (`512M`, `1.5g`).
pub fn parse_memory(text: &str) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    let lower = lower
        .strip_suffix('b')
        .filter(|s| !s.is_empty() && !s.ends_with(|c: char| c.is_ascii_digit()))
        .unwrap_or(&lower);
    let split = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let n: f64 = lower[..split].parse().ok()?;
    let mult = match &lower[split..] {
        "" | "b" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    // Compose and Docker read sizes as int64 bytes.
    (n > 0.0 && n * mult < i64::MAX as f64).then_some((n * mult) as u64)
}

/// An RFC 1123 DNS label: 1–63 of `a-z 0-9 -`, not starting or ending with `-`.
pub fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// A Prometheus label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// An environment variable name we generate or accept: `[A-Z_][A-Z0-9_]*`.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// `backend-api` → `BACKEND_API`.
pub fn env_name_of(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

/// `backend-api` → `BackendApi` (for alert names).
pub fn camel_of(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut c = part.chars();
            c.next().map_or(String::new(), |f| {
                f.to_ascii_uppercase().to_string() + c.as_str()
            })
        })
        .collect()
}

/// Linux's limits on a path: 255 bytes per component (`NAME_MAX`), 4096 in all
/// (`PATH_MAX`).
pub const MAX_PATH_COMPONENT: usize = 255;
pub const MAX_PATH: usize = 4096;

/// A path (or a file name obsgen derives from a manifest value) within [`MAX_PATH`]
/// bytes and [`MAX_PATH_COMPONENT`] bytes per component.
pub fn check_path_length(path: &str) -> Result<(), String> {
    if path.len() > MAX_PATH {
        return Err(format!(
            "it is {} bytes long; paths hold at most {MAX_PATH}",
            path.len()
        ));
    }
    match path.split('/').find(|c| c.len() > MAX_PATH_COMPONENT) {
        Some(c) => Err(format!(
            "a part of it is {} bytes long; file names hold at most {MAX_PATH_COMPONENT}",
            c.len()
        )),
        None => Ok(()),
    }
}

/// The longest HTTP path (with its query) accepted for `health` and `metrics.path`.
pub const MAX_HTTP_PATH: usize = 1024;

/// An HTTP request target as RFC 3986 allows it: an absolute path, optionally with a
/// query, of printable ASCII, `%` only in percent-encodings (`%20`). `$`, `'`, `:`, `@`,
/// `!`, `*`, `(`, `)`, `;`, `=`, `&`, `+`, `,` and `~` are legal; spaces, quotes, `\`,
/// `{`, `}`, `<`, `>`, `^`, `|`, `` ` ``, `#` and non-ASCII must be percent-encoded.
pub fn check_http_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err("it does not start with `/`".into());
    }
    if path.len() > MAX_HTTP_PATH {
        return Err(format!(
            "it is {} bytes long, above the limit of {MAX_HTTP_PATH}",
            path.len()
        ));
    }
    check_path_and_query(path)
}

/// RFC 3986 `path-abempty [ "?" query ]`: `pchar`s, `/`, and `?` in the query.
fn check_path_and_query(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    let mut in_query = false;
    let mut i = 0;
    for (at, ch) in text.char_indices() {
        if at < i {
            continue;
        }
        i = at + ch.len_utf8();
        let ok = match ch {
            'A'..='Z' | 'a'..='z' | '0'..='9' => true,
            '-' | '.' | '_' | '~' => true,
            '!' | '$' | '&' | '\'' | '(' | ')' | '*' | '+' | ',' | ';' | '=' | ':' | '@' | '/' => {
                true
            }
            '?' => {
                in_query = true;
                true
            }
            '%' => {
                let hex = |j: usize| bytes.get(j).is_some_and(u8::is_ascii_hexdigit);
                if !(hex(at + 1) && hex(at + 2)) {
                    return Err(
                        "`%` must start a percent-encoding of two hex digits, like `%20` (write `%25` for `%` itself)"
                            .into(),
                    );
                }
                i = at + 3;
                true
            }
            _ => false,
        };
        if !ok {
            let encoded: String = ch
                .to_string()
                .bytes()
                .map(|b| format!("%{b:02X}"))
                .collect();
            let shown = if ch.is_control() || ch.is_whitespace() {
                format!("{ch:?}")
            } else {
                format!("`{ch}`")
            };
            return Err(format!(
                "{shown} is not allowed in a URL {} (percent-encode it as `{encoded}`)",
                if in_query { "query" } else { "path" }
            ));
        }
    }
    Ok(())
}

/// A host name (RFC 1123 labels of letters, digits and `-`, 253 bytes at most), an
/// IPv4 address, or a bracketed IPv6 address (`[::1]`).
pub fn is_host(host: &str) -> bool {
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<std::net::Ipv6Addr>().is_ok();
    }
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// `host:port` with a port from 1 to 65535 (Alertmanager's `smarthost`).
pub fn check_host_port(text: &str) -> Result<(), String> {
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err("it has no `:port`".into());
    };
    if !port.bytes().all(|b| b.is_ascii_digit()) || !port.parse::<u16>().is_ok_and(|p| p > 0) {
        return Err("its port is not a number from 1 to 65535".into());
    }
    if !is_host(host) {
        return Err(
            "its host is not a host name or IP address (IPv6 in brackets: `[::1]:25`)".into(),
        );
    }
    Ok(())
}

/// An `http://` or `https://` URL as Alertmanager and Prometheus parse it: a host (see
/// [`is_host`]), an optional port from 1 to 65535, then an RFC 3986 path and query (see
/// [`check_http_path`]) and an optional fragment; no credentials.
pub fn check_http_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("it does not start with http:// or https://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.contains('@') {
        return Err("it carries credentials (`user:password@`)".into());
    }
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => {
            if !port.bytes().all(|b| b.is_ascii_digit())
                || !port.parse::<u16>().is_ok_and(|p| p > 0)
            {
                return Err("its port is not a number from 1 to 65535".into());
            }
            host
        }
        _ => authority,
    };
    if !is_host(host) {
        return Err(
            "its host is not a host name or IP address (letters, digits, `-` and `.`; IPv6 in brackets)"
                .into(),
        );
    }
    // A fragment (`#…`) is never sent, but Alertmanager takes it: the same characters.
    let (path_query, fragment) = tail.split_once('#').unwrap_or((tail, ""));
    check_path_and_query(path_query)?;
    check_path_and_query(fragment)
}

/// An e-mail address as Go's `net/mail` parses Alertmanager's `from` and `to`:
/// `local@domain` or `Display Name <local@domain>`, the local part a dot-atom (letters,
/// digits, non-ASCII letters and ``!#$%&'*+-/=?^_`{|}~``), the domain a host name. No
/// commas (Alertmanager joins the `to` list with them), quotes or comments.
pub fn check_email(text: &str) -> Result<(), String> {
    if text.contains(',') {
        return Err("it holds a `,`: write one address per entry".into());
    }
    let addr = match text.strip_suffix('>').and_then(|t| t.rsplit_once('<')) {
        Some((name, addr)) => {
            let name = name.trim_end();
            let name_ok = !name.is_empty()
                && !name.starts_with(' ')
                && name.chars().all(|c| {
                    c.is_alphanumeric() || c == ' ' || c == '.' || "!#$%&'*+-/=?^_`{|}~".contains(c)
                });
            if !name_ok {
                return Err("its display name may hold only letters, digits, spaces and `.-_'` (no quotes, commas or brackets)".into());
            }
            addr
        }
        None => text,
    };
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return Err("it has no `@`".into());
    };
    let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c);
    if local.is_empty()
        || local.len() > 64
        || local
            .split('.')
            .any(|atom| atom.is_empty() || !atom.chars().all(atext))
    {
        return Err("its part before `@` is not a plain mailbox name".into());
    }
    if domain.starts_with('[') || !is_host(domain) {
        return Err("its domain is not a host name".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5m"), Some(300_000));
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("500ms"), Some(500));
        assert_eq!(parse_duration("1m500ms"), Some(60_500));
        assert_eq!(parse_duration("30d"), Some(30 * 86_400_000));
        for bad in ["", "5", "m", "5 m", "1m1h", "5mm", "1.5h", "-1s", "5x"] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(format_duration(5_400_000), "1h30m");
        assert_eq!(format_duration(500), "500ms");
    }

    #[test]
    fn sizes() {
        assert!(is_prometheus_size("10GB"));
        assert!(!is_prometheus_size("10G"));
        assert!(!is_prometheus_size("GB"));
        assert_eq!(parse_memory("512M"), Some(512 * 1024 * 1024));
        assert_eq!(parse_memory("1g"), Some(1024 * 1024 * 1024));
        assert_eq!(parse_memory("512mb"), Some(512 * 1024 * 1024));
        assert_eq!(parse_memory("lots"), None);
    }

    #[test]
    fn names() {
        for good in ["a", "shop", "api-2", "x1"] {
            assert!(is_dns_label(good), "{good}");
        }
        for bad in ["", "../x", "Foo", "a b", "-a", "a-", "a_b", &"a".repeat(64)] {
            assert!(!is_dns_label(bad), "{bad}");
        }
        assert!(is_label_name("severity") && !is_label_name("1x") && !is_label_name("a-b"));
        assert!(is_env_name("SLACK_URL") && !is_env_name("slack") && !is_env_name("1A"));
        assert_eq!(camel_of("backend-api"), "BackendApi");
        assert_eq!(env_name_of("backend-api"), "BACKEND_API");
    }

    #[test]
    fn durations_stop_where_go_does() {
        // prometheus/common's model.ParseDuration: at most 1<<63-1 nanoseconds
        // (promtool 2.42 takes `for: 292y` and `106751d`, not `293y` or `106752d`).
        assert_eq!(duration("292y"), Ok(292 * 365 * 86_400_000));
        assert_eq!(duration("106751d"), Ok(106_751 * 86_400_000));
        assert_eq!(duration("9223372036854ms"), Ok(MAX_DURATION_MS));
        for long in [
            "293y",
            "106752d",
            "1000y",
            "9223372036855ms",
            "99999999999999999999s",
        ] {
            assert_eq!(duration(long), Err(ValueError::OutOfRange), "{long}");
            assert_eq!(parse_duration(long), None, "{long}");
        }
        assert_eq!(duration("5 m"), Err(ValueError::Syntax));
    }

    #[test]
    fn sizes_stop_at_int64() {
        assert_eq!(prometheus_size("7EB"), Ok(7 << 60));
        assert_eq!(prometheus_size("8EB"), Err(ValueError::OutOfRange));
        assert_eq!(
            prometheus_size("99999999999999999999B"),
            Err(ValueError::OutOfRange)
        );
        assert_eq!(prometheus_size("10G"), Err(ValueError::Syntax));
        assert_eq!(parse_memory("8589934592g"), None);
        assert!(parse_memory("8589934591g").is_some());
    }

    #[test]
    fn http_paths_are_rfc_3986() {
        for good in [
            "/",
            "/health",
            "/health/ready",
            "/status?full=1&x=y",
            "/a%20b",
            "/$x/it's/(a)*+,;=:@!~-._",
            "/q?a=/b?c",
        ] {
            assert_eq!(check_http_path(good), Ok(()), "{good}");
        }
        for (bad, why) in [
            ("health", "start with"),
            ("/he\"alth", "%22"),
            ("/he\\alth", "%5C"),
            ("/a b", "%20"),
            ("/a\nb", "%0A"),
            ("/${x}", "%7B"),
            ("/a#b", "%23"),
            ("/é", "%C3%A9"),
            ("/a`b", "%60"),
            ("/100%", "percent-encoding"),
            ("/%zz", "percent-encoding"),
        ] {
            let err = check_http_path(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
        assert!(check_http_path(&format!("/{}", "a".repeat(MAX_HTTP_PATH))).is_err());
    }

    #[test]
    fn urls_hosts_and_addresses() {
        for good in [
            "https://hooks.example.com/alert",
            "http://10.0.0.1:8080/a?b=c",
            "https://[::1]:9093/",
            "http://host",
            "https://h.example.com/p/$x%20y",
            "http://hooks.example.com:9000/a?b=c#d",
        ] {
            assert_eq!(check_http_url(good), Ok(()), "{good}");
        }
        for bad in [
            "ftp://x",
            "https://",
            "https://a b/",
            "https://x/a\nb",
            "https://x:0/",
            "https://x:99999/",
            "https://u:p@x/",
            "https://x/a#fr ag",
            "https://x/\"",
            "https://[zz]/",
            "https://-x/",
        ] {
            assert!(check_http_url(bad).is_err(), "{bad}");
        }
        for good in [
            "smtp.example.com:587",
            "10.0.0.1:25",
            "[::1]:25",
            "localhost:25",
        ] {
            assert_eq!(check_host_port(good), Ok(()), "{good}");
        }
        for bad in [
            "smtp.example.com",
            ":587",
            "a b:25",
            "x:0",
            "x:\n25",
            "smtp\n.x:25",
            "::1:25",
        ] {
            assert!(check_host_port(bad).is_err(), "{bad}");
        }
        for good in [
            "oncall@example.com",
            "first.last+tag@mail.example.org",
            "Alertmanager <am@example.com>",
            "Jürgen Müller <jürgen@example.com>",
            "root@localhost",
        ] {
            assert_eq!(check_email(good), Ok(()), "{good}");
        }
        for bad in [
            "",
            "oncall",
            "@example.com",
            "a@",
            "a b@example.com",
            "a@b@example.com",
            "a@example.com,b@example.com",
            "\"quoted\"@example.com",
            "a..b@example.com",
            "Name <a@example.com",
            "<a@example.com>",
            "a@exa mple.com",
            "a@example.com\n",
        ] {
            assert!(check_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn path_lengths() {
        assert_eq!(check_path_length(&"a".repeat(255)), Ok(()));
        assert!(check_path_length(&"a".repeat(256)).is_err());
        let deep = vec!["a".repeat(200); 20].join("/");
        assert!(deep.len() < MAX_PATH);
        assert_eq!(check_path_length(&deep), Ok(()));
        let deeper = vec!["a".repeat(200); 21].join("/");
        assert!(check_path_length(&deeper).unwrap_err().contains("4096"));
    }
}
