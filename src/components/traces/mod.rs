//! Traces (`[tracing] backend`): an OpenTelemetry Collector
//! (`monitoring/otel-collector/config.yml`) receives OTLP from the apps on the `app`
//! network (gRPC 4317, HTTP 4318), limits its memory, keeps `sample_ratio` of the
//! traces (probabilistic sampling), batches, and exports over OTLP to Tempo
//! (`monitoring/tempo/tempo.yml`, local storage) or Jaeger (all-in-one v2, in-memory
//! storage, UI on the monitoring address). Every app service gets the OTLP endpoint,
//! its service name and (per environment, in the overlay) `deployment.environment`.

pub mod dashboards;

use std::collections::BTreeMap;

use serde::Serialize;

use super::image;
use crate::model::*;

pub mod rules;

pub const COLLECTOR: &str = "otel-collector";
pub const OTLP_GRPC_PORT: u16 = 4317;
pub const OTLP_HTTP_PORT: u16 = 4318;
/// The collector's own metrics (Prometheus exporter of its telemetry).
pub const COLLECTOR_METRICS_PORT: u16 = 8888;
pub const TEMPO: &str = "tempo";
pub const TEMPO_PORT: u16 = 3200;
pub const JAEGER: &str = "jaeger";
pub const JAEGER_UI_PORT: u16 = 16686;
pub const JAEGER_METRICS_PORT: u16 = 8888;
/// Traces Jaeger's in-memory store keeps (oldest evicted first). Its built-in
/// configuration keeps 100 000, far more than the container's memory limit holds
/// (512M: ~5 KB per trace of a few dozen spans); 20 000 stays well inside it.
pub const JAEGER_MAX_TRACES: u32 = 20_000;
/// The storage backend of Jaeger's built-in all-in-one configuration
/// (cmd/jaeger/internal/all-in-one.yaml of the pinned version).
const JAEGER_STORAGE: &str = "some_storage";
/// How long Tempo keeps traces (there is no manifest setting: a week is plenty for
/// following a request; metrics and logs keep the long history).
pub const TRACE_RETENTION: &str = "168h";

/// `monitoring/otel-collector/config.yml`.
#[derive(Debug, Clone, Serialize)]
pub struct CollectorConfig {
    pub grpc_port: u16,
    pub http_port: u16,
    pub metrics_port: u16,
    pub sampling_percentage: f64,
    /// Exporter name (`otlp/tempo`) and `host:port`.
    pub exporter: String,
    pub endpoint: String,
}

/// `monitoring/tempo/tempo.yml`.
#[derive(Debug, Clone, Serialize)]
pub struct TempoConfig {
    pub port: u16,
    pub grpc_port: u16,
    pub retention: String,
}

/// The traces component (`[tracing]`).
pub struct Traces;

impl super::Component for Traces {
    fn name(&self) -> &'static str {
        "traces"
    }

    fn enabled(&self, settled: &Settled) -> bool {
        settled.tracing != TraceBackend::None
    }

    fn catalogues(&self) -> &'static [&'static str] {
        &["otel-collector", "tempo", "jaeger"]
    }

    fn contribute(&self, settled: &Settled) -> Contribution {
        let mut out = Contribution::default();
        assemble(settled, &mut out);
        rules::contribute(settled, &mut out);
        dashboards::contribute(settled, &mut out);
        out
    }
}

fn assemble(settled: &Settled, out: &mut Contribution) {
    let (exporter, endpoint) = match settled.tracing {
        TraceBackend::Tempo => {
            tempo(settled, out);
            ("otlp/tempo", format!("{TEMPO}:{OTLP_GRPC_PORT}"))
        }
        TraceBackend::Jaeger => {
            jaeger(settled, out);
            ("otlp/jaeger", format!("{JAEGER}:{OTLP_GRPC_PORT}"))
        }
        TraceBackend::None => return,
    };
    let mut c = ComposeService::new(COLLECTOR, Role::Monitoring);
    c.image = Some(image(settled, "otel-collector"));
    c.command = Some(vec!["--config=/etc/otelcol-contrib/config.yml".into()]);
    c.expose = vec![OTLP_GRPC_PORT, OTLP_HTTP_PORT, COLLECTOR_METRICS_PORT];
    c.volumes =
        vec!["./monitoring/otel-collector/config.yml:/etc/otelcol-contrib/config.yml:ro".into()];
    // The image runs as uid 10001 and keeps nothing on disk.
    c.user = Some("10001:10001".into());
    c.hardening.read_only = true;
    // Nothing is kept, but Go's os.TempDir() must stay writable.
    c.hardening.tmpfs = vec!["/tmp".into()];
    c.depends_on = vec![Dependency {
        name: endpoint.split(':').next().unwrap_or_default().into(),
        condition: Condition::ServiceStarted,
    }];
    // app: the apps send to it; monitoring: it exports to the backend and is scraped.
    c.networks = vec![attach("app"), attach("monitoring")];
    out.compose.push(c);
    out.add_job(
        COLLECTOR,
        "/metrics",
        "the OpenTelemetry collector's own metrics",
        vec![group(
            COLLECTOR,
            vec![format!("{COLLECTOR}:{COLLECTOR_METRICS_PORT}")],
        )],
    );
    let cfg = CollectorConfig {
        grpc_port: OTLP_GRPC_PORT,
        http_port: OTLP_HTTP_PORT,
        metrics_port: COLLECTOR_METRICS_PORT,
        sampling_percentage: settled.addons.sampling_percentage,
        exporter: exporter.into(),
        endpoint,
    };
    out.add_file(
        "monitoring/otel-collector/config.yml",
        "otel-collector/config.yml.j2",
        &cfg,
    );
}

