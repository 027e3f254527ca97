//! GenerateDataKey, GenerateDataKeyWithoutPlaintext and GenerateRandom.

use std::sync::Arc;

use strongbox_crypto::{EncryptionContext, SecretBytes, random_bytes};

use super::Kms;
use super::resolve::{Access, KeyRef};
use crate::error::Error;
use crate::model::{Key, Principal};
use crate::operation::Operation;

/// A checked data key length: 1 to 1024 bytes, from `KeySpec` or `NumberOfBytes`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataKeySize(usize);

/// The most bytes GenerateDataKey and GenerateRandom return.
pub const MAX_DATA_KEY_BYTES: usize = 1024;

impl DataKeySize {
    /// Accepts 1 to 1024.
    pub fn new(bytes: i64) -> Option<Self> {
        usize::try_from(bytes)
            .ok()
            .filter(|n| (1..=MAX_DATA_KEY_BYTES).contains(n))
            .map(Self)
    }

    /// The length in bytes.
    pub fn bytes(self) -> usize {
        self.0
    }
}

/// What GenerateDataKey returns.
#[derive(Debug)]
pub struct DataKeyOutput {
    /// The data key, zeroized on drop.
    pub plaintext: SecretBytes,
    /// The data key encrypted under the KMS key.
    pub ciphertext: Vec<u8>,
    /// The KMS key.
    pub key: Arc<Key>,
}

impl Kms {
    /// GenerateDataKey: a random data key and its encryption under the KMS key. The
    /// WithoutPlaintext variant is this with the plaintext dropped by the caller.
    pub async fn generate_data_key(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        size: DataKeySize,
        context: &EncryptionContext,
        operation: Operation,
    ) -> Result<DataKeyOutput, Error> {
        let access = Access::of(operation).with_context(context);
        let key = self.encrypting_key(principal, key_ref, access).await?;
        let plaintext = random_bytes(size.bytes())?;
        let ciphertext = self.seal_under(&key, context, plaintext.expose()).await?;
        Ok(DataKeyOutput {
            plaintext,
            ciphertext,
            key,
        })
    }

    /// GenerateRandom: bytes from the FIPS DRBG of aws-lc.
    pub fn generate_random(
        &self,
        principal: &Principal,
        size: DataKeySize,
    ) -> Result<SecretBytes, Error> {
        self.authorize_unkeyed(principal, Access::of(Operation::GenerateRandom), "*")?;
        Ok(random_bytes(size.bytes())?)
    }
}
