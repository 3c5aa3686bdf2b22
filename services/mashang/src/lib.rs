//! The `mashang` process: command-line interface and the wiring of services,
//! infrastructure and workers. Tests start the same [`app::start`] on port 0.

mod admin;
mod analytics;
pub mod app;
pub mod cli;
mod commands;
pub mod demo;
mod demo_cases;
pub mod embedded_pg;
mod events;
mod probes;
pub mod seed;

pub use app::{AppConfig, BusConfig, Components, Running, StorageConfig, start};

/// Runs the command the command line asks for.
pub async fn run(cli: cli::Cli) -> anyhow::Result<()> {
    commands::run(cli).await
}
