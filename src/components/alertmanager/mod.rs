//! Alertmanager: the Compose service, its scrape job and Prometheus' alerting target,
//! the Docker secrets its receivers read, and the configuration per environment —
//! receivers, the route tree, inhibitions — plus the route tests users run with amtool.
//!
//! Decisions, all made here so the templates only lay out:
//! - **Secrets** never reach a generated file. Each `*_env` field of a receiver names a
//!   secret whose value lives in `secrets/<name in lowercase>` next to the manifest;
//!   Compose mounts it at `/run/secrets/<name>` and the configuration points a `*_file`
//!   field there (slack `api_url_file`, pagerduty `routing_key_file`, opsgenie
//!   `api_key_file`, email `auth_password_file`, webhook
//!   `http_config.authorization.credentials_file`: Alertmanager 0.25 has no webhook
//!   `url_file`, so a webhook URL is plain configuration and its secret is a bearer token).
//! - **Routes**: the root route sends to [`UNROUTED`], a receiver that notifies nobody
//!   (a catch-all `[[route]]` is an ordinary child route, so it decides instead). The
//!   first child routes `alertname="Watchdog"` to [`WATCHDOG`] (the manifest's receiver of
//!   that name, a dead-man's switch, else one that notifies nobody) and stops. Then one
//!   child per `[[route]]`, in manifest order; a route with several receivers gets one
//!   grandchild per receiver, all but the last with `continue: true`.
//! - **Timing**: the root route carries the environment's `group_wait`,
//!   `group_interval` and `repeat_interval` (profiles/); a `[[route]]` prints only what
//!   it overrides, and inherits the rest.
//! - **Inhibitions**: a critical alert silences the warning of the same alertname,
//!   service and environment; `ServiceDown` silences the other alerts of its service.
//! - **Route tests**: the expected receivers of each test come from [`expected`], which
//!   applies the manifest's routes as written (in order, first match unless
//!   `continue`); amtool then proves the generated tree does the same.

pub mod dashboards;

use std::collections::BTreeMap;

use crate::model;
use crate::model::Artifact;
pub use crate::model::alerting::{
    AmEnvironment, AmLeaf, AmReceiver, AmRoute, Field, Inhibit, Notifier, RouteTest,
};
use crate::model::alerting::{Receiver, ReceiverKind, Route};
use crate::model::{
    ComposeService, Contribution, Model, Role, Secret, Section, Settled, attach, group,
    read_only_hardening,
};
use crate::settings::Env;

mod rules;

pub const NAME: &str = "alertmanager";
/// Container port of Alertmanager (API, UI, metrics).
pub const PORT: u16 = 9093;
/// The root route's receiver: notifies nobody. Reserved as a receiver name.
pub const UNROUTED: &str = "unrouted";
/// Receiver of the always-firing Watchdog alert; a manifest receiver of this name is used.
pub const WATCHDOG: &str = "watchdog";
/// Alert name of the always-firing alert.
pub const WATCHDOG_ALERT: &str = "Watchdog";
/// Labels notifications are grouped by (the label conventions of the generated rules).
pub const GROUP_BY: &[&str] = &["alertname", "service", "environment"];
const CONFIG_DIR: &str = "/etc/alertmanager";
const DATA_DIR: &str = "/alertmanager";
/// Target file of the scrape job, also read by Prometheus' `alerting` section.
const TARGETS: &str = "targets/alertmanager.yml";

fn field(key: &str, value: impl Into<serde_json::Value>) -> Field {
    Field {
        key: key.into(),
        value: value.into(),
    }
}

/// The name of the secret a `*_env` field names: its file `secrets/<name>`, mounted at
/// `/run/secrets/<name>`.
pub fn secret_name(var: &str) -> String {
    var.to_ascii_lowercase()
}

fn secret_path(var: &str) -> String {
    format!("/run/secrets/{}", secret_name(var))
}

/// Escapes a label value for a double-quoted matcher.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for ch in value.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn matcher(label: &str, op: &str, value: &str) -> String {
    format!("{label}{op}\"{}\"", escape(value))
}

