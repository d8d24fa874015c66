//! The interactive `obsgen init` through a pseudo-terminal (rexpect): a complete
//! session with typed answers on a folder holding a Compose file, and Ctrl-C at the
//! last question leaving nothing behind.
//!
//! `UPDATE_WIZARD=1 cargo test --test integration wizard` rewrites
//! `tests/fixtures/wizard/obsgen.toml` (the expected manifest) and `transcript.txt`.

use std::path::{Path, PathBuf};
use std::process::Command;

use rexpect::session::{Options, PtySession, spawn_with_options};

use crate::support::{Project, repo};

const TIMEOUT_MS: u64 = 10_000;

/// A pty session that keeps a transcript of what was shown and typed.
struct Session {
    p: PtySession,
    transcript: String,
}

impl Session {
    fn start(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Session {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_obsgen"));
        cmd.current_dir(dir)
            .args(args)
            .env_remove("CI")
            .env_remove("PROMETHEUS_PASSWORD")
            .env("TERM", "xterm")
            .env("NO_COLOR", "1")
            .env("COLUMNS", "120")
            .env("LINES", "50");
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let p = spawn_with_options(
            cmd,
            Options::new()
                .timeout_ms(Some(TIMEOUT_MS))
                .strip_ansi_escape_codes(true),
        )
        .expect("spawn obsgen in a pty");
        Session {
            p,
            transcript: String::new(),
        }
    }

    /// Waits for `prompt` (all output before it goes to the transcript).
    #[track_caller]
    fn wait(&mut self, prompt: &str) {
        match self.p.exp_string(prompt) {
            Ok(before) => {
                self.transcript.push_str(&before);
                self.transcript.push_str(prompt);
            }
            Err(e) => panic!(
                "waiting for {prompt:?}: {e}\n--- transcript so far:\n{}",
                self.transcript
            ),
        }
    }

    /// Waits for `prompt`, then types `keys` and Enter.
    #[track_caller]
    fn answer(&mut self, prompt: &str, keys: &str) {
        self.wait(prompt);
        self.p.send(keys).unwrap();
        self.p.send("\r").unwrap();
        self.p.flush().unwrap();
    }

    fn finish(self) -> (String, String) {
        let (raw, status) = self.finish_raw();
        (clean(&raw), status)
    }

    /// Everything shown, redraws included, and the exit status.
    fn finish_raw(mut self) -> (String, String) {
        let rest = self.p.exp_eof().unwrap_or_default();
        self.transcript.push_str(&rest);
        let status = format!("{:?}", self.p.process_mut().wait().unwrap());
        (self.transcript, status)
    }
}

const DOWN: &str = "\x1b[B";
const UP: &str = "\x1b[A";

/// The transcript as a person saw it: carriage returns and redraws removed, and only
/// the final line of each prompt kept.
fn clean(raw: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    for line in raw.replace("\r\n", "\n").split('\n') {
        // A line redrawn in place: keep what was drawn last.
        let last = line
            .rsplit('\r')
            .find(|s| !s.trim().is_empty())
            .unwrap_or("");
        lines.push(last.trim_end().to_string());
    }
    // Select menus are drawn below their prompt and cleared once answered: keep only
    // the answered prompt (`Stack preset: standard`).
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = &lines[i];
        if l.ends_with(':') {
            let answered = format!("{l} ");
            let menu_end = lines[i + 1..].iter().position(|m| {
                !(m.starts_with("  ") || m.starts_with("> ")) || m.starts_with(&answered)
            });
            if let Some(k) = menu_end
                && k > 0
                && lines[i + 1 + k].starts_with(&answered)
            {
                i += 1 + k;
                continue;
            }
        }
        out.push(l.clone());
        i += 1;
    }
    out.join("\n").trim().to_string() + "\n"
}

