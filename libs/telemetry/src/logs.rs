//! The tracing subscriber and the OpenTelemetry tracer provider.

use std::fmt;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object per line (production).
    #[default]
    Json,
    /// Human-readable lines (development).
    Pretty,
}

/// What telemetry to set up.
#[derive(Clone, Debug)]
pub struct TelemetryConfig {
    /// `service.name` of exported spans (`mashang`, `mashang-intake`).
    pub service_name: String,
    /// Log line format.
    pub log_format: LogFormat,
    /// `tracing` filter directives (`info,mashang=debug`).
    pub log_filter: String,
    /// OTLP/HTTP endpoint (`http://collector:4318`); no export when `None`.
    pub otlp_endpoint: Option<String>,
}

/// Keeps the tracer provider alive; [`Telemetry::shutdown`] flushes what is buffered.
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Telemetry").finish_non_exhaustive()
    }
}

impl Telemetry {
    /// Flushes and stops span export. Call once, at the end of shutdown.
    pub fn shutdown(&self) {
        if let Err(err) = self.provider.shutdown() {
            eprintln!("flushing traces failed: {err}");
        }
    }
}

/// Installs the global subscriber, propagator and tracer provider. Spans always get
/// trace ids (so trace context crosses the bus even without a collector); they are
/// exported only when an OTLP endpoint is configured.
pub fn init(config: &TelemetryConfig) -> anyhow::Result<Telemetry> {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let resource = Resource::builder()
        .with_service_name(config.service_name.clone())
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = &config.otlp_endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
            .build()?;
        builder = builder.with_batch_exporter(exporter);
    }
    let provider = builder.build();
    opentelemetry::global::set_tracer_provider(provider.clone());
    let tracer = provider.tracer("mashang");

    let filter = EnvFilter::try_new(&config.log_filter)
        .map_err(|e| anyhow::anyhow!("invalid log filter {:?}: {e}", config.log_filter))?;
    // The filter applies to log lines only: spans still reach OpenTelemetry at any
    // log level, so trace context crosses services even when logging is quiet.
    let fmt_layer = match config.log_format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_filter(filter)
            .boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
    };
    tracing_subscriber::registry()
        .with(fmt_layer)
        .with(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_filter(tracing_subscriber::filter::LevelFilter::INFO),
        )
        .try_init()?;
    Ok(Telemetry { provider })
}
