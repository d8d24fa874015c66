//! The interactive `obsgen init`: asks on a terminal (dialoguer) for every answer not
//! already given by `--set`, `OBSGEN_*` variables or `--answers`, with what was found
//! in the folder shown as the defaults. It returns answers; writing the manifest is the
//! caller's job (only at the very end, atomically), so Ctrl-C leaves nothing behind.

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Result, anyhow};
use console::Term;
use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};
use dialoguer::{Confirm, Input, Select};

use crate::detect::Found;
use crate::init::{
    Answers, AwsAnswers, Backend, RECEIVER_KINDS, ReceiverAnswers, RoutingAnswers, ServiceAnswers,
    StorageAnswers, StringOrList, profile_backends, service_list,
};

/// The wizard was cancelled (Ctrl-C or end of input): nothing was written.
#[derive(Debug)]
pub struct Cancelled;

impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "init cancelled; nothing was written")
    }
}

impl std::error::Error for Cancelled {}

/// Set while the manifest is being written: a Ctrl-C then waits for the rename.
pub static WRITING: AtomicBool = AtomicBool::new(false);

/// Makes Ctrl-C end the process cleanly (cursor shown, a message, exit 130) instead of
/// leaving the terminal with a hidden cursor.
pub fn install_ctrlc() {
    crate::signals::on_interrupt(|| {
        if WRITING.load(Ordering::SeqCst) {
            return;
        }
        let term = Term::stderr();
        let _ = term.show_cursor();
        let _ = term.write_line("\ninit cancelled; nothing was written");
        std::process::exit(130);
    });
}

fn io<T>(r: dialoguer::Result<T>) -> Result<T> {
    r.map_err(|dialoguer::Error::IO(e)| match e.kind() {
        std::io::ErrorKind::Interrupted | std::io::ErrorKind::UnexpectedEof => {
            anyhow::Error::new(Cancelled)
        }
        _ => anyhow!("reading the answer from the terminal: {e}"),
    })
}

pub struct Wizard {
    term: Term,
    theme: Box<dyn Theme>,
}

impl Wizard {
    pub fn new(color: bool) -> Wizard {
        let theme: Box<dyn Theme> = if color {
            Box::new(ColorfulTheme::default())
        } else {
            Box::new(SimpleTheme)
        };
        Wizard {
            term: Term::stderr(),
            theme,
        }
    }

    pub fn say(&self, line: &str) -> Result<()> {
        self.term.write_line(line)?;
        Ok(())
    }

    fn text(&self, prompt: &str, default: &str) -> Result<String> {
        let mut input = Input::<String>::with_theme(&*self.theme).with_prompt(prompt);
        if !default.is_empty() {
            input = input.default(default.to_string());
        } else {
            input = input.allow_empty(true);
        }
        io(input.interact_text_on(&self.term)).map(|s| s.trim().to_string())
    }

    fn text_checked(
        &self,
        prompt: &str,
        default: &str,
        check: impl Fn(&str) -> Result<(), String> + 'static,
    ) -> Result<String> {
        let mut input = Input::<String>::with_theme(&*self.theme)
            .with_prompt(prompt)
            .validate_with(move |s: &String| check(s.trim()));
        if !default.is_empty() {
            input = input.default(default.to_string());
        } else {
            input = input.allow_empty(true);
        }
        io(input.interact_text_on(&self.term)).map(|s| s.trim().to_string())
    }

    fn yes(&self, prompt: &str, default: bool) -> Result<bool> {
        io(Confirm::with_theme(&*self.theme)
            .with_prompt(prompt)
            .default(default)
            .wait_for_newline(true)
            .interact_on(&self.term))
    }

    fn pick(&self, prompt: &str, items: &[&str], default: &str) -> Result<String> {
        let idx = items.iter().position(|i| *i == default).unwrap_or(0);
        let chosen = io(Select::with_theme(&*self.theme)
            .with_prompt(prompt)
            .items(items)
            .default(idx)
            .interact_on(&self.term))?;
        Ok(items[chosen].to_string())
    }

