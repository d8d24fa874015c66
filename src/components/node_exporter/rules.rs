//! The host's alerts (`rules/host.yml`): CPU, memory, disks filling up or full, the OOM
//! killer, with their tests.

use crate::model::Contribution;
use crate::rules::*;

pub(super) fn contribute(out: &mut Contribution) {
    out.rules.push(host_rules());
}

fn host_rules() -> RuleFile {
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
    b.alerts(
        vec![spec(
            "HostHighCpuUsage",
            "100 * (1 - avg by (instance, environment) (rate(node_cpu_seconds_total{job=\"node-exporter\",mode=\"idle\"}[5m]))) > 90".into(),
            "10m",
            "warning",
            Text::new().t("Host CPU is busy"),
            Text::new().t("CPU of ").l("instance").t(" has been ").v(Fmt::Fixed(0)).t("% busy for 10 minutes (threshold 90%)."),
        )],
        vec![vec![case("idle 5% of the time", vec![(idle.clone(), "0+3x30".into())], "20m", vec![(env_inst.clone(), 95.0)])]],
        vec![case("idle 90% of the time", vec![(idle.clone(), "0+54x30".into())], "20m", vec![])],
    );

    let avail = selector("node_memory_MemAvailable_bytes", &base);
    let total = selector("node_memory_MemTotal_bytes", &base);
    b.alerts(
        vec![spec(
            "HostHighMemoryUsage",
            "100 * (1 - node_memory_MemAvailable_bytes{job=\"node-exporter\"} / node_memory_MemTotal_bytes{job=\"node-exporter\"}) > 90".into(),
            "5m",
            "warning",
            Text::new().t("Host memory is nearly full"),
            Text::new().t("Memory of ").l("instance").t(" is ").v(Fmt::Fixed(0)).t("% used (threshold 90%)."),
        )],
        vec![vec![case(
            "95% used",
            vec![(avail.clone(), "50x20".into()), (total.clone(), "1000x20".into())],
            "10m",
            vec![(base.clone(), 95.0)],
        )]],
        vec![case("50% used", vec![(avail.clone(), "500x20".into()), (total.clone(), "1000x20".into())], "10m", vec![])],
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
    b.alerts(
        vec![spec(
            "HostDiskAlmostFull",
            format!(
                "(100 * node_filesystem_avail_bytes{{{fs_sel}}} / node_filesystem_size_bytes{{{fs_sel}}} < 5) and node_filesystem_readonly{{{fs_sel}}} == 0"
            ),
            "5m",
            "critical",
            Text::new().t("Disk of the host is almost full"),
            Text::new().t("Filesystem ").l("mountpoint").t(" of ").l("instance").t(" has only ").v(Fmt::Fixed(1)).t("% free."),
        )],
        vec![vec![case(
            "3% free",
            vec![(fs_avail.clone(), "300x20".into()), (fs_size.clone(), "10000x20".into()), (fs_ro.clone(), "0x20".into())],
            "10m",
            vec![(fs.clone(), 3.0)],
        )]],
        vec![case(
            "50% free",
            vec![(fs_avail.clone(), "5000x20".into()), (fs_size.clone(), "10000x20".into()), (fs_ro.clone(), "0x20".into())],
            "10m",
            vec![],
        )],
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
