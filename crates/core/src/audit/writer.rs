//! Group commit: one writer task sequences records into their chains and commits whatever has
//! queued up in one store transaction, then answers every waiting request. A request's response
//! leaves only after its record is durable; concurrent requests share the commit, so the cost
//! per request stays at a fraction of one fsync.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use super::chain::{self, Head};
use super::event::Event;
use crate::error::{Error, Internal};
use crate::log_throttle::LogThrottle;
use crate::model::{AccountId, Region};
use crate::store::Store;
use crate::telemetry;

/// Records waiting for the writer, at most; further requests wait for room (backpressure).
const QUEUE: usize = 8192;
/// Records per transaction, at most.
const MAX_BATCH: usize = 1024;
/// How long the writer waits at most for records of requests still being worked on before it
/// commits (PostgreSQL's `commit_delay` idea: one fsync for more requests).
/// (Tokio's timers have millisecond resolution.)
const GATHER_WINDOW: Duration = Duration::from_millis(1);

/// A record on its way to the store, with the request waiting for it.
struct Pending {
    account: AccountId,
    region: Region,
    time: OffsetDateTime,
    event: Event,
    done: oneshot::Sender<Result<(), Error>>,
}

/// The handle requests and the scheduler record through. Cloning shares the writer.
#[derive(Clone)]
pub struct AuditLog {
    sender: Option<mpsc::Sender<Pending>>,
    /// Requests being worked on that will record (see [`AuditLog::working`]).
    working: Arc<AtomicUsize>,
    /// Whether the last commit failed, and when (readiness reports it for a while; see
    /// [`AuditLog::is_writable`]).
    failing: Arc<Failing>,
}

/// How long a failed commit makes [`AuditLog::is_writable`] false without a success since.
pub const FAILURE_REMEMBERED: Duration = Duration::from_secs(30);

/// The last commit's failure, if it failed: when, as an [`std::time::Instant`] behind a lock.
#[derive(Default)]
struct Failing(std::sync::Mutex<Option<std::time::Instant>>);

impl Failing {
    fn set(&self, failed: bool) {
        let mut last = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *last = failed.then(std::time::Instant::now);
    }

    fn recent(&self) -> bool {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some_and(|at| at.elapsed() < FAILURE_REMEMBERED)
    }
}

/// The writer's failure log line, at most once a minute.
static COMMIT_FAILED: LogThrottle = LogThrottle::new(Duration::from_secs(60));

/// A request at work that will soon record: while any are, the writer waits briefly for their
/// records so that they share its next commit. Dropped when its work is done, before it records.
pub struct Working(Arc<AtomicUsize>);

impl Drop for Working {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl AuditLog {
    /// Starts the writer on the current Tokio runtime. It ends when every handle is dropped,
    /// after committing what was queued.
    pub fn start(store: Arc<dyn Store>) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let working = Arc::new(AtomicUsize::new(0));
        let failing = Arc::new(Failing::default());
        tokio::spawn(write_loop(
            store,
            receiver,
            Arc::clone(&working),
            Arc::clone(&failing),
        ));
        Self {
            sender: Some(sender),
            working,
            failing,
        }
    }

    /// A log that records nothing: only for measuring what auditing costs (`serve
    /// --benchmark-without-audit`), never for real use.
    pub fn disabled() -> Self {
        Self {
            sender: None,
            working: Arc::new(AtomicUsize::new(0)),
            failing: Arc::new(Failing::default()),
        }
    }

    /// Whether records can be written, as far as the writer knows: false after a failed commit
    /// until one succeeds, for [`FAILURE_REMEMBERED`] at most. A server taken out of service for
    /// being unready gets no calls to commit, so readiness must not wait for a success forever.
    pub fn is_writable(&self) -> bool {
        !self.failing.recent()
    }

    /// Whether records are kept: callers skip building records for a log that drops them, so
    /// that the benchmark's audit-off server does none of the audit's work.
    pub fn is_enabled(&self) -> bool {
        self.sender.is_some()
    }

    /// Marks a request as at work until the returned guard drops, which must be before it
    /// records. Take it once the request's body has arrived (a slow client must not hold
    /// commits back).
    pub fn working(&self) -> Working {
        self.working.fetch_add(1, Ordering::Relaxed);
        Working(Arc::clone(&self.working))
    }

