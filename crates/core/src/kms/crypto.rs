//! Encrypt, Decrypt and ReEncrypt. Symmetric keys use the versioned blob (DESIGN.md section 2:
//! per-request key derivation, header and encryption context as AAD); RSA keys use RSAES-OAEP
//! with the raw ciphertext AWS returns, so ciphertexts made offline with GetPublicKey's key
//! decrypt here and the other way round.

use std::sync::Arc;

use strongbox_crypto::{
    AsymmetricSpec, BlobKeyRef, EncryptionContext, OaepHash, ParsedBlob, SecretBytes, symmetric,
};

use super::Kms;
use super::material::MaterialKind;
use super::resolve::{Access, KeyRef};
use super::usage;
use crate::error::Error;
use crate::messages;
use crate::model::{EncryptionAlgorithm, Key, KeyId, KeyUsage, Principal, VersionId};
use crate::operation::Operation;

/// What Encrypt returns.
#[derive(Debug)]
pub struct EncryptOutput {
    /// The ciphertext: a blob for symmetric keys, raw RSA-OAEP output for RSA keys.
    pub ciphertext: Vec<u8>,
    /// The key that encrypted.
    pub key: Arc<Key>,
    /// The algorithm used.
    pub algorithm: EncryptionAlgorithm,
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
    /// The algorithm used.
    pub algorithm: EncryptionAlgorithm,
}

/// What ReEncrypt asks for.
#[derive(Debug)]
pub struct ReEncryptInput {
    /// The ciphertext to move.
    pub ciphertext: Vec<u8>,
    /// The context it was encrypted with.
    pub source_context: EncryptionContext,
    /// The key it must have been encrypted under, if the caller names one (required for RSA).
    pub source_key: Option<KeyRef>,
    /// The algorithm it was encrypted with (required for RSA).
    pub source_algorithm: Option<EncryptionAlgorithm>,
    /// The key to encrypt under.
    pub destination_key: KeyRef,
    /// The context for the new ciphertext.
    pub destination_context: EncryptionContext,
    /// The algorithm for the new ciphertext (required for RSA).
    pub destination_algorithm: Option<EncryptionAlgorithm>,
}

/// What ReEncrypt returns.
#[derive(Debug)]
pub struct ReEncryptOutput {
    /// The new ciphertext.
    pub ciphertext: Vec<u8>,
    /// What decrypted the source.
    pub source: DecryptOutput,
    /// The key that encrypted.
    pub destination_key: Arc<Key>,
    /// The algorithm that encrypted.
    pub destination_algorithm: EncryptionAlgorithm,
}

impl Kms {
    /// Encrypt: up to 4096 bytes under a symmetric key's current version, or as much as
    /// RSA-OAEP allows under an RSA key.
    pub async fn encrypt(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        plaintext: &[u8],
        context: &EncryptionContext,
        algorithm: Option<EncryptionAlgorithm>,
    ) -> Result<EncryptOutput, Error> {
        let values = [("kms:EncryptionAlgorithm", algorithm_name(algorithm))];
        let access = Access::of(Operation::Encrypt)
            .with_context(context)
            .with_values(&values);
        let key = self.resolve(principal, key_ref, access).await?;
        let (ciphertext, algorithm) = self
            .encrypt_with(&key, plaintext, context, algorithm, access)
            .await?;
        Ok(EncryptOutput {
            ciphertext,
            key,
            algorithm,
        })
    }

    /// Decrypt: a symmetric blob names its key (a `KeyId`, when given, must name the same key);
    /// an RSA ciphertext needs the `KeyId` and the algorithm.
    pub async fn decrypt(
        &self,
        principal: &Principal,
        ciphertext: &[u8],
        context: &EncryptionContext,
        key_ref: Option<&KeyRef>,
        algorithm: Option<EncryptionAlgorithm>,
    ) -> Result<DecryptOutput, Error> {
        let values = [("kms:EncryptionAlgorithm", algorithm_name(algorithm))];
        let access = Access::of(Operation::Decrypt)
            .with_context(context)
            .with_values(&values);
        self.open(principal, ciphertext, context, key_ref, algorithm, access)
            .await
    }

