//! CI workflows and the AWS deployment: every workflow passes actionlint and the GitHub
//! workflow schema, the CloudFormation template passes cfn-lint, for every example;
//! each validator is shown to reject a broken file; the workflows follow the manifest;
//! and every path, port and service the AWS guide names exists in the generated output
//! of the same manifest.

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;

use crate::support::{Project, examples, require_tool, tool, yaml};

const WORKFLOWS: &str = ".github/workflows";
const STACK: &str = "deploy/aws/cloudformation.yaml";
const GUIDE: &str = "docs/deploy/aws.md";

fn workflows(p: &Project) -> Vec<String> {
    p.files_ending(".yml")
        .into_iter()
        .filter(|f| f.starts_with(WORKFLOWS))
        .collect()
}

/// Every example, generated.
fn generated() -> Vec<(String, Project)> {
    examples()
        .into_iter()
        .map(|name| {
            let p = Project::example(&name);
            p.generate();
            (name, p)
        })
        .collect()
}

fn actionlint(p: &Project, files: &[String]) -> Option<(i32, String)> {
    let bin = require_tool("actionlint-files")?;
    Some(tool(
        Command::new(bin).args(files.iter().map(|f| p.path().join(f))),
    ))
}

fn workflow_schema(p: &Project, files: &[String]) -> Option<(i32, String)> {
    let bin = require_tool("check-jsonschema")?;
    Some(tool(
        Command::new(bin)
            .args(["--builtin-schema", "vendor.github-workflows"])
            .args(files.iter().map(|f| p.path().join(f))),
    ))
}

fn cfn_lint(p: &Project) -> Option<(i32, String)> {
    let bin = require_tool("cfn-lint")?;
    Some(tool(
        Command::new(bin)
            .args(["-f", "parseable"])
            .arg(p.path().join(STACK)),
    ))
}

#[test]
fn every_workflow_passes_actionlint_and_the_schema() {
    let mut checked = 0;
    for (name, p) in generated() {
        let files = workflows(&p);
        if files.is_empty() {
            continue;
        }
        let Some((code, text)) = actionlint(&p, &files) else {
            return;
        };
        assert_eq!(code, 0, "{name}: actionlint:\n{text}");
        assert!(
            text.contains(&format!("{} file(s), 0 problem(s)", files.len())),
            "{name}: actionlint did not check every file:\n{text}"
        );
        let Some((code, text)) = workflow_schema(&p, &files) else {
            return;
        };
        assert_eq!(code, 0, "{name}: workflow schema:\n{text}");
        checked += files.len();
    }
    assert!(checked >= 10, "only {checked} workflows checked");
}

