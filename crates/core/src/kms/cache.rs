//! In-memory caches that keep the hot paths (Encrypt, Decrypt, GenerateDataKey) off the store:
//! key metadata, alias targets, unsealed key versions, access-key secrets, identities and
//! grants.
//!
//! Every state change goes through [`Caches::forget_key`] or [`Caches::forget_alias`]. The
//! caches are bounded; when one is full, an arbitrary entry is evicted (unsealed material is
//! zeroized when its last `Arc` drops).
//!
//! They are sized to hold a million keys in a few hundred megabytes: keys are cached by key id
//! alone (a random UUID; the account and Region are checked on every hit), with the material of
//! their current version in the same entry; account ids and Regions are inline values, and
//! identical key policies are stored once.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, RwLock};

use strongbox_crypto::KeyMaterial;
use time::OffsetDateTime;

use super::accounts::Credentials;
use super::iam::CachedIdentity;
use crate::model::{AccessKeyId, AccountId, AliasName, Grant, Key, KeyId, Region, VersionId};
use crate::policy::KeyPolicy;

/// A user's or role's place: account, `user` or `role`, and lowercased name.
pub(super) type IdentityKey = (AccountId, &'static str, String);

/// An alias's place: account, Region and name.
pub(super) type AliasScope = (AccountId, Region, AliasName);

/// The grants of one key to one grantee ARN.
pub(super) type GranteeScope = (KeyId, String);

/// A key's grants to one grantee and when they were read: trusted for the credential TTL,
/// the bound within which another node's grant changes are seen (this node's at once).
pub(super) struct CachedGrants {
    pub(super) grants: Vec<Arc<Grant>>,
    pub(super) loaded_at: OffsetDateTime,
}

/// A credential and when it was read.
pub(super) struct CachedKek {
    pub(super) kek: Arc<strongbox_crypto::LockedKey>,
    pub(super) loaded_at: OffsetDateTime,
}

/// An access key's credentials and when they were read.
pub(super) struct CachedCredential {
    pub(super) credentials: Arc<Credentials>,
    pub(super) loaded_at: OffsetDateTime,
}

pub(super) struct Caches {
    /// Keys by id. A hit counts only if its account and Region are the caller's.
    keys: Bounded<KeyId, CachedKey>,
    pub(super) aliases: Bounded<AliasScope, KeyId>,
    /// Unsealed key versions that no cached key holds as its current version (older versions
    /// that still decrypt, and versions of keys not, or no longer, in `keys`), by key, so that
    /// a deleted key's versions go in one step.
    materials: Bounded<KeyId, Versions>,
    pub(super) credentials: Bounded<AccessKeyId, Arc<CachedCredential>>,
    /// Users' and roles' records with their parsed policies, by account, kind and name key.
    pub(super) identities: Bounded<IdentityKey, Arc<CachedIdentity>>,
    /// A key's grants to one grantee ARN (often none: callers that no policy allows), so
    /// that a caller who uses a key by grant reads the store once, not on every request.
    pub(super) grants: Bounded<GranteeScope, Arc<CachedGrants>>,
    /// Accounts' unsealed key-encryption keys, in locked memory, with when they were read
    /// (trusted for the credential TTL, so that an account deleted by another process leaves
    /// this one's memory).
    pub(super) keks: Bounded<AccountId, Arc<CachedKek>>,
    /// Key ids (by Region) and key versions that the store did not have when a ciphertext
    /// named them (forged or foreign ciphertexts), with when: trusted for the credential TTL,
    /// so that a flood of made-up ids reads the store once per id and TTL, not per request.
    /// Bounded apart from the positive caches, and smaller.
    pub(super) absent_keys: Bounded<(Region, KeyId), OffsetDateTime>,
    pub(super) absent_versions: Bounded<(KeyId, VersionId), OffsetDateTime>,
    policies: Policies,
}

/// Entries each negative cache holds at most.
const ABSENT_CAPACITY: usize = 65_536;

impl Caches {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            keys: Bounded::new(capacity),
            aliases: Bounded::new(capacity),
            materials: Bounded::new(capacity),
            credentials: Bounded::new(capacity),
            identities: Bounded::new(capacity),
            grants: Bounded::new(capacity),
            keks: Bounded::new(capacity),
            absent_keys: Bounded::new(capacity.min(ABSENT_CAPACITY)),
            absent_versions: Bounded::new(capacity.min(ABSENT_CAPACITY)),
            policies: Policies::default(),
        }
    }

    /// The cached key with this id, if it is in `account` and `region`.
    pub(super) fn key(&self, account: &AccountId, region: &Region, id: KeyId) -> Option<Arc<Key>> {
        let found = self
            .keys
            .read_with(&id, |cached| Arc::clone(&cached.key))
            .filter(|key| key.arn.account == *account && key.arn.region == *region);
        let result = if found.is_some() { "hit" } else { "miss" };
        metrics::counter!(crate::telemetry::KEY_CACHE_LOOKUPS, "result" => result).increment(1);
        found
    }

    /// The cached key with this id in `region`, whatever its account.
    pub(super) fn key_anywhere(&self, region: &Region, id: KeyId) -> Option<Arc<Key>> {
        self.keys
            .read_with(&id, |cached| Arc::clone(&cached.key))
            .filter(|key| key.arn.region == *region)
    }

    /// The epoch of the key cache, to take before reading a key from the store.
    pub(super) fn keys_epoch(&self) -> u64 {
        self.keys.epoch()
    }

    /// Caches a key read from the store (see [`Bounded::insert_unless_changed`]), sharing its
    /// policy text with other cached keys.
    pub(super) fn insert_key(&self, mut key: Key, epoch: u64) -> Arc<Key> {
        key.policy = self.policies.share(key.policy);
        let key = Arc::new(key);
        let cached = CachedKey {
            key: Arc::clone(&key),
            current: None,
        };
        self.keys.insert_unless_changed(key.id(), cached, epoch);
        key
    }

    /// Caches a key just created, with its first version's material, unless a key was forgotten
    /// since `epoch` (taken before the key was stored: it may have changed since).
    pub(super) fn insert_new_key(&self, mut key: Key, material: Arc<KeyMaterial>, epoch: u64) {
        key.policy = self.policies.share(key.policy);
        let cached = CachedKey {
            key: Arc::new(key),
            current: Some(Arc::clone(&material)),
        };
        let (id, version) = (cached.key.id(), cached.key.current_version);
        if !self.keys.insert_unless_changed(id, cached, epoch) {
            self.insert_version(id, version, material);
        }
    }

    /// The unsealed material of `version` of `key`, if cached.
    pub(super) fn material(&self, key: &Key, version: VersionId) -> Option<Arc<KeyMaterial>> {
        let held = self
            .keys
            .read_with(&key.id(), |cached| cached.material(version))
            .flatten();
        held.or_else(|| {
            self.materials
                .read_with(&key.id(), |versions| versions.get(version))
                .flatten()
        })
    }

    /// Caches the unsealed material of `version` of `key`: in the key's entry when it is that
    /// entry's current version, otherwise in `materials`.
    pub(super) fn insert_material(
        &self,
        key: &Key,
        version: VersionId,
        material: Arc<KeyMaterial>,
    ) {
        let mut material = Some(material);
        self.keys.update(&key.id(), |cached| {
            if cached.key.current_version == version {
                cached.current = material.take();
            }
        });
        if let Some(material) = material {
            self.insert_version(key.id(), version, material);
        }
    }

    fn insert_version(&self, id: KeyId, version: VersionId, material: Arc<KeyMaterial>) {
        self.materials
            .upsert(id, |versions| versions.insert(version, material));
    }

    /// Drops everything cached about a deleted key: the key, its versions, aliases to it and
    /// its grants.
    pub(super) fn forget_deleted_key(&self, id: KeyId) {
        self.keys.remove(&id);
        self.materials.remove(&id);
        self.aliases.remove_where(|_, target| *target == id);
        self.grants.remove_where(|(key, _), _| *key == id);
    }

    /// Drops everything cached about a key except its immutable versions.
    pub(super) fn forget_key(&self, id: KeyId) {
        self.keys.remove(&id);
    }

    /// Drops everything unsealed (key-encryption keys, key material, credentials) and the
    /// keys that hold material: after a root rotation, which may have crypto-shredded an
    /// account, nothing of it may stay in memory.
    pub(super) fn forget_unsealed(&self) {
        self.keks.remove_where(|_, _| true);
        self.keys.remove_where(|_, _| true);
        self.materials.remove_where(|_, _| true);
        self.credentials.remove_where(|_, _| true);
        self.grants.remove_where(|_, _| true);
        self.identities.remove_where(|_, _| true);
    }

    /// Whether `key` was found absent from the store less than `ttl` before `now` (counted
    /// as an `absent` lookup).
    pub(super) fn known_absent<K: Eq + Hash + Clone>(
        map: &Bounded<K, OffsetDateTime>,
        key: &K,
        now: OffsetDateTime,
        ttl: time::Duration,
    ) -> bool {
        let absent = map.get(key).is_some_and(|seen| now - seen < ttl);
        if absent {
            metrics::counter!(crate::telemetry::KEY_CACHE_LOOKUPS, "result" => "absent")
                .increment(1);
        }
        absent
    }

    pub(super) fn forget_alias(&self, scope: &AliasScope) {
        self.aliases.remove(scope);
    }
}

