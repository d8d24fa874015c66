//! The cross-file check of a rendered workflow: every generated file a `run:` line names
//! is generated.

use super::WORKFLOW_DIR;

/// Cross-file check of a rendered workflow (see [`crate::verify`]): every generated file
/// a `run:` line names (`monitoring/…`, `compose.….yaml`, `deploy/…`) is generated.
/// An error is a bug in obsgen.
pub fn verify(
    path: &str,
    value: &serde_json::Value,
    paths: &std::collections::BTreeSet<&str>,
) -> anyhow::Result<()> {
    if !path.starts_with(WORKFLOW_DIR) {
        return Ok(());
    }
    let jobs = value.get("jobs").and_then(|j| j.as_object());
    for job in jobs.into_iter().flat_map(|j| j.values()) {
        let steps = job.get("steps").and_then(|s| s.as_array());
        for step in steps.into_iter().flatten() {
            let Some(run) = step.get("run").and_then(|r| r.as_str()) else {
                continue;
            };
            for word in run.split_whitespace() {
                let word = word.trim_matches(|c| c == '\'' || c == '"' || c == ';');
                let named = word.starts_with("monitoring/")
                    || word.starts_with("deploy/")
                    || (word.starts_with("compose.") && word.ends_with(".yaml"));
                if named && !word.contains('*') && !paths.contains(word) {
                    anyhow::bail!("bug in obsgen: {path} uses {word}, which is not generated");
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_catches_a_workflow_naming_a_file_that_is_not_generated() {
        let wf = serde_json::json!({"jobs": {"a": {"steps": [
            {"run": "promtool check config monitoring/prometheus/prometheus.qa.yml"},
            {"run": "sh -c 'promtool test rules monitoring/prometheus/tests/*.test.yml'"}
        ]}}});
        let mut paths = std::collections::BTreeSet::new();
        let path = ".github/workflows/obsgen.yml";
        assert!(verify(path, &wf, &paths).is_err());
        paths.insert("monitoring/prometheus/prometheus.qa.yml");
        assert!(verify(path, &wf, &paths).is_ok());
    }
}
