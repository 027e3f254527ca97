//! The audit journal: the embedded engine's [`AuditSink`], an append-only journal of segment
//! files in `<data-dir>/audit/`.
//!
//! - **Writing.** A request links its record into its chain under a short lock and queues the
//!   frame; the first request to settle writes everything queued with one `write(2)` to the
//!   open segment, on its own thread (no hand-off), and the others find theirs written. A
//!   syncer thread `fdatasync`s the segment within the sync interval, at once when a record
//!   asks to be synced (state changes, service events, `--audit-sync=always`).
//! - **Segments.** The open segment (`N.log`) rolls at its size limit or when the hour of its
//!   records changes; a sealer thread rewrites each closed segment as `N.sealed` (each chain's
//!   records together in blocks, with Bloom filters of the lookup values; see [`sealed`]).
//! - **Recovery.** An `OPEN` marker lives while a writer has the journal. Finding it at open
//!   means an unclean stop: a torn tail is cut and [`AuditSink::take_recovery`] reports every
//!   chain, so that each records the recovery.
//! - **Readers.** `strongbox audit verify` and export open the journal read-only next to a
//!   running server: they never write, cut or seal, and read what is intact.
//!
//! The frame and sealed formats are described in `docs/design/audit-chain.md`.

mod filter;
mod frame;
mod read;
mod sealed;

use crate::rows::millis;
use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use strongbox_core::audit::chain::{self, Head, Prepared};
use strongbox_core::audit::{AuditRecord, AuditSink, Durability, LookupQuery, Recovery, Ticket};
use strongbox_core::model::{AccountId, Region};
use strongbox_core::{StoreError, StoreErrorKind, telemetry};
use tokio::sync::watch;

pub use sealed::Compression;

/// A chain: an account in a Region.
pub(crate) type Chain = (AccountId, Region);

/// When records are synced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// Read-only calls' records within the interval; the others before their answer.
    Interval,
    /// Every record before its answer.
    Always,
}

/// How the journal writes.
#[derive(Clone, Debug)]
pub struct JournalOptions {
    /// When records are synced.
    pub sync: SyncMode,
    /// The longest a written record waits for its sync ([`SyncMode::Interval`]).
    pub sync_interval: Duration,
    /// The size at which the open segment rolls.
    pub segment_bytes: u64,
    /// How sealed segments store their blocks.
    pub compression: Compression,
}

impl Default for JournalOptions {
    fn default() -> Self {
        Self {
            sync: SyncMode::Interval,
            sync_interval: Duration::from_millis(10),
            segment_bytes: 64 << 20,
            compression: Compression::None,
        }
    }
}

/// The sealer's read buffer is kept between segments up to this capacity (it reads a
/// megabyte at a time; only a frame longer than that grows it).
const SEAL_BUFFER_KEPT: usize = 4 << 20;
/// The first bytes of an open segment.
const LOG_MAGIC: &[u8; 8] = b"SBJLOG01";
/// Present while a writer has the journal open.
const OPEN_MARKER: &str = "OPEN";
/// Locked by the writer.
const LOCK_FILE: &str = "LOCK";
/// Milliseconds per hour: segments roll when the hour of their records changes.
const HOUR_MS: i64 = 3_600_000;
/// How long a failed write makes the journal report itself unwritable (readiness).
const FAILURE_REMEMBERED: Duration = Duration::from_secs(30);

/// The audit journal. Clones share it.
#[derive(Clone)]
pub struct Journal {
    inner: Arc<Inner>,
}

struct Inner {
    dir: PathBuf,
    options: JournalOptions,
    /// Records linked and queued, not yet written.
    tail: Mutex<Tail>,
    /// The open segment; `None` for a reader, or once closed.
    writer: Mutex<Option<Writer>>,
    /// Every ticket up to this one is written, or failed.
    written: AtomicU64,
    /// Woken after each write.
    written_notify: tokio::sync::Notify,
    metrics: Metrics,
    /// Tickets that failed, as inclusive ranges (the newest few).
    failures: Mutex<Vec<(u64, u64)>>,
    /// When a write last failed.
    last_failure: Mutex<Option<Instant>>,
    /// Every ticket up to this one is synced.
    synced: watch::Sender<u64>,
    /// An fsync failed: what was written since the previous sync may be lost, so nothing is
    /// acknowledged as synced any more (until a restart recovers the journal).
    broken: AtomicBool,
    sync: Mutex<SyncState>,
    sync_wake: Condvar,
    seal: Mutex<SealState>,
    seal_wake: Condvar,
    index: RwLock<Index>,
    /// The sealed segments' blocks and filters readers used last (apart from the index, so
    /// that reading them from disk never holds the index's lock).
    details: sealed::Details,
    recovery: Mutex<Option<Recovery>>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// The writer's lock on `LOCK`, held while open.
    lock: Mutex<Option<File>>,
    /// Opened to read only: reads first catch up with the files.
    reader: bool,
}

/// The journal's metric handles, looked up once (a lookup per record costs a hash of the name).
struct Metrics {
    write_seconds: metrics::Histogram,
    batch_records: metrics::Histogram,
    sync_seconds: metrics::Histogram,
}

impl Metrics {
    fn new() -> Self {
        Self {
            write_seconds: metrics::histogram!(telemetry::AUDIT_WRITE_SECONDS),
            batch_records: metrics::histogram!(telemetry::AUDIT_BATCH_RECORDS),
            sync_seconds: metrics::histogram!(telemetry::AUDIT_SYNC_SECONDS),
        }
    }
}

