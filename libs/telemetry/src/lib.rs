//! Telemetry for every process: JSON logs, OpenTelemetry traces (exported over OTLP
//! when an endpoint is configured), W3C trace-context helpers, Prometheus metrics.

mod chain;
mod context;
mod logs;
mod metrics_export;

pub use chain::error_chain;
pub use context::{current_traceparent, parent_from_traceparent, set_parent_from_traceparent};
pub use logs::{LogFormat, Telemetry, TelemetryConfig, init};
pub use metrics_export::{PrometheusHandle, prometheus};
