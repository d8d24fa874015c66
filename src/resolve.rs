//! Resolution: manifest + profiles → [`Model`].
//!
//! Layers, bottom to top: the stack preset (`profiles/<profile>.toml`), the
//! environment overlay (`profiles/<env>.toml`, or the one a custom environment
//! `extends`), then the manifest. Runs only on a manifest that passed
//! [`crate::validate`], so it does not report errors; a missing default is a bug in
//! the embedded profiles (their completeness is tested).

use std::collections::BTreeMap;

use crate::assets;
use crate::components::prometheus::login;
use crate::layers::{default_db_tag, replica_names, settled_env, settled_stack};
use crate::manifest::Manifest;
use crate::model::*;
use crate::units::{format_duration, parse_duration};

/// The container health check of an app service: `health_cmd` as given, else a probe
/// of `health` on loopback with `health_check` (default `wget`: present in busybox and
/// alpine images; exec form, so no shell is needed). `None` without either. Written for
/// Compose: every `$` of the manifest's text is literal ([`crate::quote::compose`]).
pub fn app_healthcheck(s: &crate::manifest::Service) -> Option<Healthcheck> {
    use crate::manifest::HealthCheck;
    let exec = match (&s.health_cmd, &s.health, s.health_check) {
        (Some(cmd), _, _) => cmd
            .iter()
            .map(|a| crate::quote::compose(a).into_string())
            .collect(),
        (None, _, Some(HealthCheck::None)) | (None, None, _) => return None,
        (None, Some(path), tool) => {
            let url =
                crate::quote::compose(&format!("http://127.0.0.1:{}{path}", s.port)).into_string();
            match tool.unwrap_or(HealthCheck::Wget) {
                HealthCheck::Curl => vec![
                    "curl".into(),
                    "-fsS".into(),
                    "-o".into(),
                    "/dev/null".into(),
                    url,
                ],
                _ => vec![
                    "wget".into(),
                    "-q".into(),
                    "-O".into(),
                    "/dev/null".into(),
                    url,
                ],
            }
        }
    };
    Some(Healthcheck {
        shell: String::new(),
        exec,
        interval: "10s".into(),
        timeout: "5s".into(),
        retries: 5,
        start_period: "30s".into(),
    })
}

/// Builds the model of a validated manifest.
/// The optional components' settings, from the layered manifest.
fn addons(m: &Manifest, stack: &crate::settings::Stack) -> Addons {
    let retention = stack.logging.retention.clone();
    let ms = parse_duration(&retention).expect("validated");
    Addons {
        log_retention_hours: ms.div_ceil(3_600_000).max(24),
        log_retention: retention,
        sampling_percentage: (stack.tracing.sample_ratio * 1e6).round() / 1e4,
        dsn_env: stack.errors.dsn_env.clone(),
        buckets: m.storage.minio.as_ref().map(|s| s.buckets.clone()),
    }
}

