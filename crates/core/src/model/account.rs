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
    /// What a sealed secret is bound to: its account, user and id, so that a row moved to
    /// another account or user (by someone who can write the store but has no root key) no
    /// longer opens, nor a secret copied to another id.
    pub fn seal_binding(&self) -> crate::seal::Binding {
        crate::seal::Binding::new("strongbox/access-key")
            .field(self.account.as_str())
            .field(&self.user)
            .field(self.id.as_str())
    }

    /// The first format's binding (the id alone), for the migration that seals again.
    pub fn legacy_seal_aad(&self) -> Vec<u8> {
        format!("strongbox/access-key/{}", self.id).into_bytes()
    }
}
