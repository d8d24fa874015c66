//! The manifest's services (`[[service]]`): one container per replica on the `app`
//! network (and `edge` when public or with `egress`), a scrape job when they expose
//! metrics, and the `.env` variables their `env` references.
//!
//! Manifest text enters a Compose service here, through [`crate::quote::compose`] (every
//! `$` literal) or, for `env` values, [`crate::quote::compose_env`] (`${NAME}` references
//! to `.env` kept).

pub mod dashboards;

use crate::model::*;

use super::Component;

mod absent;
mod rules;

/// The app services.
pub struct Apps;

impl Component for Apps {
    fn name(&self) -> &'static str {
        "apps"
    }

    fn enabled(&self, _: &Settled) -> bool {
        true
    }

    fn contribute(&self, s: &Settled) -> Contribution {
        let mut out = Contribution::default();
        app_services(s, &mut out);
        referenced_vars(s, &mut out);
        rules::contribute(s, &mut out);
        dashboards::contribute(s, &mut out);
        out
    }
}

fn app_services(settled: &Settled, out: &mut Contribution) {
    use crate::quote::{compose, compose_env};
    let text = |v: &String| compose(v).into_string();
    let list = |v: &Vec<String>| v.iter().map(text).collect::<Vec<_>>();
    for s in settled.services.clone() {
        for r in &s.replicas {
            let mut c = ComposeService::new(r.clone(), Role::App);
            c.image = s.image.as_ref().map(text);
            c.build = s.build.as_ref().map(text);
            c.command = s.command.as_ref().map(list);
            c.expose = s.expose.clone();
            c.environment = crate::components::app_environment(settled, &s.name);
            c.environment.extend(
                s.env
                    .iter()
                    .map(|(k, v)| (k.clone(), compose_env(v).0.into_string())),
            );
            c.depends_on = s.depends_on.clone();
            c.env_file = list(&s.env_file);
            c.healthcheck = s.healthcheck.clone();
            c.user = s.user.as_ref().map(text);
            // Apps: all capabilities dropped, no-new-privileges; read-only, tmpfs and
            // added capabilities only when the manifest asks (obsgen does not know the image).
            c.hardening = s.hardening.clone();
            c.hardening.tmpfs = list(&s.hardening.tmpfs);
            c.hardening.cap_add = list(&s.hardening.cap_add);
            if let (Some(ctx), Some(mount)) = (&s.build, &s.dev_mount) {
                c.dev_volume = Some(text(&format!("{ctx}:{mount}")));
            }
            c.dev_command = s.dev_command.as_ref().map(list);
            c.networks = vec![NetworkAttachment {
                name: "app".into(),
                aliases: if s.aliased {
                    vec![s.name.clone()]
                } else {
                    Vec::new()
                },
            }];
            if s.public || s.egress {
                // Published ports and outbound internet need a network that is not internal.
                c.networks.push(attach("edge"));
            }
            out.compose.push(c);
        }
        if let Some(mm) = &s.metrics {
            let about = format!("service \"{}\", one target per replica", s.name);
            out.add_job(
                &s.name,
                &mm.path,
                &about,
                vec![group(&s.name, mm.targets.clone())],
            );
        }
    }
}

/// Lists every `.env` variable a service's `env` references (`${NAME}`,
/// `${NAME:-default}`, `${NAME-default}`) that the stack does not define itself: in
/// `.env.example`, for `obsgen secrets` and the AWS parameter script. With a default it is
/// a setting proposing that default; without one, a value only the user can provide.
pub(crate) fn referenced_vars(settled: &Settled, out: &mut Contribution) {
    let refs: Vec<(String, EnvRef)> = settled
        .services
        .iter()
        .flat_map(|s| s.env_refs.iter().map(|r| (s.name.clone(), r.clone())))
        .collect();
    for (service, r) in refs {
        let description = format!("referenced in the `env` of service `{service}`");
        match &r.default {
            Some(default) => out.setting_var(
                Section::Reference,
                &r.name,
                &description,
                "your setting; the reference's default is proposed",
                default,
            ),
            None => out.add_var(EnvVar {
                name: r.name.clone(),
                description,
                how: "yours to provide (obsgen makes no value for it)".into(),
                secret: true,
                value: String::new(),
                random: false,
                section: Section::Reference,
            }),
        }
    }
}
