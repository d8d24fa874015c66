//! Planning: which files a model produces, from which template, with which
//! context. One function per target family; pure, no I/O. [`is_generated_path`] is
//! the naming rule of everything the families can produce: what a lock entry must
//! match before obsgen would overwrite or delete that path.

use crate::model::Model;
pub use crate::model::artifact::{Artifact, Format};

/// Compose: the base file and one overlay per environment.
fn compose(m: &Model) -> Vec<Artifact> {
    let mut out = vec![Artifact::new("compose.yaml", "compose/compose.yaml.j2")];
    for (i, env) in m.environments.iter().enumerate() {
        out.push(Artifact::per_env(
            env.compose_file.clone(),
            "compose/compose.env.yaml.j2",
            i,
        ));
    }
    out
}

/// Prometheus: one configuration per environment (intervals and labels differ), and
/// one file-SD target file per scraped service (shared by the environments).
fn prometheus(m: &Model) -> Vec<Artifact> {
    let configs = m.environments.iter().enumerate().map(|(i, env)| {
        Artifact::per_env(
            format!("monitoring/prometheus/{}", env.prometheus_file),
            "prometheus/prometheus.yml.j2",
            i,
        )
    });
    let targets = m.target_files.iter().map(|t| {
        Artifact::per_item(
            format!("monitoring/prometheus/{}", t.path),
            "prometheus/targets.yml.j2",
            t,
        )
    });
    // Rule files are the bulk of a large project: convert them on all cores.
    let rules: Vec<Artifact> = crate::parallel::parallel_map(&m.rules, |r| {
        let mut files = vec![Artifact::per_item(
            format!("monitoring/prometheus/rules/{}.yml", r.name),
            "prometheus/rules.yml.j2",
            r,
        )];
        if !r.tests.is_empty() {
            files.push(Artifact::per_item(
                format!("monitoring/prometheus/tests/{}.test.yml", r.name),
                "prometheus/rules.test.yml.j2",
                r,
            ));
        }
        files
    })
    .into_iter()
    .flatten()
    .collect();
    configs.chain(targets).chain(rules).collect()
}

/// `.env.example`: every variable the stack reads.
fn dotenv(_m: &Model) -> Vec<Artifact> {
    vec![Artifact::new(".env.example", "env/env.example.j2")]
}

/// Folders of version-control systems: nothing below one is ever generated.
pub const VCS_FOLDERS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".jj",
    ".bzr",
    "_darcs",
    "CVS",
    ".pijul",
    ".fslckout",
];

/// Whether some manifest could make the planner emit `path`: the naming of every
/// family above, as patterns (a lock entry that fails this was not written by obsgen,
/// so obsgen never deletes or overwrites it). Plain relative `/`-separated paths only.
///
/// - `compose.yaml`, `compose.<env>.yaml` (environments are DNS labels), `.env.example`;
/// - `monitoring/…` with every part lowercase `[a-z0-9][a-z0-9._-]*` (names come from
///   DNS-label names of services, databases, environments, components) and a file
///   format the renderer checks (`.yml`, `.yaml`, `.json`, `.sh`, `.alloy`);
/// - the CI workflows `.github/workflows/{obsgen,ci,deploy}.yml`;
/// - `deploy/aws/<name>.<yaml|sh>` and `docs/deploy/aws.md`.
///
/// A unit test proves every path the planner emits for every example passes.
pub fn is_generated_path(path: &str) -> bool {
    fn slug(part: &str) -> bool {
        part.len() <= 255
            && part
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && part.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_')
            })
            && !part.contains("..")
    }
    let parts: Vec<&str> = path.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || VCS_FOLDERS.contains(p))
    {
        return false;
    }
    let rendered = |name: &str| {
        slug(name)
            && !matches!(Format::of(name), Format::Dotenv)
            && name
                .rsplit_once('.')
                .is_some_and(|(stem, _)| !stem.is_empty())
    };
    match parts.as_slice() {
        ["compose.yaml" | ".env.example"] => true,
        [name] => name
            .strip_prefix("compose.")
            .and_then(|n| n.strip_suffix(".yaml"))
            .is_some_and(crate::units::is_dns_label),
        [".github", "workflows", file] => {
            matches!(*file, "obsgen.yml" | "ci.yml" | "deploy.yml")
        }
        ["deploy", "aws", file] => {
            rendered(file) && matches!(Format::of(file), Format::Yaml | Format::Shell)
        }
        ["docs", "deploy", "aws.md"] => true,
        ["deploy", "kubernetes", rest @ ..] => crate::kubernetes::is_generated_path(rest, slug),
        ["monitoring", rest @ ..] if !rest.is_empty() => {
            let (file, folders) = rest.split_last().expect("not empty");
            folders.iter().all(|f| slug(f))
                && rendered(file)
                && !matches!(Format::of(file), Format::Markdown)
        }
        _ => false,
    }
}

