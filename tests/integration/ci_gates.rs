//! The gates of the generated CI, each switched by `[ci]`: a dependency audit job per
//! built service of a known language, Trivy SARIF uploaded to code scanning by the one
//! job with `security-events: write` (not on pull requests from forks), a coverage
//! threshold whose commands fail below it, and the post-deploy check on the host that
//! fails on a critical alert or a target down. The workflows pass actionlint and the
//! workflow schema with every gate on.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{Project, require_tool, tool, yaml};

const LANGS: [&str; 6] = ["node", "python", "go", "rust", "java", "other"];

/// A manifest with one built service per language, `[ci]` holding `ci`, deployed to AWS.
fn manifest(ci: &str) -> String {
    let mut text = String::from(
        "[project]\nname = \"gates\"\nenvironments = [\"development\", \"staging\", \"production\"]\n",
    );
    for (i, lang) in LANGS.iter().enumerate() {
        text.push_str(&format!(
            "\n[[service]]\nname = \"svc-{lang}\"\nbuild = \"./svc-{lang}\"\nport = {}\nlanguage = \"{lang}\"\nhealth = \"/health\"\npublic = {}\n",
            8000 + i,
            i == 0
        ));
    }
    text.push_str(&format!(
        "\n[ci]\n{ci}\n\n[deploy.aws]\nregion = \"eu-north-1\"\n"
    ));
    text
}

fn jobs(w: &Value) -> &serde_json::Map<String, Value> {
    w["jobs"].as_object().unwrap()
}

fn runs(job: &Value) -> String {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn step<'a>(job: &'a Value, name: &str) -> Option<&'a Value> {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str().is_some_and(|n| n.starts_with(name)))
}

fn lint(p: &Project) {
    let files: Vec<_> = p
        .files_ending(".yml")
        .into_iter()
        .filter(|f| f.starts_with(".github/workflows/"))
        .map(|f| p.path().join(f))
        .collect();
    if let Some(bin) = require_tool("actionlint-files") {
        let (code, out) = tool(Command::new(bin).args(&files));
        assert_eq!(code, 0, "actionlint:\n{out}");
    }
    if let Some(bin) = require_tool("check-jsonschema") {
        let (code, out) = tool(
            Command::new(bin)
                .args(["--builtin-schema", "vendor.github-workflows"])
                .args(&files),
        );
        assert_eq!(code, 0, "workflow schema:\n{out}");
    }
}

#[test]
fn every_gate_is_generated_per_language_and_passes_actionlint() {
    let p = Project::with_manifest(&manifest("coverage = 80"));
    p.generate();
    let ci = yaml(&p.read(".github/workflows/ci.yml"));
    let j = jobs(&ci);
    for (lang, audit) in [
        ("node", "npm audit --audit-level=high"),
        ("python", "pip-audit -r requirements.txt"),
        ("go", "golang.org/x/vuln/cmd/govulncheck@"),
        ("rust", "cargo audit"),
        ("java", "owasp/dependency-check:"),
    ] {
        let job = &j[&format!("audit-svc-{lang}")];
        assert!(runs(job).contains(audit), "{lang}: {}", runs(job));
        assert_eq!(job["permissions"], serde_json::json!({"contents": "read"}));
    }
    assert!(!j.contains_key("audit-svc-other"));
    // Coverage: each language's test step measures it and fails below 80.
    for (lang, cov) in [
        ("node", "--check-coverage --lines '80' npm test"),
        ("python", "--cov-fail-under='80'"),
        ("go", "-v min='80'"),
        ("rust", "cargo llvm-cov --locked --fail-under-lines '80'"),
        ("java", "-v min='80'"),
    ] {
        let r = runs(&j[&format!("build-svc-{lang}")]);
        assert!(r.contains(cov), "{lang}: {r}");
    }
    // SARIF: every image scanned to a file kept as an artifact; one job uploads, the only
    // one with security-events: write, not on pull requests from forks.
    let scanning = &j["code-scanning"];
    assert_eq!(
        scanning["permissions"],
        serde_json::json!({"actions": "read", "contents": "read", "security-events": "write"})
    );
    let cond = scanning["if"].as_str().unwrap();
    assert!(
        cond.contains("github.event.pull_request.head.repo.full_name == github.repository")
            && cond.contains("github.event_name == 'push'"),
        "{cond}"
    );
    assert_eq!(scanning["needs"].as_array().unwrap().len(), LANGS.len());
    let uploads: Vec<&Value> = scanning["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
        })
        .collect();
    assert_eq!(uploads.len(), LANGS.len() + 1, "config + one per image");
    for lang in LANGS {
        let build = &j[&format!("build-svc-{lang}")];
        let sarif = step(build, "Trivy scan (SARIF").unwrap();
        assert_eq!(
            sarif["with"]["output"],
            format!("trivy-image-svc-{lang}.sarif")
        );
    }
    for w in p.files_ending(".yml") {
        if !w.starts_with(".github/workflows/") {
            continue;
        }
        for (id, job) in jobs(&yaml(&p.read(&w))) {
            if id != "code-scanning" {
                assert!(
                    job["permissions"].get("security-events").is_none(),
                    "{w} {id}"
                );
            }
        }
    }
    // The post-deploy check follows the smoke tests in every deploy job.
    let deploy = yaml(&p.read(".github/workflows/deploy.yml"));
    for env in ["staging", "production"] {
        let names: Vec<&str> = jobs(&deploy)[env]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        let check = names
            .iter()
            .position(|n| n.starts_with("No critical alert firing"))
            .unwrap_or_else(|| panic!("{env}: {names:?}"));
        let smoke = names.iter().position(|n| n.starts_with("Smoke tests"));
        assert!(smoke.is_none_or(|s| s < check), "{env}: {names:?}");
        assert_eq!(check, names.len() - 1, "{env}: {names:?}");
    }
    lint(&p);
}

