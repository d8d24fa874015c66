//! The Kubernetes target (`[kubernetes]`, docs/kubernetes.md) through the real validators,
//! for every example with `[kubernetes]` and a variant of each with every environment in
//! `own` mode and Flux: `kubectl kustomize` on every folder with a kustomization;
//! `kubernetes-validate --strict` (1.29 and 1.37) on what it builds; the prometheus-operator
//! objects against the cloudcoil models with unknown fields rejected; promtool on the
//! groups extracted from every PrometheusRule with the unchanged Compose tests; amtool on the
//! Alertmanager configuration of the values (with the Compose route tests); the Grafana type
//! check and byte equality of the dashboards in ConfigMaps; the Helm values' key paths in the
//! pinned charts' `values.yaml`; checkov on the built workloads. Under `CI=true` a missing
//! validator fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

use crate::support::{Project, examples, repo, require_tool, tool, yaml};

const ROOT: &str = "deploy/kubernetes";

/// The manifests with `[kubernetes]`: each example that has it, and its variant with every
/// environment in own mode and Flux.
fn manifests() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for name in examples() {
        let text = std::fs::read_to_string(repo().join("examples").join(&name).join("obsgen.toml"))
            .unwrap();
        if !text.contains("\n[kubernetes]\n") {
            continue;
        }
        let variant = text
            .replace("\n[kubernetes]\n", "\n[kubernetes]\nmode = \"own\"\n")
            .replace("gitops = \"argocd\"", "gitops = \"flux\"")
            .replace("mode = \"shared\"", "mode = \"own\"");
        assert_ne!(variant, text, "{name}: the variant must differ");
        out.push((name.clone(), text));
        out.push((format!("{name} (own, flux)"), variant));
    }
    assert!(!out.is_empty(), "no example has [kubernetes]");
    out
}

fn generated() -> Vec<(String, Project)> {
    manifests()
        .into_iter()
        .map(|(name, text)| {
            let p = Project::with_manifest(&text);
            p.generate();
            (name, p)
        })
        .collect()
}

/// Files below `deploy/kubernetes/` whose path (relative to it) satisfies `pred`.
fn files(p: &Project, pred: impl Fn(&str) -> bool) -> Vec<String> {
    p.tree()
        .keys()
        .filter(|k| !k.ends_with('/'))
        .filter_map(|k| k.strip_prefix(&format!("{ROOT}/")))
        .filter(|k| pred(k))
        .map(str::to_string)
        .collect()
}

fn kube(p: &Project, rel: &str) -> PathBuf {
    p.path().join(ROOT).join(rel)
}

/// Every folder with a `kustomization.yaml`, built with `kubectl kustomize` into `out/`:
/// (folder, built file).
fn build_all(kubectl: &Path, p: &Project, out: &Path) -> Vec<(String, PathBuf)> {
    let mut built = Vec::new();
    for k in files(p, |f| f.ends_with("/kustomization.yaml")) {
        let dir = k.strip_suffix("/kustomization.yaml").unwrap().to_string();
        if dir == "apps/base" {
            continue; // built through every overlay
        }
        let (code, text) = tool(Command::new(kubectl).arg("kustomize").arg(kube(p, &dir)));
        assert_eq!(code, 0, "kubectl kustomize {dir}:\n{text}");
        let file = out.join(format!("{}.yaml", dir.replace('/', "-")));
        std::fs::write(&file, &text).unwrap();
        built.push((dir, file));
    }
    built
}

