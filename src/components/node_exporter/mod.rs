//! node-exporter: the host's CPU, memory, disks and network, read through read-only
//! mounts of `/proc`, `/sys` and `/`.

pub mod dashboards;

use crate::model::*;

use super::Component;

mod mixin;
pub mod rules;

/// node-exporter (`[components] node_exporter`).
pub struct NodeExporter;

impl Component for NodeExporter {
    fn name(&self) -> &'static str {
        "node-exporter"
    }

    fn enabled(&self, s: &Settled) -> bool {
        s.components.node_exporter
    }

    fn catalogues(&self) -> &'static [&'static str] {
        &["node-exporter"]
    }

    fn contribute(&self, s: &Settled) -> Contribution {
        let mut out = Contribution::default();
        node_exporter(&mut out, super::image(s, "node-exporter"));
        rules::contribute(&mut out, &s.alerts.levels);
        dashboards::contribute(s, &mut out);
        out
    }
}

fn node_exporter(out: &mut Contribution, image: String) {
    let name = "node-exporter";
    let mut c = ComposeService::new(name, Role::Exporter);
    c.image = Some(image);
    c.command = Some(vec![
        "--path.procfs=/host/proc".into(),
        "--path.sysfs=/host/sys".into(),
        "--path.rootfs=/rootfs".into(),
        // `$$` is Compose's escape for a literal `$`.
        "--collector.filesystem.mount-points-exclude=^/(sys|proc|dev|host|etc|rootfs/var/lib/docker)($$|/)"
            .into(),
    ]);
    c.expose = vec![9100];
    c.volumes = vec![
        "/proc:/host/proc:ro".into(),
        "/sys:/host/sys:ro".into(),
        "/:/rootfs:ro,rslave".into(),
    ];
    c.pid = Some("host".into());
    // Reads the host's /proc, /sys and / through read-only mounts: nobody suffices.
    c.user = Some(NOBODY.into());
    c.hardening = read_only_hardening();
    super::push_scraped(out, c, 9100, "node-exporter (host metrics)");
}
