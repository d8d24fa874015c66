//! The Kubernetes target (`[kubernetes]`, docs/kubernetes.md): one more reader of the
//! assembled [`Model`]. It never reads the manifest's services, databases or rules again;
//! it turns what the components assembled into prometheus-operator objects
//! (ServiceMonitors, Probes, PrometheusRules with the same rule groups as
//! `monitoring/prometheus/rules/*.yml`), Grafana dashboard ConfigMaps, optional workloads
//! as Kustomize overlays, Helm values for `own` mode and GitOps applications, one object
//! per file under `deploy/kubernetes/`.
//!
//! Every file is a typed struct ([`objects`], [`values`]) serialized with serde-saphyr
//! (no text template), and [`verify`] parses each back into the same struct with unknown
//! fields denied.

pub mod check;
mod gitops;
mod helm;
mod monitoring;
pub mod objects;
mod readme;
pub mod section;
pub mod values;
mod workloads;

use anyhow::{Result, anyhow, bail};
use serde::Serialize;

pub use check::check;
use objects::*;
pub use section::{Gitops, Kubernetes, Mode, Target};

use crate::model::{Artifact, File, Model};

/// The folder everything of this target goes to.
pub const ROOT: &str = "deploy/kubernetes";
/// The template every file of this target goes through: it prints the text built here.
const TEMPLATE: &str = "kubernetes/file.j2";

/// The labels every object obsgen writes carries.
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "obsgen");
pub const PART_OF: &str = "app.kubernetes.io/part-of";
pub const NAME: &str = "app.kubernetes.io/name";

/// What the target writes: files by path (below [`ROOT`]), each its final text.
#[derive(Debug, Clone, Default)]
pub struct Cluster {
    pub files: Vec<(String, String)>,
    /// promtool tests of the Kubernetes variants of runtime-dependent rules, by path.
    pub tests: Vec<(String, crate::model::RuleFile)>,
}

/// The text of one file, for the template.
#[derive(Serialize)]
struct Text<'a> {
    text: &'a str,
}

/// YAML of a value, as serde-saphyr writes it (long strings not folded: PromQL and JSON
/// stay on their lines).
pub fn yaml<T: Serialize>(value: &T) -> String {
    let mut o = serde_saphyr::SerializerOptions::default();
    o.folded_wrap_chars = usize::MAX / 2;
    serde_saphyr::to_string_with_options(value, o).expect("Kubernetes objects serialize")
}

/// A YAML file: the generated-file header, what it is, then the value.
fn file<T: Serialize>(header: &str, about: &str, value: &T) -> String {
    let mut out = format!("# {header}\n");
    for l in about.lines() {
        out.push_str(&format!("# {l}\n"));
    }
    out.push_str(&yaml(value));
    out
}

/// Collects the files of the target.
pub(crate) struct Out<'a> {
    pub header: String,
    pub files: Vec<(String, String)>,
    pub tests: Vec<(String, crate::model::RuleFile)>,
    pub model: &'a Model,
}

impl Out<'_> {
    pub fn put<T: Serialize>(&mut self, path: String, about: &str, value: &T) {
        let text = file(&self.header, about, value);
        self.files.push((format!("{ROOT}/{path}"), text));
    }

    pub fn put_text(&mut self, path: String, text: String) {
        self.files.push((format!("{ROOT}/{path}"), text));
    }
}

/// Labels of an object of the project.
pub fn base_labels(project: &str) -> Labels {
    Labels::from([
        (MANAGED_BY.0.to_string(), MANAGED_BY.1.to_string()),
        (PART_OF.to_string(), project.to_string()),
    ])
}

/// Metadata of an object.
pub fn meta(name: &str, namespace: Option<&str>, labels: Labels) -> Meta {
    Meta {
        name: name.into(),
        namespace: namespace.map(str::to_string),
        labels,
        annotations: Labels::new(),
    }
}

/// The target of a model, when `[kubernetes]` is set.
pub fn build(section: Option<&Kubernetes>, model: &Model) -> Option<Cluster> {
    let k = section?;
    let names: Vec<String> = model.environments.iter().map(|e| e.name.clone()).collect();
    let targets = k.targets(&model.project, &names);
    let mut out = Out {
        header: model.header(),
        files: Vec::new(),
        tests: Vec::new(),
        model,
    };
    for (t, env) in targets.iter().zip(&model.environments) {
        monitoring::environment(&mut out, t, env);
    }
    monitoring::dashboards(&mut out, &targets);
    if k.workloads {
        workloads::build(&mut out, &targets);
    }
    helm::helm(&mut out, &targets);
    gitops::gitops(&mut out, k, &targets);
    readme::build(&mut out, k, &targets);
    let mut files = out.files;
    files.sort();
    let mut tests = out.tests;
    tests.sort_by(|a, b| a.0.cmp(&b.0));
    Some(Cluster { files, tests })
}

/// The files of the target, for the planner.
pub fn artifacts(c: Option<&Cluster>) -> Vec<Artifact> {
    let Some(c) = c else { return Vec::new() };
    let files = c
        .files
        .iter()
        .map(|(path, text)| Artifact::per_item(path.clone(), TEMPLATE, &Text { text }));
    let tests = c
        .tests
        .iter()
        .map(|(path, r)| Artifact::per_item(path.clone(), "prometheus/rules.test.yml.j2", r));
    files.chain(tests).collect()
}

