//! The lifecycle scheduler inside `strongbox serve`: performs due rotations and deletions every
//! interval, and at once when woken (RotateKeyOnDemand, the dev clock); writes the hourly audit
//! digests and applies audit retention.
//!
//! Exactly-once is decided in the store (see `strongbox_core::Kms::perform_due_work`), so
//! several servers sharing a store may all run schedulers.

use std::sync::Arc;
use std::time::Duration;

use strongbox_core::Kms;
use strongbox_core::kms::DueWork;
use tokio::sync::{Notify, watch};

/// Items taken from the store per batch.
const BATCH: u32 = 256;
/// Batches per pass at most, so that one pass ends even if items keep failing.
const MAX_BATCHES: usize = 1024;

/// How often every chain gets a digest, records or not (CloudTrail: hourly).
pub const DIGEST_PERIOD: time::Duration = time::Duration::HOUR;
/// How often retention runs (it reads every chain's digests).
const PRUNE_PERIOD: time::Duration = time::Duration::HOUR;

/// The audit trail's scheduled work.
#[derive(Clone)]
pub struct AuditSchedule {
    /// The Regions whose chains get digests.
    pub regions: Vec<strongbox_core::model::Region>,
    /// How long records are kept; `None` keeps them forever.
    pub retention: Option<time::Duration>,
    /// Where each new digest's head is anchored outside the host, if anywhere.
    pub anchors: Option<Arc<crate::audit::anchor::Anchors>>,
}

/// Runs scheduled work for one server.
pub struct Scheduler {
    kms: Arc<Kms>,
    interval: Duration,
    wake: Notify,
    audit: Option<AuditSchedule>,
    /// When retention last ran (service clock).
    last_prune: std::sync::Mutex<Option<time::OffsetDateTime>>,
    /// Set when the server stops: a digest pass under way gives up at its next page.
    stopping: std::sync::atomic::AtomicBool,
    /// Held for the length of a pass: a pass asked for (the dev clock) waits for one under way,
    /// so two never sign the same chain's digests at once.
    pass: tokio::sync::Mutex<()>,
    /// Becomes true when the start's pass has ended, so that moving the dev clock cannot run
    /// before it and leave the start's work (its digests) to the moved time.
    first_pass_done: watch::Sender<bool>,
}

impl Scheduler {
    /// A scheduler that runs every `interval`, with the audit trail's work when `audit` is set.
    pub fn new(kms: Arc<Kms>, interval: Duration, audit: Option<AuditSchedule>) -> Self {
        Self {
            kms,
            interval,
            wake: Notify::new(),
            audit,
            last_prune: std::sync::Mutex::new(None),
            stopping: std::sync::atomic::AtomicBool::new(false),
            pass: tokio::sync::Mutex::new(()),
            first_pass_done: watch::Sender::new(false),
        }
    }

    /// Waits until the pass `run` makes at start has ended.
    pub async fn after_first_pass(&self) {
        let mut done = self.first_pass_done.subscribe();
        // The sender lives in `self`, so the channel cannot close while this waits.
        let _ = done.wait_for(|done| *done).await;
    }

