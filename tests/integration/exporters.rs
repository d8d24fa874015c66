//! Exporters, blackbox probes, `web.yml` and `remote_write` (the node_exporter, cadvisor,
//! blackbox, databases and prometheus components under src/components/): the
//! example that enables every exporter and database kind, checked by promtool
//! (`check config`, `check web-config`), the bcrypt hash that must not drift, and no
//! secret value in any generated file.

use std::process::Command;

use assert_cmd::Command as Bin;

use crate::support::{Project, Run, require_tool};

fn obsgen(p: &Project, args: &[&str], password: Option<&str>) -> Run {
    let mut cmd = Bin::cargo_bin("obsgen").unwrap();
    cmd.current_dir(p.path())
        .env_remove("CI")
        .env_remove("PROMETHEUS_PASSWORD")
        .env("NO_COLOR", "1")
        .args(args);
    if let Some(pw) = password {
        cmd.env("PROMETHEUS_PASSWORD", pw);
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

use crate::support::yaml;

fn web_hash(p: &Project) -> String {
    yaml(&p.read("monitoring/prometheus/web.yml"))["basic_auth_users"]["prometheus"]
        .as_str()
        .unwrap()
        .to_string()
}

fn run(cmd: &mut Command) -> (bool, String) {
    let (code, text) = crate::support::tool(cmd);
    (code == 0, text)
}

#[test]
fn every_exporter_and_database_kind_is_scraped_by_its_own_job() {
    let p = Project::example("all-exporters");
    p.generate();
    let compose = yaml(&p.read("compose.yaml"));
    let services = compose["services"].as_object().unwrap();
    for (db, port) in [
        ("orders-db", 9187),
        ("accounts-db", 9104),
        ("catalog-db", 9216),
        ("cache", 9121),
        ("search", 9114),
    ] {
        let name = format!("{db}-exporter");
        let svc = &services[&name];
        assert_eq!(
            svc["depends_on"][db]["condition"], "service_healthy",
            "{name}"
        );
        // credentials: only references to the variables the database itself reads
        let db_env = services[db]["environment"].to_string();
        for v in svc["environment"].as_object().unwrap().values() {
            let v = v.as_str().unwrap();
            if let Some(var) = v.strip_prefix("${").and_then(|v| v.split(':').next()) {
                assert!(db_env.contains(var), "{name} reads {var}, {db} does not");
            } else {
                assert!(!v.to_lowercase().contains("pass"), "{name}: literal {v}");
            }
        }
        let targets = yaml(&p.read(&format!("monitoring/prometheus/targets/{name}.yml")));
        assert_eq!(targets[0]["targets"][0], format!("{name}:{port}"));
        assert_eq!(targets[0]["labels"]["service"], db);
    }
    let prom = yaml(&p.read("monitoring/prometheus/prometheus.production.yml"));
    let jobs: Vec<&str> = prom["scrape_configs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job_name"].as_str().unwrap())
        .collect();
    for job in [
        "prometheus",
        "grafana",
        "node-exporter",
        "cadvisor",
        "blackbox-exporter",
        "probe",
        "orders-db-exporter",
        "search-exporter",
    ] {
        assert!(jobs.contains(&job), "no job {job}: {jobs:?}");
        if job != "probe" {
            assert!(
                services.contains_key(job),
                "job {job} is no Compose service"
            );
        }
    }
    assert_eq!(
        jobs.iter().filter(|j| **j == "alertmanager").count(),
        1,
        "Alertmanager is scraped by exactly one job: {jobs:?}"
    );
    let cadvisor = &services["cadvisor"];
    assert_eq!(cadvisor["privileged"], true);
    assert_eq!(cadvisor["devices"][0], "/dev/kmsg");
    for m in [
        "/:/rootfs:ro",
        "/var/run:/var/run:ro",
        "/sys:/sys:ro",
        "/var/lib/docker/:/var/lib/docker:ro",
        "/dev/disk/:/dev/disk:ro",
    ] {
        assert!(
            cadvisor["volumes"].as_array().unwrap().contains(&m.into()),
            "{m}"
        );
    }
    assert_eq!(services["node-exporter"]["pid"], "host");
}

#[test]
fn every_address_prometheus_talks_to_is_in_a_target_file() {
    // An end-to-end run maps hosts to loopback by rewriting only targets/*.yml: the
    // probe job's exporter address rides in the probe target file as a label.
    let p = Project::example("all-exporters");
    p.generate();
    let compose = yaml(&p.read("compose.yaml"));
    let names: Vec<String> = compose["services"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for env in ["development", "staging", "production"] {
        let text = p.read(&format!("monitoring/prometheus/prometheus.{env}.yml"));
        let prom = yaml(&text);
        for job in prom["scrape_configs"].as_array().unwrap() {
            assert!(job.get("static_configs").is_none(), "{job}");
        }
        for n in &names {
            assert!(!text.contains(&format!("{n}:")), "{env}: `{n}:` in {text}");
        }
        let probe = prom["scrape_configs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|j| j["job_name"] == "probe")
            .unwrap();
        assert_eq!(probe["params"]["module"][0], "http_2xx");
        let relabel = probe["relabel_configs"].as_array().unwrap();
        assert!(relabel.iter().any(|r| r["target_label"] == "__address__"
            && r["source_labels"][0] == "__tmp_blackbox_exporter"));
    }
    let probes = yaml(&p.read("monitoring/prometheus/targets/probe.yml"));
    let groups = probes.as_array().unwrap();
    assert_eq!(groups.len(), 2);
    for g in groups {
        assert_eq!(
            g["labels"]["__tmp_blackbox_exporter"],
            "blackbox-exporter:9115"
        );
    }
    assert_eq!(groups[1]["targets"][1], "http://api-2:8081/health?full=1");
}

#[test]
fn promtool_accepts_every_environment_of_the_all_exporters_example() {
    let Some(promtool) = require_tool("promtool") else {
        return;
    };
    let p = Project::example("all-exporters");
    p.generate();
    for env in ["development", "staging", "production"] {
        let f = p
            .path()
            .join(format!("monitoring/prometheus/prometheus.{env}.yml"));
        let (ok, text) = run(Command::new(&promtool).args(["check", "config"]).arg(&f));
        assert!(ok && !text.contains("WARNING"), "{env}:\n{text}");
        let prom = yaml(&std::fs::read_to_string(&f).unwrap());
        assert_eq!(prom["remote_write"].as_array().unwrap().len(), 2);
    }
}

#[test]
fn promtool_checks_web_yml_locked_and_with_a_password() {
    let Some(promtool) = require_tool("promtool") else {
        return;
    };
    let p = Project::example("minimal");
    p.generate();
    let web = p.path().join("monitoring/prometheus/web.yml");
    let check = || {
        run(Command::new(&promtool)
            .args(["check", "web-config"])
            .arg(&web))
    };
    let (ok, text) = check();
    assert!(ok, "locked placeholder:\n{text}");
    obsgen(&p, &["generate"], Some("correct-horse-battery")).expect(0);
    let (ok, text) = check();
    assert!(ok, "real hash:\n{text}");
    // the check can fail: a plain-text password is not a bcrypt hash
    std::fs::write(&web, "basic_auth_users:\n  prometheus: \"plain\"\n").unwrap();
    let (ok, _) = check();
    assert!(!ok, "promtool accepted a plain-text password");
}

#[test]
fn web_hash_does_not_drift_and_follows_the_password() {
    let p = Project::example("minimal");
    p.generate();
    let locked = web_hash(&p);
    assert!(p.read("monitoring/prometheus/web.yml").contains("LOCKED"));
    obsgen(&p, &["generate"], Some("pw-one-4f8a")).expect(0);
    let first = web_hash(&p);
    assert_ne!(first, locked);
    assert!(bcrypt::verify("pw-one-4f8a", &first).unwrap());
    assert!(!p.read("monitoring/prometheus/web.yml").contains("LOCKED"));
    // same password: nothing written
    let again = obsgen(&p, &["generate"], Some("pw-one-4f8a")).expect(0);
    assert!(again.stdout.contains("0 written"), "{}", again.stdout);
    // CI without the password: clean
    obsgen(&p, &["check"], None).expect(0);
    // the password from .env works as well
    p.write(".env", "PROMETHEUS_PASSWORD=pw-one-4f8a\n");
    obsgen(&p, &["check"], None).expect(0);
    // a changed password is drift, and generate re-hashes
    let check = obsgen(&p, &["check"], Some("pw-two-9c1d")).expect(1);
    assert!(
        check
            .stdout
            .contains("stale     monitoring/prometheus/web.yml"),
        "{}",
        check.stdout
    );
    obsgen(&p, &["generate"], Some("pw-two-9c1d")).expect(0);
    assert!(bcrypt::verify("pw-two-9c1d", &web_hash(&p)).unwrap());
    // a hash edited by hand is not carried forward: check reports the edit
    let web = p.read("monitoring/prometheus/web.yml");
    let forged = bcrypt::hash("attacker", 4).unwrap();
    p.write(
        "monitoring/prometheus/web.yml",
        &web.replace(&web_hash(&p), &forged),
    );
    let check = obsgen(&p, &["check"], None).expect(1);
    assert!(
        check
            .stdout
            .contains("modified  monitoring/prometheus/web.yml"),
        "{}",
        check.stdout
    );
}

#[test]
fn no_secret_value_reaches_a_generated_file() {
    let p = Project::example("all-exporters");
    p.generate();
    // A user's .env: a distinct value for every variable .env.example lists.
    let vars: Vec<String> = p
        .read(".env.example")
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| l.split('=').next().unwrap().to_string())
        .collect();
    assert!(vars.iter().any(|v| v == "ORDERS_DB_PASSWORD"), "{vars:?}");
    let secret = |v: &str| format!("S3cr3t-{}-value", v.to_lowercase());
    let dotenv: String = vars
        .iter()
        .map(|v| format!("{v}={}\n", secret(v)))
        .collect();
    p.write(".env", &dotenv);
    p.write("secrets/grafana-cloud-token", "S3cr3t-grafana-cloud-token");
    p.write("secrets/mimir-token", "S3cr3t-mimir-token");
    p.write(
        "secrets/prometheus_password",
        "S3cr3t-prometheus_password-value",
    );
    obsgen(&p, &["generate"], None).expect(0);
    let hash = web_hash(&p);
    assert!(bcrypt::verify(secret("PROMETHEUS_PASSWORD"), &hash).unwrap());
    let lock = p.read("obsgen.lock");
    let mut checked = 0;
    for (path, bytes) in p.tree() {
        if !lock.contains(&format!("path = \"{path}\"")) && path != "obsgen.lock" {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("S3cr3t"), "{path} holds a secret value");
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");
}
