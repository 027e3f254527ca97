//! DeriveSharedSecret: ECDH between a KMS key and a peer's public key.

use std::sync::Arc;

use strongbox_crypto::SecretBytes;

use super::Kms;
use super::asymmetric::asymmetric_spec;
use super::resolve::{Access, KeyRef};
use super::usage;
use crate::error::Error;
use crate::model::{Key, KeyAgreementAlgorithm, KeyUsage, Principal};
use crate::operation::Operation;

impl Kms {
    /// DeriveSharedSecret: the raw ECDH shared secret, as the peer computes it with its own
    /// private key and GetPublicKey's public key.
    pub async fn derive_shared_secret(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        algorithm: KeyAgreementAlgorithm,
        peer_public_key: &[u8],
    ) -> Result<(Arc<Key>, SecretBytes), Error> {
        let values = [("kms:KeyAgreementAlgorithm", algorithm.as_str())];
        let access = Access::of(Operation::DeriveSharedSecret).with_values(&values);
        let key = self.resolve(principal, key_ref, access).await?;
        usage::check(&key, KeyUsage::KeyAgreement, "DeriveSharedSecret")?;
        usage::algorithm(
            &key,
            algorithm,
            key.spec.algorithms(key.usage).key_agreement,
        )?;
        let spec = asymmetric_spec(&key, "DeriveSharedSecret")?;
        let material = self.current_material(&key).await?;
        let secret = strongbox_crypto::derive_shared_secret(spec, &material, peer_public_key)
            .map_err(usage::crypto_error(algorithm))?;
        Ok((key, secret))
    }
}