    /// Asks a pass under way to give up its audit digests (the server is stopping); the
    /// scheduler itself ends when `run`'s stop signal changes.
    pub fn stop_soon(&self) {
        self.stopping
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Asks for a pass now (coalesced with one already pending).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// One pass: every item due now, in batches, then the audit trail's digests and retention.
    pub async fn run_once(&self) -> DueWork {
        let _pass = self.pass.lock().await;
        if self.kms.seal_status().sealed {
            // Nothing can be rotated, deleted or signed until an operator unseals.
            return DueWork::default();
        }
        let work = self.perform_due_work().await;
        if let Some(audit) = &self.audit {
            self.audit_work(audit).await;
        }
        work
    }

    async fn audit_work(&self, audit: &AuditSchedule) {
        let written = match self
            .kms
            .write_due_digests(&audit.regions, DIGEST_PERIOD, &self.stopping)
            .await
        {
            Ok(written) => written,
            Err(error) => {
                tracing::error!(?error, "audit digests not written; retrying next pass");
                Vec::new()
            }
        };
        if let Some(anchors) = &audit.anchors {
            match anchors.publish(&self.kms, &written).await {
                Ok(0) => {}
                Ok(count) => tracing::debug!(count, "audit anchors delivered"),
                Err(error) => {
                    metrics::counter!(crate::telemetry::AUDIT_ANCHOR_FAILURES).increment(1);
                    tracing::error!(%error, "audit anchors not delivered; retrying next pass");
                }
            }
        }
        let Some(retention) = audit.retention else {
            return;
        };
        let now = self.kms.clock().now();
        let due = {
            let mut last = self
                .last_prune
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let due = last.is_none_or(|at| now - at >= PRUNE_PERIOD);
            if due {
                *last = Some(now);
            }
            due
        };
        if due && let Err(error) = self.kms.prune_audit(retention).await {
            tracing::error!(?error, "audit retention failed; retrying next hour");
        }
    }

    async fn perform_due_work(&self) -> DueWork {
        let mut total = DueWork::default();
        for _ in 0..MAX_BATCHES {
            match self.kms.perform_due_work(BATCH).await {
                Ok(work) => {
                    total.found += work.found;
                    total.rotated += work.rotated;
                    total.deleted += work.deleted;
                    let progressed = work.rotated + work.deleted > 0;
                    if work.found < BATCH as usize || !progressed {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(?error, "scheduler pass failed; retrying next interval");
                    break;
                }
            }
        }
        total
    }

    /// Runs passes until `stop` changes; the pass in progress finishes first.
    pub async fn run(self: Arc<Self>, mut stop: watch::Receiver<()>) {
        let mut due = tokio::time::Instant::now();
        loop {
            // How late this pass starts against its schedule: a busy runtime or a long previous
            // pass shows here before keys rotate late.
            let lag = tokio::time::Instant::now().saturating_duration_since(due);
            metrics::gauge!(crate::telemetry::SCHEDULER_LAG_SECONDS).set(lag.as_secs_f64());
            self.run_once().await;
            self.first_pass_done.send_replace(true);
            due = tokio::time::Instant::now() + self.interval;
            tokio::select! {
                () = tokio::time::sleep_until(due) => {}
                () = self.wake.notified() => due = tokio::time::Instant::now(),
                _ = stop.changed() => break,
            }
        }
    }
}

/// Parses `--scheduler-interval`: seconds as a plain number, or with a unit (`1s`, `5m`, `2h`);
/// at least one second.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    parse_duration("scheduler interval", text)
}

/// Parses a duration setting named `setting` (for messages): seconds as a plain number, or with
/// a unit (`1s`, `5m`, `2h`); at least one second.
pub fn parse_duration(setting: &str, text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(split) => text.split_at(split),
        None => (text, "s"),
    };
    let unclear = || format!("{setting} '{text}': use seconds (60), or 30s, 5m, 1h");
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(unclear()),
    };
    let count: u64 = number.parse().map_err(|_| unclear())?;
    let seconds = count
        .checked_mul(scale)
        .ok_or_else(|| format!("{setting} '{text}' is too long"))?;
    if seconds < 1 {
        return Err(format!("{setting} '{text}' must be at least 1 second"));
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("1").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_interval("1s").unwrap(), Duration::from_secs(1));
        assert_eq!(parse_interval("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_interval("2h").unwrap(), Duration::from_secs(7200));
        for bad in [
            "0",
            "0s",
            "",
            "s",
            "5x",
            "-1",
            "1.5",
            "99999999999999999999h",
        ] {
            assert!(parse_interval(bad).is_err(), "{bad}");
        }
    }
}
