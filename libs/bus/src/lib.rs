//! The event bus.
//!
//! Services never publish directly: they write an event to their own outbox in the
//! same transaction as the change it describes ([`outbox::record`]), and a relay
//! ([`relay::run`]) publishes it afterwards, so an event committed is an event
//! delivered, even if the process dies in between. Consumers record each event id in
//! their inbox in the same transaction as its effect ([`inbox::claim`]), so a
//! redelivered event has no second effect.
//!
//! Two implementations of [`Bus`] carry the events: NATS JetStream ([`NatsBus`]) for
//! separate processes, and in-process ([`InProcessBus`]) for the monolithic mode. Both
//! retry a transient failure for as long as it lasts and park only poison, in the
//! consuming service's dead-letter table ([`dead_letter`]), from which an operator
//! replays it.

mod bus;
pub mod dead_letter;
mod error;
mod handling;
pub mod inbox;
mod memory;
mod nats;
pub mod outbox;
pub mod relay;
mod retry;
mod service;

pub use bus::{Bus, ConsumerSpec, Handler, HandlerError};
pub use dead_letter::DeadLetters;
pub use error::BusError;
pub use memory::InProcessBus;
pub use nats::{NatsAuth, NatsBus, NatsConfig, NatsTls, Secret};
pub use retry::RetryPolicy;
pub use service::Service;