#[derive(Default)]
struct Tail {
    heads: HashMap<Chain, Head>,
    frames: Vec<u8>,
    queued: Vec<Queued>,
    /// The last ticket given.
    last: u64,
    closed: bool,
}

impl Tail {
    /// Frames a linked record (its bytes in `parts`) and queues it; returns its ticket.
    fn queue(
        &mut self,
        chain: Chain,
        sequence: u64,
        hash: [u8; 32],
        time_ms: i64,
        parts: &[&[u8]],
    ) -> u64 {
        let at = self.frames.len();
        frame::encode(
            &mut self.frames,
            &chain.0,
            &chain.1,
            sequence,
            time_ms,
            parts,
        );
        self.queued.push(Queued {
            chain,
            sequence,
            time_ms,
            at,
            length: self.frames.len() - at,
            hash,
        });
        self.last += 1;
        self.last
    }
}

/// A queued frame: where it sits in [`Tail::frames`] and what the index needs of it.
struct Queued {
    chain: Chain,
    sequence: u64,
    time_ms: i64,
    at: usize,
    length: usize,
    hash: [u8; 32],
}

struct Writer {
    number: u64,
    file: Arc<File>,
    length: u64,
    /// The hour of the segment's first record.
    hour: Option<i64>,
    /// Each chain's newest written record.
    heads: HashMap<Chain, Head>,
    /// Emptied buffers of the last batch, traded for the queue's at the next.
    spare_frames: Vec<u8>,
    spare_queued: Vec<Queued>,
}

#[derive(Default)]
struct SyncState {
    /// The highest ticket a waiter asked to be synced.
    requested: u64,
    /// When the oldest unsynced write happened.
    dirty_since: Option<Instant>,
    stop: bool,
}

#[derive(Default)]
struct SealState {
    pending: std::collections::BTreeSet<u64>,
    stop: bool,
}

#[derive(Default)]
pub(crate) struct Index {
    pub(crate) sealed: BTreeMap<u64, Arc<sealed::Sealed>>,
    pub(crate) raw: BTreeMap<u64, Raw>,
    /// Per chain, the last pruned sequence: records through it are no longer read.
    pub(crate) floors: HashMap<Chain, u64>,
}

/// An unsealed segment: its file and where each chain's records are.
pub(crate) struct Raw {
    pub(crate) file: Arc<File>,
    pub(crate) chains: HashMap<Chain, Vec<Entry>>,
    /// Where its intact frames end, as far as read (a reader continues from there).
    scanned: u64,
    /// Bytes after `scanned` that are not an intact frame (yet).
    unreadable: u64,
}

/// One record of an unsealed segment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    pub(crate) offset: u64,
    pub(crate) length: u32,
    pub(crate) sequence: u64,
    pub(crate) time_ms: i64,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn io_error(error: std::io::Error) -> StoreError {
    let kind = match error.raw_os_error() {
        Some(code) if code == rustix::io::Errno::NOSPC.raw_os_error() => StoreErrorKind::NoSpace,
        Some(code) if code == rustix::io::Errno::DQUOT.raw_os_error() => StoreErrorKind::NoSpace,
        _ => StoreErrorKind::Unavailable,
    };
    StoreError::new(kind, error)
}

fn closed() -> StoreError {
    StoreError::new(StoreErrorKind::Unavailable, "the audit journal is closed")
}

/// Syncs the directory holding `path`, so that a file created or renamed there stays.
pub(crate) fn sync_directory(path: &Path) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io_error)
}

fn segment_path(dir: &Path, number: u64, extension: &str) -> PathBuf {
    dir.join(format!("{number:020}.{extension}"))
}

