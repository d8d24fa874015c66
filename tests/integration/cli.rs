//! Command-line behaviour: manifest discovery, -C, --manifest, exit codes, schema
//! drift, completions, colours, template listing.

use crate::support::{Project, repo};

#[test]
fn manifest_is_found_walking_up_and_with_flags() {
    let p = Project::example("minimal");
    std::fs::create_dir_all(p.path().join("deep/er")).unwrap();
    let out = p.run_in(&p.path().join("deep/er"), &["generate"]).expect(0);
    assert!(out.stdout.contains("wrote compose.yaml"));
    assert!(
        p.exists("compose.yaml") && !p.exists("deep/er/compose.yaml"),
        "output goes next to the manifest"
    );

    let other = Project::new();
    let out = other
        .run(&["-C", p.path().to_str().unwrap(), "check"])
        .expect(0);
    assert!(out.stdout.contains("up to date"));
    let manifest = p.path().join("obsgen.toml");
    other
        .run(&["--manifest", manifest.to_str().unwrap(), "check"])
        .expect(0);

    let none = Project::new();
    let out = none.run(&["check"]).expect(2);
    assert!(
        out.stderr.contains("error: no obsgen.toml")
            && out.stderr.contains("help: run `obsgen init`"),
        "{}",
        out.stderr
    );
    let out = none.run(&["--manifest", "nope.toml", "generate"]).expect(2);
    assert!(out.stderr.contains("does not exist"), "{}", out.stderr);
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let p = Project::new();
    p.run(&["frobnicate"]).expect(2);
    p.run(&["check", "--format", "xml"]).expect(2);
    p.run(&["--help"]).expect(0);
    let v = p.run(&["--version"]).expect(0);
    assert!(v.stdout.contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn committed_schema_matches_the_manifest_types() {
    let p = Project::new();
    let printed = p.run(&["schema"]).expect(0).stdout;
    let committed = std::fs::read_to_string(repo().join("obsgen.schema.json")).unwrap();
    assert!(
        printed == committed,
        "obsgen.schema.json is out of date: run `cargo run -- schema > obsgen.schema.json` and commit it"
    );
    let schema: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(
        schema["additionalProperties"], false,
        "unknown top-level keys must be rejected"
    );
    for key in [
        "project", "service", "database", "logging", "tracing", "errors", "storage", "alerts",
        "receiver", "route", "ci", "deploy",
    ] {
        assert!(
            schema["properties"].get(key).is_some(),
            "schema lacks `{key}`"
        );
    }
}

#[test]
fn every_example_validates_against_the_schema_keys() {
    // The examples use only keys the schema knows (guards the examples, not the code).
    for name in crate::support::examples() {
        let p = Project::example(&name);
        p.run(&["generate", "--dry-run"]).expect(0);
    }
}

#[test]
fn man_page_names_every_command() {
    let out = Project::new().run(&["man"]).expect(0);
    assert!(
        out.stdout.starts_with(".ie") || out.stdout.contains(".TH obsgen"),
        "{}",
        out.stdout
    );
    for cmd in ["init", "generate", "check", "diff", "schema", "completions"] {
        assert!(out.stdout.contains(cmd), "man page lacks {cmd}");
    }
}

#[test]
fn completions_for_common_shells() {
    let p = Project::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = p.run(&["completions", shell]).expect(0);
        assert!(
            out.stdout.contains("generate") && out.stdout.contains("check"),
            "{shell}"
        );
    }
}

#[test]
fn colour_is_off_with_no_color_and_on_when_forced() {
    let p = Project::with_manifest("[project]\nname = \"Bad\"\n");
    let plain = p.run(&["generate"]).expect(2);
    assert!(
        !plain.stderr.contains('\u{1b}'),
        "NO_COLOR must disable colour"
    );
    let coloured = p.run(&["--color", "always", "generate"]).expect(2);
    assert!(
        coloured.stderr.contains("\u{1b}["),
        "--color always must colour"
    );
}

#[test]
fn templates_list_shows_versions_and_hashes() {
    let out = Project::new().run(&["templates", "list"]).expect(0);
    assert!(out.stdout.starts_with("v1  sha256:"), "{}", out.stdout);
    assert!(out.stdout.contains("compose/compose.yaml.j2"));
    assert!(
        out.stdout
            .contains("\n  the first template set; what changed:\n    - Compose: "),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("no entry in templates/CHANGES.toml"),
        "{}",
        out.stdout
    );
    // Every version folder has its entry.
    for entry in std::fs::read_dir(repo().join("templates")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(v) = name.strip_prefix('v') {
            assert!(
                obsgen::assets::template_changes(v).is_some(),
                "templates/{name} has no entry in templates/CHANGES.toml"
            );
        }
    }
}

#[test]
fn template_overlay_changes_output_and_the_lock_hash() {
    let p = Project::example("minimal");
    p.generate();
    let hash = |p: &Project| {
        p.read("obsgen.lock")
            .lines()
            .find(|l| l.starts_with("templates_hash"))
            .unwrap()
            .to_string()
    };
    let before = hash(&p);
    let overlay = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(repo().join("templates/v1/env/env.example.j2")).unwrap();
    std::fs::create_dir_all(overlay.path().join("env")).unwrap();
    std::fs::write(
        overlay.path().join("env/env.example.j2"),
        original.replace("never commit", "NEVER commit"),
    )
    .unwrap();
    let dir = overlay.path().to_str().unwrap();
    let check = p.run(&["--templates", dir, "check"]).expect(1);
    assert!(
        check.stdout.contains("stale     .env.example"),
        "{}",
        check.stdout
    );
    p.run(&["--templates", dir, "generate"]).expect(0);
    assert!(p.read(".env.example").contains("NEVER commit"));
    assert_ne!(hash(&p), before);
}

#[test]
fn reusable_action_and_pre_commit_hooks_are_valid() {
    // action.yml against GitHub's action schema; its steps run what obsgen provides.
    let action = std::fs::read_to_string(repo().join("action.yml")).unwrap();
    assert!(action.contains("obsgen check --format github"));
    assert!(
        !action.contains("run: ${{"),
        "inputs reach scripts through env, not inline"
    );
    if let Some(cj) = crate::support::require_tool("check-jsonschema") {
        let (code, text) = crate::support::tool(
            std::process::Command::new(cj)
                .args(["--builtin-schema", "vendor.github-actions"])
                .arg(repo().join("action.yml")),
        );
        assert_eq!(code, 0, "{text}");
    }
    // The hooks: the fields pre-commit requires, and entries that are obsgen commands.
    let hooks = crate::support::yaml(
        &std::fs::read_to_string(repo().join(".pre-commit-hooks.yaml")).unwrap(),
    );
    let hooks = hooks.as_array().unwrap();
    assert!(hooks.iter().any(|h| h["id"] == "obsgen-check"));
    for h in hooks {
        for key in ["id", "name", "entry", "language"] {
            assert!(h[key].is_string(), "hook lacks {key}: {h}");
        }
        let entry = h["entry"].as_str().unwrap();
        let sub = entry.strip_prefix("obsgen ").unwrap();
        Project::new().run(&[sub, "--help"]).expect(0);
    }
}

#[test]
fn quiet_prints_nothing_on_success_and_verbose_times_each_stage() {
    let p = Project::example("shop");
    let out = p.run(&["-q", "generate"]).expect(0);
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
    let out = p.run(&["check", "--quiet"]).expect(0);
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
    let out = p.run(&["diff", "-q"]).expect(0);
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
    // Quiet still fails loudly, and drift still shows in the exit code.
    p.write("compose.yaml", "# edited\n");
    let out = p.run(&["-q", "check"]).expect(1);
    assert_eq!(out.stdout, "");
    let out = p.run(&["-q", "generate"]).expect(2);
    assert!(
        out.stderr.starts_with("error: refusing to overwrite"),
        "{}",
        out.stderr
    );

    let out = p.run(&["-v", "generate", "--force"]).expect(0);
    for stage in [
        "read", "load", "resolve", "plan", "render", "verify", "lock", "write",
    ] {
        assert!(
            out.stderr
                .lines()
                .any(|l| l.starts_with(&format!("stage {stage} ")) && l.ends_with(" ms")),
            "no timing for {stage}:\n{}",
            out.stderr
        );
    }
    assert!(out.stderr.contains("pipeline: "), "{}", out.stderr);
    assert!(out.stdout.contains("wrote compose.yaml"), "{}", out.stdout);
    assert!(
        out.stdout.contains("unchanged compose.production.yaml"),
        "verbose lists every file:\n{}",
        out.stdout
    );
    let out = p.run(&["-q", "-v", "check"]).expect(2);
    assert!(out.stderr.contains("cannot be used with"), "{}", out.stderr);
}

#[test]
fn init_quiet_writes_silently() {
    let p = Project::new();
    let out = p.run(&["init", "--defaults", "-q"]).expect(0);
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
    assert!(p.exists("obsgen.toml"));
}

#[test]
fn a_closed_stdout_never_panics() {
    // `obsgen … | head`: the reader is gone before obsgen writes a byte.
    let p = Project::example("shop");
    p.generate();
    for args in [
        &["templates", "list"][..],
        &["schema"],
        &["man"],
        &["completions", "bash"],
        &["explain", "gateway"],
        &["check"],
        &["generate", "--dry-run", "--force"],
        &["--help"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_obsgen"))
            .current_dir(p.path())
            .env("NO_COLOR", "1")
            .args(args)
            .stdout(writer)
            .stderr(std::process::Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && out.status.code() != Some(101),
            "obsgen {args:?}: {stderr}"
        );
        assert_eq!(out.status.code(), Some(0), "obsgen {args:?}: {stderr}");
    }
}
