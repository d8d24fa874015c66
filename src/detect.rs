//! What `obsgen init` finds in a folder before it asks anything: an existing Compose
//! file (services, images, ports, databases recognised by image), Dockerfiles
//! (`EXPOSE`), and language manifests (`package.json`, `pyproject.toml`,
//! `requirements.txt`, `go.mod`, `Cargo.toml`, `pom.xml`) with the Prometheus client
//! library they use. Everything found is only a proposal (a default the wizard shows);
//! a file that cannot be read or parsed is skipped with a warning, never an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::manifest::DatabaseKind;

/// One application service found in the folder.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FoundService {
    pub name: String,
    /// Pinned image (never a `latest` or untagged one).
    pub image: Option<String>,
    /// Build context relative to the folder (`./api`, `.`).
    pub build: Option<String>,
    /// Container port.
    pub port: Option<u16>,
    /// Host port it is published on in the existing Compose file.
    pub host_port: Option<u16>,
    /// Publishes a port in the existing Compose file.
    pub public: bool,
    /// `node`, `python`, `go`, `rust`, `java`.
    pub language: Option<String>,
    /// Prometheus client library (`prom-client`, `client_golang` …).
    pub metrics_lib: Option<String>,
    /// Metrics path implied by the library (`/actuator/prometheus` for Micrometer).
    pub metrics_path: Option<String>,
    /// Health path implied by the framework (`/actuator/health` for Spring Boot).
    pub health: Option<String>,
}

/// A database or cache found in the Compose file, recognised by its image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoundDatabase {
    pub name: String,
    pub kind: DatabaseKind,
    /// The image tag, when it is a plain version (`16`, `7.0.24`).
    pub version: Option<String>,
}

/// Everything found, with a line per finding for the wizard to show.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Found {
    pub services: Vec<FoundService>,
    pub databases: Vec<FoundDatabase>,
    /// `compose.yaml: service api (image …, port 8080)`, in the order found.
    pub notes: Vec<String>,
    /// Files that could not be read or parsed.
    pub warnings: Vec<String>,
}

const COMPOSE_FILES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];

const SKIP_DIRS: [&str; 8] = [
    "node_modules",
    "target",
    "vendor",
    "dist",
    "build",
    "monitoring",
    "venv",
    "__pycache__",
];

/// A database kind from an image reference (`postgres:16`, `bitnami/redis`,
/// `docker.elastic.co/elasticsearch/elasticsearch:8.15.0`): each kind names its images.
pub fn database_kind(image: &str) -> Option<DatabaseKind> {
    crate::components::databases::kind_of_image(image)
}

