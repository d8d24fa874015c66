//! The Compose-facing fields of a service: env files, health check, user, capabilities,
//! read-only mounts, hardening and the hot-reload mount.

use super::Checker;
use crate::diag::suggest;

/// Linux capabilities Docker knows (`cap_add`).
const CAPABILITIES: &[&str] = &[
    "AUDIT_CONTROL",
    "AUDIT_READ",
    "AUDIT_WRITE",
    "BLOCK_SUSPEND",
    "BPF",
    "CHECKPOINT_RESTORE",
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "IPC_LOCK",
    "IPC_OWNER",
    "KILL",
    "LEASE",
    "LINUX_IMMUTABLE",
    "MAC_ADMIN",
    "MAC_OVERRIDE",
    "MKNOD",
    "NET_ADMIN",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_RAW",
    "PERFMON",
    "SETFCAP",
    "SETGID",
    "SETPCAP",
    "SETUID",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_CHROOT",
    "SYS_MODULE",
    "SYS_NICE",
    "SYS_PACCT",
    "SYS_PTRACE",
    "SYS_RAWIO",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "SYSLOG",
    "WAKE_ALARM",
];

/// A relative path inside the project (`./backend.env`).
fn inside_project(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.split('/').any(|p| p == "..")
        && !path.chars().any(|ch| ch.is_control())
}

/// An absolute container path Compose can take in a mount (`/app`).
fn container_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.contains(':')
        && !path.chars().any(|ch| ch.is_whitespace() || ch.is_control())
}

/// The Compose-facing fields of a service: env files, health check, user, hardening,
/// hot reload.
pub(super) fn check_service_container(c: &mut Checker, base: &str, s: &crate::manifest::Service) {
    for (j, f) in s.env_file.iter().enumerate() {
        if !c.path_length(&format!("{base}.env_file[{j}]"), f) {
            continue;
        }
        if !inside_project(f)
            || !f
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '_' | '-' | '/'))
        {
            c.at(
                &format!("{base}.env_file[{j}]"),
                format!("env_file `{f}` is outside the project or has unusual characters"),
                "use a file inside the project, relative to obsgen.toml, of letters, digits, `.`, `_`, `-` and `/` (`./backend.env`)",
            );
        } else if f.trim_start_matches("./") == ".env" {
            c.at(
                &format!("{base}.env_file[{j}]"),
                "`.env` is the stack's own settings file (Compose interpolation), not a service's",
                "give the service its own file, like `./backend.env`",
            );
        }
    }
    if let Some(cmd) = &s.health_cmd {
        if s.health_check.is_some() {
            c.at(
                &format!("{base}.health_cmd"),
                format!("service `{}` sets both `health_check` and `health_cmd`", s.name),
                "keep one: `health_check = \"wget\" | \"curl\" | \"none\"` probes `health`; `health_cmd` is your own command",
            );
        }
        if cmd.is_empty() || cmd[0].trim().is_empty() {
            c.at(
                &format!("{base}.health_cmd"),
                "health_cmd is empty",
                "write the command as an argument list, like `[\"/app/healthcheck\"]`",
            );
        }
    } else if let Some(tool) = s.health_check
        && tool != crate::manifest::HealthCheck::None
        && s.health.is_none()
    {
        c.at(
            &format!("{base}.health_check"),
            format!("service `{}` has `health_check` but no `health` path to check", s.name),
            "add `health = \"/health\"` (the HTTP path the check requests), or remove `health_check`",
        );
    }
    if let Some(user) = &s.user {
        let part = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-' | '.'))
        };
        let ok = match user.split_once(':') {
            Some((u, g)) => part(u) && part(g),
            None => part(user),
        };
        if !ok {
            c.at(
                &format!("{base}.user"),
                format!("`{user}` is not a user"),
                "write `uid[:gid]` or a user name of the image, like `\"1000:1000\"` or `\"node\"`",
            );
        }
    }
    for (j, cap) in s.hardening.cap_add.iter().enumerate() {
        let name = cap.strip_prefix("CAP_").unwrap_or(cap);
        if !CAPABILITIES.contains(&name) {
            let hint = suggest(&name.to_ascii_uppercase(), CAPABILITIES.iter().copied())
                .map(|s| format!("did you mean `{s}`? "))
                .unwrap_or_default();
            c.at(
                &format!("{base}.hardening.cap_add[{j}]"),
                format!("`{cap}` is not a Linux capability"),
                format!("{hint}name one capability in capitals, like `NET_BIND_SERVICE` (`ALL` is not allowed: add only what the image needs)"),
            );
        }
    }
    for (j, t) in s.hardening.tmpfs.iter().enumerate() {
        if !c.path_length(&format!("{base}.hardening.tmpfs[{j}]"), t) {
            continue;
        }
        if !container_path(t) {
            c.at(
                &format!("{base}.hardening.tmpfs[{j}]"),
                format!("`{t}` is not an absolute container path"),
                "write a path like `/tmp`",
            );
        }
    }
    if let Some(dev) = &s.dev {
        if s.build.is_none() {
            c.at(
                &format!("{base}.dev"),
                format!("service `{}` has `dev` (hot reload) but no `build` context to mount", s.name),
                "hot reload bind-mounts the build context; use `build = \"./folder\"`, or remove `dev`",
            );
        }
        if c.path_length(&format!("{base}.dev.mount"), &dev.mount) && !container_path(&dev.mount) {
            c.at(
                &format!("{base}.dev.mount"),
                format!("`{}` is not an absolute container path", dev.mount),
                "write where the image keeps its sources, like `/app`",
            );
        }
        if dev.command.as_ref().is_some_and(|cmd| cmd.is_empty()) {
            c.at(
                &format!("{base}.dev.command"),
                "dev.command is empty",
                "write the command as an argument list, like `[\"npm\", \"run\", \"dev\"]`, or remove it",
            );
        }
    }
}
