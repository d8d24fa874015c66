//! The manifest's databases (`[[database]]`), in manifest order: each one's server
//! container (credentials from `.env`, a health check, its data volume, the hardening
//! its image allows), its `.env` login, and its exporter with the job that scrapes it.
//! What differs by kind lives in one file per kind ([`Kind`]); adding a kind means a
//! variant of [`DatabaseKind`], a file here and its line in [`kind`].

pub mod dashboards;
mod elasticsearch;
mod mongodb;
mod mysql;
mod postgres;
mod redis;
mod rules;

use crate::model::*;
use crate::rules::Builder;
use crate::units::env_name_of;

use super::{Component, req};

/// What one database kind knows: how its server runs and how its exporter reaches it.
pub trait Kind: Sync {
    /// Image names (the last path part, without tag) that run this kind, for `init`'s
    /// detection of a project's databases (`postgres`, `postgis`, `bitnami/redis` → `redis`).
    fn image_names(&self) -> &'static [&'static str];
    /// Fills in the server container of `d` (environment, command, user, hardening,
    /// health check); returns where the data lives inside the container.
    fn server(&self, d: &Database, login: &Login, c: &mut ComposeService) -> &'static str;
    /// Whether the image takes a user name (`<DB>_USER` in `.env`) beside the password.
    fn has_user(&self) -> bool;
    /// Fills in the exporter container of `d` (environment, command); returns the port
    /// it serves metrics on.
    fn exporter(&self, d: &Database, login: &Login, c: &mut ComposeService) -> u16;
    /// Its down alert (what its exporter says when it cannot reach the server), with
    /// its promtool cases.
    fn down(&self, b: &mut Builder, d: &Database, job: &str, base: &Labels);
    /// Its alerts beyond being down (connections, memory, cluster health).
    fn alerts(&self, _b: &mut Builder, _d: &Database, _job: &str, _base: &Labels) {}
    /// The gauge its dashboard lists instances by, and the query of "reachable" over
    /// the selector `sel`.
    fn reachable(&self, sel: &str) -> (&'static str, String);
    /// The vital signs its dashboard shows over `sel` (`r`: the rate window).
    fn panels(&self, sel: &str, r: &str) -> Vec<DbPanel>;
}

/// Labels of an alert's result (and of its test series).
pub type Labels = std::collections::BTreeMap<String, String>;

/// Title, unit and `(query, legend)` of one database panel.
pub type DbPanel = (&'static str, &'static str, Vec<(String, &'static str)>);

/// The kind of a database.
pub fn kind(k: DatabaseKind) -> &'static dyn Kind {
    match k {
        DatabaseKind::Postgres => &postgres::Postgres,
        DatabaseKind::Mysql => &mysql::Mysql,
        DatabaseKind::Mongodb => &mongodb::Mongodb,
        DatabaseKind::Redis => &redis::Redis,
        DatabaseKind::Elasticsearch => &elasticsearch::Elasticsearch,
    }
}

/// The database kind an image runs, by its name (the last path part, without tag or
/// digest: `docker.elastic.co/elasticsearch/elasticsearch:8.15.0` → `elasticsearch`).
pub fn kind_of_image(image: &str) -> Option<DatabaseKind> {
    let repo = image.split('@').next().unwrap_or(image);
    let last = repo.rsplit('/').next().unwrap_or(repo);
    let name = last.split(':').next().unwrap_or(last);
    DatabaseKind::ALL
        .into_iter()
        .find(|k| kind(*k).image_names().contains(&name))
}

/// The `.env` variables of a database's login (`ORDERS_DB_USER`, `ORDERS_DB_PASSWORD`).
pub struct Login {
    pub user_var: String,
    pub password_var: String,
}

impl Login {
    pub fn of(d: &Database) -> Login {
        let var = env_name_of(&d.name);
        Login {
            user_var: format!("{var}_USER"),
            password_var: format!("{var}_PASSWORD"),
        }
    }

    /// The user name, as a required `.env` reference.
    pub fn user(&self) -> String {
        req(&self.user_var)
    }

    /// The password, as a required `.env` reference.
    pub fn password(&self) -> String {
        req(&self.password_var)
    }
}

/// Every `[[database]]`, in manifest order.
pub struct Databases;

impl Component for Databases {
    fn name(&self) -> &'static str {
        "databases"
    }

    fn enabled(&self, s: &Settled) -> bool {
        !s.databases.is_empty()
    }

    fn catalogues(&self) -> &'static [&'static str] {
        &[
            "postgres-exporter",
            "mysql-exporter",
            "mongodb-exporter",
            "redis-exporter",
            "elasticsearch-exporter",
        ]
    }

    fn contribute(&self, s: &Settled) -> Contribution {
        let mut out = Contribution::default();
        for d in &s.databases {
            login(d, &mut out);
        }
        for d in &s.databases {
            server(d, &mut out);
        }
        for d in &s.databases {
            let image = super::image(s, &format!("{}-exporter", d.kind.as_str()));
            exporter(&mut out, d, image);
        }
        rules::contribute(s, &mut out);
        dashboards::contribute(s, &mut out);
        out
    }

    fn check(
        &self,
        m: &crate::manifest::Manifest,
        spans: &crate::load::SpanMap,
    ) -> Vec<crate::diag::Diagnostic> {
        let mut out = Vec::new();
        for (key, what, name) in super::manifest_names(m) {
            if let Some(d) = m
                .databases
                .iter()
                .find(|d| format!("{}-exporter", d.name) == name)
            {
                out.push(
                    crate::diag::Diagnostic::new(format!(
                        "{what} name `{name}` is taken by the exporter of database `{}`",
                        d.name
                    ))
                    .key(&key)
                    .span(spans.value(&key))
                    .help("each database gets an exporter named `<database>-exporter`; rename one of them"),
                );
            }
        }
        out
    }
}

