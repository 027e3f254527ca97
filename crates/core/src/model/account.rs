//! Tenants and their credentials.

use time::OffsetDateTime;

use crate::model::ids::{AccessKeyId, AccountId};
use crate::seal::SealedKey;

/// A tenant: its keys, aliases and access keys are invisible to every other account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// The 12-digit id.
    pub id: AccountId,
    /// A human-readable name.
    pub name: String,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// Whether an access key may sign requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessKeyStatus {
    /// Accepted.
    Active,
    /// Refused as unknown.
    Inactive,
}

/// An access key. SigV4 needs the secret itself, so it is stored sealed under the root key
/// (with the access key id as AAD), never hashed and never in plaintext.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessKey {
    /// The public id (`AKIA...`).
    pub id: AccessKeyId,
    /// The owning account.
    pub account: AccountId,
    /// The user name shown in ARNs and audit records.
    pub user: String,
    /// The secret access key, sealed.
    pub sealed_secret: SealedKey,
    /// Whether it may sign.
    pub status: AccessKeyStatus,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

impl AccessKey {
    /// The AAD that binds a sealed secret to its access key id, so a sealed secret cannot be
    /// moved to another id.
    pub fn seal_aad(id: &AccessKeyId) -> Vec<u8> {
        format!("strongbox/access-key/{id}").into_bytes()
    }
}
