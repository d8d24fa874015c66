//! The blackbox exporter: HTTP probes of every health URL. Its own metrics job, and the
//! `probe` job, whose targets are the probes every component contributes (apps' health
//! URLs here, UIs of the optional components); the exporter's address rides in the
//! probe target file as the label `__tmp_blackbox_exporter`.

use std::collections::BTreeMap;

use crate::model::*;

use super::Component;

mod rules;

const BLACKBOX_PORT: u16 = 9115;
const BLACKBOX_LABEL: &str = "__tmp_blackbox_exporter";
/// The `probe` job's target file.
pub const PROBE_TARGETS: &str = "targets/probe.yml";

/// The blackbox exporter (`[components] blackbox`).
pub struct Blackbox;

impl Component for Blackbox {
    fn name(&self) -> &'static str {
        "blackbox-exporter"
    }

    fn enabled(&self, s: &Settled) -> bool {
        s.components.blackbox
    }

    fn catalogues(&self) -> &'static [&'static str] {
        &["blackbox-exporter"]
    }

    fn contribute(&self, s: &Settled) -> Contribution {
        let mut out = Contribution::default();
        blackbox(s, &mut out, super::image(s, "blackbox-exporter"));
        out
    }

    fn check(
        &self,
        m: &crate::manifest::Manifest,
        spans: &crate::load::SpanMap,
    ) -> Vec<crate::diag::Diagnostic> {
        let mut out = Vec::new();
        for (key, what, name) in super::manifest_names(m) {
            if name == "probe" {
                out.push(
                    crate::diag::Diagnostic::new(format!(
                        "{what} name `probe` is taken by the scrape job of the blackbox probes"
                    ))
                    .key(&key)
                    .span(spans.value(&key))
                    .help("rename it (for example `probe-api`)"),
                );
            }
        }
        out
    }
}

/// The blackbox exporter, its own metrics job, and the `probe` job: one target per
/// replica's health URL; the exporter's address comes from the same target file.
fn blackbox(settled: &Settled, out: &mut Contribution, image: String) {
    let name = "blackbox-exporter";
    let address = format!("{name}:{BLACKBOX_PORT}");
    let mut c = ComposeService::new(name, Role::Exporter);
    c.image = Some(image);
    c.command = Some(vec![
        "--config.file=/etc/blackbox_exporter/blackbox.yml".into(),
    ]);
    c.expose = vec![BLACKBOX_PORT];
    c.volumes =
        vec!["./monitoring/blackbox/blackbox.yml:/etc/blackbox_exporter/blackbox.yml:ro".into()];
    // Only the `http_2xx` module: no ICMP, so no NET_RAW; an HTTP probe needs no
    // privilege, so it runs as nobody with every capability dropped.
    c.user = Some(NOBODY.into());
    c.hardening = read_only_hardening();
    c.networks = vec![attach("app"), attach("monitoring")];
    out.compose.push(c);
    out.blackbox_modules = vec!["http_2xx".into()];
    out.add_file(
        "monitoring/blackbox/blackbox.yml",
        "blackbox/blackbox.yml.j2",
        &(),
    );
    out.add_job(
        name,
        "/metrics",
        "the blackbox exporter itself",
        vec![group(name, vec![address])],
    );
    for s in &settled.services {
        if let Some(health) = &s.health {
            let urls = s
                .replicas
                .iter()
                .map(|r| format!("http://{r}:{}{health}", s.port))
                .collect();
            out.probes.push(probe(&s.name, urls));
        }
    }
    // The public domain (`[deploy.aws] domain`), over HTTPS: its certificate's expiry.
    if let Some(domain) = &settled.domain {
        out.probes
            .push(probe(domain, vec![format!("https://{domain}/")]));
        rules::contribute(out, domain);
    }
}

/// Probe targets of one service (label `service`), for the `probe` job. Contributed by
/// any component whose service has a health URL; only the blackbox exporter probes
/// them, so a component adds them only when it runs.
pub fn probe(service: &str, urls: Vec<String>) -> TargetGroup {
    let address = format!("blackbox-exporter:{BLACKBOX_PORT}");
    let mut g = group(service, urls);
    g.labels.insert(BLACKBOX_LABEL.into(), address);
    g
}

/// The `probe` job and its target file, over probe groups: the address of each target
/// is the URL to probe, sent as the `target` parameter to the exporter named by the
/// group's `__tmp_blackbox_exporter` label. The assembler calls it with the probes of
/// every component.
pub fn probe_job(groups: Vec<TargetGroup>) -> (ScrapeJob, TargetFile) {
    let mut out = Contribution::default();
    let job = out.add_job(
        "probe",
        "/probe",
        "blackbox probes of every health endpoint (the label __tmp_blackbox_exporter is the exporter that probes)",
        groups,
    );
    job.params = BTreeMap::from([("module".to_string(), vec!["http_2xx".to_string()])]);
    job.relabel = vec![
        Relabel {
            source_labels: vec!["__address__".into()],
            target_label: "__param_target".into(),
            replacement: None,
        },
        Relabel {
            source_labels: vec!["__param_target".into()],
            target_label: "instance".into(),
            replacement: None,
        },
        Relabel {
            source_labels: vec![BLACKBOX_LABEL.into()],
            target_label: "__address__".into(),
            replacement: None,
        },
    ];
    (out.scrape_jobs.remove(0), out.target_files.remove(0))
}
