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

/// A manifest with one service, followed by `extra`.
fn one_service(extra: &str) -> String {
    format!(
        "[project]\nname = \"demo\"\n\n[[service]]\nname = \"web\"\nimage = \"ghcr.io/acme/web:1.0.0\"\nport = 8080\n{extra}"
    )
}

#[test]
fn hostile_text_and_keys_are_rejected_at_load_with_a_location() {
    // Each of these once ended in "bug in obsgen" (a generated file that did not parse),
    // a value changed on the way through YAML, or an error without a location. Now:
    // exit 2 at load time, `--> obsgen.toml:line:col`, a help line, in bounded time and
    // with bounded output.
    let long_key = "K".repeat(10_000);
    let dotted = vec!["a"; 20_000].join(".");
    let mut cases = vec![
        (
            "10,000-character env key".to_string(),
            one_service(&format!("env = {{ {long_key} = \"x\" }}\n")),
        ),
        (
            "10,000-character environment name".to_string(),
            one_service(&format!(
                "[environment.{long_key}]\nextends = \"production\"\n"
            )),
        ),
        (
            "20,000-part dotted key at the top".to_string(),
            one_service(&format!("{dotted} = 1\n")),
        ),
        (
            "20,000-part dotted key in [alerts]".to_string(),
            one_service(&format!("[alerts]\n{dotted} = 1\n")),
        ),
        (
            "20,000-part dotted table header".to_string(),
            one_service(&format!("[{dotted}]\n")),
        ),
        (
            "20,000-part dotted key in an inline table".to_string(),
            one_service(&format!("metrics = {{ {dotted} = 1 }}\n")),
        ),
    ];
    for (name, c) in [
        ("NUL", "\\u0000"),
        ("ESC", "\\u001B"),
        ("DEL", "\\u007F"),
        ("NEL", "\\u0085"),
        ("CSI", "\\u009B"),
        ("U+009F", "\\u009F"),
        ("U+2028", "\\u2028"),
        ("U+2029", "\\u2029"),
        ("BOM", "\\uFEFF"),
        ("U+FDD0", "\\uFDD0"),
        ("U+FFFE", "\\uFFFE"),
        ("U+FFFF", "\\uFFFF"),
        ("U+10FFFF", "\\U0010FFFF"),
    ] {
        cases.push((
            format!("{name} in an env value"),
            one_service(&format!("env = {{ A = \"b{c}c\" }}\n")),
        ));
        cases.push((
            format!("{name} in an env key"),
            one_service(&format!("env = {{ \"A{c}\" = \"b\" }}\n")),
        ));
        cases.push((
            format!("{name} in a route label value"),
            one_service(&format!(
                "[[receiver]]\nname = \"r\"\nkind = \"webhook\"\nurl = \"http://hooks.example.com/\"\n[[route]]\nmatch = {{ team = \"web{c}shop\" }}\nreceivers = [\"r\"]\n"
            )),
        ));
    }
    // Raw (unescaped) C1 controls and separators are legal TOML: the same check applies.
    for raw in ['\u{85}', '\u{9b}', '\u{2028}', '\u{fffe}'] {
        cases.push((
            format!("raw U+{:04X} in an env value", raw as u32),
            one_service(&format!("env = {{ A = \"b{raw}c\" }}\n")),
        ));
    }
    let mut failures = Vec::new();
    for (name, text) in &cases {
        let p = Project::with_manifest(text);
        let started = std::time::Instant::now();
        let out = p.run(&["generate"]);
        let took = started.elapsed();
        let located = out
            .stderr
            .lines()
            .any(|l| l.trim_start().starts_with("--> obsgen.toml:"));
        if out.code != 2
            || !located
            || !out.stderr.contains("\nhelp: ")
            || out.stderr.contains("bug in obsgen")
            || out.stderr.contains("panicked")
            || out.stderr.contains("TOML syntax: recursion limit")
        {
            failures.push(format!(
                "{name}: exit {}:\n{}",
                out.code,
                out.stderr.chars().take(3000).collect::<String>()
            ));
        } else if out.stderr.len() > 8_000 || took > std::time::Duration::from_secs(10) {
            failures.push(format!(
                "{name}: {} bytes of stderr in {took:?}",
                out.stderr.len()
            ));
        }
        // The message never carries the character raw (it could drive the terminal).
        for bad in ['\u{0}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9b}', '\u{2028}'] {
            if out.stderr.contains(bad) {
                failures.push(format!("{name}: stderr holds U+{:04X} raw", bad as u32));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

/// Every string in a TOML value with its key path (`service[0].env.A`), in the
/// manifest's path syntax; map keys are reported with the path of their value.
fn strings(v: &toml::Value, path: &str, out: &mut Vec<String>) {
    match v {
        toml::Value::String(_) => out.push(path.to_string()),
        toml::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                strings(item, &format!("{path}[{i}]"), out);
            }
        }
        toml::Value::Table(t) => {
            for (k, item) in t {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                strings(item, &p, out);
            }
        }
        _ => {}
    }
}

/// The value at `path` in a TOML document (paths as [`strings`] writes them).
fn at<'a>(v: &'a mut toml::Value, path: &str) -> &'a mut toml::Value {
    let mut cur = v;
    for part in path.split('.') {
        let (name, rest) = part.split_once('[').unwrap_or((part, ""));
        cur = &mut cur[name];
        for idx in rest.split('[').filter(|s| !s.is_empty()) {
            cur = &mut cur[idx.trim_end_matches(']').parse::<usize>().unwrap()];
        }
    }
    cur
}

