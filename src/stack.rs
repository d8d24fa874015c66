//! The stack's shape: every Compose service, network and volume, every scrape job
//! and every file-SD target file, assembled from the resolved app services,
//! databases and components. Each component contributes its own part here; the
//! templates only iterate over the result.
//!
//! Manifest text enters a Compose service here, through [`crate::quote::compose`] (every
//! `$` literal) or, for `env` values, [`crate::quote::compose_env`] (`${NAME}` references
//! to `.env` kept); what obsgen itself writes (`${VAR:?…}` secrets) stays as it is.

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
    use crate::quote::{compose, compose_env};
    let text = |v: &String| compose(v).into_string();
    let list = |v: &Vec<String>| v.iter().map(text).collect::<Vec<_>>();
    for s in model.services.clone() {
        for r in &s.replicas {
            let mut c = ComposeService::new(r.clone(), Role::App);
            c.image = s.image.as_ref().map(text);
            c.build = s.build.as_ref().map(text);
            c.command = s.command.as_ref().map(list);
            c.expose = s.expose.clone();
            c.environment = crate::components::app_environment(model, &s.name);
            c.environment.extend(
                s.env
                    .iter()
                    .map(|(k, v)| (k.clone(), compose_env(v).0.into_string())),
            );
            c.depends_on = s.depends_on.clone();
            c.env_file = list(&s.env_file);
            c.healthcheck = s.healthcheck.clone();
            c.user = s.user.as_ref().map(text);
            // Apps: all capabilities dropped, no-new-privileges; read-only, tmpfs and
            // added capabilities only when the manifest asks (obsgen does not know the image).
            c.hardening = s.hardening.clone();
            c.hardening.tmpfs = list(&s.hardening.tmpfs);
            c.hardening.cap_add = list(&s.hardening.cap_add);
            if let (Some(ctx), Some(mount)) = (&s.build, &s.dev_mount) {
                c.dev_volume = Some(text(&format!("{ctx}:{mount}")));
            }
            c.dev_command = s.dev_command.as_ref().map(list);
            c.networks = vec![NetworkAttachment {
                name: "app".into(),
                aliases: if s.aliased {
                    vec![s.name.clone()]
                } else {
                    Vec::new()
                },
            }];
            if s.public || s.egress {
                // Published ports and outbound internet need a network that is not internal.
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
        c.hardening = database_hardening(&d.kind);
        if d.kind == "elasticsearch" {
            // 512 MiB heap (ES_JAVA_OPTS) plus off-heap memory.
            c.min_memory_mib = Some(1536);
        }
        if d.kind == "redis" {
            // Our command (`sh -c "exec redis-server …"`) bypasses the entrypoint's switch
            // to the `redis` user, so run as it (uid 999 in the official image) directly;
            // the named volume `/data` is created owned by it from the image.
            c.user = Some("999:999".into());
        }
        if d.kind == "elasticsearch" {
            // The image's own user (uid 1000, group 0), made explicit.
            c.user = Some("1000:0".into());
        }
        c.healthcheck = Some(Healthcheck {
            exec: Vec::new(),
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

/// Hardening of a database image. The postgres, mysql and mongo images start their
/// entrypoint as root: it `find`s through the data folder (owned by the database user,
/// mode 700: DAC_OVERRIDE to walk it as root), `chown`s what the database user does not
/// own (CHOWN), and then re-executes itself as that user with gosu (SETUID, SETGID).
/// Nothing else is needed once the server runs unprivileged. postgres also `chmod`s
/// PGDATA (owned by postgres: FOWNER); the mysql and mongo entrypoints chmod nothing.
/// Their roots stay writable (sockets and pid files in /var/run, init scripts). redis
/// and elasticsearch run as their own non-root user from the start: no capability at
/// all, and redis, which writes only to /data, gets a read-only root.
pub fn database_hardening(kind: &str) -> Hardening {
    let caps = |list: &[&str]| list.iter().map(|c| c.to_string()).collect();
    match kind {
        "postgres" => Hardening {
            cap_add: caps(&["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]),
            ..Hardening::default()
        },
        // mysql: chowns its data, socket and log folders; mongo: its data folders and
        // its own stdout/stderr.
        "mysql" | "mongodb" => Hardening {
            cap_add: caps(&["CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"]),
            ..Hardening::default()
        },
        "redis" => Hardening {
            read_only: true,
            tmpfs: vec!["/tmp".into()],
            ..Hardening::default()
        },
        // Elasticsearch writes its keystore into /usr/share/elasticsearch/config at start
        // (ELASTIC_PASSWORD): the root stays writable.
        _ => Hardening::default(),
    }
}

/// A read-only root with a tmpfs `/tmp`, all capabilities dropped: for the Go binaries
/// of the Prometheus ecosystem, which write only to their data volume.
pub fn read_only_hardening() -> Hardening {
    Hardening {
        read_only: true,
        tmpfs: vec!["/tmp".into()],
        ..Hardening::default()
    }
}

/// `nobody`: what the Prometheus, Alertmanager and exporter images run as (made explicit,
/// so a future image cannot silently switch to root).
pub const NOBODY: &str = "65534:65534";

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
    c.user = Some(NOBODY.into());
    c.hardening = read_only_hardening();
    // The head block of a few hundred thousand series.
    c.min_memory_mib = Some(1024);
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
        // Logs to stdout only (json-file rotation), never to /var/log/grafana: the
        // root filesystem is read-only in hardened environments.
        ("GF_LOG_MODE".to_string(), "console".to_string()),
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
    // The image's own user (uid 472, which owns its data folder), with group 65534:
    // the group secret files are readable by (deploy/aws/secrets.sh: group 65534, mode
    // 0640), as Grafana reads the Prometheus password from one. Grafana writes to
    // /var/lib/grafana (volume) and /tmp only; plugins are not installed at start (no
    // GF_INSTALL_PLUGINS), so the root can be read-only.
    c.user = Some("472:65534".into());
    c.hardening = read_only_hardening();
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
    crate::alertmanager::join_receiver_networks(model);
    crate::components::referenced_vars(model);
    // Compose order: apps, databases, then monitoring (as a reader expects the file).
    model.compose.sort_by_key(|c| match c.role {
        Role::App => 0,
        Role::Database => 1,
        Role::Monitoring => 2,
        Role::Exporter => 3,
    });
    let mut env_files: Vec<String> = model
        .compose
        .iter()
        .flat_map(|c| c.env_file.iter().cloned())
        .collect();
    env_files.sort();
    env_files.dedup();
    model.env_files = env_files;
    model.networks = ["app", "monitoring", "edge"]
        .into_iter()
        .map(|name| Network {
            name: name.into(),
            internal: false,
        })
        .collect();
}
