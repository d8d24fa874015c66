//! What `obsgen init` finds in a folder: one fixture folder per case under
//! `tests/fixtures/detect/`, each asserting what is proposed; and `init` without a
//! terminal taking those proposals into a manifest that generates.

use obsgen::detect::{FoundService, scan};
use obsgen::manifest::DatabaseKind;

use crate::support::{Project, repo};

fn fixture(name: &str) -> std::path::PathBuf {
    repo().join("tests/fixtures/detect").join(name)
}

fn only_service(case: &str) -> FoundService {
    let found = scan(&fixture(case));
    assert!(found.warnings.is_empty(), "{case}: {:?}", found.warnings);
    assert_eq!(found.services.len(), 1, "{case}: {:?}", found.services);
    found.services[0].clone()
}

#[test]
fn compose_file_services_images_ports_and_databases() {
    let found = scan(&fixture("compose"));
    assert!(found.warnings.is_empty(), "{:?}", found.warnings);
    let names: Vec<&str> = found.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["gateway", "worker", "proxy"], "in file order");
    let gateway = &found.services[0];
    assert_eq!(gateway.build.as_deref(), Some("./gateway"));
    assert_eq!(gateway.image, None);
    assert_eq!(gateway.port, Some(3000), "the container side of 8080:3000");
    assert!(gateway.public, "it publishes a port");
    assert_eq!(
        gateway.language.as_deref(),
        Some("node"),
        "from gateway/package.json"
    );
    assert_eq!(gateway.metrics_lib.as_deref(), Some("prom-client"));
    let worker = &found.services[1];
    assert_eq!(worker.image.as_deref(), Some("ghcr.io/acme/worker:1.2.0"));
    assert_eq!(worker.port, Some(9000), "from expose");
    assert!(!worker.public);
    let proxy = &found.services[2];
    assert_eq!(proxy.image, None, "nginx:latest is not pinned");
    assert_eq!(proxy.build.as_deref(), Some("./proxy"));
    assert!(
        found.notes.iter().any(|n| n.contains("unpinned image")),
        "{:?}",
        found.notes
    );
    let dbs: Vec<(&str, DatabaseKind)> = found
        .databases
        .iter()
        .map(|d| (d.name.as_str(), d.kind))
        .collect();
    assert_eq!(
        dbs,
        [
            ("db", DatabaseKind::Postgres),
            ("cache", DatabaseKind::Redis),
            ("search", DatabaseKind::Elasticsearch),
            ("docs", DatabaseKind::Mongodb),
            ("legacy", DatabaseKind::Mysql),
        ]
    );
}

#[test]
fn dockerfile_expose() {
    let s = only_service("dockerfile");
    assert_eq!(s.name, "dockerfile", "named after the folder");
    assert_eq!(
        s.port,
        Some(5000),
        "the first EXPOSE port, lower case and /tcp allowed"
    );
    assert_eq!(s.build.as_deref(), Some("."));
}

#[test]
fn node_package_json_with_prom_client() {
    let s = only_service("node");
    assert_eq!(s.language.as_deref(), Some("node"));
    assert_eq!(
        s.metrics_lib.as_deref(),
        Some("prom-client"),
        "devDependencies count"
    );
    assert_eq!(s.port, None);
}

#[test]
fn python_pyproject_and_requirements() {
    let s = only_service("python-pyproject");
    assert_eq!(s.language.as_deref(), Some("python"));
    assert_eq!(
        s.metrics_lib.as_deref(),
        Some("prometheus-fastapi-instrumentator")
    );
    let s = only_service("python-requirements");
    assert_eq!(s.language.as_deref(), Some("python"));
    assert_eq!(
        s.metrics_lib.as_deref(),
        Some("prometheus-client"),
        "prometheus_client==0.20.0"
    );
}

#[test]
fn go_mod_with_client_golang() {
    let s = only_service("go");
    assert_eq!(s.language.as_deref(), Some("go"));
    assert_eq!(s.metrics_lib.as_deref(), Some("client_golang"));
}

#[test]
fn cargo_toml_with_metrics_exporter_prometheus() {
    let s = only_service("rust");
    assert_eq!(s.language.as_deref(), Some("rust"));
    assert_eq!(
        s.metrics_lib.as_deref(),
        Some("metrics-exporter-prometheus")
    );
}

#[test]
fn pom_xml_with_micrometer_proposes_actuator_paths() {
    let s = only_service("java");
    assert_eq!(s.language.as_deref(), Some("java"));
    assert_eq!(
        s.metrics_lib.as_deref(),
        Some("micrometer-registry-prometheus")
    );
    assert_eq!(s.metrics_path.as_deref(), Some("/actuator/prometheus"));
    assert_eq!(s.health.as_deref(), Some("/actuator/health"));
}

