//! What both bus implementations do around a handler: a span joined to the event's
//! trace, metrics, retries without a budget, and the dead-letter log.

use mashang_domain::events::Envelope;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::bus::{Handler, HandlerError};
use crate::retry::RetryPolicy;

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

/// How [`settle`] ended.
#[derive(Debug)]
pub(crate) enum Settled {
    /// The handler completed.
    Handled,
    /// The event can never be handled.
    Poison(anyhow::Error),
    /// Shutdown came while the handler kept failing transiently: the event is not done.
    Stopped,
}

/// Runs `handler` on `envelope` until it completes or finds poison, waiting a capped,
/// jittered back-off between transient failures, for as long as they last.
pub(crate) async fn settle(
    consumer: &'static str,
    handler: &dyn Handler,
    envelope: &Envelope,
    policy: RetryPolicy,
    shutdown: &CancellationToken,
) -> Settled {
    let mut attempt: u32 = 1;
    loop {
        match handle_traced(consumer, handler, envelope.clone(), attempt).await {
            Ok(()) => return Settled::Handled,
            Err(HandlerError::Poison(err)) => return Settled::Poison(err),
            Err(HandlerError::Retry(err)) => {
                let delay = policy.delay_after(attempt);
                tracing::warn!(consumer, event_id = %envelope.id, attempt, retry_in_ms = delay.as_millis() as u64, error = %format!("{err:#}"), "event handling failed; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => return Settled::Stopped,
                    _ = tokio::time::sleep(delay) => {}
                }
                attempt = attempt.saturating_add(1);
            }
        }
    }
}

/// Logs an event given up on, with enough to find and replay it.
pub(crate) fn log_dead(consumer: &'static str, envelope: Option<&Envelope>, reason: &str) {
    let event_type = envelope.map_or("malformed", |e| e.event_type.as_str());
    metrics::counter!("mashang_bus_dead_letters_total", "consumer" => consumer, "type" => event_type)
        .increment(1);
    tracing::error!(
        consumer,
        event_id = envelope.map(|e| e.id.to_string()),
        event_type,
        tenant_id = envelope.map(|e| e.tenant_id.to_string()),
        reason,
        "event parked as dead letter"
    );
}