#[test]
fn every_language_passes_actionlint() {
    let mut text = String::from(
        "[project]\nname = \"langs\"\nenvironments = [\"development\", \"staging\", \"production\"]\n",
    );
    for (i, lang) in ["node", "python", "go", "rust", "java", "other"]
        .iter()
        .enumerate()
    {
        text.push_str(&format!(
            "\n[[service]]\nname = \"svc-{lang}\"\nbuild = \"./svc-{lang}\"\nport = {}\nlanguage = \"{lang}\"\nhealth = \"/health\"\npublic = {}\n",
            8000 + i,
            i == 0
        ));
    }
    text.push_str(
        "\n[[service]]\nname = \"nolang\"\nbuild = \"./nolang\"\nport = 8100\n\n[ci]\nregistry = \"registry.example.com\"\nbranch = \"release\"\n\n[deploy.aws]\nregion = \"eu-north-1\"\ninstance_type = \"t4g.large\"\n",
    );
    let p = Project::with_manifest(&text);
    p.generate();
    let ci = yaml(&p.read(".github/workflows/ci.yml"));
    let jobs = ci["jobs"].as_object().unwrap();
    // 7 builds, 5 audits (not `other`, not without a language), code scanning.
    assert_eq!(jobs.len(), 13, "{:?}", jobs.keys());
    let uses = |job: &str| -> Vec<String> {
        jobs[job]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["uses"].as_str().map(str::to_string))
            .collect()
    };
    assert!(
        uses("build-svc-node")
            .iter()
            .any(|u| u.starts_with("actions/setup-node@"))
    );
    assert!(
        uses("build-svc-python")
            .iter()
            .any(|u| u.starts_with("actions/setup-python@"))
    );
    assert!(
        uses("build-svc-go")
            .iter()
            .any(|u| u.starts_with("actions/setup-go@"))
    );
    assert!(
        uses("build-svc-java")
            .iter()
            .any(|u| u.starts_with("actions/setup-java@"))
    );
    let steps = |job: &str| jobs[job]["steps"].as_array().unwrap().len();
    // `other` and no language: checkout, image name, buildx, build, SARIF scan and its
    // artifact, trivy, login, push.
    assert_eq!(steps("build-svc-other"), 9);
    assert_eq!(steps("build-nolang"), 9);
    let text = p.read(".github/workflows/ci.yml");
    // The image-name step gets the registry and image as data (`"$REGISTRY/$OWNER/$IMAGE"`).
    assert!(
        text.contains("REGISTRY: \"registry.example.com\""),
        "{text}"
    );
    assert!(text.contains("IMAGE: \"langs-svc-rust\""), "{text}");
    assert!(text.contains("secrets.REGISTRY_PASSWORD"));
    assert!(text.contains("refs/heads/release"));
    // Graviton type: the arm64 AMI and Compose plugin.
    let stack = p.read(STACK);
    assert!(stack.contains("al2023-ami-kernel-default-arm64"), "{stack}");
    assert!(stack.contains("docker-compose-linux-aarch64"));
    let files = workflows(&p);
    let Some((code, out)) = actionlint(&p, &files) else {
        return;
    };
    assert_eq!(code, 0, "actionlint:\n{out}");
    let Some((code, out)) = workflow_schema(&p, &files) else {
        return;
    };
    assert_eq!(code, 0, "schema:\n{out}");
    let Some((code, out)) = cfn_lint(&p) else {
        return;
    };
    assert_eq!(code, 0, "cfn-lint:\n{out}");
}

#[test]
fn actionlint_and_the_schema_reject_a_broken_workflow() {
    let p = Project::example("shop");
    p.generate();
    let file = ".github/workflows/obsgen.yml".to_string();
    // An undefined expression context: only actionlint knows.
    let text = p.read(&file);
    p.write(
        &file,
        &text.replace("${{ runner.os }}", "${{ runner.nope.os }}"),
    );
    assert!(p.read(&file).contains("runner.nope.os"));
    if let Some((code, out)) = actionlint(&p, std::slice::from_ref(&file)) {
        assert_ne!(code, 0, "actionlint accepted a broken workflow:\n{out}");
    }
    // A job whose steps are not a list: the schema rejects it.
    p.write(
        &file,
        &text.replacen("    steps:\n", "    steps: 5\n    x-steps:\n", 1),
    );
    assert!(p.read(&file).contains("steps: 5"));
    if let Some((code, out)) = workflow_schema(&p, std::slice::from_ref(&file)) {
        assert_ne!(code, 0, "schema accepted a broken workflow:\n{out}");
    }
}

#[test]
fn every_cloudformation_stack_passes_cfn_lint() {
    let mut checked = 0;
    for (name, p) in generated() {
        if !p.exists(STACK) {
            continue;
        }
        let Some((code, text)) = cfn_lint(&p) else {
            return;
        };
        assert_eq!(code, 0, "{name}: cfn-lint:\n{text}");
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} stacks checked");
}

#[test]
fn cfn_lint_rejects_a_broken_stack() {
    let p = Project::example("shop");
    p.generate();
    let text = p.read(STACK);
    p.write(
        STACK,
        &text.replace("Type: AWS::EC2::EIP\n", "Type: AWS::EC2::ElasticAddress\n"),
    );
    assert_ne!(p.read(STACK), text);
    if let Some((code, out)) = cfn_lint(&p) {
        assert_ne!(code, 0, "cfn-lint accepted a broken stack:\n{out}");
    }
}

