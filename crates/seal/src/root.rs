//! [`RootSeal`]: the one implementation of `strongbox_core::Seal`, over a [`RootStorage`] that
//! keeps the root keys (a plain file, or wrapped under a passphrase, an HSM or Shamir shares).
//!
//! A root rotation is three durable steps: the storage adds a new root key (which seals from
//! then on, the old one still opening), the caller seals every root-sealed value again, and the
//! storage keeps only the new key. A process that meets a value under a root key it does not
//! hold, or whose storage changed on disk, reads the storage again (`refresh`), so that a
//! rotation run by another process (the admin CLI) is followed by a running server.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use strongbox_core::{Seal, SealError, SealStatus, SealedKey};
use strongbox_crypto::{LockedKey, SecretBytes};

use crate::keyring::{FORMAT_V3, Keyring, RootKey, RootKeyId, sealed_under};

/// What changes on disk when a storage's root keys change (files' inode, size and mtime).
pub type Fingerprint = Vec<u64>;

/// Where the root keys live, and how they are read and written.
pub trait RootStorage: Send + Sync {
    /// The seal's name (`file`, `passphrase`, ...), for status and logs.
    fn kind(&self) -> &'static str;

    /// The root keys, oldest first (the last seals). Read so that a rotation by another
    /// process, at any step, never yields a set that lacks the key that seals.
    /// `Err(SealError::Sealed)` when the storage cannot open them yet (Shamir before unseal).
    fn load(&self) -> Result<Vec<LockedKey>, SealError>;

    /// Durably adds `key`, which seals from now on; the older keys stay until
    /// [`RootStorage::keep_only_current`].
    fn add(&self, key: &LockedKey) -> Result<(), SealError>;

    /// Durably destroys every root key but the current one.
    fn keep_only_current(&self) -> Result<(), SealError>;

    /// What changes on disk when the keys change, to notice another process's rotation.
    fn fingerprint(&self) -> Fingerprint;

    /// The earliest seal format whose values may still open (see `Seal::opens_legacy`): 1
    /// or 2 for a file seal made by an earlier version until its migration is done, the
    /// current format otherwise.
    fn earliest_format(&self) -> u8 {
        FORMAT_V3
    }

    /// Records that no value of an earlier format is left.
    fn retire_earlier_formats(&self) -> Result<(), SealError> {
        Ok(())
    }
}

/// The root keys of a [`RootStorage`], in memory.
pub struct RootSeal {
    storage: Arc<dyn RootStorage>,
    keyring: RwLock<Arc<Keyring>>,
    /// The storage's fingerprint when the keyring was read.
    seen: Mutex<Fingerprint>,
    /// The earliest format that may still open (values to seal again).
    earliest_format: AtomicU8,
}

impl RootSeal {
    /// Reads `storage`'s root keys. A storage that cannot open them yet leaves the seal
    /// sealed (every operation answers `SealError::Sealed`) until [`RootSeal::refresh`] can.
    pub fn open(storage: Arc<dyn RootStorage>) -> Result<Self, SealError> {
        let seal = Self {
            earliest_format: AtomicU8::new(storage.earliest_format()),
            keyring: RwLock::new(Arc::new(Keyring::default())),
            seen: Mutex::new(Vec::new()),
            storage,
        };
        match seal.reload() {
            Ok(()) | Err(SealError::Sealed) => Ok(seal),
            Err(error) => Err(error),
        }
    }

