//! Encrypt, Decrypt and ReEncrypt with symmetric keys (DESIGN.md section 2: per-request key
//! derivation, a versioned blob, header and encryption context as AAD).

use std::sync::Arc;

use strongbox_crypto::{BlobKeyRef, EncryptionContext, ParsedBlob, SecretBytes, symmetric};

use super::Kms;
use super::resolve::{Access, KeyRef};
use crate::error::Error;
use crate::model::{EncryptionAlgorithm, Key, KeyId, KeySpec, KeyUsage, Principal, VersionId};
use crate::state::{self, StateRule};

/// What Encrypt returns.
#[derive(Debug)]
pub struct EncryptOutput {
    /// The opaque ciphertext blob.
    pub ciphertext: Vec<u8>,
    /// The key that encrypted.
    pub key: Arc<Key>,
}

/// What Decrypt returns.
#[derive(Debug)]
pub struct DecryptOutput {
    /// The plaintext, zeroized on drop.
    pub plaintext: SecretBytes,
    /// The key that decrypted.
    pub key: Arc<Key>,
    /// The version of the key's material that decrypted.
    pub version: VersionId,
}

/// What ReEncrypt asks for.
#[derive(Debug)]
pub struct ReEncryptInput {
    /// The ciphertext to move.
    pub ciphertext: Vec<u8>,
    /// The context it was encrypted with.
    pub source_context: EncryptionContext,
    /// The key it must have been encrypted under, if the caller names one.
    pub source_key: Option<KeyRef>,
    /// The key to encrypt under.
    pub destination_key: KeyRef,
    /// The context for the new ciphertext.
    pub destination_context: EncryptionContext,
}

/// What ReEncrypt returns.
#[derive(Debug)]
pub struct ReEncryptOutput {
    /// The new ciphertext.
    pub ciphertext: Vec<u8>,
    /// The key that decrypted.
    pub source_key: Arc<Key>,
    /// The version of the source key that decrypted.
    pub source_version: VersionId,
    /// The key that encrypted.
    pub destination_key: Arc<Key>,
}

impl Kms {
    /// Encrypt: up to 4096 bytes under the key's current version.
    pub async fn encrypt(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        plaintext: &[u8],
        context: &EncryptionContext,
        algorithm: Option<EncryptionAlgorithm>,
    ) -> Result<EncryptOutput, Error> {
        let key = self
            .encrypting_key(principal, key_ref, "kms:Encrypt", algorithm)
            .await?;
        let ciphertext = self.seal_under(&key, context, plaintext).await?;
        Ok(EncryptOutput { ciphertext, key })
    }

    /// Decrypt: finds the key from the blob; a `KeyId`, when given, must name the same key.
    pub async fn decrypt(
        &self,
        principal: &Principal,
        ciphertext: &[u8],
        context: &EncryptionContext,
        key_ref: Option<&KeyRef>,
        algorithm: Option<EncryptionAlgorithm>,
    ) -> Result<DecryptOutput, Error> {
        self.open(
            principal,
            ciphertext,
            context,
            key_ref,
            algorithm,
            "kms:Decrypt",
        )
        .await
    }

    /// ReEncrypt: decrypts under the source key and encrypts under the destination key without
    /// the plaintext leaving the service.
    pub async fn re_encrypt(
        &self,
        principal: &Principal,
        input: ReEncryptInput,
    ) -> Result<ReEncryptOutput, Error> {
        let source = self
            .open(
                principal,
                &input.ciphertext,
                &input.source_context,
                input.source_key.as_ref(),
                None,
                "kms:ReEncryptFrom",
            )
            .await?;
        let destination = self
            .encrypting_key(principal, &input.destination_key, "kms:ReEncryptTo", None)
            .await?;
        let ciphertext = self
            .seal_under(
                &destination,
                &input.destination_context,
                source.plaintext.expose(),
            )
            .await?;
        Ok(ReEncryptOutput {
            ciphertext,
            source_key: source.key,
            source_version: source.version,
            destination_key: destination,
        })
    }

