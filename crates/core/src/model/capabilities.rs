//! What each key spec can do, as AWS pairs them: its usages and, per usage, the algorithms that
//! DescribeKey and GetPublicKey list and that the operations accept.

use super::spec::{
    EncryptionAlgorithm, KeyAgreementAlgorithm, KeySpec, KeyUsage, MacAlgorithm, SigningAlgorithm,
};

/// The algorithms a key offers for its usage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Algorithms {
    /// For ENCRYPT_DECRYPT.
    pub encryption: &'static [EncryptionAlgorithm],
    /// For SIGN_VERIFY.
    pub signing: &'static [SigningAlgorithm],
    /// For GENERATE_VERIFY_MAC.
    pub mac: &'static [MacAlgorithm],
    /// For KEY_AGREEMENT.
    pub key_agreement: &'static [KeyAgreementAlgorithm],
}

const RSA_SIGNING: &[SigningAlgorithm] = &[
    SigningAlgorithm::RsassaPssSha256,
    SigningAlgorithm::RsassaPssSha384,
    SigningAlgorithm::RsassaPssSha512,
    SigningAlgorithm::RsassaPkcs1V15Sha256,
    SigningAlgorithm::RsassaPkcs1V15Sha384,
    SigningAlgorithm::RsassaPkcs1V15Sha512,
];
const RSA_ENCRYPTION: &[EncryptionAlgorithm] = &[
    EncryptionAlgorithm::RsaesOaepSha1,
    EncryptionAlgorithm::RsaesOaepSha256,
];

impl KeySpec {
    /// RSA, ECC, Ed25519, ML-DSA and SM2 keys: public-key cryptography.
    pub fn is_asymmetric(self) -> bool {
        !matches!(
            self,
            KeySpec::SymmetricDefault
                | KeySpec::Hmac224
                | KeySpec::Hmac256
                | KeySpec::Hmac384
                | KeySpec::Hmac512
        )
    }

    /// The usages AWS allows for this spec.
    pub fn usages(self) -> &'static [KeyUsage] {
        use KeyUsage::*;
        match self {
            KeySpec::SymmetricDefault => &[EncryptDecrypt],
            KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => &[EncryptDecrypt, SignVerify],
            KeySpec::EccNistP256 | KeySpec::EccNistP384 | KeySpec::EccNistP521 => {
                &[SignVerify, KeyAgreement]
            }
            KeySpec::EccSecgP256k1
            | KeySpec::EccNistEdwards25519
            | KeySpec::MlDsa44
            | KeySpec::MlDsa65
            | KeySpec::MlDsa87 => &[SignVerify],
            KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512 => {
                &[GenerateVerifyMac]
            }
            KeySpec::Sm2 => &[EncryptDecrypt, SignVerify, KeyAgreement],
            KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024 => &[EncapsulateDecapsulate],
        }
    }

    /// The algorithms a key of this spec offers for `usage`.
    pub fn algorithms(self, usage: KeyUsage) -> Algorithms {
        use KeySpec::*;
        let none = Algorithms::default();
        match (self, usage) {
            (SymmetricDefault, KeyUsage::EncryptDecrypt) => Algorithms {
                encryption: &[EncryptionAlgorithm::SymmetricDefault],
                ..none
            },
            (Rsa2048 | Rsa3072 | Rsa4096, KeyUsage::EncryptDecrypt) => Algorithms {
                encryption: RSA_ENCRYPTION,
                ..none
            },
            (Rsa2048 | Rsa3072 | Rsa4096, KeyUsage::SignVerify) => Algorithms {
                signing: RSA_SIGNING,
                ..none
            },
            (EccNistP256 | EccSecgP256k1, KeyUsage::SignVerify) => Algorithms {
                signing: &[SigningAlgorithm::EcdsaSha256],
                ..none
            },
            (EccNistP384, KeyUsage::SignVerify) => Algorithms {
                signing: &[SigningAlgorithm::EcdsaSha384],
                ..none
            },
            (EccNistP521, KeyUsage::SignVerify) => Algorithms {
                signing: &[SigningAlgorithm::EcdsaSha512],
                ..none
            },
            (EccNistP256 | EccNistP384 | EccNistP521, KeyUsage::KeyAgreement) => Algorithms {
                key_agreement: &[KeyAgreementAlgorithm::Ecdh],
                ..none
            },
            (EccNistEdwards25519, KeyUsage::SignVerify) => Algorithms {
                signing: &[
                    SigningAlgorithm::Ed25519Sha512,
                    SigningAlgorithm::Ed25519PhSha512,
                ],
                ..none
            },
            (MlDsa44 | MlDsa65 | MlDsa87, KeyUsage::SignVerify) => Algorithms {
                signing: &[SigningAlgorithm::MlDsaShake256],
                ..none
            },
            (Hmac224, KeyUsage::GenerateVerifyMac) => Algorithms {
                mac: &[MacAlgorithm::HmacSha224],
                ..none
            },
            (Hmac256, KeyUsage::GenerateVerifyMac) => Algorithms {
                mac: &[MacAlgorithm::HmacSha256],
                ..none
            },
            (Hmac384, KeyUsage::GenerateVerifyMac) => Algorithms {
                mac: &[MacAlgorithm::HmacSha384],
                ..none
            },
            (Hmac512, KeyUsage::GenerateVerifyMac) => Algorithms {
                mac: &[MacAlgorithm::HmacSha512],
                ..none
            },
            _ => none,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_pairings() {
        assert!(
            KeySpec::Rsa2048
                .usages()
                .contains(&KeyUsage::EncryptDecrypt)
        );
        assert!(
            !KeySpec::EccNistP256
                .usages()
                .contains(&KeyUsage::EncryptDecrypt)
        );
        assert_eq!(KeySpec::Hmac256.usages(), &[KeyUsage::GenerateVerifyMac]);
        let rsa_sign = KeySpec::Rsa4096.algorithms(KeyUsage::SignVerify);
        assert_eq!(rsa_sign.signing.len(), 6);
        assert!(rsa_sign.encryption.is_empty());
        assert_eq!(
            KeySpec::EccNistP384
                .algorithms(KeyUsage::SignVerify)
                .signing,
            &[SigningAlgorithm::EcdsaSha384]
        );
        assert_eq!(
            KeySpec::EccNistP521
                .algorithms(KeyUsage::KeyAgreement)
                .key_agreement,
            &[KeyAgreementAlgorithm::Ecdh]
        );
        assert_eq!(
            KeySpec::EccSecgP256k1.algorithms(KeyUsage::KeyAgreement),
            Algorithms::default()
        );
        for spec in KeySpec::ALL {
            for usage in spec.usages() {
                if !matches!(
                    spec,
                    KeySpec::Sm2 | KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024
                ) {
                    assert_ne!(
                        spec.algorithms(*usage),
                        Algorithms::default(),
                        "{spec} {usage}"
                    );
                }
            }
        }
    }
}
