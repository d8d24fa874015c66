//! Installing obsgen in CI: one script, `templates/v1/ci/install-obsgen.sh`, rendered into
//! every generated obsgen.yml and run by action.yml, downloads the release archive of the
//! version and the release's SHA256SUMS from Cargo.toml's `repository`, installs it only
//! when its checksum matches (and it is that version) and falls back to `cargo install`;
//! the release workflow publishes exactly the archives it and cargo-binstall look for.
//! The script runs here against a fake release folder (`file://`).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::{Project, repo, yaml};

const SCRIPT: &str = "templates/v1/ci/install-obsgen.sh";

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn cargo_toml() -> toml::Table {
    toml::from_str(&read("Cargo.toml")).unwrap()
}

/// Cargo.toml's `repository` + `/releases/download`.
fn releases() -> String {
    let repository = cargo_toml()["package"]["repository"]
        .as_str()
        .expect("Cargo.toml has a repository")
        .to_string();
    format!("{repository}/releases/download")
}

fn write_exec(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn sh(dir: &Path, cmd: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", cmd])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The release target of this machine, as the script names it.
fn target(dir: &Path) -> &'static str {
    match sh(dir, "echo \"$(uname -s)-$(uname -m)\"").as_str() {
        "Linux-x86_64" => "x86_64-unknown-linux-musl",
        "Linux-aarch64" | "Linux-arm64" => "aarch64-unknown-linux-musl",
        "Darwin-x86_64" => "x86_64-apple-darwin",
        "Darwin-arm64" => "aarch64-apple-darwin",
        other => panic!("no release target for {other}"),
    }
}

struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn path(&self) -> &Path {
        self.dir.path()
    }
    fn bin_dir(&self) -> PathBuf {
        self.path().join("home/.cargo/bin")
    }
    /// A release `v<version>` holding an archive for this machine whose `obsgen` prints
    /// `prints`, and SHA256SUMS of `summed` (the archive itself when `None`).
    fn release(&self, version: &str, prints: &str, summed: Option<&str>) {
        let rel = self.path().join(format!("release/v{version}"));
        let _ = std::fs::remove_dir_all(&rel);
        let asset = format!("obsgen-v{version}-{}.tar.gz", target(self.path()));
        let stage = self.path().join("stage");
        write_exec(
            &stage.join("obsgen"),
            &format!("#!/bin/sh\necho '{prints}'\n"),
        );
        std::fs::create_dir_all(&rel).unwrap();
        sh(
            &stage,
            &format!("tar -czf '{}' obsgen", rel.join(&asset).display()),
        );
        let sum = match summed {
            None => sh(&rel, &format!("sha256sum '{asset}'")),
            Some(other) => format!(
                "{}  {asset}",
                sh(
                    &rel,
                    &format!("printf '%s' '{other}' | sha256sum | cut -d' ' -f1")
                )
            ),
        };
        std::fs::write(
            rel.join("SHA256SUMS"),
            format!(
                "{}  obsgen-v{version}-riscv64gc-unknown-linux-musl.tar.gz\n{sum}\n",
                "0".repeat(64)
            ),
        )
        .unwrap();
    }
    /// Runs the script for `version`; (exit code, output, cargo calls).
    fn install(&self, version: &str) -> (i32, String, String) {
        let stubs = self.path().join("stubs");
        let log = self.path().join("cargo.log");
        let _ = std::fs::remove_file(&log);
        // cargo install … --root DIR: builds a stand-in obsgen into DIR/bin.
        write_exec(
            &stubs.join("cargo"),
            "#!/bin/sh\necho \"$*\" >> \"$CARGO_LOG\"\nwhile [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\nmkdir -p \"$root/bin\" && printf '#!/bin/sh\\necho built\\n' > \"$root/bin/obsgen\"\n",
        );
        let out = Command::new("sh")
            .arg(repo().join(SCRIPT))
            .current_dir(self.path())
            .env("HOME", self.path().join("home"))
            .env("OBSGEN_VERSION", version)
            .env(
                "OBSGEN_RELEASES",
                format!("file://{}", self.path().join("release").display()),
            )
            .env("CARGO_LOG", &log)
            .env(
                "PATH",
                format!("{}:{}", stubs.display(), std::env::var("PATH").unwrap()),
            )
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
            std::fs::read_to_string(&log).unwrap_or_default(),
        )
    }
    fn installed(&self) -> Option<String> {
        let bin = self.bin_dir().join("obsgen");
        bin.exists()
            .then(|| sh(self.path(), &format!("'{}'", bin.display())))
    }
}

