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
pub(super) struct Bounded<K, V> {
    map: RwLock<HashMap<K, V>>,
    capacity: usize,
}

impl<K: Eq + Hash + Clone, V: Clone> Bounded<K, V> {
    fn new(capacity: usize) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    pub(super) fn get(&self, key: &K) -> Option<V> {
        let map = self
            .map
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.get(key).cloned()
    }

    pub(super) fn insert(&self, key: K, value: V) {
        let mut map = self
            .map
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if map.len() >= self.capacity && !map.contains_key(&key) {
            let victim = map.keys().next().cloned();
            if let Some(victim) = victim {
                map.remove(&victim);
            }
        }
        map.insert(key, value);
    }

    pub(super) fn remove(&self, key: &K) {
        let mut map = self
            .map
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.remove(key);
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
        assert_eq!(map.map.read().unwrap().len(), 3);
        assert_eq!(map.get(&9), Some(9));
        map.remove(&9);
        assert_eq!(map.get(&9), None);
    }
}
