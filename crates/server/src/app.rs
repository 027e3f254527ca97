//! `strongbox serve`: open the data directory, bootstrap it on first start, serve until SIGINT
//! or SIGTERM, then let in-flight requests finish and close the store.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use strongbox_core::kms::NewAccessKey;
use strongbox_core::model::Region;
use strongbox_core::{Clock, KmsConfig, ManualClock, SystemClock};

use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::ServeConfig;
use crate::datadir::{self, OpenMode};
use crate::disk::Disk;
use crate::http::{self, AppState};
use crate::jobs::{AuditSchedule, Scheduler};
use crate::listener::{self, tls::Tls};

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
    let ServeConfig {
        listen: _,
        data_dir,
        regions,
        store,
        bootstrap,
        body_read_timeout,
        scheduler_interval,
        on_demand_rotation_limit,
        grants_per_key,
        key_cache_size,
        dev_clock,
        audit_retention,
        audit,
        audit_journal,
        audit_anchor,
        audit_digest_records,
        tls,
        limits,
        metrics_listen,
        disk_watermark,
        quotas,
    } = config;
    let quotas = crate::quota::Quotas::from_config(&quotas)?;
    crate::telemetry::install();
    let upkeep_task = tokio::spawn(crate::telemetry::upkeep());
    let tls = tls.map(Tls::load).transpose()?.map(Arc::new);
    let manual_clock = dev_clock.then(|| Arc::new(ManualClock::new()));
    let clock: Arc<dyn Clock> = match &manual_clock {
        Some(manual) => Arc::clone(manual) as Arc<dyn Clock>,
        None => Arc::new(SystemClock),
    };
    let kms_config = KmsConfig {
        on_demand_rotation_limit,
        grants_per_key,
        cache_capacity: key_cache_size,
        audit,
        max_digest_records: audit_digest_records,
        ..KmsConfig::default()
    };
    let first_region = regions.first().cloned().ok_or("no region configured")?;
    let address = listener.local_addr().map_err(|error| error.to_string())?;
    let datadir::Opened {
        kms,
        unsealer,
        serve_lock: _lock,
    } = datadir::open_with(
        &data_dir,
        &store,
        OpenMode::CreateIfMissing,
        clock,
        kms_config,
        audit_journal,
    )
    .await?;
    let pending = Arc::new(tokio::sync::Mutex::new(Some(PendingStart {
        kms: Arc::clone(&kms),
        data_dir: data_dir.clone(),
        region: first_region,
        bootstrap,
        address,
    })));
    let sealed = kms.seal_status().sealed;
    if sealed {
        tracing::warn!(
            seal = kms.seal_status().kind,
            "the service is SEALED: every API call answers KMSInternalException until `strongbox operator unseal --data-dir {}` opens it",
            data_dir.display()
        );
    } else if let Err(error) = finish_start(&pending).await {
        kms.close().await;
        return Err(error);
    }
    let admin_task = {
        let listener = match crate::admin_socket::bind(&data_dir) {
            Ok(listener) => listener,
            Err(error) => {
                kms.close().await;
                return Err(error);
            }
        };
        let pending = Arc::clone(&pending);
        let on_unsealed: crate::admin_socket::OnUnsealed = Arc::new(move || {
            let pending = Arc::clone(&pending);
            Box::pin(async move { finish_start(&pending).await })
        });
        tokio::spawn(crate::admin_socket::serve(
            listener,
            Arc::clone(&kms),
            unsealer,
            on_unsealed,
        ))
    };
    if dev_clock {
        tracing::warn!(
            path = http::DEV_CLOCK_PATH,
            "DEV CLOCK ENABLED: anyone who can reach {address} can move this server's clock forward, rotating and deleting keys early. Never use --dev-clock with real keys."
        );
    }
    if !audit {
        tracing::warn!(
            "AUDIT TRAIL DISABLED (--benchmark-without-audit): calls are not recorded. Only for measuring what auditing costs."
        );
    }
    if kms.seal_status().kind == "file" && !address.ip().is_loopback() {
        tracing::warn!(
            %address,
            "the root key is a plain file in the data directory (the file seal): whoever copies the directory has every key; for a server others reach, choose a passphrase, pkcs11 or shamir seal with `strongbox init --seal`"
        );
    }
    if tls.is_none() && !address.ip().is_loopback() {
        tracing::warn!(
            %address,
            "serving plain HTTP on a non-loopback address: signatures, plaintexts and data keys cross the network in clear; use --tls-cert and --tls-key"
        );
    }
    let scheme = if tls.is_some() { "https" } else { "http" };
    tracing::info!(
        %address,
        scheme,
        ?regions,
        %store,
        ?scheduler_interval,
        max_connections = limits.max_connections,
        "strongbox is serving"
    );
    let reload_task = tls.clone().map(|tls| tokio::spawn(reload_on_hangup(tls)));
    let disk = Disk::new(data_dir.clone(), disk_watermark);
    let disk_task = tokio::spawn(Arc::clone(&disk).watch());
    // Published before the first request, so that a scrape right after the start is true.
    publish_seal_state(&kms);
    let root_task = tokio::spawn(follow_root_rotations(Arc::clone(&kms)));
    let audit_schedule = audit.then(|| AuditSchedule {
        regions: regions.clone(),
        retention: audit_retention,
        anchors: audit_anchor.map(|target| Arc::new(crate::audit::anchor::Anchors::new(target))),
    });
    let scheduler = Arc::new(Scheduler::new(
        Arc::clone(&kms),
        scheduler_interval,
        audit_schedule,
    ));
    let (stop_scheduler, stopped) = watch::channel(());
    let scheduler_task = tokio::spawn(Arc::clone(&scheduler).run(stopped));
    let state = Arc::new(AppState {
        kms: Arc::clone(&kms),
        regions,
        body_read_timeout,
        scheduler: Arc::clone(&scheduler),
        dev_clock: manual_clock,
        signature_clock: Arc::new(SystemClock),
        signing_keys: http::signing_keys::SigningKeys::default(),
        disk,
        quotas,
    });
    let metrics_task = match metrics_listen {
        Some(address) => {
            let metrics = TcpListener::bind(address)
                .await
                .map_err(|error| format!("cannot listen on {address} for metrics: {error}"))?;
            tracing::info!(%address, "metrics on a listener of their own");
            Some(tokio::spawn(async move {
                if let Err(error) = axum::serve(metrics, http::metrics_router()).await {
                    tracing::error!(%error, "metrics listener failed");
                }
            }))
        }
        None => None,
    };
    let router = http::router(state, metrics_task.is_none());
    let served = listener::serve(listener, router, limits, tls, shutdown).await;
    if let Some(task) = metrics_task {
        task.abort();
    }
    disk_task.abort();
    root_task.abort();
    admin_task.abort();
    let _ = std::fs::remove_file(crate::admin_socket::socket_path(&data_dir));
    upkeep_task.abort();
    if let Some(task) = reload_task {
        task.abort();
    }
    scheduler.stop_soon();
    let _ = stop_scheduler.send(());
    if let Err(error) = scheduler_task.await {
        tracing::warn!(%error, "scheduler task ended abnormally");
    }
    kms.close().await;
    tracing::info!("strongbox stopped; audit journal and store closed");
    served.map_err(|error| format!("server error: {error}"))
}

