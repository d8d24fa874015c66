//! `[[receiver]]` and `[[route]]`: receiver kinds and their settings, names and
//! references, matchers (label names and regexes in Alertmanager's dialect).

use std::collections::BTreeSet;

use super::Checker;
use crate::diag::suggest;
use crate::dialect;
use crate::manifest::{Manifest, ReceiverKind};
use crate::units::{check_email, check_host_port, check_http_url, is_label_name};

pub(super) fn check_receivers_and_routes(c: &mut Checker, m: &Manifest) {
    let mut seen = BTreeSet::new();
    for (i, r) in m.receivers.iter().enumerate() {
        let base = format!("receiver[{i}]");
        c.dns_name(&format!("{base}.name"), "receiver", &r.name);
        if !seen.insert(r.name.as_str()) {
            c.at(
                &format!("{base}.name"),
                format!("duplicate receiver name `{}`", r.name),
                "give each receiver its own name",
            );
        }
        let (required, allowed): (&[&str], &[&str]) = match r.kind {
            ReceiverKind::Slack => (&["webhook_url_env"], &["channel", "webhook_url_env"]),
            ReceiverKind::Pagerduty => (&["routing_key_env"], &["routing_key_env"]),
            ReceiverKind::Opsgenie => (&["api_key_env"], &["api_key_env"]),
            ReceiverKind::Webhook => (&["url"], &["url", "bearer_token_env"]),
            ReceiverKind::Email => (
                &["to", "from", "smarthost"],
                &[
                    "to",
                    "from",
                    "smarthost",
                    "auth_username",
                    "auth_password_env",
                ],
            ),
        };
        if r.name == crate::alertmanager::UNROUTED {
            c.at(
                &format!("{base}.name"),
                format!("receiver name `{}` is reserved", r.name),
                "obsgen's root route sends unmatched alerts to `unrouted`, which notifies nobody; name yours differently, or add a catch-all [[route]] (no `match`) to send unmatched alerts to it",
            );
        }
        if r.url_env.is_some() {
            c.at_key(
                &format!("{base}.url_env"),
                "a webhook URL cannot be a secret: Alertmanager 0.25 has no `url_file`, so the URL would be written into the generated configuration",
                "put the URL in `url` (it is written into alertmanager.<env>.yml) and the secret part in `bearer_token_env` (sent as `Authorization: Bearer`, read from secrets/<name>)",
            );
        }
        let set: [(&str, bool); 11] = [
            ("channel", r.channel.is_some()),
            ("webhook_url_env", r.webhook_url_env.is_some()),
            ("routing_key_env", r.routing_key_env.is_some()),
            ("api_key_env", r.api_key_env.is_some()),
            ("url", r.url.is_some()),
            ("bearer_token_env", r.bearer_token_env.is_some()),
            ("auth_username", r.auth_username.is_some()),
            ("to", !r.to.is_empty()),
            ("from", r.from.is_some()),
            ("smarthost", r.smarthost.is_some()),
            ("auth_password_env", r.auth_password_env.is_some()),
        ];
        let kind = format!("{:?}", r.kind).to_lowercase();
        let a_kind = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
            format!("an {kind}")
        } else {
            format!("a {kind}")
        };
        for (field, present) in set {
            if present && !allowed.contains(&field) {
                c.at_key(
                    &format!("{base}.{field}"),
                    format!("`{field}` does not apply to {a_kind} receiver"),
                    format!("{a_kind} receiver takes: {}", allowed.join(", ")),
                );
            }
            if !present && required.contains(&field) && !(field == "url" && r.url_env.is_some()) {
                c.at(
                    &base,
                    format!("{kind} receiver `{}` needs `{field}`", r.name),
                    if field.ends_with("_env") {
                        format!("add `{field}`: the name of the variable that holds the secret, never the secret itself")
                    } else {
                        format!("add `{field}`")
                    },
                );
            }
        }
        for (field, value) in [
            ("webhook_url_env", &r.webhook_url_env),
            ("routing_key_env", &r.routing_key_env),
            ("api_key_env", &r.api_key_env),
            ("bearer_token_env", &r.bearer_token_env),
            ("auth_password_env", &r.auth_password_env),
        ] {
            if let Some(v) = value {
                c.env_var(&format!("{base}.{field}"), v);
            }
        }
        for (j, to) in r.to.iter().enumerate() {
            if r.to[..j].contains(to) {
                c.at(
                    &format!("{base}.to[{j}]"),
                    format!("`{to}` is listed twice"),
                    "list each address once",
                );
            }
            if let Err(why) = check_email(to) {
                c.at(
                    &format!("{base}.to[{j}]"),
                    format!("`{to}` is not an email address: {why}"),
                    "write name@example.com, one address per entry",
                );
            }
            c.no_template(&format!("{base}.to[{j}]"), "the address", to, false);
        }
        if let Some(from) = &r.from {
            if from.trim().is_empty() {
                c.at(
                    &format!("{base}.from"),
                    "the sender address `from` is empty",
                    "write the sender as alertmanager@example.com: Alertmanager refuses an email receiver without one",
                );
            } else if let Err(why) = check_email(from) {
                c.at(
                    &format!("{base}.from"),
                    format!("`{from}` is not an email address: {why}"),
                    "write the sender as alertmanager@example.com or `Alertmanager <alertmanager@example.com>`",
                );
            }
            c.no_template(&format!("{base}.from"), "the address", from, false);
        }
        if let Some(channel) = &r.channel {
            c.no_template(&format!("{base}.channel"), "the channel", channel, false);
        }
        if r.kind == ReceiverKind::Email
            && r.auth_password_env.is_some() != r.auth_username.is_some()
        {
            let (field, help) = if r.auth_username.is_some() {
                (
                    "auth_username",
                    "add `auth_password_env`: the name of the secret that holds the SMTP password",
                )
            } else {
                (
                    "auth_password_env",
                    "add `auth_username`: Alertmanager skips SMTP authentication without a login",
                )
            };
            c.at(
                &format!("{base}.{field}"),
                format!("email receiver `{}` sets `{field}` alone", r.name),
                help,
            );
        }
        if let Some(url) = &r.url {
            let rest = url
                .strip_prefix("https://")
                .or_else(|| url.strip_prefix("http://"));
            match rest {
                None => c.at(
                    &format!("{base}.url"),
                    format!("`{url}` is not an http(s) URL"),
                    "write http://host:port/path or https://…",
                ),
                Some(rest) if rest.split('/').next().unwrap_or("").contains('@') => c.at(
                    &format!("{base}.url"),
                    "the webhook URL carries credentials (`user:password@`)",
                    "the URL is written into the generated configuration: remove the credentials and name a bearer token secret in `bearer_token_env`",
                ),
                Some(_) => {
                    if let Err(why) = check_http_url(url) {
                        c.at(
                            &format!("{base}.url"),
                            format!("`{}` is not a webhook URL: {why}", url.escape_debug()),
                            "write http(s)://host[:port]/path[?query] (RFC 3986; percent-encode anything else)",
                        );
                    }
                }
            }
        }
        if let Some(host) = &r.smarthost
            && let Err(why) = check_host_port(host)
        {
            c.at(
                &format!("{base}.smarthost"),
                format!(
                    "smarthost `{}` is not host:port: {why}",
                    host.escape_debug()
                ),
                "write host:port, like smtp.example.com:587",
            );
        }
    }
    let receivers: Vec<&str> = m.receivers.iter().map(|r| r.name.as_str()).collect();
    for (i, route) in m.routes.iter().enumerate() {
        let base = format!("route[{i}]");
        if route.receivers.is_empty() {
            c.at(
                &format!("{base}.receivers"),
                "a route without receivers",
                "name at least one [[receiver]]",
            );
        }
        for (j, name) in route.receivers.iter().enumerate() {
            if route.receivers[..j].contains(name) {
                c.at(
                    &format!("{base}.receivers[{j}]"),
                    format!("receiver `{name}` is listed twice"),
                    "list each receiver once",
                );
            } else if name == crate::alertmanager::WATCHDOG && receivers.contains(&name.as_str()) {
                c.at(
                    &format!("{base}.receivers[{j}]"),
                    "receiver `watchdog` is the dead-man's switch: it gets only the always-firing Watchdog alert",
                    "route alerts to another receiver; `watchdog` is wired to the Watchdog alert automatically",
                );
            } else if !receivers.contains(&name.as_str()) {
                let hint = suggest(name, receivers.iter().copied())
                    .map(|s| format!("did you mean `{s}`? "))
                    .unwrap_or_default();
                c.at(
                    &format!("{base}.receivers[{j}]"),
                    format!("route names unknown receiver `{name}`"),
                    format!(
                        "{hint}known receivers: {}",
                        if receivers.is_empty() {
                            "none".into()
                        } else {
                            receivers.join(", ")
                        }
                    ),
                );
            }
        }
        for (field, map) in [("match", &route.matchers), ("match_re", &route.match_re)] {
            for label in map.keys() {
                let key = crate::load::key_path(&format!("{base}.{field}"), label);
                if !is_label_name(label) {
                    c.at_key(
                        &key,
                        format!("`{label}` is not a label name"),
                        "use [a-zA-Z_][a-zA-Z0-9_]*",
                    );
                } else {
                    c.reserved_label(&key, label, true);
                }
            }
        }
        for (label, re) in &route.match_re {
            if let Err(why) = dialect::check_regex(re) {
                c.at(
                    &crate::load::key_path(&format!("{base}.match_re"), label),
                    format!("`{re}` is not a regular expression Alertmanager accepts: {why}"),
                    "write an RE2 expression; it must match the whole label value (`api|web`, `db-.*`). Go's RE2 syntax, which Alertmanager 0.25 and 0.28 both take: `(?P<name>…)` groups, flags i m s U, no look-around or back-references",
                );
            }
        }
        for (j, label) in route.group_by.iter().flatten().enumerate() {
            let key = format!("{base}.group_by[{j}]");
            if label != "..." && !c.reserved_label(&key, label, false) && !is_label_name(label) {
                c.at(
                    &format!("{base}.group_by[{j}]"),
                    format!("`{label}` is not a label name"),
                    "list label names ([a-zA-Z_][a-zA-Z0-9_]*), or `...` to group by every label",
                );
            }
        }
        if let Some(k) = m.routes[..i]
            .iter()
            .position(|r| r.matchers.is_empty() && r.match_re.is_empty() && !r.continue_)
        {
            c.at_key(
                &base,
                format!("route[{i}] can never match: route[{k}] has no `match` and catches every alert first"),
                format!("move the catch-all route[{k}] last, or give it `continue = true`"),
            );
        }
        for (field, value) in [
            ("group_wait", &route.group_wait),
            ("group_interval", &route.group_interval),
            ("repeat_interval", &route.repeat_interval),
        ] {
            if let Some(v) = value {
                c.duration(&format!("{base}.{field}"), v);
            }
        }
    }
}
