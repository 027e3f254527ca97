//! GetPublicKey, Sign and Verify with asymmetric keys. Signatures are byte-compatible with
//! what AWS KMS returns (DER-encoded ECDSA, PSS with salt length = hash length), so independent
//! tools verify them with the public key.

use std::sync::Arc;

use strongbox_crypto::{AsymmetricSpec, Message, SigningAlgorithm as CryptoSigning};

use super::Kms;
use super::material::MaterialKind;
use super::resolve::{Access, KeyRef};
use super::usage;
use crate::error::Error;
use crate::messages;
use crate::model::{Key, KeyUsage, MessageType, Principal, SigningAlgorithm};
use crate::operation::Operation;
use crate::state;

/// What GetPublicKey returns.
#[derive(Debug)]
pub struct PublicKeyOutput {
    /// The key.
    pub key: Arc<Key>,
    /// X.509 SubjectPublicKeyInfo, DER.
    pub public_key: Vec<u8>,
}

/// A message to sign or verify and what it holds. Its `Debug` shows only the length: a
/// message can be as sensitive as a plaintext.
#[derive(Clone, Copy)]
pub struct SignInput<'a> {
    /// The bytes.
    pub message: &'a [u8],
    /// RAW, DIGEST or EXTERNAL_MU.
    pub message_type: MessageType,
    /// The algorithm.
    pub algorithm: SigningAlgorithm,
}

impl std::fmt::Debug for SignInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInput")
            .field("message_len", &self.message.len())
            .field("message_type", &self.message_type)
            .field("algorithm", &self.algorithm)
            .finish()
    }
}

impl Kms {
    /// GetPublicKey: the SubjectPublicKeyInfo of an asymmetric key.
    pub async fn get_public_key(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
    ) -> Result<PublicKeyOutput, Error> {
        let key = self
            .resolve(principal, key_ref, Access::of(Operation::GetPublicKey))
            .await?;
        state::allows(Operation::GetPublicKey, key.state, &key.arn)?;
        let spec = asymmetric_spec(&key, "GetPublicKey")?;
        let material = self.current_material(&key).await?;
        let public_key = strongbox_crypto::public_key_der(spec, &material)?;
        Ok(PublicKeyOutput { key, public_key })
    }

    /// Sign.
    pub async fn sign(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        input: SignInput<'_>,
    ) -> Result<(Arc<Key>, Vec<u8>), Error> {
        let values = [
            ("kms:SigningAlgorithm", input.algorithm.as_str()),
            ("kms:MessageType", input.message_type.as_str()),
        ];
        let access = Access::of(Operation::Sign).with_values(&values);
        let key = self.resolve(principal, key_ref, access).await?;
        let (spec, algorithm) = signing(&key, input.algorithm, "Sign")?;
        let input_algorithm = input.algorithm;
        let message = message(input)?;
        let material = self.current_material(&key).await?;
        let signature = strongbox_crypto::sign(spec, &material, algorithm, message)
            .map_err(usage::crypto_error(input_algorithm))?;
        Ok((key, signature))
    }

    /// Verify: `KMSInvalidSignatureException` when the signature does not verify, as in AWS.
    pub async fn verify(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        input: SignInput<'_>,
        signature: &[u8],
    ) -> Result<Arc<Key>, Error> {
        let values = [
            ("kms:SigningAlgorithm", input.algorithm.as_str()),
            ("kms:MessageType", input.message_type.as_str()),
        ];
        let access = Access::of(Operation::Verify).with_values(&values);
        let key = self.resolve(principal, key_ref, access).await?;
        let (spec, algorithm) = signing(&key, input.algorithm, "Verify")?;
        let input_algorithm = input.algorithm;
        let message = message(input)?;
        let material = self.current_material(&key).await?;
        let public = strongbox_crypto::public_key_der(spec, &material)?;
        let valid = strongbox_crypto::verify(spec, &public, algorithm, message, signature)
            .map_err(usage::crypto_error(input_algorithm))?;
        if !valid {
            return Err(Error::KmsInvalidSignature);
        }
        Ok(key)
    }
}