#[test]
fn every_kustomization_builds_and_passes_kubernetes_validate_strict_for_1_29_and_1_37() {
    let (Some(kubectl), Some(kv)) = (require_tool("kubectl"), require_tool("kubernetes-validate"))
    else {
        return;
    };
    // The check can fail: a Deployment with a wrongly typed field is refused.
    let bad = tempfile::tempdir().unwrap();
    let bad_file = bad.path().join("bad.yaml");
    std::fs::write(
        &bad_file,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: two\n  selector: {}\n  template: {}\n",
    )
    .unwrap();
    let (code, _) = tool(
        Command::new(&kv)
            .args(["--strict", "-k", "1.29.0"])
            .arg(&bad_file),
    );
    assert_ne!(code, 0, "kubernetes-validate accepted a broken Deployment");
    for (name, p) in generated() {
        let out = tempfile::tempdir().unwrap();
        let built = build_all(&kubectl, &p, out.path());
        let dirs: Vec<&str> = built.iter().map(|(d, _)| d.as_str()).collect();
        assert!(
            dirs.iter().any(|d| d.starts_with("monitoring/"))
                && dirs.iter().any(|d| d.starts_with("dashboards/"))
                && dirs.iter().any(|d| d.starts_with("apps/overlays/")),
            "{name}: {dirs:?}"
        );
        let mut inputs: Vec<PathBuf> = built.into_iter().map(|(_, f)| f).collect();
        inputs.extend(
            files(&p, |f| f.starts_with("gitops/"))
                .iter()
                .map(|f| kube(&p, f)),
        );
        for version in ["1.29.0", "1.37.0"] {
            let (code, text) = tool(
                Command::new(&kv)
                    .args(["--strict", "-k", version])
                    .args(&inputs),
            );
            assert_eq!(code, 0, "{name}: kubernetes-validate {version}:\n{text}");
            for line in text.lines().filter(|l| l.starts_with("WARN")) {
                assert!(
                    ["monitoring.coreos.com/", "argoproj.io/", "fluxcd.io/"]
                        .iter()
                        .any(|g| line.contains(g)),
                    "{name}: a warning for a core kind: {line}"
                );
            }
            assert!(!text.contains("ERROR"), "{name}: {text}");
        }
    }
}

#[test]
fn prometheus_operator_objects_pass_their_models_with_unknown_fields_rejected() {
    let Some(validate) = require_tool("prometheus-operator-validate") else {
        return;
    };
    let bad = tempfile::tempdir().unwrap();
    let bad_file = bad.path().join("bad.yaml");
    std::fs::write(
        &bad_file,
        "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata:\n  name: x\nspec:\n  selector: {}\n  endpoints:\n  - port: http\n    scrapeTimout: 10s\n",
    )
    .unwrap();
    let (code, text) = tool(Command::new(&validate).arg(&bad_file));
    assert_ne!(code, 0, "an unknown field passed:\n{text}");
    for (name, p) in generated() {
        let objects = files(&p, |f| {
            (f.starts_with("monitoring/") || f.starts_with("dashboards/"))
                && f.ends_with(".yaml")
                && !f.ends_with("kustomization.yaml")
        });
        let paths: Vec<PathBuf> = objects.iter().map(|f| kube(&p, f)).collect();
        let monitoring = objects
            .iter()
            .filter(|f| f.starts_with("monitoring/"))
            .count();
        let (code, text) = tool(Command::new(&validate).args(&paths));
        assert_eq!(code, 0, "{name}:\n{text}");
        assert!(
            text.contains(&format!("{monitoring} passed, 0 failed")),
            "{name}: {monitoring} objects:\n{text}"
        );
    }
}

/// `spec.groups` of a PrometheusRule file.
fn groups_of(p: &Project, rel: &str) -> Json {
    let v = yaml(&std::fs::read_to_string(kube(p, rel)).unwrap());
    assert_eq!(v["kind"], "PrometheusRule", "{rel}");
    assert!(
        v["metadata"]["labels"]["release"].is_string(),
        "{rel}: no release label"
    );
    v["spec"]["groups"].clone()
}

