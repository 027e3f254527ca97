//! The root-key check value: a constant sealed under the root key and kept in the store, so that
//! a server started with the wrong (or a freshly generated) root key refuses to run instead of
//! answering every request with an error, and `/health` can prove the root key unseals.

use super::Kms;
use super::service_secrets::meta_binding;
use crate::error::{Error, Internal};
use crate::seal::SealedKey;
use crate::store::Store;

/// The name of the check value in the store's meta table.
pub(super) const CHECK_NAME: &str = "root-key-check";
/// What is sealed (bound to its name, like every meta value).
pub(super) const CHECK_VALUE: &[u8] = b"strongbox/root-key-check/v1";

/// Whether `opened` is what a right root key opens the check value to (in constant time).
pub(super) fn is_check_value(opened: &[u8]) -> bool {
    strongbox_crypto::constant_time_eq(opened, CHECK_VALUE)
}

impl Kms {
    /// Whether `store` holds a root-key check value, i.e. material sealed under some root key.
    /// Asked before a seal exists, so that a lost root key is never silently replaced.
    pub async fn store_is_sealed(store: &dyn Store) -> Result<bool, Error> {
        Ok(store.meta(CHECK_NAME).await?.is_some())
    }

    /// Proves the seal's root key is the one the store was initialised with, writing the check
    /// value on first use.
    pub async fn check_root_key(&self) -> Result<(), Error> {
        let stored = match self.store.meta(CHECK_NAME).await? {
            Some(stored) => stored,
            None => {
                let binding = meta_binding(CHECK_NAME);
                if self
                    .insert_meta_sealed(CHECK_NAME, &binding, CHECK_VALUE)
                    .await?
                {
                    return Ok(());
                }
                // Another process initialised it first: check theirs.
                self.store
                    .meta(CHECK_NAME)
                    .await?
                    .ok_or_else(|| Internal::new("root key check", "check value vanished"))?
            }
        };
        self.open_check_value(stored)
    }

    /// What `/health` asks: the store answers and the root key opens the store's check value,
    /// so a store restored under another root key, or a check value that was tampered with,
    /// shows. Reads only.
    pub async fn verify_root_key(&self) -> Result<(), Error> {
        let stored = self.store.meta(CHECK_NAME).await?.ok_or_else(|| {
            Internal::new("root key check", "the store has no root-key check value")
        })?;
        self.open_check_value(stored)
    }

    fn open_check_value(&self, stored: Vec<u8>) -> Result<(), Error> {
        let opened = self
            .seal
            .unseal(
                meta_binding(CHECK_NAME).as_bytes(),
                &SealedKey::from_bytes(stored),
            )
            .map_err(|_| {
                Internal::new(
                    "root key check",
                    "the root key does not match this store: it was replaced or regenerated; restore the original root key",
                )
            })?;
        if is_check_value(opened.expose()) {
            Ok(())
        } else {
            Err(Internal::new("root key check", "the root-key check value is corrupt").into())
        }
    }

    /// The store's check value, to prove a root key before anything uses it (an operator
    /// unsealing); `None` for a new store.
    pub async fn root_check(&self) -> Result<Option<RootCheck>, Error> {
        Ok(self.store.meta(CHECK_NAME).await?.map(|stored| RootCheck {
            binding: meta_binding(CHECK_NAME),
            sealed: SealedKey::from_bytes(stored),
        }))
    }
}

/// The store's root-key check value: sealed under the root key, bound to its name.
pub struct RootCheck {
    binding: crate::seal::Binding,
    sealed: SealedKey,
}

impl RootCheck {
    /// What it is bound to.
    pub fn aad(&self) -> &[u8] {
        self.binding.as_bytes()
    }

    /// The sealed value.
    pub fn sealed(&self) -> &SealedKey {
        &self.sealed
    }

    /// Whether `opened` is what a right root key opens it to.
    pub fn is_right(&self, opened: &[u8]) -> bool {
        is_check_value(opened)
    }
}
