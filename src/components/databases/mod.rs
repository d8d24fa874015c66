//! The manifest's databases (`[[database]]`): each one's container (credentials from
//! `.env`, a health check, its data volume, the hardening its image allows), its
//! `.env` login, and its exporter with the job that scrapes it.

pub mod dashboards;

use std::collections::BTreeMap;

use crate::model::*;
use crate::units::env_name_of;

use super::{Component, req};

/// Every `[[database]]`, in manifest order.
pub struct Databases;

impl Component for Databases {
    fn name(&self) -> &'static str {
        "databases"
    }

    fn enabled(&self, s: &Settled) -> bool {
        !s.databases.is_empty()
    }

    fn contribute(&self, s: &Settled) -> Contribution {
        let mut out = Contribution::default();
        for d in &s.databases {
            login(d, &mut out);
        }
        databases(s, &mut out);
        for d in &s.databases {
            database_exporter(
                &mut out,
                d,
                super::image(s, &format!("{}-exporter", d.kind)),
            );
        }
        dashboards::contribute(s, &mut out);
        out
    }
}

/// The `.env` login of a database: its user (when the image takes one) and password.
fn login(d: &Database, out: &mut Contribution) {
    let var = env_name_of(&d.name);
    let user_var = format!("{var}_USER");
    if d.environment.values().any(|v| v.contains(&user_var)) {
        out.add_var(EnvVar {
            name: user_var,
            description: format!("{} user name of database `{}`", d.kind, d.name),
            how: "a name other than admin or root".into(),
            secret: false,
            value: format!("{}_app", d.name.replace('-', "_")),
            random: false,
            section: Section::DatabaseLogin,
        });
    }
    out.add_var(EnvVar {
        name: format!("{var}_PASSWORD"),
        description: format!("{} password of database `{}`", d.kind, d.name),
        how: super::RANDOM.into(),
        secret: true,
        value: String::new(),
        random: true,
        section: Section::DatabaseLogin,
    });
}

fn databases(settled: &Settled, out: &mut Contribution) {
    for d in settled.databases.clone() {
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
        out.compose.push(c);
        out.volumes.push(d.volume.clone());
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

/// `<db>-exporter` for one database, with the credentials the database itself uses.
fn database_exporter(out: &mut Contribution, d: &Database, image: String) {
    let name = format!("{}-exporter", d.name);
    let var = env_name_of(&d.name);
    let (user, pass) = (format!("{var}_USER"), format!("{var}_PASSWORD"));
    let host = format!("{}:{}", d.name, d.port);
    let mut c = ComposeService::new(name.clone(), Role::Exporter);
    c.image = Some(image);
    let mut env = BTreeMap::new();
    let port = match d.kind.as_str() {
        "postgres" => {
            env.insert(
                "DATA_SOURCE_URI".to_string(),
                format!("{host}/{}?sslmode=disable", d.name),
            );
            env.insert("DATA_SOURCE_USER".into(), req(&user));
            env.insert("DATA_SOURCE_PASS".into(), req(&pass));
            9187
        }
        "mysql" => {
            // The database only has its root account (MYSQL_ROOT_PASSWORD).
            c.command = Some(vec![
                format!("--mysqld.address={host}"),
                "--mysqld.username=root".into(),
            ]);
            env.insert("MYSQLD_EXPORTER_PASSWORD".into(), req(&pass));
            9104
        }
        "mongodb" => {
            c.command = Some(vec!["--collect-all".into(), "--compatible-mode".into()]);
            env.insert("MONGODB_URI".into(), format!("mongodb://{host}/admin"));
            env.insert("MONGODB_USER".into(), req(&user));
            env.insert("MONGODB_PASSWORD".into(), req(&pass));
            9216
        }
        "redis" => {
            env.insert("REDIS_ADDR".into(), format!("redis://{host}"));
            env.insert("REDIS_PASSWORD".into(), req(&pass));
            9121
        }
        "elasticsearch" => {
            c.command = Some(vec![format!("--es.uri=http://{host}")]);
            env.insert("ES_USERNAME".into(), "elastic".into());
            env.insert("ES_PASSWORD".into(), req(&pass));
            9114
        }
        other => panic!("bug: no exporter for database kind {other}"),
    };
    c.environment = env;
    c.expose = vec![port];
    // Exporters are static Go binaries that only talk to their database over the network.
    c.user = Some(NOBODY.into());
    c.hardening = read_only_hardening();
    c.depends_on = vec![Dependency {
        name: d.name.clone(),
        condition: "service_healthy".into(),
    }];
    c.networks = vec![attach("app"), attach("monitoring")];
    out.compose.push(c);
    let about = format!("the {} exporter of database \"{}\"", d.kind, d.name);
    out.add_job(
        &name,
        "/metrics",
        &about,
        vec![group(&d.name, vec![format!("{name}:{port}")])],
    );
}
