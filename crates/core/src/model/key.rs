//! The key aggregate and its versions.

use std::collections::BTreeMap;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::model::ids::{KeyArn, KeyId, VersionId};
use crate::model::spec::{KeySpec, KeyState, KeyUsage, Origin, RotationType};
use crate::policy::KeyPolicy;
use crate::seal::SealedKey;

/// Tags on a key: tag key to tag value. AWS tag keys are unique per resource.
pub type Tags = BTreeMap<String, String>;

/// A KMS key's metadata. Its material lives in [`KeyVersion`]s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Key {
    /// The key's ARN, which also carries its account, Region and id.
    pub arn: KeyArn,
    /// Free text, 0 to 8192 characters.
    pub description: String,
    /// The type of material.
    pub spec: KeySpec,
    /// What the key is for.
    pub usage: KeyUsage,
    /// Where the material came from.
    pub origin: Origin,
    /// The lifecycle state.
    pub state: KeyState,
    /// When the key was created.
    pub created_at: OffsetDateTime,
    /// The version that encrypts; every version decrypts.
    pub current_version: VersionId,
    /// How many versions the key has (the next version's ordinal).
    pub version_count: u32,
    /// Automatic rotation, when enabled.
    pub rotation: Option<AutoRotation>,
    /// How many on-demand rotations were requested (AWS allows 25 per key).
    pub on_demand_rotations: u32,
    /// A pending deletion or on-demand rotation, rarely set: see [`Key::deletion_date`] and
    /// [`Key::on_demand_started`].
    pub pending: Option<Box<PendingWork>>,
    /// The key's tags.
    pub tags: Tags,
    /// The key policy, text and statements. Shared: most keys of an account carry the same
    /// default policy, and the key cache holds one copy of it (see `kms::cache`).
    pub policy: Arc<KeyPolicy>,
    /// Incremented by every stored update; updates compare and swap on it.
    pub revision: i64,
}

impl Key {
    /// A key as CreateKey makes it, before its description, tags and policy are set: enabled,
    /// one version, no rotation schedule, revision 0.
    pub fn new(
        arn: KeyArn,
        spec: KeySpec,
        usage: KeyUsage,
        current_version: VersionId,
        created_at: OffsetDateTime,
    ) -> Self {
        let policy = Arc::new(KeyPolicy::default_for(&arn.account));
        Self {
            arn,
            description: String::new(),
            spec,
            usage,
            origin: Origin::AwsKms,
            state: KeyState::Enabled,
            created_at,
            current_version,
            version_count: 1,
            rotation: None,
            on_demand_rotations: 0,
            pending: None,
            tags: Tags::new(),
            policy,
            revision: 0,
        }
    }

    /// The key id.
    pub fn id(&self) -> KeyId {
        self.arn.key_id
    }

    /// AWS's `CurrentKeyMaterialId`.
    pub fn current_material_id(&self) -> String {
        self.current_version.material_id(self.id())
    }

    /// AWS's `Enabled` flag, derived from the state.
    pub fn enabled(&self) -> bool {
        self.state == KeyState::Enabled
    }

    /// When a key pending deletion will be deleted.
    pub fn deletion_date(&self) -> Option<OffsetDateTime> {
        self.pending
            .as_ref()
            .and_then(|pending| pending.deletion_date)
    }

    /// The waiting period chosen for a pending deletion (7 to 30 days).
    pub fn pending_window_days(&self) -> Option<u32> {
        self.pending
            .as_ref()
            .and_then(|pending| pending.pending_window_days)
    }

    /// When an on-demand rotation was requested that the scheduler has not yet performed.
    pub fn on_demand_started(&self) -> Option<OffsetDateTime> {
        self.pending
            .as_ref()
            .and_then(|pending| pending.on_demand_started)
    }

    /// Sets or clears the pending deletion: its date and waiting period.
    pub fn set_deletion(&mut self, deletion: Option<(OffsetDateTime, u32)>) {
        self.update_pending(|pending| {
            pending.deletion_date = deletion.map(|(date, _)| date);
            pending.pending_window_days = deletion.map(|(_, days)| days);
        });
    }

    /// Sets or clears when an on-demand rotation was requested.
    pub fn set_on_demand_started(&mut self, started: Option<OffsetDateTime>) {
        self.update_pending(|pending| pending.on_demand_started = started);
    }

