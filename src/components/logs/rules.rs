//! The logs component's part of `rules/monitoring.yml`: `LokiDown` and `AlloyDown`
//! (scraped), or `KibanaDown` (probed: Kibana has no metrics of its own).

use crate::model::Contribution;

use super::{ALLOY, KIBANA, LOKI};
use crate::components::prometheus::rules::{probed_down, scraped_down};

pub(super) fn contribute(out: &mut Contribution) {
    probed_down(
        out,
        &[(KIBANA, "KibanaDown", "logs cannot be searched in Kibana")],
    );
    scraped_down(out, SCRAPED);
}

/// Its scrape jobs with a down alert: (job, alert, what stops working, severity).
pub const SCRAPED: &[(&str, &str, &str, &str)] = &[
    (
        LOKI,
        "LokiDown",
        "logs are not stored or searchable",
        "warning",
    ),
    (
        ALLOY,
        "AlloyDown",
        "container logs are not shipped to Loki",
        "warning",
    ),
];
