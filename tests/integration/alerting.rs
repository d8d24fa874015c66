//! Alertmanager: every generated configuration is accepted by `amtool check-config`
//! (Alertmanager 0.25, as in CI), the generated route tests pass with the real amtool
//! and fail when an expectation is wrong, secrets never reach a generated file, and
//! Prometheus sends alerts to the Alertmanager named in its file-SD target file.

use std::path::Path;
use std::process::Command;

use crate::support::{Project, examples, require_tool};

fn run(cmd: &mut Command) -> (i32, String) {
    crate::support::tool(cmd)
}

fn alertmanager_configs(p: &Project) -> Vec<String> {
    p.files_ending(".yml")
        .into_iter()
        .filter(|f| f.starts_with("monitoring/alertmanager/alertmanager."))
        .collect()
}

/// Runs the generated route tests with this amtool.
fn route_tests(p: &Project, amtool: &Path) -> (i32, String) {
    // From another folder: the script finds its configurations next to itself.
    run(Command::new("sh")
        .current_dir(std::env::temp_dir())
        .env("AMTOOL", amtool)
        .arg(p.path().join("monitoring/alertmanager/routes.test.sh")))
}

#[test]
fn amtool_accepts_every_alertmanager_config() {
    let Some(amtool) = require_tool("amtool") else {
        return;
    };
    let mut checked = 0;
    for name in examples() {
        let p = Project::example(&name);
        p.generate();
        let configs = alertmanager_configs(&p);
        let envs = p
            .files_ending(".yml")
            .into_iter()
            .filter(|f| f.starts_with("monitoring/prometheus/prometheus."))
            .count();
        if name == "minimal" {
            // The minimal profile runs no Alertmanager: no files, no alerting section.
            assert!(configs.is_empty(), "{configs:?}");
            assert!(!p.exists("monitoring/alertmanager"));
            assert!(!p.read("compose.yaml").contains("alertmanager"));
            continue;
        }
        assert_eq!(configs.len(), envs, "{name}: one config per environment");
        for f in configs {
            let (code, text) = run(Command::new(&amtool)
                .arg("check-config")
                .arg(p.path().join(&f)));
            assert_eq!(code, 0, "{name}: amtool check-config {f}:\n{text}");
            assert!(text.contains("SUCCESS"), "{text}");
            checked += 1;
        }
    }
    // shop 2 + microservices 3 + everything 3
    assert!(checked >= 8, "only {checked} configs checked");
}

#[test]
fn amtool_rejects_a_broken_config() {
    // Proves the check above can fail.
    let Some(amtool) = require_tool("amtool") else {
        return;
    };
    let p = Project::example("shop");
    p.generate();
    let f = "monitoring/alertmanager/alertmanager.production.yml";
    p.write(
        f,
        &p.read(f)
            .replace("receiver: \"team-chat\"", "receiver: \"nobody\""),
    );
    let (code, text) = run(Command::new(&amtool)
        .arg("check-config")
        .arg(p.path().join(f)));
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("nobody"), "{text}");
}

#[test]
fn generated_route_tests_pass_and_fail_on_a_wrong_expectation() {
    let Some(amtool) = require_tool("amtool") else {
        return;
    };
    for name in examples().into_iter().filter(|n| n != "minimal") {
        let p = Project::example(&name);
        p.generate();
        let (code, text) = route_tests(&p, &amtool);
        assert_eq!(code, 0, "{name}: routes.test.sh:\n{text}");
        assert!(text.contains(" 0 failed"), "{name}: {text}");
    }

    let p = Project::example("everything");
    p.generate();
    let script = p.read("monitoring/alertmanager/routes.test.sh");
    // Every manifest route, the Watchdog and the default route, in each of 3 environments.
    let cases = script.lines().filter(|l| l.starts_with("check ")).count();
    assert_eq!(cases, (4 + 2) * 3, "{script}");
    // What the manifest says, including continue: critical pages both pagers, then chat
    // (catch-all); a database alert reaches the DB team and chat; Watchdog only the switch.
    for (expect, labels) in [
        ("'pager,opsgenie,chat'", "'severity=\"critical\"'"),
        ("'db-team,chat'", "'service=\"postgres\"'"),
        ("'ticketing'", "'severity=\"info\"'"),
        ("'watchdog'", "'alertname=\"Watchdog\"'"),
    ] {
        assert!(
            script.contains(&format!(
                "check alertmanager.production.yml {expect} {labels}"
            )),
            "{expect} {labels}:\n{script}"
        );
    }
    let (code, text) = route_tests(&p, &amtool);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("18 passed, 0 failed"), "{text}");

    // One wrong expectation (a receiver missing) fails the script, naming the case.
    p.write(
        "monitoring/alertmanager/routes.test.sh",
        &script.replacen("'pager,opsgenie,chat'", "'pager,chat'", 1),
    );
    let (code, text) = route_tests(&p, &amtool);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("FAIL alertmanager.development.yml"), "{text}");
    assert!(text.contains("17 passed, 1 failed"), "{text}");

    // Without amtool the script does not pass silently.
    let (code, text) = run(Command::new("sh")
        .env("AMTOOL", "/nonexistent/amtool")
        .arg(p.path().join("monitoring/alertmanager/routes.test.sh")));
    assert_eq!(code, 2, "{text}");
}