/// The crypto spec of an asymmetric key, or the AWS error for a symmetric or HMAC key.
pub(super) fn asymmetric_spec(key: &Key, operation: &str) -> Result<AsymmetricSpec, Error> {
    match MaterialKind::of(key.spec)? {
        MaterialKind::Asymmetric(spec) => Ok(spec),
        _ => Err(Error::UnsupportedOperation(messages::needs_other_key(
            &key.arn.to_string(),
            key.spec.as_str(),
            operation,
            "an asymmetric key",
        ))),
    }
}

fn signing(
    key: &Key,
    algorithm: SigningAlgorithm,
    operation: &str,
) -> Result<(AsymmetricSpec, CryptoSigning), Error> {
    usage::check(key, KeyUsage::SignVerify, operation)?;
    let spec = asymmetric_spec(key, operation)?;
    let algorithm = usage::algorithm(key, algorithm, key.spec.algorithms(key.usage).signing)?;
    let crypto = match algorithm {
        SigningAlgorithm::RsassaPssSha256 => CryptoSigning::RsassaPssSha256,
        SigningAlgorithm::RsassaPssSha384 => CryptoSigning::RsassaPssSha384,
        SigningAlgorithm::RsassaPssSha512 => CryptoSigning::RsassaPssSha512,
        SigningAlgorithm::RsassaPkcs1V15Sha256 => CryptoSigning::RsassaPkcs1V15Sha256,
        SigningAlgorithm::RsassaPkcs1V15Sha384 => CryptoSigning::RsassaPkcs1V15Sha384,
        SigningAlgorithm::RsassaPkcs1V15Sha512 => CryptoSigning::RsassaPkcs1V15Sha512,
        SigningAlgorithm::EcdsaSha256 => CryptoSigning::EcdsaSha256,
        SigningAlgorithm::EcdsaSha384 => CryptoSigning::EcdsaSha384,
        SigningAlgorithm::EcdsaSha512 => CryptoSigning::EcdsaSha512,
        SigningAlgorithm::Ed25519Sha512 => CryptoSigning::Ed25519Sha512,
        SigningAlgorithm::Ed25519PhSha512 => CryptoSigning::Ed25519PhSha512,
        SigningAlgorithm::MlDsaShake256 => CryptoSigning::MlDsaShake256,
        SigningAlgorithm::Sm2dsa => {
            return Err(Error::UnsupportedOperation(messages::option_not_supported(
                "Signing algorithm SM2DSA",
            )));
        }
    };
    Ok((spec, crypto))
}

/// The message as the crypto crate takes it. AWS's ED25519_PH_SHA_512 takes only a DIGEST (a
/// 64-byte SHA-512 of the message) and still performs the SHA-512 prehash of FIPS 186-5 section
/// 7.8.1 step 1 on it: the digest is hashed again, so it is the crypto crate's `Raw` input.
fn message(input: SignInput<'_>) -> Result<Message<'_>, Error> {
    match (input.algorithm, input.message_type) {
        (SigningAlgorithm::Ed25519PhSha512, MessageType::Digest) => {
            if input.message.len() != ED25519_PH_DIGEST_LEN {
                return Err(Error::Validation(messages::digest_length(
                    input.algorithm.as_str(),
                )));
            }
            Ok(Message::Raw(input.message))
        }
        (SigningAlgorithm::Ed25519PhSha512, _) => Err(Error::Validation(
            messages::message_type_not_supported(input.algorithm.as_str()),
        )),
        (_, MessageType::Raw) => Ok(Message::Raw(input.message)),
        (_, MessageType::Digest) => Ok(Message::Digest(input.message)),
        (_, MessageType::ExternalMu) => Ok(Message::ExternalMu(input.message)),
    }
}

/// SHA-512 output length.
const ED25519_PH_DIGEST_LEN: usize = 64;
