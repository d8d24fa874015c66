//! The logs datasource (Loki or Elasticsearch), whose log lines link a trace id to the
//! trace, and the logs panel of the service dashboards, which reads it.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::grafana::kit::{ENV, datasource};
use crate::grafana::{ELASTICSEARCH_UID, LOKI_UID, traces_uid};
use crate::model::*;

/// The logs datasource, with its links to the traces datasource when tracing is on.
pub(super) fn contribute(s: &Settled, out: &mut Contribution) {
    let trace_uid = traces_uid(s);
    match s.logging {
        LogBackend::Loki => {
            let mut d = datasource(
                "Loki",
                LOKI_UID,
                "loki",
                format!("http://{}:{}", super::LOKI, super::LOKI_PORT),
            );
            d.json_data.insert("maxLines".into(), json!(1000));
            if let Some(uid) = trace_uid {
                // `$$` is a literal `$` in provisioning files (Grafana expands `$VAR`).
                d.json_data.insert(
                    "derivedFields".into(),
                    json!([{
                        "name": "TraceID",
                        "matcherRegex": "(?:trace_id|traceID|traceId)[\"=: ]+([0-9a-fA-F]{16,32})",
                        "datasourceUid": uid,
                        "url": "$${__value.raw}",
                        "urlDisplayLabel": "Open trace",
                    }]),
                );
            }
            out.datasources.push(d);
        }
        LogBackend::Elasticsearch => {
            let mut d = datasource(
                "Elasticsearch (logs)",
                ELASTICSEARCH_UID,
                "elasticsearch",
                format!(
                    "http://{}:{}",
                    super::ELASTICSEARCH,
                    super::ELASTICSEARCH_PORT
                ),
            );
            d.basic_auth_user = Some(super::READER_USER.into());
            d.basic_auth_password = Some(format!("$__env{{{}}}", super::READER_PASSWORD_VAR));
            d.json_data = BTreeMap::from([
                ("index".to_string(), json!(super::INDEX_PATTERN)),
                ("timeField".to_string(), json!("@timestamp")),
                ("logMessageField".to_string(), json!("message")),
                ("logLevelField".to_string(), json!("log.level")),
                ("maxConcurrentShardRequests".to_string(), json!(5)),
            ]);
            if let Some(uid) = trace_uid {
                // Filebeat copies a JSON log line's trace id to `trace.id`.
                d.json_data.insert(
                    "dataLinks".into(),
                    json!([{
                        "field": "trace.id",
                        "datasourceUid": uid,
                        "url": "$${__value.raw}",
                        "urlDisplayLabel": "Open trace",
                    }]),
                );
            }
            out.datasources.push(d);
        }
        LogBackend::None => {}
    }
}

/// The logs of a service's containers (`compose`: a regex of its Compose services),
/// from Loki (LogQL) or Elasticsearch (Lucene), when logging is on.
pub fn logs_panel(settled: &Settled, compose: &str) -> Option<(Json, Json)> {
    let (kind, name, uid) = match settled.logging {
        LogBackend::Loki => ("loki", "Loki", LOKI_UID),
        LogBackend::Elasticsearch => ("elasticsearch", "Elasticsearch (logs)", ELASTICSEARCH_UID),
        LogBackend::None => return None,
    };
    // Like `$datasource`: the panel names the logs datasource through a variable.
    let var = json!({
        "name": "logs",
        "label": "Logs data source",
        "type": "datasource",
        "query": kind,
        "current": { "text": name, "value": uid },
        "hide": 0,
        "includeAll": false,
        "multi": false,
        "options": [],
        "refresh": 1,
        "regex": "",
    });
    let (ds, target) = match kind {
        "loki" => {
            let ds = json!({ "type": "loki", "uid": "${logs}" });
            let expr = format!("{{service=~\"{compose}\",{ENV}}}");
            (
                ds.clone(),
                json!({ "refId": "A", "datasource": ds, "expr": expr }),
            )
        }
        _ => {
            let ds = json!({ "type": "elasticsearch", "uid": "${logs}" });
            let query = format!("service.name:/{compose}/ AND environment:\"$environment\"");
            (
                ds.clone(),
                json!({
                    "refId": "A",
                    "datasource": ds,
                    "query": query,
                    "metrics": [{ "id": "1", "type": "logs" }],
                    "bucketAggs": [],
                    "timeField": "@timestamp",
                }),
            )
        }
    };
    let panel = json!({
        "type": "logs",
        "title": "Logs",
        "datasource": ds,
        "targets": [target],
        "options": {
            "showTime": true,
            "wrapLogMessage": true,
            "sortOrder": "Descending",
            "enableLogDetails": true,
            "dedupStrategy": "none",
            "prettifyLogMessage": false,
            "showCommonLabels": false,
            "showLabels": false,
        },
    });
    Some((var, panel))
}
