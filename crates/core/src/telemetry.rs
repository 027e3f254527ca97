//! The metrics the KMS core records (through the `metrics` facade, a no-op until the server
//! installs a recorder): their names and help texts.

/// Key lookups served by the in-memory cache or not, by `result` (`hit`, `miss`).
pub const KEY_CACHE_LOOKUPS: &str = "strongbox_key_cache_lookups_total";
/// Time to commit one batch of audit records to the store.
pub const AUDIT_COMMIT_SECONDS: &str = "strongbox_audit_commit_seconds";
/// Audit records per committed batch.
pub const AUDIT_BATCH_RECORDS: &str = "strongbox_audit_batch_records";
/// Audit batches that could not be committed.
pub const AUDIT_COMMIT_FAILURES: &str = "strongbox_audit_commit_failures_total";

/// Registers the help texts with the installed recorder.
pub fn describe() {
    use metrics::{describe_counter, describe_histogram};
    describe_counter!(
        KEY_CACHE_LOOKUPS,
        "Key lookups by id, answered from the in-memory cache (hit) or the store (miss)."
    );
    describe_histogram!(
        AUDIT_COMMIT_SECONDS,
        metrics::Unit::Seconds,
        "Time to commit one batch of audit records (the store's transaction and fsync)."
    );
    describe_histogram!(
        AUDIT_BATCH_RECORDS,
        metrics::Unit::Count,
        "Audit records per committed batch."
    );
    describe_counter!(
        AUDIT_COMMIT_FAILURES,
        "Audit batches that could not be committed (their calls were answered with an error)."
    );
}
