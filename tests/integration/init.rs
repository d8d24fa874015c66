//! `obsgen init` without prompts: defaults, --set, --answers, refusal to overwrite,
//! and a manifest that generates cleanly.

use crate::support::Project;

#[test]
fn defaults_write_a_commented_manifest_that_generates() {
    let p = Project::new();
    let out = p.run(&["init", "--defaults"]).expect(0);
    assert!(out.stdout.contains("wrote"));
    let text = p.read("obsgen.toml");
    assert!(text.starts_with("# obsgen manifest"), "{text}");
    assert!(text.contains("profile = \"standard\""));
    p.generate();
    p.run(&["check"]).expect(0);
}

#[test]
fn set_and_answers_fill_in_values_and_set_wins() {
    let p = Project::new();
    p.write("answers.toml", "[project]\nname = \"from-file\"\nprofile = \"full\"\n[service]\nname = \"api\"\nport = 9000\n");
    p.run(&[
        "init",
        "--answers",
        "answers.toml",
        "--set",
        "service.port=7000",
        "--set",
        "project.environments=development,staging,production",
        "--set",
        "service.image=ghcr.io/acme/api:2.0.0",
    ])
    .expect(0);
    let text = p.read("obsgen.toml");
    assert!(text.contains("name = \"from-file\""), "{text}");
    assert!(
        text.contains("port = 7000"),
        "--set wins over the answers file:\n{text}"
    );
    assert!(
        text.contains("environments = [\"development\", \"staging\", \"production\"]"),
        "{text}"
    );
    assert!(
        text.contains("image = \"ghcr.io/acme/api:2.0.0\""),
        "{text}"
    );
    assert!(
        text.contains("backend = \"loki\""),
        "the full profile's logging default:\n{text}"
    );
    p.generate();
    assert!(p.exists("compose.staging.yaml"));
}

#[test]
fn refuses_to_overwrite_without_force_and_rejects_bad_answers() {
    let p = Project::new();
    p.write("obsgen.toml", "# mine\n");
    let out = p.run(&["init", "--defaults"]).expect(2);
    assert!(
        out.stderr.contains("already exists") && out.stderr.contains("help: pass --force"),
        "{}",
        out.stderr
    );
    assert_eq!(p.read("obsgen.toml"), "# mine\n");

    let out = p
        .run(&["init", "--force", "--set", "project.name=Not Valid"])
        .expect(2);
    assert!(
        out.stderr.contains("project name `Not Valid`"),
        "{}",
        out.stderr
    );
    assert_eq!(
        p.read("obsgen.toml"),
        "# mine\n",
        "a rejected init writes nothing"
    );

    let out = p
        .run(&["init", "--force", "--set", "servce.port=1"])
        .expect(2);
    assert!(
        out.stderr.contains("unknown key `servce`")
            && out.stderr.contains("did you mean `service`?"),
        "{}",
        out.stderr
    );

    let out = p.run(&["init"]).expect(2);
    assert!(out.stderr.contains("--defaults"), "{}", out.stderr);

    p.run(&["init", "--defaults", "--force"]).expect(0);
    assert!(p.read("obsgen.toml").starts_with("# obsgen manifest"));
}
