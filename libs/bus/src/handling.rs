//! What both bus implementations do around a handler: a span joined to the event's
//! trace, metrics, and the dead-letter log.

use mashang_domain::events::Envelope;
use tracing::Instrument;

use crate::bus::{Handler, HandlerError};

/// Runs `handler` on `envelope` inside a span that continues the event's trace.
pub(crate) async fn handle_traced(
    consumer: &'static str,
    handler: &dyn Handler,
    envelope: Envelope,
    attempt: u32,
) -> Result<(), HandlerError> {
    let span = tracing::info_span!(
        "bus.handle",
        consumer,
        event_type = envelope.event_type.as_str(),
        event_id = %envelope.id,
        tenant_id = %envelope.tenant_id,
        attempt,
    );
    mashang_telemetry::set_parent_from_traceparent(&span, envelope.traceparent.as_deref());
    let event_type = envelope.event_type.as_str();
    let started = std::time::Instant::now();
    let outcome = handler.handle(envelope).instrument(span).await;
    let label = match &outcome {
        Ok(()) => "ok",
        Err(HandlerError::Retry(_)) => "retry",
        Err(HandlerError::Poison(_)) => "poison",
    };
    metrics::counter!("mashang_bus_handled_total", "consumer" => consumer, "type" => event_type, "outcome" => label)
        .increment(1);
    metrics::histogram!("mashang_bus_handle_seconds", "consumer" => consumer, "type" => event_type)
        .record(started.elapsed().as_secs_f64());
    outcome
}

/// Logs an event given up on, with enough to find and replay it.
pub(crate) fn log_dead(consumer: &'static str, envelope: &Envelope, reason: &str) {
    metrics::counter!("mashang_bus_dead_letters_total", "consumer" => consumer, "type" => envelope.event_type.as_str())
        .increment(1);
    tracing::error!(
        consumer,
        event_id = %envelope.id,
        event_type = envelope.event_type.as_str(),
        tenant_id = %envelope.tenant_id,
        reason,
        "event parked as dead letter"
    );
}
