//! The error-tracking component's part of `rules/monitoring.yml`: `GlitchtipDown`
//! (probed: GlitchTip has no metrics of its own).

use crate::model::Contribution;

use super::GLITCHTIP;
use crate::components::prometheus::rules::probed_down;

pub(super) fn contribute(out: &mut Contribution) {
    probed_down(
        out,
        &[(
            GLITCHTIP,
            "GlitchtipDown",
            "the apps' errors are not recorded",
        )],
    );
}
