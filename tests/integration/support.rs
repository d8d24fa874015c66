//! Test support: a throw-away project folder with a builder, running the obsgen
//! binary in it, reading back the whole tree, and locating external validators.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// The repository root (where `examples/` and `tests/` live).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Names of the example manifests, `examples/<name>/obsgen.toml`.
pub fn examples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .filter_map(|e| {
            let e = e.ok()?;
            e.path()
                .join("obsgen.toml")
                .is_file()
                .then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    names
}

pub struct Project {
    pub dir: tempfile::TempDir,
}

/// Output of one obsgen run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Project {
    pub fn new() -> Project {
        Project {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A project holding `examples/<name>/obsgen.toml`.
    pub fn example(name: &str) -> Project {
        let p = Project::new();
        let text = std::fs::read_to_string(repo().join("examples").join(name).join("obsgen.toml"))
            .unwrap();
        p.write("obsgen.toml", &text);
        p
    }

    /// A project with this manifest text.
    pub fn with_manifest(text: &str) -> Project {
        let p = Project::new();
        p.write("obsgen.toml", text);
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) -> &Self {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
        self
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path().join(rel).exists()
    }

    /// Runs obsgen with `args` in the project folder (colour off, CI and the Prometheus
    /// password unset, so output does not depend on the caller's environment).
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_in(self.path(), args)
    }

    pub fn run_in(&self, cwd: &Path, args: &[&str]) -> Run {
        let out = Command::cargo_bin("obsgen")
            .unwrap()
            .current_dir(cwd)
            .env_remove("CI")
            .env_remove("PROMETHEUS_PASSWORD")
            .env("NO_COLOR", "1")
            .args(args)
            .output()
            .unwrap();
        Run::from(out)
    }

    pub fn generate(&self) -> Run {
        self.run(&["generate"]).expect(0)
    }

    /// Every file below the project folder (symlinks as `-> target`), by relative path.
    pub fn tree(&self) -> BTreeMap<String, Vec<u8>> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            entries.sort();
            for p in entries {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                let meta = std::fs::symlink_metadata(&p).unwrap();
                if meta.file_type().is_symlink() {
                    out.insert(
                        rel,
                        format!("-> {}", std::fs::read_link(&p).unwrap().display()).into_bytes(),
                    );
                } else if meta.is_dir() {
                    out.insert(format!("{rel}/"), Vec::new());
                    walk(root, &p, out);
                } else {
                    out.insert(rel, std::fs::read(&p).unwrap());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(self.path(), self.path(), &mut out);
        out
    }

    /// Paths of generated files with an extension.
    pub fn files_ending(&self, suffix: &str) -> Vec<String> {
        self.tree()
            .keys()
            .filter(|k| k.ends_with(suffix))
            .cloned()
            .collect()
    }
}

/// An external validator: its path, or `None` (outside CI) after a loud warning.
/// Under `CI=true` a missing validator fails the test.
pub fn require_tool(name: &str) -> Option<PathBuf> {
    let extra = [
        "/opt/infra-validators/bin",
        "/opt/infra-validators/venv/bin",
        "/opt/infra-validators/node/node_modules/.bin",
    ];
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(extra.iter().map(PathBuf::from));
    for d in dirs {
        let candidate = d.join(name);
        if candidate.is_file() {
            return Some(candidate);
        }
    }
    if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
        panic!("validator `{name}` is missing and CI=true: run scripts/install-validators.sh");
    }
    eprintln!(
        "\n!!!!!!!! SKIPPED: validator `{name}` not found; run scripts/install-validators.sh !!!!!!!!\n"
    );
    None
}

/// Runs an external tool: its exit code (-1 when killed) and stdout + stderr.
pub fn tool(cmd: &mut std::process::Command) -> (i32, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

/// Parses YAML text into JSON values (panics on invalid YAML).
pub fn yaml(text: &str) -> serde_json::Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("invalid YAML: {e}\n{text}"))
}
