//! The lock as untrusted data, the order of writes, interruptions and races:
//! - a tampered `obsgen.lock` (an entry obsgen could never write, the lock itself, a
//!   path twice) is reported and nothing is deleted or rewritten;
//! - the lock is written last: a failed orphan removal leaves the old lock, so `check`
//!   still reports the orphan;
//! - temporary files of a killed run are removed (and reported) by the next run, and
//!   SIGINT/SIGTERM remove them before exiting; files an interrupted run wrote are not
//!   called "edited by hand" afterwards;
//! - two `generate` runs cannot interleave (an advisory lock on the project folder);
//! - a non-file `obsgen.toml` stops the walk up;
//! - CRLF checkouts: `.gitattributes` block, and `check` names the case.
//!
//! Interruptions are deterministic through the debug-only switches
//! `OBSGEN_FAULT_ABORT_AFTER_WRITES` and `OBSGEN_FAULT_PAUSE_AFTER_WRITES` (src/project/disk.rs).

use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::support::Project;

/// The obsgen binary, run in `dir` with the environment the support helpers use.
fn obsgen(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_obsgen"));
    c.current_dir(dir)
        .env_remove("CI")
        .env_remove("PROMETHEUS_PASSWORD")
        .env_remove("OBSGEN_FAULT_ABORT_AFTER_WRITES")
        .env_remove("OBSGEN_FAULT_PAUSE_AFTER_WRITES")
        .env("NO_COLOR", "1")
        .args(args);
    c
}