    /// ReEncrypt: decrypts under the source key and encrypts under the destination key without
    /// the plaintext leaving the service.
    pub async fn re_encrypt(
        &self,
        principal: &Principal,
        input: ReEncryptInput,
    ) -> Result<ReEncryptOutput, Error> {
        let source_values = [(
            "kms:EncryptionAlgorithm",
            algorithm_name(input.source_algorithm),
        )];
        let source = self
            .open(
                principal,
                &input.ciphertext,
                &input.source_context,
                input.source_key.as_ref(),
                input.source_algorithm,
                Access::of(Operation::ReEncrypt)
                    .with_context(&input.source_context)
                    .with_values(&source_values),
            )
            .await?;
        let values = [(
            "kms:EncryptionAlgorithm",
            algorithm_name(input.destination_algorithm),
        )];
        let access = Access::re_encrypt_to()
            .with_context(&input.destination_context)
            .with_values(&values);
        let destination = self
            .resolve(principal, &input.destination_key, access)
            .await?;
        let (ciphertext, destination_algorithm) = self
            .encrypt_with(
                &destination,
                source.plaintext.expose(),
                &input.destination_context,
                input.destination_algorithm,
                access,
            )
            .await?;
        Ok(ReEncryptOutput {
            ciphertext,
            source,
            destination_key: destination,
            destination_algorithm,
        })
    }

    /// Resolves a key that may encrypt symmetric blobs now (data keys, data key pairs).
    pub(super) async fn encrypting_key(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        access: Access<'_>,
    ) -> Result<Arc<Key>, Error> {
        let key = self.resolve(principal, key_ref, access).await?;
        usage::check(&key, KeyUsage::EncryptDecrypt, access.operation())?;
        if MaterialKind::of(key.spec)? != MaterialKind::Symmetric {
            return Err(Error::InvalidKeyUsage(messages::needs_other_key(
                &key.arn.to_string(),
                key.spec.as_str(),
                access.operation(),
                "a symmetric encryption key",
            )));
        }
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

    async fn encrypt_with(
        &self,
        key: &Key,
        plaintext: &[u8],
        context: &EncryptionContext,
        algorithm: Option<EncryptionAlgorithm>,
        access: Access<'_>,
    ) -> Result<(Vec<u8>, EncryptionAlgorithm), Error> {
        usage::check(key, KeyUsage::EncryptDecrypt, access.operation())?;
        match MaterialKind::of(key.spec)? {
            MaterialKind::Asymmetric(spec) => {
                let hash = oaep_hash(key, algorithm, context)?;
                let algorithm = oaep_algorithm(hash);
                let material = self.current_material(key).await?;
                let public = strongbox_crypto::public_key_der(spec, &material)?;
                let limit = strongbox_crypto::rsa_max_plaintext(spec, hash).unwrap_or(0);
                if plaintext.len() > limit {
                    return Err(Error::Validation(messages::rsa_plaintext_too_long(
                        algorithm.as_str(),
                        key.spec.as_str(),
                        limit,
                    )));
                }
                let ciphertext = strongbox_crypto::rsa_encrypt(spec, &public, hash, plaintext)
                    .map_err(usage::crypto_error(algorithm))?;
                Ok((ciphertext, algorithm))
            }
            _ => {
                symmetric_algorithm(key, algorithm)?;
                let ciphertext = self.seal_under(key, context, plaintext).await?;
                Ok((ciphertext, EncryptionAlgorithm::SymmetricDefault))
            }
        }
    }

    async fn open(
        &self,
        principal: &Principal,
        ciphertext: &[u8],
        context: &EncryptionContext,
        key_ref: Option<&KeyRef>,
        algorithm: Option<EncryptionAlgorithm>,
        access: Access<'_>,
    ) -> Result<DecryptOutput, Error> {
        let named = match key_ref {
            Some(key_ref) => Some(self.resolve(principal, key_ref, access).await?),
            None => None,
        };
        if let Some(key) = named.as_ref().filter(|key| key.spec.is_asymmetric()) {
            return self
                .open_rsa(Arc::clone(key), ciphertext, context, algorithm, access)
                .await;
        }
        let blob = ParsedBlob::parse(ciphertext).map_err(|_| invalid_ciphertext())?;
        let blob_ref = blob.key_ref();
        let key_id = KeyId::from_bytes(blob_ref.key_id);
        if named.as_ref().is_some_and(|named| named.id() != key_id) {
            return Err(Error::IncorrectKey(messages::INCORRECT_KEY.to_owned()));
        }
        // The blob names a key id only: the key named in the request (authorized when it was
        // resolved), else the caller's key, else another account's key in this Region whose
        // policy may allow the caller. A refusal says only what AWS says of a ciphertext whose
        // key the caller may not use, revealing nothing of whether or where the key exists.
        let for_ciphertext = || {
            Error::AccessDenied(messages::not_authorized_for_ciphertext(
                principal.arn(),
                access.action,
            ))
        };
        let key = match named {
            Some(named) => named,
            None => {
                let key = self
                    .key_for_ciphertext(principal, key_id)
                    .await?
                    .ok_or_else(for_ciphertext)?;
                let named_by = KeyRef::Id(key_id);
                match self.authorize(principal, &key, access, &named_by).await {
                    Err(Error::AccessDenied(_)) if key.arn.account != principal.account => {
                        return Err(for_ciphertext());
                    }
                    other => other?,
                }
                crate::audit::resources::touch(&key.arn);
                key
            }
        };
        usage::check(&key, KeyUsage::EncryptDecrypt, access.operation())?;
        symmetric_algorithm(&key, algorithm)?;
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
            algorithm: EncryptionAlgorithm::SymmetricDefault,
        })
    }

    async fn open_rsa(
        &self,
        key: Arc<Key>,
        ciphertext: &[u8],
        context: &EncryptionContext,
        algorithm: Option<EncryptionAlgorithm>,
        access: Access<'_>,
    ) -> Result<DecryptOutput, Error> {
        usage::check(&key, KeyUsage::EncryptDecrypt, access.operation())?;
        let hash = oaep_hash(&key, algorithm, context)?;
        let spec = rsa_spec(&key)?;
        let material = self.current_material(&key).await?;
        let plaintext =
            strongbox_crypto::rsa_decrypt(spec, &material, hash, ciphertext).map_err(|error| {
                match error {
                    strongbox_crypto::CryptoError::InvalidCiphertext => invalid_ciphertext(),
                    // Stored material that does not parse is our fault, not the client's.
                    other => Error::from(other),
                }
            })?;
        Ok(DecryptOutput {
            plaintext,
            version: key.current_version,
            key,
            algorithm: oaep_algorithm(hash),
        })
    }
}

