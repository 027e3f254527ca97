//! Bringing a store sealed by an earlier version to the current layout: every value sealed
//! directly under the root key, in the first format (bound to what it was bound to then: key
//! material to ARN and version, an access key's secret to its id, meta values to a name) or
//! the second (the current bindings, no root key id), is opened and sealed again: key material
//! and access-key secrets under their account's key-encryption key, service values under the
//! root key in the current format. Run by `serve` at start, before anything is unsealed; a
//! value that does not open is left as it is, logged, and refused when it is used. Then the
//! seal records that no value of an earlier format is left (`Seal::retire_legacy`, outside
//! the store, so that editing the store cannot make an earlier format open again, nor the
//! migration run again over rows put back from an old copy).

use super::Kms;
use super::keks::is_under_kek;
use super::root_check::{CHECK_NAME, CHECK_VALUE, is_check_value};
use super::service_secrets::{LEGACY_META, meta_binding};
use crate::error::{Error, Internal};
use crate::model::{Key, KeyVersion};
use crate::seal::{Binding, SealError, SealedKey};
use crate::store::PageRequest;
use strongbox_crypto::SecretBytes;

/// Versions read per store round trip.
const PAGE: u32 = 500;

/// What sealing again did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Key versions sealed again.
    pub key_versions: u64,
    /// Access keys' secrets sealed again.
    pub access_keys: u64,
    /// Meta values sealed again.
    pub meta: u64,
    /// Values of the first format that did not open (altered, or moved between rows).
    pub refused: u64,
}

impl Kms {
    /// Whether the store may hold values sealed by an earlier version: the seal still opens
    /// an earlier format, and the store is not new (it has a root-key check value).
    pub async fn needs_resealing(&self) -> Result<bool, Error> {
        Ok(self.seal.opens_legacy() && Self::store_is_sealed(self.store.as_ref()).await?)
    }

    /// A value sealed under the root key in any format: the current one, or an earlier one.
    fn open_root_sealed(
        &self,
        first_aad: &[u8],
        binding: &Binding,
        sealed: &SealedKey,
    ) -> Result<SecretBytes, SealError> {
        self.seal.unseal(binding.as_bytes(), sealed).or_else(|_| {
            self.seal
                .unseal_earlier(first_aad, binding.as_bytes(), sealed)
        })
    }

    /// Seals again, in the current layout, every value the store holds in an earlier one;
    /// refuses, changing nothing, when the root-key check value does not open (another root
    /// key).
    pub async fn reseal_legacy(&self) -> Result<Resealed, Error> {
        let mut done = Resealed::default();
        if !self.seal.opens_legacy() {
            return Ok(done);
        }
        // The root key first, whatever format its check value is in: under another root key
        // nothing opens, and nothing may be changed (nor the seal told that nothing is left).
        self.check_root_key_any_format().await?;
        for (name, legacy_aad) in LEGACY_META {
            let Some(stored) = self.store.meta(name).await? else {
                continue;
            };
            let sealed = SealedKey::from_bytes(stored.clone());
            if self.seal.is_current(&sealed) {
                continue;
            }
            let binding = meta_binding(name);
            let Ok(opened) = self.open_root_sealed(legacy_aad, &binding, &sealed) else {
                tracing::error!(name, "a sealed service value does not open; left as it is");
                done.refused += 1;
                continue;
            };
            let again = self.seal.seal(binding.as_bytes(), opened.expose())?;
            if self
                .store
                .replace_meta(name, &stored, again.as_bytes())
                .await?
            {
                done.meta += 1;
            }
        }
        for account in self.store.list_accounts().await? {
            for key in self.store.list_access_keys(&account.id).await? {
                if is_under_kek(&key.sealed_secret) {
                    continue;
                }
                let binding = key.seal_binding();
                let Ok(secret) =
                    self.open_root_sealed(&key.legacy_seal_aad(), &binding, &key.sealed_secret)
                else {
                    tracing::error!(access_key = %key.id, "a sealed access-key secret does not open; left as it is");
                    done.refused += 1;
                    continue;
                };
                let again = self
                    .seal_for(&key.account, &binding, secret.expose())
                    .await?;
                if self
                    .store
                    .reseal_access_key(&key.id, &key.sealed_secret, &again)
                    .await?
                {
                    done.access_keys += 1;
                }
            }
        }
        let mut after = None;
        let mut current_key: Option<Key> = None;
        loop {
            let page = self
                .store
                .sealed_versions(&PageRequest { limit: PAGE, after })
                .await?;
            // One transaction per page: a store of a million versions is sealed again in
            // thousands of commits, not a million.
            let mut resealed = Vec::with_capacity(page.items.len());
            for stored in page.items {
                if is_under_kek(&stored.sealed) {
                    continue;
                }
                if current_key.as_ref().is_none_or(|key| key.arn != stored.key) {
                    current_key = self
                        .store
                        .key(&stored.key.account, &stored.key.region, stored.key.key_id)
                        .await?;
                }
                let Some(key) = &current_key else {
                    tracing::error!(key = %stored.key, version = %stored.version, "a key version whose key is gone; left as it is");
                    done.refused += 1;
                    continue;
                };
                let binding = KeyVersion::seal_binding(key, stored.version);
                let first_aad = KeyVersion::legacy_seal_aad(&key.arn, stored.version);
                let Ok(material) = self.open_root_sealed(&first_aad, &binding, &stored.sealed)
                else {
                    tracing::error!(key = %key.arn, version = %stored.version, "sealed key material does not open; left as it is");
                    done.refused += 1;
                    continue;
                };
                let again = self
                    .seal_for(&key.arn.account, &binding, material.expose())
                    .await?;
                resealed.push((stored, again));
            }
            if !resealed.is_empty() {
                done.key_versions += self.store.reseal_versions(&resealed).await?;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        self.seal.retire_legacy()?;
        Ok(done)
    }

    /// Proves the seal's root key is the store's, opening the check value in whichever format
    /// it is; does nothing when the store has none yet (a new store).
    async fn check_root_key_any_format(&self) -> Result<(), Error> {
        let Some(stored) = self.store.meta(CHECK_NAME).await? else {
            return Ok(());
        };
        let legacy = LEGACY_META
            .iter()
            .find(|(name, _)| *name == CHECK_NAME)
            .map_or(CHECK_VALUE, |(_, aad)| *aad);
        let opened = self.open_root_sealed(
            legacy,
            &meta_binding(CHECK_NAME),
            &SealedKey::from_bytes(stored),
        );
        match opened {
            Ok(value) if is_check_value(value.expose()) => Ok(()),
            _ => Err(Internal::new(
                "root key check",
                "the root key does not match this store: it was replaced or regenerated; restore the original root key",
            )
            .into()),
        }
    }
}