    /// Asks every question `given` does not answer; `proposed` supplies the defaults.
    /// Returns the complete answers (given ones included).
    pub fn ask(&self, given: &Answers, proposed: &Answers, found: &Found) -> Result<Answers> {
        let mut a = given.clone();
        if !found.notes.is_empty() || !found.warnings.is_empty() {
            self.say("Found in this folder:")?;
            for n in &found.notes {
                self.say(&format!("  {n}"))?;
            }
            for w in &found.warnings {
                self.say(&format!("  warning: {w}"))?;
            }
        } else {
            self.say(
                "Nothing to detect in this folder (no Compose file, Dockerfile or build file).",
            )?;
        }
        self.say(
            "Press Enter to accept the proposed answer; Ctrl-C stops without writing anything.",
        )?;

        if a.project.name.is_none() {
            let d = proposed
                .project
                .name
                .clone()
                .unwrap_or_else(|| "app".into());
            a.project.name = Some(self.text_checked("Project name", &d, |s| {
                if crate::units::is_dns_label(s) {
                    Ok(())
                } else {
                    Err("lowercase letters, digits and `-` (a DNS label)".into())
                }
            })?);
        }
        if a.project.profile.is_none() {
            a.project.profile =
                Some(self.pick("Stack preset", &["minimal", "standard", "full"], "standard")?);
        }

        self.services(&mut a, proposed)?;

        if a.databases.is_none() {
            let d = proposed
                .databases
                .clone()
                .map(StringOrList::into_list)
                .map(|l| l.join(","))
                .unwrap_or_else(|| "none".into());
            self.say("Database kinds: postgres mysql mongodb redis elasticsearch")?;
            let answer = self.text_checked(
                "Databases (kind or name:kind, comma-separated, or none)",
                &d,
                |s| {
                    crate::init::parse_databases(
                        &[s.to_string()]
                            .iter()
                            .flat_map(|s| s.split(','))
                            .map(str::to_string)
                            .collect::<Vec<_>>(),
                    )
                    .map(|_| ())
                    .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_string())
                },
            )?;
            a.databases = Some(StringOrList::Text(answer));
        }

        let (pl, pt, pe) = profile_backends(a.project.profile.as_deref().unwrap_or("standard"));
        if a.logging.backend.is_none() {
            a.logging = Backend {
                backend: Some(self.pick(
                    "Logging backend",
                    &["loki", "elasticsearch", "none"],
                    &pl,
                )?),
            };
        }
        if a.tracing.backend.is_none() {
            a.tracing = Backend {
                backend: Some(self.pick("Tracing backend", &["tempo", "jaeger", "none"], &pt)?),
            };
        }
        if a.errors.backend.is_none() {
            a.errors = Backend {
                backend: Some(self.pick(
                    "Error tracking",
                    &["glitchtip", "sentry", "none"],
                    &pe,
                )?),
            };
        }
        if a.storage.backend.is_none() {
            let b = self.pick("Object storage", &["none", "minio"], "none")?;
            let buckets = if b == "minio" && a.storage.buckets.is_none() {
                Some(StringOrList::Text(
                    self.text("  buckets (comma-separated)", "uploads")?,
                ))
            } else {
                a.storage.buckets.clone()
            };
            a.storage = StorageAnswers {
                backend: Some(b),
                buckets,
            };
        }

