//! End-to-end tests across the services, against real PostgreSQL, NATS and S3.

mod bad_input;
mod delivery;
mod directory;
mod isolation;
mod qr;
mod readiness;
mod signin;
mod skeleton;
mod transfer;