/// The secrets one receiver reads: (variable named in the manifest, what it is).
pub fn receiver_secrets(r: &Receiver) -> Vec<(String, &'static str)> {
    [
        (&r.webhook_url_env, "Slack incoming-webhook URL"),
        (&r.routing_key_env, "PagerDuty Events API v2 routing key"),
        (&r.api_key_env, "Opsgenie API key"),
        (&r.bearer_token_env, "webhook bearer token"),
        (&r.auth_password_env, "SMTP password"),
    ]
    .into_iter()
    .filter_map(|(v, what)| v.clone().map(|v| (v, what)))
    .collect()
}

fn notifier(r: &Receiver) -> Notifier {
    let file = |v: &Option<String>| secret_path(v.as_deref().expect("validated"));
    let mut fields = Vec::new();
    let mut credentials_file = None;
    let key = match r.kind {
        ReceiverKind::Slack => {
            fields.push(field("api_url_file", file(&r.webhook_url_env)));
            if let Some(ch) = &r.channel {
                fields.push(field("channel", ch.clone()));
            }
            "slack_configs"
        }
        ReceiverKind::Pagerduty => {
            fields.push(field("routing_key_file", file(&r.routing_key_env)));
            "pagerduty_configs"
        }
        ReceiverKind::Opsgenie => {
            fields.push(field("api_key_file", file(&r.api_key_env)));
            "opsgenie_configs"
        }
        ReceiverKind::Webhook => {
            fields.push(field("url", r.url.clone().expect("validated")));
            credentials_file = r.bearer_token_env.as_deref().map(secret_path);
            "webhook_configs"
        }
        ReceiverKind::Email => {
            fields.push(field("to", r.to.join(", ")));
            fields.push(field("from", r.from.clone().expect("validated")));
            fields.push(field("smarthost", r.smarthost.clone().expect("validated")));
            if let Some(user) = &r.auth_username {
                fields.push(field("auth_username", user.clone()));
            }
            if r.auth_password_env.is_some() {
                fields.push(field("auth_password_file", file(&r.auth_password_env)));
            }
            "email_configs"
        }
    };
    fields.push(field("send_resolved", r.send_resolved.unwrap_or(true)));
    Notifier {
        key: key.into(),
        fields,
        credentials_file,
    }
}

fn route_matchers(r: &Route) -> Vec<String> {
    let eq = r.matchers.iter().map(|(k, v)| matcher(k, "=", v));
    let re = r.match_re.iter().map(|(k, v)| matcher(k, "=~", v));
    eq.chain(re).collect()
}

fn child_route(i: usize, r: &Route) -> AmRoute {
    let (receiver, routes) = match r.receivers.as_slice() {
        [one] => (Some(one.clone()), Vec::new()),
        many => (
            None,
            many.iter()
                .enumerate()
                .map(|(j, name)| AmLeaf {
                    receiver: name.clone(),
                    continue_: j + 1 < many.len(),
                })
                .collect(),
        ),
    };
    AmRoute {
        about: format!("route[{i}]"),
        matchers: route_matchers(r),
        receiver,
        continue_: r.continue_,
        group_by: r.group_by.clone(),
        group_wait: r.group_wait.clone(),
        group_interval: r.group_interval.clone(),
        repeat_interval: r.repeat_interval.clone(),
        routes,
    }
}

/// An anchored regex as Alertmanager applies it.
fn anchored(re: &str) -> Option<regex::Regex> {
    regex::Regex::new(&format!("^(?:{re})$")).ok()
}

/// Whether a manifest route matches a label set (a missing label is the empty string).
fn matches(r: &Route, labels: &BTreeMap<String, String>) -> bool {
    let get = |k: &String| labels.get(k).map(String::as_str).unwrap_or("");
    r.matchers.iter().all(|(k, v)| get(k) == v)
        && r.match_re
            .iter()
            .all(|(k, re)| anchored(re).is_some_and(|re| re.is_match(get(k))))
}