#[test]
fn each_gate_can_be_switched_off() {
    let p = Project::with_manifest(&manifest(
        "audit = false\ncode_scanning = false\npost_deploy_check = false",
    ));
    p.generate();
    let text = p.read(".github/workflows/ci.yml");
    let ci = yaml(&text);
    assert!(
        jobs(&ci).keys().all(|k| k.starts_with("build-")),
        "{:?}",
        jobs(&ci).keys()
    );
    assert!(!text.contains("sarif"), "{text}");
    assert!(
        !text.contains("coverage"),
        "no coverage gate without `coverage`"
    );
    assert!(runs(&jobs(&ci)["build-svc-go"]).contains("go test -race ./..."));
    let deploy = p.read(".github/workflows/deploy.yml");
    assert!(!deploy.contains("ALERTS"), "{deploy}");
    lint(&p);
}

fn bash(dir: &Path, script: &str, path: &Path, env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::new("bash");
    cmd.current_dir(dir).args(["-c", script]).env(
        "PATH",
        format!("{}:{}", path.display(), std::env::var("PATH").unwrap()),
    );
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

fn stub(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn coverage_commands_fail_below_the_threshold() {
    let p = Project::with_manifest(&manifest("coverage = 80"));
    p.generate();
    let ci = yaml(&p.read(".github/workflows/ci.yml"));
    let bin = p.path().join("stub-bin");
    // Go: the last line reads `go tool cover -func` (a stub printing $STUB_TOTAL).
    let go = step(
        &jobs(&ci)["build-svc-go"],
        "Test (statement coverage at least 80%)",
    )
    .unwrap()["run"]
        .as_str()
        .unwrap();
    let go_check = go.lines().last().unwrap();
    assert!(go_check.starts_with("go tool cover -func=coverage.out | awk"));
    stub(
        &bin,
        "go",
        "#!/bin/sh\nprintf 'x/main.go:3:\\tmain\\t100.0%%\\ntotal:\\t(statements)\\t%s\\n' \"$STUB_TOTAL\"\n",
    );
    for (total, want) in [("79.9%", 1), ("80.0%", 0), ("93.1%", 0), ("0.0%", 1)] {
        let (code, out) = bash(p.path(), go_check, &bin, &[("STUB_TOTAL", total)]);
        assert_eq!(code, want, "go {total}: {out}");
    }
    // Java: the last line sums the JaCoCo CSV reports below the folder.
    let java = step(
        &jobs(&ci)["build-svc-java"],
        "Build, lint and test (line coverage",
    )
    .unwrap()["run"]
        .as_str()
        .unwrap();
    let java_check = java.lines().last().unwrap();
    let dir = p.path().join("svc-java");
    let (code, out) = bash(p.path(), java_check, &bin, &[]);
    assert_eq!(code, 1, "no report: {out}");
    assert!(out.contains("no JaCoCo CSV report"), "{out}");
    let header = "GROUP,PACKAGE,CLASS,INSTRUCTION_MISSED,INSTRUCTION_COVERED,BRANCH_MISSED,BRANCH_COVERED,LINE_MISSED,LINE_COVERED,COMPLEXITY_MISSED,COMPLEXITY_COVERED,METHOD_MISSED,METHOD_COVERED\n";
    for (lines, want) in [
        // 79 of 100 lines over two modules: below; 80 of 100: at the threshold.
        (
            ["a,p,A,0,0,0,0,30,50,0,0,0,0", "b,p,B,0,0,0,0,-9,29,0,0,0,0"],
            1,
        ),
        (
            ["a,p,A,0,0,0,0,10,70,0,0,0,0", "b,p,B,0,0,0,0,10,10,0,0,0,0"],
            0,
        ),
    ] {
        std::fs::create_dir_all(dir.join("a/target/site/jacoco")).unwrap();
        std::fs::create_dir_all(dir.join("b/target/site/jacoco")).unwrap();
        std::fs::write(
            dir.join("a/target/site/jacoco/jacoco.csv"),
            format!("{header}{}\n", lines[0]),
        )
        .unwrap();
        std::fs::write(
            dir.join("b/target/site/jacoco/jacoco.csv"),
            format!("{header}{}\n", lines[1]),
        )
        .unwrap();
        let (code, out) = bash(&dir, java_check, &bin, &[]);
        assert_eq!(code, want, "java {lines:?}: {out}");
    }
}

/// The host commands of the post-deploy check of `env`, run in `host` instead of the
/// project folder on the host.
fn post_deploy_script(p: &Project, env: &str, host: &Path) -> String {
    let deploy = yaml(&p.read(".github/workflows/deploy.yml"));
    let s = step(&jobs(&deploy)[env], "No critical alert firing").unwrap();
    let params: Value = serde_json::from_str(s["env"]["SSM_PARAMETERS"].as_str().unwrap()).unwrap();
    let commands: Vec<&str> = params["commands"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(commands[1], "cd '/opt/gates'");
    let mut lines: Vec<String> = commands.iter().map(|c| c.to_string()).collect();
    lines[1] = format!("cd '{}'", host.display());
    lines.join("\n")
}

#[test]
fn the_post_deploy_check_fails_on_a_critical_alert_or_a_target_down() {
    let p = Project::with_manifest(&manifest(""));
    p.generate();
    let host = p.path().join("host");
    std::fs::create_dir_all(host.join("secrets")).unwrap();
    std::fs::write(host.join("secrets/prometheus_password"), "pw").unwrap();
    let script = post_deploy_script(&p, "production", &host);
    let bin = p.path().join("stub-bin");
    let log = p.path().join("calls.log");
    // curl answers from $STUB_ALERTS / $STUB_DOWN (a file of answers, one per call, the
    // last repeated; `fail` fails); sleep only records.
    stub(
        &bin,
        "curl",
        "#!/bin/bash\nfor a in \"$@\"; do case \"$a\" in query=ALERTS*) f=$STUB_ALERTS; k=ALERTS;; query=up*) f=$STUB_DOWN; k=up;; esac; done\nprintf 'curl' >> \"$LOG\"; printf ' [%s]' \"$@\" >> \"$LOG\"; echo >> \"$LOG\"\nn=$(grep -c \"query=$k\" \"$LOG\")\nline=$(sed -n \"${n}p\" \"$f\"); [ -n \"$line\" ] || line=$(tail -n 1 \"$f\")\n[ \"$line\" = fail ] && exit 22\nprintf '%s' \"$line\"\n",
    );
    stub(&bin, "sleep", "#!/bin/sh\necho \"sleep $1\" >> \"$LOG\"\n");
    let empty = r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#;
    let firing = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"alertname":"ServiceDown","severity":"critical"},"value":[1,"1"]}]}}"#;
    let answers = |name: &str, lines: &[&str]| {
        let f = p.path().join(name);
        std::fs::write(&f, lines.join("\n") + "\n").unwrap();
        f.display().to_string()
    };
    let run = |alerts: &[&str], down: &[&str]| {
        let _ = std::fs::remove_file(&log);
        let a = answers("alerts.txt", alerts);
        let d = answers("down.txt", down);
        let (code, out) = bash(
            &host,
            &script,
            &bin,
            &[
                ("LOG", log.to_str().unwrap()),
                ("STUB_ALERTS", &a),
                ("STUB_DOWN", &d),
            ],
        );
        (code, out, std::fs::read_to_string(&log).unwrap_or_default())
    };
    // Clean at once: passes after the settle window, asking both questions with the login.
    let (code, out, calls) = run(&[empty], &[empty]);
    assert_eq!(code, 0, "{out}\n{calls}");
    assert!(calls.starts_with("sleep 30\n"), "{calls}");
    assert!(
        calls.contains("[-u] [prometheus:pw]")
            && calls.contains("[http://127.0.0.1:9090/api/v1/query]")
            && calls.contains("[query=ALERTS{alertstate=\"firing\",severity=\"critical\"}]")
            && calls.contains("[query=up == 0]"),
        "{calls}"
    );
    // A critical alert that keeps firing: fails after a bounded number of tries.
    let (code, out, calls) = run(&[firing], &[empty]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ServiceDown"), "{out}");
    assert_eq!(calls.matches("query=ALERTS").count(), 12, "{calls}");
    // A target down: fails too.
    let (code, out, _) = run(&[empty], &[&firing.replace("ALERTS", "up")]);
    assert_eq!(code, 1, "{out}");
    // Firing while the stack settles, then clean: passes.
    let (code, out, _) = run(&[firing, firing, empty], &[empty]);
    assert_eq!(code, 0, "{out}");
    // Prometheus never answers: fails.
    let (code, out, _) = run(&["fail"], &["fail"]);
    assert_eq!(code, 1, "{out}");
}
