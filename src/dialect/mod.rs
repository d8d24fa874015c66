//! What the Go tools parse, checked when the manifest loads: regular expressions in the
//! dialect of Go's `regexp/syntax` (RE2), PromQL as both Prometheus 2.42 (what CI's
//! `promtool` runs) and 3.5 (the pinned image) accept it without feature flags, and the
//! Go-template delimiter `{{` in text Prometheus or Alertmanager expand as a template.
//!
//! A manifest value that passes here is one the real tools accept; what fails gets a
//! message saying which construct and why, for [`crate::validate`] to report.
//!
//! The regex dialect is in `re2` ([`check_regex`]), the PromQL dialect in `promql`
//! ([`check_promql`], which sends every regex it holds through [`check_regex`]); this
//! module keeps the template delimiter check ([`has_template`]).

mod promql;
mod re2;

pub use promql::{FUNCTIONS, MAX_EXPR_BYTES, PromqlProblem, check_promql};
pub use re2::{MAX_REGEX_BYTES, check_regex};

/// Whether `text` holds the Go-template delimiter `{{`: Prometheus expands alert labels
/// and annotations as templates, Alertmanager its notifier fields. (`}}` alone is plain
/// text to Go's template lexer.)
pub fn has_template(text: &str) -> bool {
    text.contains("{{")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_delimiters() {
        assert!(has_template("a {{ $labels.x }}"));
        assert!(has_template("{{"));
        assert!(!has_template("a }} b { c } $x #: %"));
    }
}
