//! The closed sets the manifest chooses from: languages, database kinds and the backends
//! of the optional components. Serialized in lowercase, as the manifest writes them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Programming language of a service, used for CI steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Node,
    Python,
    Go,
    Rust,
    Java,
    Other,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum DatabaseKind {
    Postgres,
    Mysql,
    Mongodb,
    Redis,
    Elasticsearch,
}

impl DatabaseKind {
    /// Every kind (a test checks it against the schema's list of the enum's values).
    pub const ALL: [DatabaseKind; 5] = [
        DatabaseKind::Postgres,
        DatabaseKind::Mysql,
        DatabaseKind::Mongodb,
        DatabaseKind::Redis,
        DatabaseKind::Elasticsearch,
    ];

    /// The port the server listens on in its container.
    pub fn port(self) -> u16 {
        match self {
            DatabaseKind::Postgres => 5432,
            DatabaseKind::Mysql => 3306,
            DatabaseKind::Mongodb => 27017,
            DatabaseKind::Redis => 6379,
            DatabaseKind::Elasticsearch => 9200,
        }
    }

    /// The name the manifest uses (`postgres`); also its `Display`.
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseKind::Postgres => "postgres",
            DatabaseKind::Mysql => "mysql",
            DatabaseKind::Mongodb => "mongodb",
            DatabaseKind::Redis => "redis",
            DatabaseKind::Elasticsearch => "elasticsearch",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogBackend {
    Loki,
    Elasticsearch,
    #[default]
    None,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum TraceBackend {
    Tempo,
    Jaeger,
    #[default]
    None,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ErrorBackend {
    Glitchtip,
    Sentry,
    #[default]
    None,
}

impl std::fmt::Display for DatabaseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl TraceBackend {
    /// The name the manifest uses (`tempo`).
    pub fn as_str(self) -> &'static str {
        match self {
            TraceBackend::Tempo => "tempo",
            TraceBackend::Jaeger => "jaeger",
            TraceBackend::None => "none",
        }
    }
}

#[cfg(test)]
mod all_kinds {
    use super::DatabaseKind;

    #[test]
    fn all_lists_every_database_kind_once() {
        let schema = serde_json::to_value(schemars::schema_for!(DatabaseKind)).unwrap();
        let mut names: Vec<String> = schema["enum"]
            .as_array()
            .expect("a string enum")
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let mut all: Vec<String> = DatabaseKind::ALL
            .iter()
            .map(|k| k.as_str().to_string())
            .collect();
        names.sort();
        all.sort();
        assert_eq!(all, names);
    }
}