/// The `.env` login of a database: its user (when the image takes one) and password.
fn login(d: &Database, out: &mut Contribution) {
    let login = Login::of(d);
    if kind(d.kind).has_user() {
        out.add_var(EnvVar {
            name: login.user_var.clone(),
            description: format!("{} user name of database `{}`", d.kind.as_str(), d.name),
            how: "a name other than admin or root".into(),
            secret: false,
            value: format!("{}_app", d.name.replace('-', "_")),
            random: false,
            section: Section::DatabaseLogin,
        });
    }
    out.add_var(EnvVar {
        name: login.password_var,
        description: format!("{} password of database `{}`", d.kind.as_str(), d.name),
        how: super::RANDOM.into(),
        secret: true,
        value: String::new(),
        random: true,
        section: Section::DatabaseLogin,
    });
}

/// The server container of a database and its data volume.
fn server(d: &Database, out: &mut Contribution) {
    let mut c = ComposeService::new(d.name.clone(), Role::Database);
    c.image = Some(d.image.clone());
    let data_path = kind(d.kind).server(d, &Login::of(d), &mut c);
    c.volumes = vec![format!("{}:{data_path}", d.volume)];
    c.networks = vec![attach("app")];
    out.compose.push(c);
    out.volumes.push(d.volume.clone());
}

/// `<db>-exporter` for one database, with the credentials the database itself uses.
fn exporter(out: &mut Contribution, d: &Database, image: String) {
    let name = format!("{}-exporter", d.name);
    let mut c = ComposeService::new(name.clone(), Role::Exporter);
    c.image = Some(image);
    let port = kind(d.kind).exporter(d, &Login::of(d), &mut c);
    c.expose = vec![port];
    // Exporters are static Go binaries that only talk to their database over the network.
    c.user = Some(NOBODY.into());
    c.hardening = read_only_hardening();
    c.depends_on = vec![Dependency {
        name: d.name.clone(),
        condition: Condition::ServiceHealthy,
    }];
    c.networks = vec![attach("app"), attach("monitoring")];
    out.compose.push(c);
    let about = format!(
        "the {} exporter of database \"{}\"",
        d.kind.as_str(),
        d.name
    );
    out.add_job(
        &name,
        "/metrics",
        &about,
        vec![group(&d.name, vec![format!("{name}:{port}")])],
    );
}

/// Where the database listens, as its exporter reaches it (`orders-db:5432`).
fn host(d: &Database) -> String {
    format!("{}:{}", d.name, d.kind.port())
}

/// Hardening of an image whose entrypoint starts as root: it walks the data folder (owned
/// by the database user, mode 700: DAC_OVERRIDE), chowns what that user does not own
/// (CHOWN), then re-executes itself as that user with gosu (SETUID, SETGID). `extra`: what
/// else the entrypoint does as root (postgres chmods PGDATA: FOWNER). The root stays
/// writable (sockets, pid files, init scripts).
fn gosu_entrypoint(extra: &[&str]) -> Hardening {
    let mut cap_add: Vec<String> = ["CHOWN", "DAC_OVERRIDE", "SETGID", "SETUID"]
        .iter()
        .chain(extra)
        .map(|c| (*c).to_string())
        .collect();
    cap_add.sort();
    Hardening {
        cap_add,
        ..Hardening::default()
    }
}

/// The health check of a database server (`CMD-SHELL`), with the timing every kind uses.
fn healthcheck(shell: &str) -> Healthcheck {
    Healthcheck {
        exec: Vec::new(),
        shell: shell.into(),
        interval: "10s".into(),
        timeout: "5s".into(),
        retries: 10,
        start_period: "30s".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server container of a database of `kind`, as the kind fills it in.
    fn server_of(k: DatabaseKind) -> ComposeService {
        let d = Database {
            name: "db".into(),
            kind: k,
            image: "x:1".into(),
            volume: "db-data".into(),
        };
        let mut c = ComposeService::new("db", Role::Database);
        kind(k).server(&d, &Login::of(&d), &mut c);
        c
    }

    #[test]
    fn database_images_get_the_capabilities_their_entrypoints_need() {
        let caps = |k| server_of(k).hardening.cap_add;
        assert_eq!(
            caps(DatabaseKind::Postgres),
            vec!["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]
        );
        assert!(caps(DatabaseKind::Redis).is_empty());
        assert!(server_of(DatabaseKind::Redis).hardening.read_only);
        assert!(caps(DatabaseKind::Elasticsearch).is_empty());
    }
}