/// Whether `path` (below `deploy/kubernetes/`) is a path this target can write.
pub fn is_generated_path(rest: &[&str], slug: impl Fn(&str) -> bool) -> bool {
    match rest {
        ["README.md"] => true,
        [folders @ .., file] if !folders.is_empty() => {
            folders.iter().all(|f| slug(f))
                && slug(file)
                && (file.ends_with(".yaml") || file.ends_with(".test.yml"))
        }
        _ => false,
    }
}

/// Parses `text` into `T`, denying unknown fields, and checks it reads back as written.
fn parse_back<T>(path: &str, text: &str) -> Result<()>
where
    T: serde::de::DeserializeOwned + Serialize,
{
    let value: T =
        serde_saphyr::from_str(text).map_err(|e| anyhow!("{path} does not parse back: {e}"))?;
    let again = yaml(&value);
    let body: String = text
        .lines()
        .skip_while(|l| l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    if again != body {
        bail!("{path} does not read back as it was written");
    }
    Ok(())
}

/// Parses every file of the target back into the struct it was made from, with unknown
/// fields denied (a failure is a bug in obsgen).
pub fn verify(files: &[File]) -> Result<()> {
    for f in files {
        let Some(rest) = f.path.strip_prefix(&format!("{ROOT}/")) else {
            continue;
        };
        if !f.path.ends_with(".yaml") {
            continue;
        }
        let text = std::str::from_utf8(&f.bytes).map_err(|e| anyhow!("{}: {e}", f.path))?;
        let probe: serde_json::Value = serde_saphyr::from_str(text)
            .map_err(|e| anyhow!("{} does not parse as YAML: {e}", f.path))?;
        let kind = probe["kind"].as_str().unwrap_or_default();
        let p = f.path.as_str();
        if rest.starts_with("helm/kube-prometheus-stack/") {
            parse_back::<values::StackValues>(p, text)?;
            continue;
        }
        if rest.starts_with("helm/prometheus-blackbox-exporter/") {
            parse_back::<values::BlackboxValues>(p, text)?;
            continue;
        }
        if rest.starts_with("helm/loki/") {
            parse_back::<values::LokiValues>(p, text)?;
            continue;
        }
        if rest.starts_with("helm/alloy/") {
            parse_back::<values::AlloyValues>(p, text)?;
            let v: values::AlloyValues = serde_saphyr::from_str(text)?;
            crate::components::logs::check_alloy(&v.alloy.config_map.content)
                .map_err(|e| anyhow!("{p}: the Alloy configuration: {e}"))?;
            continue;
        }
        match kind {
            "Kustomization" if probe["apiVersion"] == "kustomize.config.k8s.io/v1beta1" => {
                parse_back::<Kustomization>(p, text)?
            }
            "Kustomization" => parse_back::<Object<FluxKustomizationSpec>>(p, text)?,
            "ServiceMonitor" => parse_back::<Object<ServiceMonitorSpec>>(p, text)?,
            "Probe" => parse_back::<Object<ProbeSpec>>(p, text)?,
            "PrometheusRule" => parse_back::<Object<PrometheusRuleSpec>>(p, text)?,
            "ConfigMap" => parse_back::<ConfigMap>(p, text)?,
            "Deployment" => parse_back::<Object<DeploymentSpec>>(p, text)?,
            "Service" => parse_back::<Object<ServiceSpec>>(p, text)?,
            "PodDisruptionBudget" => parse_back::<Object<PdbSpec>>(p, text)?,
            "HorizontalPodAutoscaler" => parse_back::<Object<HpaSpec>>(p, text)?,
            "NetworkPolicy" => parse_back::<Object<NetworkPolicySpec>>(p, text)?,
            "Application" => parse_back::<Object<ApplicationSpec>>(p, text)?,
            "GitRepository" | "HelmRepository" => parse_back::<Object<RepositorySpec>>(p, text)?,
            "HelmRelease" => parse_back::<Object<HelmReleaseSpec>>(p, text)?,
            other => bail!("{} holds an object of unknown kind `{other}`", f.path),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Vec<File> {
        let text = include_str!("../../examples/kubernetes/obsgen.toml");
        crate::project::generate_from(text, "obsgen.toml", None)
            .unwrap()
            .files
            .into_iter()
            .filter(|f| f.path.starts_with(ROOT))
            .collect()
    }

    #[test]
    fn verify_rejects_an_unknown_field_and_a_file_that_does_not_read_back() {
        let good = files();
        assert!(good.len() > 40, "{}", good.len());
        verify(&good).unwrap();
        for (path, from, to) in [
            (
                "monitoring/production/servicemonitor-api.yaml",
                "  endpoints:\n",
                "  bogus: 1\n  endpoints:\n",
            ),
            (
                "apps/base/deployment-api.yaml",
                "      automountServiceAccountToken: false\n",
                "      automountServiceAccountToken: false\n      hostNetwork: true\n",
            ),
            (
                "helm/kube-prometheus-stack/values-development.yaml",
                "grafana:\n",
                "grafana:\n  adminPassword: x\n",
            ),
            (
                "monitoring/production/probe-api.yaml",
                "jobName: probe",
                "jobName:   probe",
            ),
        ] {
            let mut bad = good.clone();
            let f = bad
                .iter_mut()
                .find(|f| f.path == format!("{ROOT}/{path}"))
                .unwrap();
            let text = String::from_utf8(f.bytes.clone()).unwrap();
            assert!(text.contains(from), "{path}");
            f.bytes = text.replacen(from, to, 1).into_bytes();
            assert!(verify(&bad).is_err(), "{path}: {to:?} passed");
        }
    }
}