impl Journal {
    /// Opens the journal in `dir` to write (creating it), recovering from an unclean stop.
    /// Fails when another process writes it.
    pub fn open(dir: &Path, options: JournalOptions) -> Result<Self, StoreError> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io_error)?;
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(dir.join(LOCK_FILE))
            .map_err(io_error)?;
        rustix::fs::flock(
            &lock_file,
            rustix::fs::FlockOperation::NonBlockingLockExclusive,
        )
        .map_err(|_| {
            StoreError::new(
                StoreErrorKind::Unavailable,
                format!(
                    "another process writes the audit journal in {}",
                    dir.display()
                ),
            )
        })?;
        let unclean = dir.join(OPEN_MARKER).exists();
        let found = scan(dir, true)?;
        let number = found
            .index
            .sealed
            .keys()
            .chain(found.index.raw.keys())
            .max()
            .map_or(1, |n| n + 1);
        let pending = found.index.raw.keys().copied().collect();
        let recovery = unclean.then(|| Recovery {
            torn_bytes: found.torn_bytes,
            chains: sorted(
                found
                    .heads
                    .iter()
                    .map(|(chain, head)| (*chain, *head))
                    .collect(),
            ),
        });
        File::create(dir.join(OPEN_MARKER))
            .and_then(|marker| marker.sync_all())
            .map_err(io_error)?;
        let journal = Self::assemble(dir, options, found, recovery, Some(lock_file));
        let writer = journal
            .inner
            .create_segment(number, &journal.inner.tail_heads())?;
        *lock(&journal.inner.writer) = Some(writer);
        lock(&journal.inner.seal).pending = pending;
        journal.start_threads()?;
        Ok(journal)
    }

    /// Opens the journal in `dir` to read only, as it is now (a server may be writing it).
    pub fn open_reader(dir: &Path) -> Result<Self, StoreError> {
        let found = if dir.exists() {
            scan(dir, false)?
        } else {
            Found::default()
        };
        let journal = Self::assemble(dir, JournalOptions::default(), found, None, None);
        lock(&journal.inner.tail).closed = true;
        Ok(journal)
    }

    fn assemble(
        dir: &Path,
        options: JournalOptions,
        found: Found,
        recovery: Option<Recovery>,
        lock_file: Option<File>,
    ) -> Self {
        let tail = Tail {
            heads: found.heads,
            ..Tail::default()
        };
        Self {
            inner: Arc::new(Inner {
                dir: dir.to_owned(),
                options,
                tail: Mutex::new(tail),
                writer: Mutex::new(None),
                written: AtomicU64::new(0),
                written_notify: tokio::sync::Notify::new(),
                metrics: Metrics::new(),
                failures: Mutex::new(Vec::new()),
                last_failure: Mutex::new(None),
                synced: watch::Sender::new(0),
                broken: AtomicBool::new(false),
                sync: Mutex::new(SyncState::default()),
                sync_wake: Condvar::new(),
                seal: Mutex::new(SealState::default()),
                seal_wake: Condvar::new(),
                index: RwLock::new(found.index),
                details: sealed::Details::default(),
                recovery: Mutex::new(recovery),
                threads: Mutex::new(Vec::new()),
                reader: lock_file.is_none(),
                lock: Mutex::new(lock_file),
            }),
        }
    }

    fn start_threads(&self) -> Result<(), StoreError> {
        let syncer = Arc::clone(&self.inner);
        let sealer = Arc::clone(&self.inner);
        let threads = [
            std::thread::Builder::new()
                .name("audit-sync".to_owned())
                .spawn(move || syncer.sync_loop()),
            std::thread::Builder::new()
                .name("audit-seal".to_owned())
                .spawn(move || sealer.seal_loop()),
        ];
        for thread in threads {
            lock(&self.inner.threads).push(thread.map_err(io_error)?);
        }
        Ok(())
    }

    /// Segments and bytes on disk, for reports: `(sealed, unsealed, bytes, records in sealed
    /// segments, their bytes before compression)`.
    pub fn footprint(&self) -> (usize, usize, u64, u64, u64) {
        let index = self.inner.read_index();
        let sealed_bytes: u64 = index.sealed.values().map(|s| s.bytes).sum();
        let raw_bytes: u64 = index
            .raw
            .values()
            .map(|raw| raw.file.metadata().map_or(0, |m| m.len()))
            .sum();
        let records = index.sealed.values().map(|s| s.records).sum();
        let raw_of_sealed = index.sealed.values().map(|s| s.raw_bytes).sum();
        (
            index.sealed.len(),
            index.raw.len(),
            sealed_bytes + raw_bytes,
            records,
            raw_of_sealed,
        )
    }

    /// Stops as a killed process would: no more writes or syncs, the lock released, the `OPEN`
    /// marker left behind and queued records lost (crash tests).
    pub async fn abandon(&self) {
        let inner = Arc::clone(&self.inner);
        let _ = tokio::task::spawn_blocking(move || {
            lock(&inner.tail).closed = true;
            inner.stop_threads();
            lock(&inner.writer).take();
            lock(&inner.lock).take();
        })
        .await;
    }

    /// Rolls the open segment now and waits until every closed segment is sealed (tests and
    /// benchmarks; the server rolls by size and hour).
    pub async fn seal_now(&self) -> Result<(), StoreError> {
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            inner.write_through(u64::MAX)?;
            {
                let mut writer = lock(&inner.writer);
                let writer = writer.as_mut().ok_or_else(closed)?;
                inner.roll(writer)?;
            }
            loop {
                let pending = !lock(&inner.seal).pending.is_empty();
                if !pending {
                    return Ok(());
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
        .await
    }
}

fn sorted(mut chains: Vec<(Chain, Head)>) -> Vec<(Chain, Head)> {
    chains.sort_unstable_by(|a, b| {
        (a.0.0.as_str(), a.0.1.as_str()).cmp(&(b.0.0.as_str(), b.0.1.as_str()))
    });
    chains
}

/// What [`scan`] found in a journal directory.
#[derive(Default)]
struct Found {
    index: Index,
    heads: HashMap<Chain, Head>,
    torn_bytes: u64,
}

/// Reads a journal directory: sealed summaries, and the intact frames of unsealed segments.
/// A writer (`repair`) also removes what an interrupted seal left and cuts torn tails.
fn scan(dir: &Path, repair: bool) -> Result<Found, StoreError> {
    let listed = list(dir)?;
    if repair {
        for path in &listed.temporary {
            std::fs::remove_file(path).map_err(io_error)?;
        }
    }
    let raw_numbers = listed.raw;
    let mut found = Found::default();
    for number in listed.sealed {
        let path = segment_path(dir, number, "sealed");
        match sealed::open(&path, number) {
            Ok(segment) => {
                sealed_heads(&segment, &mut found.heads);
                found.index.sealed.insert(number, Arc::new(segment));
            }
            // A seal that did not finish is redone from its segment, when that is still there.
            Err(_) if repair && raw_numbers.contains(&number) => {
                std::fs::remove_file(&path).map_err(io_error)?;
            }
            Err(error) => return Err(error),
        }
    }
    for number in raw_numbers {
        let path = segment_path(dir, number, "log");
        if found.index.sealed.contains_key(&number) {
            if repair {
                std::fs::remove_file(&path).map_err(io_error)?;
            }
            continue;
        }
        let file = if repair {
            OpenOptions::new().read(true).write(true).open(&path)
        } else {
            File::open(&path)
        }
        .map_err(io_error)?;
        let mut raw = Raw {
            file: Arc::new(file),
            chains: HashMap::new(),
            scanned: 0,
            unreadable: 0,
        };
        let torn = read_more(&mut raw, &mut found.heads)?;
        if raw.scanned == 0 {
            // Created, but its first bytes never reached the disk.
            found.torn_bytes += torn;
            if repair {
                std::fs::remove_file(&path).map_err(io_error)?;
            }
            continue;
        }
        if torn > 0 {
            found.torn_bytes += torn;
            if repair {
                raw.file.set_len(raw.scanned).map_err(io_error)?;
                raw.file.sync_all().map_err(io_error)?;
                raw.unreadable = 0;
                tracing::warn!(segment = %path.display(), cut_bytes = torn, "a torn audit journal tail was cut");
            }
        }
        found.index.raw.insert(number, raw);
    }
    Ok(found)
}

/// The segment files of a journal directory, by number, and leftover temporary files.
struct Listed {
    sealed: Vec<u64>,
    raw: Vec<u64>,
    temporary: Vec<PathBuf>,
}

fn list(dir: &Path) -> Result<Listed, StoreError> {
    let mut listed = Listed {
        sealed: Vec::new(),
        raw: Vec::new(),
        temporary: Vec::new(),
    };
    for entry in std::fs::read_dir(dir).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        let number = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .and_then(|stem| stem.parse::<u64>().ok());
        match (number, path.extension().and_then(|e| e.to_str())) {
            (Some(number), Some("sealed")) => listed.sealed.push(number),
            (Some(number), Some("log")) => listed.raw.push(number),
            (Some(_), Some("tmp")) => listed.temporary.push(path),
            _ => {}
        }
    }
    listed.sealed.sort_unstable();
    listed.raw.sort_unstable();
    Ok(listed)
}

