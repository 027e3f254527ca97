//! Elliptic-curve keys: ECDSA with DER signatures on the NIST curves and secp256k1, and ECDH on
//! the NIST curves (AWS offers `KEY_AGREEMENT` on no other curve). All from aws-lc-rs.

use aws_lc_rs::agreement::{self, ParsedPublicKeyFormat};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    self, EcdsaKeyPair, EcdsaSigningAlgorithm, EcdsaVerificationAlgorithm, KeyPair,
};

use super::parsed::{self, Parsed, form};
use super::{AsymmetricSpec, Family, Prepared};
use crate::{CryptoError, KeyMaterial, SecretBytes};

/// The curves AWS offers, each paired with the one ECDSA hash AWS allows on it.
#[derive(Clone, Copy)]
pub(super) enum Curve {
    P256,
    P384,
    P521,
    Secp256k1,
}

impl Curve {
    /// ASN.1 (DER) signatures, as AWS returns them.
    fn signing(self) -> &'static EcdsaSigningAlgorithm {
        match self {
            Self::P256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            Self::P384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            Self::P521 => &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
            Self::Secp256k1 => &signature::ECDSA_P256K1_SHA256_ASN1_SIGNING,
        }
    }

    fn verification(self) -> &'static EcdsaVerificationAlgorithm {
        match self {
            Self::P256 => &signature::ECDSA_P256_SHA256_ASN1,
            Self::P384 => &signature::ECDSA_P384_SHA384_ASN1,
            Self::P521 => &signature::ECDSA_P521_SHA512_ASN1,
            Self::Secp256k1 => &signature::ECDSA_P256K1_SHA256_ASN1,
        }
    }

    fn agreement(self) -> Option<&'static agreement::Algorithm> {
        match self {
            Self::P256 => Some(&agreement::ECDH_P256),
            Self::P384 => Some(&agreement::ECDH_P384),
            Self::P521 => Some(&agreement::ECDH_P521),
            Self::Secp256k1 => None,
        }
    }
}

pub(super) fn generate(curve: Curve) -> Result<KeyMaterial, CryptoError> {
    let pair = EcdsaKeyPair::generate(curve.signing()).map_err(|_| CryptoError::Unspecified)?;
    let pkcs8 = pair.to_pkcs8v1().map_err(|_| CryptoError::Unspecified)?;
    Ok(KeyMaterial::from_bytes(pkcs8.as_ref().to_vec()))
}

pub(super) fn public_key_der(curve: Curve, private: &KeyMaterial) -> Result<Vec<u8>, CryptoError> {
    let pair = key_pair(curve, private)?;
    let der = pair
        .public_key()
        .as_der()
        .map_err(|_| CryptoError::Unspecified)?;
    Ok(der.as_ref().to_vec())
}

pub(super) fn sign(
    curve: Curve,
    private: &KeyMaterial,
    forms: Option<&Parsed>,
    message: &Prepared<'_>,
) -> Result<Vec<u8>, CryptoError> {
    let mut scratch = None;
    let pair = form(forms.map(|f| &f.ecdsa), &mut scratch, || {
        key_pair(curve, private)
    })?;
    let signature = match message {
        Prepared::Raw(raw) => pair.sign(&SystemRandom::new(), raw),
        Prepared::Digest(digest) => pair.sign_digest(digest),
        Prepared::ExternalMu(_) => return Err(CryptoError::InvalidAlgorithm),
    }
    .map_err(|_| CryptoError::Unspecified)?;
    Ok(signature.as_ref().to_vec())
}

pub(super) fn verify(
    curve: Curve,
    public_key_der: &[u8],
    message: &Prepared<'_>,
    signature: &[u8],
) -> Result<bool, CryptoError> {
    let key = signature::UnparsedPublicKey::new(curve.verification(), public_key_der)
        .parse()
        .map_err(|_| CryptoError::InvalidPublicKey)?;
    let verified = match message {
        Prepared::Raw(raw) => key.verify_sig(raw, signature),
        Prepared::Digest(digest) => key.verify_digest_sig(digest, signature),
        Prepared::ExternalMu(_) => return Err(CryptoError::InvalidAlgorithm),
    };
    Ok(verified.is_ok())
}

