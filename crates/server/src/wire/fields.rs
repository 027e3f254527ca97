//! Field types shared by the shapes: base64 blobs (secret and not), epoch timestamps, tags,
//! and the checks AWS applies to common members.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use strongbox_core::kms::KeyRef;
use strongbox_crypto::{EncryptionContext, SecretBytes};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use strongbox_core::messages::Shown;
use strongbox_core::validate;

use super::error::{self, ApiError};

/// A non-secret binary member (ciphertexts), base64 on the wire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

/// A secret binary member (plaintexts, data keys): base64 on the wire, zeroized in memory.
pub struct SecretBlob(pub SecretBytes);

impl fmt::Debug for SecretBlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

struct Base64Visitor;

impl Visitor<'_> for Base64Visitor {
    type Value = Zeroizing<Vec<u8>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a base64-encoded string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        STANDARD
            .decode(value)
            .map(Zeroizing::new)
            .map_err(|_| E::custom("a blob member is not valid base64"))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = deserializer.deserialize_str(Base64Visitor)?;
        Ok(Blob(bytes.to_vec()))
    }
}

impl<'de> Deserialize<'de> for SecretBlob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let bytes = deserializer.deserialize_str(Base64Visitor)?;
        Ok(SecretBlob(SecretBytes::new(bytes.to_vec())))
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl Serialize for SecretBlob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let encoded = Zeroizing::new(STANDARD.encode(self.0.expose()));
        serializer.serialize_str(&encoded)
    }
}

/// A timestamp: epoch seconds as a JSON number, as AWS JSON 1.1 sends them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp(pub OffsetDateTime);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let millis = self.0.unix_timestamp_nanos() / 1_000_000;
        #[allow(clippy::cast_precision_loss)] // epoch milliseconds fit an f64 exactly until 2255
        serializer.serialize_f64(millis as f64 / 1000.0)
    }
}

/// A tag as AWS spells it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// The tag key.
    pub tag_key: Option<String>,
    /// The tag value.
    pub tag_value: Option<String>,
}

/// AWS's `KeyIdType`: 1 to 2048 characters.
const KEY_ID_MAX: usize = 2048;

/// A required `KeyId`-like member, parsed into a key reference.
pub fn key_ref(value: Option<String>, field: &str) -> Result<KeyRef, ApiError> {
    let value = value.ok_or_else(|| error::missing(field))?;
    optional_key_ref(Some(value), field).map(|key| key.ok_or_else(|| error::missing(field)))?
}

/// An optional `KeyId`-like member.
pub fn optional_key_ref(value: Option<String>, field: &str) -> Result<Option<KeyRef>, ApiError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let chars = value.chars().count();
    if !(1..=KEY_ID_MAX).contains(&chars) {
        return Err(error::length(
            Shown::Value(&value),
            field,
            1,
            KEY_ID_MAX,
            chars,
        ));
    }
    Ok(Some(KeyRef::named(&value)))
}

/// A binary member that must be present, with AWS's length bounds.
pub fn required_len<T: AsRef<[u8]>>(
    value: Option<T>,
    field: &str,
    min: usize,
    max: usize,
) -> Result<T, ApiError> {
    let value = value.ok_or_else(|| error::missing(field))?;
    let len = value.as_ref().len();
    if !(min..=max).contains(&len) {
        return Err(error::length(Shown::Hidden, field, min, max, len));
    }
    Ok(value)
}

impl AsRef<[u8]> for SecretBlob {
    fn as_ref(&self) -> &[u8] {
        self.0.expose()
    }
}

impl AsRef<[u8]> for Blob {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// An encryption context; absent and empty are the same. Bounded as
/// [`validate::encryption_context`] says.
pub fn context(value: Option<BTreeMap<String, String>>) -> Result<EncryptionContext, ApiError> {
    let pairs = value.unwrap_or_default();
    validate::encryption_context(&pairs)?;
    Ok(EncryptionContext::new(pairs))
}

/// A page size: AWS's default when absent, else within `1..=max`.
pub fn limit(value: Option<i64>, default: u32, max: u32) -> Result<u32, ApiError> {
    match value {
        None => Ok(default),
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| error::range("limit", 1, i64::from(max), n)),
    }
}

/// A marker member: 1 to 1024 printable characters, as AWS's `MarkerType`.
pub fn marker(value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(marker) if marker.is_empty() || marker.len() > 1024 => Err(error::length(
            Shown::Value(&marker),
            "marker",
            1,
            1024,
            marker.len(),
        )),
        other => Ok(other),
    }
}

/// Parses an AWS enum member with its value-set message.
pub fn aws_enum<T>(
    value: Option<String>,
    field: &str,
    parse: impl Fn(&str) -> Option<T>,
    value_set: impl Fn() -> String,
) -> Result<Option<T>, ApiError> {
    value
        .map(|text| parse(&text).ok_or_else(|| error::not_in_set(field, &text, &value_set())))
        .transpose()
}

/// Wire tags as (key, value) pairs; the domain checks them (missing members included), so that
/// every violated constraint is reported at once, as AWS does.
pub fn tag_pairs(tags: Option<Vec<Tag>>) -> Vec<(Option<String>, Option<String>)> {
    tags.unwrap_or_default()
        .into_iter()
        .map(|tag| (tag.tag_key, tag.tag_value))
        .collect()
}