struct Out {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn output(mut c: Command) -> Out {
    let o = c.output().unwrap();
    Out {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Paths of obsgen's temporary files anywhere in the project.
fn temp_files(p: &Project) -> Vec<String> {
    p.tree()
        .keys()
        .filter(|k| {
            k.rsplit('/')
                .next()
                .is_some_and(|name| name.starts_with(".obsgen-"))
        })
        .cloned()
        .collect()
}

fn lock_entry(path: &str, sha: &str) -> String {
    format!("\n[[file]]\npath = \"{path}\"\ntemplate = \"x\"\nsha256 = \"{sha}\"\n")
}

fn sha(bytes: &[u8]) -> String {
    obsgen::lock::sha256(bytes)
}

// ---- 1: the lock is untrusted ----

#[test]
fn a_tampered_lock_deletes_nothing_and_names_each_entry() {
    let p = Project::example("minimal");
    p.generate();
    p.write(".git/HEAD", "ref: refs/heads/main\n");
    p.write("notes/todo.md", "mine\n");
    p.write(".github/workflows/release.yml", "mine\n");
    let good = p.read("obsgen.lock");
    let head = sha(p.read(".git/HEAD").as_bytes());
    let manifest = sha(p.read("obsgen.toml").as_bytes());
    let cases: Vec<(String, &str, &str)> = vec![
        // The command: the right hash, so not even --force is needed today.
        (
            lock_entry(".git/HEAD", &head),
            ".git/HEAD",
            "version-control folder",
        ),
        // A wrong hash: --force deleted it anyway.
        (
            lock_entry(".git/HEAD", &"0".repeat(64)),
            ".git/HEAD",
            "version-control folder",
        ),
        (
            lock_entry("obsgen.toml", &manifest),
            "obsgen.toml",
            "the manifest",
        ),
        (
            lock_entry("obsgen.toml", &"1".repeat(64)),
            "obsgen.toml",
            "the manifest",
        ),
        (
            lock_entry("obsgen.lock", &"2".repeat(64)),
            "obsgen.lock",
            "the lock itself",
        ),
        (
            lock_entry("notes/todo.md", &"3".repeat(64)),
            "notes/todo.md",
            "never generates",
        ),
        (
            lock_entry(".github/workflows/release.yml", &"4".repeat(64)),
            ".github/workflows/release.yml",
            "never generates",
        ),
        (
            lock_entry("monitoring/.git/config", &"5".repeat(64)),
            "monitoring/.git/config",
            "version-control folder",
        ),
        (
            lock_entry("compose.yaml", &"6".repeat(64)),
            "compose.yaml",
            "listed twice",
        ),
    ];
    for (entry, path, why) in cases {
        p.write("obsgen.lock", &format!("{good}{entry}"));
        let before = p.tree();
        for args in [
            &["generate"][..],
            &["generate", "--force"],
            &["check"],
            &["diff"],
        ] {
            let out = p.run(args);
            assert_eq!(
                out.code, 2,
                "{args:?} with {path}: {}{}",
                out.stdout, out.stderr
            );
            assert!(
                out.stderr.contains("obsgen.lock was tampered with")
                    && out.stderr.contains(&format!("  {path}: "))
                    && out.stderr.contains(why)
                    && out
                        .stderr
                        .contains("help: restore obsgen.lock from version control"),
                "{args:?} with {path}:\n{}",
                out.stderr
            );
            assert_eq!(p.tree(), before, "{args:?} with {path} changed the project");
        }
    }
}

#[test]
fn a_tampered_pending_record_deletes_nothing() {
    let p = Project::example("minimal");
    p.generate();
    p.write(".git/HEAD", "ref: refs/heads/main\n");
    let head = sha(p.read(".git/HEAD").as_bytes());
    p.write(
        "obsgen.lock.pending",
        &format!("[[file]]\npath = \".git/HEAD\"\nsha256 = \"{head}\"\n"),
    );
    let before = p.tree();
    for args in [&["generate"][..], &["generate", "--force"], &["check"]] {
        let out = p.run(args).expect(2);
        assert!(
            out.stderr.contains("obsgen.lock.pending was tampered with")
                && out
                    .stderr
                    .contains("  .git/HEAD: inside a version-control folder")
                && out.stderr.contains("help: delete obsgen.lock.pending"),
            "{}",
            out.stderr
        );
        assert_eq!(p.tree(), before);
    }
}

#[test]
fn a_lock_listing_itself_or_a_path_twice_is_never_rewritten_or_lost() {
    // A lock listing the same orphan twice: today the first removal works, the second
    // fails, after the lock was rewritten. One listing itself: today the lock is
    // "removed" as an orphan and the project ends with no lock.
    let p = Project::example("microservices");
    p.generate();
    let m = p
        .read("obsgen.toml")
        .replace(
            "[\"development\", \"staging\", \"production\"]",
            "[\"development\", \"production\"]",
        )
        .replace("[environment.staging]\nretention_time = \"3d\"\n", "");
    p.write("obsgen.toml", &m);
    let good = p.read("obsgen.lock");
    let staging = sha(p.read("compose.staging.yaml").as_bytes());
    let lock_sha = sha(good.as_bytes());
    for extra in [
        lock_entry("compose.staging.yaml", &staging),
        lock_entry("obsgen.lock", &lock_sha),
    ] {
        let tampered = format!("{good}{extra}");
        p.write("obsgen.lock", &tampered);
        let before = p.tree();
        for args in [&["generate"][..], &["generate", "--force"]] {
            p.run(args).expect(2);
            assert_eq!(p.read("obsgen.lock"), tampered, "{args:?}");
            assert_eq!(p.tree(), before, "{args:?}");
        }
    }
}

// ---- 4: the lock is written last ----

/// Whether this test can drop privileges to nobody (it runs as root); loud when not.
fn as_nobody_possible() -> bool {
    let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    if !root {
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("this test drops privileges to nobody and needs root (CI runs as root)");
        }
        eprintln!("\n!!!!!!!! SKIPPED: needs root to drop privileges to nobody !!!!!!!!\n");
    }
    root
}

#[cfg(unix)]
#[test]
fn a_failed_orphan_removal_leaves_the_old_lock_so_check_still_reports_it() {
    use std::os::unix::fs::PermissionsExt as _;
    if !as_nobody_possible() {
        return;
    }
    let p = Project::example("microservices");
    p.generate();
    let m = p
        .read("obsgen.toml")
        .replace(
            "[\"development\", \"staging\", \"production\"]",
            "[\"development\", \"production\"]",
        )
        .replace("[environment.staging]\nretention_time = \"3d\"\n", "");
    p.write("obsgen.toml", &m);
    let orphan = "monitoring/prometheus/prometheus.staging.yml";
    let old_lock = p.read("obsgen.lock");
    let chown = |who: &str| {
        let ok = Command::new("chown")
            .args(["-R", who])
            .arg(p.path())
            .status()
            .unwrap()
            .success();
        assert!(ok);
    };
    chown("nobody:nogroup");
    let folder = p.path().join("monitoring/prometheus");
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555)).unwrap();
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid=nobody",
        "--regid=nogroup",
        "--clear-groups",
        "--",
        env!("CARGO_BIN_EXE_obsgen"),
        "generate",
    ])
    .current_dir(p.path())
    .env("NO_COLOR", "1")
    .env_remove("CI")
    .env_remove("PROMETHEUS_PASSWORD");
    let out = output(cmd);
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    chown("root:root");
    assert_eq!(out.code, Some(2), "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("removing"), "{}", out.stderr);
    assert!(p.exists(orphan));
    assert_eq!(
        p.read("obsgen.lock"),
        old_lock,
        "the lock must not be updated"
    );
    let check = p.run(&["check"]).expect(1);
    assert!(
        check.stdout.contains(&format!("orphaned  {orphan}")),
        "{}",
        check.stdout
    );
    assert!(!check.stdout.contains("edited by hand"), "{}", check.stdout);
    p.generate();
    assert!(!p.exists(orphan));
    p.run(&["check"]).expect(0);
}