#[test]
fn every_string_with_a_forbidden_character_is_rejected_at_its_key() {
    // Every string value of every example, with a forbidden character inserted: the
    // load stage rejects it with a diagnostic on exactly that key and a location; and
    // text every field must accept (non-ASCII letters, a no-break space, U+FFFD) is
    // never refused by that check.
    const FORBIDDEN: [char; 13] = [
        '\u{0}',
        '\u{7}',
        '\u{1b}',
        '\u{7f}',
        '\u{80}',
        '\u{85}',
        '\u{9f}',
        '\u{2028}',
        '\u{2029}',
        '\u{feff}',
        '\u{fdd0}',
        '\u{fffe}',
        '\u{10ffff}',
    ];
    let mut cases = 0;
    let mut failures = Vec::new();
    for name in examples() {
        let text = std::fs::read_to_string(repo().join("examples").join(&name).join("obsgen.toml"))
            .unwrap();
        let doc: toml::Value = toml::from_str(&text).unwrap();
        let mut paths = Vec::new();
        strings(&doc, "", &mut paths);
        for (i, path) in paths.iter().enumerate() {
            let c = FORBIDDEN[i % FORBIDDEN.len()];
            for (insert, must_reject) in [
                (c, true),
                ('\n', true),
                ('é', false),
                ('\u{a0}', false),
                ('\u{fffd}', false),
            ] {
                // These may span lines: a PromQL expression, an alert's description,
                // a container's environment values and command arguments.
                let multiline = path.ends_with(".expr")
                    || path.ends_with(".description")
                    || path.contains(".env.")
                    || path.contains("command[")
                    || path.contains(".health_cmd[");
                let must_reject = must_reject && !(insert == '\n' && multiline);
                let mut m = doc.clone();
                let v = at(&mut m, path);
                let s = v.as_str().unwrap();
                let mid = s
                    .char_indices()
                    .nth(s.chars().count() / 2)
                    .map_or(s.len(), |(b, _)| b);
                *v = toml::Value::String(format!("{}{insert}{}", &s[..mid], &s[mid..]));
                let edited = toml::to_string(&m).unwrap();
                cases += 1;
                let diags = match obsgen::project::load_valid(edited.clone(), "obsgen.toml") {
                    Ok(_) => Vec::new(),
                    Err(d) => d.items,
                };
                // Rejected at load time: as text no output can carry, or (in a field
                // with a fixed set of values) as none of them.
                let flagged = diags.iter().any(|d| {
                    d.key.as_deref() == Some(path.as_str())
                        && d.span.is_some()
                        && (d.message.starts_with("value contains")
                            || (must_reject && d.message.starts_with("unknown value")))
                });
                if flagged != must_reject {
                    failures.push(format!(
                        "{name}: {path} with U+{:04X}: {}\n{diags:#?}",
                        insert as u32,
                        if must_reject {
                            "not rejected at its key"
                        } else {
                            "refused"
                        }
                    ));
                }
            }
        }
    }
    assert!(cases > 500, "only {cases} cases");
    assert!(
        failures.is_empty(),
        "{} of {cases} cases:\n\n{}",
        failures.len(),
        failures
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

#[test]
fn multi_line_expr_and_description_are_accepted_and_arrive_unchanged() {
    // Two of the fields that may span lines: a PromQL expression and an alert's
    // description (the others are checked in `quoting`).
    let expr = "sum(queue_depth)\n\t> 100";
    let description = "The queue is backing up.\n\tRunbook: https://runbooks.example.com/queue";
    let p = Project::with_manifest(&one_service(&format!(
        "[[alerts.custom]]\nname = \"QueueHigh\"\nexpr = {}\nseverity = \"warning\"\nsummary = \"Queue é high\"\ndescription = {}\n",
        toml::Value::String(expr.into()),
        toml::Value::String(description.into())
    )));
    p.generate();
    let rules = crate::support::yaml(&p.read("monitoring/prometheus/rules/custom.yml"));
    let rule = &rules["groups"][0]["rules"][0];
    assert_eq!(rule["expr"], expr);
    assert_eq!(rule["annotations"]["description"], description);
    assert_eq!(rule["annotations"]["summary"], "Queue é high");
}
