//! The storage seam. Implementations (SQLite, PostgreSQL) live in the `strongbox-store` crate.
//!
//! Every method that touches tenant data takes the [`AccountId`], so that isolation is a
//! property of the interface rather than of each caller. Lists return [`Page`]s, and key
//! updates compare and swap on [`Key::revision`]. A method returns only once its write is
//! durable.

use std::fmt;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::{AuditRecord, Checkpoint, StoredDigest};
use crate::model::{
    AccessKey, AccessKeyId, AccessKeyStatus, Account, AccountId, Alias, AliasName, Grant, GrantId,
    GrantPrincipal, InlinePolicy, Key, KeyArn, KeyId, KeyVersion, PolicyOwner, Region, Role, User,
    VersionId,
};
use crate::seal::SealedKey;

/// A request for one page of a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// At most this many items (at least 1).
    pub limit: u32,
    /// Continue after this position, as returned in [`Page::next`].
    pub after: Option<String>,
}

/// One page of a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in a stable order.
    pub items: Vec<T>,
    /// Where the next page starts, when there is one.
    pub next: Option<String>,
}

/// What storing a new grant did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantCreated {
    /// The grant was stored.
    Created,
    /// A grant with the same name and the same parameters ([`Grant::fingerprint`]) exists on
    /// the key: this is a retry, and that grant's id is the answer.
    Existing(GrantId),
    /// The key already has as many grants as allowed; nothing was stored.
    LimitReached,
    /// The key is gone (deleted meanwhile); nothing was stored.
    KeyGone,
}

/// Which of a key's grants ListGrants returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GrantFilter<'a> {
    /// Only this grant.
    pub grant_id: Option<GrantId>,
    /// Only grants to this grantee (its ARN, exactly).
    pub grantee: Option<&'a str>,
}

/// One key version's sealed material and where it belongs, as the re-sealing migration reads
/// them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedVersion {
    /// The key.
    pub key: KeyArn,
    /// The version.
    pub version: VersionId,
    /// Its sealed material.
    pub sealed: crate::seal::SealedKey,
}

/// The kind of a storage failure, which decides how the domain reacts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The row to update or delete is gone.
    NotFound,
    /// A unique key already exists, or a compare-and-swap lost a race.
    Conflict,
    /// The database could not be reached or is busy.
    Unavailable,
    /// Stored data could not be decoded.
    Corrupt,
    /// The storage has no room left (a full disk or volume): writes fail until space returns.
    NoSpace,
    /// A newly sealed value was refused: it was sealed under a root key that a rotation is
    /// retiring (this process has not read the new root key yet).
    StaleRoot,
}

/// A storage failure with its kind and the driver's cause.
pub struct StoreError {
    kind: StoreErrorKind,
    source: Box<dyn std::error::Error + Send + Sync>,
}

impl StoreError {
    /// A failure of the given kind.
    pub fn new(
        kind: StoreErrorKind,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self {
            kind,
            source: source.into(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

impl fmt::Debug for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreError({:?}: {})", self.kind, self.source)
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.source)
    }
}

impl std::error::Error for StoreError {}

/// Persistent state. Object-safe and `Send`, held as `Arc<dyn Store>`.
#[async_trait]
pub trait Store: Send + Sync {
    /// Creates an account; `Conflict` when the id is taken.
    async fn create_account(&self, account: &Account) -> Result<(), StoreError>;
    /// One account.
    async fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError>;
    /// Every account, ordered by id.
    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError>;

    /// Stores an access key; `Conflict` when the id is taken.
    async fn create_access_key(&self, key: &AccessKey) -> Result<(), StoreError>;
    /// Looks up an access key by id. The one lookup not scoped by account: SigV4 names the
    /// access key, and the key names the account.
    async fn access_key(&self, id: &AccessKeyId) -> Result<Option<AccessKey>, StoreError>;
    /// The account's access keys, ordered by id.
    async fn list_access_keys(&self, account: &AccountId) -> Result<Vec<AccessKey>, StoreError>;
    /// Deletes an access key of the account; false when there was none.
    async fn delete_access_key(
        &self,
        account: &AccountId,
        id: &AccessKeyId,
    ) -> Result<bool, StoreError>;