// ---- 5: interrupted runs ----

#[test]
fn temporary_files_of_a_killed_run_are_removed_and_reported_by_the_next_run() {
    let p = Project::example("shop");
    let mut c = obsgen(p.path(), &["generate"]);
    c.env("OBSGEN_FAULT_ABORT_AFTER_WRITES", "3");
    let out = output(c);
    assert_eq!(
        out.code, None,
        "aborted as by kill -9: {}{}",
        out.stdout, out.stderr
    );
    // Killed in the middle of the renames: the files not yet renamed are still
    // temporary files (the whole batch is written and synced before the first rename).
    let temps = temp_files(&p);
    assert!(temps.len() > 1, "{temps:?}");
    assert!(!p.exists("obsgen.lock"), "the lock goes last");
    // A temporary file a user made by hand that only looks like ours is kept.
    p.write("monitoring/.obsgen-notes", "mine\n");
    let run = p.generate();
    assert!(
        run.stdout.contains(&format!(
            "removed {} leftover temporary files of an interrupted run",
            temps.len()
        )),
        "{}",
        run.stdout
    );
    assert_eq!(temp_files(&p), vec!["monitoring/.obsgen-notes".to_string()]);
    p.run(&["check"]).expect(0);
}

#[test]
fn after_an_interruption_and_a_reverted_manifest_nothing_is_called_edited_by_hand() {
    let p = Project::example("shop");
    p.generate();
    let a = p.read("obsgen.toml");
    // B changes a port (files change) and adds an environment (files appear).
    let b = a.replace("port = 5921", "port = 5922").replace(
        "environments = [\"development\", \"production\"]",
        "environments = [\"development\", \"staging\", \"production\"]",
    );
    assert_ne!(a, b);
    p.write("obsgen.toml", &b);
    let dry = p.run(&["generate", "--dry-run"]).expect(0);
    let order: Vec<&str> = dry
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("would write "))
        .collect();
    let staging = order
        .iter()
        .position(|f| *f == "compose.staging.yaml")
        .expect("compose.staging.yaml is written");
    let n = staging + 2;
    assert!(n + 1 < order.len(), "{order:?}");
    let mut c = obsgen(p.path(), &["generate"]);
    c.env("OBSGEN_FAULT_ABORT_AFTER_WRITES", n.to_string());
    let out = output(c);
    assert_eq!(out.code, None, "{}{}", out.stdout, out.stderr);
    // The user gives up on B.
    p.write("obsgen.toml", &a);
    let check = p.run(&["check"]).expect(1);
    assert!(!check.stdout.contains("edited by hand"), "{}", check.stdout);
    assert!(!check.stdout.contains("modified "), "{}", check.stdout);
    assert!(
        check.stdout.contains("orphaned  compose.staging.yaml"),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("interrupted `obsgen generate`"),
        "{}",
        check.stdout
    );
    let leftovers = temp_files(&p).len();
    assert!(leftovers > 0);
    let run = p.generate();
    assert!(
        run.stdout.contains("removed compose.staging.yaml")
            && run.stdout.contains(&format!(
                "removed {leftovers} leftover temporary file{} of an interrupted run",
                if leftovers == 1 { "" } else { "s" }
            )),
        "{}",
        run.stdout
    );
    p.run(&["check"]).expect(0);
    assert!(temp_files(&p).is_empty());
    assert!(!p.exists("obsgen.lock.pending"));
}

