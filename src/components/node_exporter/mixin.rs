//! The host alerts taken from the node-mixin (prometheus/node_exporter@v1.9.1
//! docs/node-mixin/alerts/alerts.libsonnet, thresholds from docs/node-mixin/config.libsonnet)
//! and, where the mixin has none, from awesome-prometheus-alerts (samber/awesome-prometheus-alerts
//! dist/rules/host-and-hardware/node-exporter.yml): inodes, the critical disk-filling tier,
//! clock skew and NTP, CPU steal, load per core, swap, major page faults, file descriptors,
//! network receive errors. Each with a firing and a quiet promtool case.

use std::collections::BTreeMap;

use crate::rules::*;

/// Filesystems the disk alerts watch (no tmpfs, overlay, squashfs, ramfs; no /boot).
pub(super) const FS_SEL: &str =
    "job=\"node-exporter\",fstype!~\"tmpfs|overlay|squashfs|ramfs\",mountpoint!~\"/boot.*\"";

pub(super) fn add(b: &mut Builder, base: &BTreeMap<String, String>) {
    let with = |extra: &[(&str, &str)]| {
        let mut l = base.clone();
        for (k, v) in extra {
            l.insert(k.to_string(), v.to_string());
        }
        l
    };
    let fs = with(&[
        ("device", "/dev/sda1"),
        ("fstype", "ext4"),
        ("mountpoint", "/"),
    ]);
    let fs_sel = FS_SEL;
    let ro = selector("node_filesystem_readonly", &fs);

    // node-mixin NodeFilesystemAlmostOutOfFiles: < 5 % inodes free (warning), < 3 % (critical), for 1h.
    let free = selector("node_filesystem_files_free", &fs);
    let files = selector("node_filesystem_files", &fs);
    let inode_specs = [("warning", 5), ("critical", 3)]
        .into_iter()
        .map(|(sev, t)| {
            spec(
                "HostInodesAlmostExhausted",
                format!(
                    "node_filesystem_files_free{{{fs_sel}}} / node_filesystem_files{{{fs_sel}}} * 100 < {t} and node_filesystem_readonly{{{fs_sel}}} == 0"
                ),
                "1h",
                sev,
                Text::new().t("The host is running out of inodes"),
                Text::new()
                    .t("Filesystem ")
                    .l("mountpoint")
                    .t(" of ")
                    .l("instance")
                    .t(" has only ")
                    .v(Fmt::Fixed(1))
                    .t(format!("% of its inodes free (threshold {t}%): no new file can be created once they are gone.")),
            )
        })
        .collect();
    b.levels(
        inode_specs,
        case(
            "2% of the inodes free",
            vec![
                (free.clone(), "2x80".into()),
                (files.clone(), "100x80".into()),
                (ro.clone(), "0x80".into()),
            ],
            "70m",
            vec![(fs.clone(), 2.0)],
        ),
        case(
            "half the inodes free",
            vec![
                (free, "50x80".into()),
                (files, "100x80".into()),
                (ro.clone(), "0x80".into()),
            ],
            "70m",
            vec![],
        ),
    );

    // node-mixin NodeFilesystemFilesFillingUp (warning tier): < 40 % of the inodes free and
    // none left within 24 hours at the rate of the last 6, for 1h.
    let free = selector("node_filesystem_files_free", &fs);
    let files = selector("node_filesystem_files", &fs);
    b.levels(
        vec![spec(
            "HostInodesWillRunOutIn24Hours",
            format!(
                "node_filesystem_files_free{{{fs_sel}}} / node_filesystem_files{{{fs_sel}}} * 100 < 40 and predict_linear(node_filesystem_files_free{{{fs_sel}}}[6h], 24 * 60 * 60) < 0 and node_filesystem_readonly{{{fs_sel}}} == 0"
            ),
            "1h",
            "warning",
            Text::new().t("The host will run out of inodes within 24 hours"),
            Text::new()
                .t("Filesystem ")
                .l("mountpoint")
                .t(" of ")
                .l("instance")
                .t(" has ")
                .v(Fmt::Fixed(1))
                .t("% of its inodes free and, at the rate of the last 6 hours, none left within a day."),
        )],
        case(
            "inodes used up at 30 a minute",
            vec![
                (free.clone(), "39000-30x480".into()),
                (files.clone(), "100000x480".into()),
                (ro.clone(), "0x480".into()),
            ],
            "7h",
            vec![(fs.clone(), 26.4)],
        ),
        case(
            "39% free, steady",
            vec![
                (free, "39000x480".into()),
                (files, "100000x480".into()),
                (ro.clone(), "0x480".into()),
            ],
            "7h",
            vec![],
        ),
    );

    // node-mixin NodeFilesystemSpaceFillingUp, critical tier: < 20 % free and full within
    // 4 hours at the rate of the last 6, for 1h.
    let avail = selector("node_filesystem_avail_bytes", &fs);
    let size = selector("node_filesystem_size_bytes", &fs);
    let mut filling = case(
        "240 bytes an hour are written, 3.5% free",
        vec![
            (avail.clone(), "1950-20x80".into()),
            (size.clone(), "10000x80".into()),
            (ro.clone(), "0x80".into()),
        ],
        "400m",
        vec![(fs.clone(), 3.5)],
    );
    filling.interval = "5m";
    let mut steady = case(
        "half free, steady",
        vec![
            (avail, "5000x80".into()),
            (size, "10000x80".into()),
            (ro, "0x80".into()),
        ],
        "400m",
        vec![],
    );
    steady.interval = "5m";
    b.levels(
        vec![spec(
            "HostDiskWillFillIn4Hours",
            format!(
                "(100 * node_filesystem_avail_bytes{{{fs_sel}}} / node_filesystem_size_bytes{{{fs_sel}}} < 20) and predict_linear(node_filesystem_avail_bytes{{{fs_sel}}}[6h], 4 * 3600) < 0 and node_filesystem_readonly{{{fs_sel}}} == 0"
            ),
            "1h",
            "critical",
            Text::new().t("Disk of the host fills up within 4 hours"),
            Text::new()
                .t("Filesystem ")
                .l("mountpoint")
                .t(" of ")
                .l("instance")
                .t(" has ")
                .v(Fmt::Fixed(1))
                .t("% free and, at the rate of the last 6 hours, is full within 4 hours."),
        )],
        filling,
        steady,
    );

    // node-mixin NodeClockSkewDetected: off by more than 0.05 s and not converging, for 10m.
    let offset = selector("node_timex_offset_seconds", base);
    b.levels(
        vec![spec(
            "HostClockSkew",
            "(node_timex_offset_seconds{job=\"node-exporter\"} > 0.05 and deriv(node_timex_offset_seconds{job=\"node-exporter\"}[5m]) >= 0) or (node_timex_offset_seconds{job=\"node-exporter\"} < -0.05 and deriv(node_timex_offset_seconds{job=\"node-exporter\"}[5m]) <= 0)".into(),
            "10m",
            "warning",
            Text::new().t("The host's clock is off"),
            Text::new()
                .t("The clock of ")
                .l("instance")
                .t(" is off by ")
                .v(Fmt::Duration)
                .t(" (threshold 50ms): check NTP on the host."),
        )],
        case("off by 100ms", vec![(offset.clone(), "0.1x20".into())], "15m", vec![(base.clone(), 0.1)]),
        case("off by 1ms", vec![(offset, "0.001x20".into())], "15m", vec![]),
    );

    // node-mixin NodeClockNotSynchronising: not synchronised and maximum error ≥ 16 s, for 10m.
    let sync = selector("node_timex_sync_status", base);
    let maxerr = selector("node_timex_maxerror_seconds", base);
    b.levels(
        vec![spec(
            "HostClockNotSynchronising",
            "min_over_time(node_timex_sync_status{job=\"node-exporter\"}[5m]) == 0 and node_timex_maxerror_seconds{job=\"node-exporter\"} >= 16".into(),
            "10m",
            "warning",
            Text::new().t("The host's clock is not synchronising"),
            Text::new()
                .t("The clock of ")
                .l("instance")
                .t(" is not synchronised (sync status ")
                .v(Fmt::Fixed(0))
                .t("): check NTP on the host."),
        )],
        case(
            "not synchronised",
            vec![(sync.clone(), "0x20".into()), (maxerr.clone(), "16x20".into())],
            "15m",
            vec![(base.clone(), 0.0)],
        ),
        case(
            "synchronised",
            vec![(sync, "1x20".into()), (maxerr, "0.1x20".into())],
            "15m",
            vec![],
        ),
    );

    // awesome-prometheus-alerts HostCpuStealNoisyNeighbor: steal above 10 % (the node-mixin has none).
    let env_inst = labels(&[("environment", ENV), ("instance", "node-exporter:9100")]);
    let steal = selector(
        "node_cpu_seconds_total",
        &with(&[("cpu", "0"), ("mode", "steal")]),
    );
    b.levels(
        vec![spec(
            "HostCpuSteal",
            "avg by (instance, environment) (rate(node_cpu_seconds_total{job=\"node-exporter\",mode=\"steal\"}[5m])) * 100 > 10".into(),
            "5m",
            "warning",
            Text::new().t("The host's CPU is stolen by its neighbours"),
            Text::new()
                .t("The hypervisor withholds ")
                .v(Fmt::Fixed(0))
                .t("% of the CPU of ")
                .l("instance")
                .t(" (threshold 10%): a noisy neighbour or an exhausted burst budget."),
        )],
        case("20% stolen", vec![(steal.clone(), "0+12x20".into())], "15m", vec![(env_inst, 20.0)]),
        case("1% stolen", vec![(steal, "0+0.6x20".into())], "15m", vec![]),
    );

    // node-mixin NodeSystemSaturation: load1 per core above 2, for 15m.
    let load = selector("node_load1", base);
    let idle = |cpu: &str| {
        selector(
            "node_cpu_seconds_total",
            &with(&[("cpu", cpu), ("mode", "idle")]),
        )
    };
    b.levels(
        vec![spec(
            "HostHighLoad",
            "node_load1{job=\"node-exporter\"} / count without (cpu, mode) (node_cpu_seconds_total{job=\"node-exporter\",mode=\"idle\"}) > 2".into(),
            "15m",
            "warning",
            Text::new().t("The host is saturated"),
            Text::new()
                .t("The load of ")
                .l("instance")
                .t(" is ")
                .v(Fmt::Fixed(1))
                .t(" per core (threshold 2): processes wait for the CPU."),
        )],
        case(
            "load 5 on 2 cores",
            vec![(load.clone(), "5x30".into()), (idle("0"), "0+30x30".into()), (idle("1"), "0+30x30".into())],
            "20m",
            vec![(base.clone(), 2.5)],
        ),
        case(
            "load 1 on 2 cores",
            vec![(load, "1x30".into()), (idle("0"), "0+30x30".into()), (idle("1"), "0+30x30".into())],
            "20m",
            vec![],
        ),
    );

    // awesome-prometheus-alerts HostSwapIsFillingUp: swap above 80 % used (hosts with swap).
    let swap_free = selector("node_memory_SwapFree_bytes", base);
    let swap_total = selector("node_memory_SwapTotal_bytes", base);
    b.levels(
        vec![spec(
            "HostSwapFillingUp",
            "(1 - node_memory_SwapFree_bytes{job=\"node-exporter\"} / node_memory_SwapTotal_bytes{job=\"node-exporter\"}) * 100 > 80 and node_memory_SwapTotal_bytes{job=\"node-exporter\"} > 0".into(),
            "2m",
            "warning",
            Text::new().t("The host's swap is filling up"),
            Text::new()
                .t("Swap of ")
                .l("instance")
                .t(" is ")
                .v(Fmt::Fixed(0))
                .t("% used (threshold 80%)."),
        )],
        case(
            "90% used",
            vec![(swap_free.clone(), "100x10".into()), (swap_total.clone(), "1000x10".into())],
            "5m",
            vec![(base.clone(), 90.0)],
        ),
        case(
            "no swap",
            vec![(swap_free, "0x10".into()), (swap_total, "0x10".into())],
            "5m",
            vec![],
        ),
    );

    // node-mixin NodeMemoryMajorPagesFaults: more than 500 major page faults a second, for 15m.
    let faults = selector("node_vmstat_pgmajfault", base);
    b.levels(
        vec![spec(
            "HostMemoryMajorPageFaults",
            "rate(node_vmstat_pgmajfault{job=\"node-exporter\"}[5m]) > 500".into(),
            "15m",
            "warning",
            Text::new().t("The host reads memory pages back from disk"),
            Text::new()
                .l("instance")
                .t(" has ")
                .v(Fmt::Fixed(0))
                .t(" major page faults a second (threshold 500): memory is short."),
        )],
        case(
            "600 a second",
            vec![(faults.clone(), "0+36000x30".into())],
            "25m",
            vec![(base.clone(), 600.0)],
        ),
        case(
            "1 a second",
            vec![(faults, "0+60x30".into())],
            "25m",
            vec![],
        ),
    );

    // node-mixin NodeFileDescriptorLimit: above 70 % (warning) and 90 % (critical) of the kernel's limit, for 15m.
    let alloc = selector("node_filefd_allocated", base);
    let max = selector("node_filefd_maximum", base);
    let fd_specs = [("warning", 70), ("critical", 90)]
        .into_iter()
        .map(|(sev, t)| {
            spec(
                "HostFileDescriptorsNearLimit",
                format!("node_filefd_allocated{{job=\"node-exporter\"}} * 100 / node_filefd_maximum{{job=\"node-exporter\"}} > {t}"),
                "15m",
                sev,
                Text::new().t("The host is running out of file descriptors"),
                Text::new()
                    .l("instance")
                    .t(" uses ")
                    .v(Fmt::Fixed(0))
                    .t(format!("% of the kernel's file descriptors (threshold {t}%).")),
            )
        })
        .collect();
    b.levels(
        fd_specs,
        case(
            "95% used",
            vec![
                (alloc.clone(), "95x30".into()),
                (max.clone(), "100x30".into()),
            ],
            "20m",
            vec![(base.clone(), 95.0)],
        ),
        case(
            "10% used",
            vec![(alloc, "10x30".into()), (max, "100x30".into())],
            "20m",
            vec![],
        ),
    );

    // node-mixin NodeNetworkReceiveErrs / NodeNetworkTransmitErrs: more than 1 % of the
    // packets in error, for 1h.
    let dev = with(&[("device", "eth0")]);
    for (alert, dir, verb) in [
        ("HostNetworkReceiveErrors", "receive", "receives"),
        ("HostNetworkTransmitErrors", "transmit", "transmits"),
    ] {
        let errs = selector(&format!("node_network_{dir}_errs_total"), &dev);
        let packets = selector(&format!("node_network_{dir}_packets_total"), &dev);
        b.levels(
            vec![spec(
                alert,
                format!("rate(node_network_{dir}_errs_total{{job=\"node-exporter\"}}[2m]) / rate(node_network_{dir}_packets_total{{job=\"node-exporter\"}}[2m]) > 0.01"),
                "1h",
                "warning",
                Text::new().t(format!("The host's network interface {verb} errors")),
                Text::new()
                    .t("Interface ")
                    .l("device")
                    .t(" of ")
                    .l("instance")
                    .t(format!(" {verb} "))
                    .v(Fmt::Percent)
                    .t(" of its packets in error (threshold 1%)."),
            )],
            case(
                "2% errors",
                vec![(errs.clone(), "0+20x80".into()), (packets.clone(), "0+1000x80".into())],
                "70m",
                vec![(dev.clone(), 0.02)],
            ),
            case(
                "no errors",
                vec![(errs, "0x80".into()), (packets, "0+1000x80".into())],
                "70m",
                vec![],
            ),
        );
    }

    // node-mixin NodeDiskIOSaturation: weighted I/O time above 10 s a second, for 30m.
    let disk = with(&[("device", "sda")]);
    let io = selector("node_disk_io_time_weighted_seconds_total", &disk);
    b.levels(
        vec![spec(
            "HostDiskIoSaturated",
            "rate(node_disk_io_time_weighted_seconds_total{job=\"node-exporter\",device!=\"\"}[5m]) > 10".into(),
            "30m",
            "warning",
            Text::new().t("The host's disk is saturated"),
            Text::new()
                .t("Disk ")
                .l("device")
                .t(" of ")
                .l("instance")
                .t(" has an average queue of ")
                .v(Fmt::Fixed(1))
                .t(" requests (threshold 10): I/O waits."),
        )],
        case("a queue of 20", vec![(io.clone(), "0+1200x50".into())], "40m", vec![(disk.clone(), 20.0)]),
        case("a queue of 1", vec![(io, "0+60x50".into())], "40m", vec![]),
    );

    // node-mixin NodeHighNumberConntrackEntriesUsed: above 75 % of the conntrack table.
    let entries = selector("node_nf_conntrack_entries", base);
    let limit = selector("node_nf_conntrack_entries_limit", base);
    b.levels(
        vec![spec(
            "HostConntrackNearLimit",
            "node_nf_conntrack_entries{job=\"node-exporter\"} / node_nf_conntrack_entries_limit{job=\"node-exporter\"} > 0.75".into(),
            "5m",
            "warning",
            Text::new().t("The host's connection tracking table is nearly full"),
            Text::new()
                .l("instance")
                .t(" uses ")
                .v(Fmt::Percent)
                .t(" of its conntrack entries (threshold 75%): new connections are dropped when it is full."),
        )],
        case(
            "90% used",
            vec![(entries.clone(), "900x20".into()), (limit.clone(), "1000x20".into())],
            "10m",
            vec![(base.clone(), 0.9)],
        ),
        case(
            "10% used",
            vec![(entries, "100x20".into()), (limit, "1000x20".into())],
            "10m",
            vec![],
        ),
    );
}