fn fixture_copy(case: &str, into: &Path) {
    fn copy(from: &Path, to: &Path) {
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
    copy(&repo().join("tests/fixtures/detect").join(case), into);
}

fn expected(name: &str) -> PathBuf {
    repo().join("tests/fixtures/wizard").join(name)
}

#[test]
fn a_complete_session_writes_the_manifest_and_generates() {
    let p = Project::new();
    let dir = p.path().join("my-shop");
    fixture_copy("compose", &dir);
    let mut s = Session::start(&dir, &["init"], &[]);
    s.wait("docker-compose.yml: service `gateway`");
    s.answer("Project name", "shop");
    s.answer("Stack preset", ""); // standard
    s.answer("Service `gateway` (build ./gateway, node): include it?", "");
    s.answer("  port", "");
    s.answer("  public", "");
    s.answer("  metrics path", "");
    s.answer("  health path", "/healthz");
    s.answer(
        "Service `worker` (image ghcr.io/acme/worker:1.2.0): include it?",
        "",
    );
    s.answer("  port", "");
    s.answer("  public", "");
    s.answer("  metrics path", "");
    s.answer("  health path", "");
    s.answer("Service `proxy` (build ./proxy): include it?", "n");
    s.answer("Add another service?", "");
    s.answer("Databases", "db:postgres,cache:redis");
    s.answer("Logging backend", &format!("{UP}{UP}")); // none → loki
    s.answer("Tracing backend", "");
    s.answer("Error tracking", "");
    s.answer("Object storage", "");
    s.answer("Add an alert receiver?", "");
    s.answer("  kind", ""); // slack
    s.answer("  name", "team-chat");
    s.answer("  channel", "#shop-alerts");
    s.answer("  variable holding the webhook URL", "");
    s.answer("Add another alert receiver?", "y");
    s.answer("  kind", DOWN); // pagerduty
    s.answer("  name", "oncall");
    s.answer("  variable holding the routing key", "");
    s.answer("Add another alert receiver?", "");
    s.answer("Receivers for critical alerts", "");
    s.answer("Receivers for warning alerts", "");
    s.answer("CI provider", "");
    s.answer("  container registry", "");
    s.answer("Deploy to AWS", "y");
    s.answer("  AWS region", "eu-west-1");
    s.answer("  public domain", "shop.example.com");
    s.answer("Environments", "development,staging,production");
    s.wait("Summary");
    s.answer("Write obsgen.toml?", "");
    s.wait("wrote ");
    s.answer("Run `obsgen generate` now?", "");
    s.wait("generate: ");
    let (transcript, status) = s.finish();
    let transcript = transcript.replace(&format!("{}/", p.path().display()), "/home/me/");
    assert!(
        status.ends_with(", 0)"),
        "exit status {status}\n{transcript}"
    );

    let text = std::fs::read_to_string(dir.join("obsgen.toml")).unwrap();
    if std::env::var_os("UPDATE_WIZARD").is_some() {
        std::fs::create_dir_all(expected("")).unwrap();
        std::fs::write(expected("obsgen.toml"), &text).unwrap();
        std::fs::write(expected("transcript.txt"), &transcript).unwrap();
    }
    assert_eq!(
        text,
        std::fs::read_to_string(expected("obsgen.toml")).unwrap(),
        "the written manifest (UPDATE_WIZARD=1 to accept)\n--- transcript:\n{transcript}"
    );
    // The committed transcript (excerpted in docs/init.md) is this session's.
    assert_eq!(
        transcript,
        std::fs::read_to_string(expected("transcript.txt")).unwrap(),
        "the session transcript changed (UPDATE_WIZARD=1 to accept)"
    );
    // What was typed is in the manifest.
    let m: toml::Table = toml::from_str(&text).unwrap();
    assert_eq!(m["project"]["name"].as_str(), Some("shop"));
    let services = m["service"].as_array().unwrap();
    assert_eq!(services.len(), 2, "proxy was left out");
    assert_eq!(services[0]["health"].as_str(), Some("/healthz"));
    assert_eq!(services[0]["host_port"].as_integer(), Some(8080));
    assert_eq!(m["logging"]["backend"].as_str(), Some("loki"));
    let receivers = m["receiver"].as_array().unwrap();
    assert_eq!(receivers[1]["kind"].as_str(), Some("pagerduty"));
    assert_eq!(
        receivers[1]["routing_key_env"].as_str(),
        Some("PAGERDUTY_ROUTING_KEY")
    );
    assert_eq!(m["deploy"]["aws"]["region"].as_str(), Some("eu-west-1"));
    // `generate` ran from the wizard, and the output is up to date.
    assert!(dir.join("compose.staging.yaml").is_file(), "{transcript}");
    assert!(
        transcript.contains("`obsgen generate` will write"),
        "{transcript}"
    );
    p.run_in(&dir, &["check"]).expect(0);
}

#[test]
fn given_values_are_not_asked_and_ctrl_c_leaves_no_file() {
    let p = Project::new();
    let dir = p.path().join("api");
    fixture_copy("go", &dir);
    p.write(
        "api/answers.toml",
        "databases = \"none\"\nreceivers = []\n[project]\nprofile = \"minimal\"\nenvironments = \"development\"\n[logging]\nbackend = \"none\"\n[tracing]\nbackend = \"none\"\n[errors]\nbackend = \"none\"\n[storage]\nbackend = \"none\"\n[ci]\nprovider = \"none\"\n[deploy.aws]\nregion = \"none\"\n",
    );
    let mut s = Session::start(
        &dir,
        &[
            "init",
            "--answers",
            "answers.toml",
            "--set",
            "service.port=9100",
        ],
        &[("OBSGEN_PROJECT_NAME", "billing")],
    );
    // The name (OBSGEN_*), the port (--set) and everything in the file are not asked.
    s.answer("Service `api` (build ., go): include it?", "");
    s.answer("  public", "");
    s.answer("  metrics path", "");
    s.answer("  health path", "");
    s.answer("Add another service?", "");
    s.wait("Write obsgen.toml?");
    s.p.send_control('c').unwrap();
    let (transcript, status) = s.finish();
    assert!(
        status.ends_with(", 130)"),
        "exit status {status}\n{transcript}"
    );
    assert!(transcript.contains("nothing was written"), "{transcript}");
    for asked in [
        "Project name",
        "Stack preset",
        "  port",
        "Databases",
        "CI provider",
    ] {
        assert!(
            !transcript.contains(asked),
            "`{asked}` was given and must not be asked:\n{transcript}"
        );
    }
    assert!(
        transcript.contains("service api: build ., port 9100"),
        "{transcript}"
    );
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "go.mod" && n != "answers.toml")
        .collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}

