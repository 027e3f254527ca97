//! `strongbox serve`: open the data directory, bootstrap it on first start, serve until SIGINT
//! or SIGTERM, then let in-flight requests finish and close the store.

use std::sync::Arc;

use tokio::net::TcpListener;

use crate::config::ServeConfig;
use crate::datadir::{self, OpenMode};
use crate::http::{self, AppState};

/// Runs the server until a shutdown signal.
pub async fn serve(config: ServeConfig) -> Result<(), String> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|error| format!("cannot listen on {}: {error}", config.listen))?;
    run(config, listener, shutdown_signal()).await
}

/// Serves on an already bound listener until `shutdown` completes. Tests bind port 0 and pass
/// their own shutdown future.
pub async fn run(
    config: ServeConfig,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let kms = datadir::open(&config.data_dir, &config.store, OpenMode::CreateIfMissing).await?;
    let first_region = config
        .regions
        .first()
        .cloned()
        .ok_or("no region configured")?;
    if let Some(key) = datadir::bootstrap(&kms, &config.data_dir, &first_region).await? {
        announce_first_start(&config, &key, &first_region);
    }
    let address = listener.local_addr().map_err(|error| error.to_string())?;
    tracing::info!(%address, regions = ?config.regions, store = %config.store, "strongbox is serving");
    let state = Arc::new(AppState {
        kms: Arc::clone(&kms),
        regions: config.regions.clone(),
    });
    let served = axum::serve(listener, http::router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    kms.store().close().await;
    tracing::info!("strongbox stopped; store closed");
    served.map_err(|error| format!("server error: {error}"))
}

fn announce_first_start(
    config: &ServeConfig,
    key: &strongbox_core::kms::NewAccessKey,
    region: &strongbox_core::model::Region,
) {
    let credentials = datadir::credentials_path(&config.data_dir);
    println!(
        "Initialised {} (account {}).\nFirst access key, shown once and saved to {}:\n\n{}\nUse it with the aws CLI:\n\n  export AWS_SHARED_CREDENTIALS_FILE={} AWS_DEFAULT_REGION={region}\n  aws --endpoint-url http://{} --profile {} kms create-key\n",
        config.data_dir.display(),
        key.key.account,
        credentials.display(),
        datadir::credentials_text(key, region),
        absolute(&credentials),
        config.listen,
        datadir::PROFILE,
    );
}

fn absolute(path: &std::path::Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
