//! References to `.env` variables.

use serde::Serialize;

/// A reference to a `.env` variable in a service's `env` value: `${NAME}`,
/// `${NAME:-default}` (default when unset or empty) or `${NAME-default}` (when unset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnvRef {
    pub name: String,
    /// The default text, when the reference has one.
    pub default: Option<String>,
    /// `:-` (the default also replaces an empty value) rather than `-`.
    pub default_if_empty: bool,
}
