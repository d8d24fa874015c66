//! The answers that have no default and were not given, and the error that lists them.

use anyhow::anyhow;

use super::answers::{Answers, service_list};

/// A value that has no default and was not given, with how to give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub key: String,
    pub what: String,
    pub how: String,
}

/// Values `init` cannot make up (asked by the wizard; an error without a terminal
/// unless `--defaults`): at least one service, and each service's name and port.
pub fn missing(a: &Answers) -> Vec<Missing> {
    let list = service_list(a);
    if list.is_empty() {
        return vec![
            Missing {
                key: "service.name".into(),
                what: "name of the application service".into(),
                how: "--set service.name=api".into(),
            },
            Missing {
                key: "service.port".into(),
                what: "port the service listens on".into(),
                how: "--set service.port=8080".into(),
            },
        ];
    }
    let mut out = Vec::new();
    for (i, s) in list.iter().enumerate() {
        let label = s.name.clone().unwrap_or_else(|| format!("#{}", i + 1));
        let how = |key: &str, example: &str| {
            if i == 0 {
                format!("--set service.{key}={example}")
            } else {
                format!(
                    "`{key} = {example}` in [[services]] table {} of an --answers file",
                    i + 1
                )
            }
        };
        if s.name.is_none() {
            out.push(Missing {
                key: format!("services[{i}].name"),
                what: format!("name of service {label}"),
                how: how("name", "\"api\""),
            });
        }
        if s.port.is_none() {
            out.push(Missing {
                key: format!("services[{i}].port"),
                what: format!("port of service `{label}`"),
                how: how("port", "8080"),
            });
        }
    }
    out
}

/// The error for missing values, one line each with the `--set` that supplies it.
pub fn missing_error(missing: &[Missing]) -> anyhow::Error {
    let mut text =
        String::from("obsgen init needs answers it cannot ask for (no terminal, or CI is set):");
    for m in missing {
        text.push_str(&format!("\n  {:<22} {} — {}", m.key, m.what, m.how));
    }
    text.push_str("\nhelp: supply each value above, or pass --defaults to take a default for everything (service `app` on port 8080)");
    anyhow!(text)
}