/// The receivers an alert with `labels` reaches, in order, by the manifest's routes as
/// written: the Watchdog goes to [`WATCHDOG`]; otherwise routes apply in order, each
/// match adds its receivers and stops unless `continue`; no match is [`UNROUTED`].
pub fn expected(routes: &[Route], labels: &BTreeMap<String, String>) -> Vec<String> {
    if labels.get("alertname").map(String::as_str) == Some(WATCHDOG_ALERT) {
        return vec![WATCHDOG.into()];
    }
    let mut out = Vec::new();
    for r in routes {
        if matches(r, labels) {
            out.extend(r.receivers.iter().cloned());
            if !r.continue_ {
                break;
            }
        }
    }
    if out.is_empty() {
        out.push(UNROUTED.into());
    }
    out
}

/// A value an anchored regex matches: its first alternative when that is a literal.
fn sample(re: &str) -> Option<String> {
    let first = re.split('|').next()?;
    let literal = first
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ' ' | ':' | '/'));
    let rx = anchored(re)?;
    if literal && rx.is_match(first) {
        Some(first.to_string())
    } else {
        None
    }
}

fn test_case(about: String, routes: &[Route], labels: BTreeMap<String, String>) -> RouteTest {
    let receivers = expected(routes, &labels);
    let matchers: Vec<String> = labels.iter().map(|(k, v)| matcher(k, "=", v)).collect();
    RouteTest {
        about: format!("{about}: {}", matchers.join(" ")),
        expect: crate::quote::sh(&receivers.join(",")).into_string(),
        args: matchers
            .iter()
            .map(|m| crate::quote::sh(m).into_string())
            .collect::<Vec<_>>()
            .join(" "),
    }
}

fn route_tests(routes: &[Route]) -> (Vec<RouteTest>, Vec<String>) {
    let mut tests = vec![test_case(
        "Watchdog".into(),
        routes,
        BTreeMap::from([("alertname".to_string(), WATCHDOG_ALERT.to_string())]),
    )];
    let mut untested = Vec::new();
    for (i, r) in routes.iter().enumerate() {
        let mut labels = r.matchers.clone();
        let mut ok = true;
        for (k, re) in &r.match_re {
            match sample(re) {
                Some(v) => {
                    labels.insert(k.clone(), v);
                }
                None => ok = false,
            }
        }
        if !ok {
            untested.push(format!(
                "route[{i}]: no sample value for its match_re (test it by hand)"
            ));
            continue;
        }
        if labels.is_empty() {
            labels.insert("alertname".into(), "AnyAlert".into());
        }
        tests.push(test_case(format!("route[{i}]"), routes, labels));
    }
    tests.push(test_case(
        "default".into(),
        routes,
        BTreeMap::from([("alertname".to_string(), "UnroutedTestAlert".to_string())]),
    ));
    (tests, untested)
}

fn inhibit_rules() -> Vec<Inhibit> {
    let labels = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        Inhibit {
            about: "a critical alert silences the warning of the same alert and service".into(),
            source_matchers: vec![matcher("severity", "=", "critical")],
            target_matchers: vec![matcher("severity", "=", "warning")],
            equal: labels(&["alertname", "service", "environment"]),
        },
        Inhibit {
            about: "a replica that is down alerts once: its ServiceDown silences the other alerts of that replica (not the service-wide SLO, error and latency alerts: other replicas still serve)"
                .into(),
            source_matchers: vec![matcher("alertname", "=", "ServiceDown")],
            target_matchers: vec![matcher("alertname", "!=", "ServiceDown")],
            equal: labels(&["service", "environment", "instance"]),
        },
    ]
}