    fn update_pending(&mut self, change: impl FnOnce(&mut PendingWork)) {
        let mut pending = self.pending.take().map(|boxed| *boxed).unwrap_or_default();
        change(&mut pending);
        self.pending = PendingWork::boxed(pending);
    }
}

/// What a key waits for: a deletion, an on-demand rotation. Rarely set, so a [`Key`] carries
/// it boxed: a million cached keys take 32 bytes less each (the `Arc<Key>` fits the
/// allocator's 224-byte class instead of 256).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PendingWork {
    /// When a key pending deletion will be deleted.
    pub deletion_date: Option<OffsetDateTime>,
    /// The waiting period chosen for a pending deletion (7 to 30 days).
    pub pending_window_days: Option<u32>,
    /// When an on-demand rotation was requested that the scheduler has not yet performed.
    pub on_demand_started: Option<OffsetDateTime>,
}

impl PendingWork {
    /// `pending` boxed, or `None` when nothing is pending.
    pub fn boxed(pending: PendingWork) -> Option<Box<PendingWork>> {
        (pending != PendingWork::default()).then(|| Box::new(pending))
    }
}

/// An automatic rotation schedule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AutoRotation {
    /// Days between rotations (90 to 2560).
    pub period_days: u32,
    /// When the next automatic rotation is due.
    pub next_rotation: OffsetDateTime,
}

/// One version of a key's material, sealed under the root key bound to the key (ARN, spec, usage) and
/// the version id (see [`KeyVersion::seal_binding`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyVersion {
    /// The key this version belongs to.
    pub key_id: KeyId,
    /// The version id, carried in every ciphertext it makes.
    pub version_id: VersionId,
    /// The version's position: 0 for the first material, then one more per rotation.
    pub ordinal: u32,
    /// How the version was made; `None` for the key's first material.
    pub rotation: Option<RotationType>,
    /// The sealed material.
    pub sealed: SealedKey,
    /// When the version was made.
    pub created_at: OffsetDateTime,
}

impl KeyVersion {
    /// What sealed material is bound to: the key's ARN, the version, and the key's spec and
    /// usage, so that material copied to another key or version, or a key whose spec or usage
    /// was changed in the store (a symmetric key's 32 bytes read as an HMAC key's), does not
    /// unseal.
    pub fn seal_binding(key: &Key, version: VersionId) -> crate::seal::Binding {
        crate::seal::Binding::new("strongbox/key-material")
            .field(key.arn.to_string())
            .field(version.to_string())
            .field(key.spec.as_str())
            .field(key.usage.as_str())
    }

    /// The first format's binding (ARN and version), for the migration that seals again.
    pub fn legacy_seal_aad(arn: &KeyArn, version: VersionId) -> Vec<u8> {
        format!("strongbox/key-material/{arn}/{version}").into_bytes()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::model::{AccountId, Region};

    /// The key cache holds a million of these: an `Arc<Key>` (two counters and the key) must
    /// stay within the allocator's 224-byte class (the next is 256).
    #[test]
    fn a_cached_key_stays_small() {
        assert!(
            std::mem::size_of::<Key>() + 16 <= 224,
            "Key is {} bytes",
            std::mem::size_of::<Key>()
        );
    }

    #[test]
    fn pending_work_is_boxed_only_while_something_is_pending() {
        let arn = KeyArn {
            region: Region::parse("eu-west-1").unwrap(),
            account: AccountId::parse("111122223333").unwrap(),
            key_id: KeyId::generate(),
        };
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut key = Key::new(
            arn,
            KeySpec::SymmetricDefault,
            KeyUsage::EncryptDecrypt,
            VersionId::generate(),
            now,
        );
        assert!(key.pending.is_none());
        key.set_deletion(Some((now, 7)));
        key.set_on_demand_started(Some(now));
        assert_eq!(
            (key.deletion_date(), key.pending_window_days()),
            (Some(now), Some(7))
        );
        assert_eq!(key.on_demand_started(), Some(now));
        key.set_deletion(None);
        assert_eq!(
            (key.deletion_date(), key.pending_window_days()),
            (None, None)
        );
        assert!(key.pending.is_some(), "the rotation is still pending");
        key.set_on_demand_started(None);
        assert!(key.pending.is_none());
    }
}
