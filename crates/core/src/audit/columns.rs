//! The columns of a record that LookupEvents filters and answers on, and that a stored
//! record carries beside its bytes, read from the record's JSON without copying: the one
//! parser of a record's columns, for reads (every sink's records and lookups), for sealing
//! summaries and for checking stored columns against the chained bytes.

use std::borrow::Cow;

use serde::Deserialize;

use super::LookupAttribute;
use super::event::KEY_RESOURCE_TYPE;
use crate::model::{AccountId, Region};

/// The columns of a record, borrowed from its JSON (members not named here are skipped).
#[derive(Deserialize)]
pub struct Columns<'a> {
    /// `eventID`.
    #[serde(rename = "eventID", borrow)]
    pub event_id: Cow<'a, str>,
    /// `eventName`.
    #[serde(rename = "eventName", borrow)]
    pub event_name: Cow<'a, str>,
    /// `eventTime`, as written (whole seconds, UTC).
    #[serde(rename = "eventTime", borrow)]
    pub event_time: Cow<'a, str>,
    /// `readOnly`.
    #[serde(rename = "readOnly")]
    pub read_only: bool,
    /// `userIdentity`'s name and access key.
    #[serde(rename = "userIdentity", borrow)]
    pub identity: Identity<'a>,
    /// `resources`' ARNs.
    #[serde(default, borrow)]
    pub resources: Vec<ResourceName<'a>>,
    /// `auditChain`'s sequence (absent only from a record not yet linked).
    #[serde(rename = "auditChain", default)]
    pub audit_chain: Option<LinkSequence>,
}

/// The identity members lookups use.
#[derive(Deserialize)]
pub struct Identity<'a> {
    /// `userName`, absent for service events.
    #[serde(rename = "userName", default, borrow)]
    pub user_name: Option<Cow<'a, str>>,
    /// `accessKeyId`, absent for service events.
    #[serde(rename = "accessKeyId", default, borrow)]
    pub access_key_id: Option<Cow<'a, str>>,
}

/// A resource's ARN.
#[derive(Deserialize)]
pub struct ResourceName<'a> {
    /// `ARN`.
    #[serde(rename = "ARN", borrow)]
    pub arn: Cow<'a, str>,
}

/// The sequence of a record's `auditChain`.
#[derive(Clone, Copy, Deserialize)]
pub struct LinkSequence {
    /// `sequence`.
    pub sequence: u64,
}

impl<'a> Columns<'a> {
    /// The columns of `record`; `None` when it is not a CloudTrail record.
    pub fn parse(record: &'a [u8]) -> Option<Self> {
        serde_json::from_slice(record).ok()
    }

    /// The values a sealed block's Bloom filter holds for this record, by kind (`i` event id,
    /// `n` event name, `u` user name, `a` access key id, `r` key id of a resource); a lookup
    /// asks for [`lookup_key`].
    pub fn keys(&self) -> impl Iterator<Item = (u8, &str)> {
        [
            Some((EVENT_ID, self.event_id.as_ref())),
            Some((EVENT_NAME, self.event_name.as_ref())),
            self.identity
                .user_name
                .as_deref()
                .map(|name| (USER_NAME, name)),
            self.identity
                .access_key_id
                .as_deref()
                .map(|id| (ACCESS_KEY_ID, id)),
        ]
        .into_iter()
        .flatten()
        .chain(self.resources.iter().map(|r| (KEY_ID, key_id_of(&r.arn))))
    }

    /// Whether the record matches `attribute` in the chain of `account` in `region`.
    pub fn matches(
        &self,
        attribute: &LookupAttribute,
        account: &AccountId,
        region: &Region,
    ) -> bool {
        match attribute {
            LookupAttribute::EventName(name) => self.event_name == name.as_str(),
            LookupAttribute::EventId(id) => self.event_id == id.as_str(),
            LookupAttribute::Username(name) => {
                self.identity.user_name.as_deref() == Some(name.as_str())
            }
            LookupAttribute::AccessKeyId(id) => {
                self.identity.access_key_id.as_deref() == Some(id.as_str())
            }
            LookupAttribute::ReadOnly(read_only) => self.read_only == *read_only,
            LookupAttribute::ResourceType(kind) => {
                kind == KEY_RESOURCE_TYPE && !self.resources.is_empty()
            }
            LookupAttribute::ResourceName(name) => match resource_key_id(name, account, region) {
                Some(key_id) => self.resources.iter().any(|r| key_id_of(&r.arn) == key_id),
                None => false,
            },
        }
    }
}

/// The kinds of [`Columns::keys`].
const EVENT_ID: u8 = b'i';
const EVENT_NAME: u8 = b'n';
const USER_NAME: u8 = b'u';
const ACCESS_KEY_ID: u8 = b'a';
const KEY_ID: u8 = b'r';

/// The key a record matching `attribute` in the chain of `account` in `region` has among its
/// [`Columns::keys`]; `None` for attributes no key stands for (`ReadOnly`, `ResourceType`, an
/// ARN of another chain).
pub fn lookup_key<'a>(
    attribute: &'a LookupAttribute,
    account: &AccountId,
    region: &Region,
) -> Option<(u8, &'a str)> {
    match attribute {
        LookupAttribute::EventId(id) => Some((EVENT_ID, id)),
        LookupAttribute::EventName(name) => Some((EVENT_NAME, name)),
        LookupAttribute::Username(name) => Some((USER_NAME, name)),
        LookupAttribute::AccessKeyId(id) => Some((ACCESS_KEY_ID, id)),
        LookupAttribute::ResourceName(name) => {
            resource_key_id(name, account, region).map(|id| (KEY_ID, id))
        }
        LookupAttribute::ReadOnly(_) | LookupAttribute::ResourceType(_) => None,
    }
}

/// The key id a `ResourceName` value names: a key id, or the ARN of a key of this chain's
/// account and Region (another ARN names nothing here).
pub fn resource_key_id<'a>(name: &'a str, account: &AccountId, region: &Region) -> Option<&'a str> {
    match name.split_once(":key/") {
        Some((prefix, id)) if prefix == format!("arn:aws:kms:{region}:{account}") => Some(id),
        Some(_) => None,
        None => Some(name),
    }
}

/// The key id at the end of a key ARN (a bare key id stays as it is).
pub fn key_id_of(arn: &str) -> &str {
    arn.rsplit_once(":key/").map_or(arn, |(_, id)| id)
}
