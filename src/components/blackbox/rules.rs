//! The blackbox exporter's part of `rules/monitoring.yml`: the TLS certificate of the
//! public domain expiring (awesome-prometheus-alerts BlackboxSslCertificateWillExpireSoon:
//! 20 days warning, 3 days critical).

use crate::model::Contribution;
use crate::rules::*;

use crate::components::prometheus::rules::{builder, push};

pub(super) fn contribute(out: &mut Contribution, domain: &str) {
    let mut b = builder("components");
    let url = format!("https://{domain}/");
    let l = labels(&[
        ("environment", ENV),
        ("instance", &url),
        ("job", "probe"),
        ("service", domain),
    ]);
    let expiry = selector("probe_ssl_earliest_cert_expiry", &l);
    let specs = [("warning", 20), ("critical", 3)]
        .into_iter()
        .map(|(sev, days)| {
            spec(
                "PublicCertificateExpiring",
                format!(
                    "probe_ssl_earliest_cert_expiry{{job=\"probe\",service=\"{domain}\"}} - time() < {days} * 86400"
                ),
                "10m",
                sev,
                Text::new().t("The TLS certificate of ").l("service").t(" expires soon"),
                Text::new()
                    .t("The certificate served at ")
                    .l("instance")
                    .t(" expires in ")
                    .v(Fmt::Duration)
                    .t(format!(" (threshold {days} days): renew it.")),
            )
        })
        .collect();
    // promtool's clock starts at 0: an expiry at 2 days is 2 days less the eval time away.
    b.levels(
        specs,
        case(
            "expires in 2 days",
            vec![(expiry.clone(), "172800x20".into())],
            "15m",
            vec![(l.clone(), 172_800.0 - 900.0)],
        ),
        case(
            "expires in 60 days",
            vec![(expiry, "5184000x20".into())],
            "15m",
            vec![],
        ),
    );
    push(out, b, Place::Probed);
}
