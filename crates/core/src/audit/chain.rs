//! The hash chain: each record carries the SHA-256 of its predecessor's bytes, and its own hash
//! is the SHA-256 of its bytes. Changing, removing, inserting or reordering any record breaks
//! the link after it; the signed digests pin the newest link.

use super::AuditRecord;
use super::event::{ChainLink, Event, event_time};
use crate::error::{Error, Internal};
use crate::model::{AccountId, Region};

/// The `previousHash` of a chain's first record.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// The newest link of a chain: the last sequence and its record's hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// The last sequence (0 for an empty chain).
    pub sequence: u64,
    /// The hash the next record must carry.
    pub hash: [u8; 32],
}

impl Head {
    /// The head of a chain with no records.
    pub const GENESIS: Head = Head {
        sequence: 0,
        hash: GENESIS_HASH,
    };
}

/// Appends `event` after `head`: sets its link, serializes it once (those bytes are what is
/// hashed, stored and exported) and moves `head` forward.
pub fn append(
    head: &mut Head,
    account: &AccountId,
    region: &Region,
    time: time::OffsetDateTime,
    mut event: Event,
) -> Result<AuditRecord, Error> {
    let sequence = head.sequence.saturating_add(1);
    event.audit_chain = Some(ChainLink {
        sequence,
        previous_hash: hex::encode(head.hash),
    });
    let record = serde_json::to_vec(&event)
        .map_err(|error| Internal::new("audit record serialization", error))?;
    let hash = strongbox_crypto::sha256(&record);
    *head = Head { sequence, hash };
    Ok(AuditRecord {
        account: *account,
        region: *region,
        sequence,
        event_time: time,
        resources: event.resources.into_iter().map(|r| r.arn).collect(),
        event_id: event.event_id,
        event_name: event.event_name,
        read_only: event.read_only,
        user_name: event.user_identity.user_name,
        access_key_id: event.user_identity.access_key_id,
        record,
        hash,
    })
}

/// The first lookup column of a stored record that disagrees with its chained bytes, if any.
/// LookupEvents filters and answers on these columns, so a change to them alone would go
/// unseen by the hash chain.
pub fn column_mismatch(record: &AuditRecord) -> Option<&'static str> {
    let Ok(event) = serde_json::from_slice::<Event>(&record.record) else {
        return Some("record (not a CloudTrail event)");
    };
    let resources: Vec<&str> = event.resources.iter().map(|r| r.arn.as_str()).collect();
    let stored: Vec<&str> = record.resources.iter().map(String::as_str).collect();
    let checks = [
        (
            "hash",
            strongbox_crypto::sha256(&record.record) == record.hash,
        ),
        (
            "sequence",
            event.audit_chain.as_ref().map(|link| link.sequence) == Some(record.sequence),
        ),
        ("eventID", event.event_id == record.event_id),
        ("eventName", event.event_name == record.event_name),
        ("readOnly", event.read_only == record.read_only),
        (
            "eventTime",
            event.event_time == event_time(record.event_time),
        ),
        (
            "userName",
            event.user_identity.user_name == record.user_name,
        ),
        (
            "accessKeyId",
            event.user_identity.access_key_id == record.access_key_id,
        ),
        ("resources", resources == stored),
    ];
    checks
        .into_iter()
        .find(|(_, agrees)| !agrees)
        .map(|(column, _)| column)
}

/// The link a stored record claims, read back from its bytes.
pub fn link_of(record: &[u8]) -> Option<ChainLink> {
    #[derive(serde::Deserialize)]
    struct Linked {
        #[serde(rename = "auditChain")]
        audit_chain: Option<ChainLink>,
    }
    serde_json::from_slice::<Linked>(record)
        .ok()
        .and_then(|linked| linked.audit_chain)
}
