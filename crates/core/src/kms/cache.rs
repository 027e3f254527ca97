//! In-memory caches that keep the hot paths (Encrypt, Decrypt, GenerateDataKey) off the store:
//! key metadata, alias targets, unsealed key versions and access-key secrets.
//!
//! Every state change goes through [`Caches::forget_key`] or [`Caches::forget_alias`]. The
//! caches are bounded; when one is full, an arbitrary entry is evicted (unsealed material is
//! zeroized when its last `Arc` drops).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, RwLock};

use strongbox_crypto::KeyMaterial;
use time::OffsetDateTime;

use super::accounts::Credentials;
use crate::model::{AccessKeyId, AccountId, AliasName, Key, KeyId, Region, VersionId};

/// A key's place: account, Region and id.
pub(super) type KeyScope = (AccountId, Region, KeyId);
/// An alias's place: account, Region and name.
pub(super) type AliasScope = (AccountId, Region, AliasName);

/// A credential and when it was read.
pub(super) struct CachedCredential {
    pub(super) credentials: Arc<Credentials>,
    pub(super) loaded_at: OffsetDateTime,
}

pub(super) struct Caches {
    pub(super) keys: Bounded<KeyScope, Arc<Key>>,
    pub(super) aliases: Bounded<AliasScope, KeyId>,
    pub(super) materials: Bounded<(KeyId, VersionId), Arc<KeyMaterial>>,
    pub(super) credentials: Bounded<AccessKeyId, Arc<CachedCredential>>,
}

impl Caches {
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            keys: Bounded::new(capacity),
            aliases: Bounded::new(capacity),
            materials: Bounded::new(capacity),
            credentials: Bounded::new(capacity),
        }
    }

    /// Drops everything cached about a key except its immutable versions.
    pub(super) fn forget_key(&self, scope: &KeyScope) {
        self.keys.remove(scope);
    }

    pub(super) fn forget_alias(&self, scope: &AliasScope) {
        self.aliases.remove(scope);
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

impl<K: Eq + Hash + Clone, V: Clone> Bounded<K, V> {
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

    pub(super) fn get(&self, key: &K) -> Option<V> {
        self.read().entries.get(key).cloned()
    }

    /// The current epoch: take it before reading the store, pass it to
    /// [`Bounded::insert_unless_changed`] after.
    pub(super) fn epoch(&self) -> u64 {
        self.read().epoch
    }

    /// Caches immutable data (key versions) unconditionally.
    pub(super) fn insert(&self, key: K, value: V) {
        self.write().insert(self.capacity, key, value);
    }

    /// Caches a value read from the store unless something was removed since `epoch`.
    pub(super) fn insert_unless_changed(&self, key: K, value: V, epoch: u64) {
        let mut map = self.write();
        if map.epoch == epoch {
            map.insert(self.capacity, key, value);
        }
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

    #[test]
    fn bounded_map_never_exceeds_its_capacity() {
        let map: Bounded<u32, u32> = Bounded::new(3);
        for i in 0..10 {
            map.insert(i, i);
        }
        assert_eq!(map.map.read().unwrap().entries.len(), 3);
        assert_eq!(map.get(&9), Some(9));
        map.remove(&9);
        assert_eq!(map.get(&9), None);
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
