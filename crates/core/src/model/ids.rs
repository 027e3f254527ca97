//! Newtypes for every identifier, parsed once at the edge so that the rest of the code never
//! re-checks them.

use std::fmt;

use uuid::Uuid;

use crate::error::Error;
use crate::messages::{self, Shown, Violation};

/// A 12-digit AWS account id: the tenant boundary.
///
/// Held inline (no heap allocation), like [`Region`]: every request and every cached key carries
/// one, and copying twelve bytes is cheaper than allocating a string.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId([u8; ACCOUNT_ID_LEN]);

const ACCOUNT_ID_LEN: usize = 12;

impl AccountId {
    /// Accepts exactly 12 ASCII digits, as AWS account ids are.
    pub fn parse(value: &str) -> Result<Self, Error> {
        match <[u8; ACCOUNT_ID_LEN]>::try_from(value.as_bytes()) {
            Ok(digits) if digits.iter().all(u8::is_ascii_digit) => Ok(Self(digits)),
            _ => Err(Error::Validation(format!(
                "Account id '{value}' is not valid: it must be exactly 12 digits"
            ))),
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        ascii(&self.0)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AccountId").field(&self.as_str()).finish()
    }
}

/// The longest Region name accepted.
const REGION_MAX_LEN: usize = 32;

/// An AWS Region name such as `us-east-1`, held inline (see [`AccountId`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    len: u8,
    /// The name, then zeros.
    bytes: [u8; REGION_MAX_LEN],
}

impl Region {
    /// Accepts lowercase letters, digits and dashes (1 to 32 characters), which covers every
    /// AWS Region name and keeps ARNs unambiguous.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let valid = (1..=REGION_MAX_LEN).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(Error::Validation(format!(
                "Region '{value}' is not valid: use lowercase letters, digits and dashes"
            )));
        }
        let mut bytes = [0; REGION_MAX_LEN];
        bytes[..value.len()].copy_from_slice(value.as_bytes());
        Ok(Self {
            len: value.len() as u8,
            bytes,
        })
    }

    /// The region as text.
    pub fn as_str(&self) -> &str {
        ascii(&self.bytes[..usize::from(self.len)])
    }
}

impl Ord for Region {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for Region {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Region").field(&self.as_str()).finish()
    }
}

/// Text from bytes that were checked to be ASCII when the value was parsed.
fn ascii(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

/// A random (version 4) UUID: key ids, request ids, audit event ids. The bytes come from the
/// same DRBG as key material; should it ever fail, the `uuid` crate's system source is used.
pub fn random_uuid() -> Uuid {
    let bytes = strongbox_crypto::random_id().unwrap_or_else(|_| Uuid::new_v4().into_bytes());
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// A KMS key id: a UUID, shown in lowercase hyphenated form as AWS does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(Uuid);

impl KeyId {
    /// A fresh random key id.
    pub fn generate() -> Self {
        Self(random_uuid())
    }

    /// Parses the hyphenated UUID form only, so that a key id has exactly one spelling.
    pub fn parse(value: &str) -> Option<Self> {
        if value.len() != 36 {
            return None;
        }
        Uuid::try_parse(value).ok().map(Self)
    }

    /// The 16 bytes carried in ciphertext blobs.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(Uuid::from_bytes(bytes))
    }

    /// The 16 bytes carried in ciphertext blobs.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.into_bytes()
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

/// The id of one version of a key's material; rotation adds versions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VersionId(Uuid);

impl VersionId {
    /// A fresh random version id.
    pub fn generate() -> Self {
        Self(random_uuid())
    }

    /// The 16 bytes carried in ciphertext blobs.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(Uuid::from_bytes(bytes))
    }

    /// The 16 bytes carried in ciphertext blobs.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.into_bytes()
    }

    /// Parses the hyphenated form used in storage.
    pub fn parse(value: &str) -> Option<Self> {
        Uuid::try_parse(value).ok().map(Self)
    }

    /// AWS's `KeyMaterialId`: 64 lowercase hex characters. Derived from the key and version
    /// ids with SHA-256 so that it is stable and reveals nothing about the material.
    pub fn material_id(self, key: KeyId) -> String {
        let mut input = Vec::with_capacity(64);
        input.extend_from_slice(b"strongbox/key-material-id/v1");
        input.extend_from_slice(&key.to_bytes());
        input.extend_from_slice(&self.to_bytes());
        hex::encode(strongbox_crypto::sha256(&input))
    }
}

