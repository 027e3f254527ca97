//! Aliases: friendly names for keys, unique per account and Region.

use time::OffsetDateTime;

use crate::model::ids::{AccountId, AliasName, KeyId, Region};

/// An alias pointing at one key in the same account and Region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alias {
    /// The owning account.
    pub account: AccountId,
    /// The Region it lives in.
    pub region: Region,
    /// The name, with `alias/`.
    pub name: AliasName,
    /// The key it points at.
    pub target: KeyId,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When its target last changed.
    pub updated_at: OffsetDateTime,
}
