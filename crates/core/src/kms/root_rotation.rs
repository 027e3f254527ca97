//! Root key rotation and crypto-shredding.
//!
//! A rotation: the seal adds a new root key (which seals from then on; the old one still
//! opens), the store is told its id (so that a process that has not read it yet cannot store a
//! value sealed under the old one behind the rotation's back), every value sealed under the
//! root key (one key-encryption key per account, and the service's own secrets in the meta
//! table: a few hundred values, not every key version) is sealed again under the new key,
//! until a pass finds none left, and the seal destroys the old key. Requests go on meanwhile:
//! cached keys keep working, and a value sealed under either root key opens.
//!
//! Crypto-shredding an account deletes it with its key-encryption key, then rotates the root
//! key: a copy of the database made before (a backup) still holds that account's
//! key-encryption key, but sealed under a root key that no longer exists.

use super::Kms;
use super::keks::kek_binding;
use super::service_secrets::meta_binding;
use crate::error::{Error, Internal};
use crate::model::AccountId;
use crate::seal::{SealError, SealedKey};

/// Passes over the root-sealed values before a rotation gives up (each pass seals again what
/// was stored under the old root key meanwhile: after the first, almost nothing).
const MAX_PASSES: usize = 8;

/// What a root rotation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RootRotated {
    /// Accounts' key-encryption keys sealed again.
    pub account_keys: u64,
    /// Service values (meta) sealed again.
    pub service_values: u64,
    /// Passes it took.
    pub passes: usize,
}

impl Kms {
    /// Rotates the root key (see the module's documentation); resumes a rotation that was
    /// interrupted. Fails, destroying nothing, when a value sealed under the old root key
    /// does not open.
    pub async fn rotate_root(&self) -> Result<RootRotated, Error> {
        self.verify_root_key().await?;
        self.seal.begin_rotation()?;
        let root = self.seal.current_root().ok_or(SealError::Sealed)?;
        self.store.set_sealing_root(&root).await?;
        let mut done = RootRotated::default();
        loop {
            done.passes += 1;
            let resealed = self.reseal_root_values(&mut done).await?;
            if resealed == 0 {
                break;
            }
            if done.passes >= MAX_PASSES {
                return Err(Internal::new(
                    "root rotation",
                    "values sealed under the old root key keep appearing; run the rotation again",
                )
                .into());
            }
        }
        self.seal.finish_rotation()?;
        self.cache.forget_unsealed();
        Ok(done)
    }

    /// One pass: seals again, under the current root key, every root-sealed value that is
    /// not; returns how many it replaced.
    async fn reseal_root_values(&self, done: &mut RootRotated) -> Result<u64, Error> {
        let mut replaced = 0;
        for (name, stored) in self.store.list_meta().await? {
            let sealed = SealedKey::from_bytes(stored.clone());
            if self.seal.is_current(&sealed) {
                continue;
            }
            let binding = meta_binding(&name);
            let opened = self.seal.unseal(binding.as_bytes(), &sealed).map_err(|_| {
                Internal::new(
                    "root rotation",
                    format!("the service value {name} does not open; nothing was destroyed"),
                )
            })?;
            let again = self.seal.seal(binding.as_bytes(), opened.expose())?;
            if self
                .store
                .replace_meta(&name, &stored, again.as_bytes())
                .await?
            {
                replaced += 1;
                done.service_values += 1;
            }
        }
        for (account, sealed) in self.store.account_keks().await? {
            if self.seal.is_current(&sealed) {
                continue;
            }
            let binding = kek_binding(&account);
            let opened = self.seal.unseal(binding.as_bytes(), &sealed).map_err(|_| {
                Internal::new(
                    "root rotation",
                    format!(
                        "the key-encryption key of account {account} does not open; nothing was destroyed"
                    ),
                )
            })?;
            let again = self.seal.seal(binding.as_bytes(), opened.expose())?;
            if self
                .store
                .replace_account_kek(&account, &sealed, &again)
                .await?
            {
                replaced += 1;
                done.account_keys += 1;
            }
        }
        Ok(replaced)
    }

    /// Deletes an account and everything it owns but its audit trail; false when there was
    /// no such account. With `crypto_shred`, then rotates the root key (even when the account
    /// was already gone: a retry after a failed rotation), with a root key made after the
    /// deletion (a rotation already under way is finished first), so that no earlier copy of
    /// the store can recover the account's keys.
    pub async fn delete_account(
        &self,
        account: &AccountId,
        crypto_shred: bool,
    ) -> Result<bool, Error> {
        let deleted = self.store.delete_account(account).await?;
        self.cache.forget_unsealed();
        if crypto_shred {
            let not_shredded = |error: Error| {
                let detail = match &error {
                    Error::Internal(internal) => internal.detail(),
                    other => other.to_string(),
                };
                Error::Internal(Internal::new(
                    "crypto-shred",
                    format!(
                        "account {account} is deleted but NOT crypto-shredded: the root rotation failed ({detail}); run `strongbox operator rotate-root`"
                    ),
                ))
            };
            if self.seal.status().root_keys > 1 {
                self.rotate_root().await.map_err(not_shredded)?;
            }
            self.rotate_root().await.map_err(not_shredded)?;
        }
        Ok(deleted)
    }

    /// Follows a root rotation made by another process: reads the root keys again when their
    /// storage changed, and then drops everything unsealed from memory (the rotation may
    /// have crypto-shredded an account). Whether anything changed.
    pub fn follow_root_rotation(&self) -> Result<bool, Error> {
        if self.seal.status().sealed {
            // Nothing to follow until an operator unseals.
            return Ok(false);
        }
        let changed = self.seal.refresh()?;
        if changed {
            self.cache.forget_unsealed();
        }
        Ok(changed)
    }

    /// What the seal says of itself.
    pub fn seal_status(&self) -> crate::seal::SealStatus {
        self.seal.status()
    }
}
