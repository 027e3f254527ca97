//! Sealing again what the first seal format sealed: every value is opened with the binding it
//! was sealed to then (key material: ARN and version; an access key's secret: its id; meta
//! values: a name) and sealed under the current format and binding (key material: ARN,
//! version, spec and usage; an access key's secret: account, user and id; the seal's version
//! inside the AAD). Run at start, before anything is unsealed, until the seal records that no
//! first-format value is left (`Seal::retire_legacy`, kept by the seal outside the store, so
//! that editing the store cannot make it run again); a value of the first format that does not
//! open is left as it is, logged, and refused when it is used.

use super::Kms;
use super::root_check::{CHECK_NAME, CHECK_VALUE};
use super::service_secrets::{LEGACY_META, meta_binding};
use crate::error::{Error, Internal};
use crate::model::{Key, KeyVersion};
use crate::seal::SealedKey;
use crate::store::PageRequest;

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
    /// Whether the store may hold values of the first format still to seal again: the seal
    /// still opens that format, and the store is not new (it has a root-key check value).
    pub async fn needs_resealing(&self) -> Result<bool, Error> {
        Ok(self.seal.opens_legacy() && Self::store_is_sealed(self.store.as_ref()).await?)
    }

    /// Seals again, under the current format and bindings, every value the store holds in the
    /// first format; does nothing once the store says it is done. Refuses, changing nothing,
    /// when the root-key check value does not open (another root key).
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
            let Ok(opened) = self.seal.unseal_legacy(legacy_aad, &sealed) else {
                tracing::error!(name, "a sealed service value does not open; left as it is");
                done.refused += 1;
                continue;
            };
            let again = self
                .seal
                .seal(meta_binding(name).as_bytes(), opened.expose())?;
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
                if self.seal.is_current(&key.sealed_secret) {
                    continue;
                }
                let Ok(secret) = self
                    .seal
                    .unseal_legacy(&key.legacy_seal_aad(), &key.sealed_secret)
                else {
                    tracing::error!(access_key = %key.id, "a sealed access-key secret does not open; left as it is");
                    done.refused += 1;
                    continue;
                };
                let again = self
                    .seal
                    .seal(key.seal_binding().as_bytes(), secret.expose())?;
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
                if self.seal.is_current(&stored.sealed) {
                    continue;
                }
                if current_key.as_ref().is_none_or(|key| key.arn != stored.key) {
                    current_key = self
                        .store
                        .key(&stored.key.account, &stored.key.region, stored.key.key_id)
                        .await?;
                }
                let Some(key) = &current_key else {
                    continue;
                };
                let aad = KeyVersion::legacy_seal_aad(&key.arn, stored.version);
                let Ok(material) = self.seal.unseal_legacy(&aad, &stored.sealed) else {
                    tracing::error!(key = %key.arn, version = %stored.version, "sealed key material does not open; left as it is");
                    done.refused += 1;
                    continue;
                };
                let again = self.seal.seal(
                    KeyVersion::seal_binding(key, stored.version).as_bytes(),
                    material.expose(),
                )?;
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
        let sealed = SealedKey::from_bytes(stored);
        let opened = if self.seal.is_current(&sealed) {
            self.seal
                .unseal(meta_binding(CHECK_NAME).as_bytes(), &sealed)
        } else {
            let legacy = LEGACY_META
                .iter()
                .find(|(name, _)| *name == CHECK_NAME)
                .map_or(CHECK_VALUE, |(_, aad)| *aad);
            self.seal.unseal_legacy(legacy, &sealed)
        };
        match opened {
            Ok(value) if strongbox_crypto::constant_time_eq(value.expose(), CHECK_VALUE) => Ok(()),
            _ => Err(Internal::new(
                "root key check",
                "the root key does not match this store: it was replaced or regenerated; restore the original root key",
            )
            .into()),
        }
    }
}