/// Moves `heads` forward to the last records of a sealed segment's chains.
fn sealed_heads(segment: &sealed::Sealed, heads: &mut HashMap<Chain, Head>) {
    for (&chain, span) in &segment.spans {
        advance(
            heads,
            chain,
            Head {
                sequence: span.last_sequence,
                hash: span.last_hash,
            },
        );
    }
}

/// Reads the frames an unsealed segment gained since [`Raw::scanned`] into its entries and
/// `heads`; returns how many bytes after the intact frames are not (yet) a whole frame.
fn read_more(raw: &mut Raw, heads: &mut HashMap<Chain, Head>) -> Result<u64, StoreError> {
    let length = raw.file.metadata().map_err(io_error)?.len();
    let from = raw.scanned.max(LOG_MAGIC.len() as u64);
    if raw.scanned == 0 {
        let mut magic = [0; LOG_MAGIC.len()];
        if length < LOG_MAGIC.len() as u64
            || raw.file.read_exact_at(&mut magic, 0).is_err()
            || &magic != LOG_MAGIC
        {
            raw.unreadable = length;
            return Ok(length);
        }
        raw.scanned = from;
    }
    if length <= from {
        raw.unreadable = 0;
        return Ok(0);
    }
    // A chunk at a time: a segment of 64 MiB or more is never in memory whole.
    let mut source = std::io::Read::take(
        frame::ReadAt {
            file: &raw.file,
            at: from,
        },
        length - from,
    );
    let mut at = from;
    let chains = &mut raw.chains;
    let walked = frame::read_each(&mut source, &mut Vec::new(), |frame, _| {
        let offset = at;
        at += frame.length as u64;
        let Some(chain) = frame.chain() else {
            return Ok(());
        };
        chains.entry(chain).or_default().push(Entry {
            offset,
            length: u32::try_from(frame.length).unwrap_or(u32::MAX),
            sequence: frame.sequence,
            time_ms: frame.time_ms,
        });
        advance(
            heads,
            chain,
            Head {
                sequence: frame.sequence,
                hash: strongbox_crypto::sha256(frame.record),
            },
        );
        Ok(())
    });
    // The frames indexed before a read error count as read, so that a retry does not index
    // them twice.
    raw.scanned = at;
    walked?;
    raw.unreadable = length - raw.scanned;
    Ok(raw.unreadable)
}

/// Moves a chain's head forward to `head` if it is newer.
fn advance(heads: &mut HashMap<Chain, Head>, chain: Chain, head: Head) {
    let current = heads.entry(chain).or_insert(Head::GENESIS);
    if head.sequence >= current.sequence {
        *current = head;
    }
}

