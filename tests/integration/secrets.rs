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
