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
