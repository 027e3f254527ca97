//! The audit sink: where records go, behind one seam so that each storage engine keeps its own
//! durable form (a segment journal in the data directory for the embedded engine; batched rows,
//! one chain per node, for a shared database) while callers stay the same.
//!
//! The contract every sink keeps (DESIGN §4):
//! - [`AuditSink::append`] sequences a record into its chain at once, in the order of calls,
//!   and queues it; it never waits.
//! - [`AuditSink::settle`] returns once the record was handed to the operating system
//!   ([`Durability::Written`]) or is on stable storage ([`Durability::Synced`]); a response
//!   leaves only after it returned. A sink in strict mode treats every settle as `Synced`.
//! - A record that could not be written fails its settle, and so does every record queued
//!   after it on any chain (their links name it); the chains then continue from what was
//!   written, so a chain never has a gap.

use async_trait::async_trait;

use super::chain::{Head, Prepared};
use super::{AuditRecord, LookupQuery};
use crate::model::{AccountId, Region};
use crate::store::StoreError;

/// How durable a record must be before its request is answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Handed to the operating system: survives a crash of the process, and is synced within
    /// the sink's interval (read-only calls).
    Written,
    /// On stable storage: survives a power loss (calls that change state, service events).
    Synced,
}

/// A queued record's place in the sink's write order, to settle it by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(pub u64);

/// What a sink found when it opened after an unclean stop (a crash, kill -9 or power loss):
/// the chains whose newest records may have been lost, and where each stands now.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Bytes cut from the end of the journal because they did not hold whole, intact records
    /// (a write torn by the stop).
    pub torn_bytes: u64,
    /// Every chain the sink holds and its newest intact record.
    pub chains: Vec<((AccountId, Region), Head)>,
}

/// The durable home of the audit trail's records. Digests and checkpoints stay in the
/// [`crate::store::Store`]; a sink holds records only.
#[async_trait]
pub trait AuditSink: Send + Sync {
    /// Links `record` to the newest record of its chain and queues it. Never waits on I/O.
    fn append(&self, record: Prepared) -> Result<Ticket, StoreError>;

    /// Waits until the record of `ticket` is as durable as asked, or failed.
    async fn settle(&self, ticket: Ticket, durability: Durability) -> Result<(), StoreError>;

    /// Adds records that were sequenced elsewhere (the migration from an older layout), in
    /// chain order, durably; records the sink already holds are skipped. A record that does
    /// not follow its chain's head is refused (`Conflict`).
    async fn import(&self, records: Vec<AuditRecord>) -> Result<(), StoreError>;

    /// The newest link of a chain as queued, with the ticket of the newest record queued on
    /// any chain (settling it makes that link durable); `None` for a chain without records.
    fn queued_head(&self, account: &AccountId, region: &Region) -> Option<(Ticket, Head)>;

    /// Records of a chain after sequence `after`, in order, at most `limit`.
    async fn records(
        &self,
        account: &AccountId,
        region: &Region,
        after: u64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    /// LookupEvents: records of a chain matching `query`, newest (highest sequence) first.
    async fn lookup(
        &self,
        account: &AccountId,
        region: &Region,
        query: &LookupQuery,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    /// Every chain the sink holds records of.
    fn chains(&self) -> Vec<(AccountId, Region)>;

    /// Retention: the chain's records through `head.sequence` are pruned (a signed checkpoint
    /// stands for them in the store). They are no longer read, their storage is released as
    /// soon as nothing else needs it, and the chain continues from `head` at least.
    async fn forget(
        &self,
        account: &AccountId,
        region: &Region,
        head: Head,
    ) -> Result<(), StoreError>;

    /// What the sink found at open after an unclean stop, once (later calls get `None`).
    fn take_recovery(&self) -> Option<Recovery>;

    /// Places where the sink's storage holds bytes that are not intact records (damage, or a
    /// write under way when a server is writing), each as `(place, description)`, for
    /// `strongbox audit verify`.
    fn unreadable(&self) -> Vec<(String, String)>;

    /// Whether records can be written, as far as the sink knows (readiness).
    fn is_writable(&self) -> bool;

    /// Writes and syncs what is queued and stops; later appends fail.
    async fn close(&self);
}