/// What a start does once the root key is open: checks it against the store, seals again what
/// an earlier version sealed, and on a first start makes the default account.
struct PendingStart {
    kms: Arc<strongbox_core::Kms>,
    data_dir: std::path::PathBuf,
    region: strongbox_core::model::Region,
    bootstrap: datadir::Bootstrap,
    address: SocketAddr,
}

/// Runs the pending start (at start when unsealed, else when unsealed later); it stays
/// pending until it succeeds.
async fn finish_start(pending: &tokio::sync::Mutex<Option<PendingStart>>) -> Result<(), String> {
    let mut pending = pending.lock().await;
    let Some(start) = pending.as_ref() else {
        return Ok(());
    };
    datadir::upgrade(&start.kms).await?;
    start.kms.check_root_key().await.map_err(datadir::detail)?;
    if let Some(key) =
        datadir::bootstrap(&start.kms, &start.data_dir, &start.region, &start.bootstrap).await?
    {
        announce_first_start(&start.data_dir, start.address, &key, &start.region);
    }
    *pending = None;
    Ok(())
}

/// How often the server looks whether another process (`strongbox operator rotate-root`,
/// `account delete --crypto-shred`) rotated the root key: a stat of the root key files.
const ROOT_FOLLOW_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// The seal's state as metrics (sealed or not, root keys held).
fn publish_seal_state(kms: &strongbox_core::Kms) {
    let seal = kms.seal_status();
    metrics::gauge!(crate::telemetry::SEALED).set(if seal.sealed { 1.0 } else { 0.0 });
    metrics::gauge!(crate::telemetry::ROOT_KEYS).set(seal.root_keys as f64);
}

/// Follows root rotations made by other processes, so that an old root key, and everything
/// unsealed under it, leaves this process's memory within a second of the rotation's end; and
/// publishes the seal's state as metrics.
async fn follow_root_rotations(kms: Arc<strongbox_core::Kms>) {
    let mut ticks = tokio::time::interval(ROOT_FOLLOW_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        publish_seal_state(&kms);
        match kms.follow_root_rotation() {
            Ok(true) => tracing::info!("the root key changed on disk; read it again"),
            Ok(false) => {}
            Err(error) => tracing::error!(%error, "could not read the root key again"),
        }
    }
}

fn announce_first_start(data_dir: &Path, address: SocketAddr, key: &NewAccessKey, region: &Region) {
    let credentials = datadir::credentials_path(data_dir);
    // Best effort: the credentials are saved in the file too, and a closed stdout must not
    // stop the server.
    crate::output::print(format_args!(
        "Initialised {} (account {}).\nFirst access key, shown once and saved to {}:\n\n{}\nUse it with the aws CLI:\n\n  export AWS_SHARED_CREDENTIALS_FILE={} AWS_DEFAULT_REGION={region}\n  aws --endpoint-url http://{address} --profile {} kms create-key\n",
        data_dir.display(),
        key.key.account,
        credentials.display(),
        datadir::credentials_text(datadir::PROFILE, key, region),
        absolute(&credentials),
        datadir::PROFILE,
    ))
    .ok();
}

fn absolute(path: &std::path::Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_owned())
        .display()
        .to_string()
}

/// Reads the TLS certificate and key again on every SIGHUP; a failed reload keeps the old ones.
async fn reload_on_hangup(tls: Arc<Tls>) {
    let mut hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(signal) => signal,
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGHUP: the TLS certificate will not be reloaded");
            return;
        }
    };
    while hangups.recv().await.is_some() {
        match tls.reload() {
            Ok(()) => {
                tracing::info!(cert = %tls.files().cert.display(), "TLS certificate reloaded")
            }
            Err(error) => {
                tracing::error!(%error, "TLS certificate not reloaded; the old one stays")
            }
        }
    }
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
