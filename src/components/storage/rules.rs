//! The storage component's part of `rules/monitoring.yml`: `MinioDown`.

use crate::model::Contribution;

use super::MINIO;
use crate::components::prometheus::rules::scraped_down;

pub(super) fn contribute(out: &mut Contribution) {
    scraped_down(out, SCRAPED);
}

/// Its scrape job with a down alert: (job, alert, what stops working, severity).
pub const SCRAPED: &[(&str, &str, &str, &str)] = &[(
    MINIO,
    "MinioDown",
    "the apps' object storage is unavailable",
    "critical",
)];