#[test]
fn service_folders_each_become_a_service() {
    let found = scan(&fixture("monorepo"));
    assert!(found.warnings.is_empty(), "{:?}", found.warnings);
    type Row<'a> = (&'a str, Option<&'a str>, Option<u16>, Option<&'a str>);
    let got: Vec<Row> = found
        .services
        .iter()
        .map(|s| {
            (
                s.name.as_str(),
                s.build.as_deref(),
                s.port,
                s.language.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("api", Some("./api"), Some(8081), Some("go")),
            ("web", Some("./web"), Some(3000), Some("node")),
        ]
    );
}

#[test]
fn broken_files_are_skipped_with_a_warning() {
    let found = scan(&fixture("broken"));
    assert!(found.services.is_empty(), "{:?}", found.services);
    assert_eq!(found.warnings.len(), 2, "{:?}", found.warnings);
    assert!(
        found.warnings[0].starts_with("compose.yaml: skipped"),
        "{:?}",
        found.warnings
    );
    assert!(
        found.warnings[1].starts_with("package.json: skipped"),
        "{:?}",
        found.warnings
    );
    // An empty or missing folder finds nothing and does not fail.
    assert!(scan(&fixture("does-not-exist")).services.is_empty());
}

/// Copies a fixture folder into a fresh project.
pub fn project_from(case: &str) -> Project {
    let p = Project::new();
    let root = fixture(case);
    fn copy(from: &std::path::Path, to: &std::path::Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                copy(&e.path(), &to.join(e.file_name()));
            } else {
                std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
            }
        }
    }
    copy(&root, p.path());
    p
}

#[test]
fn init_without_a_terminal_takes_the_proposals() {
    let p = project_from("compose");
    let out = p.run(&["init", "--set", "project.name=takeover"]).expect(0);
    assert!(out.stdout.contains("wrote"), "{}", out.stdout);
    let m: toml::Table = toml::from_str(&p.read("obsgen.toml")).unwrap();
    let services = m["service"].as_array().unwrap();
    assert_eq!(services.len(), 3);
    assert_eq!(services[0]["name"].as_str(), Some("gateway"));
    assert_eq!(services[0]["port"].as_integer(), Some(3000));
    assert_eq!(
        services[0]["host_port"].as_integer(),
        Some(8080),
        "as in 8080:3000"
    );
    assert_eq!(services[0]["language"].as_str(), Some("node"));
    assert_eq!(
        services[1]["image"].as_str(),
        Some("ghcr.io/acme/worker:1.2.0")
    );
    let dbs: Vec<(&str, &str)> = m["database"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap(), d["kind"].as_str().unwrap()))
        .collect();
    assert_eq!(
        dbs,
        [
            ("db", "postgres"),
            ("cache", "redis"),
            ("search", "elasticsearch"),
            ("docs", "mongodb"),
            ("legacy", "mysql")
        ]
    );
    assert!(p.read("obsgen.toml").contains("# metrics: prom-client"));
    p.generate();
}

#[test]
fn missing_values_without_a_terminal_list_each_set() {
    // The node fixture has a service but no port: that one value is missing.
    let p = project_from("node");
    let out = p.run(&["init"]).expect(2);
    assert!(out.stderr.contains("services[0].port"), "{}", out.stderr);
    assert!(
        out.stderr.contains("--set service.port=8080"),
        "{}",
        out.stderr
    );
    assert!(!p.exists("obsgen.toml"));
    // The --set it names completes it. Port 3000 is Grafana's on the host: the service
    // keeps it inside its container and is published on the next free host port.
    let out = p.run(&["init", "--set", "service.port=3000"]).expect(0);
    assert!(
        out.stderr
            .contains("published on host port 3001 (3000 is taken by the Grafana UI)"),
        "{}",
        out.stderr
    );
    let text = p.read("obsgen.toml");
    assert!(
        text.contains("port = 3000") && text.contains("host_port = 3001"),
        "{text}"
    );
    p.generate();
}

#[test]
fn mangled_build_files_never_panic() {
    // Every fixture file cut short at many points and with bytes flipped: detection
    // skips or reads what it can, and never panics.
    let cases = [
        "compose/docker-compose.yml",
        "compose/gateway/package.json",
        "compose/gateway/Dockerfile",
        "python-pyproject/pyproject.toml",
        "python-requirements/requirements.txt",
        "go/go.mod",
        "rust/Cargo.toml",
        "java/pom.xml",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let dir = tempfile::tempdir().unwrap();
    for case in cases {
        let original = std::fs::read(fixture(case)).unwrap();
        let name = case.rsplit('/').next().unwrap();
        for round in 0..60 {
            let mut bytes = original.clone();
            if round % 2 == 0 {
                bytes.truncate(next() as usize % (original.len() + 1));
            }
            for _ in 0..(round % 5) {
                let at = next() as usize % bytes.len().max(1);
                if let Some(b) = bytes.get_mut(at) {
                    *b = (next() % 256) as u8;
                }
            }
            std::fs::write(dir.path().join(name), &bytes).unwrap();
            let found = scan(dir.path());
            for s in &found.services {
                assert!(!s.name.is_empty(), "{case} round {round}: {s:?}");
            }
            std::fs::remove_file(dir.path().join(name)).unwrap();
        }
    }
}