    /// Activates or deactivates an access key of the account; false when there is none.
    async fn set_access_key_status(
        &self,
        account: &AccountId,
        id: &AccessKeyId,
        status: AccessKeyStatus,
    ) -> Result<bool, StoreError>;

    /// Creates a user with its first inline policies, atomically; `Conflict` when the name is
    /// taken in the account (ignoring case, as IAM does).
    async fn create_user(&self, user: &User, policies: &[InlinePolicy]) -> Result<(), StoreError>;
    /// One user, by name (ignoring case).
    async fn user(&self, account: &AccountId, name: &str) -> Result<Option<User>, StoreError>;
    /// The account's users, ordered by name; the marker is the last name returned.
    async fn list_users(
        &self,
        account: &AccountId,
        page: &PageRequest,
    ) -> Result<Page<User>, StoreError>;
    /// Deletes a user; false when there was none. The caller checks first that nothing is
    /// attached to it (IAM's `DeleteConflict`).
    async fn delete_user(&self, account: &AccountId, name: &str) -> Result<bool, StoreError>;
    /// Creates a role; `Conflict` when the name is taken in the account (ignoring case).
    async fn create_role(&self, role: &Role) -> Result<(), StoreError>;
    /// One role, by name (ignoring case).
    async fn role(&self, account: &AccountId, name: &str) -> Result<Option<Role>, StoreError>;
    /// The account's roles, ordered by name; the marker is the last name returned.
    async fn list_roles(
        &self,
        account: &AccountId,
        page: &PageRequest,
    ) -> Result<Page<Role>, StoreError>;
    /// Rewrites a role's trust policy, description and session limit; false when it is gone.
    async fn update_role(&self, role: &Role) -> Result<bool, StoreError>;
    /// Deletes a role; false when there was none. The caller checks for attached policies.
    async fn delete_role(&self, account: &AccountId, name: &str) -> Result<bool, StoreError>;
    /// Adds or replaces an inline policy of a user or role.
    async fn put_inline_policy(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
        policy: &InlinePolicy,
    ) -> Result<(), StoreError>;
    /// The inline policies of a user or role, ordered by name.
    async fn inline_policies(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
    ) -> Result<Vec<InlinePolicy>, StoreError>;
    /// Deletes an inline policy; false when there was none.
    async fn delete_inline_policy(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
        name: &str,
    ) -> Result<bool, StoreError>;

