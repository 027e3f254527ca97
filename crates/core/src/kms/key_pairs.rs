//! GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext: a fresh asymmetric key pair
//! whose private half is returned encrypted under a symmetric KMS key (and, for the first,
//! in plaintext too).

use std::sync::Arc;

use strongbox_crypto::{EncryptionContext, SecretBytes};

use super::Kms;
use super::material::{MaterialKind, pair_spec};
use super::resolve::{Access, KeyRef};
use crate::error::Error;
use crate::messages;
use crate::model::{DataKeyPairSpec, Key, Principal};
use crate::operation::Operation;

/// What GenerateDataKeyPair returns.
#[derive(Debug)]
pub struct DataKeyPairOutput {
    /// The private key, PKCS#8 DER, zeroized on drop.
    pub private_key: SecretBytes,
    /// The private key encrypted under the KMS key (Decrypt recovers it).
    pub private_key_ciphertext: Vec<u8>,
    /// The public key, SubjectPublicKeyInfo DER.
    pub public_key: Vec<u8>,
    /// The KMS key that encrypted the private key.
    pub key: Arc<Key>,
}

impl Kms {
    /// GenerateDataKeyPair (the WithoutPlaintext variant drops `private_key`).
    pub async fn generate_data_key_pair(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        spec: DataKeyPairSpec,
        context: &EncryptionContext,
        operation: Operation,
    ) -> Result<DataKeyPairOutput, Error> {
        let values = [("kms:DataKeyPairSpec", spec.as_str())];
        let access = Access::of(operation)
            .with_context(context)
            .with_values(&values);
        // Checked first so that bad requests fail before the expensive generation.
        self.encrypting_key(principal, key_ref, access).await?;
        let MaterialKind::Asymmetric(pair) = MaterialKind::of(pair_spec(spec))? else {
            return Err(Error::UnsupportedOperation(messages::option_not_supported(
                &format!("KeyPairSpec {spec}"),
            )));
        };
        let private = MaterialKind::Asymmetric(pair)
            .generate(&self.generation_permits)
            .await?;
        let public_key = strongbox_crypto::public_key_der(pair, &private)?;
        // Generation may have waited: the key is checked again, so a key disabled meanwhile
        // does not seal.
        let key = self.encrypting_key(principal, key_ref, access).await?;
        let private_key_ciphertext = self.seal_under(&key, context, private.expose()).await?;
        Ok(DataKeyPairOutput {
            private_key: SecretBytes::new(private.expose().to_vec()),
            private_key_ciphertext,
            public_key,
            key,
        })
    }
}
