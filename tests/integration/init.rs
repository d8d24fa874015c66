//! `obsgen init` without prompts: defaults, --set, --answers, refusal to overwrite,
//! and a manifest that generates cleanly.

use crate::support::Project;

#[test]
fn defaults_write_a_commented_manifest_that_generates() {
    let p = Project::new();
    let out = p.run(&["init", "--defaults"]).expect(0);
    assert!(out.stdout.contains("wrote"));
    let text = p.read("obsgen.toml");
    assert!(text.starts_with("# obsgen manifest"), "{text}");
    assert!(text.contains("profile = \"standard\""));
    p.generate();
    p.run(&["check"]).expect(0);
}

#[test]
fn set_and_answers_fill_in_values_and_set_wins() {
    let p = Project::new();
    p.write("answers.toml", "[project]\nname = \"from-file\"\nprofile = \"full\"\n[service]\nname = \"api\"\nport = 9000\n");
    p.run(&[
        "init",
        "--answers",
        "answers.toml",
        "--set",
        "service.port=7000",
        "--set",
        "project.environments=development,staging,production",
        "--set",
        "service.image=ghcr.io/acme/api:2.0.0",
    ])
    .expect(0);
    let text = p.read("obsgen.toml");
    assert!(text.contains("name = \"from-file\""), "{text}");
    assert!(
        text.contains("port = 7000"),
        "--set wins over the answers file:\n{text}"
    );
    assert!(
        text.contains("environments = [\"development\", \"staging\", \"production\"]"),
        "{text}"
    );
    assert!(
        text.contains("image = \"ghcr.io/acme/api:2.0.0\""),
        "{text}"
    );
    assert!(
        text.contains("backend = \"loki\""),
        "the full profile's logging default:\n{text}"
    );
    p.generate();
    assert!(p.exists("compose.staging.yaml"));
}

#[test]
fn refuses_to_overwrite_without_force_and_rejects_bad_answers() {
    let p = Project::new();
    p.write("obsgen.toml", "# mine\n");
    let out = p.run(&["init", "--defaults"]).expect(2);
    assert!(
        out.stderr.contains("already exists") && out.stderr.contains("help: pass --force"),
        "{}",
        out.stderr
    );
    assert_eq!(p.read("obsgen.toml"), "# mine\n");

    let out = p
        .run(&[
            "init",
            "--force",
            "--defaults",
            "--set",
            "project.name=Not Valid",
        ])
        .expect(2);
    assert!(
        out.stderr.contains("project name `Not Valid`"),
        "{}",
        out.stderr
    );
    assert_eq!(
        p.read("obsgen.toml"),
        "# mine\n",
        "a rejected init writes nothing"
    );

    let out = p
        .run(&["init", "--force", "--set", "servce.port=1"])
        .expect(2);
    assert!(
        out.stderr.contains("unknown key `servce`")
            && out.stderr.contains("did you mean `service`?"),
        "{}",
        out.stderr
    );

    let out = p.run(&["init", "--force"]).expect(2);
    assert!(
        out.stderr.contains("--set service.name=api") && out.stderr.contains("--defaults"),
        "without a terminal, missing values are listed:\n{}",
        out.stderr
    );

    p.run(&["init", "--defaults", "--force"]).expect(0);
    assert!(p.read("obsgen.toml").starts_with("# obsgen manifest"));
}

#[test]
fn obsgen_variables_sit_between_set_and_the_answers_file() {
    use assert_cmd::Command;
    let p = Project::new();
    p.write("answers.toml", "[project]\nname = \"from-file\"\nprofile = \"minimal\"\n[service]\nname = \"api\"\nport = 9000\n");
    let run = |extra: &[&str], envs: &[(&str, &str)]| {
        let mut cmd = Command::cargo_bin("obsgen").unwrap();
        cmd.current_dir(p.path())
            .env_remove("CI")
            .env("NO_COLOR", "1")
            .args(["init", "--force", "--answers", "answers.toml"])
            .args(extra);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let out = run(
        &["--set", "service.port=7000"],
        &[
            ("OBSGEN_PROJECT_NAME", "from-env"),
            ("OBSGEN_SERVICE_PORT", "8000"),
            ("OBSGEN_SERVICE_METRICS_PATH", "/internal/metrics"),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = p.read("obsgen.toml");
    assert!(
        text.contains("name = \"from-env\""),
        "OBSGEN_* over the file:\n{text}"
    );
    assert!(text.contains("port = 7000"), "--set over OBSGEN_*:\n{text}");
    assert!(text.contains("path = \"/internal/metrics\""), "{text}");
    assert!(
        text.contains("profile = \"minimal\""),
        "the file fills the rest:\n{text}"
    );

    let out = run(&[], &[("OBSGEN_SERVICE_PROT", "1")]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown variable OBSGEN_SERVICE_PROT")
            && stderr.contains("help: did you mean OBSGEN_SERVICE_PORT?"),
        "{stderr}"
    );
}

#[test]
fn an_answers_file_describes_several_services_databases_and_receivers() {
    let p = Project::new();
    p.write(
        "answers.toml",
        r#"databases = "orders:postgres,cache:redis,postgres"
[project]
name = "shop"
environments = ["development", "staging"]
[[services]]
name = "api"
image = "ghcr.io/acme/api:1.0.0"
port = 3000
[[services]]
name = "worker"
port = 9000
public = false
[storage]
backend = "minio"
buckets = "uploads,exports"
[[receivers]]
kind = "slack"
[[receivers]]
name = "pager"
kind = "pagerduty"
secret_env = "PD_KEY"
[[receivers]]
kind = "email"
to = ["ops@example.com"]
username = "alerts@example.com"
[routing]
warning = "slack"
"#,
    );
    let out = p.run(&["init", "--answers", "answers.toml"]).expect(0);
    // Grafana has host port 3000 and both postgres databases want 5432.
    assert!(
        out.stderr
            .contains("service `api` published on host port 3001"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("database `postgres` published on host port 5433"),
        "{}",
        out.stderr
    );
    let m: toml::Table = toml::from_str(&p.read("obsgen.toml")).unwrap();
    assert_eq!(m["service"].as_array().unwrap().len(), 2);
    assert_eq!(m["service"][1]["build"].as_str(), Some("./worker"));
    assert_eq!(m["database"].as_array().unwrap().len(), 3);
    assert_eq!(
        m["storage"]["minio"]["buckets"].as_array().unwrap().len(),
        2
    );
    let r = m["receiver"].as_array().unwrap();
    assert_eq!(r[0]["webhook_url_env"].as_str(), Some("SLACK_WEBHOOK_URL"));
    assert_eq!(r[1]["routing_key_env"].as_str(), Some("PD_KEY"));
    assert_eq!(r[2]["auth_password_env"].as_str(), Some("SMTP_PASSWORD"));
    let routes = m["route"].as_array().unwrap();
    assert_eq!(
        routes[0]["receivers"].as_array().unwrap().len(),
        3,
        "critical: everyone"
    );
    assert_eq!(routes[1]["receivers"][0].as_str(), Some("slack"));
    p.generate();
    assert!(p.read(".env.example").contains("PD_KEY"));

    // A route naming a receiver that does not exist is an error before anything is written.
    p.write("bad.toml", "[service]\nname = \"a\"\nport = 1\n[[receivers]]\nkind = \"slack\"\n[routing]\ncritical = \"pager\"\n");
    let out = p
        .run(&["init", "--force", "--answers", "bad.toml"])
        .expect(2);
    assert!(
        out.stderr
            .contains("routing.critical: no receiver named `pager`"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("help: receivers are slack"),
        "{}",
        out.stderr
    );
}