fn tempo(settled: &Settled, out: &mut Contribution) {
    let mut c = ComposeService::new(TEMPO, Role::Monitoring);
    c.image = Some(image(settled, "tempo"));
    c.command = Some(vec!["-config.file=/etc/tempo/tempo.yml".into()]);
    c.expose = vec![TEMPO_PORT, OTLP_GRPC_PORT];
    c.volumes = vec![
        "./monitoring/tempo/tempo.yml:/etc/tempo/tempo.yml:ro".into(),
        "tempo-data:/var/tempo".into(),
    ];
    // The image runs as uid 10001 and owns /var/tempo.
    c.user = Some("10001:10001".into());
    c.hardening.read_only = true;
    c.hardening.tmpfs = vec!["/tmp".into()];
    c.networks = vec![attach("monitoring")];
    out.compose.push(c);
    out.volumes.push("tempo-data".into());
    out.add_job(
        TEMPO,
        "/metrics",
        "Tempo (trace store)",
        vec![group(TEMPO, vec![format!("{TEMPO}:{TEMPO_PORT}")])],
    );
    let cfg = TempoConfig {
        port: TEMPO_PORT,
        grpc_port: OTLP_GRPC_PORT,
        retention: TRACE_RETENTION.into(),
    };
    out.add_file("monitoring/tempo/tempo.yml", "tempo/tempo.yml.j2", &cfg);
}

/// Jaeger v2 all-in-one with its built-in configuration: OTLP receivers, in-memory
/// storage (bounded to [`JAEGER_MAX_TRACES`]), the UI and query API on 16686, its
/// metrics on 8888.
fn jaeger(settled: &Settled, out: &mut Contribution) {
    let mut c = ComposeService::new(JAEGER, Role::Monitoring);
    c.image = Some(image(settled, "jaeger"));
    // Without `--config` Jaeger runs its built-in configuration; `--set` (the
    // collector's flag, applied on top of it) bounds the in-memory store.
    c.command = Some(vec![format!(
        "--set=extensions.jaeger_storage.backends.{JAEGER_STORAGE}.memory.max_traces={JAEGER_MAX_TRACES}"
    )]);
    c.expose = vec![JAEGER_UI_PORT, OTLP_GRPC_PORT, JAEGER_METRICS_PORT];
    // Its built-in configuration binds the receivers and metrics to this host
    // (localhost unless set; the image sets 0.0.0.0, kept explicit here because other
    // containers must reach them). The UI/query API listens on :16686 regardless.
    c.environment = [("JAEGER_LISTEN_HOST".to_string(), "0.0.0.0".to_string())].into();
    c.user = Some("10001:10001".into());
    c.hardening.read_only = true;
    c.hardening.tmpfs = vec!["/tmp".into()];
    // edge: its UI is published on the monitoring address.
    c.networks = vec![attach("monitoring"), attach("edge")];
    out.compose.push(c);
    out.add_job(
        JAEGER,
        "/metrics",
        "Jaeger (trace store and UI)",
        vec![group(
            JAEGER,
            vec![format!("{JAEGER}:{JAEGER_METRICS_PORT}")],
        )],
    );
}

/// The OTLP variables of an app container (standard OpenTelemetry SDK variables).
///
/// Only traces go over OTLP: the collector has a traces pipeline alone, so its OTLP
/// receiver serves no `/v1/metrics` or `/v1/logs` (404). The SDK specification makes
/// `otlp` the default of `OTEL_METRICS_EXPORTER` and `OTEL_LOGS_EXPORTER` (the Java agent
/// and Python's `opentelemetry-instrument` follow it), so they are set to `none`:
/// metrics are scraped by Prometheus, logs are read from the containers' output.
pub fn app_environment(model: &Settled, service: &str, env: &mut BTreeMap<String, String>) {
    if model.tracing == TraceBackend::None {
        return;
    }
    env.insert(
        "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
        format!("http://{COLLECTOR}:{OTLP_HTTP_PORT}"),
    );
    env.insert("OTEL_EXPORTER_OTLP_PROTOCOL".into(), "http/protobuf".into());
    env.insert("OTEL_SERVICE_NAME".into(), service.into());
    env.insert("OTEL_TRACES_EXPORTER".into(), "otlp".into());
    env.insert("OTEL_METRICS_EXPORTER".into(), "none".into());
    env.insert("OTEL_LOGS_EXPORTER".into(), "none".into());
}