        if a.receivers.is_none() {
            let mut receivers = Vec::new();
            let mut prompt = "Add an alert receiver?";
            while self.yes(prompt, receivers.is_empty())? {
                receivers.push(self.receiver(&receivers)?);
                prompt = "Add another alert receiver?";
            }
            a.receivers = Some(receivers);
        }
        let names: Vec<String> = a
            .receivers
            .iter()
            .flatten()
            .enumerate()
            .map(|(i, r)| receiver_name(r, &a.receivers.as_deref().unwrap_or_default()[..i]))
            .collect();
        if !names.is_empty() {
            let quiet: Vec<String> = a
                .receivers
                .iter()
                .flatten()
                .zip(&names)
                .filter(|(r, _)| r.kind != "pagerduty" && r.kind != "opsgenie")
                .map(|(_, n)| n.clone())
                .collect();
            let quiet = if quiet.is_empty() {
                names.clone()
            } else {
                quiet
            };
            let check = {
                let names = names.clone();
                move |s: &str| -> Result<(), String> {
                    for n in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                        if !names.iter().any(|x| x == n) {
                            return Err(format!(
                                "no receiver `{n}` (receivers: {})",
                                names.join(", ")
                            ));
                        }
                    }
                    Ok(())
                }
            };
            let critical = match a.routing.critical.clone() {
                Some(c) => c,
                None => StringOrList::Text(self.text_checked(
                    "Receivers for critical alerts",
                    &names.join(","),
                    check.clone(),
                )?),
            };
            let warning = match a.routing.warning.clone() {
                Some(w) => w,
                None => StringOrList::Text(self.text_checked(
                    "Receivers for warning alerts",
                    &quiet.join(","),
                    check,
                )?),
            };
            a.routing = RoutingAnswers {
                critical: Some(critical),
                warning: Some(warning),
            };
        }

        if a.ci.provider.is_none() {
            a.ci.provider = Some(self.pick("CI provider", &["github", "none"], "github")?);
        }
        if a.ci.provider.as_deref() != Some("none") && a.ci.registry.is_none() {
            a.ci.registry = Some(self.text("  container registry", "ghcr.io")?);
        }
        if a.deploy.aws.region.is_none() {
            if self.yes("Deploy to AWS (EC2 over SSM)?", false)? {
                let region = self.text_checked("  AWS region", "eu-central-1", |s| {
                    let ok = s.split('-').count() >= 3
                        && s.chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                    if ok {
                        Ok(())
                    } else {
                        Err("a region such as eu-central-1".into())
                    }
                })?;
                let domain = if a.deploy.aws.domain.is_none() {
                    Some(self.text("  public domain (empty for none)", "")?)
                } else {
                    a.deploy.aws.domain.clone()
                };
                a.deploy.aws = AwsAnswers {
                    region: Some(region),
                    domain,
                };
            } else {
                a.deploy.aws.region = Some("none".into());
            }
        }
        if a.project.environments.is_none() {
            let known = crate::assets::env_profile_names();
            let answer = self.text_checked(
                "Environments (comma-separated)",
                "development,production",
                move |s| {
                    for e in s.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                        if !known.iter().any(|k| k == e) {
                            return Err(format!("`{e}`: choose from {}", known.join(", ")));
                        }
                    }
                    Ok(())
                },
            )?;
            a.project.environments = Some(StringOrList::Text(answer));
        }
        Ok(a)
    }

    fn services(&self, a: &mut Answers, proposed: &Answers) -> Result<()> {
        if a.services.is_some() {
            return Ok(());
        }
        let fixed = a.service.clone();
        let candidates = proposed.services.clone().unwrap_or_default();
        let mut chosen: Vec<ServiceAnswers> = Vec::new();
        for c in candidates {
            let what = match (&c.image, &c.build) {
                (Some(i), _) => format!("image {i}"),
                (None, Some(b)) => format!("build {b}"),
                _ => String::new(),
            };
            let lang = c
                .language
                .as_ref()
                .map(|l| format!(", {l}"))
                .unwrap_or_default();
            if !self.yes(
                &format!(
                    "Service `{}` ({what}{lang}): include it?",
                    c.name.as_deref().unwrap_or("?")
                ),
                true,
            )? {
                continue;
            }
            let skip = if chosen.is_empty() {
                fixed.clone()
            } else {
                ServiceAnswers::default()
            };
            chosen.push(self.service_details(c, &skip, chosen.is_empty())?);
        }
        let mut prompt = if chosen.is_empty() {
            None
        } else {
            Some("Add another service?")
        };
        loop {
            if let Some(p) = prompt
                && !self.yes(p, false)?
            {
                break;
            }
            let skip = if chosen.is_empty() {
                fixed.clone()
            } else {
                ServiceAnswers::default()
            };
            let taken: Vec<String> = chosen.iter().filter_map(|s| s.name.clone()).collect();
            let name = match &skip.name {
                Some(n) => n.clone(),
                None => self.text_checked(
                    "Service name",
                    if chosen.is_empty() { "app" } else { "" },
                    move |s| {
                        if !crate::units::is_dns_label(s) {
                            Err("lowercase letters, digits and `-`".into())
                        } else if taken.iter().any(|t| t == s) {
                            Err(format!("`{s}` is already a service"))
                        } else {
                            Ok(())
                        }
                    },
                )?,
            };
            let mut c = ServiceAnswers {
                name: Some(name.clone()),
                ..Default::default()
            };
            if skip.image.is_none() && skip.build.is_none() {
                let image = self.text_checked(
                    "  image with a pinned tag (empty: build it from a folder)",
                    "",
                    |s| {
                        if s.is_empty()
                            || (s.rsplit('/').next().is_some_and(|l| l.contains(':'))
                                && !s.ends_with(":latest"))
                        {
                            Ok(())
                        } else {
                            Err("pin a tag (ghcr.io/acme/api:1.4.2), never latest".into())
                        }
                    },
                )?;
                if image.is_empty() {
                    c.build = Some(self.text("  build context", &format!("./{name}"))?);
                } else {
                    c.image = Some(image);
                }
            }
            chosen.push(self.service_details(c, &skip, chosen.is_empty())?);
            prompt = Some("Add another service?");
        }
        a.services = Some(chosen);
        // `service.*` values were applied to the first service above.
        a.service = ServiceAnswers::default();
        Ok(())
    }

    fn service_details(
        &self,
        c: ServiceAnswers,
        fixed: &ServiceAnswers,
        first: bool,
    ) -> Result<ServiceAnswers> {
        let mut s = fixed.clone().over(c);
        if fixed.port.is_none() {
            let d = s.port.unwrap_or(8080).to_string();
            let port = self.text_checked("  port", &d, |p| match p.parse::<u16>() {
                Ok(n) if n > 0 => Ok(()),
                _ => Err("a port number, 1–65535".into()),
            })?;
            s.port = port.parse().ok();
        }
        if fixed.public.is_none() {
            s.public = Some(self.yes(
                "  public (published to the outside world in production)?",
                s.public.unwrap_or(first),
            )?);
        }
        let path_check = |p: &str| {
            if p.starts_with('/') {
                Ok(())
            } else {
                Err("a path starting with /".to_string())
            }
        };
        if fixed.metrics_path.is_none() {
            let d = s.metrics_path.clone().unwrap_or_else(|| "/metrics".into());
            s.metrics_path = Some(self.text_checked("  metrics path", &d, path_check)?);
        }
        if fixed.health.is_none() {
            let d = s.health.clone().unwrap_or_else(|| "/health".into());
            s.health = Some(self.text_checked("  health path", &d, path_check)?);
        }
        Ok(s)
    }

    fn receiver(&self, before: &[ReceiverAnswers]) -> Result<ReceiverAnswers> {
        let kinds: Vec<&str> = RECEIVER_KINDS.iter().map(|(k, _, _)| *k).collect();
        let kind = self.pick("  kind", &kinds, "slack")?;
        let (_, _, var) = RECEIVER_KINDS
            .iter()
            .find(|(k, _, _)| *k == kind)
            .expect("kind from the list");
        let default_name = receiver_name(
            &ReceiverAnswers {
                kind: kind.clone(),
                ..Default::default()
            },
            before,
        );
        let taken: Vec<String> = before
            .iter()
            .enumerate()
            .map(|(i, r)| receiver_name(r, &before[..i]))
            .collect();
        let name = self.text_checked("  name", &default_name, move |s| {
            if !crate::units::is_dns_label(s) {
                Err("lowercase letters, digits and `-`".into())
            } else if taken.iter().any(|t| t == s) {
                Err(format!("`{s}` is already a receiver"))
            } else {
                Ok(())
            }
        })?;
        let env_check = |s: &str| {
            if s.is_empty()
                || (s
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                    && !s.starts_with(|c: char| c.is_ascii_digit()))
            {
                Ok(())
            } else {
                Err("an environment variable name (UPPER_CASE)".to_string())
            }
        };
        let mut r = ReceiverAnswers {
            name: Some(name),
            kind: kind.clone(),
            ..Default::default()
        };
        match kind.as_str() {
            "slack" => {
                r.channel = Some(self.text("  channel", "#alerts")?);
                r.secret_env = Some(self.text_checked(
                    "  variable holding the webhook URL",
                    var,
                    env_check,
                )?);
            }
            "pagerduty" => {
                r.secret_env =
                    Some(self.text_checked("  variable holding the routing key", var, env_check)?)
            }
            "opsgenie" => {
                r.secret_env =
                    Some(self.text_checked("  variable holding the API key", var, env_check)?)
            }
            "webhook" => {
                r.url =
                    Some(
                        self.text_checked("  URL", "https://hooks.example.com/alerts", |s| {
                            if s.starts_with("https://") || s.starts_with("http://") {
                                Ok(())
                            } else {
                                Err("an http(s):// URL".into())
                            }
                        })?,
                    );
                r.secret_env = Some(self.text_checked(
                    "  variable holding a bearer token (empty for none)",
                    "",
                    env_check,
                )?);
            }
            _ => {
                r.to = Some(StringOrList::Text(
                    self.text("  recipients (comma-separated)", "oncall@example.com")?,
                ));
                r.from = Some(self.text("  sender", "alertmanager@example.com")?);
                r.smarthost = Some(self.text("  SMTP server host:port", "smtp.example.com:587")?);
                let user = self.text("  SMTP login (empty for none)", "")?;
                if !user.is_empty() {
                    r.username = Some(user);
                    r.secret_env = Some(self.text_checked(
                        "  variable holding the SMTP password",
                        var,
                        env_check,
                    )?);
                }
            }
        }
        Ok(r)
    }

    /// Shows the summary and the files; true when the user wants the manifest written.
    pub fn confirm(&self, summary: &[String], files: &[String], target: &str) -> Result<bool> {
        self.say("")?;
        self.say("Summary")?;
        for line in summary {
            self.say(&format!("  {line}"))?;
        }
        self.say(&format!(
            "`obsgen generate` will write {} files and obsgen.lock:",
            files.len()
        ))?;
        for line in file_lines(files) {
            self.say(&format!("  {line}"))?;
        }
        self.yes(&format!("Write {target}?"), true)
    }

    pub fn offer_generate(&self) -> Result<bool> {
        self.yes("Run `obsgen generate` now?", true)
    }
}

