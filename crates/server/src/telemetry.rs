//! Prometheus metrics: every metric's name and help in one place, one recorder per process,
//! and the text `GET /metrics` answers. Code anywhere records through the `metrics` facade
//! (`metrics::counter!(telemetry::REQUESTS, ...)`); this module only names and renders.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Requests answered, by `operation`, `account` (empty before authentication) and `code` (the
/// AWS error code, or `OK`).
pub const REQUESTS: &str = "strongbox_requests_total";
/// Time from the request's arrival to its answer, by `operation`.
pub const REQUEST_SECONDS: &str = "strongbox_request_duration_seconds";
/// Connections open now.
pub const OPEN_CONNECTIONS: &str = "strongbox_open_connections";
/// Connections closed by the server for sending no head in time (`reason="header_read"`) or
/// for staying idle (`reason="idle"`).
pub const CONNECTIONS_CLOSED: &str = "strongbox_connections_closed_total";
/// Requests refused with `ThrottlingException`, by `account` and quota `category`.
pub const THROTTLED: &str = "strongbox_throttled_total";
/// Free bytes on the data directory's filesystem.
pub const FREE_DISK_BYTES: &str = "strongbox_data_dir_free_bytes";
/// How late the last scheduler pass started, in seconds.
pub const SCHEDULER_LAG_SECONDS: &str = "strongbox_scheduler_lag_seconds";
/// 1 while the seal waits for `strongbox operator unseal`, else 0.
pub const SEALED: &str = "strongbox_sealed";
/// Root keys held: 2 while a root rotation is under way.
pub const ROOT_KEYS: &str = "strongbox_root_keys";
/// Scheduler passes whose audit anchors could not be delivered (retried on the next pass).
pub const AUDIT_ANCHOR_FAILURES: &str = "strongbox_audit_anchor_failures_total";

/// Latency buckets (seconds) for every `*_seconds` histogram: 100 µs to 10 s.
const BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process's recorder on first use; later servers in the same process (tests)
/// share it. `None` when another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), BUCKETS)
                .ok()?;
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

/// Drains the recorder's histogram samples into their buckets every few seconds: without a
/// scrape, the samples would otherwise pile up in memory. Runs until the task is aborted.
pub async fn upkeep() {
    let Some(handle) = install() else { return };
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        handle.run_upkeep();
    }
}

/// The Prometheus text exposition of every metric recorded so far.
pub fn render() -> String {
    install().map(PrometheusHandle::render).unwrap_or_default()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        REQUESTS,
        "Requests answered, by operation, account and AWS error code (OK when successful)."
    );
    describe_histogram!(
        REQUEST_SECONDS,
        metrics::Unit::Seconds,
        "Time from a request's arrival to its answer, by operation."
    );
    describe_gauge!(OPEN_CONNECTIONS, "Client connections open now.");
    describe_counter!(
        CONNECTIONS_CLOSED,
        "Connections the server closed: no request head in time (header_read) or idle too long (idle)."
    );
    describe_counter!(
        THROTTLED,
        "Requests refused with ThrottlingException, by account and quota category."
    );
    describe_gauge!(
        FREE_DISK_BYTES,
        metrics::Unit::Bytes,
        "Free bytes on the data directory's filesystem."
    );
    describe_counter!(
        AUDIT_ANCHOR_FAILURES,
        "Scheduler passes whose audit anchors could not be delivered to --audit-anchor (retried on the next pass)."
    );
    describe_gauge!(
        SEALED,
        "1 while the seal waits for `strongbox operator unseal`, else 0."
    );
    describe_gauge!(
        ROOT_KEYS,
        "Root keys held: 2 while a root rotation is under way."
    );
    describe_gauge!(
        SCHEDULER_LAG_SECONDS,
        metrics::Unit::Seconds,
        "How late the last scheduler pass started."
    );
    strongbox_core::telemetry::describe();
}