    /// Appends `event` to the chain of `account` in `region` and returns once it is durable.
    pub async fn record(
        &self,
        account: &AccountId,
        region: &Region,
        time: OffsetDateTime,
        event: Event,
    ) -> Result<(), Error> {
        let Some(sender) = &self.sender else {
            return Ok(());
        };
        let (done, committed) = oneshot::channel();
        let pending = Pending {
            account: *account,
            region: *region,
            time,
            event,
            done,
        };
        sender.send(pending).await.map_err(|_| stopped())?;
        committed.await.map_err(|_| stopped())?
    }
}

fn stopped() -> Error {
    Internal::new("audit", "the audit writer has stopped").into()
}

async fn write_loop(
    store: Arc<dyn Store>,
    mut receiver: mpsc::Receiver<Pending>,
    working: Arc<AtomicUsize>,
    failing: Arc<Failing>,
) {
    let mut heads: HashMap<(AccountId, Region), Head> = HashMap::new();
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        gather(&mut receiver, &mut batch, &working).await;
        let committed = commit(store.as_ref(), &mut heads, &mut batch).await;
        failing.set(!committed);
    }
}

/// Takes in the records of requests still at work, waiting for them (without spinning) for at
/// most [`GATHER_WINDOW`]: every request already working then shares the coming commit (one
/// fsync) instead of waiting for the one after. Returns at once when no request is at work.
async fn gather(
    receiver: &mut mpsc::Receiver<Pending>,
    batch: &mut Vec<Pending>,
    working: &AtomicUsize,
) {
    let deadline = tokio::time::Instant::now() + GATHER_WINDOW;
    loop {
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(pending) => batch.push(pending),
                Err(_) => break,
            }
        }
        if working.load(Ordering::Relaxed) == 0 || batch.len() >= MAX_BATCH {
            return;
        }
        match tokio::time::timeout_at(deadline, receiver.recv()).await {
            Ok(Some(pending)) => batch.push(pending),
            Ok(None) | Err(_) => return,
        }
    }
}

/// Sequences and commits one batch, then answers its requests. On failure every request of the
/// batch gets the error and the cached heads are dropped, to be read again from the store.
/// Returns whether the batch was committed.
async fn commit(
    store: &dyn Store,
    heads: &mut HashMap<(AccountId, Region), Head>,
    batch: &mut Vec<Pending>,
) -> bool {
    let mut records = Vec::with_capacity(batch.len());
    let mut waiting = Vec::with_capacity(batch.len());
    let mut failure = None;
    for pending in batch.drain(..) {
        let chain = (pending.account, pending.region);
        let head = match heads.get_mut(&chain) {
            Some(head) => head,
            None => match store.audit_head(&chain.0, &chain.1).await {
                Ok(head) => heads.entry(chain).or_insert(head),
                Err(error) => {
                    failure = Some(Error::from(error));
                    waiting.push(pending.done);
                    continue;
                }
            },
        };
        match chain::append(
            head,
            &pending.account,
            &pending.region,
            pending.time,
            pending.event,
        ) {
            Ok(record) => records.push(record),
            Err(error) => failure = Some(error),
        }
        waiting.push(pending.done);
    }
    let started = std::time::Instant::now();
    let outcome = match failure {
        Some(error) => Err(error),
        None => store.append_audit(&records).await.map_err(Error::from),
    };
    metrics::histogram!(telemetry::AUDIT_COMMIT_SECONDS).record(started.elapsed().as_secs_f64());
    #[allow(clippy::cast_precision_loss)] // at most MAX_BATCH records
    metrics::histogram!(telemetry::AUDIT_BATCH_RECORDS).record(records.len() as f64);
    if let Err(error) = &outcome {
        metrics::counter!(telemetry::AUDIT_COMMIT_FAILURES).increment(1);
        if let Some(left_out) = COMMIT_FAILED.allow() {
            tracing::error!(
                ?error,
                records = records.len(),
                similar_failures_not_logged = left_out,
                "audit records not committed"
            );
        }
        heads.clear();
    }
    let public = match &outcome {
        Err(Error::Internal(internal)) => internal.public(),
        _ => crate::messages::INTERNAL_ERROR,
    };
    for done in waiting {
        let answer = match &outcome {
            Ok(()) => Ok(()),
            Err(_) => Err(Internal::with_public(
                "audit",
                "the audit record could not be committed",
                public,
            )
            .into()),
        };
        let _ = done.send(answer);
    }
    outcome.is_ok()
}
