//! GenerateMac and VerifyMac with HMAC keys.

use std::sync::Arc;

use super::Kms;
use super::material::mac_algorithm;
use super::resolve::{Access, KeyRef};
use super::usage;
use crate::error::Error;
use crate::model::{Key, KeyUsage, MacAlgorithm, Principal};
use crate::operation::Operation;

impl Kms {
    /// GenerateMac.
    pub async fn generate_mac(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        algorithm: MacAlgorithm,
        message: &[u8],
    ) -> Result<(Arc<Key>, Vec<u8>), Error> {
        let values = [("kms:MacAlgorithm", algorithm.as_str())];
        let access = Access::of(Operation::GenerateMac).with_values(&values);
        let key = self.resolve(principal, key_ref, access).await?;
        mac_key(&key, algorithm, "GenerateMac")?;
        let material = self.current_material(&key).await?;
        let tag = strongbox_crypto::mac(mac_algorithm(algorithm), &material, message);
        Ok((key, tag))
    }

    /// VerifyMac: `KMSInvalidMacException` when the MAC does not match (compared in constant
    /// time).
    pub async fn verify_mac(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        algorithm: MacAlgorithm,
        message: &[u8],
        tag: &[u8],
    ) -> Result<Arc<Key>, Error> {
        let values = [("kms:MacAlgorithm", algorithm.as_str())];
        let access = Access::of(Operation::VerifyMac).with_values(&values);
        let key = self.resolve(principal, key_ref, access).await?;
        mac_key(&key, algorithm, "VerifyMac")?;
        let material = self.current_material(&key).await?;
        if !strongbox_crypto::verify_mac(mac_algorithm(algorithm), &material, message, tag) {
            return Err(Error::KmsInvalidMac);
        }
        Ok(key)
    }
}

fn mac_key(key: &Key, algorithm: MacAlgorithm, operation: &str) -> Result<(), Error> {
    usage::check(key, KeyUsage::GenerateVerifyMac, operation)?;
    usage::algorithm(key, algorithm, key.spec.algorithms(key.usage).mac).map(drop)
}
