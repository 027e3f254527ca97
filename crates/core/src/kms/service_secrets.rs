//! Service-wide secrets kept sealed in the store's meta table and made on first use: the audit
//! signing key, the grant-token key. Several processes may start at once on one store: the
//! first to store a secret wins, and the others use it.

use strongbox_crypto::SecretBytes;

use super::Kms;
use crate::error::{Error, Internal};
use crate::seal::{Binding, SealedKey};

/// What a value sealed in the meta table is bound to: its name.
pub(super) fn meta_binding(name: &str) -> Binding {
    Binding::new("strongbox/meta").field(name)
}

/// The sealed meta values of the first seal format, with the AAD they were sealed to then.
pub(super) const LEGACY_META: &[(&str, &[u8])] = &[
    ("root-key-check", b"strongbox/root-key-check/v1"),
    ("audit-signing-key", b"strongbox/audit-signing-key/v1"),
    ("grant-token-key", b"strongbox/grant-token-key/v1"),
];

impl Kms {
    /// The secret stored sealed under `name`, made with `generate` and stored if there is none
    /// yet.
    pub(super) async fn service_secret(
        &self,
        name: &'static str,
        generate: impl FnOnce() -> Result<SecretBytes, Error>,
    ) -> Result<SecretBytes, Error> {
        let binding = meta_binding(name);
        let aad = binding.as_bytes();
        let sealed = match self.store.meta(name).await? {
            Some(sealed) => sealed,
            None => {
                let secret = generate()?;
                if self
                    .insert_meta_sealed(name, &binding, secret.expose())
                    .await?
                {
                    return Ok(secret);
                }
                // Another process stored one first: use theirs.
                self.store
                    .meta(name)
                    .await?
                    .ok_or_else(|| Internal::new(name, "vanished after a conflict"))?
            }
        };
        Ok(self.seal.unseal(aad, &SealedKey::from_bytes(sealed))?)
    }

    /// Stores `value` sealed under the root key as meta value `name`, once; false when the
    /// store has one already.
    pub(super) async fn insert_meta_sealed(
        &self,
        name: &str,
        binding: &Binding,
        value: &[u8],
    ) -> Result<bool, Error> {
        self.insert_root_sealed(binding, value, |sealed, root| async move {
            self.store.insert_meta(name, sealed.as_bytes(), &root).await
        })
        .await
    }
}