/// Files grouped by folder, one line per folder (`monitoring/prometheus/rules/: a.yml b.yml`).
pub fn file_lines(files: &[String]) -> Vec<String> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for f in files {
        let (dir, name) = match f.rsplit_once('/') {
            Some((d, n)) => (format!("{d}/"), n.to_string()),
            None => (String::new(), f.clone()),
        };
        match groups.iter_mut().find(|(d, _)| *d == dir) {
            Some((_, names)) => names.push(name),
            None => groups.push((dir, vec![name])),
        }
    }
    groups
        .into_iter()
        .map(|(d, names)| {
            if d.is_empty() {
                names.join("  ")
            } else {
                format!("{d}  {}", names.join("  "))
            }
        })
        .collect()
}

/// The name a receiver gets (its own, or its kind, numbered when taken).
fn receiver_name(r: &ReceiverAnswers, before: &[ReceiverAnswers]) -> String {
    if let Some(n) = &r.name {
        return n.clone();
    }
    let taken: Vec<String> = before
        .iter()
        .enumerate()
        .map(|(i, b)| receiver_name(b, &before[..i]))
        .collect();
    let mut name = r.kind.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{}-{n}", r.kind);
        n += 1;
    }
    name
}

/// One line per decision, for the summary before writing.
pub fn summary(f: &crate::init::Filled) -> Vec<String> {
    let mut out = vec![format!(
        "project {} (profile {}, templates v{}), environments {}",
        f.project.name,
        f.project.profile,
        f.project.templates,
        f.project.environments.join(", ")
    )];
    for s in &f.services {
        out.push(format!(
            "service {}: {}, port {}{}{}, metrics {}, health {}",
            s.name,
            s.image
                .as_ref()
                .map(|i| format!("image {i}"))
                .or(s.build.as_ref().map(|b| format!("build {b}")))
                .unwrap_or_default(),
            s.port,
            s.host_port
                .map(|h| format!(" (host port {h})"))
                .unwrap_or_default(),
            if s.public { ", public" } else { "" },
            s.metrics_path,
            s.health
        ));
    }
    if f.databases.is_empty() {
        out.push("databases: none".into());
    } else {
        out.push(format!(
            "databases: {}",
            f.databases
                .iter()
                .map(|d| format!("{} ({})", d.name, d.kind))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    out.push(format!(
        "logging {}, tracing {}, error tracking {}, object storage {}",
        f.logging,
        f.tracing,
        f.errors,
        f.buckets
            .as_ref()
            .map(|b| format!("minio ({})", b.join(", ")))
            .unwrap_or_else(|| "none".into())
    ));
    for r in &f.receivers {
        let secret = r
            .fields
            .iter()
            .find(|(k, _)| k.ends_with("_env"))
            .map(|(_, v)| format!(", secret in {}", v.trim_matches('"')))
            .unwrap_or_default();
        out.push(format!("receiver {} ({}{secret})", r.name, r.kind));
    }
    for (sev, names) in &f.routes {
        out.push(format!("{sev} alerts -> {}", names.join(", ")));
    }
    if f.receivers.is_empty() {
        out.push("no alert receivers (alerts show in Alertmanager only)".into());
    }
    match &f.ci {
        Some(ci) if ci.provider != "none" => out.push(format!(
            "CI: {} (registry {})",
            ci.provider,
            ci.registry.as_deref().unwrap_or("-")
        )),
        _ => out.push("CI: none".into()),
    }
    match &f.aws {
        Some(aws) => out.push(format!(
            "deploy: AWS {}{}",
            aws.region.as_deref().unwrap_or_default(),
            aws.domain
                .as_ref()
                .map(|d| format!(", domain {d}"))
                .unwrap_or_default()
        )),
        None => out.push("deploy: none".into()),
    }
    out
}

/// The services the answers hold, for messages.
pub fn service_names(a: &Answers) -> Vec<String> {
    service_list(a).into_iter().filter_map(|s| s.name).collect()
}