/// ECDH between `private` and the peer's public key, as
/// [AWS DeriveSharedSecret](https://docs.aws.amazon.com/kms/latest/APIReference/API_DeriveSharedSecret.html):
/// the raw shared secret (the x-coordinate, 32, 48 or 66 bytes) with no KDF applied, so it
/// equals what the peer computes with any standard library.
///
/// The peer key must be a DER `SubjectPublicKeyInfo` on `spec`'s curve, as AWS requires; a bare
/// SEC 1 point, a malformed key or one on another curve is [`CryptoError::InvalidPublicKey`].
/// Non-NIST specs are [`CryptoError::InvalidAlgorithm`].
pub fn derive_shared_secret(
    spec: AsymmetricSpec,
    private: &KeyMaterial,
    peer_public_key_der: &[u8],
) -> Result<SecretBytes, CryptoError> {
    let algorithm = match spec.family() {
        Family::Ecc(curve) => curve.agreement(),
        _ => None,
    }
    .ok_or(CryptoError::InvalidAlgorithm)?;
    let mut scratch = None;
    let slot = parsed::forms(private, spec).map(|f| &f.ecdh);
    let private = form(slot, &mut scratch, || {
        agreement::PrivateKey::from_private_key_der(algorithm, private.expose())
            .map_err(|_| CryptoError::InvalidKeyMaterial)
    })?;
    let peer = agreement::UnparsedPublicKey::new(algorithm, peer_public_key_der);
    let peer =
        agreement::ParsedPublicKey::try_from(&peer).map_err(|_| CryptoError::InvalidPublicKey)?;
    if peer.format() != ParsedPublicKeyFormat::X509 {
        return Err(CryptoError::InvalidPublicKey);
    }
    agreement::agree(private, peer, CryptoError::InvalidPublicKey, |secret| {
        Ok(SecretBytes::new(secret.to_vec()))
    })
}

/// The private key, refused unless it is on `curve`.
fn key_pair(curve: Curve, private: &KeyMaterial) -> Result<EcdsaKeyPair, CryptoError> {
    EcdsaKeyPair::from_pkcs8(curve.signing(), private.expose())
        .map_err(|_| CryptoError::InvalidKeyMaterial)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{generate, public_key_der as spki};

    const NIST: [(AsymmetricSpec, usize); 3] = [
        (AsymmetricSpec::EccNistP256, 32),
        (AsymmetricSpec::EccNistP384, 48),
        (AsymmetricSpec::EccNistP521, 66),
    ];

    #[test]
    fn both_sides_derive_the_same_secret() {
        for (spec, len) in NIST {
            let alice = generate(spec).unwrap();
            let bob = generate(spec).unwrap();
            let alice_public = spki(spec, &alice).unwrap();
            let bob_public = spki(spec, &bob).unwrap();
            let at_alice = derive_shared_secret(spec, &alice, &bob_public).unwrap();
            let at_bob = derive_shared_secret(spec, &bob, &alice_public).unwrap();
            assert_eq!(at_alice.expose(), at_bob.expose(), "{spec:?}");
            assert_eq!(at_alice.len(), len);
        }
    }

    #[test]
    fn peer_keys_on_other_curves_or_malformed_are_refused() {
        let p256 = generate(AsymmetricSpec::EccNistP256).unwrap();
        for other in [
            AsymmetricSpec::EccNistP384,
            AsymmetricSpec::EccSecgP256k1,
            AsymmetricSpec::Ed25519,
            AsymmetricSpec::Rsa2048,
        ] {
            let peer = spki(other, &generate(other).unwrap()).unwrap();
            assert_eq!(
                derive_shared_secret(AsymmetricSpec::EccNistP256, &p256, &peer).unwrap_err(),
                CryptoError::InvalidPublicKey,
                "{other:?}"
            );
        }
        let own = spki(AsymmetricSpec::EccNistP256, &p256).unwrap();
        // The bare uncompressed point (SPKI minus its 26-byte header) is not what AWS accepts.
        for peer in [&own[26..], &own[..own.len() - 1], b"", b"\x30\x00"] {
            assert_eq!(
                derive_shared_secret(AsymmetricSpec::EccNistP256, &p256, peer).unwrap_err(),
                CryptoError::InvalidPublicKey
            );
        }
    }

    #[test]
    fn key_agreement_is_nist_only() {
        let k1 = generate(AsymmetricSpec::EccSecgP256k1).unwrap();
        let peer = spki(AsymmetricSpec::EccSecgP256k1, &k1).unwrap();
        assert_eq!(
            derive_shared_secret(AsymmetricSpec::EccSecgP256k1, &k1, &peer).unwrap_err(),
            CryptoError::InvalidAlgorithm
        );
        let p384 = generate(AsymmetricSpec::EccNistP384).unwrap();
        let peer = spki(AsymmetricSpec::EccNistP384, &p384).unwrap();
        assert_eq!(
            derive_shared_secret(AsymmetricSpec::EccNistP256, &p384, &peer).unwrap_err(),
            CryptoError::InvalidKeyMaterial
        );
    }
}
