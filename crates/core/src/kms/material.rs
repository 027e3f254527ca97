//! From a key spec to the kind of material behind it, and making that material. Asymmetric
//! key generation (RSA-4096 takes a second or more) runs on a blocking thread so that it never
//! stalls the requests sharing the async runtime.

use strongbox_crypto::{AsymmetricSpec, KeyMaterial, MacAlgorithm as CryptoMac};
use tokio::sync::Semaphore;

use crate::error::{Error, Internal};
use crate::messages;
use crate::model::{DataKeyPairSpec, KeySpec, MacAlgorithm};

/// What a key's material is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MaterialKind {
    /// 32 bytes for AES-256-GCM with per-request derivation.
    Symmetric,
    /// A PKCS#8 private key.
    Asymmetric(AsymmetricSpec),
    /// An HMAC key.
    Hmac(CryptoMac),
}

impl MaterialKind {
    /// The kind behind `spec`, or why this build cannot make it.
    pub(super) fn of(spec: KeySpec) -> Result<Self, Error> {
        Ok(match spec {
            KeySpec::SymmetricDefault => MaterialKind::Symmetric,
            KeySpec::Rsa2048 => MaterialKind::Asymmetric(AsymmetricSpec::Rsa2048),
            KeySpec::Rsa3072 => MaterialKind::Asymmetric(AsymmetricSpec::Rsa3072),
            KeySpec::Rsa4096 => MaterialKind::Asymmetric(AsymmetricSpec::Rsa4096),
            KeySpec::EccNistP256 => MaterialKind::Asymmetric(AsymmetricSpec::EccNistP256),
            KeySpec::EccNistP384 => MaterialKind::Asymmetric(AsymmetricSpec::EccNistP384),
            KeySpec::EccNistP521 => MaterialKind::Asymmetric(AsymmetricSpec::EccNistP521),
            KeySpec::EccSecgP256k1 => MaterialKind::Asymmetric(AsymmetricSpec::EccSecgP256k1),
            KeySpec::EccNistEdwards25519 => MaterialKind::Asymmetric(AsymmetricSpec::Ed25519),
            KeySpec::MlDsa44 => MaterialKind::Asymmetric(AsymmetricSpec::MlDsa44),
            KeySpec::MlDsa65 => MaterialKind::Asymmetric(AsymmetricSpec::MlDsa65),
            KeySpec::MlDsa87 => MaterialKind::Asymmetric(AsymmetricSpec::MlDsa87),
            KeySpec::Hmac224 => MaterialKind::Hmac(CryptoMac::HmacSha224),
            KeySpec::Hmac256 => MaterialKind::Hmac(CryptoMac::HmacSha256),
            KeySpec::Hmac384 => MaterialKind::Hmac(CryptoMac::HmacSha384),
            KeySpec::Hmac512 => MaterialKind::Hmac(CryptoMac::HmacSha512),
            KeySpec::Sm2 => {
                return Err(Error::UnsupportedOperation(messages::spec_not_supported(
                    spec.as_str(),
                    "AWS offers SM2 only in its China Regions, and no FIPS-validated SM2 implementation is available to Strongbox",
                )));
            }
            KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024 => {
                return Err(Error::UnsupportedOperation(messages::spec_not_supported(
                    spec.as_str(),
                    "ML-KEM (Encapsulate and Decapsulate) is not implemented yet",
                )));
            }
        })
    }

    /// Fresh material. Asymmetric generation (RSA-4096 costs a second or more of CPU) runs on a
    /// blocking thread, and only `permits` of them at once, so that a flood of CreateKey or
    /// GenerateDataKeyPair requests queues up instead of starving every other request of CPU.
    pub(super) async fn generate(self, permits: &Semaphore) -> Result<KeyMaterial, Error> {
        match self {
            MaterialKind::Symmetric => Ok(KeyMaterial::generate_symmetric()?),
            MaterialKind::Hmac(algorithm) => Ok(strongbox_crypto::generate_mac_key(algorithm)?),
            MaterialKind::Asymmetric(spec) => {
                let _permit = permits
                    .acquire()
                    .await
                    .map_err(|error| Internal::new("key generation", error))?;
                tokio::task::spawn_blocking(move || strongbox_crypto::generate(spec))
                    .await
                    .map_err(|error| Internal::new("key generation", error))?
                    .map_err(Error::from)
            }
        }
    }
}

/// The crypto crate's MAC algorithm for AWS's.
pub(super) fn mac_algorithm(algorithm: MacAlgorithm) -> CryptoMac {
    match algorithm {
        MacAlgorithm::HmacSha224 => CryptoMac::HmacSha224,
        MacAlgorithm::HmacSha256 => CryptoMac::HmacSha256,
        MacAlgorithm::HmacSha384 => CryptoMac::HmacSha384,
        MacAlgorithm::HmacSha512 => CryptoMac::HmacSha512,
    }
}

/// The key spec of a data key pair spec (they share spellings and material).
pub(super) fn pair_spec(spec: DataKeyPairSpec) -> KeySpec {
    match spec {
        DataKeyPairSpec::Rsa2048 => KeySpec::Rsa2048,
        DataKeyPairSpec::Rsa3072 => KeySpec::Rsa3072,
        DataKeyPairSpec::Rsa4096 => KeySpec::Rsa4096,
        DataKeyPairSpec::EccNistP256 => KeySpec::EccNistP256,
        DataKeyPairSpec::EccNistP384 => KeySpec::EccNistP384,
        DataKeyPairSpec::EccNistP521 => KeySpec::EccNistP521,
        DataKeyPairSpec::EccSecgP256k1 => KeySpec::EccSecgP256k1,
        DataKeyPairSpec::Sm2 => KeySpec::Sm2,
        DataKeyPairSpec::EccNistEdwards25519 => KeySpec::EccNistEdwards25519,
        DataKeyPairSpec::MlKem512 => KeySpec::MlKem512,
        DataKeyPairSpec::MlKem768 => KeySpec::MlKem768,
        DataKeyPairSpec::MlKem1024 => KeySpec::MlKem1024,
    }
}