/// A receiver whose address (webhook `url`, email `smarthost`) names a service of the stack
/// or one of its aliases: Alertmanager joins that service's networks (all of them for its
/// name, the alias's network for an alias), so the name resolves and notifications arrive.
/// Runs once every service of the stack exists.
pub fn join_receiver_networks(model: &mut Model) {
    let hosts: Vec<String> = model
        .receivers
        .iter()
        .flat_map(|r| r.url.iter().chain(r.smarthost.iter()))
        .filter_map(|a| address_host(a))
        .collect();
    let mut needed: Vec<String> = Vec::new();
    for c in model.compose.iter().filter(|c| c.name != NAME) {
        for n in &c.networks {
            let named = hosts.contains(&c.name) || n.aliases.iter().any(|a| hosts.contains(a));
            if named && !needed.contains(&n.name) {
                needed.push(n.name.clone());
            }
        }
    }
    if let Some(am) = model.compose.iter_mut().find(|c| c.name == NAME) {
        for n in needed {
            if !am.networks.iter().any(|a| a.name == n) {
                am.networks.push(attach(&n));
            }
        }
    }
}

/// The host of `scheme://user@host:port/path` or `host:port`, lowercased.
fn address_host(address: &str) -> Option<String> {
    let rest = address.split_once("://").map_or(address, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.split(']').next()?.trim_start_matches('[')
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Alertmanager (`[components] alertmanager`).
pub struct Alertmanager;

impl super::Component for Alertmanager {
    fn name(&self) -> &'static str {
        NAME
    }

    fn enabled(&self, s: &Settled) -> bool {
        s.components.alertmanager
    }

    fn catalogues(&self) -> &'static [&'static str] {
        &[NAME]
    }

    fn contribute(&self, s: &Settled) -> Contribution {
        let mut out = Contribution::default();
        contribute(s, &mut out);
        rules::contribute(&mut out);
        dashboards::contribute(s, &mut out);
        out
    }
}

/// Its Compose service, data volume, secrets, scrape job (behind the monitoring login)
/// and target file, and the routing tree.
fn contribute(settled: &Settled, out: &mut Contribution) {
    let image = crate::assets::images(&settled.templates)
        .get(NAME)
        .cloned()
        .expect("bug: no pinned image for alertmanager");
    let volume = format!("{NAME}-data");

    let mut secrets: Vec<Secret> = Vec::new();
    for r in &settled.receivers {
        for (var, what) in receiver_secrets(r) {
            let name = secret_name(&var);
            if secrets.iter().any(|s| s.name == name) {
                continue;
            }
            secrets.push(Secret {
                file: format!("./secrets/{name}"),
                path: secret_path(&var),
                description: format!("{what} of alert receiver `{}` ({var})", r.name),
                how: "copy it from the provider's console; write it without a trailing newline"
                    .into(),
                copy_of: None,
                name,
                section: Section::Notification,
            });
        }
    }

    let mut receivers: Vec<AmReceiver> = settled
        .receivers
        .iter()
        .map(|r| AmReceiver {
            name: r.name.clone(),
            configs: vec![notifier(r)],
        })
        .collect();
    for builtin in [WATCHDOG, UNROUTED] {
        if !receivers.iter().any(|r| r.name == builtin) {
            receivers.push(AmReceiver {
                name: builtin.into(),
                configs: Vec::new(),
            });
        }
    }
    let (route_tests, untested) = route_tests(&settled.routes);

    let mut c = ComposeService::new(NAME, Role::Monitoring);
    c.image = Some(image.clone());
    c.volumes = vec![
        format!("./monitoring/alertmanager:{CONFIG_DIR}:ro"),
        format!("{volume}:{DATA_DIR}"),
    ];
    c.secrets = secrets.iter().map(|s| s.name.clone()).collect();
    // The image's user (nobody), made explicit; it writes only to its data volume.
    c.user = Some(model::NOBODY.into());
    c.hardening = read_only_hardening();
    // edge: its UI is published, and it must reach the receivers on the internet.
    c.networks = vec![attach("monitoring"), attach("edge")];
    c.env_command = Some(vec![
        format!("--config.file={CONFIG_DIR}/alertmanager.{{env}}.yml"),
        format!("--storage.path={DATA_DIR}"),
        // One instance: no cluster gossip port.
        "--cluster.listen-address=".into(),
        // Basic auth on the UI and API: the login of the Prometheus UI.
        format!("--web.config.file={CONFIG_DIR}/web.yml"),
    ]);
    out.compose.push(c);
    out.volumes.push(volume.clone());
    out.secrets.extend(secrets);
    let job = out.add_job(
        NAME,
        "/metrics",
        "Alertmanager (also where Prometheus sends alerts)",
        vec![group(NAME, vec![format!("{NAME}:{PORT}")])],
    );
    // Its UI and API sit behind the monitoring login (its own web.yml, same hash).
    job.basic_auth = Some(super::prometheus::monitoring_login(settled));
    out.add_file(
        super::prometheus::login::AM_WEB_FILE,
        "prometheus/web.yml.j2",
        &"Alertmanager",
    );
    debug_assert!(out.target_files.iter().any(|t| t.path == TARGETS));
    out.alertmanager = Some(model::Alertmanager {
        name: NAME.into(),
        image,
        port: PORT,
        volume,
        targets_file: TARGETS.into(),
        receivers,
        inhibit_rules: inhibit_rules(),
        route_tests,
        untested,
    });
}

