//! `strongbox`: see `strongbox --help`.
#![forbid(unsafe_code)]

use std::io::IsTerminal;

use clap::Parser;
use strongbox::cli::LogFormat;
use strongbox::output::CliError;
use tracing_subscriber::EnvFilter;

/// mimalloc instead of glibc's malloc: a request allocates and frees many small buffers across
/// the runtime's threads, where glibc's arenas spent about a tenth of an audited server's CPU
/// (`docs/performance.md`). Rust's allocations only; aws-lc keeps its own (wiping) allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = strongbox::cli::Cli::parse();
    let filter =
        EnvFilter::try_from_env("STRONGBOX_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().with_current_span(false).init(),
    }
    // Before any command reads the root key.
    for warning in strongbox::hardening::disable_core_dumps() {
        tracing::warn!("{warning}");
    }
    match strongbox::cli::run(cli).await {
        // A reader that stopped reading (`| head -1`) is not an error, as for `ls | head`.
        Ok(()) | Err(CliError::OutputClosed) => std::process::ExitCode::SUCCESS,
        Err(CliError::Failed(message)) => {
            strongbox::output::warn(format_args!("strongbox: {message}"));
            std::process::ExitCode::FAILURE
        }
    }
}
