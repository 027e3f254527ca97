//! The audit trail: a CloudTrail-format record of every API call and service event, chained by
//! SHA-256 per account and Region, committed before the response leaves, and covered by signed
//! digests so that tampering is provable offline.
//!
//! - [`event`]: the record (CloudTrail's format).
//! - [`chain`]: how a record is linked to its predecessor.
//! - [`sink`]: the seam to where records are kept (a segment journal, or a shared database).
//! - [`writer`]: the handle every request records through.
//! - [`resources`]: which keys a request touched, collected as the KMS resolves them.
//! - [`digest`] and [`paths`]: the signed digest and CloudTrail's file layout.
//! - [`verify`]: the checker shared by `audit verify` on an export and on the live store.
//!
//! The chain and digest format is described in `docs/design/audit-chain.md`.

pub mod chain;
pub mod columns;
pub mod digest;
pub mod event;
pub mod paths;
pub mod resources;
pub mod sink;
pub mod verify;
pub mod writer;

use time::OffsetDateTime;

use crate::model::{AccountId, Region};

pub use chain::{Head, Prepared};
pub use event::{ApiCall, EVENT_SOURCE, Event};
pub use sink::{AuditSink, Durability, Recovery, Ticket};
pub use writer::AuditLog;

/// One record as stored: the exact bytes that were hashed, with the columns LookupEvents
/// filters on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// The chain's account.
    pub account: AccountId,
    /// The chain's Region.
    pub region: Region,
    /// Position in the chain, from 1.
    pub sequence: u64,
    /// When the event happened (stored to the millisecond, for ordering and time ranges).
    pub event_time: OffsetDateTime,
    /// The record's `eventID`.
    pub event_id: String,
    /// The record's `eventName`.
    pub event_name: String,
    /// The record's `readOnly`.
    pub read_only: bool,
    /// The calling user, absent for service events.
    pub user_name: Option<String>,
    /// The signing access key, absent for service events.
    pub access_key_id: Option<String>,
    /// ARNs of the keys in `resources`.
    pub resources: Vec<String>,
    /// The record's JSON, exactly as hashed.
    pub record: Vec<u8>,
    /// SHA-256 of `record`.
    pub hash: [u8; 32],
}

/// One signed digest as stored: the file bytes exactly as exported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDigest {
    /// The chain's account.
    pub account: AccountId,
    /// The chain's Region.
    pub region: Region,
    /// Position among the chain's digests, from 1.
    pub sequence: u64,
    /// The end of the period it covers.
    pub end_time: OffsetDateTime,
    /// The last record sequence it covers (0 when the chain has none yet).
    pub last_record: u64,
    /// Its path in an export (CloudTrail's layout).
    pub object: String,
    /// The digest file (JSON with its signature).
    pub file: Vec<u8>,
}

/// What remains of a pruned prefix of a chain: a signed statement of where the chain stood, so
/// that the rest still verifies from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The chain's account.
    pub account: AccountId,
    /// The chain's Region.
    pub region: Region,
    /// The last pruned digest.
    pub digest_sequence: u64,
    /// The last pruned record, from which the chain continues.
    pub head: Head,
    /// The checkpoint file (JSON with its signature), see [`digest::CheckpointBody`].
    pub file: Vec<u8>,
}

/// A LookupEvents attribute: CloudTrail allows one per query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupAttribute {
    /// `EventName`.
    EventName(String),
    /// `ResourceName`: a key ARN or key id.
    ResourceName(String),
    /// `ResourceType`: events with resources of this type.
    ResourceType(String),
    /// `Username`.
    Username(String),
    /// `AccessKeyId`.
    AccessKeyId(String),
    /// `ReadOnly`.
    ReadOnly(bool),
    /// `EventId`.
    EventId(String),
}

/// A LookupEvents query on one chain, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupQuery {
    /// Only events at or after this time.
    pub start: Option<OffsetDateTime>,
    /// Only events at or before this time.
    pub end: Option<OffsetDateTime>,
    /// At most one attribute filter.
    pub attribute: Option<LookupAttribute>,
    /// Page size.
    pub limit: u32,
    /// Continue after this `(event_time, sequence)` position.
    pub after: Option<(OffsetDateTime, u64)>,
}