/// The tag of an image when it pins a version (`1.4.2`, `16-alpine` → `16-alpine`);
/// `None` for no tag or `latest`.
fn pinned_tag(image: &str) -> Option<&str> {
    if image.contains('@') {
        return None;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    let (_, tag) = last.split_once(':')?;
    (!tag.is_empty() && tag != "latest").then_some(tag)
}

/// A DNS label from any name (`My_API` → `my-api`), or `None` when nothing is left.
fn label(name: &str) -> Option<String> {
    let mut s: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let s: String = s.trim_matches('-').chars().take(63).collect();
    let s = s.trim_end_matches('-').to_string();
    crate::units::is_dns_label(&s).then_some(s)
}

/// Looks at `dir` (and its direct sub-folders) and proposes services and databases.
pub fn scan(dir: &Path) -> Found {
    let mut found = Found::default();
    let compose = COMPOSE_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file());
    // A Compose file obsgen wrote itself (listed in obsgen.lock) is not the user's stack.
    let locked: Vec<String> = std::fs::read_to_string(dir.join(crate::lock::LOCK_FILE))
        .ok()
        .and_then(|t| crate::lock::Lock::parse(&t).ok())
        .map(|l| l.files.into_iter().map(|f| f.path).collect())
        .unwrap_or_default();
    let compose = compose.filter(|p| {
        let name = rel(dir, p);
        let ours = locked.contains(&name);
        if ours {
            found.notes.push(format!(
                "{name}: written by obsgen (in obsgen.lock), not read"
            ));
        }
        !ours
    });
    if let Some(path) = &compose {
        compose_file(dir, path, &mut found);
    }
    // Folders that may hold a service: the root and each direct sub-folder.
    let mut folders: Vec<(String, PathBuf)> = vec![(".".into(), dir.to_path_buf())];
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut subs: Vec<(String, PathBuf)> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                (!name.starts_with('.') && !SKIP_DIRS.contains(&name.as_str()))
                    .then(|| (format!("./{name}"), e.path()))
            })
            .collect();
        subs.sort();
        folders.extend(subs);
    }
    let mut by_folder: Vec<(String, FoundService)> = Vec::new();
    for (rel, path) in &folders {
        let mut svc = FoundService::default();
        let mut any = false;
        if let Some(port) = dockerfile(dir, &path.join("Dockerfile"), &mut found) {
            svc.port = Some(port);
            any = true;
        } else if path.join("Dockerfile").is_file() {
            any = true;
        }
        any |= language(dir, path, &mut svc, &mut found);
        if any {
            svc.build = Some(rel.clone());
            by_folder.push((rel.clone(), svc));
        }
    }
    if compose.is_some() {
        // Compose services win; folder findings fill in what they build.
        for (rel, f) in by_folder {
            if let Some(s) = found
                .services
                .iter_mut()
                .find(|s| s.build.as_deref().map(normalize) == Some(normalize(&rel)))
            {
                s.port = s.port.or(f.port);
                s.language = s.language.clone().or(f.language);
                s.metrics_lib = s.metrics_lib.clone().or(f.metrics_lib);
                s.metrics_path = s.metrics_path.clone().or(f.metrics_path);
                s.health = s.health.clone().or(f.health);
            }
        }
    } else {
        let root_name = name_from_folder(dir);
        let has_subs = by_folder.iter().any(|(rel, _)| rel != ".");
        for (rel, mut f) in by_folder {
            // A root build file next to service folders is usually a workspace.
            if rel == "." && has_subs {
                continue;
            }
            f.name = if rel == "." {
                root_name.clone()
            } else {
                match label(rel.trim_start_matches("./")) {
                    Some(n) => n,
                    None => continue,
                }
            };
            found.services.push(f);
        }
    }
    found
}

