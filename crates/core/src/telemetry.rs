//! The metrics the KMS core records (through the `metrics` facade, a no-op until the server
//! installs a recorder): their names and help texts.

/// Key lookups served by the in-memory cache or not, by `result` (`hit`, `miss`).
pub const KEY_CACHE_LOOKUPS: &str = "strongbox_key_cache_lookups_total";
/// Time to write one batch of audit records to the journal (one `write(2)`).
pub const AUDIT_WRITE_SECONDS: &str = "strongbox_audit_write_seconds";
/// Audit records per written batch.
pub const AUDIT_BATCH_RECORDS: &str = "strongbox_audit_batch_records";
/// Time to sync the audit journal to stable storage (one `fdatasync(2)`).
pub const AUDIT_SYNC_SECONDS: &str = "strongbox_audit_sync_seconds";
/// Audit records that could not be written (their calls were answered with an error).
pub const AUDIT_COMMIT_FAILURES: &str = "strongbox_audit_commit_failures_total";

/// Registers the help texts with the installed recorder.
pub fn describe() {
    use metrics::{describe_counter, describe_histogram};
    describe_counter!(
        KEY_CACHE_LOOKUPS,
        "Key lookups by id, answered from the in-memory cache (hit) or the store (miss)."
    );
    describe_histogram!(
        AUDIT_WRITE_SECONDS,
        metrics::Unit::Seconds,
        "Time to write one batch of audit records to the journal (one write(2))."
    );
    describe_histogram!(
        AUDIT_BATCH_RECORDS,
        metrics::Unit::Count,
        "Audit records per written batch."
    );
    describe_histogram!(
        AUDIT_SYNC_SECONDS,
        metrics::Unit::Seconds,
        "Time to sync the audit journal to stable storage (one fdatasync(2))."
    );
    describe_counter!(
        AUDIT_COMMIT_FAILURES,
        "Audit records that could not be written (their calls were answered with an error)."
    );
}