    /// Stores a new key with its first version, atomically.
    async fn create_key(&self, key: &Key, version: &KeyVersion) -> Result<(), StoreError>;
    /// One key of the account in the Region.
    async fn key(
        &self,
        account: &AccountId,
        region: &Region,
        id: KeyId,
    ) -> Result<Option<Key>, StoreError>;
    /// The key with this id in the Region, whatever its account: a ciphertext names its key by
    /// id alone, and another account may be allowed to decrypt with it.
    async fn key_in_region(&self, region: &Region, id: KeyId) -> Result<Option<Key>, StoreError>;
    /// The ARNs of the account's keys in the Region, ordered by key id. Only ids: a page of
    /// 1000 full keys could be large.
    async fn list_keys(
        &self,
        account: &AccountId,
        region: &Region,
        page: &PageRequest,
    ) -> Result<Page<KeyArn>, StoreError>;
    /// Writes `key` if the stored revision still equals `key.revision`, and returns the new
    /// revision. `Conflict` when another writer got there first, `NotFound` when it is gone.
    async fn update_key(&self, key: &Key) -> Result<i64, StoreError>;
    /// Rotates: writes `key` (whose `current_version` names `version`) if the stored revision
    /// still equals `key.revision`, and adds `version`, in one transaction. Returns the new
    /// revision; `Conflict` when another writer (or scheduler) got there first.
    async fn rotate_key(&self, key: &Key, version: &KeyVersion) -> Result<i64, StoreError>;
    /// Deletes the key with its versions (their sealed material), aliases and grants, in one
    /// transaction, if the stored revision still equals `key.revision`; `Conflict` otherwise.
    async fn delete_key(&self, key: &Key) -> Result<(), StoreError>;
    /// Keys with scheduled work at `now`, across all accounts (the scheduler is not a tenant):
    /// an on-demand rotation requested, an automatic rotation due on an enabled key, or a
    /// deletion date passed. At most `limit`, most overdue first.
    async fn due_keys(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<Key>, StoreError>;
    /// A key's versions in ordinal order; the marker is the last ordinal returned.
    async fn list_key_versions(
        &self,
        account: &AccountId,
        key: KeyId,
        page: &PageRequest,
    ) -> Result<Page<KeyVersion>, StoreError>;
    /// One version of a key of the account.
    async fn key_version(
        &self,
        account: &AccountId,
        key: KeyId,
        version: VersionId,
    ) -> Result<Option<KeyVersion>, StoreError>;

    /// Stores a grant on its key, atomically with three checks: the key still exists; when the
    /// grant has a name, a grant of the key with the same name and fingerprint is returned
    /// instead (a retry); and when the key already has `limit` grants, nothing is stored.
    async fn create_grant(&self, grant: &Grant, limit: u32) -> Result<GrantCreated, StoreError>;
    /// One grant of a key.
    async fn grant(&self, key: &KeyArn, id: GrantId) -> Result<Option<Grant>, StoreError>;
    /// The grants of a key whose grantee is `grantee` (an ARN, exactly), in id order.
    async fn grants_to(&self, key: &KeyArn, grantee: &str) -> Result<Vec<Grant>, StoreError>;
    /// A key's grants, filtered, ordered by id; the marker is the last id returned.
    async fn list_grants(
        &self,
        key: &KeyArn,
        filter: GrantFilter<'_>,
        page: &PageRequest,
    ) -> Result<Page<Grant>, StoreError>;
    /// The grants in a Region, on any account's keys, whose retiring principal is `retiring`
    /// (its ARN exactly, and its unique id), ordered by id; the marker is the last id returned.
    /// Not scoped by account: a grant on another account's key can name the caller's principal.
    async fn list_retirable_grants(
        &self,
        region: &Region,
        retiring: &GrantPrincipal,
        page: &PageRequest,
    ) -> Result<Page<Grant>, StoreError>;
    /// Deletes a grant of a key; false when there was none.
    async fn delete_grant(&self, key: &KeyArn, id: GrantId) -> Result<bool, StoreError>;

    /// Creates an alias; `Conflict` when the name is taken in the account and Region.
    async fn create_alias(&self, alias: &Alias) -> Result<(), StoreError>;
    /// One alias.
    async fn alias(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
    ) -> Result<Option<Alias>, StoreError>;
    /// Points an existing alias at a new target; `NotFound` when it is gone.
    async fn update_alias(&self, alias: &Alias) -> Result<(), StoreError>;
    /// Deletes an alias; false when there was none.
    async fn delete_alias(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
    ) -> Result<bool, StoreError>;
    /// The account's aliases in the Region, optionally only those of one key, ordered by name.
    async fn list_aliases(
        &self,
        account: &AccountId,
        region: &Region,
        target: Option<KeyId>,
        page: &PageRequest,
    ) -> Result<Page<Alias>, StoreError>;

    /// Records kept by an older layout, one row each (before the audit journal), ordered by
    /// account, Region and sequence, after `after`; at most `limit`.
    async fn legacy_audit_records(
        &self,
        after: Option<&(AccountId, Region, u64)>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError>;
    /// Deletes the older layout's record rows once they were moved.
    async fn drop_legacy_audit_records(&self) -> Result<(), StoreError>;
    /// Stores a digest; `Conflict` when its sequence is taken.
    async fn insert_audit_digest(&self, digest: &StoredDigest) -> Result<(), StoreError>;
    /// A chain's digests after sequence `after`, in order, at most `limit`.
    async fn audit_digests(
        &self,
        account: &AccountId,
        region: &Region,
        after: u64,
        limit: u32,
    ) -> Result<Vec<StoredDigest>, StoreError>;
    /// A chain's newest digest.
    async fn last_audit_digest(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> Result<Option<StoredDigest>, StoreError>;
    /// Every chain that has digests or a checkpoint.
    async fn audit_chains(&self) -> Result<Vec<(AccountId, Region)>, StoreError>;
    /// Retention: deletes a chain's digests through `checkpoint.digest_sequence` and stores
    /// `checkpoint` in their place, in one transaction (the audit sink then forgets the records
    /// they cover).
    async fn prune_audit(&self, checkpoint: &Checkpoint) -> Result<(), StoreError>;
    /// A chain's checkpoint, when its prefix was pruned.
    async fn audit_checkpoint(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> Result<Option<Checkpoint>, StoreError>;

    /// Every key version's sealed material, across accounts (sealing again after a format
    /// change is the service's, not a tenant's), ordered by account, key and version; the
    /// marker is opaque.
    async fn sealed_versions(&self, page: &PageRequest) -> Result<Page<SealedVersion>, StoreError>;
    /// Replaces versions' sealed material (`old` by `new`, each where it still is `old`) in
    /// one transaction; returns how many were replaced.
    async fn reseal_versions(
        &self,
        resealed: &[(SealedVersion, crate::seal::SealedKey)],
    ) -> Result<u64, StoreError>;
    /// Replaces an access key's sealed secret if it still is `old`; false otherwise.
    async fn reseal_access_key(
        &self,
        id: &AccessKeyId,
        old: &crate::seal::SealedKey,
        new: &crate::seal::SealedKey,
    ) -> Result<bool, StoreError>;
    /// Replaces a service-wide value if it still is `old`; false otherwise.
    async fn replace_meta(&self, name: &str, old: &[u8], new: &[u8]) -> Result<bool, StoreError>;

    /// A service-wide value (all are sealed under the root key).
    async fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every service-wide value, for a root rotation.
    async fn list_meta(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Sets a service-wide value, sealed under root key `root`, once: `Conflict` when it is
    /// already set, `StaleRoot` when a root rotation named another root key.
    async fn insert_meta(&self, name: &str, value: &[u8], root: &[u8]) -> Result<(), StoreError>;

    /// An account's key-encryption key, sealed under the root key.
    async fn account_kek(&self, account: &AccountId) -> Result<Option<SealedKey>, StoreError>;
    /// Stores an account's key-encryption key, sealed under root key `root`, once: `Conflict`
    /// when it has one, `StaleRoot` when a root rotation named another root key.
    async fn insert_account_kek(
        &self,
        account: &AccountId,
        sealed: &SealedKey,
        root: &[u8],
    ) -> Result<(), StoreError>;
    /// Every account's sealed key-encryption key, for a root rotation.
    async fn account_keks(&self) -> Result<Vec<(AccountId, SealedKey)>, StoreError>;
    /// Replaces an account's sealed key-encryption key if it still is `old`; false otherwise.
    async fn replace_account_kek(
        &self,
        account: &AccountId,
        old: &SealedKey,
        new: &SealedKey,
    ) -> Result<bool, StoreError>;
    /// Names the root key that seals from now on: values sealed under another are refused on
    /// insert (`StaleRoot`). Set by a root rotation before it seals anything again.
    async fn set_sealing_root(&self, root: &[u8]) -> Result<(), StoreError>;
    /// Deletes an account and everything it owns (key-encryption key, keys and versions,
    /// aliases, grants on its keys, users, roles, policies, access keys) in one transaction;
    /// its audit trail stays. False when there was no such account.
    async fn delete_account(&self, account: &AccountId) -> Result<bool, StoreError>;

    /// Whether the store answers (for `/health`).
    async fn ping(&self) -> Result<(), StoreError>;
    /// Flushes and closes connections; called once on shutdown.
    async fn close(&self);
}
