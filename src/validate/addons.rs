//! The optional backends: `[tracing]`, `[logging]`, `[errors]` and `[storage]`.

use super::Checker;
use crate::manifest::Manifest;

pub(super) fn check_addons(c: &mut Checker, m: &Manifest) {
    if let Some(r) = m.tracing.sample_ratio
        && !(r > 0.0 && r <= 1.0)
    {
        c.at(
            "tracing.sample_ratio",
            format!("sample_ratio = {r} is out of range"),
            "use a fraction in (0, 1], like 0.1",
        );
    }
    if let Some(ret) = &m.logging.retention {
        c.duration("logging.retention", ret);
    }
    if let Some(dsn) = &m.errors.dsn_env {
        c.env_var("errors.dsn_env", dsn);
    }
    if let Some(minio) = &m.storage.minio {
        for (i, b) in minio.buckets.iter().enumerate() {
            let ok = (3..=63).contains(&b.len())
                && b.bytes().all(|ch| {
                    ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == b'-' || ch == b'.'
                })
                && b.starts_with(|ch: char| ch.is_ascii_alphanumeric())
                && b.ends_with(|ch: char| ch.is_ascii_alphanumeric());
            let key = format!("storage.minio.buckets[{i}]");
            if !ok {
                c.at(
                    &key,
                    format!("`{b}` is not an S3 bucket name"),
                    "use 3-63 lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit",
                );
            } else if b.contains("..")
                || b.parse::<std::net::Ipv4Addr>().is_ok()
                || ["xn--", "sthree-"].iter().any(|p| b.starts_with(p))
                || ["-s3alias", "--ol-s3"].iter().any(|s| b.ends_with(s))
            {
                c.at(
                    &key,
                    format!("`{b}` is not an S3 bucket name"),
                    "S3 forbids `..`, IP addresses, the prefixes `xn--` and `sthree-` and the suffixes `-s3alias` and `--ol-s3`",
                );
            } else if minio.buckets[..i].contains(b) {
                c.at(
                    &key,
                    format!("bucket `{b}` is listed twice"),
                    "list each bucket once",
                );
            }
        }
    }
}
