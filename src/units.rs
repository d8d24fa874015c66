//! Value formats shared by validation and resolution: Prometheus durations
//! (`1h30m`), byte sizes (`10GB`, `512M`), DNS labels, label and variable names.

/// Parses a Prometheus duration (`[0-9]+(y|w|d|h|m|s|ms)` units, largest first, each at
/// most once) into milliseconds. Returns `None` for anything else.
pub fn parse_duration(text: &str) -> Option<u64> {
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
        return None;
    }
    let mut rest = text;
    let mut total: u64 = 0;
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        // "ms" must be tried before "m".
        let pos = UNITS[next_unit..]
            .iter()
            .enumerate()
            .filter(|(_, (u, _))| rest.starts_with(u) && !(*u == "m" && rest.starts_with("ms")))
            .map(|(i, _)| i + next_unit)
            .next()?;
        let (unit, ms) = UNITS[pos];
        total = total.checked_add(n.checked_mul(ms)?)?;
        rest = &rest[unit.len()..];
        next_unit = pos + 1;
    }
    Some(total)
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
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    digits > 0 && ["B", "KB", "MB", "GB", "TB", "PB", "EB"].contains(&&text[digits..])
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
    (n > 0.0).then_some((n * mult) as u64)
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
}