pub fn settle(m: &Manifest, manifest_file: &str) -> Settled {
    let images = assets::images(&m.project.templates);
    let image = |name: &str| {
        images
            .get(name)
            .cloned()
            .unwrap_or_else(|| panic!("bug: no pinned image for {name}"))
    };
    let stack = settled_stack(m);
    let components = stack.components.clone();
    let defaults = &stack.service_defaults;

    let replicas_of: BTreeMap<&str, Vec<String>> = m
        .services
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                replica_names(&s.name, s.replicas.unwrap_or(defaults.replicas)),
            )
        })
        .collect();

    // Apps with a container health check: dependents wait for `service_healthy`.
    let healthchecks: BTreeMap<&str, Option<Healthcheck>> = m
        .services
        .iter()
        .map(|s| (s.name.as_str(), app_healthcheck(s)))
        .collect();
    let services: Vec<Service> = m
        .services
        .iter()
        .map(|s| {
            let mut expose: Vec<u16> = std::iter::once(s.port)
                .chain(s.ports.values().copied())
                .collect();
            let metrics = match &s.metrics {
                Some(mm) if mm.enabled != Some(false) => {
                    let port = mm.port.unwrap_or(s.port);
                    let http = s.http.clone().unwrap_or_default();
                    Some(Metrics {
                        path: mm
                            .path
                            .clone()
                            .unwrap_or_else(|| defaults.metrics_path.clone()),
                        port,
                        requests: http
                            .requests
                            .clone()
                            .unwrap_or_else(|| defaults.http_requests.clone()),
                        duration: http
                            .duration
                            .clone()
                            .unwrap_or_else(|| defaults.http_duration.clone()),
                        status_label: http
                            .status_label
                            .clone()
                            .unwrap_or_else(|| defaults.http_status_label.clone()),
                        targets: replicas_of[s.name.as_str()]
                            .iter()
                            .map(|r| format!("{r}:{port}"))
                            .collect(),
                    })
                }
                _ => None,
            };
            if let Some(mm) = &metrics {
                expose.push(mm.port);
            }
            expose.sort_unstable();
            expose.dedup();
            let depends_on = s
                .depends_on
                .iter()
                .flat_map(|d| match replicas_of.get(d.as_str()) {
                    Some(names) => names
                        .iter()
                        .map(|n| Dependency {
                            name: n.clone(),
                            condition: if healthchecks[d.as_str()].is_some() {
                                Condition::ServiceHealthy
                            } else {
                                Condition::ServiceStarted
                            },
                        })
                        .collect::<Vec<_>>(),
                    None => vec![Dependency {
                        name: d.clone(),
                        condition: Condition::ServiceHealthy,
                    }],
                })
                .collect();
            let replicas = replicas_of[s.name.as_str()].clone();
            Service {
                name: s.name.clone(),
                levels: service_levels(&stack.alerts, s.alerts.as_ref()),
                image: s.image.clone(),
                build: s.build.clone(),
                port: s.port,
                expose,
                public: s.public,
                metrics,
                health: s.health.clone(),
                aliased: replicas.len() > 1,
                replicas,
                depends_on,
                language: s.language,
                env: s.env.clone(),
                env_refs: s
                    .env
                    .values()
                    .flat_map(|v| crate::quote::compose_env(v).1)
                    .collect(),
                command: s.command.clone(),
                env_file: s.env_file.clone(),
                healthcheck: healthchecks[s.name.as_str()].clone(),
                user: s.user.clone(),
                egress: s.egress,
                hardening: Hardening {
                    drop_caps: true,
                    cap_add: s.hardening.cap_add.clone(),
                    read_only: s.hardening.read_only,
                    tmpfs: s.hardening.tmpfs.clone(),
                },
                dev_mount: s.dev.as_ref().map(|d| d.mount.clone()),
                dev_command: s.dev.as_ref().and_then(|d| d.command.clone()),
            }
        })
        .collect();

    let databases: Vec<Database> = m
        .databases
        .iter()
        .map(|d| {
            let tag = d.version.clone().unwrap_or_else(|| default_db_tag(d.kind));
            let repo = image(d.kind.as_str())
                .rsplit_once(':')
                .map(|(r, _)| r.to_string())
                .expect("pinned");
            Database {
                name: d.name.clone(),
                kind: d.kind,
                image: format!("{repo}:{tag}"),
                volume: format!("{}-data", d.name),
            }
        })
        .collect();

    let prometheus = Component {
        name: "prometheus".into(),
        image: image("prometheus"),
        port: 9090,
        volume: "prometheus-data".into(),
    };
    let grafana = components.grafana.then(|| Component {
        name: "grafana".into(),
        image: image("grafana"),
        port: 3000,
        volume: "grafana-data".into(),
    });
    let errors_backend = stack.errors.backend;
    let alerts = &stack.alerts;
    let latency = alerts.latency_p95.clone();
    let error_rate = alerts.error_rate;
    let latency_p95_seconds = parse_duration(&latency).expect("validated") as f64 / 1000.0;
    let levels = levels_of(alerts);
    let alerts = Alerts {
        error_rate,
        error_rate_critical: critical_error_rate(error_rate, alerts.error_rate_critical),
        latency_p95_seconds,
        latency_p95_critical_seconds: alerts
            .latency_p95_critical
            .as_deref()
            .map_or(2.0 * latency_p95_seconds, seconds),
        latency_p95: latency,
        levels,
        for_: alerts.for_.clone(),
        slo: alerts
            .slo
            .iter()
            .map(|s| Slo {
                service: s.service.clone(),
                objective: s.objective,
                window: format_duration(parse_duration(&s.window).expect("validated")),
                error_budget: ((100.0 - s.objective) / 100.0 * 1e9).round() / 1e9,
            })
            .collect(),
        custom: alerts.custom.clone(),
    };

    Settled {
        project: m.project.name.clone(),
        manifest_file: manifest_file.into(),
        obsgen_version: env!("CARGO_PKG_VERSION").into(),
        templates: m.project.templates.clone(),
        profile: m.project.profile.clone(),
        components,
        services,
        databases,
        prometheus,
        grafana,
        alerts,
        receivers: m.receivers.clone(),
        routes: m.routes.clone(),
        logging: stack.logging.backend,
        tracing: stack.tracing.backend,
        errors: errors_backend,
        web: login::web_auth(login::LOCKED_HASH, true),
        remote_write: crate::components::prometheus::remote_write::remote_write(m),
        domain: m.deploy.aws.as_ref().and_then(|a| a.domain.clone()),
        addons: addons(m, &stack),
        environment_names: m.project.environments.clone(),
        max_scrape_interval: m
            .project
            .environments
            .iter()
            .map(|env| settled_env(m, env).scrape_interval)
            .max_by_key(|i| parse_duration(i).unwrap_or(0))
            .unwrap_or_else(|| "15s".into()),
    }
}

