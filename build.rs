//! Embeds `templates/` and `profiles/` into the binary as a sorted table of
//! `(relative path, contents)` so that the template set (and its hash) is part of
//! the build, not of the machine the binary runs on.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn table(name: &str, root: &str, code: &mut String) {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let root_path = manifest_dir.join(root);
    println!("cargo:rerun-if-changed={root}");
    let mut files = Vec::new();
    collect(&root_path, &mut files);
    writeln!(code, "pub static {name}: &[(&str, &str)] = &[").unwrap();
    for file in files {
        println!("cargo:rerun-if-changed={}", file.display());
        let rel = file.strip_prefix(&root_path).unwrap();
        let rel = rel
            .components()
            .map(|c| c.as_os_str().to_str().expect("utf-8 file name"))
            .collect::<Vec<_>>()
            .join("/");
        writeln!(
            code,
            "    ({rel:?}, include_str!({:?})),",
            file.display().to_string()
        )
        .unwrap();
    }
    writeln!(code, "];").unwrap();
}

fn main() {
    let mut code = String::new();
    table("TEMPLATES", "templates", &mut code);
    table("PROFILES", "profiles", &mut code);
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("embedded.rs");
    std::fs::write(out, code).unwrap();
}
