//! `obsgen secrets`: a complete `.env` (mode 0600) with strong values, secret files
//! that mirror their variable, `.gitignore`, and never a replaced value.

use std::process::Command;

use crate::support::*;

fn dotenv(p: &Project) -> std::collections::BTreeMap<String, String> {
    p.read(".env")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(unix)]
fn mode(p: &Project, rel: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(p.path().join(rel))
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn secrets_fill_every_variable_and_the_stack_then_resolves_without_any_environment() {
    let p = Project::example("shop");
    p.generate();
    let run = p.run(&["secrets"]).expect(0);
    let env = dotenv(&p);
    let example: Vec<String> = p
        .read(".env.example")
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains('='))
        .map(|l| l.split('=').next().unwrap().to_string())
        .collect();
    for var in &example {
        assert!(
            env.get(var).is_some_and(|v| !v.is_empty()),
            "{var} missing in .env:\n{}",
            p.read(".env")
        );
    }
    let passwords: Vec<&String> = env
        .iter()
        .filter(|(k, _)| k.ends_with("_PASSWORD"))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(passwords.len(), 4, "{env:?}");
    for pw in &passwords {
        assert!(
            pw.len() >= 32 && pw.chars().all(|c| c.is_ascii_alphanumeric()),
            "{pw}"
        );
    }
    let distinct: std::collections::BTreeSet<_> = passwords.iter().collect();
    assert_eq!(distinct.len(), passwords.len(), "every password is its own");
    assert_ne!(env["GRAFANA_ADMIN_USER"], "admin");
    // Prometheus's self-scrape reads the same password from its secret file.
    assert_eq!(
        p.read("secrets/prometheus_password"),
        env["PROMETHEUS_PASSWORD"]
    );
    #[cfg(unix)]
    {
        assert_eq!(mode(&p, ".env"), 0o600);
        assert_eq!(mode(&p, "secrets"), 0o700);
    }
    let ignore = p.read(".gitignore");
    assert!(ignore.lines().any(|l| l == ".env") && ignore.lines().any(|l| l == "secrets/"));
    // What only the user can provide is named, with how to get it.
    assert!(
        run.stdout.contains("secrets/slack_webhook_url")
            && run.stdout.contains("secrets/pagerduty_routing_key"),
        "{}",
        run.stdout
    );
    // `generate` hashes the new password: web.yml is no longer the locked placeholder.
    p.generate();
    let web = yaml(&p.read("monitoring/prometheus/web.yml"));
    let hash = web["basic_auth_users"]["prometheus"].as_str().unwrap();
    assert!(
        bcrypt::verify(&env["PROMETHEUS_PASSWORD"], hash).unwrap(),
        "web.yml hashes PROMETHEUS_PASSWORD"
    );
    // docker-compose reads .env itself: with no variable in the environment, every
    // `${VAR:?}` of every environment resolves.
    let Some(dc) = require_tool("docker-compose") else {
        return;
    };
    std::fs::create_dir_all(p.path().join("backend")).unwrap();
    for env_file in ["compose.development.yaml", "compose.production.yaml"] {
        let mut cmd = Command::new(&dc);
        cmd.current_dir(p.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .args(["-f", "compose.yaml", "-f", env_file, "config", "-q"]);
        let (code, text) = tool(&mut cmd);
        assert_eq!(code, 0, "{env_file}: {text}");
    }
}

#[test]
fn secrets_never_replace_a_value_and_fill_empty_ones_in_place() {
    let p = Project::example("shop");
    let mine = "# my settings\nMONGODB_PASSWORD=correct-horse-battery-staple\nREDIS_PASSWORD=\nUNRELATED=1\n";
    p.write(".env", mine);
    p.write(".gitignore", "target/\n/.env\n");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(
            p.path().join(".env"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
    }
    // --dry-run writes nothing.
    let before = p.tree();
    let dry = p.run(&["secrets", "--dry-run"]).expect(0);
    assert!(dry.stdout.contains("would write .env"), "{}", dry.stdout);
    assert_eq!(p.tree(), before);

    p.run(&["secrets"]).expect(0);
    let text = p.read(".env");
    assert!(
        text.starts_with(
            "# my settings\nMONGODB_PASSWORD=correct-horse-battery-staple\nREDIS_PASSWORD="
        ),
        "{text}"
    );
    assert!(text.contains("\nUNRELATED=1\n"));
    let env = dotenv(&p);
    assert_eq!(
        env["REDIS_PASSWORD"].len(),
        32,
        "the empty value was filled in place"
    );
    assert_eq!(text.matches("REDIS_PASSWORD=").count(), 1);
    assert_eq!(
        p.read(".gitignore"),
        "target/\n/.env\n# Secrets of the stack (obsgen secrets): never commit them.\nsecrets/\n"
    );
    #[cfg(unix)]
    assert_eq!(mode(&p, ".env"), 0o600);

    // A second run changes nothing; --check still fails while receiver keys are missing.
    let after = p.tree();
    p.run(&["secrets"]).expect(0);
    assert_eq!(p.tree(), after);
    p.run(&["secrets", "--check"]).expect(1);
    p.write(
        "secrets/slack_webhook_url",
        "https://hooks.slack.com/services/T/B/x",
    );
    p.write(
        "secrets/pagerduty_routing_key",
        "0123456789abcdef0123456789abcdef",
    );
    let ok = p.run(&["secrets", "--check"]).expect(0);
    assert!(ok.stdout.contains("every value set"), "{}", ok.stdout);
    assert_eq!(
        p.read("secrets/slack_webhook_url"),
        "https://hooks.slack.com/services/T/B/x"
    );
}

#[cfg(unix)]
#[test]
fn secrets_refuse_a_symlinked_env_file() {
    let p = Project::example("minimal");
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("elsewhere");
    std::fs::write(&target, "").unwrap();
    std::os::unix::fs::symlink(&target, p.path().join(".env")).unwrap();
    let run = p.run(&["secrets"]).expect(2);
    assert!(run.stderr.contains("symbolic link"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "");
}

#[test]
fn secrets_create_missing_env_files_empty_and_private_and_stay_quiet_with_q() {
    let p = Project::example("everything");
    let run = p.run(&["-q", "secrets"]).expect(0);
    assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""));
    assert_eq!(p.read("worker.env"), "", "created empty, never filled");
    assert!(p.read(".gitignore").lines().any(|l| l == "worker.env"));
    #[cfg(unix)]
    assert_eq!(mode(&p, "worker.env"), 0o600);
    // An env_file the user has is theirs: never touched.
    p.write("worker.env", "FEATURE_X=on\n");
    p.run(&["secrets"]).expect(0);
    assert_eq!(p.read("worker.env"), "FEATURE_X=on\n");
}

/// Every entry below `dir`: relative path → (mode, bytes or link target), symlinks unfollowed.
#[cfg(unix)]
fn snapshot(dir: &std::path::Path) -> std::collections::BTreeMap<String, (u32, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt as _;
    fn walk(
        root: &std::path::Path,
        dir: &std::path::Path,
        out: &mut std::collections::BTreeMap<String, (u32, Vec<u8>)>,
    ) {
        for e in std::fs::read_dir(dir).unwrap() {
            let path = e.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let mode = meta.permissions().mode();
            if meta.file_type().is_symlink() {
                let to = std::fs::read_link(&path).unwrap();
                out.insert(rel, (mode, to.display().to_string().into_bytes()));
            } else if meta.is_dir() {
                out.insert(format!("{rel}/"), (mode, Vec::new()));
                walk(root, &path, out);
            } else {
                out.insert(rel, (mode, std::fs::read(&path).unwrap()));
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    let mode = std::fs::metadata(dir).unwrap().permissions().mode();
    out.insert(".".into(), (mode, Vec::new()));
    walk(dir, dir, &mut out);
    out
}

/// Runs `obsgen secrets` in `p` and asserts the refusal: exit 2 with a `help:` line
/// naming the link, and neither the project nor `outside` changed in any byte or mode.
#[cfg(unix)]
#[track_caller]
fn assert_refused_untouched(p: &Project, outside: &std::path::Path) {
    let project_before = snapshot(p.path());
    let outside_before = snapshot(outside);
    for args in [&["secrets", "--dry-run"][..], &["secrets"]] {
        let run = p.run(args).expect(2);
        assert!(
            run.stderr.contains("symbolic link") && run.stderr.contains("\nhelp: "),
            "{}",
            run.stderr
        );
        assert_eq!(snapshot(p.path()), project_before, "the project changed");
        assert_eq!(
            snapshot(outside),
            outside_before,
            "the link's target changed"
        );
    }
}

#[cfg(unix)]
#[test]
fn secrets_never_write_or_chmod_through_a_symlinked_secrets_folder() {
    let outside = tempfile::tempdir().unwrap();
    let elsewhere = outside.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(elsewhere.join("theirs"), "keep me\n").unwrap();
    let p = Project::example("minimal");
    std::os::unix::fs::symlink(&elsewhere, p.path().join("secrets")).unwrap();
    assert_refused_untouched(&p, outside.path());
}

#[cfg(unix)]
#[test]
fn secrets_never_write_through_a_dangling_symlinked_secret_file() {
    let outside = tempfile::tempdir().unwrap();
    let p = Project::example("minimal");
    std::fs::create_dir(p.path().join("secrets")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("stolen"),
        p.path().join("secrets/prometheus_password"),
    )
    .unwrap();
    assert_refused_untouched(&p, outside.path());
}

#[cfg(unix)]
#[test]
fn secrets_never_create_folders_through_a_symlinked_env_file_folder() {
    let manifest = std::fs::read_to_string(repo().join("examples/minimal/obsgen.toml"))
        .unwrap()
        .replace(
            "language = \"go\"\n",
            "language = \"go\"\nenv_file = [\"./conf/sub/web.env\"]\n",
        );
    assert!(manifest.contains("conf/sub/web.env"));
    let outside = tempfile::tempdir().unwrap();
    let p = Project::with_manifest(&manifest);
    std::os::unix::fs::symlink(outside.path(), p.path().join("conf")).unwrap();
    assert_refused_untouched(&p, outside.path());
    // A dangling link as the env_file itself is refused the same way.
    std::fs::remove_file(p.path().join("conf")).unwrap();
    std::fs::create_dir_all(p.path().join("conf/sub")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("x.env"),
        p.path().join("conf/sub/web.env"),
    )
    .unwrap();
    assert_refused_untouched(&p, outside.path());
}

#[test]
fn secrets_keep_env_byte_for_byte_crlf_and_non_utf8_included() {
    let p = Project::example("shop");
    let mine: &[u8] =
        b"# mine\r\nLEGACY=caf\xe9\r\nMONGODB_PASSWORD=\r\nexport UNRELATED=1\r\nLAST=\xff\xfe";
    std::fs::write(p.path().join(".env"), mine).unwrap();
    p.run(&["secrets"]).expect(0);
    let text = std::fs::read(p.path().join(".env")).unwrap();
    let head = b"# mine\r\nLEGACY=caf\xe9\r\nMONGODB_PASSWORD=";
    assert!(
        text.starts_with(head),
        "{:?}",
        String::from_utf8_lossy(&text)
    );
    let rest = &text[head.len()..];
    let value = &rest[..32];
    assert!(value.iter().all(u8::is_ascii_alphanumeric), "{rest:?}");
    assert!(
        rest[32..].starts_with(b"\r\nexport UNRELATED=1\r\nLAST=\xff\xfe\r\n"),
        "{:?}",
        String::from_utf8_lossy(rest)
    );
    // Lines added follow the file's own CRLF endings.
    for (i, b) in text.iter().enumerate() {
        if *b == b'\n' {
            assert_eq!(text[i - 1], b'\r', "a bare LF at byte {i}");
        }
    }
    let needle = b"\r\nPROMETHEUS_PASSWORD=";
    let at = text
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("PROMETHEUS_PASSWORD appended")
        + needle.len();
    let password = String::from_utf8(text[at..at + 32].to_vec()).unwrap();
    assert_eq!(p.read("secrets/prometheus_password"), password);
    // A second run changes nothing.
    let tree = p.tree();
    p.run(&["secrets"]).expect(0);
    assert_eq!(p.tree(), tree);
    // `generate` still finds PROMETHEUS_PASSWORD in the CRLF, non-UTF-8 `.env`.
    p.generate();
    let web = yaml(&p.read("monitoring/prometheus/web.yml"));
    let hash = web["basic_auth_users"]["prometheus"].as_str().unwrap();
    assert!(
        bcrypt::verify(&password, hash).unwrap(),
        "web.yml hashes PROMETHEUS_PASSWORD"
    );
}

#[test]
fn secrets_follow_gitignore_negation_when_deciding_what_is_ignored() {
    let p = Project::example("minimal");
    p.write(
        ".gitignore",
        ".env\n!.env\nsecrets/*\n!/secrets/prometheus_password\n",
    );
    p.run(&["secrets"]).expect(0);
    assert_eq!(
        p.read(".gitignore"),
        ".env\n!.env\nsecrets/*\n!/secrets/prometheus_password\n\
         # Secrets of the stack (obsgen secrets): never commit them.\n.env\nsecrets/\n"
    );
    // Now ignored: a second run leaves it alone.
    p.run(&["secrets"]).expect(0);
    assert_eq!(p.read(".gitignore").matches("# Secrets").count(), 1);
}

/// A service's `env` that references `.env` (`${NAME}`, `${NAME:-default}`) makes the
/// variable part of the stack: listed in `.env.example` (a default is proposed), in what
/// `obsgen secrets` reports as still needed, and in the AWS parameter script; a variable
/// the stack defines itself is not listed twice.
#[test]
fn env_references_are_listed_for_env_example_secrets_and_aws() {
    let p = Project::with_manifest(
        "[project]\nname = \"r\"\nprofile = \"minimal\"\nenvironments = [\"development\", \"production\"]\n\n\
         [deploy.aws]\nregion = \"eu-central-1\"\n\n\
         [[service]]\nname = \"api\"\nimage = \"ghcr.io/a/api:1.0.0\"\nport = 80\n\
         env = { URL = \"http://${API_HOST:-api}:8080/$x\", DSN = \"${SENTRY_DSN_API}\", P = \"${GRAFANA_ADMIN_PASSWORD}\" }\n",
    );
    p.generate();
    let example = p.read(".env.example");
    assert!(example.contains("\nAPI_HOST=api\n"), "{example}");
    assert!(example.contains("\nSENTRY_DSN_API=\n"), "{example}");
    assert_eq!(
        example.matches("\nGRAFANA_ADMIN_PASSWORD=").count(),
        1,
        "{example}"
    );
    let out = p.run(&["secrets"]).expect(0).stdout;
    let needed = out.split("still needed").nth(1).unwrap_or_default();
    assert!(needed.contains("SENTRY_DSN_API"), "{out}");
    assert!(!needed.contains("API_HOST"), "{out}");
    let dotenv = p.read(".env");
    assert!(dotenv.contains("\nAPI_HOST=api\n"), "{dotenv}");
    let script = p.read("deploy/aws/secrets.sh");
    assert!(script.contains("SENTRY_DSN_API"), "{script}");
}
