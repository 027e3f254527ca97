//! Account key-encryption keys (KEKs): root key → account KEK → the account's key material,
//! access-key secrets and session tokens.
//!
//! Each account's KEK is 32 random bytes, sealed under the root key in the store, made on
//! first use, unsealed once and cached in locked memory. The values sealed under it are
//! `0x4b ('K') | nonce (12) | AES-256-GCM ciphertext | tag (16)`, with AAD `0x4b | binding`;
//! every binding names the account, so a value moved to another account's row finds the
//! wrong KEK and the wrong binding. Why a layer between the root key and the material: a root
//! rotation seals again one KEK per account instead of every key version, and deleting an
//! account's KEK (then rotating the root, so that no backup's copy of it opens) crypto-shreds
//! that account alone.

use std::future::Future;
use std::sync::Arc;

use strongbox_crypto::{LockedKey, SecretBytes, wrap};

use time::OffsetDateTime;

use super::Kms;
use super::cache::CachedKek;
use crate::error::{Error, Internal};
use crate::model::AccountId;
use crate::seal::{Binding, SealError, SealedKey};
use crate::store::{StoreError, StoreErrorKind};

/// The first byte of a value sealed under an account KEK.
const KEK_FORMAT: u8 = b'K';

/// Attempts at storing a newly sealed value while root rotations refuse it.
const STALE_ROOT_ATTEMPTS: usize = 3;

/// What an account's KEK is bound to when sealed under the root key.
pub(super) fn kek_binding(account: &AccountId) -> Binding {
    Binding::new("strongbox/account-kek").field(account.as_str())
}

/// Whether `sealed` is sealed under an account KEK (the current layout).
pub(super) fn is_under_kek(sealed: &SealedKey) -> bool {
    sealed.as_bytes().first() == Some(&KEK_FORMAT)
}

fn kek_aad(binding: &Binding) -> Vec<u8> {
    let mut aad = Vec::with_capacity(1 + binding.as_bytes().len());
    aad.push(KEK_FORMAT);
    aad.extend_from_slice(binding.as_bytes());
    aad
}

impl Kms {
    /// Seals `plaintext` for `account`, bound to `binding`.
    pub(super) async fn seal_for(
        &self,
        account: &AccountId,
        binding: &Binding,
        plaintext: &[u8],
    ) -> Result<SealedKey, Error> {
        let kek = self
            .account_kek(account, true)
            .await?
            .ok_or_else(|| Internal::new("account key", "not made"))?;
        let body = wrap::seal(&*kek, &kek_aad(binding), plaintext)?;
        let mut sealed = Vec::with_capacity(1 + body.len());
        sealed.push(KEK_FORMAT);
        sealed.extend_from_slice(&body);
        Ok(SealedKey::from_bytes(sealed))
    }

    /// Opens what [`Kms::seal_for`] sealed for `account` with the same binding.
    pub(super) async fn unseal_for(
        &self,
        account: &AccountId,
        binding: &Binding,
        sealed: &SealedKey,
    ) -> Result<SecretBytes, Error> {
        let Some((&KEK_FORMAT, body)) = sealed.as_bytes().split_first() else {
            return Err(SealError::Unseal.into());
        };
        // Never made here: a forged token naming an account must not make the store write.
        let kek = self
            .account_kek(account, false)
            .await?
            .ok_or(SealError::Unseal)?;
        wrap::open(&*kek, &kek_aad(binding), body).map_err(|_| SealError::Unseal.into())
    }

    /// The account's KEK: cached, or unsealed from the store, or (when `make`) made and
    /// stored on first use; `None` when it has none and `make` is false.
    pub(super) async fn account_kek(
        &self,
        account: &AccountId,
        make: bool,
    ) -> Result<Option<Arc<LockedKey>>, Error> {
        let now = self.clock.now();
        if let Some(cached) = self.cache.keks.get(account)
            && now - cached.loaded_at < self.config.credential_ttl
        {
            return Ok(Some(Arc::clone(&cached.kek)));
        }
        let epoch = self.cache.keks.epoch();
        let binding = kek_binding(account);
        let sealed = match self.store.account_kek(account).await? {
            Some(sealed) => sealed,
            None if !make => return Ok(None),
            None => {
                let kek = Arc::new(LockedKey::generate()?);
                let inserted = self
                    .insert_root_sealed(&binding, kek.expose(), |sealed, root| async move {
                        self.store.insert_account_kek(account, &sealed, &root).await
                    })
                    .await?;
                if inserted {
                    self.cache_kek(account, &kek, now, epoch);
                    return Ok(Some(kek));
                }
                // Another process stored one first: use theirs.
                self.store
                    .account_kek(account)
                    .await?
                    .ok_or_else(|| Internal::new("account key", "vanished after a conflict"))?
            }
        };
        let opened = self.seal.unseal(binding.as_bytes(), &sealed)?;
        let kek = Arc::new(LockedKey::from_bytes(opened.expose().to_vec())?);
        self.cache_kek(account, &kek, now, epoch);
        Ok(Some(kek))
    }

    fn cache_kek(
        &self,
        account: &AccountId,
        kek: &Arc<LockedKey>,
        now: OffsetDateTime,
        epoch: u64,
    ) {
        let cached = Arc::new(CachedKek {
            kek: Arc::clone(kek),
            loaded_at: now,
        });
        self.cache
            .keks
            .insert_unless_changed(*account, cached, epoch);
    }

    /// Seals `plaintext` under the current root key and stores it with `insert`, which gets
    /// the sealed value and the root key's id; sealed again under the new root key when a
    /// rotation refused it. False when `insert` found a value already there (`Conflict`).
    pub(super) async fn insert_root_sealed<F, Fut>(
        &self,
        binding: &Binding,
        plaintext: &[u8],
        insert: F,
    ) -> Result<bool, Error>
    where
        F: Fn(SealedKey, Vec<u8>) -> Fut,
        Fut: Future<Output = Result<(), StoreError>>,
    {
        for _ in 0..STALE_ROOT_ATTEMPTS {
            let sealed = self.seal.seal(binding.as_bytes(), plaintext)?;
            // The id the value names, not one read apart (a refresh could come in between).
            let root = self.seal.root_of(&sealed).ok_or(SealError::Sealed)?;
            match insert(sealed, root).await {
                Ok(()) => return Ok(true),
                Err(error) if error.kind() == StoreErrorKind::Conflict => return Ok(false),
                Err(error) if error.kind() == StoreErrorKind::StaleRoot => {
                    self.seal.refresh()?;
                }
                Err(error) => return Err(error.into()),
            }
        }
        Err(Internal::new(
            "root rotation",
            "a value sealed under the current root key was refused as stale, again and again",
        )
        .into())
    }
}
