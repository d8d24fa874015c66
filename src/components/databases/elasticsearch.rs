//! Elasticsearch (single node, security on) and elasticsearch_exporter.

use std::collections::BTreeMap;

use super::{Kind, Login};
use crate::model::{ComposeService, Database};

/// `kind = "elasticsearch"`.
pub struct Elasticsearch;

impl Kind for Elasticsearch {
    fn server(&self, _d: &Database, login: &Login, c: &mut ComposeService) -> &'static str {
        c.environment = BTreeMap::from([
            ("ELASTIC_PASSWORD".to_string(), login.password()),
            ("discovery.type".to_string(), "single-node".to_string()),
            ("xpack.security.enabled".to_string(), "true".to_string()),
            ("ES_JAVA_OPTS".to_string(), "-Xms512m -Xmx512m".to_string()),
        ]);
        // 512 MiB heap (ES_JAVA_OPTS) plus off-heap memory.
        c.min_memory_mib = Some(1536);
        // The image's own user (uid 1000, group 0), made explicit. It writes its keystore
        // into /usr/share/elasticsearch/config at start (ELASTIC_PASSWORD): the root stays
        // writable; no capability is needed.
        c.user = Some("1000:0".into());
        c.healthcheck = Some(super::healthcheck(
            "curl -fsS -u \"elastic:$$ELASTIC_PASSWORD\" http://localhost:9200/_cluster/health >/dev/null",
        ));
        "/usr/share/elasticsearch/data"
    }

    fn has_user(&self) -> bool {
        false
    }

    fn exporter(&self, d: &Database, login: &Login, c: &mut ComposeService) -> u16 {
        c.command = Some(vec![format!("--es.uri=http://{}", super::host(d))]);
        c.environment = BTreeMap::from([
            ("ES_USERNAME".to_string(), "elastic".to_string()),
            ("ES_PASSWORD".into(), login.password()),
        ]);
        9114
    }
}
