//! The Alertmanager datasource: Grafana shows its alerts and silences.

use std::collections::BTreeMap;

use serde_json::json;

use crate::grafana::ALERTMANAGER_UID;
use crate::model::*;

/// The Alertmanager datasource, behind the monitoring login.
pub(super) fn contribute(s: &Settled, out: &mut Contribution) {
    out.datasources.push(Datasource {
        name: "Alertmanager".into(),
        uid: ALERTMANAGER_UID.into(),
        kind: "alertmanager".into(),
        url: format!("http://{}:{}", super::NAME, super::PORT),
        default: false,
        basic_auth_user: Some(s.web.username.clone()),
        basic_auth_password: Some(format!("$__file{{{}}}", s.web.password_file)),
        json_data: BTreeMap::from([
            ("implementation".to_string(), json!("prometheus")),
            ("handleGrafanaManagedAlerts".to_string(), json!(false)),
        ]),
    });
}
