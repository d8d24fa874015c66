//! The alerts the manifest writes itself: the availability objectives
//! (`[[alerts.slo]]`) and the custom alerts (`[[alerts.custom]]`). It runs no container;
//! it contributes rules files only. (The thresholds of the generated service alerts,
//! also under `[alerts]`, are read by [`super::apps`], which owns those alerts.)

use crate::model::*;

use super::Component;

mod rules;

pub use rules::CUSTOM;

/// The manifest's SLOs and custom alerts.
pub struct Alerts;

impl Component for Alerts {
    fn name(&self) -> &'static str {
        "alerts"
    }

    fn enabled(&self, s: &Settled) -> bool {
        !s.alerts.slo.is_empty() || !s.alerts.custom.is_empty()
    }

    fn contribute(&self, s: &Settled) -> Contribution {
        let mut out = Contribution::default();
        rules::contribute(s, &mut out);
        out
    }
}