impl Inner {
    fn read_index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_index(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// A reader's catch-up with the server writing the journal: sealed segments that appeared
    /// replace the unsealed ones they came from, new segments are read, grown ones read on.
    fn refresh(&self) -> Result<(), StoreError> {
        if !self.reader {
            return Ok(());
        }
        let listed = list(&self.dir)?;
        let mut index = self.write_index();
        let mut tail = lock(&self.tail);
        for number in listed.sealed {
            if index.sealed.contains_key(&number) {
                continue;
            }
            let segment = sealed::open(&segment_path(&self.dir, number, "sealed"), number)?;
            sealed_heads(&segment, &mut tail.heads);
            index.sealed.insert(number, Arc::new(segment));
            index.raw.remove(&number);
        }
        for number in listed.raw {
            if index.raw.contains_key(&number) || index.sealed.contains_key(&number) {
                continue;
            }
            let Ok(file) = File::open(segment_path(&self.dir, number, "log")) else {
                continue; // sealed and removed meanwhile: the next refresh finds it sealed
            };
            index.raw.insert(
                number,
                Raw {
                    file: Arc::new(file),
                    chains: HashMap::new(),
                    scanned: 0,
                    unreadable: 0,
                },
            );
        }
        for raw in index.raw.values_mut() {
            read_more(raw, &mut tail.heads)?;
        }
        Ok(())
    }

    /// A reader's sync: what it read of a running server's journal is made durable before a
    /// digest covers it.
    fn sync_read(&self) -> Result<(), StoreError> {
        for raw in self.read_index().raw.values() {
            raw.file.sync_data().map_err(io_error)?;
        }
        Ok(())
    }

    fn refresh_or_log(&self) {
        if let Err(error) = self.refresh() {
            tracing::warn!(?error, "the audit journal could not be read further");
        }
    }

    fn tail_heads(&self) -> HashMap<Chain, Head> {
        lock(&self.tail).heads.clone()
    }

    /// Creates segment `number` (empty but for its magic) and makes it the open one in the
    /// index.
    fn create_segment(
        &self,
        number: u64,
        heads: &HashMap<Chain, Head>,
    ) -> Result<Writer, StoreError> {
        let path = segment_path(&self.dir, number, "log");
        let mut file = OpenOptions::new()
            .create_new(true)
            .read(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(io_error)?;
        file.write_all(LOG_MAGIC).map_err(io_error)?;
        sync_directory(&path)?;
        let file = Arc::new(file);
        self.write_index().raw.insert(
            number,
            Raw {
                file: Arc::clone(&file),
                chains: HashMap::new(),
                scanned: LOG_MAGIC.len() as u64,
                unreadable: 0,
            },
        );
        Ok(Writer {
            number,
            file,
            length: LOG_MAGIC.len() as u64,
            hour: None,
            heads: heads.clone(),
            spare_frames: Vec::new(),
            spare_queued: Vec::new(),
        })
    }

    /// Closes the open segment (synced) and opens the next; the closed one is queued for
    /// sealing.
    fn roll(&self, writer: &mut Writer) -> Result<(), StoreError> {
        writer.file.sync_data().map_err(io_error)?;
        let next = self.create_segment(writer.number + 1, &writer.heads)?;
        let closed = std::mem::replace(writer, next);
        let mut seal = lock(&self.seal);
        seal.pending.insert(closed.number);
        self.seal_wake.notify_one();
        Ok(())
    }

    /// Writes every queued frame if ticket `target` is not written yet (one `write(2)`).
    fn write_through(&self, target: u64) -> Result<(), StoreError> {
        let mut guard = lock(&self.writer);
        if self.written.load(Ordering::Acquire) >= target {
            return Ok(());
        }
        let outcome = self.write_queued(&mut guard);
        drop(guard);
        self.written_notify.notify_waiters();
        outcome
    }

    /// A request's wait for its record to be written: the first to find the writer free
    /// writes everything queued (one `write(2)`, on its own thread); the others wait for that
    /// write without blocking their threads, and look again (their record may have been
    /// queued after it).
    async fn wait_written(&self, ticket: u64) -> Result<(), StoreError> {
        loop {
            if self.written.load(Ordering::Acquire) >= ticket {
                return Ok(());
            }
            let notified = self.written_notify.notified();
            let mut notified = std::pin::pin!(notified);
            notified.as_mut().enable();
            if self.written.load(Ordering::Acquire) >= ticket {
                return Ok(());
            }
            let outcome = match self.writer.try_lock() {
                Ok(mut guard) => Some(self.write_queued(&mut guard)),
                Err(std::sync::TryLockError::Poisoned(poisoned)) => {
                    Some(self.write_queued(&mut poisoned.into_inner()))
                }
                Err(std::sync::TryLockError::WouldBlock) => None,
            };
            match outcome {
                Some(written) => {
                    self.written_notify.notify_waiters();
                    written?;
                }
                None => notified.await,
            }
        }
    }

    /// Writes every queued frame with one `write(2)` (the caller holds the writer).
    fn write_queued(&self, guard: &mut Option<Writer>) -> Result<(), StoreError> {
        let Some(writer) = guard.as_mut() else {
            return Err(closed());
        };
        // The queue's buffers trade places with the writer's emptied ones, so that neither
        // grows from nothing again for each batch.
        let mut frames = std::mem::take(&mut writer.spare_frames);
        let mut queued = std::mem::take(&mut writer.spare_queued);
        let last = {
            let mut tail = lock(&self.tail);
            std::mem::swap(&mut tail.frames, &mut frames);
            std::mem::swap(&mut tail.queued, &mut queued);
            tail.last
        };
        let outcome = self.write_taken(writer, &frames, &queued, last);
        frames.clear();
        queued.clear();
        writer.spare_frames = frames;
        writer.spare_queued = queued;
        outcome
    }

    /// Writes a batch taken from the queue, or fails it and everything queued after it.
    fn write_taken(
        &self,
        writer: &mut Writer,
        frames: &[u8],
        queued: &[Queued],
        last: u64,
    ) -> Result<(), StoreError> {
        if queued.is_empty() {
            return Ok(());
        }
        let started = Instant::now();
        match self.write_batch(writer, frames, queued) {
            Ok(()) => {
                self.written.store(last, Ordering::Release);
                lock(&self.last_failure).take();
                self.metrics
                    .write_seconds
                    .record(started.elapsed().as_secs_f64());
                #[allow(clippy::cast_precision_loss)] // a batch is far below 2^52 records
                self.metrics.batch_records.record(queued.len() as f64);
                let mut sync = lock(&self.sync);
                if sync.dirty_since.is_none() {
                    sync.dirty_since = Some(Instant::now());
                    self.sync_wake.notify_one();
                }
                Ok(())
            }
            Err(error) => {
                // Nothing of the batch counts: cut what reached the file, fail it and every
                // record linked after it, and continue the chains from what was written.
                let _ = writer.file.set_len(writer.length);
                let mut tail = lock(&self.tail);
                let first = self.written.load(Ordering::Acquire) + 1;
                let failed_through = tail.last;
                tail.frames.clear();
                tail.queued.clear();
                tail.heads.clone_from(&writer.heads);
                let mut failures = lock(&self.failures);
                failures.push((first, failed_through));
                let excess = failures.len().saturating_sub(64);
                failures.drain(..excess);
                drop(failures);
                self.written.store(failed_through, Ordering::Release);
                *lock(&self.last_failure) = Some(Instant::now());
                Err(error)
            }
        }
    }

    fn write_batch(
        &self,
        writer: &mut Writer,
        frames: &[u8],
        queued: &[Queued],
    ) -> Result<(), StoreError> {
        let hour = queued.first().map(|q| q.time_ms.div_euclid(HOUR_MS));
        let full = writer.length + frames.len() as u64 > self.options.segment_bytes;
        let new_hour = writer.hour.is_some() && writer.hour != hour;
        if writer.length > LOG_MAGIC.len() as u64 && (full || new_hour) {
            self.roll(writer)?;
        }
        (&*writer.file).write_all(frames).map_err(io_error)?;
        let base = writer.length;
        writer.length += frames.len() as u64;
        writer.hour = writer.hour.or(hour);
        let mut index = self.write_index();
        let Some(raw) = index.raw.get_mut(&writer.number) else {
            return Ok(());
        };
        for q in queued {
            raw.chains.entry(q.chain).or_default().push(Entry {
                offset: base + q.at as u64,
                length: u32::try_from(q.length).unwrap_or(u32::MAX),
                sequence: q.sequence,
                time_ms: q.time_ms,
            });
            writer.heads.insert(
                q.chain,
                Head {
                    sequence: q.sequence,
                    hash: q.hash,
                },
            );
        }
        Ok(())
    }

    fn failed(&self, ticket: u64) -> bool {
        lock(&self.failures)
            .iter()
            .any(|(first, last)| (*first..=*last).contains(&ticket))
    }

    /// Waits until ticket `ticket` is synced.
    async fn wait_synced(&self, ticket: u64) -> Result<(), StoreError> {
        {
            let mut sync = lock(&self.sync);
            sync.requested = sync.requested.max(ticket);
            self.sync_wake.notify_one();
        }
        let mut synced = self.synced.subscribe();
        let reached = synced
            .wait_for(|synced| *synced >= ticket || self.broken.load(Ordering::Acquire))
            .await
            .map(|synced| *synced >= ticket);
        match reached {
            Ok(true) => Ok(()),
            _ => Err(StoreError::new(
                StoreErrorKind::Unavailable,
                "the audit journal could not be synced to stable storage",
            )),
        }
    }

    /// The syncer: syncs the open segment when a waiter asks, or when the oldest unsynced
    /// write is one interval old; writes what is queued first (a request that stopped
    /// waiting leaves its record queued).
    fn sync_loop(&self) {
        loop {
            let stop = {
                let mut sync = lock(&self.sync);
                loop {
                    if sync.stop || sync.requested > *self.synced.borrow() {
                        break;
                    }
                    match sync.dirty_since {
                        Some(since) => {
                            let due = since + self.options.sync_interval;
                            let now = Instant::now();
                            if now >= due {
                                break;
                            }
                            sync = self
                                .sync_wake
                                .wait_timeout(sync, due - now)
                                .unwrap_or_else(PoisonError::into_inner)
                                .0;
                        }
                        None => {
                            sync = self
                                .sync_wake
                                .wait(sync)
                                .unwrap_or_else(PoisonError::into_inner);
                        }
                    }
                }
                sync.dirty_since = None;
                sync.stop
            };
            let _ = self.write_through(u64::MAX);
            self.sync_once();
            if stop {
                return;
            }
        }
    }

    /// Syncs the open segment and publishes how far that reached.
    fn sync_once(&self) {
        let (file, upto) = {
            let writer = lock(&self.writer);
            let Some(writer) = writer.as_ref() else {
                return;
            };
            (
                Arc::clone(&writer.file),
                self.written.load(Ordering::Acquire),
            )
        };
        if upto <= *self.synced.borrow() {
            return;
        }
        let started = Instant::now();
        match file.sync_data() {
            Ok(()) => {
                self.metrics
                    .sync_seconds
                    .record(started.elapsed().as_secs_f64());
                self.synced.send_if_modified(|synced| {
                    let moved = upto > *synced;
                    *synced = (*synced).max(upto);
                    moved
                });
            }
            Err(error) => {
                tracing::error!(%error, "the audit journal could not be synced; no more records are acknowledged until a restart");
                self.broken.store(true, Ordering::Release);
                self.synced.send_modify(|_| {});
            }
        }
    }

    /// The sealer: seals closed segments, oldest first, reading each a chunk at a time through
    /// one buffer kept for the sealer's life (about a megabyte).
    fn seal_loop(&self) {
        let mut buffer = Vec::new();
        loop {
            let number = {
                let mut seal = lock(&self.seal);
                loop {
                    if seal.stop {
                        return;
                    }
                    if let Some(first) = seal.pending.first() {
                        break *first;
                    }
                    seal = self
                        .seal_wake
                        .wait(seal)
                        .unwrap_or_else(PoisonError::into_inner);
                }
            };
            let open = lock(&self.writer).as_ref().map(|writer| writer.number);
            if open != Some(number)
                && let Err(error) = self.seal_segment(number, &mut buffer)
            {
                tracing::error!(
                    segment = number,
                    ?error,
                    "an audit journal segment could not be sealed; it stays readable unsealed and is retried at the next start"
                );
            }
            lock(&self.seal).pending.remove(&number);
            if buffer.capacity() > SEAL_BUFFER_KEPT {
                // Grown for one long frame: not kept for the next segment.
                buffer = Vec::new();
            }
        }
    }

    fn seal_segment(&self, number: u64, buffer: &mut Vec<u8>) -> Result<(), StoreError> {
        if !self.read_index().raw.contains_key(&number) {
            return Ok(());
        }
        // Read through a handle of its own (the index's is shared by positional readers).
        let mut file =
            std::fs::File::open(segment_path(&self.dir, number, "log")).map_err(io_error)?;
        let mut magic = [0; LOG_MAGIC.len()];
        let mut nothing = std::io::empty();
        let mut frames: &mut dyn std::io::Read =
            match std::io::Read::read_exact(&mut file, &mut magic) {
                Ok(()) if &magic == LOG_MAGIC => &mut file,
                // Not a segment's start: nothing in it can be read.
                Ok(()) => &mut nothing,
                Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => &mut nothing,
                // The segment stays, to be sealed at the next start.
                Err(error) => return Err(io_error(error)),
            };
        let path = segment_path(&self.dir, number, "sealed");
        let sealed = sealed::write(&path, number, &mut frames, buffer, self.options.compression)?;
        {
            let mut index = self.write_index();
            index.sealed.insert(number, Arc::new(sealed));
            index.raw.remove(&number);
        }
        std::fs::remove_file(segment_path(&self.dir, number, "log")).map_err(io_error)?;
        self.release_pruned()
    }

    /// Deletes sealed segments whose every record is pruned.
    fn release_pruned(&self) -> Result<(), StoreError> {
        let released: Vec<u64> = {
            let mut index = self.write_index();
            let floors = &index.floors;
            let released: Vec<u64> = index
                .sealed
                .iter()
                .filter(|(_, segment)| {
                    // The chains `sealed::open` parsed (it refuses a summary naming others).
                    segment.spans.iter().all(|(chain, span)| {
                        floors
                            .get(chain)
                            .is_some_and(|floor| span.last_sequence <= *floor)
                    })
                })
                .map(|(number, _)| *number)
                .collect();
            for number in &released {
                index.sealed.remove(number);
                self.details.forget(*number);
            }
            released
        };
        for number in &released {
            let path = segment_path(&self.dir, *number, "sealed");
            std::fs::remove_file(&path).map_err(io_error)?;
        }
        if !released.is_empty() {
            sync_directory(&segment_path(&self.dir, 0, "sealed"))?;
        }
        Ok(())
    }

    fn is_writable(&self) -> bool {
        let failed_lately =
            lock(&self.last_failure).is_some_and(|at| at.elapsed() < FAILURE_REMEMBERED);
        lock(&self.writer).is_some() && !self.broken.load(Ordering::Acquire) && !failed_lately
    }

    /// Stops the syncer (after a last sync) and the sealer (after the segment it is sealing).
    fn stop_threads(&self) {
        {
            let mut sync = lock(&self.sync);
            sync.stop = true;
            self.sync_wake.notify_one();
        }
        {
            let mut seal = lock(&self.seal);
            seal.stop = true;
            self.seal_wake.notify_one();
        }
        let threads = std::mem::take(&mut *lock(&self.threads));
        for thread in threads {
            let _ = thread.join();
        }
    }

    /// Writes and syncs what is queued, stops the threads and removes the `OPEN` marker.
    fn close(&self) {
        lock(&self.tail).closed = true;
        let _ = self.write_through(u64::MAX);
        self.stop_threads();
        let clean = lock(&self.writer)
            .take()
            .is_some_and(|writer| writer.file.sync_data().is_ok())
            && !self.broken.load(Ordering::Acquire);
        if clean && std::fs::remove_file(self.dir.join(OPEN_MARKER)).is_ok() {
            let _ = sync_directory(&self.dir.join(OPEN_MARKER));
        }
        lock(&self.lock).take();
    }
}

#[async_trait]
impl AuditSink for Journal {
    fn append(&self, prepared: Prepared) -> Result<Ticket, StoreError> {
        let time_ms = millis(prepared.time);
        let chain = (prepared.account, prepared.region);
        let mut tail = lock(&self.inner.tail);
        if tail.closed {
            return Err(closed());
        }
        let head = tail.heads.entry(chain).or_insert(Head::GENESIS);
        let (sequence, suffix, hash) = chain::link_in_place(head, &prepared);
        let parts = [prepared.unlinked(), suffix.as_bytes()];
        Ok(Ticket(tail.queue(chain, sequence, hash, time_ms, &parts)))
    }

    async fn settle(&self, ticket: Ticket, durability: Durability) -> Result<(), StoreError> {
        let inner = &self.inner;
        if inner.reader {
            let inner = Arc::clone(inner);
            return blocking(move || inner.sync_read()).await;
        }
        inner.wait_written(ticket.0).await?;
        if inner.failed(ticket.0) {
            return Err(StoreError::new(
                StoreErrorKind::Unavailable,
                "an earlier audit record could not be written",
            ));
        }
        if durability == Durability::Synced || inner.options.sync == SyncMode::Always {
            inner.wait_synced(ticket.0).await?;
        }
        Ok(())
    }

    async fn import(&self, records: Vec<AuditRecord>) -> Result<(), StoreError> {
        let last = {
            let mut tail = lock(&self.inner.tail);
            if tail.closed {
                return Err(closed());
            }
            for mut record in records {
                let chain = (record.account, record.region);
                let head = tail.heads.entry(chain).or_insert(Head::GENESIS);
                if record.sequence <= head.sequence {
                    continue;
                }
                if record.sequence != head.sequence + 1 {
                    return Err(StoreError::new(
                        StoreErrorKind::Conflict,
                        format!(
                            "audit record {} of {}/{} does not follow sequence {}",
                            record.sequence, chain.0, chain.1, head.sequence
                        ),
                    ));
                }
                // The link is made of the bytes, whatever the older layout stored beside them.
                record.hash = strongbox_crypto::sha256(&record.record);
                *head = Head {
                    sequence: record.sequence,
                    hash: record.hash,
                };
                tail.queue(
                    chain,
                    record.sequence,
                    record.hash,
                    millis(record.event_time),
                    &[&record.record],
                );
            }
            tail.last
        };
        self.settle(Ticket(last), Durability::Synced).await
    }

    fn queued_head(&self, account: &AccountId, region: &Region) -> Option<(Ticket, Head)> {
        self.inner.refresh_or_log();
        let tail = lock(&self.inner.tail);
        let head = tail.heads.get(&(*account, *region)).copied()?;
        Some((Ticket(tail.last), head))
    }

    async fn records(
        &self,
        account: &AccountId,
        region: &Region,
        after: u64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let inner = Arc::clone(&self.inner);
        let chain = (*account, *region);
        blocking(move || {
            inner.refresh()?;
            read::records(&inner.index, &inner.details, &chain, after, limit)
        })
        .await
    }

    async fn lookup(
        &self,
        account: &AccountId,
        region: &Region,
        query: &LookupQuery,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let inner = Arc::clone(&self.inner);
        let chain = (*account, *region);
        let query = query.clone();
        blocking(move || {
            inner.refresh()?;
            read::lookup(&inner.index, &inner.details, &chain, &query)
        })
        .await
    }

    fn chains(&self) -> Vec<(AccountId, Region)> {
        self.inner.refresh_or_log();
        let tail = lock(&self.inner.tail);
        sorted(
            tail.heads
                .iter()
                .map(|(chain, head)| (*chain, *head))
                .collect(),
        )
        .into_iter()
        .map(|(chain, _)| chain)
        .collect()
    }

    async fn forget(
        &self,
        account: &AccountId,
        region: &Region,
        head: Head,
    ) -> Result<(), StoreError> {
        let chain = (*account, *region);
        {
            let mut index = self.inner.write_index();
            let floor = index.floors.entry(chain).or_insert(0);
            *floor = (*floor).max(head.sequence);
        }
        let writing = {
            let mut writer = lock(&self.inner.writer);
            let mut tail = lock(&self.inner.tail);
            let current = tail.heads.entry(chain).or_insert(Head::GENESIS);
            if head.sequence > current.sequence {
                *current = head;
                if let Some(writer) = writer.as_mut() {
                    writer.heads.insert(chain, head);
                }
            }
            writer.is_some()
        };
        if !writing {
            return Ok(());
        }
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.release_pruned()).await
    }

    fn take_recovery(&self) -> Option<Recovery> {
        lock(&self.inner.recovery).take()
    }

    fn unreadable(&self) -> Vec<(String, String)> {
        self.inner.refresh_or_log();
        let index = self.inner.read_index();
        index
            .raw
            .iter()
            .filter(|(_, raw)| raw.unreadable > 0)
            .map(|(number, raw)| {
                (
                    segment_path(&self.inner.dir, *number, "log").display().to_string(),
                    format!(
                        "{} bytes after offset {} are not intact records (damaged, or being written): the records there cannot be read",
                        raw.unreadable, raw.scanned
                    ),
                )
            })
            .collect()
    }

    fn is_writable(&self) -> bool {
        self.inner.is_writable()
    }

    async fn close(&self) {
        let inner = Arc::clone(&self.inner);
        let _ = tokio::task::spawn_blocking(move || inner.close()).await;
    }
}

/// Runs blocking file work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| StoreError::new(StoreErrorKind::Unavailable, error.to_string()))?
}
