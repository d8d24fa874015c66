//! Strings that break YAML when unquoted (`: # " ' {{ }}`, newlines) come out of
//! generated files as the same strings when parsed back.

use crate::support::Project;

#[test]
fn yaml_breaking_values_parse_back_unchanged() {
    let nasty = [
        "a: b",
        "# not a comment",
        "say \"hi\"",
        "it's",
        "{{ template }}",
        "line one\nline two",
        "- item",
        "*alias &anchor !tag",
        "yes",
        "",
        "tab\there",
        "unicode ✓ — ok",
    ];
    let env: Vec<String> = nasty
        .iter()
        .enumerate()
        .map(|(i, v)| format!("V{i} = {}", toml::Value::String(v.to_string())))
        .collect();
    let command: Vec<String> = nasty
        .iter()
        .map(|v| toml::Value::String(v.to_string()).to_string())
        .collect();
    let manifest = format!(
        "[project]\nname = \"q\"\nprofile = \"minimal\"\n\n[[service]]\nname = \"api\"\nimage = \"ghcr.io/acme/api:1.0.0\"\nport = 8080\ncommand = [{}]\n[service.env]\n{}\n",
        command.join(", "),
        env.join("\n")
    );
    let p = Project::with_manifest(&manifest);
    p.generate();
    let compose: serde_json::Value = serde_saphyr::from_str(&p.read("compose.yaml")).unwrap();
    let api = &compose["services"]["api"];
    for (i, v) in nasty.iter().enumerate() {
        assert_eq!(
            api["environment"][format!("V{i}")],
            serde_json::json!(v),
            "env V{i}"
        );
        assert_eq!(api["command"][i], serde_json::json!(v), "command[{i}]");
    }
}

// ---------------------------------------------------------------------------------------
// Manifest text that reaches a shell, a GitHub expression, Compose interpolation or
// CloudFormation `Fn::Sub` is data there: the generated workflow steps run on hostile
// values with stub commands and nothing executes.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::support::{require_tool, tool, yaml};

/// What a hostile value runs when a shell or the runner evaluates it: touches `PWNED`
/// (in the folder it runs in), or leaks the token.
const REGISTRY: &str =
    "ghcr.io\"$(touch${IFS}PWNED)\"`touch${IFS}PWNED`;touch${IFS}PWNED;'${{github.token}}";
/// A health path is an RFC 3986 path (no backticks, braces or spaces), which still
/// leaves `$`, `(`, `)`, `'`, `;` and `&` for a shell to misread.
const HEALTH: &str = "/h$(touch$IFS'PWNED');touch$IFS'PWNED';'$(id)'&a=$HOME";
/// A git branch name may hold `$`, backticks and `;` (not `${{`: see the report).
const BRANCH: &str = "rel$(touch${IFS}PWNED)`touch${IFS}PWNED`;x";
const BUILD: &str = "./app $(touch PWNED) `touch PWNED`;touch PWNED;'\"${{ github.token }}";

fn hostile_manifest() -> String {
    let s = |v: &str| toml::Value::String(v.to_string()).to_string();
    format!(
        r#"[project]
name = "shop"
profile = "minimal"
environments = ["development", "staging", "production"]

[[service]]
name = "api"
build = {build}
language = "node"
port = 8080
public = true
health = {health}

[ci]
registry = {registry}
branch = {branch}

[deploy.aws]
region = "eu-central-1"
domain = "shop.example.com"
"#,
        build = s(BUILD),
        health = s(HEALTH),
        registry = s(REGISTRY),
        branch = s(BRANCH),
    )
}