/// `./api/` and `api` → `api`; `.` and `./` → `.`.
fn normalize(p: &str) -> String {
    let t = p.trim_start_matches("./").trim_end_matches('/');
    if t.is_empty() || t == "." {
        ".".into()
    } else {
        t.to_string()
    }
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn read(root: &Path, path: &Path, found: &mut Found) -> Option<String> {
    if !path.is_file() {
        return None;
    }
    match std::fs::read_to_string(path) {
        Ok(t) => Some(t),
        Err(e) => {
            found
                .warnings
                .push(format!("{}: skipped ({e})", rel(root, path)));
            None
        }
    }
}

/// Container port from `ports` (`"8080:80"`, `"127.0.0.1:80:8080/tcp"`, `80`, long form)
/// or `expose`; the bool says whether a port is published.
fn compose_port(svc: &serde_json::Value) -> (Option<u16>, Option<u16>, bool) {
    fn host_side(v: &serde_json::Value) -> Option<u16> {
        match v {
            serde_json::Value::String(s) => {
                let s = s.split('/').next().unwrap_or(s);
                let parts: Vec<&str> = s.split(':').collect();
                (parts.len() >= 2)
                    .then(|| {
                        parts[parts.len() - 2]
                            .split('-')
                            .next()?
                            .trim()
                            .parse()
                            .ok()
                    })
                    .flatten()
            }
            serde_json::Value::Object(o) => match o.get("published") {
                Some(serde_json::Value::Number(n)) => {
                    n.as_u64().and_then(|n| u16::try_from(n).ok())
                }
                Some(serde_json::Value::String(s)) => s.parse().ok(),
                _ => None,
            },
            _ => None,
        }
    }
    fn container_side(v: &serde_json::Value) -> Option<u16> {
        match v {
            serde_json::Value::Number(n) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            serde_json::Value::String(s) => {
                let s = s.split('/').next().unwrap_or(s);
                let last = s.rsplit(':').next().unwrap_or(s);
                let first = last.split('-').next().unwrap_or(last);
                first.trim().parse().ok()
            }
            serde_json::Value::Object(o) => o.get("target").and_then(container_side),
            _ => None,
        }
    }
    let first = svc
        .get("ports")
        .and_then(|p| p.as_array())
        .and_then(|a| a.iter().find(|v| container_side(v).is_some()));
    if let Some(v) = first {
        return (container_side(v), host_side(v), true);
    }
    let exposed = svc
        .get("expose")
        .and_then(|p| p.as_array())
        .and_then(|a| a.iter().find_map(container_side));
    (exposed, None, false)
}

fn compose_file(root: &Path, path: &Path, found: &mut Found) {
    let file = rel(root, path);
    let Some(text) = read(root, path, found) else {
        return;
    };
    let doc: serde_json::Value = match serde_saphyr::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            let first = e.to_string();
            let first = first.lines().next().unwrap_or_default();
            found
                .warnings
                .push(format!("{file}: skipped, not valid YAML ({first})"));
            return;
        }
    };
    let Some(services) = doc.get("services").and_then(|s| s.as_object()) else {
        found
            .warnings
            .push(format!("{file}: skipped, no `services` mapping"));
        return;
    };
    // serde_json maps are sorted; keep the file's order by re-reading the keys in order.
    let mut names: Vec<&String> = services.keys().collect();
    names.sort_by_key(|n| text.find(&format!("\n  {n}:")).unwrap_or(usize::MAX));
    for raw in names {
        let svc = &services[raw.as_str()];
        let Some(name) = label(raw) else {
            found.warnings.push(format!(
                "{file}: service `{raw}` skipped (not a usable name)"
            ));
            continue;
        };
        let image = svc.get("image").and_then(|i| i.as_str());
        if let Some(kind) = image.and_then(database_kind) {
            let version = image
                .and_then(pinned_tag)
                .filter(|t| t.starts_with(|c: char| c.is_ascii_digit()))
                .map(str::to_string);
            found.notes.push(format!(
                "{file}: database `{name}` ({}, image {})",
                kind.as_str(),
                image.unwrap_or_default()
            ));
            found.databases.push(FoundDatabase {
                name,
                kind,
                version,
            });
            continue;
        }
        let build = match svc.get("build") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Object(o)) => o
                .get("context")
                .and_then(|c| c.as_str())
                .map(str::to_string)
                .or(Some(".".into())),
            _ => None,
        };
        let build = build.map(|b| {
            let n = normalize(&b);
            if n == "." {
                ".".into()
            } else {
                format!("./{n}")
            }
        });
        let (port, host_port, public) = compose_port(svc);
        let pinned = image
            .filter(|i| pinned_tag(i).is_some())
            .map(str::to_string);
        let build = match (&pinned, build) {
            (_, Some(b)) => Some(b),
            (None, None) => {
                // An unpinned image (`nginx`, `app:latest`): propose building it instead.
                found.notes.push(format!(
                    "{file}: `{name}` uses an unpinned image ({}); proposed as a build from ./{name}",
                    image.unwrap_or("none")
                ));
                Some(format!("./{name}"))
            }
            (Some(_), None) => None,
        };
        let image = if build.is_some() { None } else { pinned };
        found.notes.push(format!(
            "{file}: service `{name}` ({}{})",
            match (&image, &build) {
                (Some(i), _) => format!("image {i}"),
                (None, Some(b)) => format!("build {b}"),
                _ => String::new(),
            },
            port.map(|p| format!(", port {p}{}", if public { " published" } else { "" }))
                .unwrap_or_default()
        ));
        found.services.push(FoundService {
            name,
            image,
            build,
            port,
            host_port: host_port.filter(|h| Some(*h) != port),
            public,
            ..Default::default()
        });
    }
}

/// The first `EXPOSE` port of a Dockerfile.
fn dockerfile(root: &Path, path: &Path, found: &mut Found) -> Option<u16> {
    let text = read(root, path, found)?;
    let port = text.lines().find_map(|line| {
        let line = line.trim();
        let (cmd, rest) = line.split_once(char::is_whitespace)?;
        if !cmd.eq_ignore_ascii_case("EXPOSE") {
            return None;
        }
        rest.split_whitespace()
            .find_map(|p| p.split('/').next()?.parse::<u16>().ok())
    });
    match port {
        Some(p) => found.notes.push(format!("{}: EXPOSE {p}", rel(root, path))),
        None => found.notes.push(format!("{}: no EXPOSE", rel(root, path))),
    }
    port
}

