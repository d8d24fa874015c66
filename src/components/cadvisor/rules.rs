//! The containers' alerts (`rules/containers.yml`): restarting, near the memory limit,
//! OOM kills and CPU throttling, with their tests. The same builder makes the Kubernetes
//! variant ([`kubernetes`]): there cAdvisor is the kubelet's (`job="kubelet"`,
//! `metrics_path="/metrics/cadvisor"`) and a container is named by its namespace, pod and
//! container labels.

use std::collections::BTreeMap;

use crate::model::alerting::Level;
use crate::model::{Contribution, Settled};
use crate::rules::*;

pub(super) fn contribute(s: &Settled, out: &mut Contribution) {
    out.rules.push(container_rules(&Runtime {
        selector: "job=\"cadvisor\",name!=\"\"".into(),
        series: labels(&[
            ("environment", ENV),
            ("instance", "cadvisor:8080"),
            ("job", "cadvisor"),
            ("name", &format!("{}-app-1", s.project)),
            ("service", "cadvisor"),
        ]),
        by: "environment, instance, job, name, service",
        // A restart adds cAdvisor's `restartcount` container label (see `container_rules`).
        restart_label: "container_label_restartcount",
        who: Text::new().l("name"),
        memory: s.alerts.levels.container_memory,
    }));
}

/// The containers' alerts on Kubernetes, for the containers of `namespace` (the series of
/// the kubelet's cAdvisor, as kube-prometheus-stack scrapes them), at the stack's
/// container memory levels.
pub fn kubernetes(namespace: &str, memory: Level) -> RuleFile {
    container_rules(&Runtime {
        selector: format!(
            "job=\"kubelet\",metrics_path=\"/metrics/cadvisor\",namespace=\"{namespace}\",container!=\"\""
        ),
        series: labels(&[
            ("container", "app"),
            ("instance", "10.0.0.1:10250"),
            ("job", "kubelet"),
            ("metrics_path", "/metrics/cadvisor"),
            ("namespace", namespace),
            ("pod", "app-5d9f7c6b8-x2x4q"),
        ]),
        by: "instance, job, metrics_path, namespace, pod, container",
        // A restarted container is a new container: a new cgroup, so a new `id` series.
        restart_label: "id",
        who: Text::new()
            .l("namespace")
            .t("/")
            .l("pod")
            .t("/")
            .l("container"),
        memory,
    })
}

/// Where the container series come from.
struct Runtime {
    /// The selector of a container's series.
    selector: String,
    /// The labels of one container's series in the tests.
    series: BTreeMap<String, String>,
    /// The labels that name one container (for the aggregations).
    by: &'static str,
    /// The label whose new value marks a restarted container.
    restart_label: &'static str,
    /// How an annotation names the container (after the word "container").
    who: Text,
    /// Memory levels, percent of the limit.
    memory: Level,
}

fn container_rules(rt: &Runtime) -> RuleFile {
    let mut b = Builder::new("containers", "the containers (cAdvisor)");
    let c = rt.series.clone();
    let sel = rt.selector.as_str();
    let who = || Text::new().t("Container ").push(rt.who.clone());
    // cAdvisor v0.52.1 serves `container_start_time_seconds` as the container's creation
    // time (metrics/prometheus.go:1932 `cont.Spec.CreationTime`, from Docker's `Created`
    // in container/docker/handler.go:184), which a restart does not change; a restart
    // adds the container label `restartcount` (handler.go:200-203), exported as
    // `container_label_restartcount` (metrics/prometheus.go:1860), so each restart starts
    // a new series. Restarts in a window = the series seen in it, less one.
    let start = |restarts: Option<&str>| {
        let mut l = c.clone();
        if let Some(n) = restarts {
            l.insert(rt.restart_label.into(), n.into());
        }
        selector("container_start_time_seconds", &l)
    };
    b.alerts(
        vec![spec(
            "ContainerRestarting",
            format!("{} > 2", restarts(sel, "15m", rt.by)),
            "0m",
            "warning",
            who().t(" keeps restarting"),
            who()
                .t(" restarted ")
                .v(Fmt::Fixed(0))
                .t(" times in 15 minutes."),
        )],
        vec![vec![case(
            "three restarts (a new restartcount series each)",
            vec![
                (start(None), "100x3".into()),
                (start(Some("1")), "_x3 100x3".into()),
                (start(Some("2")), "_x6 100x3".into()),
                (start(Some("3")), "_x9 100x10".into()),
            ],
            "12m",
            vec![(c.clone(), 3.0)],
        )]],
        vec![case(
            "no restart",
            vec![(start(Some("1")), "100x20".into())],
            "12m",
            vec![],
        )],
    );
    let ws = selector("container_memory_working_set_bytes", &c);
    let limit = selector("container_spec_memory_limit_bytes", &c);
    let lv = rt.memory;
    let specs = crate::components::node_exporter::rules::two(lv.warning, lv.critical)
        .into_iter()
        .map(|(sev, t)| {
            spec(
                "ContainerMemoryNearLimit",
                format!("(container_memory_working_set_bytes{{{sel}}} / container_spec_memory_limit_bytes{{{sel}}} > {}) and container_spec_memory_limit_bytes{{{sel}}} > 0", num(t / 100.0)),
                "5m",
                sev,
                who().t(" is near its memory limit"),
                who().t(" uses ").v(Fmt::Percent).t(format!(" of its memory limit (threshold {}%).", num(t))),
            )
        })
        .collect();
    let used = crate::components::node_exporter::rules::beyond(lv.critical);
    b.levels(
        specs,
        case(
            &format!("{}% of the limit", num(used)),
            vec![
                (ws.clone(), format!("{}x20", num(used * 10.0))),
                (limit.clone(), "1000x20".into()),
            ],
            "10m",
            vec![(c.clone(), used / 100.0)],
        ),
        case(
            "no limit set",
            vec![
                (ws.clone(), "950x20".into()),
                (limit.clone(), "0x20".into()),
            ],
            "10m",
            vec![],
        ),
    );
    oom_and_throttling(&mut b, rt);
    b.finish()
}