#[test]
fn the_install_script_installs_a_verified_binary_and_refuses_a_mismatch() {
    let f = Fixture {
        dir: tempfile::tempdir().unwrap(),
    };
    // A checksum that does not match: refused, nothing installed, no fallback.
    f.release("1.2.3", "obsgen 1.2.3", Some("some other archive"));
    let (code, out, cargo) = f.install("1.2.3");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("does not match its checksum"), "{out}");
    assert_eq!(f.installed(), None);
    assert_eq!(cargo, "", "a mismatch is refused, not worked around");
    // An archive holding another version: refused too.
    f.release("1.2.3", "obsgen 6.6.6", None);
    let (code, out, _) = f.install("1.2.3");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("holds no obsgen 1.2.3"), "{out}");
    assert_eq!(f.installed(), None);
    // The matching archive: installed, without cargo.
    f.release("1.2.3", "obsgen 1.2.3", None);
    let (code, out, cargo) = f.install("1.2.3");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("checksum verified"), "{out}");
    assert_eq!(f.installed().as_deref(), Some("obsgen 1.2.3"));
    assert_eq!(cargo, "");
    // No release of that version: built with cargo install.
    let (code, out, cargo) = f.install("9.9.9");
    assert_eq!(code, 0, "{out}");
    assert!(
        cargo.starts_with("install obsgen --locked --version 9.9.9 --root "),
        "{cargo}"
    );
    assert_eq!(f.installed().as_deref(), Some("built"));
    // A version that is no version: refused before any download.
    let (code, out, _) = f.install("1.0/../../x");
    assert_eq!(code, 2, "{out}");
}

fn step<'a>(job: &'a Value, name: &str) -> &'a Value {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"].as_str().is_some_and(|n| n.starts_with(name)))
        .unwrap_or_else(|| panic!("no step {name}"))
}

#[test]
fn obsgen_yml_action_yml_release_and_binstall_agree_on_one_script_and_one_url() {
    let script = read(SCRIPT);
    let commands: Vec<&str> = script
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    // The generated obsgen.yml runs the script's commands, with the release URL.
    let p = Project::example("shop");
    p.generate();
    let o = yaml(&p.read(".github/workflows/obsgen.yml"));
    let install = step(&o["jobs"]["regenerate"], "Install obsgen");
    let run: Vec<&str> = install["run"].as_str().unwrap().lines().collect();
    assert_eq!(run, commands);
    assert_eq!(install["env"]["OBSGEN_RELEASES"], releases());
    assert_eq!(install["env"]["OBSGEN_VERSION"], env!("CARGO_PKG_VERSION"));
    // action.yml runs the same file, with the same URL.
    let action = yaml(&read("action.yml"));
    let steps = action["runs"]["steps"].as_array().unwrap();
    let install = steps
        .iter()
        .find(|s| s["name"] == "Install obsgen")
        .unwrap();
    assert!(
        install["run"]
            .as_str()
            .unwrap()
            .contains(&format!("\"$GITHUB_ACTION_PATH/{SCRIPT}\"")),
        "{install}"
    );
    assert_eq!(install["env"]["OBSGEN_RELEASES"], releases());
    // The release publishes `obsgen-v<version>-<target>.tar.gz` for exactly the targets
    // the script knows, and SHA256SUMS; cargo-binstall looks for the same names.
    let release = yaml(&read(".github/workflows/release.yml"));
    let mut built: Vec<String> = release["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["target"].as_str().unwrap().to_string())
        .collect();
    built.sort();
    let mut known: Vec<String> = script
        .lines()
        .filter_map(|l| {
            l.split_once("target=")?
                .1
                .split_once(' ')
                .map(|(t, _)| t.to_string())
        })
        .filter(|t| t != "none")
        .collect();
    known.sort();
    assert_eq!(built, known);
    let text = read(".github/workflows/release.yml");
    assert!(
        text.contains("ASSET=obsgen-v$version-$TARGET.tar.gz"),
        "{text}"
    );
    assert!(text.contains("sha256sum obsgen-v*.tar.gz > SHA256SUMS"));
    assert!(script.contains("asset=\"obsgen-v$version-$target.tar.gz\""));
    assert!(script.contains("url=\"$releases/v$version\""));
    let binstall = &cargo_toml()["package"]["metadata"]["binstall"];
    assert_eq!(
        binstall["pkg-url"].as_str().unwrap(),
        "{ repo }/releases/download/v{ version }/obsgen-v{ version }-{ target }.tar.gz"
    );
    assert_eq!(binstall["pkg-fmt"].as_str().unwrap(), "tgz");
}