/// Symmetric keys take SYMMETRIC_DEFAULT or nothing.
fn symmetric_algorithm(key: &Key, algorithm: Option<EncryptionAlgorithm>) -> Result<(), Error> {
    match algorithm {
        None | Some(EncryptionAlgorithm::SymmetricDefault) => Ok(()),
        Some(other) => {
            usage::algorithm(key, other, &[EncryptionAlgorithm::SymmetricDefault]).map(drop)
        }
    }
}

/// RSA keys need an OAEP algorithm and take no encryption context, as in AWS.
fn oaep_hash(
    key: &Key,
    algorithm: Option<EncryptionAlgorithm>,
    context: &EncryptionContext,
) -> Result<OaepHash, Error> {
    // AWS's default is SYMMETRIC_DEFAULT, which no RSA key offers.
    let algorithm = algorithm.unwrap_or(EncryptionAlgorithm::SymmetricDefault);
    if !context.is_empty() {
        return Err(Error::Validation(
            messages::CONTEXT_WITH_ASYMMETRIC_KEY.to_owned(),
        ));
    }
    let offered = key.spec.algorithms(key.usage).encryption;
    match usage::algorithm(key, algorithm, offered)? {
        EncryptionAlgorithm::RsaesOaepSha1 => Ok(OaepHash::Sha1),
        _ => Ok(OaepHash::Sha256),
    }
}

fn oaep_algorithm(hash: OaepHash) -> EncryptionAlgorithm {
    match hash {
        OaepHash::Sha1 => EncryptionAlgorithm::RsaesOaepSha1,
        OaepHash::Sha256 => EncryptionAlgorithm::RsaesOaepSha256,
    }
}

fn rsa_spec(key: &Key) -> Result<AsymmetricSpec, Error> {
    match MaterialKind::of(key.spec)? {
        MaterialKind::Asymmetric(spec) => Ok(spec),
        _ => Err(Error::InvalidKeyUsage(messages::needs_other_key(
            &key.arn.to_string(),
            key.spec.as_str(),
            "Decrypt",
            "an RSA key",
        ))),
    }
}

fn invalid_ciphertext() -> Error {
    Error::InvalidCiphertext
}

/// `kms:EncryptionAlgorithm`: the algorithm the request names, `SYMMETRIC_DEFAULT` when it names
/// none (the only algorithm that may go unnamed).
fn algorithm_name(algorithm: Option<EncryptionAlgorithm>) -> &'static str {
    algorithm.map_or(EncryptionAlgorithm::SymmetricDefault.as_str(), |a| {
        a.as_str()
    })
}
