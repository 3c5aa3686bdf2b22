//! The harness of the end-to-end tests: real PostgreSQL (a fresh database per test,
//! used as the application role), real NATS JetStream (a private subject prefix per
//! test), a real S3-compatible server (a fresh bucket per test), and the services
//! started exactly as `mashang serve` starts them, on port 0.

pub mod browser;
pub mod cases;
pub mod client;
pub mod docx;
pub mod fakes;
mod fakes_sms;
pub mod fixture;
pub mod infra;
pub mod intake;
pub mod photo;
pub mod procs;
pub mod proxy;
pub mod smtp;
pub mod wait;

pub use client::Client;
pub use fixture::{Fixture, Logins, PASSWORD, county_user, seed_tenant};
pub use infra::{TestApp, TestEnv};
pub use wait::eventually;