/// The configuration of environment `env` (timing from its settings).
pub fn environment(routes: &[Route], s: &Env, env: &str) -> AmEnvironment {
    let watchdog_interval = s.watchdog_interval.clone();
    let watchdog = AmRoute {
        about: "Watchdog: always firing; a dead-man's switch alerts when it stops".into(),
        matchers: vec![matcher("alertname", "=", WATCHDOG_ALERT)],
        receiver: Some(WATCHDOG.into()),
        continue_: false,
        group_by: None,
        group_wait: None,
        group_interval: Some(watchdog_interval.clone()),
        repeat_interval: Some(watchdog_interval),
        routes: Vec::new(),
    };
    AmEnvironment {
        file: format!("alertmanager.{env}.yml"),
        receiver: UNROUTED.into(),
        group_by: GROUP_BY.iter().map(|s| s.to_string()).collect(),
        group_wait: s.group_wait.clone(),
        group_interval: s.group_interval.clone(),
        repeat_interval: s.repeat_interval.clone(),
        routes: std::iter::once(watchdog)
            .chain(routes.iter().enumerate().map(|(i, r)| child_route(i, r)))
            .collect(),
    }
}

/// Files: one configuration per environment, and the route tests.
pub fn artifacts(m: &Model) -> Vec<Artifact> {
    if m.alertmanager.is_none() {
        return Vec::new();
    }
    let mut out: Vec<Artifact> = m
        .environments
        .iter()
        .enumerate()
        .filter_map(|(i, e)| {
            let am = e.alertmanager.as_ref()?;
            Some(Artifact::per_env(
                format!("monitoring/alertmanager/{}", am.file),
                "alertmanager/alertmanager.yml.j2",
                i,
            ))
        })
        .collect();
    out.push(Artifact::new(
        "monitoring/alertmanager/routes.test.sh",
        "alertmanager/routes.test.sh.j2",
    ));
    out
}

