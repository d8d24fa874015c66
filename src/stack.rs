//! The stack's shape: every Compose service, network and volume, every scrape job
//! and every file-SD target file, assembled from the resolved app services,
//! databases and components. Each component contributes its own part here; the
//! templates only iterate over the result.

use std::collections::BTreeMap;

use crate::model::*;

/// Attaches a container to a network of the stack: `app` (services, databases and
/// what talks to them), `monitoring` (the monitoring stack), `edge` (containers that
/// publish a port or need to reach the internet; never internal).
pub fn attach(name: &str) -> NetworkAttachment {
    NetworkAttachment {
        name: name.into(),
        aliases: Vec::new(),
    }
}

/// A scrape job whose targets live in `targets/<name>.yml`, and that file.
pub fn add_job(
    model: &mut Model,
    name: &str,
    metrics_path: &str,
    about: &str,
    groups: Vec<TargetGroup>,
) {
    let file = format!("targets/{name}.yml");
    model.scrape_jobs.push(ScrapeJob {
        name: name.into(),
        metrics_path: metrics_path.into(),
        file: file.clone(),
        params: BTreeMap::new(),
        relabel: Vec::new(),
        basic_auth: None,
    });
    model.target_files.push(TargetFile {
        path: file,
        about: about.into(),
        groups,
    });
}

/// One target group labelled with its service.
pub fn group(service: &str, targets: Vec<String>) -> TargetGroup {
    TargetGroup {
        targets,
        labels: BTreeMap::from([("service".to_string(), service.to_string())]),
    }
}

fn app_services(model: &mut Model) {
    for s in model.services.clone() {
        for r in &s.replicas {
            let mut c = ComposeService::new(r.clone(), Role::App);
            c.image = s.image.clone();
            c.build = s.build.clone();
            c.command = s.command.clone();
            c.expose = s.expose.clone();
            c.environment = crate::components::app_environment(model, &s.name);
            c.environment.extend(s.env.clone());
            c.depends_on = s.depends_on.clone();
            c.networks = vec![NetworkAttachment {
                name: "app".into(),
                aliases: if s.aliased {
                    vec![s.name.clone()]
                } else {
                    Vec::new()
                },
            }];
            if s.public {
                // Published ports only work on a network that is not internal.
                c.networks.push(attach("edge"));
            }
            model.compose.push(c);
        }
        if let Some(mm) = &s.metrics {
            let about = format!("service \"{}\", one target per replica", s.name);
            add_job(
                model,
                &s.name,
                &mm.path,
                &about,
                vec![group(&s.name, mm.targets.clone())],
            );
        }
    }
}

fn databases(model: &mut Model) {
    for d in model.databases.clone() {
        let mut c = ComposeService::new(d.name.clone(), Role::Database);
        c.image = Some(d.image.clone());
        c.command = d.command.clone();
        c.environment = d.environment.clone();
        c.volumes = vec![format!("{}:{}", d.volume, d.data_path)];
        c.healthcheck = Some(Healthcheck {
            shell: d.healthcheck.clone(),
            interval: "10s".into(),
            timeout: "5s".into(),
            retries: 10,
            start_period: "30s".into(),
        });
        c.networks = vec![attach("app")];
        model.compose.push(c);
        model.volumes.push(d.volume.clone());
    }
}

fn prometheus(model: &mut Model) {
    let p = model.prometheus.clone();
    let mut c = ComposeService::new(p.name.clone(), Role::Monitoring);
    c.image = Some(p.image.clone());
    c.volumes = vec![
        "./monitoring/prometheus:/etc/prometheus:ro".into(),
        format!("{}:/prometheus", p.volume),
    ];
    // edge: its UI is published, and remote_write endpoints are on the internet.
    c.networks = vec![attach("app"), attach("monitoring"), attach("edge")];
    model.compose.push(c);
    model.volumes.push(p.volume.clone());
    let about = "Prometheus itself".to_string();
    add_job(
        model,
        "prometheus",
        "/metrics",
        &about,
        vec![group("prometheus", vec![format!("localhost:{}", p.port)])],
    );
}

fn grafana(model: &mut Model) {
    let Some(g) = model.grafana.clone() else {
        return;
    };
    let mut c = ComposeService::new(g.name.clone(), Role::Monitoring);
    c.image = Some(g.image.clone());
    c.environment = BTreeMap::from([
        (
            "GF_SECURITY_ADMIN_USER".to_string(),
            "${GRAFANA_ADMIN_USER:?set GRAFANA_ADMIN_USER in .env}".to_string(),
        ),
        (
            "GF_SECURITY_ADMIN_PASSWORD".to_string(),
            "${GRAFANA_ADMIN_PASSWORD:?set GRAFANA_ADMIN_PASSWORD in .env}".to_string(),
        ),
        ("GF_USERS_ALLOW_SIGN_UP".to_string(), "false".to_string()),
        ("GF_AUTH_ANONYMOUS_ENABLED".to_string(), "false".to_string()),
        (
            "GF_ANALYTICS_REPORTING_ENABLED".to_string(),
            "false".to_string(),
        ),
        (
            "GF_ANALYTICS_CHECK_FOR_UPDATES".to_string(),
            "false".to_string(),
        ),
    ]);
    c.volumes = vec![format!("{}:/var/lib/grafana", g.volume)];
    c.depends_on = vec![Dependency {
        name: model.prometheus.name.clone(),
        condition: "service_started".into(),
    }];
    // edge: its UI is published.
    c.networks = vec![attach("monitoring"), attach("edge")];
    model.compose.push(c);
    model.volumes.push(g.volume.clone());
    add_job(
        model,
        "grafana",
        "/metrics",
        "Grafana",
        vec![group("grafana", vec![format!("{}:{}", g.name, g.port)])],
    );
}

/// Fills `compose`, `networks`, `volumes`, `scrape_jobs` and `target_files`.
pub fn assemble(model: &mut Model) {
    prometheus(model);
    grafana(model);
    crate::alertmanager::contribute(model);
    app_services(model);
    databases(model);
    crate::exporters::assemble(model);
    crate::components::assemble(model);
    // Compose order: apps, databases, then monitoring (as a reader expects the file).
    model.compose.sort_by_key(|c| match c.role {
        Role::App => 0,
        Role::Database => 1,
        Role::Monitoring => 2,
        Role::Exporter => 3,
    });
    model.networks = ["app", "monitoring", "edge"]
        .into_iter()
        .map(|name| Network {
            name: name.into(),
            internal: false,
        })
        .collect();
}