/// Language and metrics library from the build files in `dir`; true when one was found.
fn language(root: &Path, dir: &Path, svc: &mut FoundService, found: &mut Found) -> bool {
    let mut hit = false;
    let note = |found: &mut Found, file: &Path, lang: &str, lib: &Option<String>| {
        found.notes.push(format!(
            "{}: {lang}{}",
            rel(root, file),
            lib.as_ref()
                .map(|l| format!(", metrics library {l}"))
                .unwrap_or_else(|| ", no Prometheus client library".into())
        ));
    };
    // package.json
    let path = dir.join("package.json");
    if let Some(text) = read(root, &path, found) {
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => {
                let deps: Vec<String> = ["dependencies", "devDependencies"]
                    .iter()
                    .filter_map(|k| v.get(k)?.as_object())
                    .flat_map(|o| o.keys().cloned())
                    .collect();
                let lib = [
                    "prom-client",
                    "express-prom-bundle",
                    "@opentelemetry/exporter-prometheus",
                ]
                .into_iter()
                .find(|l| deps.iter().any(|d| d == l))
                .map(str::to_string);
                note(found, &path, "node", &lib);
                set_lang(svc, "node", lib, None, None);
                hit = true;
            }
            Err(e) => found.warnings.push(format!(
                "{}: skipped, not valid JSON ({e})",
                rel(root, &path)
            )),
        }
    }
    // pyproject.toml / requirements.txt
    let py_libs = [
        "prometheus-fastapi-instrumentator",
        "prometheus-flask-exporter",
        "django-prometheus",
        "prometheus-client",
    ];
    let norm = |s: &str| s.to_lowercase().replace('_', "-");
    let py_lib = |deps: &[String]| {
        py_libs
            .into_iter()
            .find(|l| deps.iter().any(|d| d.starts_with(l)))
            .map(str::to_string)
    };
    let bad_toml = |found: &mut Found, path: &Path, e: toml::de::Error| {
        found.warnings.push(format!(
            "{}: skipped, not valid TOML ({})",
            rel(root, path),
            e.message()
        ))
    };
    let path = dir.join("pyproject.toml");
    if let Some(text) = read(root, &path, found) {
        match toml::from_str::<toml::Table>(&text) {
            Ok(t) => {
                let mut deps: Vec<String> = Vec::new();
                if let Some(a) = t
                    .get("project")
                    .and_then(|p| p.get("dependencies"))
                    .and_then(|d| d.as_array())
                {
                    deps.extend(a.iter().filter_map(|d| d.as_str()).map(norm));
                }
                if let Some(o) = t
                    .get("tool")
                    .and_then(|p| p.get("poetry"))
                    .and_then(|p| p.get("dependencies"))
                    .and_then(|d| d.as_table())
                {
                    deps.extend(o.keys().map(|k| norm(k)));
                }
                let lib = py_lib(&deps);
                note(found, &path, "python", &lib);
                set_lang(svc, "python", lib, None, None);
                hit = true;
            }
            Err(e) => bad_toml(found, &path, e),
        }
    }
    let path = dir.join("requirements.txt");
    if let Some(text) = read(root, &path, found) {
        let deps: Vec<String> = text
            .lines()
            .map(|l| norm(l.trim()))
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        let lib = py_lib(&deps);
        note(found, &path, "python", &lib);
        set_lang(svc, "python", lib, None, None);
        hit = true;
    }
    // go.mod
    let path = dir.join("go.mod");
    if let Some(text) = read(root, &path, found) {
        let lib = text
            .contains("github.com/prometheus/client_golang")
            .then(|| "client_golang".to_string())
            .or_else(|| {
                text.contains("github.com/VictoriaMetrics/metrics")
                    .then(|| "VictoriaMetrics/metrics".to_string())
            });
        note(found, &path, "go", &lib);
        set_lang(svc, "go", lib, None, None);
        hit = true;
    }
    // Cargo.toml
    let path = dir.join("Cargo.toml");
    if let Some(text) = read(root, &path, found) {
        match toml::from_str::<toml::Table>(&text) {
            Ok(t) => {
                let deps: Vec<&String> = ["dependencies", "dev-dependencies"]
                    .iter()
                    .filter_map(|k| t.get(*k)?.as_table())
                    .flat_map(|o| o.keys())
                    .collect();
                let lib = [
                    "metrics-exporter-prometheus",
                    "prometheus-client",
                    "prometheus",
                    "autometrics",
                ]
                .into_iter()
                .find(|l| deps.iter().any(|d| d.as_str() == *l))
                .map(str::to_string);
                // A workspace root without a package is not a service.
                if t.contains_key("package") {
                    note(found, &path, "rust", &lib);
                    set_lang(svc, "rust", lib, None, None);
                    hit = true;
                }
            }
            Err(e) => bad_toml(found, &path, e),
        }
    }
    // pom.xml (a text search is enough to find artifact ids)
    let path = dir.join("pom.xml");
    if let Some(text) = read(root, &path, found) {
        if !text.contains("<project") {
            found
                .warnings
                .push(format!("{}: skipped, not a Maven POM", rel(root, &path)));
        } else {
            let micrometer =
                text.contains("<artifactId>micrometer-registry-prometheus</artifactId>");
            let actuator = text.contains("spring-boot-starter-actuator");
            let lib = if micrometer {
                Some("micrometer-registry-prometheus".to_string())
            } else if text.contains("<artifactId>simpleclient")
                || text.contains("<artifactId>prometheus-metrics-core")
            {
                Some("prometheus client_java".to_string())
            } else {
                None
            };
            note(found, &path, "java", &lib);
            let (metrics, health) = if micrometer && actuator {
                (Some("/actuator/prometheus"), Some("/actuator/health"))
            } else {
                (None, None)
            };
            set_lang(svc, "java", lib, metrics, health);
            hit = true;
        }
    }
    hit
}

