//! The containers' alerts (`rules/containers.yml`): restarting, near the memory limit,
//! with their tests.

use crate::model::{Contribution, Settled};
use crate::rules::*;

pub(super) fn contribute(s: &Settled, out: &mut Contribution) {
    out.rules.push(container_rules(s));
}

fn container_rules(s: &Settled) -> RuleFile {
    let mut b = Builder::new("containers", "the containers (cAdvisor)");
    let c = labels(&[
        ("environment", ENV),
        ("instance", "cadvisor:8080"),
        ("job", "cadvisor"),
        ("name", &format!("{}-app-1", s.project)),
        ("service", "cadvisor"),
    ]);
    // cAdvisor v0.52.1 serves `container_start_time_seconds` as the container's creation
    // time (metrics/prometheus.go:1932 `cont.Spec.CreationTime`, from Docker's `Created`
    // in container/docker/handler.go:184), which a restart does not change; a restart
    // adds the container label `restartcount` (handler.go:200-203), exported as
    // `container_label_restartcount` (metrics/prometheus.go:1860), so each restart starts
    // a new series. Restarts in a window = the series seen in it, less one.
    let start = |restarts: Option<&str>| {
        let mut l = c.clone();
        if let Some(n) = restarts {
            l.insert("container_label_restartcount".into(), n.into());
        }
        selector("container_start_time_seconds", &l)
    };
    b.alerts(
        vec![spec(
            "ContainerRestarting",
            format!("{} > 2", restarts("job=\"cadvisor\",name!=\"\"", "15m", "environment, instance, job, name, service")),
            "0m",
            "warning",
            Text::new().t("Container ").l("name").t(" keeps restarting"),
            Text::new()
                .t("Container ")
                .l("name")
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
    b.alerts(
        vec![spec(
            "ContainerMemoryNearLimit",
            "(container_memory_working_set_bytes{job=\"cadvisor\",name!=\"\"} / container_spec_memory_limit_bytes{job=\"cadvisor\",name!=\"\"} > 0.9) and container_spec_memory_limit_bytes{job=\"cadvisor\",name!=\"\"} > 0".into(),
            "5m",
            "warning",
            Text::new().t("Container ").l("name").t(" is near its memory limit"),
            Text::new().t("Container ").l("name").t(" uses ").v(Fmt::Percent).t(" of its memory limit."),
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

/// Restarts of each container within `window`: the `container_start_time_seconds` series
/// (one per `restartcount`, see above) seen in the window, less one.
pub fn restarts(sel: &str, window: &str, by: &str) -> String {
    format!("count by ({by}) (count_over_time(container_start_time_seconds{{{sel}}}[{window}])) - 1")
}
