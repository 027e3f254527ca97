//! `strongbox-baseline [ADDRESS]`: the bare-HTTP baseline server (default 127.0.0.1:4598).

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:4598".to_owned());
    let listener = match tokio::net::TcpListener::bind(&address).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("strongbox-baseline: cannot listen on {address}: {err}");
            return ExitCode::from(2);
        }
    };
    eprintln!("strongbox-baseline: listening on {address}");
    match axum::serve(listener, strongbox_bench::baseline::router()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("strongbox-baseline: {err}");
            ExitCode::FAILURE
        }
    }
}
