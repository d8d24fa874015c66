//! The `kubernetes` job of `obsgen.yml` (with `[kubernetes]`): every kustomization under
//! `deploy/kubernetes/` builds, the built objects pass `kubernetes-validate --strict` and the
//! prometheus-operator objects their models with unknown fields rejected; optionally
//! (repository variable `OBSGEN_KIND_DRY_RUN` = `true`) a server-side dry run on a
//! throw-away kind cluster with the prometheus-operator CRDs.

use super::workflow::{Job, Pins, Step, job};

/// Kubernetes versions the built objects are validated for.
pub const VERSIONS: &[&str] = &["1.29.0", "1.37.0"];
/// The prometheus-operator version whose CRDs the dry run installs (kube-prometheus-stack
/// 88.5.3's).
pub const OPERATOR: &str = "v0.93.1";
/// The CRDs of the objects obsgen writes.
const CRDS: &[&str] = &["servicemonitors", "probes", "prometheusrules"];

pub(super) fn kubernetes_job(pins: &Pins, namespaces: &[String]) -> Job {
    let runner = pins.tool("runner");
    let dir = crate::kubernetes::ROOT;
    let build = [
        "mkdir -p \"$RUNNER_TEMP/k8s\"",
        "find . -name kustomization.yaml -not -path './apps/base/*' -not -path './gitops/*' | sort | while read -r k; do d=$(dirname \"$k\"); kubectl kustomize \"$d\" > \"$RUNNER_TEMP/k8s/$(echo \"${d#./}\" | tr / -).yaml\"; done",
        "ls -l \"$RUNNER_TEMP/k8s\"",
    ];
    let validate: Vec<String> = VERSIONS
        .iter()
        .map(|v| format!("kubernetes-validate --strict -k {v} \"$RUNNER_TEMP\"/k8s/*.yaml"))
        .collect();
    let mut dry = vec!["kind create cluster --name obsgen-dry-run --wait 120s".to_string()];
    for crd in CRDS {
        dry.push(format!(
            "kubectl apply --server-side -f https://raw.githubusercontent.com/prometheus-operator/prometheus-operator/{OPERATOR}/example/prometheus-operator-crd/monitoring.coreos.com_{crd}.yaml"
        ));
    }
    for ns in namespaces {
        dry.push(format!("kubectl create namespace {ns}"));
    }
    dry.push("for f in \"$RUNNER_TEMP\"/k8s/*.yaml; do kubectl apply --server-side --dry-run=server -f \"$f\"; done".into());
    job(
        "kubernetes",
        "Kubernetes manifests build and validate",
        runner,
        20,
        vec![
            Step::uses("Check out", &pins.action("checkout"), &[]),
            Step::uses(
                "Set up Python",
                &pins.action("setup-python"),
                &[("python-version", pins.tool("python"))],
            ),
            Step::run(
                "Install kubernetes-validate and the prometheus-operator models",
                &["pip install kubernetes-validate==1.37.0 cloudcoil-models-prometheus-operator==0.80.1.0 pyyaml"],
            ),
            Step::run("kubectl kustomize every folder", &build).dir(dir),
            Step::run(
                "kubernetes-validate --strict",
                &validate.iter().map(String::as_str).collect::<Vec<_>>(),
            ),
            Step::run(
                "prometheus-operator objects: unknown fields rejected",
                &[
                    "python - \"$RUNNER_TEMP\"/k8s/*.yaml <<'PY'",
                    "import sys, yaml",
                    "from cloudcoil.models.prometheus_operator import v1",
                    "for f in sys.argv[1:]:",
                    "    for d in yaml.safe_load_all(open(f)):",
                    "        if d and d.get('apiVersion') == 'monitoring.coreos.com/v1':",
                    "            getattr(v1, d['kind']).model_validate(d, extra='forbid')",
                    "            print('OK', f, d['kind'], d['metadata']['name'])",
                    "PY",
                ],
            ),
            Step::run(
                "Server-side dry run on a throw-away kind cluster (repository variable OBSGEN_KIND_DRY_RUN=true)",
                &dry.iter().map(String::as_str).collect::<Vec<_>>(),
            )
            .when("vars.OBSGEN_KIND_DRY_RUN == 'true'"),
        ],
    )
}
