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

/// A record ready to be linked: serialized without its link, outside any lock, with the
/// columns a sink indexes. [`link`] then only appends the link and hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prepared {
    /// The chain's account.
    pub account: AccountId,
    /// The chain's Region.
    pub region: Region,
    /// When the event happened.
    pub time: time::OffsetDateTime,
    /// The event's JSON without `auditChain` (its last member, so the link is appended).
    unlinked: Vec<u8>,
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
}

impl Prepared {
    /// Serializes `event` (its link is ignored: the sink sets it).
    pub fn new(
        account: &AccountId,
        region: &Region,
        time: time::OffsetDateTime,
        mut event: Event,
    ) -> Result<Self, Error> {
        event.audit_chain = None;
        let unlinked = serde_json::to_vec(&event)
            .map_err(|error| Internal::new("audit record serialization", error))?;
        Ok(Self {
            account: *account,
            region: *region,
            time,
            unlinked,
            resources: event.resources.into_iter().map(|r| r.arn).collect(),
            event_id: event.event_id,
            event_name: event.event_name,
            read_only: event.read_only,
            user_name: event.user_identity.user_name,
            access_key_id: event.user_identity.access_key_id,
        })
    }
}

/// Links `prepared` after `head`: appends its `auditChain` member (the bytes are exactly what
/// serializing the event with its link gives), hashes the result and moves `head` forward.
pub fn link(head: &mut Head, prepared: Prepared) -> AuditRecord {
    let sequence = head.sequence.saturating_add(1);
    let mut record = prepared.unlinked;
    // `{...}` becomes `{...,"auditChain":{"sequence":N,"previousHash":"..."}}`.
    record.pop();
    record.extend_from_slice(b",\"auditChain\":{\"sequence\":");
    record.extend_from_slice(sequence.to_string().as_bytes());
    record.extend_from_slice(b",\"previousHash\":\"");
    record.extend_from_slice(hex::encode(head.hash).as_bytes());
    record.extend_from_slice(b"\"}}");
    let hash = strongbox_crypto::sha256(&record);
    *head = Head { sequence, hash };
    AuditRecord {
        account: prepared.account,
        region: prepared.region,
        sequence,
        event_time: prepared.time,
        event_id: prepared.event_id,
        event_name: prepared.event_name,
        read_only: prepared.read_only,
        user_name: prepared.user_name,
        access_key_id: prepared.access_key_id,
        resources: prepared.resources,
        record,
        hash,
    }
}

/// The columns of a stored record, read back from its bytes (a sink that keeps only the
/// bytes rebuilds them this way, so they cannot disagree with what is chained).
pub fn parse_record(
    account: &AccountId,
    region: &Region,
    sequence: u64,
    event_time: time::OffsetDateTime,
    record: Vec<u8>,
) -> Result<AuditRecord, String> {
    let event: Event = serde_json::from_slice(&record)
        .map_err(|error| format!("record {sequence} is not a CloudTrail event: {error}"))?;
    Ok(AuditRecord {
        account: *account,
        region: *region,
        sequence,
        event_time,
        hash: strongbox_crypto::sha256(&record),
        resources: event.resources.into_iter().map(|r| r.arn).collect(),
        event_id: event.event_id,
        event_name: event.event_name,
        read_only: event.read_only,
        user_name: event.user_identity.user_name,
        access_key_id: event.user_identity.access_key_id,
        record,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::audit::event::ChainLink;

    #[test]
    fn a_linked_record_is_byte_for_byte_the_event_serialized_with_its_link() {
        let account = AccountId::parse("111122223333").unwrap();
        let region = Region::parse("eu-west-1").unwrap();
        let key = crate::model::KeyArn {
            region,
            account,
            key_id: crate::model::KeyId::generate(),
        };
        let time = time::macros::datetime!(2026-12-05 10:00:00 UTC);
        let mut event = Event::service(
            "RotateKey",
            &key,
            time,
            serde_json::json!({"x": "a \"quoted\" value"}),
        );
        let mut head = Head {
            sequence: 41,
            hash: [7; 32],
        };
        let record = link(
            &mut head,
            Prepared::new(&account, &region, time, event.clone()).unwrap(),
        );
        event.audit_chain = Some(ChainLink {
            sequence: 42,
            previous_hash: hex::encode([7; 32]),
        });
        assert_eq!(record.record, serde_json::to_vec(&event).unwrap());
        assert_eq!(record.sequence, 42);
        assert_eq!(head.sequence, 42);
        assert_eq!(head.hash, strongbox_crypto::sha256(&record.record));
        let parsed = parse_record(&account, &region, 42, time, record.record.clone()).unwrap();
        assert_eq!(parsed, record);
    }
}
