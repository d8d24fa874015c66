//! No input makes obsgen panic: every mutation of every example manifest (each line
//! deleted, each line duplicated, and seeded single-character edits) either generates or
//! is rejected with diagnostics — through the library, in-process, so thousands of cases
//! stay fast; and the binary never exits with a panic's code (101).

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::support::{Project, examples, repo};

/// A small deterministic generator (xorshift), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutations(text: &str, rng: &mut Rng) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for i in 0..lines.len() {
        let mut l = lines.clone();
        l.remove(i);
        out.push(l.join("\n"));
        let mut l = lines.clone();
        l.insert(i, lines[i]);
        out.push(l.join("\n"));
    }
    const PIECES: [&str; 16] = [
        "\"", "=", "[", "]", "{", "}", "0", "-1", "99999", "a", " ", "\n", ".", ",", "#", "1.5",
    ];
    let chars: Vec<char> = text.chars().collect();
    for _ in 0..150 {
        let at = rng.below(chars.len());
        let piece = PIECES[rng.below(PIECES.len())];
        let mut s: String = chars[..at].iter().collect();
        s.push_str(piece);
        let skip = rng.below(3);
        s.extend(chars[(at + skip).min(chars.len())..].iter());
        out.push(s);
    }
    out
}

#[test]
fn no_mutated_manifest_makes_the_pipeline_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut cases = 0;
    let mut panics = Vec::new();
    // Silence the default hook's message for caught panics; they are reported below.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    for name in examples() {
        let text = std::fs::read_to_string(repo().join("examples").join(&name).join("obsgen.toml"))
            .unwrap();
        for m in mutations(&text, &mut rng) {
            cases += 1;
            let r = catch_unwind(AssertUnwindSafe(|| {
                let _ = obsgen::project::generate_from(&m, "obsgen.toml", None);
            }));
            if let Err(e) = r {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                if panics.len() < 5 {
                    panics.push(format!("{name}: {msg}\n--- manifest ---\n{m}"));
                }
            }
        }
    }
    std::panic::set_hook(hook);
    assert!(cases > 1000, "only {cases} cases");
    assert!(
        panics.is_empty(),
        "panics on {} inputs (first shown):\n{}",
        panics.len(),
        panics.join("\n\n")
    );
}

#[test]
fn the_binary_never_exits_with_a_panic() {
    // Hostile inputs through the real binary: exit 2 with `error:`, never 101.
    for text in [
        "\u{0}\u{1}",
        "[project]\nname = \"x\"\n[[service]]\nname = \"a\"\nport = 65535\nhost_port = 0\n",
        "[project]\nname = \"x\"\nenvironments = []\n",
        "[[service]]",
        "project = 1",
    ] {
        let p = Project::with_manifest(text);
        let out = p.run(&["generate"]);
        assert_eq!(out.code, 2, "{text:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("error:") && !out.stderr.contains("panicked"),
            "{text:?}: {}",
            out.stderr
        );
    }
}

#[test]
fn no_mutated_answers_file_makes_init_panic() {
    // `obsgen init --answers FILE` in-process: every mutation either fills a manifest
    // (which must then be valid or rejected with diagnostics) or is an error.
    let answers = r#"databases = "orders:postgres,cache:redis"
[project]
name = "shop"
profile = "full"
environments = ["development", "staging", "production"]
[[services]]
name = "api"
image = "ghcr.io/acme/api:1.0.0"
port = 3000
public = true
metrics_path = "/metrics"
[[services]]
name = "worker"
port = 3000
[storage]
backend = "minio"
buckets = "uploads"
[[receivers]]
kind = "slack"
secret_env = "SLACK_URL"
[[receivers]]
kind = "email"
to = ["ops@example.com"]
username = "me"
[routing]
critical = "slack,email"
warning = "slack"
[ci]
provider = "github"
[deploy.aws]
region = "eu-west-1"
domain = "shop.example.com"
"#;
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut panics = Vec::new();
    let mut written = 0;
    let all = mutations(answers, &mut rng);
    for m in &all {
        let r = catch_unwind(AssertUnwindSafe(|| {
            let folder = std::path::Path::new("/tmp/obsgen-fuzz");
            let Ok(a) = obsgen::init::gather_all(Some(("answers.toml", m.clone())), &[], &[])
            else {
                return false;
            };
            let Ok(text) = obsgen::init::render(a, folder) else {
                return false;
            };
            obsgen::project::load_valid(text, "obsgen.toml").is_ok()
        }));
        match r {
            Ok(valid) => written += usize::from(valid),
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                if panics.len() < 3 {
                    panics.push(format!("{msg}\n--- answers ---\n{m}"));
                }
            }
        }
    }
    std::panic::set_hook(hook);
    assert!(all.len() > 200, "only {} cases", all.len());
    // About one in six mutations still describes a valid project (42 with this seed).
    assert!(
        written > 25,
        "only {written} mutations gave a valid manifest"
    );
    assert!(panics.is_empty(), "panics:\n{}", panics.join("\n\n"));
}

/// Runs the binary with stderr (and, with `close_stdout`, stdout too) on a pipe whose
/// reading end is already closed: every write there fails with EPIPE. Returns the exit
/// code and what went to stdout when it stays open.
#[cfg(unix)]
fn run_with_closed_stderr(p: &Project, args: &[&str], close_stdout: bool) -> (i32, String) {
    use std::process::{Command, Stdio};
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_obsgen"));
    cmd.current_dir(p.path())
        .env_remove("CI")
        .env_remove("PROMETHEUS_PASSWORD")
        .env("NO_COLOR", "1")
        .args(args)
        .stdin(Stdio::null())
        .stdout(if close_stdout {
            Stdio::from(writer.try_clone().unwrap())
        } else {
            Stdio::piped()
        })
        .stderr(writer);
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[cfg(unix)]
#[test]
fn a_closed_stderr_never_makes_obsgen_panic_and_keeps_the_exit_code() {
    // `obsgen generate 2>&1 | head -c 100` with many errors: the reader is gone.
    let mut bad = String::from("[project]\nname = \"x\"\n");
    for i in 0..300 {
        bad.push_str(&format!("[[service]]\nname = \"Bad Name {i}\"\nport = 0\n"));
    }
    let p = Project::with_manifest(&bad);
    let lines = p.run(&["generate"]).expect(2).stderr.lines().count();
    assert!(lines > 300, "only {lines} lines of errors");
    for args in [
        &["generate"][..],
        &["check"],
        &["secrets"],
        &["-v", "generate"],
    ] {
        assert_eq!(run_with_closed_stderr(&p, args, true).0, 2, "{args:?}");
        assert_eq!(run_with_closed_stderr(&p, args, false).0, 2, "{args:?}");
    }
    // A plain error (no manifest diagnostics) too.
    let empty = Project::new();
    assert_eq!(run_with_closed_stderr(&empty, &["generate"], false).0, 2);
    // -v prints stage timings to stderr: a closed stderr leaves the run and stdout alone.
    let ok = Project::example("minimal");
    let (code, stdout) = run_with_closed_stderr(&ok, &["-v", "generate"], false);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("generate: "), "{stdout}");
}
