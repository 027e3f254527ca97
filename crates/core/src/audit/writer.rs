//! The handle requests record through. A record is serialized by its own request, linked into
//! its chain by the [`AuditSink`], and the request waits only as long as the durability
//! contract asks: until the record was written (a read-only call) or synced (a call that
//! changed state, a service event). Concurrent requests share the sink's writes and syncs.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::chain::Prepared;
use super::event::Event;
use super::sink::{AuditSink, Durability};
use crate::error::{Error, Internal};
use crate::log_throttle::LogThrottle;
use crate::model::{AccountId, Region};
use crate::telemetry;

/// The handle requests and the scheduler record through. Cloning shares the sink.
#[derive(Clone)]
pub struct AuditLog {
    sink: Option<Arc<dyn AuditSink>>,
}

/// The failure log line, at most once a minute.
static WRITE_FAILED: LogThrottle = LogThrottle::new(Duration::from_secs(60));

impl AuditLog {
    /// Records into `sink`.
    pub fn new(sink: Arc<dyn AuditSink>) -> Self {
        Self { sink: Some(sink) }
    }

    /// A log that records nothing: only for measuring what auditing costs (`serve
    /// --benchmark-without-audit`), never for real use.
    pub fn disabled() -> Self {
        Self { sink: None }
    }

    /// The sink, when records are kept.
    pub fn sink(&self) -> Option<&Arc<dyn AuditSink>> {
        self.sink.as_ref()
    }

    /// Whether records can be written, as far as the sink knows.
    pub fn is_writable(&self) -> bool {
        self.sink.as_ref().is_none_or(|sink| sink.is_writable())
    }

    /// Whether records are kept: callers skip building records for a log that drops them, so
    /// that the benchmark's audit-off server does none of the audit's work.
    pub fn is_enabled(&self) -> bool {
        self.sink.is_some()
    }

    /// Appends `event` to the chain of `account` in `region` and returns once it is as durable
    /// as the contract asks: written for a read-only call, synced otherwise.
    pub async fn record(
        &self,
        account: &AccountId,
        region: &Region,
        time: OffsetDateTime,
        event: Event,
    ) -> Result<(), Error> {
        let Some(sink) = &self.sink else {
            return Ok(());
        };
        let durability = if event.read_only {
            Durability::Written
        } else {
            Durability::Synced
        };
        let prepared = Prepared::new(account, region, time, event)?;
        let outcome = match sink.append(prepared) {
            Ok(ticket) => sink.settle(ticket, durability).await,
            Err(error) => Err(error),
        };
        outcome.map_err(|error| {
            metrics::counter!(telemetry::AUDIT_COMMIT_FAILURES).increment(1);
            if let Some(left_out) = WRITE_FAILED.allow() {
                tracing::error!(
                    ?error,
                    similar_failures_not_logged = left_out,
                    "audit record not written"
                );
            }
            let public = match error.kind() {
                crate::store::StoreErrorKind::NoSpace => crate::messages::STORAGE_FULL,
                _ => crate::messages::INTERNAL_ERROR,
            };
            Internal::with_public(
                "audit",
                format!("the audit record could not be written: {error}"),
                public,
            )
            .into()
        })
    }
}