/// Starts `obsgen generate` paused (test switch) inside its `n`-th write, holding the
/// project's lock, with a complete temporary file on disk; returns once it says so on
/// stderr (waiting for the temporary file alone raced with its filling).
fn paused_generate(p: &Project, n: usize) -> Child {
    use std::io::Read as _;
    let mut c = obsgen(p.path(), &["generate"]);
    c.env("OBSGEN_FAULT_PAUSE_AFTER_WRITES", n.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut said = Vec::new();
    let stderr = child.stderr.as_mut().unwrap();
    // Byte by byte, so nothing after the line is consumed before `wait_with_output`.
    while !String::from_utf8_lossy(&said).contains("obsgen: paused (test switch)\n") {
        let mut byte = [0u8; 1];
        let n = stderr.read(&mut byte).unwrap();
        assert!(
            n == 1,
            "generate ended instead of pausing: {}",
            String::from_utf8_lossy(&said)
        );
        said.push(byte[0]);
    }
    assert!(!temp_files(p).is_empty(), "paused without a temporary file");
    child
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[cfg(unix)]
#[test]
fn sigint_and_sigterm_during_generate_remove_the_temporary_files() {
    for sig in ["INT", "TERM"] {
        let p = Project::example("shop");
        p.generate();
        let m = p.read("obsgen.toml").replace("port = 5921", "port = 5922");
        p.write("obsgen.toml", &m);
        let old_lock = p.read("obsgen.lock");
        let child = paused_generate(&p, 1);
        signal(&child, sig);
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(130), "SIG{sig}: {stderr}");
        assert!(stderr.contains("interrupted"), "SIG{sig}: {stderr}");
        assert!(temp_files(&p).is_empty(), "SIG{sig}: {:?}", temp_files(&p));
        assert_eq!(p.read("obsgen.lock"), old_lock, "SIG{sig}");
        let check = p.run(&["check"]).expect(1);
        assert!(!check.stdout.contains("edited by hand"), "{}", check.stdout);
        p.generate();
        p.run(&["check"]).expect(0);
    }
}

// ---- the advisory lock ----

#[cfg(unix)]
#[test]
fn a_second_generate_while_one_runs_is_refused_and_writes_nothing() {
    let p = Project::example("shop");
    let first = paused_generate(&p, 0);
    let before = p.tree();
    let second = p.run(&["generate"]);
    let tree = p.tree();
    signal(&first, "TERM");
    let _ = first.wait_with_output().unwrap();
    assert_eq!(second.code, 2, "{}{}", second.stdout, second.stderr);
    assert!(
        second
            .stderr
            .contains("another `obsgen generate` is running")
            && second.stderr.contains("help:"),
        "{}",
        second.stderr
    );
    assert_eq!(tree, before, "the second run must not touch anything");
    p.generate();
    p.run(&["check"]).expect(0);
}

// ---- 7: the manifest must be a regular file ----

#[cfg(unix)]
#[test]
fn a_folder_or_dangling_link_named_obsgen_toml_stops_the_walk_up() {
    let parent = Project::example("minimal");
    for make in ["folder", "dangling link", "link to a folder"] {
        let child = parent.path().join("app");
        let _ = std::fs::remove_dir_all(&child);
        std::fs::create_dir_all(&child).unwrap();
        let manifest = child.join("obsgen.toml");
        match make {
            "folder" => std::fs::create_dir(&manifest).unwrap(),
            "dangling link" => std::os::unix::fs::symlink("missing.toml", &manifest).unwrap(),
            _ => std::os::unix::fs::symlink(".", &manifest).unwrap(),
        }
        let before = parent.tree();
        for args in [&["generate"][..], &["check"]] {
            let out = parent.run_in(&child, args);
            assert_eq!(out.code, 2, "{make} {args:?}: {}{}", out.stdout, out.stderr);
            assert!(
                out.stderr.contains("is not a regular file") && out.stderr.contains("help:"),
                "{make}: {}",
                out.stderr
            );
            assert_eq!(
                parent.tree(),
                before,
                "{make}: the parent project was written"
            );
        }
    }
    // A symbolic link to a regular file is a manifest; output goes next to the link.
    let child = parent.path().join("app");
    std::fs::remove_dir_all(&child).unwrap();
    std::fs::create_dir_all(&child).unwrap();
    std::os::unix::fs::symlink("../obsgen.toml", child.join("obsgen.toml")).unwrap();
    parent.run_in(&child, &["generate"]).expect(0);
    assert!(child.join("compose.yaml").is_file());
    assert!(!parent.exists("compose.yaml"));
}

// ---- CRLF checkouts ----

#[test]
fn a_crlf_checkout_is_named_and_not_a_hand_edit() {
    let p = Project::example("minimal");
    p.generate();
    // What `git checkout` with core.autocrlf=true does to every text file.
    let files: Vec<String> = p
        .tree()
        .keys()
        .filter(|k| !k.ends_with('/') && *k != "obsgen.toml")
        .cloned()
        .collect();
    for f in &files {
        let text = p.read(f);
        p.write(f, &text.replace('\n', "\r\n"));
    }
    let check = p.run(&["check"]).expect(1);
    assert!(!check.stdout.contains("edited by hand"), "{}", check.stdout);
    assert!(!check.stdout.contains("modified "), "{}", check.stdout);
    assert!(
        check.stdout.contains(
            "stale     compose.yaml  (line endings are CRLF (git core.autocrlf?): obsgen writes LF; .gitattributes sets eol=lf)"
        ),
        "{}",
        check.stdout
    );
    p.generate();
    p.run(&["check"]).expect(0);
    assert!(!p.read("compose.yaml").contains('\r'));
}

#[test]
fn gitattributes_block_is_merged_into_the_users_file_and_never_needs_force() {
    let p = Project::example("minimal");
    p.write(".gitattributes", "*.png binary\n");
    p.generate();
    let text = p.read(".gitattributes");
    assert!(text.starts_with("*.png binary\n"), "{text}");
    assert!(
        text.contains("# >>> obsgen") && text.contains("# <<< obsgen"),
        "{text}"
    );
    for f in [
        "compose.yaml",
        "compose.production.yaml",
        ".env.example",
        "obsgen.lock",
    ] {
        assert!(text.contains(&format!("/{f} text eol=lf\n")), "{f}: {text}");
    }
    p.run(&["check"]).expect(0);
    // The user edits the block and adds lines after it: no --force, their lines stay.
    let edited = text.replace("/compose.yaml text eol=lf\n", "") + "*.pdf binary\n";
    p.write(".gitattributes", &edited);
    let check = p.run(&["check"]).expect(1);
    assert!(
        check.stdout.contains("stale     .gitattributes"),
        "{}",
        check.stdout
    );
    p.generate();
    let again = p.read(".gitattributes");
    assert!(
        again.starts_with("*.png binary\n") && again.ends_with("*.pdf binary\n"),
        "{again}"
    );
    assert!(again.contains("/compose.yaml text eol=lf\n"), "{again}");
    p.run(&["check"]).expect(0);
    // git reads it: the generated files are checked out with LF.
    if Command::new("git").arg("--version").output().is_ok() {
        let out = Command::new("git")
            .args(["init", "-q", "."])
            .current_dir(p.path())
            .status()
            .unwrap();
        assert!(out.success());
        let attr = Command::new("git")
            .args([
                "check-attr",
                "eol",
                "--",
                "compose.yaml",
                "monitoring/prometheus/web.yml",
            ])
            .current_dir(p.path())
            .output()
            .unwrap();
        let attr = String::from_utf8_lossy(&attr.stdout);
        assert_eq!(
            attr,
            "compose.yaml: eol: lf\nmonitoring/prometheus/web.yml: eol: lf\n"
        );
    }
}

// ---- 6: durability, observed in the system calls ----

/// The data of every file is on disk before its rename, and the renames before the run
/// ends, with a constant number of syncs per batch rather than one `fsync` per file:
/// `strace` records the run's `syncfs`/`fsync`/`fdatasync` and renames in order.
#[cfg(target_os = "linux")]
#[test]
fn writes_are_synced_before_their_renames_in_a_few_syncs() {
    let Some(strace) = crate::support::require_tool("strace") else {
        return;
    };
    let p = Project::example("shop");
    let log = p.path().join("..").join("strace.log");
    let mut c = obsgen(p.path(), &["generate"]);
    let program = c.get_program().to_owned();
    let args: Vec<_> = c.get_args().map(|a| a.to_owned()).collect();
    let mut traced = Command::new(strace);
    traced
        .args([
            "-f",
            "-qq",
            "-e",
            "trace=fsync,fdatasync,syncfs,rename,renameat,renameat2",
        ])
        .arg("-o")
        .arg(&log)
        .arg(program)
        .args(args)
        .current_dir(p.path())
        .env_remove("CI")
        .env("NO_COLOR", "1");
    c = traced;
    let out = output(c);
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let calls: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|l| !l.contains("resumed>") && !l.contains("+++") && !l.contains("---"))
        .map(|l| l.to_string())
        .collect();
    let is_sync = |l: &str| {
        ["fsync(", "fdatasync(", "syncfs("]
            .iter()
            .any(|s| l.contains(s))
    };
    let is_rename = |l: &str| l.contains("rename") && l.contains(".obsgen-");
    let renames = calls.iter().filter(|l| is_rename(l)).count();
    let syncs = calls.iter().filter(|l| is_sync(l)).count();
    // Every file in the lock, the lock and the pending list are renamed into place.
    let files = p.read("obsgen.lock").matches("[[file]]").count();
    assert!(files > 50, "{files}");
    assert!(renames >= files + 2, "{renames} renames for {files} files");
    // Each batch (the pending list, the files, the lock) syncs before its first rename
    // and after its last: 6 syncs, whatever the number of files.
    assert!(
        syncs <= 6,
        "{syncs} syncs for {renames} renames (one per file is what batching removes)"
    );
    // No rename without a sync since the last batch of renames began, and a sync after
    // the last rename.
    let mut synced = false;
    let mut last_was_rename = false;
    for l in &calls {
        if is_sync(l) {
            synced = true;
            last_was_rename = false;
        } else if is_rename(l) {
            assert!(
                synced,
                "rename before any sync of its data: {l}\n{calls:#?}"
            );
            last_was_rename = true;
        }
    }
    assert!(
        !last_was_rename,
        "the last renames are not synced: {calls:#?}"
    );
}
