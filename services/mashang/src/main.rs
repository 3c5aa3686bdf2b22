//! `mashang`: runs any subset of the services, applies migrations, and runs the
//! embedded demo. See `mashang --help`.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    // The TLS provider every HTTP client of the process uses.
    mashang_notification::delivery::outbound::install_tls();
    let cli = mashang::cli::Cli::parse();
    match mashang::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("mashang: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
