//! Emit safety: no writes through symlinks or outside the project, a damaged or
//! hostile lock is refused, atomic writes leave no temporary files behind.

use crate::support::Project;

#[cfg(unix)]
#[test]
fn refuses_to_write_through_a_symlinked_file_or_folder() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("victim.yaml"), "keep me\n").unwrap();

    let p = Project::example("minimal");
    std::os::unix::fs::symlink(
        outside.path().join("victim.yaml"),
        p.path().join("compose.yaml"),
    )
    .unwrap();
    let before = p.tree();
    let out = p.run(&["generate", "--force"]).expect(2);
    assert!(out.stderr.contains("is a symbolic link"), "{}", out.stderr);
    assert_eq!(p.tree(), before);
    assert_eq!(
        std::fs::read_to_string(outside.path().join("victim.yaml")).unwrap(),
        "keep me\n"
    );

    let p = Project::example("minimal");
    std::os::unix::fs::symlink(outside.path(), p.path().join("monitoring")).unwrap();
    let out = p.run(&["generate", "--force"]).expect(2);
    assert!(out.stderr.contains("is a symbolic link"), "{}", out.stderr);
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        1,
        "nothing may appear outside the project"
    );
}

#[test]
fn a_lock_naming_paths_outside_the_project_is_refused() {
    let outside = tempfile::tempdir().unwrap();
    let victim = outside.path().join("victim.txt");
    std::fs::write(&victim, "keep me\n").unwrap();
    let p = Project::example("minimal");
    p.generate();
    let rel = format!(
        "../{}/victim.txt",
        outside.path().file_name().unwrap().to_string_lossy()
    );
    let lock = p.read("obsgen.lock")
        + &format!(
            "\n[[file]]\npath = \"{rel}\"\ntemplate = \"x\"\nsha256 = \"{}\"\n",
            "0".repeat(64)
        );
    p.write("obsgen.lock", &lock);
    let out = p.run(&["generate", "--force"]).expect(2);
    assert!(
        out.stderr.contains("not a plain relative path"),
        "{}",
        out.stderr
    );
    assert!(
        victim.exists(),
        "a hostile lock must not delete files outside the project"
    );
    p.write("obsgen.lock", "this is not toml [");
    let out = p.run(&["check"]).expect(2);
    assert!(
        out.stderr.contains("obsgen.lock is damaged") && out.stderr.contains("help:"),
        "{}",
        out.stderr
    );
}

#[test]
fn writes_leave_no_temporary_files_and_keep_modes() {
    let p = Project::example("shop");
    p.generate();
    assert!(
        !p.tree().keys().any(|k| k.contains(".obsgen-")),
        "{:?}",
        p.tree().keys()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(p.path().join("compose.yaml"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o644);
        std::fs::set_permissions(
            p.path().join("compose.yaml"),
            std::fs::Permissions::from_mode(0o640),
        )
        .unwrap();
        let m = p.read("obsgen.toml").replace("port = 5921", "port = 5923");
        p.write("obsgen.toml", &m);
        p.generate();
        let mode = std::fs::metadata(p.path().join("compose.yaml"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o640, "a rewritten file keeps its mode");
    }
}
