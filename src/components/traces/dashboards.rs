//! The traces datasource (Tempo or Jaeger): its node graph, and from a trace to its
//! logs when logging is on.

use serde_json::json;

use crate::grafana::kit::datasource;
use crate::grafana::{JAEGER_UID, LOKI_UID, TEMPO_UID, logs_uid};
use crate::model::*;

/// The traces datasource, with its link to the logs datasource when logging is on.
pub(super) fn contribute(s: &Settled, out: &mut Contribution) {
    let traces_to_logs = |logs_uid: &str| {
        let query = if logs_uid == LOKI_UID {
            "{environment=~\".+\"} |= \"$${__trace.traceId}\""
        } else {
            "trace.id:\"$${__trace.traceId}\""
        };
        json!({
            "datasourceUid": logs_uid,
            "spanStartTimeShift": "-5m",
            "spanEndTimeShift": "5m",
            "filterByTraceID": false,
            "filterBySpanID": false,
            "customQuery": true,
            "query": query,
        })
    };
    let (name, uid, kind, host, port) = match s.tracing {
        TraceBackend::Tempo => ("Tempo", TEMPO_UID, "tempo", super::TEMPO, super::TEMPO_PORT),
        TraceBackend::Jaeger => (
            "Jaeger",
            JAEGER_UID,
            "jaeger",
            super::JAEGER,
            super::JAEGER_UI_PORT,
        ),
        TraceBackend::None => return,
    };
    let logs_uid = logs_uid(s);
    let mut d = datasource(name, uid, kind, format!("http://{host}:{port}"));
    d.json_data
        .insert("nodeGraph".into(), json!({ "enabled": true }));
    if let Some(l) = logs_uid {
        d.json_data
            .insert("tracesToLogsV2".into(), traces_to_logs(l));
    }
    if s.tracing == TraceBackend::Tempo && logs_uid == Some(LOKI_UID) {
        d.json_data
            .insert("lokiSearch".into(), json!({ "datasourceUid": LOKI_UID }));
    }
    out.datasources.push(d);
}
