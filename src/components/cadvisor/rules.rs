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
    let start = selector("container_start_time_seconds", &c);
    b.alerts(
        vec![spec(
            "ContainerRestarting",
            "changes(container_start_time_seconds{job=\"cadvisor\",name!=\"\"}[15m]) > 2".into(),
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