/// Seconds of a validated duration.
fn seconds(d: &str) -> f64 {
    parse_duration(d).expect("validated") as f64 / 1000.0
}

/// The critical error ratio: as set, else twice the warning while that is below 1.
fn critical_error_rate(warning: f64, critical: Option<f64>) -> Option<f64> {
    critical.or_else(|| (warning * 2.0 < 1.0).then_some(warning * 2.0))
}

/// The levels of the built-in alerts (every one set by the stack preset).
fn levels_of(a: &crate::settings::AlertSettings) -> settled::Levels {
    settled::Levels {
        host_cpu: a.host_cpu,
        host_memory: a.host_memory,
        host_disk_free: a.host_disk_free,
        container_memory: a.container_memory,
        database_connections: a.database_connections,
    }
}

/// A service's thresholds: its own `alerts = { … }` over `[alerts]`. A warning set
/// without its critical gets twice it as the critical.
fn service_levels(
    a: &crate::settings::AlertSettings,
    own: Option<&alerting::ServiceAlerts>,
) -> settled::ServiceLevels {
    let own = own.cloned().unwrap_or_default();
    let error_rate = own.error_rate.unwrap_or(a.error_rate);
    let critical = own.error_rate_critical.or(if own.error_rate.is_some() {
        None
    } else {
        a.error_rate_critical
    });
    let latency = seconds(own.latency_p95.as_deref().unwrap_or(&a.latency_p95));
    let latency_critical = own
        .latency_p95_critical
        .as_deref()
        .or(if own.latency_p95.is_some() {
            None
        } else {
            a.latency_p95_critical.as_deref()
        })
        .map_or(2.0 * latency, seconds);
    settled::ServiceLevels {
        error_rate,
        error_rate_critical: critical_error_rate(error_rate, critical),
        latency_p95_seconds: latency,
        latency_p95_critical_seconds: latency_critical,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(text: &str) -> Manifest {
        toml::from_str(text).unwrap()
    }

    const SHOP: &str = r#"
[project]
name = "shop"
environments = ["development", "production"]
[[service]]
name = "gateway"
image = "ghcr.io/acme/gw:1.0.0"
port = 5921
public = true
metrics = {}
depends_on = ["backend", "db"]
[[service]]
name = "backend"
image = "ghcr.io/acme/be:1.0.0"
port = 3847
replicas = 3
metrics = { port = 9464 }
[[database]]
name = "db"
kind = "postgres"
[environment.production]
retention_time = "90d"
"#;

    #[test]
    fn replicas_are_named_services_and_dependencies_expand() {
        assert_eq!(replica_names("api", 1), vec!["api"]);
        assert_eq!(replica_names("api", 2), vec!["api-1", "api-2"]);
        let m = crate::assemble::model(&manifest(SHOP), "obsgen.toml");
        let gw = &m.services[0];
        let deps: Vec<(&str, &str)> = gw
            .depends_on
            .iter()
            .map(|d| (d.name.as_str(), d.condition.as_str()))
            .collect();
        assert_eq!(
            deps,
            vec![
                ("backend-1", "service_started"),
                ("backend-2", "service_started"),
                ("backend-3", "service_started"),
                ("db", "service_healthy")
            ]
        );
        let be = &m.services[1];
        let metrics = be.metrics.as_ref().unwrap();
        assert_eq!(
            metrics.targets,
            vec!["backend-1:9464", "backend-2:9464", "backend-3:9464"]
        );
        assert_eq!(
            metrics.path, "/metrics",
            "from the preset's service_defaults"
        );
        assert_eq!(be.expose, vec![3847, 9464]);
    }

    #[test]
    fn environments_layer_manifest_over_overlay() {
        let m = crate::assemble::model(&manifest(SHOP), "obsgen.toml");
        let prod = &m.environments[1];
        assert_eq!(prod.retention_time, "90d", "manifest override");
        assert_eq!(prod.retention_size, "20GB", "from profiles/production.toml");
        assert!(prod.hardening);
        assert!(
            prod.prometheus_args
                .contains(&"--storage.tsdb.retention.time=90d".to_string())
        );
        let dev = &m.environments[0];
        assert_eq!(dev.retention_time, "2d");
        assert!(!dev.hardening);
    }

    #[test]
    fn published_ports_follow_the_environment() {
        let m = manifest(SHOP);
        let dev: Vec<String> = crate::environments::published_ports(&m, "development")
            .iter()
            .map(|p| format!("{}={}:{}", p.compose, p.address, p.host_port))
            .collect();
        // monitoring UIs first; replicated backend is not published; the database is
        assert_eq!(
            dev,
            vec![
                "prometheus=127.0.0.1:9090",
                "grafana=127.0.0.1:3000",
                "alertmanager=127.0.0.1:9093",
                "gateway=127.0.0.1:5921",
                "db=127.0.0.1:5432"
            ]
        );
        let prod: Vec<String> = crate::environments::published_ports(&m, "production")
            .iter()
            .map(|p| format!("{}={}:{}", p.compose, p.address, p.host_port))
            .collect();
        assert_eq!(
            prod,
            vec![
                "prometheus=127.0.0.1:9090",
                "grafana=127.0.0.1:3000",
                "alertmanager=127.0.0.1:9093",
                "gateway=0.0.0.0:5921"
            ]
        );
    }

    const CONTAINER: &str = r#"
[project]
name = "c"
environments = ["development", "production"]
[[service]]
name = "api"
build = "./api"
port = 8080
health = "/health$x"
user = "1000:1000"
egress = true
env_file = ["./api.env"]
dev = { mount = "/app", command = ["npm", "run", "dev"] }
hardening = { read_only = true, tmpfs = ["/tmp"], cap_add = ["NET_BIND_SERVICE"] }
[[service]]
name = "web"
image = "ghcr.io/acme/web:1.0.0"
port = 80
health = "/"
health_check = "curl"
depends_on = ["api"]
[[service]]
name = "jobs"
image = "ghcr.io/acme/jobs:1.0.0"
port = 81
health_cmd = ["/jobs", "check"]
depends_on = ["web"]
[[database]]
name = "search"
kind = "elasticsearch"
"#;

    #[test]
    fn app_container_fields_reach_the_compose_service() {
        let m = crate::assemble::model(&manifest(CONTAINER), "obsgen.toml");
        let api = m.compose.iter().find(|c| c.name == "api").unwrap();
        // Default check: wget, exec form; `$` escaped for Compose.
        assert_eq!(
            api.healthcheck.as_ref().unwrap().exec,
            vec![
                "wget",
                "-q",
                "-O",
                "/dev/null",
                "http://127.0.0.1:8080/health$$x"
            ]
        );
        assert_eq!(api.user.as_deref(), Some("1000:1000"));
        assert_eq!(api.env_file, vec!["./api.env"]);
        assert_eq!(api.dev_volume.as_deref(), Some("./api:/app"));
        assert!(api.networks.iter().any(|n| n.name == "edge"), "egress");
        assert!(api.hardening.drop_caps && api.hardening.read_only);
        assert_eq!(api.hardening.cap_add, vec!["NET_BIND_SERVICE"]);
        let web = m.compose.iter().find(|c| c.name == "web").unwrap();
        assert_eq!(web.healthcheck.as_ref().unwrap().exec[0], "curl");
        assert_eq!(web.depends_on[0].condition, Condition::ServiceHealthy);
        assert!(!web.networks.iter().any(|n| n.name == "edge"));
        let jobs = m.compose.iter().find(|c| c.name == "jobs").unwrap();
        assert_eq!(
            jobs.healthcheck.as_ref().unwrap().exec,
            vec!["/jobs", "check"]
        );

        let dev = &m.environments[0];
        let prod = &m.environments[1];
        let env_api = |e: &Environment| {
            e.services
                .iter()
                .find(|s| s.name == "api")
                .cloned()
                .unwrap()
        };
        assert_eq!(env_api(dev).volumes, vec!["./api:/app"]);
        assert_eq!(env_api(dev).command.unwrap(), vec!["npm", "run", "dev"]);
        assert!(env_api(dev).hardening.is_none() && dev.networks.is_empty());
        assert!(env_api(prod).volumes.is_empty() && env_api(prod).command.is_none());
        assert!(env_api(prod).hardening.unwrap().read_only);
        let internal: Vec<&str> = prod.networks.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(internal, vec!["app", "monitoring"]);
        // Limits per role; Elasticsearch's memory floor above the database limit.
        let limits = |name: &str| {
            prod.services
                .iter()
                .find(|s| s.name == name)
                .and_then(|s| s.limits.clone())
                .unwrap()
        };
        assert_eq!(limits("api").memory, "512M");
        assert_eq!(limits("api").memory_reservation, "128M");
        assert_eq!(limits("search").memory, "1536M");
        assert_eq!(limits("prometheus").memory, "1024M");
        assert_eq!(limits("grafana").memory, "512M");
        assert_eq!(limits("search-exporter").cpus, "0.1");
    }

    #[test]
    fn env_references_to_dot_env_are_listed_and_other_dollars_are_literal() {
        let m = crate::assemble::model(
            &manifest(
                "[project]\nname = \"c\"\n[[service]]\nname = \"api\"\nimage = \"ghcr.io/a/api:1.0.0\"\nport = 80\nenv = { URL = \"http://${API_HOST:-api}:${API_PORT}/$x\", N = \"${NAME-}\" }\n",
            ),
            "obsgen.toml",
        );
        let names: Vec<(&str, Option<&str>)> = m.services[0]
            .env_refs
            .iter()
            .map(|r| (r.name.as_str(), r.default.as_deref()))
            .collect();
        assert_eq!(
            names,
            [
                ("NAME", Some("")),
                ("API_HOST", Some("api")),
                ("API_PORT", None)
            ]
        );
        let api = m.compose.iter().find(|c| c.name == "api").unwrap();
        assert_eq!(
            api.environment["URL"],
            "http://${API_HOST:-api}:${API_PORT}/$$x"
        );
    }

    #[test]
    fn secrets_are_env_references_never_values() {
        let m = crate::assemble::model(&manifest(SHOP), "obsgen.toml");
        let db = &m.databases[0];
        let server = m.compose.iter().find(|c| c.name == db.name).unwrap();
        assert_eq!(
            server.environment["POSTGRES_PASSWORD"],
            "${DB_PASSWORD:?set DB_PASSWORD in .env}"
        );
        assert_eq!(db.image, "postgres:17.6");
        let names: Vec<&str> = m.env_vars.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "COMPOSE_PROJECT_NAME",
                "DB_USER",
                "DB_PASSWORD",
                "GRAFANA_ADMIN_USER",
                "GRAFANA_ADMIN_PASSWORD",
                "PROMETHEUS_PASSWORD"
            ]
        );
        assert!(
            m.env_vars
                .iter()
                .filter(|v| v.secret)
                .all(|v| v.value.is_empty())
        );
    }
}