#[test]
fn matcher_values_that_need_escaping_route_correctly() {
    // Quotes, backslashes, `:` and `#` in label values survive both YAML and the
    // matcher syntax: amtool accepts the config and the route test reaches the receiver.
    let Some(amtool) = require_tool("amtool") else {
        return;
    };
    let p = Project::with_manifest(
        r##"
[project]
name = "esc"
environments = ["production"]

[[service]]
name = "web"
image = "ghcr.io/acme/web:1.0.0"
port = 8080

[[receiver]]
name = "team"
kind = "webhook"
url = "http://hooks.example.com:9000/a?b=c#d"

[[route]]
match = { team = 'say "hi" \ # : {{ x }}' }
receivers = ["team"]
"##,
    );
    p.generate();
    let f = "monitoring/alertmanager/alertmanager.production.yml";
    let (code, text) = run(Command::new(&amtool)
        .arg("check-config")
        .arg(p.path().join(f)));
    assert_eq!(code, 0, "{text}\n{}", p.read(f));
    let (code, text) = route_tests(&p, &amtool);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("3 passed, 0 failed"), "{text}");
}

#[test]
fn secrets_never_reach_generated_files() {
    let p = Project::example("everything");
    // Distinctive secret values, in the files the user creates (as .env.example says).
    let secrets = [
        ("pagerduty_routing_key", "PDKEY-9c1f-never-in-output"),
        ("opsgenie_api_key", "OGKEY-77aa-never-in-output"),
        (
            "slack_webhook_url",
            "https://hooks.slack.com/services/T000/B000/NEVERINOUTPUT",
        ),
        ("smtp_password", "SMTP-pw-never-in-output"),
        ("ticketing_token", "TICKET-tok-never-in-output"),
    ];
    for (name, value) in secrets {
        p.write(&format!("secrets/{name}"), value);
    }
    p.generate();
    let env_example = p.read(".env.example");
    let compose = p.read("compose.yaml");
    let am = p.read("monitoring/alertmanager/alertmanager.production.yml");
    for (name, value) in secrets {
        for (path, bytes) in p.tree() {
            if path.starts_with("secrets/") {
                continue;
            }
            assert!(
                !String::from_utf8_lossy(&bytes).contains(value),
                "secret {name} appears in {path}"
            );
        }
        assert!(
            env_example.contains(&format!("./secrets/{name}:")),
            ".env.example does not say which file holds {name}:\n{env_example}"
        );
        assert!(
            compose.contains(&format!("  {name}:\n    file: \"./secrets/{name}\"")),
            "{compose}"
        );
        assert!(
            compose.contains(&format!("      - {name}\n")),
            "alertmanager does not mount {name}:\n{compose}"
        );
        assert!(am.contains(&format!("\"/run/secrets/{name}\"")), "{am}");
    }
    // Receiver secrets are files, not variables: .env.example has no line for them.
    for var in [
        "PAGERDUTY_ROUTING_KEY=",
        "SLACK_WEBHOOK_URL=",
        "SMTP_PASSWORD=",
    ] {
        assert!(!env_example.contains(var), "{env_example}");
    }

    // docker-compose resolves the secrets as file paths, never reading them into its
    // output.
    let Some(dc) = require_tool("docker-compose") else {
        return;
    };
    std::fs::create_dir_all(p.path().join("worker")).unwrap();
    // The worker's env_file: Compose fails without it.
    p.write("worker.env", "");
    let mut cmd = Command::new(&dc);
    cmd.current_dir(p.path()).args([
        "-f",
        "compose.yaml",
        "-f",
        "compose.production.yaml",
        "config",
    ]);
    for line in env_example.lines() {
        if let Some((k, _)) = line.split_once('=')
            && !line.starts_with('#')
        {
            cmd.env(k, "test-value");
        }
    }
    let (code, text) = run(&mut cmd);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("secrets/slack_webhook_url"), "{text}");
    for (_, value) in secrets {
        assert!(!text.contains(value), "{text}");
    }
}

#[test]
fn prometheus_sends_alerts_to_the_alertmanager_of_its_target_file() {
    let p = Project::example("shop");
    p.generate();
    for env in ["development", "production"] {
        let prom = p.read(&format!("monitoring/prometheus/prometheus.{env}.yml"));
        assert!(
            prom.contains(
                "alerting:\n  alertmanagers:\n    - file_sd_configs:\n        - files:\n            - \"targets/alertmanager.yml\""
            ),
            "{prom}"
        );
        let overlay = p.read(&format!("compose.{env}.yaml"));
        assert!(
            overlay.contains(&format!(
                "--config.file=/etc/alertmanager/alertmanager.{env}.yml"
            )),
            "{overlay}"
        );
        assert!(overlay.contains("- \"127.0.0.1:9093:9093\""), "{overlay}");
    }
    let targets = p.read("monitoring/prometheus/targets/alertmanager.yml");
    assert!(targets.contains("- \"alertmanager:9093\""), "{targets}");
    // The minimal profile has no Alertmanager, so Prometheus has no alerting section.
    let m = Project::example("minimal");
    m.generate();
    assert!(
        !m.read("monitoring/prometheus/prometheus.production.yml")
            .contains("alerting:")
    );
}