/// The cached versions of one key (few: one per rotation that is still used).
#[derive(Default)]
struct Versions(Vec<(VersionId, Arc<KeyMaterial>)>);

impl Versions {
    fn get(&self, version: VersionId) -> Option<Arc<KeyMaterial>> {
        self.0
            .iter()
            .find(|(id, _)| *id == version)
            .map(|(_, material)| Arc::clone(material))
    }

    fn insert(&mut self, version: VersionId, material: Arc<KeyMaterial>) {
        if self.get(version).is_none() {
            self.0.push((version, material));
        }
    }
}

/// A cached key and, once used, the material of its current version.
struct CachedKey {
    key: Arc<Key>,
    current: Option<Arc<KeyMaterial>>,
}

impl CachedKey {
    fn material(&self, version: VersionId) -> Option<Arc<KeyMaterial>> {
        match &self.current {
            Some(material) if self.key.current_version == version => Some(Arc::clone(material)),
            _ => None,
        }
    }
}

/// The distinct key policies that cached keys share, up to [`Policies::MAX_BYTES`] of text in
/// all (past that, keys keep their own copies).
#[derive(Default)]
pub(super) struct Policies {
    shared: Mutex<SharedPolicies>,
}

#[derive(Default)]
struct SharedPolicies {
    by_text: HashMap<Box<str>, Arc<KeyPolicy>>,
    bytes: usize,
}