#[test]
fn prometheus_rules_hold_the_compose_groups_and_pass_promtool_with_their_tests() {
    let Some(promtool) = require_tool("promtool") else {
        return;
    };
    for (name, p) in generated() {
        let rules = files(&p, |f| {
            f.starts_with("monitoring/") && f.contains("/prometheusrule-")
        });
        assert!(rules.len() >= 4, "{name}: {rules:?}");
        let mut containers = 0;
        for rel in rules {
            let (env_dir, file) = rel.rsplit_once('/').unwrap();
            let rule = file
                .strip_prefix("prometheusrule-")
                .and_then(|f| f.strip_suffix(".yaml"))
                .unwrap();
            let groups = groups_of(&p, &rel);
            let work = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(work.path().join("rules")).unwrap();
            std::fs::create_dir_all(work.path().join("tests")).unwrap();
            let rules_file = work.path().join("rules").join(format!("{rule}.yml"));
            std::fs::write(
                &rules_file,
                serde_json::to_string(&serde_json::json!({ "groups": groups })).unwrap(),
            )
            .unwrap();
            let test = if rule == "containers" {
                containers += 1;
                // The Kubernetes variant: its own tests, next to it.
                let t = format!("{env_dir}/tests/containers.test.yml");
                assert!(
                    std::fs::read_to_string(kube(&p, &t))
                        .unwrap()
                        .contains("job=\\\"kubelet\\\""),
                    "{name}: {t}"
                );
                kube(&p, &t)
            } else {
                // The same groups as the Compose file, and its unchanged tests.
                let compose = p.read(&format!("monitoring/prometheus/rules/{rule}.yml"));
                assert_eq!(
                    groups,
                    yaml(&compose)["groups"],
                    "{name}: {rel} differs from monitoring/prometheus/rules/{rule}.yml"
                );
                p.path()
                    .join(format!("monitoring/prometheus/tests/{rule}.test.yml"))
            };
            let (code, text) = tool(
                Command::new(&promtool)
                    .args(["check", "rules"])
                    .arg(&rules_file),
            );
            assert_eq!(code, 0, "{name}: promtool check rules {rel}:\n{text}");
            if test.is_file() {
                let dest = work.path().join("tests").join(format!("{rule}.test.yml"));
                std::fs::copy(&test, &dest).unwrap();
                let (code, text) = tool(Command::new(&promtool).args(["test", "rules"]).arg(&dest));
                assert_eq!(code, 0, "{name}: promtool test rules for {rel}:\n{text}");
                assert!(text.contains("SUCCESS"), "{text}");
            }
        }
        assert!(containers >= 1, "{name}: no Kubernetes containers' rules");
    }
}