/// Every artifact of the model, sorted by path.
pub fn plan(m: &Model, delivery: &crate::delivery::Delivery) -> Vec<Artifact> {
    let mut all: Vec<Artifact> = [
        compose(m),
        prometheus(m),
        dotenv(m),
        crate::alertmanager::artifacts(m),
        delivery.artifacts(),
        crate::grafana::artifacts(m),
        crate::components::artifacts(m),
    ]
    .into_iter()
    .flatten()
    .collect();
    all.sort_by(|a, b| a.path.cmp(&b.path));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_the_planner_emits_for_every_example_is_a_generated_path() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut seen = 0;
        for entry in std::fs::read_dir(root).unwrap() {
            let manifest = entry.unwrap().path().join("obsgen.toml");
            let Ok(text) = std::fs::read_to_string(&manifest) else {
                continue;
            };
            let generated = crate::project::generate_from(&text, "obsgen.toml", None)
                .unwrap_or_else(|e| panic!("{}: {e:#}", manifest.display()));
            for f in &generated.files {
                assert!(
                    is_generated_path(&f.path),
                    "{}: {}",
                    manifest.display(),
                    f.path
                );
                seen += 1;
            }
        }
        assert!(seen > 100, "{seen} paths");
    }

    #[test]
    fn paths_obsgen_never_writes_are_not_generated_paths() {
        for bad in [
            "",
            "obsgen.toml",
            "obsgen.lock",
            "obsgen.lock.pending",
            ".gitattributes",
            ".gitignore",
            ".env",
            ".git/HEAD",
            ".git/config",
            "monitoring/.git/config",
            "monitoring/x/.hg/store",
            "monitoring/.obsgen-AbC123",
            "monitoring/prometheus/.obsgen-abc123",
            "monitoring/prometheus",
            "monitoring/prometheus/notes.txt",
            "monitoring/Prometheus/x.yml",
            "monitoring/../obsgen.toml",
            "monitoring//x.yml",
            "/compose.yaml",
            "./compose.yaml",
            "compose.yml",
            "compose.Prod.yaml",
            "compose..yaml",
            "compose.-x.yaml",
            "secrets/prometheus_password",
            "src/main.rs",
            "README.md",
            ".github/workflows/release.yml",
            ".github/dependabot.yml",
            "deploy/aws/notes.md",
            "deploy/aws/.obsgen-abc123",
            "docs/deploy/gcp.md",
            "deploy/kubernetes/notes.txt",
            "deploy/kubernetes/x.yaml",
            "deploy/kubernetes/monitoring/.obsgen-abc123",
            "deploy/kubernetes/monitoring/prod/Notes.yaml",
            "deploy/kubernetes/../obsgen.toml",
            "docs/README.md",
            "monitoring/docs/readme.md",
        ] {
            assert!(!is_generated_path(bad), "{bad}");
        }
        for good in [
            "compose.yaml",
            "compose.qa-2.yaml",
            ".env.example",
            "monitoring/prometheus/rules/services.yml",
            "monitoring/grafana/dashboards/services/shop-svc-web.json",
            "monitoring/alloy/config.alloy",
            "monitoring/elasticsearch/setup.sh",
            ".github/workflows/deploy.yml",
            "deploy/aws/cloudformation.yaml",
            "deploy/aws/secrets.sh",
            "docs/deploy/aws.md",
            "deploy/kubernetes/README.md",
            "deploy/kubernetes/monitoring/production/servicemonitor-api.yaml",
            "deploy/kubernetes/monitoring/production/tests/containers.test.yml",
        ] {
            assert!(is_generated_path(good), "{good}");
        }
    }
}