/// Cross-file checks of a rendered file (see [`crate::verify`]): every route of an
/// Alertmanager configuration names a receiver it defines, and every file Prometheus'
/// `alerting` section reads is generated. An error is a bug in obsgen.
pub fn verify(
    path: &str,
    value: &serde_json::Value,
    paths: &std::collections::BTreeSet<&str>,
) -> anyhow::Result<()> {
    use serde_json::Value as Json;
    let list = |v: &Json, k: &str| {
        v.get(k)
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default()
    };
    if path.starts_with("monitoring/alertmanager/alertmanager.") {
        let defined: Vec<String> = list(value, "receivers")
            .iter()
            .filter_map(|r| r.get("name")?.as_str().map(str::to_string))
            .collect();
        let mut stack = vec![value.get("route").cloned().unwrap_or(Json::Null)];
        if stack[0].get("receiver").is_none() {
            anyhow::bail!("bug in obsgen: {path}: the root route has no receiver");
        }
        while let Some(route) = stack.pop() {
            if let Some(r) = route.get("receiver").and_then(Json::as_str)
                && !defined.iter().any(|d| d == r)
            {
                anyhow::bail!(
                    "bug in obsgen: {path}: a route names receiver `{r}`, which is not defined"
                );
            }
            stack.extend(list(&route, "routes"));
        }
    }
    if path.starts_with("monitoring/prometheus/prometheus.") {
        let alerting = value.get("alerting").cloned().unwrap_or(Json::Null);
        for am in list(&alerting, "alertmanagers") {
            for sd in list(&am, "file_sd_configs") {
                for file in list(&sd, "files") {
                    let target = format!("monitoring/prometheus/{}", file.as_str().unwrap_or(""));
                    if !paths.contains(target.as_str()) {
                        anyhow::bail!(
                            "bug in obsgen: {path} sends alerts to the Alertmanagers in {target}, which is not generated"
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(m: &[(&str, &str)], re: &[(&str, &str)], receivers: &[&str], cont: bool) -> Route {
        Route {
            matchers: m
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            match_re: re
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            receivers: receivers.iter().map(|s| s.to_string()).collect(),
            continue_: cont,
            group_by: None,
            group_wait: None,
            group_interval: None,
            repeat_interval: None,
        }
    }

    fn labels(l: &[(&str, &str)]) -> BTreeMap<String, String> {
        l.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn expected_follows_order_and_continue() {
        let routes = vec![
            route(&[("severity", "critical")], &[], &["oncall", "chat"], true),
            route(&[], &[("service", "api|web")], &["api-team"], false),
            route(&[], &[], &["chat"], false),
        ];
        let got = |l| expected(&routes, &labels(l)).join(",");
        assert_eq!(got(&[("severity", "critical")]), "oncall,chat,chat");
        assert_eq!(
            got(&[("severity", "critical"), ("service", "web")]),
            "oncall,chat,api-team"
        );
        assert_eq!(got(&[("service", "webx")]), "chat");
        assert_eq!(got(&[("alertname", "Watchdog")]), WATCHDOG);
        assert_eq!(expected(&routes[..1], &labels(&[])), vec![UNROUTED]);
    }

    #[test]
    fn matchers_escape_and_shell_quotes_survive() {
        assert_eq!(matcher("team", "=", "a\"b\\c\nd"), r#"team="a\"b\\c\nd""#);
        assert_eq!(crate::quote::sh("it's").as_str(), r#"'it'\''s'"#);
        assert_eq!(sample("api|web"), Some("api".into()));
        assert_eq!(sample("ap.*"), None);
    }

    #[test]
    fn verify_catches_undefined_receivers_and_missing_target_files() {
        let paths =
            std::collections::BTreeSet::from(["monitoring/prometheus/targets/alertmanager.yml"]);
        let am = |recv: &str| {
            serde_json::json!({
                "route": {"receiver": "unrouted", "routes": [{"routes": [{"receiver": recv}]}]},
                "receivers": [{"name": "unrouted"}, {"name": "a"}]
            })
        };
        let f = "monitoring/alertmanager/alertmanager.production.yml";
        assert!(verify(f, &am("a"), &paths).is_ok());
        assert!(verify(f, &am("b"), &paths).is_err());
        let prom = |file: &str| serde_json::json!({"alerting": {"alertmanagers": [{"file_sd_configs": [{"files": [file]}]}]}});
        let f = "monitoring/prometheus/prometheus.production.yml";
        assert!(verify(f, &prom("targets/alertmanager.yml"), &paths).is_ok());
        assert!(verify(f, &prom("targets/nope.yml"), &paths).is_err());
    }

    #[test]
    fn several_receivers_become_continuing_children() {
        let r = child_route(0, &route(&[("a", "b")], &[], &["x", "y", "z"], false));
        assert_eq!(r.receiver, None);
        let leaves: Vec<(String, bool)> = r
            .routes
            .iter()
            .map(|l| (l.receiver.clone(), l.continue_))
            .collect();
        assert_eq!(
            leaves,
            vec![("x".into(), true), ("y".into(), true), ("z".into(), false)]
        );
    }
}