/// OOM kills of a named container and CPU throttling.
fn oom_and_throttling(b: &mut Builder, rt: &Runtime) {
    let c = &rt.series;
    let sel = rt.selector.as_str();
    let who = || Text::new().t("Container ").push(rt.who.clone());
    // cAdvisor v0.52.1 counts the kernel's OOM kills per container: it reads /dev/kmsg
    // (utils/oomparser, started in manager/manager.go:1198) and adds one to the counter of
    // the container the kernel names (manager.go:1249), served as
    // `container_oom_events_total` (metrics/prometheus.go:1745, OOM metrics are on by
    // default). When the killed process is the container's main process the container
    // stops and cAdvisor may have dropped it before counting (manager.go:1240-1243): that
    // case shows as ContainerRestarting and HostOomKillDetected.
    let oom = selector("container_oom_events_total", c);
    b.levels(
        vec![spec(
            "ContainerOomKilled",
            format!("increase(container_oom_events_total{{{sel}}}[5m]) > 0"),
            "0m",
            "warning",
            Text::new()
                .t("A process of container ")
                .push(rt.who.clone())
                .t(" was killed for lack of memory"),
            Text::new()
                .t("The kernel's OOM killer killed ")
                .v(Fmt::Fixed(0))
                .t(" process(es) in container ")
                .push(rt.who.clone())
                .t(" in 5 minutes: raise its memory limit or find the leak."),
        )],
        case(
            "one process killed",
            vec![(oom.clone(), "0x5 1x10".into())],
            "8m",
            vec![(c.clone(), 1.0)],
        ),
        case("no kill", vec![(oom, "0x15".into())], "8m", vec![]),
    );
    // kubernetes-mixin CPUThrottlingHigh (alerts/resource_alerts.libsonnet): more than 25 %
    // of the CFS periods throttled, for 15m. cAdvisor v0.52.1 serves both counters for a
    // container with a CPU quota (metrics/prometheus.go:196-215, `condition: s.Cpu.Quota != 0`);
    // every production container has a CPU limit.
    let throttled = selector("container_cpu_cfs_throttled_periods_total", c);
    let periods = selector("container_cpu_cfs_periods_total", c);
    let by = rt.by;
    b.levels(
        vec![spec(
            "ContainerCpuThrottled",
            format!("sum by ({by}) (increase(container_cpu_cfs_throttled_periods_total{{{sel}}}[5m])) / sum by ({by}) (increase(container_cpu_cfs_periods_total{{{sel}}}[5m])) > 0.25"),
            "15m",
            "warning",
            who().t(" is CPU-throttled"),
            who()
                .t(" is throttled in ")
                .v(Fmt::Percent)
                .t(" of its CPU periods (threshold 25%): it needs more than its CPU limit."),
        )],
        case(
            "half the periods throttled",
            vec![(throttled.clone(), "0+50x30".into()), (periods.clone(), "0+100x30".into())],
            "25m",
            vec![(c.clone(), 0.5)],
        ),
        case(
            "5% throttled",
            vec![(throttled, "0+5x30".into()), (periods, "0+100x30".into())],
            "25m",
            vec![],
        ),
    );
}

/// Restarts of each container within `window`: the `container_start_time_seconds` series
/// (one per `restartcount`, see above) seen in the window, less one.
pub fn restarts(sel: &str, window: &str, by: &str) -> String {
    format!(
        "count by ({by}) (count_over_time(container_start_time_seconds{{{sel}}}[{window}])) - 1"
    )
}