    fn keyring(&self) -> Arc<Keyring> {
        Arc::clone(
            &self
                .keyring
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// Reads the storage again, whatever its fingerprint.
    fn reload(&self) -> Result<(), SealError> {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let fingerprint = self.storage.fingerprint();
        let keys = self.storage.load()?;
        if keys.is_empty() {
            return Err(SealError::Backend(format!(
                "the {} seal holds no root key",
                self.storage.kind()
            )));
        }
        let mut keyring = Keyring::default();
        for root in keys.into_iter().map(RootKey::new) {
            // The same key twice (read in the middle of another process's rotation) is one.
            if !keyring.holds(&root.id) {
                keyring.keys.push(root);
            }
        }
        *self
            .keyring
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(keyring);
        *seen = fingerprint;
        Ok(())
    }

    /// Opens `sealed` with the root keys the storage holds now, without making them the
    /// seal's: to prove them (against the store's check value) before anything uses them.
    pub fn check_candidate(
        &self,
        aad: &[u8],
        sealed: &SealedKey,
    ) -> Result<SecretBytes, SealError> {
        let keyring = Keyring {
            keys: self.storage.load()?.into_iter().map(RootKey::new).collect(),
        };
        keyring.unseal(aad, sealed)
    }

    /// Drops every root key from memory: sealed again (a start that failed after unsealing).
    pub fn forget(&self) {
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *self
            .keyring
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(Keyring::default());
        seen.clear();
    }

    /// The id of the root key that seals now.
    pub fn current_root_id(&self) -> Option<RootKeyId> {
        self.keyring().current().map(|root| root.id)
    }
}

impl Seal for RootSeal {
    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<SealedKey, SealError> {
        self.keyring().seal(aad, plaintext)
    }

    fn unseal(&self, aad: &[u8], sealed: &SealedKey) -> Result<SecretBytes, SealError> {
        let keyring = self.keyring();
        if keyring.keys.is_empty() {
            return Err(SealError::Sealed);
        }
        match sealed_under(sealed) {
            // Sealed under a root key this process has not read yet: another process rotated.
            Some(id) if !keyring.holds(&id) && self.refresh()? => {
                self.keyring().unseal(aad, sealed)
            }
            _ => keyring.unseal(aad, sealed),
        }
    }

    fn unseal_earlier(
        &self,
        first_aad: &[u8],
        aad: &[u8],
        sealed: &SealedKey,
    ) -> Result<SecretBytes, SealError> {
        self.keyring().unseal_earlier(
            self.earliest_format.load(Ordering::Acquire),
            first_aad,
            aad,
            sealed,
        )
    }

    fn is_current(&self, sealed: &SealedKey) -> bool {
        let current = self.current_root_id();
        current.is_some() && sealed_under(sealed) == current
    }

    fn current_root(&self) -> Option<Vec<u8>> {
        self.current_root_id().map(|id| id.to_vec())
    }

    fn root_of(&self, sealed: &SealedKey) -> Option<Vec<u8>> {
        sealed_under(sealed).map(|id| id.to_vec())
    }

    fn opens_legacy(&self) -> bool {
        self.earliest_format.load(Ordering::Acquire) < FORMAT_V3
    }

    fn retire_legacy(&self) -> Result<(), SealError> {
        self.storage.retire_earlier_formats()?;
        self.earliest_format.store(FORMAT_V3, Ordering::Release);
        Ok(())
    }

    fn begin_rotation(&self) -> Result<(), SealError> {
        self.refresh()?;
        if self.keyring().keys.len() > 1 {
            // A rotation was interrupted: finish that one.
            return Ok(());
        }
        let key = LockedKey::generate().map_err(|error| SealError::Backend(error.to_string()))?;
        self.storage.add(&key)?;
        self.reload()
    }

    fn finish_rotation(&self) -> Result<(), SealError> {
        self.storage.keep_only_current()?;
        self.reload()
    }

    fn refresh(&self) -> Result<bool, SealError> {
        let unchanged = {
            let seen = self
                .seen
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            *seen == self.storage.fingerprint() && !self.keyring().keys.is_empty()
        };
        if unchanged {
            return Ok(false);
        }
        self.reload()?;
        Ok(true)
    }

    fn status(&self) -> SealStatus {
        let keyring = self.keyring();
        SealStatus {
            kind: self.storage.kind(),
            sealed: keyring.keys.is_empty(),
            root_keys: keyring.keys.len(),
            memory_locked: keyring.keys.iter().all(|root| root.key.is_locked()),
        }
    }
}
