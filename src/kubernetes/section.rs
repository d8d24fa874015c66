//! `[kubernetes]` as the user writes it: the cluster settings of every environment, and
//! what they settle to ([`Target`]). Checked in [`super::check`].

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The Helm release name of kube-prometheus-stack when none is given.
pub const DEFAULT_RELEASE: &str = "kube-prometheus-stack";
/// The namespace the monitoring stack runs in when none is given.
pub const DEFAULT_MONITORING_NAMESPACE: &str = "monitoring";

/// `[kubernetes]`: manifests for a Kubernetes cluster under `deploy/kubernetes/`
/// (docs/kubernetes.md). Every key but `environment` is the default of every environment.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Kubernetes {
    /// `shared` (default): the cluster already runs kube-prometheus-stack; `own`: obsgen
    /// also writes the Helm values of a kube-prometheus-stack for the environment.
    pub mode: Option<Mode>,
    /// Helm release name of kube-prometheus-stack (default `kube-prometheus-stack`): the
    /// `release` label its Prometheus and Grafana select objects by.
    pub release: Option<String>,
    /// Namespace the monitoring stack runs in (default `monitoring`): Grafana reads the
    /// dashboard ConfigMaps there, and only it may scrape the workloads.
    pub monitoring_namespace: Option<String>,
    /// GitOps tool the applications are written for: `argocd`, `flux` or `none` (default).
    pub gitops: Option<Gitops>,
    /// Git repository holding `deploy/kubernetes/` (`https://github.com/acme/shop.git`);
    /// needed by `gitops`.
    pub repository: Option<String>,
    /// Branch or tag of `repository` the GitOps tool follows (default `main`).
    pub revision: Option<String>,
    /// Also write the services' workloads (Deployment, Service, PodDisruptionBudget,
    /// HorizontalPodAutoscaler, NetworkPolicy) as Kustomize overlays (default false).
    #[serde(default)]
    pub workloads: bool,
    /// Per environment (a name of `project.environments`): its namespace and overrides.
    #[serde(default)]
    pub environment: BTreeMap<String, KubernetesEnvironment>,
}

/// `[kubernetes.environment.<name>]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KubernetesEnvironment {
    /// Namespace of the environment's workloads and monitoring objects
    /// (default `<project>-<environment>`).
    pub namespace: Option<String>,
    pub mode: Option<Mode>,
    pub release: Option<String>,
    pub monitoring_namespace: Option<String>,
    pub gitops: Option<Gitops>,
}

/// Whether the cluster's monitoring stack exists already or obsgen configures one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Shared,
    Own,
}

/// The GitOps tool the applications are written for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Gitops {
    Argocd,
    Flux,
    #[default]
    None,
}

/// One environment's cluster settings, every default applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub environment: String,
    pub namespace: String,
    pub mode: Mode,
    pub release: String,
    pub monitoring_namespace: String,
    pub gitops: Gitops,
}

impl Kubernetes {
    /// The settings of every environment of `environments` (in that order).
    pub fn targets(&self, project: &str, environments: &[String]) -> Vec<Target> {
        environments
            .iter()
            .map(|e| {
                let o = self.environment.get(e).cloned().unwrap_or_default();
                Target {
                    environment: e.clone(),
                    namespace: o.namespace.unwrap_or_else(|| format!("{project}-{e}")),
                    mode: o.mode.or(self.mode).unwrap_or_default(),
                    release: o
                        .release
                        .or_else(|| self.release.clone())
                        .unwrap_or_else(|| DEFAULT_RELEASE.into()),
                    monitoring_namespace: o
                        .monitoring_namespace
                        .or_else(|| self.monitoring_namespace.clone())
                        .unwrap_or_else(|| DEFAULT_MONITORING_NAMESPACE.into()),
                    gitops: o.gitops.or(self.gitops).unwrap_or_default(),
                }
            })
            .collect()
    }

    /// The branch or tag GitOps follows.
    pub fn revision(&self) -> &str {
        self.revision.as_deref().unwrap_or("main")
    }
}