impl Policies {
    const MAX_BYTES: usize = 4 << 20;

    /// The shared copy of `policy`, which becomes the shared copy if there is room.
    fn share(&self, policy: Arc<KeyPolicy>) -> Arc<KeyPolicy> {
        let mut shared = self
            .shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(known) = shared.by_text.get(policy.text()) {
            return Arc::clone(known);
        }
        let len = policy.text().len();
        if shared.bytes + len <= Self::MAX_BYTES {
            shared.bytes += len;
            shared
                .by_text
                .insert(policy.text().into(), Arc::clone(&policy));
        }
        policy
    }
}

/// A map with a size bound behind one lock. Reads take the shared lock only.
///
/// A reader that loads a value from the store and then caches it can race with a writer that
/// changes the value and forgets it: the reader's stale copy would land after the forget and
/// stay. So every removal bumps an epoch, and [`Bounded::insert_unless_changed`] only caches a
/// value loaded while the epoch stood still.
pub(super) struct Bounded<K, V> {
    map: RwLock<Inner<K, V>>,
    capacity: usize,
}

struct Inner<K, V> {
    entries: HashMap<K, V>,
    epoch: u64,
}

impl<K: Eq + Hash + Clone, V> Bounded<K, V> {
    fn new(capacity: usize) -> Self {
        Self {
            map: RwLock::new(Inner {
                entries: HashMap::new(),
                epoch: 0,
            }),
            capacity: capacity.max(1),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner<K, V>> {
        self.map
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner<K, V>> {
        self.map
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(super) fn get(&self, key: &K) -> Option<V>
    where
        V: Clone,
    {
        self.read_with(key, V::clone)
    }

    /// What `read` makes of the entry for `key`, under the shared lock.
    fn read_with<R>(&self, key: &K, read: impl FnOnce(&V) -> R) -> Option<R> {
        self.read().entries.get(key).map(read)
    }

    /// Changes the entry for `key` in place, making a default one first if there is none.
    fn upsert(&self, key: K, change: impl FnOnce(&mut V))
    where
        V: Default,
    {
        let mut map = self.write();
        if let Some(value) = map.entries.get_mut(&key) {
            change(value);
            return;
        }
        let mut value = V::default();
        change(&mut value);
        map.insert(self.capacity, key, value);
    }

    /// Changes the entry for `key` in place, if there is one.
    fn update(&self, key: &K, change: impl FnOnce(&mut V)) {
        if let Some(value) = self.write().entries.get_mut(key) {
            change(value);
        }
    }

    /// The current epoch: take it before reading the store, pass it to
    /// [`Bounded::insert_unless_changed`] after.
    pub(super) fn epoch(&self) -> u64 {
        self.read().epoch
    }

    /// Caches a value read from the store unless something was removed since `epoch`; false
    /// when it did not.
    pub(super) fn insert_unless_changed(&self, key: K, value: V, epoch: u64) -> bool {
        let mut map = self.write();
        let unchanged = map.epoch == epoch;
        if unchanged {
            map.insert(self.capacity, key, value);
        }
        unchanged
    }

    /// Removes every entry matching `predicate`.
    pub(super) fn remove_where(&self, predicate: impl Fn(&K, &V) -> bool) {
        let mut map = self.write();
        map.entries.retain(|key, value| !predicate(key, value));
        map.epoch += 1;
    }

    pub(super) fn remove(&self, key: &K) {
        let mut map = self.write();
        map.entries.remove(key);
        map.epoch += 1;
    }
}

impl<K: Eq + Hash + Clone, V> Inner<K, V> {
    fn insert(&mut self, capacity: usize, key: K, value: V) {
        if self.entries.len() >= capacity && !self.entries.contains_key(&key) {
            let victim = self.entries.keys().next().cloned();
            if let Some(victim) = victim {
                self.entries.remove(&victim);
            }
        }
        self.entries.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{KeyArn, KeySpec, KeyUsage};

    fn key_in(account: &str, region: &str) -> Key {
        let arn = KeyArn {
            region: Region::parse(region).unwrap(),
            account: AccountId::parse(account).unwrap(),
            key_id: KeyId::generate(),
        };
        Key::new(
            arn,
            KeySpec::SymmetricDefault,
            KeyUsage::EncryptDecrypt,
            VersionId::generate(),
            OffsetDateTime::UNIX_EPOCH,
        )
    }

    fn material(byte: u8) -> Arc<KeyMaterial> {
        Arc::new(KeyMaterial::from_bytes(vec![byte; 32]))
    }

    #[test]
    fn a_cached_key_is_found_only_in_its_own_account_and_region() {
        let caches = Caches::new(10);
        let key = key_in("111122223333", "us-east-1");
        let (account, region, id) = (key.arn.account, key.arn.region, key.id());
        caches.insert_key(key, caches.keys_epoch());
        assert!(caches.key(&account, &region, id).is_some());
        let other_account = AccountId::parse("444455556666").unwrap();
        let other_region = Region::parse("eu-west-1").unwrap();
        assert!(caches.key(&other_account, &region, id).is_none());
        assert!(caches.key(&account, &other_region, id).is_none());
    }

    #[test]
    fn the_current_version_lives_and_goes_with_its_key() {
        let caches = Caches::new(10);
        let key = key_in("111122223333", "us-east-1");
        let current = key.current_version;
        let older = VersionId::generate();
        let cached = caches.insert_key(key.clone(), caches.keys_epoch());
        caches.insert_material(&cached, current, material(1));
        caches.insert_material(&cached, older, material(2));
        assert_eq!(caches.material(&key, current).unwrap().expose(), [1; 32]);
        assert_eq!(caches.material(&key, older).unwrap().expose(), [2; 32]);
        assert!(
            caches
                .materials
                .read_with(&key.id(), |versions| versions.get(current))
                .flatten()
                .is_none(),
            "held by the key's entry, not twice"
        );
        caches.forget_key(key.id());
        assert!(
            caches.material(&key, current).is_none(),
            "gone with the key"
        );
        assert_eq!(caches.material(&key, older).unwrap().expose(), [2; 32]);
        caches.forget_deleted_key(key.id());
        assert!(
            caches.material(&key, older).is_none(),
            "gone with the deleted key"
        );
    }

    #[test]
    fn a_new_key_changed_before_it_is_cached_keeps_only_its_material() {
        let caches = Caches::new(10);
        let key = key_in("111122223333", "us-east-1");
        let (account, region, id) = (key.arn.account, key.arn.region, key.id());
        let epoch = caches.keys_epoch();
        caches.forget_key(id); // another request changed the key after it was stored
        caches.insert_new_key(key.clone(), material(3), epoch);
        assert!(caches.key(&account, &region, id).is_none());
        assert_eq!(
            caches.material(&key, key.current_version).unwrap().expose(),
            [3; 32]
        );
        let fresh = caches.keys_epoch();
        caches.insert_new_key(key.clone(), material(4), fresh);
        assert!(caches.key(&account, &region, id).is_some());
        assert_eq!(
            caches.material(&key, key.current_version).unwrap().expose(),
            [4; 32]
        );
    }

    #[test]
    fn bounded_map_never_exceeds_its_capacity() {
        let map: Bounded<u32, u32> = Bounded::new(3);
        for i in 0..10 {
            map.upsert(i, |value| *value = i);
        }
        assert_eq!(map.map.read().unwrap().entries.len(), 3);
        assert_eq!(map.get(&9), Some(9));
        map.remove(&9);
        assert_eq!(map.get(&9), None);
    }

    #[test]
    fn equal_policies_are_stored_once() {
        let stored = |text: &str| Arc::new(KeyPolicy::stored(text.to_owned()));
        let policies = Policies::default();
        let first = policies.share(stored("{\"Statement\":[]}"));
        let second = policies.share(stored("{\"Statement\":[]}"));
        assert!(Arc::ptr_eq(&first, &second));
        let other = policies.share(stored("{}"));
        assert_eq!(other.text(), "{}");
        let huge = stored(&"x".repeat(Policies::MAX_BYTES));
        let kept = policies.share(Arc::clone(&huge));
        assert!(
            Arc::ptr_eq(&kept, &huge),
            "no room: the key keeps its own copy"
        );
        assert!(!Arc::ptr_eq(&policies.share(stored(huge.text())), &huge));
    }

    #[test]
    fn a_value_read_before_a_removal_is_not_cached() {
        let map: Bounded<u32, &str> = Bounded::new(10);
        let before_read = map.epoch();
        map.remove(&1); // a writer changed key 1 and forgot it while the reader was reading
        map.insert_unless_changed(1, "stale", before_read);
        assert_eq!(map.get(&1), None);
        let fresh = map.epoch();
        map.insert_unless_changed(1, "fresh", fresh);
        assert_eq!(map.get(&1), Some("fresh"));
    }
}