#[test]
fn ctrl_c_at_the_first_question_leaves_no_file() {
    let p = Project::new();
    let mut s = Session::start(p.path(), &["init"], &[]);
    s.wait("Project name");
    s.p.send("half-typed").unwrap();
    s.p.send_control('c').unwrap();
    let (transcript, status) = s.finish();
    assert!(
        status.ends_with(", 130)"),
        "exit status {status}\n{transcript}"
    );
    assert!(
        std::fs::read_dir(p.path()).unwrap().next().is_none(),
        "{transcript}"
    );
}

#[test]
fn ci_set_means_no_prompts_even_on_a_terminal() {
    let p = Project::new();
    let s = Session::start(p.path(), &["init"], &[("CI", "true")]);
    let (transcript, status) = s.finish();
    assert!(
        status.ends_with(", 2)"),
        "exit status {status}\n{transcript}"
    );
    assert!(!transcript.contains("Project name"), "{transcript}");
    assert!(
        transcript.contains("service.port") && transcript.contains("--set service.port=8080"),
        "{transcript}"
    );
    assert!(std::fs::read_dir(p.path()).unwrap().next().is_none());
}

#[test]
fn a_progress_bar_only_on_a_terminal_and_not_with_quiet() {
    let p = Project::example("everything");
    let s = Session::start(p.path(), &["generate"], &[]);
    let (transcript, status) = s.finish_raw();
    assert!(
        status.ends_with(", 0)"),
        "exit status {status}\n{transcript}"
    );
    assert!(
        transcript.contains("] read") || transcript.contains("] load"),
        "the bar names the stage:\n{transcript}"
    );
    let s = Session::start(p.path(), &["-q", "check"], &[]);
    let (transcript, status) = s.finish_raw();
    assert!(
        status.ends_with(", 0)"),
        "exit status {status}\n{transcript}"
    );
    assert_eq!(transcript.trim(), "", "quiet: no bar, no output");
    // Not a terminal (the other tests): no bar in stderr.
    let out = p.run(&["check"]).expect(0);
    assert!(!out.stderr.contains("] "), "{}", out.stderr);
}
