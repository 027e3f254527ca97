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
    /// When a key pending deletion will be deleted.
    pub deletion_date: Option<OffsetDateTime>,
    /// The waiting period chosen for a pending deletion (7 to 30 days).
    pub pending_window_days: Option<u32>,
    /// The version that encrypts; every version decrypts.
    pub current_version: VersionId,
    /// How many versions the key has (the next version's ordinal).
    pub version_count: u32,
    /// Automatic rotation, when enabled.
    pub rotation: Option<AutoRotation>,
    /// How many on-demand rotations were requested (AWS allows 25 per key).
    pub on_demand_rotations: u32,
    /// When an on-demand rotation was requested that the scheduler has not yet performed.
    pub on_demand_started: Option<OffsetDateTime>,
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
            deletion_date: None,
            pending_window_days: None,
            current_version,
            version_count: 1,
            rotation: None,
            on_demand_rotations: 0,
            on_demand_started: None,
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
