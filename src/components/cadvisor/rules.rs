//! The containers' alerts (`rules/containers.yml`): restarting, near the memory limit,
//! with their tests. The same builder makes the Kubernetes variant ([`kubernetes`]):
//! there cAdvisor is the kubelet's (`job="kubelet"`, `metrics_path="/metrics/cadvisor"`)
//! and a container is named by its namespace, pod and container labels.

use std::collections::BTreeMap;

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
        who: Text::new().t("Container ").l("name"),
    }));
}

/// The containers' alerts on Kubernetes, for the containers of `namespace` (the series of
/// the kubelet's cAdvisor, as kube-prometheus-stack scrapes them).
pub fn kubernetes(namespace: &str) -> RuleFile {
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
        who: Text::new()
            .t("Container ")
            .l("namespace")
            .t("/")
            .l("pod")
            .t("/")
            .l("container"),
    })
}

/// Where the container series come from.
struct Runtime {
    /// The selector of a container's series.
    selector: String,
    /// The labels of one container's series in the tests.
    series: BTreeMap<String, String>,
    /// How an annotation names the container.
    who: Text,
}

fn container_rules(rt: &Runtime) -> RuleFile {
    let mut b = Builder::new("containers", "the containers (cAdvisor)");
    let c = rt.series.clone();
    let sel = &rt.selector;
    let who = || rt.who.clone();
    let start = selector("container_start_time_seconds", &c);
    b.alerts(
        vec![spec(
            "ContainerRestarting",
            format!("changes(container_start_time_seconds{{{sel}}}[15m]) > 2"),
            "0m",
            "warning",
            who().t(" keeps restarting"),
            who()
                .t(" restarted ")
                .v(Fmt::Fixed(0))
                .t(" times in 15 minutes."),
        )],
        vec![vec![case(
            "three restarts",
            vec![(start.clone(), "100x5 400x3 700x3 1000x10".into())],
            "14m",
            vec![(c.clone(), 3.0)],
        )]],
        vec![case(
            "no restart",
            vec![(start.clone(), "100x20".into())],
            "14m",
            vec![],
        )],
    );
    let ws = selector("container_memory_working_set_bytes", &c);
    let limit = selector("container_spec_memory_limit_bytes", &c);
    b.alerts(
        vec![spec(
            "ContainerMemoryNearLimit",
            format!("(container_memory_working_set_bytes{{{sel}}} / container_spec_memory_limit_bytes{{{sel}}} > 0.9) and container_spec_memory_limit_bytes{{{sel}}} > 0"),
            "5m",
            "warning",
            who().t(" is near its memory limit"),
            who().t(" uses ").v(Fmt::Percent).t(" of its memory limit."),
        )],
        vec![vec![case(
            "95% of the limit",
            vec![(ws.clone(), "950x20".into()), (limit.clone(), "1000x20".into())],
            "10m",
            vec![(c.clone(), 0.95)],
        )]],
        vec![case("no limit set", vec![(ws.clone(), "950x20".into()), (limit.clone(), "0x20".into())], "10m", vec![])],
    );
    b.finish()
}
