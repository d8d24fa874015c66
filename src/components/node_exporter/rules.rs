//! The host's alerts (`rules/host.yml`): CPU, memory, disks filling up or full, the OOM
//! killer, with their tests.

use crate::model::Contribution;
use crate::model::settled::Levels;
use crate::rules::*;

pub(super) fn contribute(out: &mut Contribution, levels: &Levels) {
    out.rules.push(host_rules(levels));
}

/// A value beyond both levels (rising): 60 % of the way from critical to 100.
pub(crate) fn beyond(critical: f64) -> f64 {
    ((critical + (100.0 - critical) * 0.6) * 1000.0).round() / 1000.0
}

/// The levels of one alert, for [`Builder::levels`]: warning first, then critical.
pub(crate) fn two(warning: f64, critical: f64) -> [(&'static str, f64); 2] {
    [("warning", warning), ("critical", critical)]
}

fn host_rules(lv: &Levels) -> RuleFile {
    let mut b = Builder::new("host", "the host (node-exporter)");
    let base = labels(&[
        ("environment", ENV),
        ("instance", "node-exporter:9100"),
        ("job", "node-exporter"),
        ("service", "node-exporter"),
    ]);
    let with = |extra: &[(&str, &str)]| {
        let mut l = base.clone();
        for (k, v) in extra {
            l.insert(k.to_string(), v.to_string());
        }
        l
    };
    let idle = selector(
        "node_cpu_seconds_total",
        &with(&[("cpu", "0"), ("mode", "idle")]),
    );
    let env_inst = labels(&[("environment", ENV), ("instance", "node-exporter:9100")]);
    let cpu = lv.host_cpu;
    let specs = two(cpu.warning, cpu.critical)
        .into_iter()
        .map(|(sev, t)| {
            spec(
                "HostHighCpuUsage",
                format!("100 * (1 - avg by (instance, environment) (rate(node_cpu_seconds_total{{job=\"node-exporter\",mode=\"idle\"}}[5m]))) > {}", num(t)),
                "10m",
                sev,
                Text::new().t("Host CPU is busy"),
                Text::new().t("CPU of ").l("instance").t(" has been ").v(Fmt::Fixed(0)).t(format!("% busy for 10 minutes (threshold {}%).", num(t))),
            )
        })
        .collect();
    let busy = beyond(cpu.critical);
    let quiet = cpu.warning / 2.0;
    b.levels(
        specs,
        case(
            &format!("{}% busy", num(busy)),
            vec![(idle.clone(), format!("0+{}x30", num((100.0 - busy) * 0.6)))],
            "20m",
            vec![(env_inst.clone(), busy)],
        ),
        case(
            &format!("{}% busy", num(quiet)),
            vec![(idle.clone(), format!("0+{}x30", num((100.0 - quiet) * 0.6)))],
            "20m",
            vec![],
        ),
    );

    let avail = selector("node_memory_MemAvailable_bytes", &base);
    let total = selector("node_memory_MemTotal_bytes", &base);
    let mem = lv.host_memory;
    let specs = two(mem.warning, mem.critical)
        .into_iter()
        .map(|(sev, t)| {
            spec(
                "HostHighMemoryUsage",
                format!("100 * (1 - node_memory_MemAvailable_bytes{{job=\"node-exporter\"}} / node_memory_MemTotal_bytes{{job=\"node-exporter\"}}) > {}", num(t)),
                "5m",
                sev,
                Text::new().t("Host memory is nearly full"),
                Text::new().t("Memory of ").l("instance").t(" is ").v(Fmt::Fixed(0)).t(format!("% used (threshold {}%).", num(t))),
            )
        })
        .collect();
    let used = beyond(mem.critical);
    let quiet = mem.warning / 2.0;
    b.levels(
        specs,
        case(
            &format!("{}% used", num(used)),
            vec![
                (avail.clone(), format!("{}x20", num(1000.0 - used * 10.0))),
                (total.clone(), "1000x20".into()),
            ],
            "10m",
            vec![(base.clone(), used)],
        ),
        case(
            &format!("{}% used", num(quiet)),
            vec![
                (avail.clone(), format!("{}x20", num(1000.0 - quiet * 10.0))),
                (total.clone(), "1000x20".into()),
            ],
            "10m",
            vec![],
        ),
    );

    let fs = with(&[
        ("device", "/dev/sda1"),
        ("fstype", "ext4"),
        ("mountpoint", "/"),
    ]);
    let fs_sel =
        "job=\"node-exporter\",fstype!~\"tmpfs|overlay|squashfs|ramfs\",mountpoint!~\"/boot.*\"";
    let fs_avail = selector("node_filesystem_avail_bytes", &fs);
    let fs_size = selector("node_filesystem_size_bytes", &fs);
    let fs_ro = selector("node_filesystem_readonly", &fs);
    let mut filling = case(
        "2 bytes a minute are written, 11% free",
        vec![
            (fs_avail.clone(), "1900-10x80".into()),
            (fs_size.clone(), "10000x80".into()),
            (fs_ro.clone(), "0x80".into()),
        ],
        "400m",
        vec![(fs.clone(), 11.0)],
    );
    filling.interval = "5m";
    let mut steady = case(
        "half free, steady",
        vec![
            (fs_avail.clone(), "5000x80".into()),
            (fs_size.clone(), "10000x80".into()),
            (fs_ro.clone(), "0x80".into()),
        ],
        "400m",
        vec![],
    );
    steady.interval = "5m";
    b.alerts(
        vec![spec(
            "HostDiskWillFillIn24Hours",
            format!(
                "(100 * node_filesystem_avail_bytes{{{fs_sel}}} / node_filesystem_size_bytes{{{fs_sel}}} < 20) and predict_linear(node_filesystem_avail_bytes{{{fs_sel}}}[6h], 86400) < 0 and node_filesystem_readonly{{{fs_sel}}} == 0"
            ),
            "30m",
            "warning",
            Text::new().t("Disk of the host fills up within 24 hours"),
            Text::new()
                .t("Filesystem ")
                .l("mountpoint")
                .t(" of ")
                .l("instance")
                .t(" has ")
                .v(Fmt::Fixed(1))
                .t("% free and, at the rate of the last 6 hours, is full within 24 hours."),
        )],
        vec![vec![filling]],
        vec![steady],
    );
    let disk = lv.host_disk_free;
    let specs = two(disk.warning, disk.critical)
        .into_iter()
        .map(|(sev, t)| {
            spec(
                "HostDiskAlmostFull",
                format!(
                    "(100 * node_filesystem_avail_bytes{{{fs_sel}}} / node_filesystem_size_bytes{{{fs_sel}}} < {}) and node_filesystem_readonly{{{fs_sel}}} == 0",
                    num(t)
                ),
                "5m",
                sev,
                Text::new().t("Disk of the host is almost full"),
                Text::new().t("Filesystem ").l("mountpoint").t(" of ").l("instance").t(" has only ").v(Fmt::Fixed(1)).t(format!("% free (threshold {}%).", num(t))),
            )
        })
        .collect();
    // Free space below both levels, and well above the warning.
    let free = (disk.critical * 0.6 * 100.0).round() / 100.0;
    let roomy = if disk.warning < 50.0 {
        50.0
    } else {
        (100.0 + disk.warning) / 2.0
    };
    b.levels(
        specs,
        case(
            &format!("{}% free", num(free)),
            vec![
                (fs_avail.clone(), format!("{}x20", num(free * 100.0))),
                (fs_size.clone(), "10000x20".into()),
                (fs_ro.clone(), "0x20".into()),
            ],
            "10m",
            vec![(fs.clone(), free)],
        ),
        case(
            &format!("{}% free", num(roomy)),
            vec![
                (fs_avail.clone(), format!("{}x20", num(roomy * 100.0))),
                (fs_size.clone(), "10000x20".into()),
                (fs_ro.clone(), "0x20".into()),
            ],
            "10m",
            vec![],
        ),
    );

    let oom = selector("node_vmstat_oom_kill", &base);
    b.alerts(
        vec![spec(
            "HostOomKillDetected",
            "increase(node_vmstat_oom_kill{job=\"node-exporter\"}[5m]) > 0".into(),
            "0m",
            "warning",
            Text::new().t("The kernel killed a process for lack of memory"),
            Text::new()
                .t("The OOM killer ran on ")
                .l("instance")
                .t(" (")
                .v(Fmt::Fixed(0))
                .t(" kills in 5 minutes)."),
        )],
        vec![vec![case(
            "one process killed",
            vec![(oom.clone(), "0x5 1x10".into())],
            "8m",
            vec![(base.clone(), 1.0)],
        )]],
        vec![case(
            "no kill",
            vec![(oom.clone(), "0x15".into())],
            "8m",
            vec![],
        )],
    );
    super::mixin::add(&mut b, &base);
    b.finish()
}
