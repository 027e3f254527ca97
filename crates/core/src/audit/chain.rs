//! The hash chain: each record carries the SHA-256 of its predecessor's bytes, and its own hash
//! is the SHA-256 of its bytes. Changing, removing, inserting or reordering any record breaks
//! the link after it; the signed digests pin the newest link.

use std::borrow::Cow;

use super::AuditRecord;
use super::columns::Columns;
use super::event::{ChainLink, Event, event_time};
use crate::error::{Error, Internal};
use crate::model::{AccountId, Region};
use strongbox_crypto::Sha256;

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

/// A record ready to be linked: serialized without its link and hashed that far, outside any
/// lock. [`link_in_place`] then only hashes the link's few bytes.
#[derive(Clone)]
pub struct Prepared {
    /// The chain's account.
    pub account: AccountId,
    /// The chain's Region.
    pub region: Region,
    /// When the event happened.
    pub time: time::OffsetDateTime,
    /// The event's JSON without `auditChain` (its last member) and without the closing `}`:
    /// the link is appended.
    unlinked: Vec<u8>,
    /// SHA-256 fed `unlinked`.
    hasher: Sha256,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("account", &self.account)
            .field("region", &self.region)
            .field("bytes", &self.unlinked.len())
            .finish_non_exhaustive()
    }
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
        // An API call's record is 1-1.5 KB: one allocation, no growth.
        let mut unlinked = Vec::with_capacity(2048);
        serde_json::to_writer(&mut unlinked, &event)
            .map_err(|error| Internal::new("audit record serialization", error))?;
        if unlinked.pop() != Some(b'}') {
            return Err(Internal::new("audit record serialization", "not a JSON object").into());
        }
        let mut hasher = Sha256::new();
        hasher.update(&unlinked);
        Ok(Self {
            account: *account,
            region: *region,
            time,
            unlinked,
            hasher,
        })
    }

    /// The record's bytes before its link (a sink copies them, then the link's).
    pub fn unlinked(&self) -> &[u8] {
        &self.unlinked
    }
}

/// The bytes that close a linked record: `,"auditChain":{"sequence":N,"previousHash":"..."}}`.
pub struct LinkSuffix {
    bytes: [u8; 160],
    length: usize,
}

impl LinkSuffix {
    fn new(sequence: u64, previous: &[u8; 32]) -> Self {
        let mut suffix = Self {
            bytes: [0; 160],
            length: 0,
        };
        suffix.push(b",\"auditChain\":{\"sequence\":");
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut rest = sequence;
        loop {
            at -= 1;
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        suffix.push(&digits[at..]);
        suffix.push(b",\"previousHash\":\"");
        let mut hex = [0u8; 64];
        // Infallible: 64 bytes hold the hex of 32.
        let _ = hex::encode_to_slice(previous, &mut hex);
        suffix.push(&hex);
        suffix.push(b"\"}}");
        suffix
    }

    fn push(&mut self, part: &[u8]) {
        self.bytes[self.length..self.length + part.len()].copy_from_slice(part);
        self.length += part.len();
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.length]
    }
}

/// A record linked into its chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Linked {
    /// Its position.
    pub sequence: u64,
    /// Its bytes, exactly as hashed.
    pub record: Vec<u8>,
    /// SHA-256 of `record`.
    pub hash: [u8; 32],
}

/// Links `prepared` after `head` without copying it: the record is `prepared.unlinked()`
/// followed by the returned suffix (exactly what serializing the event with its link gives),
/// and the returned hash is its SHA-256; `head` moves forward. Only the suffix is hashed here.
pub fn link_in_place(head: &mut Head, prepared: &Prepared) -> (u64, LinkSuffix, [u8; 32]) {
    let sequence = head.sequence.saturating_add(1);
    let suffix = LinkSuffix::new(sequence, &head.hash);
    let mut hasher = prepared.hasher.clone();
    hasher.update(suffix.as_bytes());
    let hash = hasher.finish();
    *head = Head { sequence, hash };
    (sequence, suffix, hash)
}

/// [`link_in_place`], with the record's bytes put together.
pub fn link(head: &mut Head, prepared: Prepared) -> Linked {
    let (sequence, suffix, hash) = link_in_place(head, &prepared);
    let mut record = prepared.unlinked;
    record.extend_from_slice(suffix.as_bytes());
    Linked {
        sequence,
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
    let columns = Columns::parse(&record)
        .ok_or_else(|| format!("record {sequence} is not a CloudTrail event"))?;
    let resources = columns
        .resources
        .iter()
        .map(|r| r.arn.to_string())
        .collect();
    let parsed = AuditRecord {
        account: *account,
        region: *region,
        sequence,
        event_time,
        hash: strongbox_crypto::sha256(&record),
        resources,
        event_id: columns.event_id.into_owned(),
        event_name: columns.event_name.into_owned(),
        read_only: columns.read_only,
        user_name: columns.identity.user_name.map(Cow::into_owned),
        access_key_id: columns.identity.access_key_id.map(Cow::into_owned),
        record: Vec::new(),
    };
    Ok(AuditRecord { record, ..parsed })
}

/// The first lookup column of a stored record that disagrees with its chained bytes, if any.
/// LookupEvents filters and answers on these columns, so a change to them alone would go
/// unseen by the hash chain.
pub fn column_mismatch(record: &AuditRecord) -> Option<&'static str> {
    let Some(columns) = Columns::parse(&record.record) else {
        return Some("record (not a CloudTrail event)");
    };
    let resources: Vec<&str> = columns.resources.iter().map(|r| r.arn.as_ref()).collect();
    let stored: Vec<&str> = record.resources.iter().map(String::as_str).collect();
    let checks = [
        (
            "hash",
            strongbox_crypto::sha256(&record.record) == record.hash,
        ),
        (
            "sequence",
            columns.audit_chain.map(|link| link.sequence) == Some(record.sequence),
        ),
        ("eventID", columns.event_id == record.event_id),
        ("eventName", columns.event_name == record.event_name),
        ("readOnly", columns.read_only == record.read_only),
        (
            "eventTime",
            columns.event_time == event_time(record.event_time),
        ),
        (
            "userName",
            columns.identity.user_name.as_deref() == record.user_name.as_deref(),
        ),
        (
            "accessKeyId",
            columns.identity.access_key_id.as_deref() == record.access_key_id.as_deref(),
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
        assert_eq!(record.hash, head.hash);
        let parsed = parse_record(&account, &region, 42, time, record.record.clone()).unwrap();
        assert_eq!((parsed.record, parsed.hash), (record.record, record.hash));
        assert_eq!(parsed.event_name, "RotateKey");
        assert_eq!(parsed.resources, [key.to_string()]);
        // The largest sequence and any hash fit the suffix.
        let mut last = Head {
            sequence: u64::MAX - 1,
            hash: [0xff; 32],
        };
        let prepared = Prepared::new(&account, &region, time, event.clone()).unwrap();
        let linked = link(&mut last, prepared);
        event.audit_chain = Some(ChainLink {
            sequence: u64::MAX,
            previous_hash: hex::encode([0xff; 32]),
        });
        assert_eq!(linked.record, serde_json::to_vec(&event).unwrap());
    }
}