fn set_lang(
    svc: &mut FoundService,
    lang: &str,
    lib: Option<String>,
    metrics: Option<&str>,
    health: Option<&str>,
) {
    svc.language.get_or_insert_with(|| lang.to_string());
    if svc.metrics_lib.is_none() {
        svc.metrics_lib = lib;
    }
    if svc.metrics_path.is_none() {
        svc.metrics_path = metrics.map(str::to_string);
    }
    if svc.health.is_none() {
        svc.health = health.map(str::to_string);
    }
}

/// Database entries as the answers spell them (`name:kind`, or `kind` when equal).
pub fn database_answers(dbs: &[FoundDatabase]) -> Vec<String> {
    dbs.iter()
        .map(|d| {
            if d.name == d.kind.as_str() {
                d.name.clone()
            } else {
                format!("{}:{}", d.name, d.kind.as_str())
            }
        })
        .collect()
}

/// Services found, by name (for tests and `explain`).
pub fn by_name(found: &Found) -> BTreeMap<&str, &FoundService> {
    found
        .services
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect()
}

/// A DNS label made from a folder name (`My Shop` → `my-shop`), or `app`.
pub fn name_from_folder(dir: &Path) -> String {
    let raw = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    let mut name: String = raw
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    let name: String = name.trim_matches('-').chars().take(63).collect();
    let name = name.trim_end_matches('-').to_string();
    if crate::units::is_dns_label(&name) {
        name
    } else {
        "app".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_kinds_from_images() {
        assert_eq!(database_kind("postgres:16"), Some(DatabaseKind::Postgres));
        assert_eq!(
            database_kind("bitnami/redis:7.2"),
            Some(DatabaseKind::Redis)
        );
        assert_eq!(database_kind("mongo"), Some(DatabaseKind::Mongodb));
        assert_eq!(
            database_kind("docker.elastic.co/elasticsearch/elasticsearch:8.15.0"),
            Some(DatabaseKind::Elasticsearch)
        );
        assert_eq!(database_kind("mariadb:11"), Some(DatabaseKind::Mysql));
        assert_eq!(database_kind("ghcr.io/acme/api:1.0"), None);
    }

    #[test]
    fn pinned_tags() {
        assert_eq!(pinned_tag("ghcr.io/acme/api:1.4.2"), Some("1.4.2"));
        assert_eq!(pinned_tag("localhost:5000/api"), None);
        assert_eq!(pinned_tag("nginx:latest"), None);
        assert_eq!(pinned_tag("nginx"), None);
    }

    #[test]
    fn compose_ports() {
        let v: serde_json::Value =
            serde_json::json!({"ports": ["127.0.0.1:8080:80/tcp"], "expose": ["9000"]});
        assert_eq!(compose_port(&v), (Some(80), Some(8080), true));
        let v = serde_json::json!({"expose": [9000]});
        assert_eq!(compose_port(&v), (Some(9000), None, false));
        let v = serde_json::json!({"ports": [{"target": 3000, "published": 80}]});
        assert_eq!(compose_port(&v), (Some(3000), Some(80), true));
        let v = serde_json::json!({"ports": ["3000"]});
        assert_eq!(compose_port(&v), (Some(3000), None, true));
    }
}