#[test]
fn the_containers_rules_for_kubernetes_fail_their_tests_when_the_selector_is_the_composes() {
    // The Kubernetes variant's tests prove its selector: with the Compose selector put
    // back, they fail.
    let Some(promtool) = require_tool("promtool") else {
        return;
    };
    let (_, p) = generated().into_iter().next().unwrap();
    let rel = files(&p, |f| f.ends_with("/prometheusrule-containers.yaml"))
        .into_iter()
        .next()
        .unwrap();
    let env_dir = rel.rsplit_once('/').unwrap().0.to_string();
    let groups =
        serde_json::to_string(&serde_json::json!({ "groups": groups_of(&p, &rel) })).unwrap();
    let broken = regex::Regex::new(r#"job=\\"kubelet\\",metrics_path=\\"/metrics/cadvisor\\",namespace=\\"[a-z0-9-]+\\",container!=\\"\\""#)
        .unwrap()
        .replace_all(&groups, r#"job=\"cadvisor\",name!=\"\""#)
        .into_owned();
    assert_ne!(broken, groups);
    for (text, ok) in [(groups, true), (broken, false)] {
        let work = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(work.path().join("rules")).unwrap();
        std::fs::create_dir_all(work.path().join("tests")).unwrap();
        std::fs::write(work.path().join("rules/containers.yml"), text).unwrap();
        let dest = work.path().join("tests/containers.test.yml");
        std::fs::copy(
            kube(&p, &format!("{env_dir}/tests/containers.test.yml")),
            &dest,
        )
        .unwrap();
        let (code, out) = tool(Command::new(&promtool).args(["test", "rules"]).arg(&dest));
        assert_eq!(code == 0, ok, "{out}");
    }
}

#[test]
fn the_alertmanager_configuration_of_the_values_passes_amtool_and_the_compose_route_tests() {
    let Some(amtool) = require_tool("amtool") else {
        return;
    };
    let mut seen = 0;
    for (name, p) in generated() {
        for rel in files(&p, |f| f.starts_with("helm/kube-prometheus-stack/values-")) {
            let env = rel
                .strip_prefix("helm/kube-prometheus-stack/values-")
                .and_then(|f| f.strip_suffix(".yaml"))
                .unwrap();
            let values = yaml(&std::fs::read_to_string(kube(&p, &rel)).unwrap());
            let config = &values["alertmanager"]["config"];
            // The Compose folder with this environment's file replaced by the values' one.
            let work = tempfile::tempdir().unwrap();
            for f in p
                .files_ending(".yml")
                .into_iter()
                .chain(p.files_ending(".sh"))
            {
                if let Some(file) = f.strip_prefix("monitoring/alertmanager/") {
                    std::fs::copy(p.path().join(&f), work.path().join(file)).unwrap();
                }
            }
            let am = work.path().join(format!("alertmanager.{env}.yml"));
            assert!(am.is_file(), "{name}: no Compose alertmanager.{env}.yml");
            std::fs::write(&am, serde_json::to_string(config).unwrap()).unwrap();
            let text = std::fs::read_to_string(&am).unwrap();
            assert!(
                !text.contains("/run/secrets/") && text.contains("/etc/alertmanager/secrets/"),
                "{name}: {text}"
            );
            let (code, out) = tool(Command::new(&amtool).arg("check-config").arg(&am));
            assert_eq!(code, 0, "{name}: amtool check-config {rel}:\n{out}");
            let (code, out) = tool(
                Command::new("sh")
                    .arg(work.path().join("routes.test.sh"))
                    .env("AMTOOL", &amtool),
            );
            assert_eq!(code, 0, "{name}: route tests on {rel}:\n{out}");
            seen += 1;
        }
    }
    assert!(seen >= 2, "{seen} values files");
}

#[test]
fn dashboards_in_configmaps_type_check_and_equal_the_compose_ones_where_runtime_agnostic() {
    let Some(checker) = require_tool("grafana-dashboard-typecheck") else {
        return;
    };
    for (name, p) in generated() {
        let work = tempfile::tempdir().unwrap();
        let mut jsons = Vec::new();
        let (mut same, mut variants) = (0, 0);
        for rel in files(&p, |f| {
            f.starts_with("dashboards/") && f.contains("/configmap-")
        }) {
            let v = yaml(&std::fs::read_to_string(kube(&p, &rel)).unwrap());
            assert_eq!(v["metadata"]["labels"]["grafana_dashboard"], "1", "{rel}");
            assert!(v["metadata"]["labels"]["release"].is_string(), "{rel}");
            let folder = v["metadata"]["annotations"]["grafana_folder"]
                .as_str()
                .unwrap();
            let data = v["data"].as_object().unwrap();
            assert_eq!(data.len(), 1, "{rel}");
            let (file, json) = data.iter().next().unwrap();
            let compose_path = format!("monitoring/grafana/dashboards/{folder}/{file}");
            let compose = p.read(&compose_path);
            if compose.contains("job=\\\"cadvisor\\\"") {
                let json = json.as_str().unwrap();
                assert!(
                    !json.contains("job=\\\"cadvisor\\\"") && json.contains("job=\\\"kubelet\\\""),
                    "{name}: {rel} still selects Compose's cAdvisor"
                );
                variants += 1;
            } else {
                assert_eq!(
                    json.as_str().unwrap(),
                    compose,
                    "{name}: {rel} vs {compose_path}"
                );
                same += 1;
            }
            let out = work.path().join(format!("{}-{file}", jsons.len()));
            std::fs::write(&out, json.as_str().unwrap()).unwrap();
            jsons.push(out);
        }
        assert!(
            same >= 2 && variants >= 1,
            "{name}: {same} same, {variants} variants"
        );
        let (code, text) = tool(Command::new(&checker).args(&jsons));
        assert_eq!(code, 0, "{name}: grafana-dashboard-typecheck:\n{text}");
    }
}

/// The fixture values of a chart (committed with source and version).
fn fixture(file: &str) -> Json {
    yaml(&std::fs::read_to_string(repo().join("tests/fixtures/kubernetes").join(file)).unwrap())
}

/// Every key path of `ours` that is not in `chart`: descends while the chart has a
/// non-empty map there (below, the value is the chart's free-form input).
fn missing(ours: &Json, chart: &Json, path: &str, out: &mut Vec<String>) {
    let (Some(o), Some(c)) = (ours.as_object(), chart.as_object()) else {
        return;
    };
    if c.is_empty() {
        return;
    }
    for (k, v) in o {
        let p = format!("{path}.{k}");
        match c.get(k) {
            None => out.push(p),
            Some(cv) => missing(v, cv, &p, out),
        }
    }
}

#[test]
fn every_helm_values_key_path_exists_in_the_pinned_charts_values() {
    let stack = fixture("kube-prometheus-stack-88.5.3.values.yaml");
    let grafana = fixture("grafana-12.11.1.values.yaml");
    let blackbox = fixture("prometheus-blackbox-exporter-11.17.2.values.yaml");
    let loki = fixture("loki-18.11.0.values.yaml");
    let alloy = fixture("alloy-1.11.1.values.yaml");
    // The pins of the code are the fixtures' versions.
    let code = std::fs::read_to_string(repo().join("src/kubernetes/values.rs")).unwrap();
    for v in ["88.5.3", "11.17.2", "18.11.0", "1.11.1"] {
        assert!(code.contains(&format!("version: \"{v}\"")), "{v}");
    }
    let mut seen = 0;
    for (name, p) in generated() {
        for rel in files(&p, |f| f.starts_with("helm/")) {
            let v = yaml(&std::fs::read_to_string(kube(&p, &rel)).unwrap());
            let mut out = Vec::new();
            if rel.starts_with("helm/kube-prometheus-stack/") {
                let mut rest = v.clone();
                let g = rest.as_object_mut().unwrap().remove("grafana").unwrap();
                missing(&rest, &stack, "", &mut out);
                // grafana.*: the chart's own keys, or the grafana subchart's it pins.
                let mut in_stack = Vec::new();
                missing(&g, &stack["grafana"], ".grafana", &mut in_stack);
                for m in in_stack {
                    if !grafana_has(&grafana, m.strip_prefix(".grafana").unwrap()) {
                        out.push(m);
                    }
                }
                // Every key of the chart's alertmanager.config and of its route is set.
                let ours = &v["alertmanager"]["config"];
                for k in stack["alertmanager"]["config"].as_object().unwrap().keys() {
                    assert!(
                        ours.get(k).is_some(),
                        "{name}: {rel}: alertmanager.config.{k}"
                    );
                }
                for k in stack["alertmanager"]["config"]["route"]
                    .as_object()
                    .unwrap()
                    .keys()
                {
                    assert!(
                        ours["route"].get(k).is_some(),
                        "{name}: {rel}: alertmanager.config.route.{k}"
                    );
                }
            } else if rel.starts_with("helm/prometheus-blackbox-exporter/") {
                missing(&v, &blackbox, "", &mut out);
            } else if rel.starts_with("helm/loki/") {
                missing(&v, &loki, "", &mut out);
            } else {
                assert!(rel.starts_with("helm/alloy/"), "{rel}: which chart?");
                missing(&v, &alloy, "", &mut out);
            }
            assert!(out.is_empty(), "{name}: {rel}: not in the chart: {out:?}");
            seen += 1;
        }
    }
    assert!(seen >= 8, "{seen} values files");
    // The check can fail.
    let mut out = Vec::new();
    missing(
        &serde_json::json!({"prometheus": {"prometheusSpec": {"retentionn": "1d"}}}),
        &stack,
        "",
        &mut out,
    );
    assert_eq!(out, [".prometheus.prometheusSpec.retentionn"]);
}

/// Whether the grafana chart's values have the dotted key path `path` (`.a.b`).
fn grafana_has(grafana: &Json, path: &str) -> bool {
    let mut at = grafana;
    for k in path.trim_start_matches('.').split('.') {
        match at.as_object().and_then(|o| o.get(k)) {
            Some(v) => at = v,
            None => return false,
        }
    }
    true
}

/// Checks checkov does not apply, each with why.
const CHECKOV_SKIPS: &[(&str, &str)] = &[
    (
        "CKV_K8S_43",
        "image digests: the manifest pins images by tag, as Compose does; obsgen cannot know digests",
    ),
    (
        "CKV_K8S_35",
        "secrets as environment variables: the services read `${NAME}` references from their environment, as under Compose",
    ),
];

#[test]
fn checkov_passes_on_the_built_workloads() {
    let (Some(kubectl), Some(checkov)) = (require_tool("kubectl"), require_tool("checkov")) else {
        return;
    };
    let skip: Vec<&str> = CHECKOV_SKIPS.iter().map(|(c, _)| *c).collect();
    for (name, p) in generated() {
        // checkov skips folders whose name starts with `.` (tempfile's default).
        let out = tempfile::Builder::new().prefix("k8s-").tempdir().unwrap();
        let workloads = out.path().join("workloads");
        std::fs::create_dir(&workloads).unwrap();
        let mut n = 0;
        for (dir, file) in build_all(&kubectl, &p, out.path()) {
            if dir.starts_with("apps/overlays/") {
                std::fs::copy(&file, workloads.join(file.file_name().unwrap())).unwrap();
                n += 1;
            }
        }
        assert!(n >= 2, "{name}: {n} overlays");
        let (code, text) = tool(
            Command::new(&checkov)
                .arg("-d")
                .arg(&workloads)
                .args([
                    "--framework",
                    "kubernetes",
                    "--skip-download",
                    "--compact",
                    "--quiet",
                ])
                .args(["--skip-check", &skip.join(",")]),
        );
        assert_eq!(code, 0, "{name}: checkov:\n{text}");
        assert!(text.contains("Failed checks: 0"), "{name}: {text}");
    }
}

#[test]
fn every_kubernetes_file_is_one_object_with_the_header_and_check_covers_it() {
    for (name, p) in generated() {
        let all = files(&p, |_| true);
        assert!(all.iter().any(|f| f == "README.md"), "{name}");
        for rel in all.iter().filter(|f| f.ends_with(".yaml")) {
            let text = std::fs::read_to_string(kube(&p, rel)).unwrap();
            assert!(text.starts_with("# Generated by obsgen"), "{name}: {rel}");
            assert!(
                !text.contains("\n---"),
                "{name}: {rel} holds more than one document"
            );
        }
        // A hand edit is drift for `obsgen check`.
        let rel = all.iter().find(|f| f.contains("servicemonitor-")).unwrap();
        let path = kube(&p, rel);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("interval: ", "interval: 1")).unwrap();
        let check = p.run(&["check"]);
        assert_eq!(check.code, 1, "{name}: {}\n{}", check.stdout, check.stderr);
        assert!(check.stdout.contains(rel.as_str()), "{}", check.stdout);
    }
}

#[test]
fn the_ci_job_passes_actionlint_and_its_validation_steps_pass_here() {
    let (Some(actionlint), Some(kubectl), Some(kv), Some(python)) = (
        require_tool("actionlint-files"),
        require_tool("kubectl"),
        require_tool("kubernetes-validate"),
        require_tool("python"),
    ) else {
        return;
    };
    let (name, p) = generated().into_iter().next().unwrap();
    let wf = p.path().join(".github/workflows/obsgen.yml");
    let (code, text) = tool(Command::new(&actionlint).arg(&wf));
    assert_eq!(code, 0, "{name}: actionlint:\n{text}");
    let v = yaml(&std::fs::read_to_string(&wf).unwrap());
    let steps = v["jobs"]["kubernetes"]["steps"].as_array().unwrap();
    let dry = steps
        .iter()
        .find(|s| {
            s["if"]
                .as_str()
                .is_some_and(|c| c.contains("OBSGEN_KIND_DRY_RUN"))
        })
        .expect("the optional kind dry run");
    assert!(dry["run"].as_str().unwrap().contains("--dry-run=server"));
    // The steps that need no network, run as the runner would (tools from this machine).
    let temp = tempfile::tempdir().unwrap();
    let path = format!(
        "{}:{}:{}:{}",
        kubectl.parent().unwrap().display(),
        kv.parent().unwrap().display(),
        python.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    for s in steps {
        let (Some(run), Some(step)) = (s["run"].as_str(), s["name"].as_str()) else {
            continue;
        };
        if s.get("if").is_some() || step.starts_with("Install") {
            continue;
        }
        let dir = s["working-directory"]
            .as_str()
            .map_or(p.path().to_path_buf(), |d| p.path().join(d));
        let (code, out) = tool(
            Command::new("bash")
                .args(["-euo", "pipefail", "-c", run])
                .current_dir(dir)
                .env("RUNNER_TEMP", temp.path())
                .env("PATH", &path),
        );
        assert_eq!(code, 0, "{name}: step `{step}`:\n{out}");
        ran += 1;
    }
    assert_eq!(ran, 3, "{name}");
    let built = std::fs::read_dir(temp.path().join("k8s")).unwrap().count();
    assert!(built >= 6, "{built} built files");
}

#[test]
fn argo_cd_and_flux_objects_pass_their_upstream_crd_schemas_with_unknown_fields_rejected() {
    let Some(python) = require_tool("python") else {
        return;
    };
    let fixtures = repo().join("tests/fixtures/kubernetes");
    let crds: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with("-crd.yaml"))
        .collect();
    assert_eq!(crds.len(), 5, "{crds:?}");
    let script = fixtures.join("validate-crd.py");
    let mut kinds = std::collections::BTreeSet::new();
    for (name, p) in generated() {
        let gitops = files(&p, |f| f.starts_with("gitops/"));
        let paths: Vec<PathBuf> = gitops.iter().map(|f| kube(&p, f)).collect();
        for f in &paths {
            kinds.insert(yaml(&std::fs::read_to_string(f).unwrap())["kind"].to_string());
        }
        let (code, text) = tool(Command::new(&python).arg(&script).args(&crds).args(&paths));
        assert_eq!(code, 0, "{name}:\n{text}");
        assert!(
            text.contains(&format!("{} passed, 0 failed", paths.len())),
            "{text}"
        );
        // The check can fail: an unknown field in a spec.
        let work = tempfile::tempdir().unwrap();
        let bad = work.path().join("bad.yaml");
        let text = std::fs::read_to_string(&paths[0]).unwrap();
        std::fs::write(&bad, text.replace("\nspec:\n", "\nspec:\n  bogus: 1\n")).unwrap();
        let (code, out) = tool(Command::new(&python).arg(&script).args(&crds).arg(&bad));
        assert_ne!(code, 0, "{name}: an unknown field passed:\n{out}");
    }
    for k in [
        "Application",
        "GitRepository",
        "HelmRepository",
        "HelmRelease",
        "Kustomization",
    ] {
        assert!(
            kinds.contains(&format!("\"{k}\"")),
            "{k} never checked: {kinds:?}"
        );
    }
}
