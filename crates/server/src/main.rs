//! `strongbox`: see `strongbox --help`.
#![forbid(unsafe_code)]

use std::io::IsTerminal;

use clap::Parser;
use strongbox::output::CliError;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("STRONGBOX_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = strongbox::cli::Cli::parse();
    match strongbox::cli::run(cli).await {
        // A reader that stopped reading (`| head -1`) is not an error, as for `ls | head`.
        Ok(()) | Err(CliError::OutputClosed) => std::process::ExitCode::SUCCESS,
        Err(CliError::Failed(message)) => {
            strongbox::output::warn(format_args!("strongbox: {message}"));
            std::process::ExitCode::FAILURE
        }
    }
}