    /// Resolves a key that may encrypt now: enabled, symmetric, ENCRYPT_DECRYPT.
    pub(super) async fn encrypting_key(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        action: &'static str,
        algorithm: Option<EncryptionAlgorithm>,
    ) -> Result<Arc<Key>, Error> {
        let key = self
            .resolve(principal, key_ref, Access::by_policy(action))
            .await?;
        usable_for_symmetric_encryption(&key, algorithm)?;
        Ok(key)
    }

    /// Encrypts under the key's current version.
    pub(super) async fn seal_under(
        &self,
        key: &Key,
        context: &EncryptionContext,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let material = self.current_material(key).await?;
        let key_ref = BlobKeyRef {
            key_id: key.id().to_bytes(),
            version_id: key.current_version.to_bytes(),
        };
        Ok(symmetric::encrypt(&material, key_ref, context, plaintext)?)
    }

    async fn open(
        &self,
        principal: &Principal,
        ciphertext: &[u8],
        context: &EncryptionContext,
        key_ref: Option<&KeyRef>,
        algorithm: Option<EncryptionAlgorithm>,
        action: &'static str,
    ) -> Result<DecryptOutput, Error> {
        let blob = ParsedBlob::parse(ciphertext).map_err(|_| invalid_ciphertext())?;
        let blob_ref = blob.key_ref();
        let key_id = KeyId::from_bytes(blob_ref.key_id);
        if let Some(key_ref) = key_ref {
            let named = self
                .resolve(principal, key_ref, Access::by_policy(action))
                .await?;
            if named.id() != key_id {
                return Err(Error::IncorrectKey(
                    "The key ID in the request does not identify a KMS key that can perform this operation.".to_owned(),
                ));
            }
        }
        // The blob names a key id only. A key outside the caller's account and Region is
        // answered as AWS answers a ciphertext whose key the caller may not use, which also
        // reveals nothing about whether it exists elsewhere.
        let key = self.key_by_id(principal, key_id).await?.ok_or_else(|| {
            Error::AccessDenied(format!(
                "User: {} is not authorized to perform: {action} on the resource associated with this ciphertext because the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access",
                principal.arn()
            ))
        })?;
        usable_for_symmetric_encryption(&key, algorithm)?;
        let version = VersionId::from_bytes(blob_ref.version_id);
        let material = self
            .material(&key, version)
            .await?
            .ok_or_else(invalid_ciphertext)?;
        let plaintext =
            symmetric::decrypt(&material, &blob, context).map_err(|_| invalid_ciphertext())?;
        Ok(DecryptOutput {
            plaintext,
            key,
            version,
        })
    }
}

/// State, usage and algorithm checks shared by every symmetric cryptographic operation.
pub(super) fn usable_for_symmetric_encryption(
    key: &Key,
    algorithm: Option<EncryptionAlgorithm>,
) -> Result<(), Error> {
    state::check(StateRule::Cryptographic, key.state, &key.arn)?;
    if key.usage != KeyUsage::EncryptDecrypt {
        return Err(Error::InvalidKeyUsage(format!(
            "{} key usage is {} which is not valid for this operation.",
            key.arn, key.usage
        )));
    }
    if key.spec != KeySpec::SymmetricDefault {
        return Err(Error::InvalidKeyUsage(format!(
            "{} is an asymmetric key, which is not valid for this operation.",
            key.arn
        )));
    }
    match algorithm {
        None | Some(EncryptionAlgorithm::SymmetricDefault) => Ok(()),
        Some(other) => Err(Error::InvalidKeyUsage(format!(
            "Algorithm {other} is incompatible with key spec {}.",
            key.spec
        ))),
    }
}

fn invalid_ciphertext() -> Error {
    Error::InvalidCiphertext(
        "The ciphertext is not valid, or does not match the encryption context given.".to_owned(),
    )
}
