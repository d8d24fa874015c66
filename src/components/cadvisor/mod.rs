//! cAdvisor: per-container CPU, memory, network and restarts, read from the Docker
//! engine's cgroups (privileged).

pub mod dashboards;

use crate::model::*;

use super::Component;

pub mod rules;

/// cAdvisor (`[components] cadvisor`).
pub struct Cadvisor;

impl Component for Cadvisor {
    fn name(&self) -> &'static str {
        "cadvisor"
    }

    fn enabled(&self, s: &Settled) -> bool {
        s.components.cadvisor
    }

    fn catalogues(&self) -> &'static [&'static str] {
        &["cadvisor"]
    }

    fn contribute(&self, s: &Settled) -> Contribution {
        let mut out = Contribution::default();
        cadvisor(&mut out, super::image(s, "cadvisor"));
        rules::contribute(s, &mut out);
        dashboards::contribute(s, &mut out);
        out
    }
}

/// cAdvisor with the mounts its documentation lists for current (cgroup v2) hosts.
fn cadvisor(out: &mut Contribution, image: String) {
    let name = "cadvisor";
    let mut c = ComposeService::new(name, Role::Exporter);
    c.image = Some(image);
    c.command = Some(vec![
        "--docker_only=true".into(),
        "--housekeeping_interval=15s".into(),
    ]);
    c.expose = vec![8080];
    c.volumes = vec![
        "/:/rootfs:ro".into(),
        "/var/run:/var/run:ro".into(),
        "/sys:/sys:ro".into(),
        "/var/lib/docker/:/var/lib/docker:ro".into(),
        "/dev/disk/:/dev/disk:ro".into(),
    ];
    c.devices = vec!["/dev/kmsg".into()];
    c.privileged = true;
    // Its in-memory stats of every container grow with their number.
    c.min_memory_mib = Some(256);
    // Privileged (it reads every container's cgroups and /dev/kmsg): dropping
    // capabilities means nothing there, and it writes nothing to its root.
    c.hardening = Hardening {
        drop_caps: false,
        ..read_only_hardening()
    };
    super::push_scraped(out, c, 8080, "cAdvisor (container metrics)");
}