/// Values the runner gives the expressions the workflows use on purpose. `github.token`
/// is here so that a hostile `${{ github.token }}` that *is* evaluated shows up as a leak.
fn context(expr: &str) -> Option<&'static str> {
    Some(match expr {
        "github.repository_owner" => "Acme",
        "github.sha" | "github.event.workflow_run.head_sha || github.sha" => {
            "0123456789abcdef0123456789abcdef01234567"
        }
        "github.token" | "secrets.GITHUB_TOKEN" => "LEAKED-TOKEN",
        "vars.PRODUCTION_INSTANCE_ID" | "vars.STAGING_INSTANCE_ID" => "i-0abc",
        "vars.STAGING_HOST" => "staging.example.com",
        "vars.PRODUCTION_HOST || 'shop.example.com'" => "shop.example.com",
        "runner.os" => "Linux",
        "runner.arch" => "X64",
        _ => return None,
    })
}

/// Evaluates a workflow string as the runner does (actions/languageservices
/// `TemplateReader.parseScalar`): `${{` opens an expression that ends at the first `}}`
/// outside a `'…'` literal. A literal evaluates to itself (`''` is `'`), the
/// expressions of [`context`] to their test values; anything else fails the test.
fn evaluate(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let body = &rest[start + 3..];
        let bytes = body.as_bytes();
        let mut in_string = false;
        let mut end = None;
        for i in 0..bytes.len() {
            if bytes[i] == b'\'' {
                in_string = !in_string;
            } else if !in_string && bytes[i] == b'}' && i > 0 && bytes[i - 1] == b'}' {
                end = Some(i);
                break;
            }
        }
        let end = end.unwrap_or_else(|| panic!("unclosed expression in {raw}"));
        let expr = body[..end - 1].trim();
        let literal = expr
            .strip_prefix('\'')
            .and_then(|e| e.strip_suffix('\''))
            .filter(|e| !e.replace("''", "").contains('\''));
        match (literal, context(expr)) {
            (Some(l), _) => out.push_str(&l.replace("''", "'")),
            (None, Some(v)) => out.push_str(v),
            (None, None) => panic!("the test runner does not know `${{{{ {expr} }}}}` in:\n{raw}"),
        }
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Stub commands that log their argv (one `>name` line, then one line per argument) to
/// `$STUB_LOG`. `aws ssm send-command` answers a command id, `--query Status` answers
/// `Success`, `aws ssm get-parameter` a hostile value (or fails for `$STUB_MISSING`);
/// `curl` answers a body with every target up.
fn stubs(dir: &Path) -> std::path::PathBuf {
    let bin = dir.join("stub-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = "printf '>%s\\n' \"$(basename \"$0\")\" >> \"$STUB_LOG\"\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> \"$STUB_LOG\"; done\n";
    let aws = format!(
        "#!/bin/sh\n{log}case \"$*\" in\n  *send-command*) echo cmd-1 ;;\n  *'--query Status'*) echo Success ;;\n  *get-parameter*)\n    while [ $# -gt 0 ]; do [ \"$1\" = --name ] && name=$2; shift; done\n    [ \"$name\" = \"${{STUB_MISSING:-}}\" ] && exit 254\n    printf '%s\\n' \"v\\$(touch PWNED)\\`touch PWNED\\`;'\\\"\\${{IFS}}-$name\" ;;\nesac\nexit 0\n"
    );
    let curl = format!(
        "#!/bin/sh\n{log}echo '{{\"status\":\"success\",\"health\":\"up\",\"data\":{{\"result\":[]}}}}'\n"
    );
    let plain = format!("#!/bin/sh\n{log}exit 0\n");
    for name in [
        "docker", "obsgen", "npm", "git", "chgrp", "sleep", "amtool", "promtool",
    ] {
        write_exec(&bin.join(name), &plain);
    }
    // `cargo install … --root DIR` (the obsgen install script's fallback) leaves DIR/bin/obsgen.
    let cargo = format!(
        "#!/bin/sh\n{log}while [ $# -gt 0 ]; do [ \"$1\" = --root ] && mkdir -p \"$2/bin\" && : > \"$2/bin/obsgen\"; shift; done\nexit 0\n"
    );
    write_exec(&bin.join("cargo"), &cargo);
    write_exec(&bin.join("aws"), &aws);
    write_exec(&bin.join("curl"), &curl);
    bin
}

/// `PATH` with the stub folder first.
fn stubs_first(bin: &Path) -> String {
    format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn write_exec(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The stub calls in `log`: (command, argv).
fn calls(log: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for line in log.lines() {
        match line.strip_prefix('>') {
            Some(cmd) => out.push((cmd.to_string(), Vec::new())),
            None => out.last_mut().unwrap().1.push(line.to_string()),
        }
    }
    out
}

/// Runs every `run:` step of `workflow` (a path in `p`) as the runner would: expressions
/// of `run:` and of the job's and step's `env:` evaluated, `bash --noprofile --norc -e`,
/// in `working-directory`, stubs first on PATH. Returns the stub calls.
fn run_workflow(p: &Project, workflow: &str, bin: &Path) -> Vec<(String, Vec<String>)> {
    let wf = yaml(&p.read(workflow));
    let log = p.path().join("stub.log");
    let _ = std::fs::remove_file(&log);
    let path = stubs_first(bin);
    let scratch = tempfile::tempdir().unwrap();
    let mut ran = 0;
    for (job_id, job) in wf["jobs"].as_object().unwrap() {
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in job["env"].as_object().into_iter().flatten() {
            env.insert(k.clone(), evaluate(v.as_str().unwrap()));
        }
        for (i, step) in job["steps"].as_array().unwrap().iter().enumerate() {
            let Some(run) = step["run"].as_str() else {
                continue;
            };
            let mut env = env.clone();
            for (k, v) in step["env"].as_object().into_iter().flatten() {
                env.insert(k.clone(), evaluate(v.as_str().unwrap()));
            }
            let dir = match step["working-directory"].as_str() {
                Some(d) => p.path().join(evaluate(d)),
                None => p.path().to_path_buf(),
            };
            std::fs::create_dir_all(&dir).unwrap();
            let script = scratch.path().join(format!("{job_id}-{i}.sh"));
            std::fs::write(&script, evaluate(run)).unwrap();
            let output = p.path().join("github-output");
            let (code, out) = tool(
                Command::new("bash")
                    .args(["--noprofile", "--norc", "-e"])
                    .arg(&script)
                    .current_dir(&dir)
                    .env("PATH", &path)
                    // Steps may install into ~/.cargo/bin: a scratch home, not the caller's.
                    .env("HOME", scratch.path())
                    .env("STUB_LOG", &log)
                    .env("GITHUB_OUTPUT", &output)
                    .envs(&env),
            );
            assert_eq!(
                code, 0,
                "{workflow} job {job_id} step {i} failed:\n{run}\n---\n{out}"
            );
            ran += 1;
        }
    }
    assert!(ran > 0, "{workflow} has no run: step");
    calls(&std::fs::read_to_string(&log).unwrap_or_default())
}

/// Every `PWNED` file below `dir`.
fn pwned(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in walk(dir) {
        if e.file_name().is_some_and(|n| n == "PWNED") {
            out.push(e.display().to_string());
        }
    }
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() && !p.is_symlink() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

#[test]
fn workflow_shell_steps_take_hostile_manifest_values_as_data() {
    let p = Project::with_manifest(&hostile_manifest());
    p.generate();
    let bin = stubs(p.path());
    let owner = "acme"; // `Acme`, lowercased by the image-name step

    // ci.yml: the registry in the image-name step, the build context as working folder.
    let ci = run_workflow(&p, ".github/workflows/ci.yml", &bin);
    assert_eq!(
        pwned(p.path()),
        Vec::<String>::new(),
        "ci.yml executed manifest text"
    );
    let output = p.read("github-output");
    assert_eq!(
        output,
        format!("name={}/{owner}/shop-api\n", REGISTRY.to_lowercase()),
        "image name"
    );
    assert!(
        ci.iter().any(|(c, a)| c == "npm" && a == &["ci"]),
        "npm ran in the build context: {ci:?}"
    );
    assert!(
        p.path().join(BUILD).is_dir(),
        "working-directory is the build context"
    );

    // deploy.yml: the health path in the smoke test, the SSM commands.
    let deploy = run_workflow(&p, ".github/workflows/deploy.yml", &bin);
    assert_eq!(
        pwned(p.path()),
        Vec::<String>::new(),
        "deploy.yml executed manifest text"
    );
    let mut urls: Vec<&String> = deploy
        .iter()
        .filter(|(c, _)| c == "curl")
        .map(|(_, a)| a.last().unwrap())
        .collect();
    urls.sort();
    assert_eq!(
        urls,
        [
            &format!("http://shop.example.com:8080{HEALTH}"),
            &format!("http://staging.example.com:8080{HEALTH}"),
        ],
        "smoke-test URLs"
    );
    // The SSM commands arrive as JSON data; run on the "host" (a copy of the project,
    // `cd /opt/<project>` mapped onto it), they deploy the tested commit.
    let params: Vec<serde_json::Value> = deploy
        .iter()
        .filter(|(c, a)| c == "aws" && a.iter().any(|x| x == "send-command"))
        .map(|(_, a)| {
            let i = a.iter().position(|x| x == "--parameters").unwrap();
            serde_json::from_str(&a[i + 1]).unwrap()
        })
        .collect();
    assert_eq!(
        params.len(),
        6,
        "deploy, targets check and post-deploy check per environment"
    );
    let log = p.path().join("stub.log");
    std::fs::write(&log, "").unwrap();
    std::fs::create_dir_all(p.path().join("secrets")).unwrap();
    std::fs::write(p.path().join("secrets/prometheus_password"), "pw").unwrap();
    for param in &params {
        let commands: Vec<&str> = param["commands"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let script = format!(
            "cd() {{ [ \"$1\" = /opt/shop ] || exit 97; builtin cd \"$HOST_DIR\"; }}\n{}\n",
            commands.join("\n")
        );
        let (code, out) = tool(
            Command::new("bash")
                .args(["--noprofile", "--norc", "-c", &script])
                .current_dir(p.path())
                .env("HOST_DIR", p.path())
                .env("STUB_LOG", &log)
                .env("PATH", stubs_first(&bin)),
        );
        assert_eq!(code, 0, "SSM commands failed:\n{script}\n---\n{out}");
    }
    assert_eq!(
        pwned(p.path()),
        Vec::<String>::new(),
        "the host executed a value"
    );
    let host = calls(&std::fs::read_to_string(&log).unwrap());
    assert!(
        host.iter().any(|(c, a)| c == "git"
            && a == &[
                "checkout",
                "--force",
                "0123456789abcdef0123456789abcdef01234567"
            ]),
        "{host:?}"
    );
    // secrets.sh ran on the host with hostile parameter values: written, not run.
    let env = p.read(".env");
    assert!(
        env.contains("GRAFANA_ADMIN_PASSWORD=v$(touch PWNED)`touch PWNED`;'\"${IFS}-/shop/"),
        "{env}"
    );

    // obsgen.yml: every step runs with the stubs.
    let checks = run_workflow(&p, ".github/workflows/obsgen.yml", &bin);
    assert_eq!(
        pwned(p.path()),
        Vec::<String>::new(),
        "obsgen.yml executed manifest text"
    );
    assert!(checks.iter().any(|(c, a)| c == "obsgen" && a[0] == "check"));
    assert!(
        checks
            .iter()
            .any(|(c, a)| c == "docker" && a.iter().any(|x| x == "compose.production.yaml")),
        "{checks:?}"
    );
}

#[test]
fn secrets_script_writes_hostile_parameter_values_and_environment_names_as_data() {
    let p = Project::with_manifest(&hostile_manifest());
    p.generate();
    let bin = stubs(p.path());
    let log = p.path().join("stub.log");
    let (code, out) = tool(
        Command::new("bash")
            .args([
                "--noprofile",
                "--norc",
                "-e",
                "deploy/aws/secrets.sh",
                "staging",
            ])
            .current_dir(p.path())
            .env("STUB_LOG", &log)
            .env("PATH", stubs_first(&bin)),
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(pwned(p.path()), Vec::<String>::new());
    let env = p.read(".env");
    for line in env.lines() {
        let (var, value) = line.split_once('=').unwrap();
        assert_eq!(
            value,
            format!("v$(touch PWNED)`touch PWNED`;'\"${{IFS}}-/shop/staging/{var}"),
            "{line}"
        );
    }
}

#[test]
fn workflows_with_hostile_values_pass_actionlint() {
    let Some(bin) = require_tool("actionlint-files") else {
        return;
    };
    let p = Project::with_manifest(&hostile_manifest());
    p.generate();
    let files: Vec<_> = ["ci.yml", "deploy.yml", "obsgen.yml"]
        .iter()
        .map(|f| p.path().join(".github/workflows").join(f))
        .collect();
    let (code, out) = tool(Command::new(bin).args(&files));
    assert_eq!(code, 0, "actionlint:\n{out}");
}

/// A health path reaches the stack's outputs inside `Fn::Sub`: its `$` stays literal
/// and cfn-lint accepts the template. (`{` is refused in paths, so `${` cannot come
/// from the manifest; `quote::cfn_sub`'s unit tests cover it.)
#[test]
fn cloudformation_sub_strings_keep_dollars_literal() {
    let Some(bin) = require_tool("cfn-lint") else {
        return;
    };
    let p = Project::with_manifest(&hostile_manifest());
    p.generate();
    let (code, out) = tool(
        Command::new(bin)
            .args(["-f", "parseable"])
            .arg(p.path().join("deploy/aws/cloudformation.yaml")),
    );
    assert_eq!(code, 0, "cfn-lint:\n{out}");
    let stack = yaml(&p.read("deploy/aws/cloudformation.yaml"));
    let sub = stack["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"]
        .as_str()
        .unwrap();
    assert_eq!(
        sub,
        format!(
            "http://${{ElasticIp.PublicIp}}:8080{}",
            HEALTH.replace("${", "${!")
        )
    );
}

/// docker-compose v1 `config` reads every `$` of manifest text literally, and a
/// service's `env` references to `.env` (`${NAME}`, `${NAME:-default}`, `${NAME-default}`)
/// as references.
#[test]
fn compose_reads_manifest_dollars_literally_and_env_references_from_dot_env() {
    let Some(bin) = require_tool("docker-compose") else {
        return;
    };
    let p = Project::with_manifest(
        r#"[project]
name = "shop"
profile = "minimal"
environments = ["development", "production"]

[[service]]
name = "api"
build = "./app$x"
port = 8080
health = "/h$(id)$x"
command = ["sh", "-c", "echo $HOME $(id) ${X} $$"]
env = { A = "${MY_VAR:-fallback}", B = "$(touch PWNED) $HOME $", C = "${PLAIN}", D = "${UNSET-dflt}" }
dev = { mount = "/app$y", command = ["run", "$z"] }
hardening = { read_only = true, tmpfs = ["/tmp$t"] }

[[service]]
name = "web"
image = "ghcr.io/acme/w$b:1.0.0"
port = 80
health_cmd = ["/hc", "$HOME", "${X}"]
"#,
    );
    p.generate();
    std::fs::create_dir_all(p.path().join("app$x")).unwrap();
    let example = p.read(".env.example");
    // Referenced variables are listed, a default proposed as the value.
    for line in ["MY_VAR=fallback", "PLAIN=", "UNSET=dflt"] {
        assert!(
            example.contains(&format!("\n{line}\n")),
            "{line}:\n{example}"
        );
    }
    // Every variable set, but MY_VAR and UNSET (Compose applies their defaults) and PLAIN
    // (given its own value below).
    let mut env: String = example
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, _)| k))
        .filter(|k| !["MY_VAR", "UNSET", "PLAIN"].contains(k))
        .map(|k| format!("{k}=placeholder\n"))
        .collect();
    env.push_str("PLAIN=plain-value\n");
    p.write(".env", &env);
    let config = |overlay: &str| {
        let (code, out) = tool(
            Command::new(&bin)
                .current_dir(p.path())
                .env_remove("MY_VAR")
                .env_remove("UNSET")
                .args(["-f", "compose.yaml", "-f", overlay, "config"]),
        );
        assert_eq!(code, 0, "docker-compose config {overlay}:\n{out}");
        yaml(&out)
    };
    // `config` prints a Compose file again: a literal `$` comes back as `$$`.
    let lit = |s: &str| serde_json::json!(s.replace('$', "$$"));
    let dev = config("compose.development.yaml");
    let api = &dev["services"]["api"];
    assert_eq!(api["environment"]["A"], "fallback");
    assert_eq!(api["environment"]["B"], lit("$(touch PWNED) $HOME $"));
    assert_eq!(api["environment"]["C"], "plain-value");
    assert_eq!(api["environment"]["D"], "dflt");
    assert_eq!(api["command"], serde_json::json!([lit("run"), lit("$z")]));
    let context = api["build"]["context"].as_str().unwrap();
    assert!(context.ends_with("/app$$x"), "{context}");
    // v1 prints volumes without escaping them.
    let volume = api["volumes"][0].as_str().unwrap();
    assert!(volume.ends_with("/app$x:/app$y:rw"), "{volume}");
    assert_eq!(
        api["healthcheck"]["test"]
            .as_array()
            .unwrap()
            .last()
            .unwrap(),
        &lit("http://127.0.0.1:8080/h$(id)$x")
    );
    let web = &dev["services"]["web"];
    assert_eq!(web["image"], lit("ghcr.io/acme/w$b:1.0.0"));
    assert_eq!(
        web["healthcheck"]["test"],
        serde_json::json!(["CMD", "/hc", lit("$HOME"), lit("${X}")])
    );
    let prod = config("compose.production.yaml");
    let api = &prod["services"]["api"];
    assert_eq!(
        api["command"],
        serde_json::json!(["sh", "-c", lit("echo $HOME $(id) ${X} $$")])
    );
    assert_eq!(api["tmpfs"], serde_json::json!([lit("/tmp$t")]));
}

/// Go's yaml.v2 (Alertmanager, Prometheus) reads U+0085, U+2028 and U+2029 as line
/// breaks: written raw, `web\u2028shop` arrives as `web shop` and a route never
/// matches. The manifest refuses them at load time (`tests/bad/72-yaml-line-breaks.toml`);
/// the `q` filter escapes them all the same, and amtool reads the escaped value back
/// unchanged.
#[test]
fn yaml_line_break_characters_reach_amtool_unchanged() {
    let Some(amtool) = require_tool("amtool") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut env = obsgen::render::environment();
    env.add_template(
        "am",
        "route:\n  receiver: none\n  routes:\n    - receiver: brk\n      matchers:\n        - {{ m | q }}\nreceivers:\n  - name: none\n  - name: brk\n",
    )
    .unwrap();
    for ch in ['\u{85}', '\u{2028}', '\u{2029}'] {
        let value = format!("web{ch}shop");
        let text = env
            .get_template("am")
            .unwrap()
            .render(minijinja::context! { m => format!("team=\"{value}\"") })
            .unwrap();
        assert!(!text.contains(ch), "written raw:\n{text}");
        let file = dir.path().join("am.yml");
        std::fs::write(&file, &text).unwrap();
        let (code, out) = tool(Command::new(&amtool).args([
            "config",
            "routes",
            "test",
            "--config.file",
            file.to_str().unwrap(),
            "--verify.receivers=brk",
            &format!("team={value}"),
        ]));
        assert_eq!(code, 0, "amtool, U+{:04X}:\n{text}\n{out}", ch as u32);
    }
}
