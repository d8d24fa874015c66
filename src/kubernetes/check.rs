//! The checks of `[kubernetes]`: environment names, namespaces, release names, the GitOps
//! repository. Each problem carries its key and a help line (exit 2, nothing written).

use std::collections::BTreeMap;

use super::section::Gitops;
use crate::diag::Diagnostic;
use crate::load::SpanMap;
use crate::manifest::Manifest;
use crate::units::is_dns_label;

/// Helm's limit on a release name (it names objects with suffixes).
const MAX_RELEASE: usize = 53;

/// Every problem of `[kubernetes]` in `m`.
pub fn check(m: &Manifest, spans: &SpanMap) -> Vec<Diagnostic> {
    let Some(k) = &m.kubernetes else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut at = |key: String, message: String, help: &str| {
        out.push(
            Diagnostic::new(message)
                .span(spans.value(&key))
                .key(key)
                .help(help),
        );
    };
    let namespace_help = "a Kubernetes namespace is a DNS label: 1-63 of `a-z 0-9 -`, not starting or ending with `-`";
    let release_help =
        "a Helm release name is a DNS label of at most 53 characters (`kube-prometheus-stack`)";
    let names = |prefix: &str,
                 ns: Option<&String>,
                 mns: Option<&String>,
                 release: Option<&String>,
                 at: &mut dyn FnMut(String, String, &str)| {
        for (field, value) in [("namespace", ns), ("monitoring_namespace", mns)] {
            if let Some(v) = value
                && !is_dns_label(v)
            {
                at(
                    format!("{prefix}.{field}"),
                    format!("`{v}` is not a Kubernetes namespace name"),
                    namespace_help,
                );
            }
        }
        if let Some(r) = release
            && (!is_dns_label(r) || r.len() > MAX_RELEASE)
        {
            at(
                format!("{prefix}.release"),
                format!("`{r}` is not a Helm release name"),
                release_help,
            );
        }
    };
    names(
        "kubernetes",
        None,
        k.monitoring_namespace.as_ref(),
        k.release.as_ref(),
        &mut at,
    );
    for (env, o) in &k.environment {
        let prefix = crate::load::key_path("kubernetes.environment", env);
        if !m.project.environments.contains(env) {
            at(
                prefix.clone(),
                format!("`[kubernetes.environment.{env}]` names no environment of the project"),
                &format!(
                    "the project's environments are {}; rename the table or add the environment to `project.environments`",
                    m.project
                        .environments
                        .iter()
                        .map(|e| format!("`{e}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            continue;
        }
        names(
            &prefix,
            o.namespace.as_ref(),
            o.monitoring_namespace.as_ref(),
            o.release.as_ref(),
            &mut at,
        );
    }
    // Settled names: unique namespaces, and the default `<project>-<environment>` in range.
    let known: Vec<String> = m
        .project
        .environments
        .iter()
        .filter(|e| is_dns_label(e))
        .cloned()
        .collect();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for t in k.targets(&m.project.name, &known) {
        let explicit = k
            .environment
            .get(&t.environment)
            .is_some_and(|o| o.namespace.is_some());
        let key = if explicit {
            format!(
                "{}.namespace",
                crate::load::key_path("kubernetes.environment", &t.environment)
            )
        } else {
            "kubernetes".to_string()
        };
        if !explicit && !is_dns_label(&t.namespace) {
            at(
                key.clone(),
                format!(
                    "the default namespace `{}` of environment `{}` is not a namespace name",
                    t.namespace, t.environment
                ),
                "set `namespace` in `[kubernetes.environment.<name>]`",
            );
        }
        if let Some(first) = seen.get(&t.namespace) {
            at(
                key,
                format!(
                    "environments `{first}` and `{}` share the namespace `{}`",
                    t.environment, t.namespace
                ),
                "give every environment a namespace of its own: their objects have the same names",
            );
        } else {
            seen.insert(t.namespace.clone(), t.environment.clone());
        }
        if t.gitops != Gitops::None && k.repository.is_none() {
            at(
                "kubernetes".into(),
                format!(
                    "environment `{}` uses GitOps but `[kubernetes]` has no `repository`",
                    t.environment
                ),
                "set `repository` to the Git URL holding deploy/kubernetes/ (`https://github.com/acme/shop.git`)",
            );
        }
    }
    if let Some(r) = &k.repository {
        let ok = (r.starts_with("https://") || r.starts_with("ssh://"))
            && r.len() > "https://".len()
            && r.len() <= 2048
            && !r
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "\"'`\\{}".contains(c));
        if !ok {
            at(
                "kubernetes.repository".into(),
                format!("`{r}` is not a Git repository URL"),
                "write an `https://` or `ssh://` URL (`https://github.com/acme/shop.git`)",
            );
        }
    }
    if let Some(rev) = &k.revision
        && (rev.is_empty()
            || rev.len() > 255
            || rev.starts_with(['-', '/'])
            || rev.contains("..")
            || rev
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\'\"{}".contains(c)))
    {
        at(
            "kubernetes.revision".into(),
            format!("`{rev}` is not a Git branch or tag name"),
            "write a branch or tag (`main`, `v1.4.2`)",
        );
    }
    out
}