/// Compose services of `compose.yaml`.
fn compose_services(p: &Project) -> BTreeSet<String> {
    yaml(&p.read("compose.yaml"))["services"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

/// Published ports of an environment's overlay: (host port, service, address).
fn published(p: &Project, env: &str) -> Vec<(u16, String, String)> {
    let overlay = yaml(&p.read(&format!("compose.{env}.yaml")));
    let mut out = Vec::new();
    for (svc, v) in overlay["services"].as_object().unwrap() {
        for port in v["ports"].as_array().into_iter().flatten() {
            let parts: Vec<&str> = port.as_str().unwrap().split(':').collect();
            out.push((parts[1].parse().unwrap(), svc.clone(), parts[0].to_string()));
        }
    }
    out.sort();
    out
}

fn is_loopback(address: &str) -> bool {
    address.starts_with("127.")
}

/// Whether `name` is a Compose service, or a replicated service (`name-1` is).
fn is_service(services: &BTreeSet<String>, name: &str) -> bool {
    services.contains(name) || services.contains(&format!("{name}-1"))
}

/// Rows of the first Markdown table after `heading` (cells trimmed, header and rule skipped).
fn table_after(text: &str, heading: &str, nth: usize) -> Vec<Vec<String>> {
    let Some(start) = text.find(heading) else {
        return Vec::new();
    };
    let mut tables: Vec<Vec<Vec<String>>> = Vec::new();
    let mut current: Vec<Vec<String>> = Vec::new();
    for line in text[start..].lines().skip(1) {
        if line.starts_with("## ") {
            break;
        }
        if line.starts_with('|') {
            current.push(
                line.trim_matches('|')
                    .split(" | ")
                    .map(|c| c.trim().to_string())
                    .collect(),
            );
        } else if !current.is_empty() {
            tables.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        tables.push(current);
    }
    tables
        .into_iter()
        .nth(nth)
        .map(|t| t.into_iter().skip(2).collect())
        .unwrap_or_default()
}

/// Whether a code token names a file of the generated output.
fn looks_like_output_path(token: &str) -> bool {
    let token = token.trim_end_matches([',', '.', ';', ')']);
    if token.is_empty()
        || token.starts_with(['/', '~', '$', '-'])
        || token.starts_with("http")
        || token.starts_with("secrets/")
        || token.contains([':', '=', '$', '{', '\'', '"'])
    {
        return false;
    }
    [".yml", ".yaml", ".sh", ".md", ".example", ".json"]
        .iter()
        .any(|ext| token.ends_with(ext))
        || ["monitoring/", "deploy/", ".github/", "docs/"]
            .iter()
            .any(|dir| token.starts_with(dir))
}

/// Everything the AWS guide names that the generated output of the same manifest lacks:
/// paths (in code spans and `sh` blocks), security-group and loopback ports, services of
/// the diagram and the tables, and named volumes. Empty when the guide is right.
fn guide_problems(guide: &str, p: &Project, project: &str) -> Vec<String> {
    let tree: BTreeSet<String> = p.tree().into_keys().collect();
    let services = compose_services(p);
    let mut problems = Vec::new();
    // Paths: inline code spans outside fenced blocks, and every word of `sh` blocks.
    let mut prose = String::new();
    let mut fence: Option<String> = None;
    let mut diagram = Vec::new();
    let mut words = Vec::new();
    for line in guide.lines() {
        if let Some(kind) = line.strip_prefix("```") {
            fence = match fence {
                Some(_) => None,
                None => Some(kind.to_string()),
            };
            continue;
        }
        match fence.as_deref() {
            Some("mermaid") => diagram.push(line.to_string()),
            Some(_) => words.extend(line.split_whitespace().map(str::to_string)),
            None => {
                prose.push_str(line);
                prose.push('\n');
            }
        }
    }
    let spans = prose.split('`').skip(1).step_by(2);
    for token in spans
        .flat_map(|s| s.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .chain(words)
    {
        if looks_like_output_path(&token) {
            let path = token.trim_end_matches([',', '.', ';', ')']);
            if !tree.contains(path) {
                problems.push(format!("path `{path}` is not generated"));
            }
        }
    }
    // Diagram nodes: `id["label"]` or `id[("label")]`; every Compose service is shown.
    let mut shown = BTreeSet::new();
    for line in &diagram {
        if let Some((_, rest)) = line.split_once("[\"").or_else(|| line.split_once("[(\"")) {
            let label = rest.split(['"', '<']).next().unwrap_or("");
            shown.insert(label.to_string());
            if !is_service(&services, label) {
                problems.push(format!("diagram shows `{label}`, no Compose service"));
            }
        }
    }
    for s in &services {
        let base = s
            .rsplit_once('-')
            .filter(|(_, n)| n.parse::<u32>().is_ok())
            .map_or(s.as_str(), |(b, _)| b);
        if !shown.contains(s) && !shown.contains(base) {
            problems.push(format!("diagram lacks Compose service `{s}`"));
        }
    }
    // Ports: the security-group table is exactly the non-loopback published ports of
    // production; the loopback table exactly the loopback ones.
    let prod = published(p, "production");
    let want = |loopback: bool| -> BTreeSet<(u16, String)> {
        prod.iter()
            .filter(|(_, _, a)| is_loopback(a) == loopback)
            .map(|(port, s, _)| (*port, s.clone()))
            .collect()
    };
    let sg: BTreeSet<(u16, String)> = table_after(guide, "## Network", 0)
        .into_iter()
        .filter(|r| r[0] != "—")
        .map(|r| (r[0].parse().unwrap_or(0), r[3].clone()))
        .collect();
    if sg != want(false) {
        problems.push(format!(
            "security-group table {sg:?} ≠ published ports {:?}",
            want(false)
        ));
    }
    let lo: BTreeSet<(u16, String)> = table_after(guide, "## Network", 1)
        .into_iter()
        .map(|r| (r[0].parse().unwrap_or(0), r[1].clone()))
        .collect();
    if lo != want(true) {
        problems.push(format!(
            "loopback table {lo:?} ≠ published ports {:?}",
            want(true)
        ));
    }
    // Services of the sizing and troubleshooting tables.
    for (heading, col) in [("## Instance size", 0), ("## Troubleshooting", 0)] {
        for row in table_after(guide, heading, 0) {
            let name = row[col].trim_matches('*');
            if name != "total" && !name.starts_with("OS,") && !is_service(&services, name) {
                problems.push(format!("{heading}: `{name}` is no Compose service"));
            }
        }
    }
    // Volumes: exactly the named volumes of compose.yaml.
    let volumes: BTreeSet<String> = yaml(&p.read("compose.yaml"))["volumes"]
        .as_object()
        .map(|o| o.keys().map(|v| format!("{project}_{v}")).collect())
        .unwrap_or_default();
    let listed: BTreeSet<String> = table_after(guide, "## Backups", 0)
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    if listed != volumes {
        problems.push(format!("backup table {listed:?} ≠ volumes {volumes:?}"));
    }
    problems
}

fn project_name(p: &Project) -> String {
    let m: toml::Value = toml::from_str(&p.read("obsgen.toml")).unwrap();
    m["project"]["name"].as_str().unwrap().to_string()
}

#[test]
fn the_guide_names_only_what_the_same_manifest_generates() {
    let mut checked = 0;
    for (name, p) in generated() {
        if !p.exists(GUIDE) {
            continue;
        }
        let guide = p.read(GUIDE);
        let problems = guide_problems(&guide, &p, &project_name(&p));
        assert!(problems.is_empty(), "{name}: {problems:#?}");
        // The security group of the stack opens exactly the same ports.
        let stack = yaml(&p.read(STACK));
        let opened: BTreeSet<u64> =
            stack["Resources"]["SecurityGroup"]["Properties"]["SecurityGroupIngress"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|r| r["FromPort"].as_u64().unwrap())
                .collect();
        let public: BTreeSet<u64> = published(&p, "production")
            .into_iter()
            .filter(|(_, _, a)| !is_loopback(a))
            .map(|(port, _, _)| u64::from(port))
            .collect();
        assert_eq!(opened, public, "{name}: security group");
        assert!(!opened.contains(&22), "{name}: no SSH with SSM");
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} guides checked");
}

#[test]
fn the_guide_check_catches_a_wrong_path_port_or_service() {
    let p = Project::example("shop");
    p.generate();
    let guide = p.read(GUIDE);
    assert!(guide_problems(&guide, &p, "shop").is_empty());
    let broken = guide
        .replace("| 5921 | tcp |", "| 5922 | tcp |")
        .replace(
            "    gateway[\"gateway\"]",
            "    gateway[\"gateway\"]\n    ghost[\"ghost\"]",
        )
        .replace("`deploy/aws/secrets.sh`", "`deploy/aws/secret.sh`")
        .replace("| shop_mongodb-data |", "| shop_mongo-data |");
    let problems = guide_problems(&broken, &p, "shop").join("\n");
    for want in [
        "security-group table",
        "`ghost`",
        "deploy/aws/secret.sh",
        "backup table",
    ] {
        assert!(problems.contains(want), "missed {want}:\n{problems}");
    }
}

fn jobs(workflow: &Value) -> &serde_json::Map<String, Value> {
    workflow["jobs"].as_object().unwrap()
}

fn run_lines(job: &Value) -> Vec<String> {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .flat_map(|r| r.lines().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

#[test]
fn workflows_follow_the_manifest() {
    let version = env!("CARGO_PKG_VERSION");
    for (name, p) in generated() {
        let files = workflows(&p);
        if files.is_empty() {
            continue;
        }
        let envs: Vec<String> = p
            .files_ending(".yaml")
            .into_iter()
            .filter_map(|f| {
                f.strip_prefix("compose.")?
                    .strip_suffix(".yaml")
                    .map(str::to_string)
            })
            .collect();
        for f in &files {
            let w = yaml(&p.read(f));
            assert!(w["permissions"].is_object(), "{name} {f}: permissions");
            assert!(w["concurrency"]["group"].is_string(), "{name} {f}");
            for (id, job) in jobs(&w) {
                assert!(
                    job["timeout-minutes"].as_u64().is_some_and(|t| t > 0),
                    "{name} {f} {id}: timeout"
                );
                assert!(
                    job["permissions"].is_object(),
                    "{name} {f} {id}: permissions"
                );
                // Every action pinned by commit SHA (with its tag: tests/integration/pins.rs).
                for s in job["steps"].as_array().unwrap() {
                    if let Some(u) = s["uses"].as_str() {
                        let (_, v) = u.split_once('@').unwrap();
                        assert!(
                            v.len() == 40 && v.bytes().all(|b| b.is_ascii_hexdigit()),
                            "{name} {f}: {u} is not pinned by commit SHA"
                        );
                    }
                }
            }
        }
        // obsgen.yml: the version that generated the files, every environment validated.
        let o = yaml(&p.read(".github/workflows/obsgen.yml"));
        let check = run_lines(&jobs(&o)["regenerate"]);
        // The install script (tests/integration/install.rs) of the version that generated them.
        assert!(
            check.contains(
                &"  cargo install obsgen --locked --version \"$version\" --root \"$tmp/cargo\""
                    .to_string()
            )
        );
        assert_eq!(
            jobs(&o)["regenerate"]["steps"][2]["env"]["OBSGEN_VERSION"],
            version,
            "{name}"
        );
        assert!(check.contains(&"obsgen check --format github".to_string()));
        let validate = run_lines(&jobs(&o)["validate"]).join("\n");
        let compose = run_lines(&jobs(&o)["compose"]).join("\n");
        for env in &envs {
            assert!(
                validate.contains(&format!(
                    "check config 'monitoring/prometheus/prometheus.{env}.yml'"
                )),
                "{name}: promtool {env}"
            );
            if p.exists(&format!("monitoring/alertmanager/alertmanager.{env}.yml")) {
                assert!(
                    validate.contains(&format!(
                        "check-config 'monitoring/alertmanager/alertmanager.{env}.yml'"
                    )),
                    "{name}: amtool {env}"
                );
            }
            assert!(compose.contains(&format!(
                "docker compose -f compose.yaml -f 'compose.{env}.yaml' config -q"
            )));
        }
        assert_eq!(
            validate.contains("promtool test rules"),
            !p.files_ending(".test.yml").is_empty(),
            "{name}"
        );
        assert_eq!(
            validate.contains("routes.test.sh"),
            p.exists("monitoring/alertmanager/routes.test.sh")
        );
        // ci.yml: one job per service with a build context.
        let built: BTreeSet<String> = yaml(&p.read("compose.yaml"))["services"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(_, v)| v["build"].is_object() || v["build"].is_string())
            .map(|(k, _)| {
                k.rsplit_once('-')
                    .filter(|(_, n)| n.parse::<u32>().is_ok())
                    .map_or(k.clone(), |(b, _)| b.to_string())
            })
            .collect();
        if built.is_empty() {
            assert!(!p.exists(".github/workflows/ci.yml"), "{name}");
        } else {
            let c = yaml(&p.read(".github/workflows/ci.yml"));
            let ids: BTreeSet<String> = jobs(&c)
                .keys()
                .filter_map(|k| k.strip_prefix("build-").map(str::to_string))
                .collect();
            assert_eq!(ids, built, "{name}: ci.yml jobs");
            let text = p.read(".github/workflows/ci.yml");
            assert!(text.contains("type=gha"), "{name}: layer cache");
            assert!(text.contains("aquasecurity/trivy-action@"), "{name}: trivy");
        }
        // deploy.yml: staging only when it exists, production behind its environment.
        if p.exists(".github/workflows/deploy.yml") {
            let d = yaml(&p.read(".github/workflows/deploy.yml"));
            let j = jobs(&d);
            assert_eq!(
                j.contains_key("staging"),
                envs.iter().any(|e| e == "staging"),
                "{name}"
            );
            assert_eq!(j["production"]["environment"], "production");
            // With ci.yml, deploys wait for it to pass on a push; else they follow the push.
            let gated = p.exists(".github/workflows/ci.yml");
            assert_eq!(d["on"]["workflow_run"].is_object(), gated, "{name}");
            assert_eq!(d["on"]["push"].is_object(), !gated, "{name}");
            if gated {
                let first_job = if j.contains_key("staging") {
                    "staging"
                } else {
                    "production"
                };
                let first = j[first_job]["if"].as_str().unwrap();
                assert!(
                    first.contains("workflow_run.event == 'push'")
                        && first.contains("conclusion == 'success'"),
                    "{name}: {first}"
                );
            }
            let smoke = run_lines(&j["production"]).join("\n");
            let prod = published(&p, "production");
            for (port, svc, addr) in &prod {
                if is_loopback(addr) {
                    continue;
                }
                assert!(
                    smoke.contains(&format!("\"http://$HOST:{port}\"'/")),
                    "{name}: no smoke test of {svc}"
                );
            }
            assert!(smoke.contains("aws ssm send-command"));
            assert!(
                p.read(".github/workflows/deploy.yml")
                    .contains("http://127.0.0.1:9090/api/v1/targets"),
                "{name}: targets check"
            );
        }
    }
}

#[test]
fn ci_is_opt_in() {
    let base = "[project]\nname = \"plain\"\n\n[[service]]\nname = \"web\"\nbuild = \"./web\"\nport = 8080\npublic = true\n";
    let p = Project::with_manifest(base);
    p.generate();
    assert!(!p.exists(".github"), "no [ci]: no workflows");
    assert!(!p.exists("deploy") && !p.exists("docs"), "no [deploy.aws]");
    let p = Project::with_manifest(&format!("{base}\n[ci]\nprovider = \"none\"\n"));
    p.generate();
    assert!(!p.exists(".github"), "provider none: no workflows");
    let p = Project::with_manifest(&format!("{base}\n[ci]\n"));
    p.generate();
    assert_eq!(
        workflows(&p),
        vec![
            ".github/workflows/ci.yml".to_string(),
            ".github/workflows/obsgen.yml".to_string()
        ]
    );
    let ci = p.read(".github/workflows/ci.yml");
    assert!(
        ci.contains("REGISTRY: \"ghcr.io\"") && ci.contains("IMAGE: \"plain-web\""),
        "GHCR by default"
    );
    assert!(ci.contains("refs/heads/main"), "main by default");
}

/// A stub `aws` (SSM get-parameter prints `value-of-<name>`, or fails for the name in
/// `$STUB_MISSING`) and a no-op `chgrp`, in a folder to put first on PATH.
fn stub_bin(p: &Project) -> std::path::PathBuf {
    let dir = p.path().join("stub-bin");
    std::fs::create_dir_all(&dir).unwrap();
    let aws = "#!/bin/sh\nwhile [ $# -gt 0 ]; do\n  if [ \"$1\" = --name ]; then name=$2; fi\n  shift\ndone\n[ \"$name\" = \"${STUB_MISSING:-}\" ] && { echo 'ParameterNotFound' >&2; exit 254; }\nprintf 'value-of-%s\\n' \"$name\"\n";
    for (name, text) in [("aws", aws), ("chgrp", "#!/bin/sh\nexit 0\n")] {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

#[test]
fn secrets_script_writes_every_variable_and_secret_file_the_stack_reads() {
    for name in ["shop", "everything"] {
        let p = Project::example(name);
        p.generate();
        let bin = stub_bin(&p);
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let (code, out) = tool(
            Command::new("sh")
                .current_dir(p.path())
                .env("PATH", &path)
                .args(["deploy/aws/secrets.sh", "production"]),
        );
        assert_eq!(code, 0, "{name}: {out}");
        let env = p.read(".env");
        for line in p.read(".env.example").lines() {
            let Some((var, _)) = line.split_once('=') else {
                continue;
            };
            if line.starts_with('#') {
                continue;
            }
            assert!(
                env.contains(&format!("{var}=value-of-/{name}/production/{var}\n")),
                "{name}: {var} missing from .env:\n{env}"
            );
        }
        let compose = yaml(&p.read("compose.yaml"));
        for (_, s) in compose["secrets"].as_object().unwrap() {
            let file = s["file"].as_str().unwrap().trim_start_matches("./");
            assert_eq!(
                p.read(file).trim_end(),
                format!("value-of-/{name}/production/{file}"),
                "{name}: {file}"
            );
        }
        // Every env_file of a service, whole, from its own parameter.
        for (_, s) in compose["services"].as_object().unwrap() {
            for f in s["env_file"].as_array().into_iter().flatten() {
                let file = f.as_str().unwrap().trim_start_matches("./");
                assert_eq!(
                    p.read(file).trim_end(),
                    format!("value-of-/{name}/production/env_file/{file}"),
                    "{name}: {file}"
                );
            }
        }
        // A missing parameter without default fails, and leaves no .env behind it.
        std::fs::remove_file(p.path().join(".env")).unwrap();
        let (code, out) = tool(
            Command::new("sh")
                .current_dir(p.path())
                .env("PATH", &path)
                .env(
                    "STUB_MISSING",
                    format!("/{name}/production/GRAFANA_ADMIN_PASSWORD"),
                )
                .args(["deploy/aws/secrets.sh", "production"]),
        );
        assert_ne!(code, 0, "{name}: {out}");
        assert!(out.contains("GRAFANA_ADMIN_PASSWORD is missing"), "{out}");
        assert!(!p.exists(".env"));
    }
}
