//! The Compose stack of every example: the hardening rules on the merged output of every
//! hardened environment (production, staging), every base + overlay combination merged
//! by docker-compose v1 and the merged result checked against the Compose schema, and
//! dclint over every generated compose file.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value as Json;

use crate::support::{Project, examples, require_tool, tool, yaml};

/// The Compose merge of an overlay onto a base, as far as obsgen's files need it:
/// mappings merge key by key; `command` is replaced; other sequences are appended.
fn merge(base: &mut Json, overlay: &Json, key: &str) {
    match (base, overlay) {
        (Json::Object(b), Json::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(existing) => merge(existing, v, k),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Json::Array(b), Json::Array(o)) if key != "command" => {
            for v in o {
                if !b.contains(v) {
                    b.push(v.clone());
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

fn merged(p: &Project, env: &str) -> Json {
    let mut base = yaml(&p.read("compose.yaml"));
    merge(
        &mut base,
        &yaml(&p.read(&format!("compose.{env}.yaml"))),
        "",
    );
    base
}

/// Compose environments of a generated project (`development`, `production` …).
fn environments(p: &Project) -> Vec<String> {
    p.files_ending(".yaml")
        .into_iter()
        .filter_map(|f| {
            f.strip_prefix("compose.")?
                .strip_suffix(".yaml")
                .map(str::to_string)
        })
        .collect()
}

/// Environments whose overlay is hardened (`profiles/production.toml`, staging).
fn hardened(p: &Project) -> Vec<String> {
    environments(p)
        .into_iter()
        .filter(|e| e == "production" || e == "staging")
        .collect()
}

/// A pinned image: a tag that is not `latest` after the last `/`, or a digest.
fn pinned(image: &str) -> bool {
    if image.contains("@sha256:") {
        return true;
    }
    let last = image.rsplit('/').next().unwrap_or("");
    matches!(last.split_once(':'), Some((_, tag)) if !tag.is_empty() && tag != "latest")
}

/// A value that is only a reference to `.env` (`${VAR}`, `${VAR:?msg}`) or a secret file.
fn not_a_literal_secret(value: &str) -> bool {
    if value.starts_with("/run/secrets/") {
        return true;
    }
    let Some(inner) = value.strip_prefix("${").and_then(|v| v.strip_suffix('}')) else {
        return false;
    };
    let name: String = inner
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    !name.is_empty() && !inner[name.len()..].contains("${") && !inner.contains('}')
}

fn is_secret_name(name: &str) -> bool {
    let n = name.to_ascii_uppercase();
    ["PASSWORD", "SECRET", "TOKEN", "KEY"]
        .iter()
        .any(|w| n.contains(w))
}

#[test]
fn secret_and_image_rules_themselves() {
    assert!(pinned("ghcr.io/acme/api:1.2.3"));
    assert!(pinned("localhost:5000/api:1"));
    assert!(pinned("api@sha256:abc"));
    assert!(!pinned("localhost:5000/api"));
    assert!(!pinned("postgres:latest"));
    assert!(!pinned("postgres"));
    assert!(not_a_literal_secret(
        "${DB_PASSWORD:?set DB_PASSWORD in .env}"
    ));
    assert!(not_a_literal_secret("${DB_PASSWORD}"));
    assert!(not_a_literal_secret("/run/secrets/db_password"));
    assert!(!not_a_literal_secret("admin123"));
    assert!(!not_a_literal_secret("${A}${B}"));
    assert!(!not_a_literal_secret("x${DB_PASSWORD}"));
    assert!(is_secret_name("REDIS_PASSWORD") && is_secret_name("api_key"));
    assert!(!is_secret_name("NODE_ENV"));
}

/// The manifest's public services (their Compose names: public services have one replica).
fn public_services(p: &Project) -> BTreeSet<String> {
    let m: toml::Value = toml::from_str(&p.read("obsgen.toml")).unwrap();
    m.get("service")
        .and_then(toml::Value::as_array)
        .into_iter()
        .flatten()
        .filter(|s| s.get("public").and_then(toml::Value::as_bool) == Some(true))
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// Containers with a web UI behind its own login, published on loopback only.
const MONITORING_UIS: &[&str] = &[
    "prometheus",
    "grafana",
    "alertmanager",
    "kibana",
    "jaeger",
    "glitchtip",
    "minio",
];

#[test]
fn hardening_rules_hold_in_every_hardened_environment_of_every_example() {
    let mut checked = 0;
    for name in examples() {
        let p = Project::example(&name);
        p.generate();
        let public = public_services(&p);
        let envs = hardened(&p);
        assert!(envs.iter().any(|e| e == "production"), "{name}: {envs:?}");
        for env in envs {
            let c = merged(&p, &env);
            let at = |svc: &str| format!("{name} {env} {svc}");
            // Networks: app and monitoring internal, edge not.
            for n in ["app", "monitoring"] {
                assert_eq!(
                    c["networks"][n]["internal"],
                    Json::Bool(true),
                    "{name} {env}: network {n} is not internal"
                );
            }
            assert_ne!(c["networks"]["edge"]["internal"], Json::Bool(true));
            let services = c["services"].as_object().unwrap();
            for (svc, s) in services {
                // Published ports: public services, and the monitoring UIs on loopback.
                for port in s["ports"].as_array().into_iter().flatten() {
                    let port = port.as_str().unwrap();
                    if MONITORING_UIS.contains(&svc.as_str()) {
                        assert!(
                            port.starts_with("127.0.0.1:"),
                            "{}: UI published beyond loopback: {port}",
                            at(svc)
                        );
                    } else {
                        assert!(
                            public.contains(svc),
                            "{}: not public, yet publishes {port}",
                            at(svc)
                        );
                    }
                    let nets = s["networks"].as_object().unwrap();
                    assert!(
                        nets.keys()
                            .any(|n| c["networks"][n]["internal"] != Json::Bool(true)),
                        "{}: publishes a port on internal networks only",
                        at(svc)
                    );
                }
                // Images pinned (or built from the project).
                match s["image"].as_str() {
                    Some(image) => assert!(pinned(image), "{}: image {image}", at(svc)),
                    None => assert!(s["build"]["context"].is_string(), "{}", at(svc)),
                }
                // Limits and reservations.
                let res = &s["deploy"]["resources"];
                for part in ["limits", "reservations"] {
                    for field in ["cpus", "memory"] {
                        assert!(
                            res[part][field].is_string(),
                            "{}: no {part}.{field}",
                            at(svc)
                        );
                    }
                }
                // no-new-privileges, capabilities dropped unless privileged.
                assert!(
                    s["security_opt"]
                        .as_array()
                        .is_some_and(|o| o.contains(&Json::from("no-new-privileges:true"))),
                    "{}: no-new-privileges",
                    at(svc)
                );
                if s["privileged"] != Json::Bool(true) {
                    assert_eq!(
                        s["cap_drop"],
                        serde_json::json!(["ALL"]),
                        "{}: cap_drop",
                        at(svc)
                    );
                }
                for cap in s["cap_add"].as_array().into_iter().flatten() {
                    assert_ne!(cap.as_str(), Some("ALL"), "{}", at(svc));
                }
                if s["read_only"] == Json::Bool(true) {
                    assert!(
                        s["tmpfs"].is_array(),
                        "{}: read-only without tmpfs",
                        at(svc)
                    );
                }
                if let Some(user) = s["user"].as_str() {
                    let uid = user.split(':').next().unwrap();
                    if uid == "0" || uid == "root" {
                        // Only a log shipper that reads the Docker socket or the container
                        // log files (root-owned on every host) runs as root, and then
                        // with no capability at all and a read-only root.
                        let mounts: Vec<&str> = s["volumes"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|v| v.as_str())
                            .collect();
                        assert!(
                            mounts.iter().any(|m| m.starts_with("/var/run/docker.sock:")
                                || m.starts_with("/var/lib/docker/containers:")),
                            "{}: user {user} without a reason",
                            at(svc)
                        );
                        assert!(
                            s["cap_add"].is_null(),
                            "{}: root keeps no capability",
                            at(svc)
                        );
                        assert_eq!(s["read_only"], Json::Bool(true), "{}", at(svc));
                    }
                }
                // No literal secrets.
                for (k, v) in s["environment"].as_object().into_iter().flatten() {
                    if is_secret_name(k) {
                        let v = v.as_str().unwrap_or("");
                        assert!(
                            not_a_literal_secret(v),
                            "{}: {k} holds a literal value `{v}`",
                            at(svc)
                        );
                    }
                }
                // Restart policy and log rotation.
                // One-shot jobs (setup, migrations, bucket creation) run once and exit;
                // they say so with a label, and only they may have `restart: "no"`.
                if s["labels"]["org.obsgen.one-shot"] == "true" {
                    assert_eq!(s["restart"], "no", "{}", at(svc));
                    assert!(s["ports"].is_null(), "{}: a job publishes nothing", at(svc));
                } else {
                    assert_eq!(s["restart"], "unless-stopped", "{}", at(svc));
                }
                assert_eq!(s["logging"]["driver"], "json-file", "{}", at(svc));
                assert!(
                    s["logging"]["options"]["max-size"].is_string(),
                    "{}",
                    at(svc)
                );
                assert!(
                    s["logging"]["options"]["max-file"].is_string(),
                    "{}",
                    at(svc)
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 40, "only {checked} services checked");
}

#[test]
fn development_is_not_hardened_and_hot_reload_mounts_the_build_context() {
    let p = Project::example("everything");
    p.generate();
    let dev = merged(&p, "development");
    assert!(dev["networks"]["app"]["internal"].is_null());
    let worker = &dev["services"]["worker-1"];
    assert!(worker["cap_drop"].is_null() && worker["security_opt"].is_null());
    assert_eq!(worker["volumes"], serde_json::json!(["./worker:/app"]));
    assert_eq!(
        worker["command"],
        serde_json::json!(["python", "-m", "worker", "--reload"])
    );
    assert_eq!(worker["env_file"], serde_json::json!(["./worker.env"]));
    // Published on loopback in development (a single replica is).
    assert_eq!(
        dev["services"]["api"]["ports"],
        serde_json::json!(["127.0.0.1:8080:8080"])
    );
    let prod = merged(&p, "production");
    let worker = &prod["services"]["worker-1"];
    assert!(worker["volumes"].is_null(), "no bind mount in production");
    assert!(worker["command"].is_null());
    let api = &prod["services"]["api"];
    assert_eq!(api["read_only"], Json::Bool(true));
    assert_eq!(api["tmpfs"], serde_json::json!(["/tmp"]));
    assert_eq!(api["user"], "10001:10001");
    // egress: on the edge network although ports alone would put it there too.
    assert!(api["networks"]["edge"].is_object());
}

#[test]
fn app_health_checks_and_healthy_dependencies() {
    let p = Project::example("everything");
    p.generate();
    let c = yaml(&p.read("compose.yaml"));
    let api = &c["services"]["api"];
    assert_eq!(
        api["healthcheck"]["test"],
        serde_json::json!([
            "CMD",
            "curl",
            "-fsS",
            "-o",
            "/dev/null",
            "http://127.0.0.1:8080/healthz"
        ])
    );
    assert_eq!(
        c["services"]["worker-2"]["healthcheck"]["test"],
        serde_json::json!(["CMD", "python", "-m", "worker.healthcheck"])
    );
    // The worker has a health check: the api waits for it to be healthy.
    for dep in ["worker-1", "worker-2", "postgres", "cache"] {
        assert_eq!(
            api["depends_on"][dep]["condition"], "service_healthy",
            "{dep}"
        );
    }
    // Default check: wget, exec form (no shell needed).
    let p = Project::example("shop");
    p.generate();
    let c = yaml(&p.read("compose.yaml"));
    assert_eq!(
        c["services"]["gateway"]["healthcheck"]["test"],
        serde_json::json!([
            "CMD",
            "wget",
            "-q",
            "-O",
            "/dev/null",
            "http://127.0.0.1:5921/health"
        ])
    );
    assert_eq!(
        c["services"]["gateway"]["depends_on"]["backend-1"]["condition"],
        "service_healthy"
    );
}

#[test]
fn health_check_none_and_services_without_health_wait_for_the_start() {
    let p = Project::with_manifest(
        r#"
[project]
name = "hc"
[[service]]
name = "web"
image = "ghcr.io/acme/web:1.0.0"
port = 8080
public = true
depends_on = ["api", "jobs"]
[[service]]
name = "api"
image = "ghcr.io/acme/api:1.0.0"
port = 8081
health = "/health"
health_check = "none"
[[service]]
name = "jobs"
image = "ghcr.io/acme/jobs:1.0.0"
port = 8082
"#,
    );
    p.generate();
    let c = yaml(&p.read("compose.yaml"));
    assert!(c["services"]["api"]["healthcheck"].is_null());
    assert!(c["services"]["jobs"]["healthcheck"].is_null());
    for dep in ["api", "jobs"] {
        assert_eq!(
            c["services"]["web"]["depends_on"][dep]["condition"],
            "service_started"
        );
    }
    // The blackbox probe of `health` stays.
    assert!(p.exists("monitoring/prometheus/targets/probe.yml"));
}

#[test]
fn a_custom_hardened_environment_that_publishes_everything_attaches_edge() {
    let p = Project::with_manifest(
        r#"
[project]
name = "pub"
environments = ["development", "qa"]
[[service]]
name = "api"
image = "ghcr.io/acme/api:1.0.0"
port = 8080
[[database]]
name = "db"
kind = "postgres"
[environment.qa]
extends = "production"
publish = "all"
"#,
    );
    p.generate();
    let qa = merged(&p, "qa");
    assert_eq!(qa["networks"]["app"]["internal"], Json::Bool(true));
    for svc in ["api", "db"] {
        let s = &qa["services"][svc];
        assert!(s["ports"].is_array(), "{svc}");
        assert!(s["networks"]["edge"].is_object(), "{svc} not on edge");
    }
}

/// Creates what docker-compose needs at config time (build folders, env files) and
/// sets every variable of `.env.example`; returns the command for one combination.
fn docker_compose(dc: &std::path::Path, p: &Project, env: &str) -> Command {
    let c = yaml(&p.read("compose.yaml"));
    for svc in c["services"].as_object().unwrap().values() {
        if let Some(ctx) = svc["build"]["context"].as_str() {
            std::fs::create_dir_all(p.path().join(ctx)).unwrap();
        }
        for f in svc["env_file"].as_array().into_iter().flatten() {
            p.write(f.as_str().unwrap(), "");
        }
    }
    let mut cmd = Command::new(dc);
    cmd.current_dir(p.path()).args([
        "-f",
        "compose.yaml",
        "-f",
        &format!("compose.{env}.yaml"),
        "config",
    ]);
    for line in p.read(".env.example").lines() {
        if let Some((k, _)) = line.split_once('=')
            && !line.starts_with('#')
        {
            cmd.env(k, "test-value");
        }
    }
    cmd
}

#[test]
fn every_merged_combination_passes_the_compose_schema_and_keeps_internal_networks() {
    // docker-compose v1 merges base + overlay (no engine needed); its output is checked
    // against the current Compose schema, and it shows that an overlay can make a
    // network internal (v1 replaces a network's definition by the later file's).
    let Some(dc) = require_tool("docker-compose") else {
        return;
    };
    let Some(cj) = require_tool("check-jsonschema") else {
        return;
    };
    let mut checked = 0;
    for name in examples() {
        let p = Project::example(&name);
        p.generate();
        for env in environments(&p) {
            let (code, text) = tool(&mut docker_compose(&dc, &p, &env));
            assert_eq!(code, 0, "{name} {env}: docker-compose config:\n{text}");
            let file = p.path().join(format!("merged.{env}.yaml"));
            // stdout only (warnings go to stderr).
            let out = docker_compose(&dc, &p, &env).output().unwrap();
            std::fs::write(&file, &out.stdout).unwrap();
            let m = yaml(&String::from_utf8(out.stdout).unwrap());
            let internal = hardened(&p).contains(&env);
            for n in ["app", "monitoring"] {
                assert_eq!(
                    m["networks"][n]["internal"] == Json::Bool(true),
                    internal,
                    "{name} {env}: network {n}"
                );
            }
            let (code, text) = tool(
                Command::new(&cj)
                    .args(["--builtin-schema", "vendor.compose-spec"])
                    .arg(&file),
            );
            assert_eq!(code, 0, "{name} {env}: merged file vs schema:\n{text}");
            checked += 1;
        }
    }
    assert!(checked >= 11, "only {checked} combinations");
}

/// dclint as `obsgen validate` runs it (rules off: `validators::DCLINT_DISABLED`, each
/// with its reason).
fn dclint(bin: &std::path::Path, files: &[std::path::PathBuf]) -> (i32, String) {
    let files: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    tool(Command::new(bin).args(obsgen::validators::dclint_args(&files)))
}

#[test]
fn dclint_accepts_every_compose_file() {
    let Some(bin) = require_tool("dclint") else {
        return;
    };
    for name in examples() {
        let p = Project::example(&name);
        p.generate();
        let files: Vec<_> = p
            .files_ending(".yaml")
            .into_iter()
            .filter(|f| f.starts_with("compose"))
            .map(|f| p.path().join(f))
            .collect();
        assert!(files.len() >= 3, "{name}: {files:?}");
        let (code, text) = dclint(&bin, &files);
        assert_eq!(code, 0, "{name}: dclint:\n{text}");
    }
}

#[test]
fn dclint_as_configured_still_rejects_schema_errors_and_unsafe_services() {
    // Proves the run above checks something: the schema (cap_drop must be a list), and
    // the rules left on: a `latest` image, a port published on every interface.
    let Some(bin) = require_tool("dclint") else {
        return;
    };
    let p = Project::new();
    p.write(
        "schema.yaml",
        "services:\n  a:\n    image: \"x:1\"\n    cap_drop: ALL\n",
    );
    let (code, text) = dclint(&bin, &[p.path().join("schema.yaml")]);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("invalid-schema"), "{text}");
    p.write(
        "unsafe.yaml",
        "services:\n  a:\n    image: \"x:latest\"\n    ports:\n      - \"8080:8080\"\n",
    );
    let (code, text) = dclint(&bin, &[p.path().join("unsafe.yaml")]);
    assert_ne!(code, 0, "{text}");
    for rule in [
        "service-image-require-explicit-tag",
        "no-unbound-port-interfaces",
    ] {
        assert!(text.contains(rule), "{rule}: {text}");
    }
}

#[test]
fn the_ci_placeholder_step_makes_every_combination_configurable() {
    // The generated workflow's placeholder step (run by sh here, as on the runner) must
    // leave everything docker-compose needs: .env, secret files and env_file files.
    let Some(dc) = require_tool("docker-compose") else {
        return;
    };
    let p = Project::example("everything");
    p.generate();
    let w = yaml(&p.read(".github/workflows/obsgen.yml"));
    let steps = w["jobs"]["compose"]["steps"].as_array().unwrap();
    let step = steps
        .iter()
        .find(|s| {
            s["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("Placeholder"))
        })
        .expect("placeholder step");
    let (code, text) = tool(
        Command::new("sh")
            .current_dir(p.path())
            .args(["-c", step["run"].as_str().unwrap()]),
    );
    assert_eq!(code, 0, "{text}");
    assert!(p.exists("worker.env"));
    std::fs::create_dir_all(p.path().join("worker")).unwrap();
    for env in environments(&p) {
        let (code, text) = tool(Command::new(&dc).current_dir(p.path()).args([
            "-f",
            "compose.yaml",
            "-f",
            &format!("compose.{env}.yaml"),
            "config",
            "-q",
        ]));
        assert_eq!(code, 0, "{env}: {text}");
    }
}