impl fmt::Display for VersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

/// A key's ARN: `arn:aws:kms:<region>:<account>:key/<uuid>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyArn {
    /// The Region the key lives in.
    pub region: Region,
    /// The owning account.
    pub account: AccountId,
    /// The key id.
    pub key_id: KeyId,
}

impl fmt::Display for KeyArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:aws:kms:{}:{}:key/{}",
            self.region, self.account, self.key_id
        )
    }
}

/// An alias name, always with its `alias/` prefix, as AWS spells it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AliasName(String);

/// AWS's limit on alias names (`AliasName` length 1-256).
pub const MAX_ALIAS_NAME_LEN: usize = 256;

impl AliasName {
    /// Parses a name following AWS's rules. First the model's (`AliasNameType`: 1 to 256 of
    /// `[a-zA-Z0-9:/_-]`), then the service's: the `alias/` prefix, then at least one of
    /// letters, digits, `/`, `_` and `-` (no `:`); every violation is a `ValidationException`
    /// as AWS answers. Names under `alias/aws/` parse but belong to AWS;
    /// [`AliasName::is_reserved`] tells them apart.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let shown = Shown::Value(value);
        let model_chars =
            |b: u8| b.is_ascii_alphanumeric() || matches!(b, b':' | b'/' | b'_' | b'-');
        let violations: Vec<Violation> = [
            Violation::length(
                shown,
                "aliasName",
                value.chars().count(),
                1,
                MAX_ALIAS_NAME_LEN,
            ),
            (!value.bytes().all(model_chars))
                .then(|| Violation::pattern(value, "aliasName", messages::ALIAS_NAME_PATTERN)),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !violations.is_empty() {
            return Err(Error::Validation(messages::validation(&violations)));
        }
        let Some(rest) = value.strip_prefix("alias/") else {
            return Err(Error::Validation(messages::ALIAS_PREFIX.to_owned()));
        };
        if rest.is_empty() || rest.contains(':') {
            return Err(Error::Validation(messages::alias_invalid_characters(value)));
        }
        Ok(Self(value.to_owned()))
    }

    /// `alias/aws/...` names are reserved for AWS managed keys.
    pub fn is_reserved(&self) -> bool {
        self.0.starts_with("alias/aws/")
    }

    /// The name as text, including `alias/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The alias ARN in the given Region and account.
    pub fn arn(&self, region: &Region, account: &AccountId) -> String {
        format!("arn:aws:kms:{region}:{account}:{}", self.0)
    }
}

impl fmt::Display for AliasName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An access key id (`AKIA...` style, 16 to 128 characters of `[A-Z0-9]`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccessKeyId(String);

impl AccessKeyId {
    /// Accepts what AWS accepts: 16 to 128 word characters.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let valid = (16..=128).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(Error::Validation(format!(
                "Access key id '{value}' is not valid: it must be 16 to 128 letters or digits"
            )))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_uuids_are_version_4_and_differ() {
        let ids: std::collections::HashSet<Uuid> = (0..1000).map(|_| random_uuid()).collect();
        assert_eq!(ids.len(), 1000);
        for id in ids {
            assert_eq!(id.get_version(), Some(uuid::Version::Random));
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        }
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(AccountId::parse("111122223333").is_ok());
        for bad in ["", "11112222333", "1111222233334", "11112222333a"] {
            assert!(AccountId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn alias_names_follow_aws_rules() {
        assert!(AliasName::parse("alias/my-key_1/x").is_ok());
        assert!(AliasName::parse("alias/aws/s3").is_ok_and(|a| a.is_reserved()));
        for bad in ["alias/", "my-key", "alias/has space", "alias/é"] {
            assert!(AliasName::parse(bad).is_err(), "{bad}");
        }
        let long = format!("alias/{}", "a".repeat(251));
        assert!(AliasName::parse(&long).is_err());
        assert!(AliasName::parse(&long[..256]).is_ok());
    }

    #[test]
    fn key_ids_round_trip_and_material_ids_are_hex() {
        let key = KeyId::generate();
        assert_eq!(KeyId::parse(&key.to_string()), Some(key));
        assert_eq!(KeyId::parse("not-a-uuid"), None);
        let version = VersionId::generate();
        let id = version.material_id(key);
        assert_eq!(id.len(), 64);
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_ne!(id, VersionId::generate().material_id(key));
    }
}
