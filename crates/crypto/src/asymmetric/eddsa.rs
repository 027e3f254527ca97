//! Ed25519 keys (`ECC_NIST_EDWARDS25519`): pure Ed25519 from aws-lc-rs, and Ed25519ph from
//! `ed25519-dalek`, because aws-lc-rs exposes no Ed25519ph (RFC 8032 section 5.1 with
//! `PH = SHA-512`). Both read the same RFC 8410 PKCS#8 and SPKI, so one key serves both.

use ::digest::consts::U64;
use ::digest::{FixedOutput, HashMarker, Output, OutputSizeUser, Update};
use aws_lc_rs::digest::{self, SHA512};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{self, Ed25519KeyPair, KeyPair};
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey};

use super::parsed::{Parsed, form};
use super::{Prepared, SigningAlgorithm};
use crate::{CryptoError, KeyMaterial};

pub(super) fn generate() -> Result<KeyMaterial, CryptoError> {
    let pair = Ed25519KeyPair::generate().map_err(|_| CryptoError::Unspecified)?;
    // v1 (seed only) rather than aws-lc-rs's default v2: OpenSSL 1.1 and many tools reject v2.
    let pkcs8 = pair.to_pkcs8v1().map_err(|_| CryptoError::Unspecified)?;
    Ok(KeyMaterial::from_bytes(pkcs8.as_ref().to_vec()))
}

pub(super) fn public_key_der(private: &KeyMaterial) -> Result<Vec<u8>, CryptoError> {
    let pair = Ed25519KeyPair::from_pkcs8(private.expose())
        .map_err(|_| CryptoError::InvalidKeyMaterial)?;
    let der = pair
        .public_key()
        .as_der()
        .map_err(|_| CryptoError::Unspecified)?;
    Ok(der.as_ref().to_vec())
}

pub(super) fn sign(
    private: &KeyMaterial,
    forms: Option<&Parsed>,
    algorithm: SigningAlgorithm,
    message: &Prepared<'_>,
) -> Result<Vec<u8>, CryptoError> {
    match (algorithm, message) {
        (SigningAlgorithm::Ed25519Sha512, Prepared::Raw(raw)) => {
            let mut scratch = None;
            let pair = form(forms.map(|f| &f.ed25519), &mut scratch, || {
                Ed25519KeyPair::from_pkcs8(private.expose())
                    .map_err(|_| CryptoError::InvalidKeyMaterial)
            })?;
            let signature = pair.try_sign(raw).map_err(|_| CryptoError::Unspecified)?;
            Ok(signature.as_ref().to_vec())
        }
        (SigningAlgorithm::Ed25519PhSha512, _) => {
            let key = ed25519_dalek::SigningKey::from_pkcs8_der(private.expose())
                .map_err(|_| CryptoError::InvalidKeyMaterial)?;
            let signature = key
                .sign_prehashed(KnownSha512::of(message)?, None)
                .map_err(|_| CryptoError::Unspecified)?;
            Ok(signature.to_bytes().to_vec())
        }
        _ => Err(CryptoError::InvalidAlgorithm),
    }
}

pub(super) fn verify(
    public_key_der: &[u8],
    algorithm: SigningAlgorithm,
    message: &Prepared<'_>,
    signature: &[u8],
) -> Result<bool, CryptoError> {
    match (algorithm, message) {
        (SigningAlgorithm::Ed25519Sha512, Prepared::Raw(raw)) => {
            let key = signature::UnparsedPublicKey::new(&signature::ED25519, public_key_der)
                .parse()
                .map_err(|_| CryptoError::InvalidPublicKey)?;
            Ok(key.verify_sig(raw, signature).is_ok())
        }
        (SigningAlgorithm::Ed25519PhSha512, _) => {
            let key = ed25519_dalek::VerifyingKey::from_public_key_der(public_key_der)
                .map_err(|_| CryptoError::InvalidPublicKey)?;
            let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
                return Ok(false);
            };
            let prehash = KnownSha512::of(message)?;
            Ok(key.verify_prehashed(prehash, None, &signature).is_ok())
        }
        _ => Err(CryptoError::InvalidAlgorithm),
    }
}

/// A SHA-512 value already computed, presented as a hasher.
///
/// ed25519-dalek's Ed25519ph entry points take a hasher fed with the message rather than the
/// hash itself, but AWS's `DIGEST` message type hands us the hash. This "hasher" therefore
/// outputs the 64 bytes it was given; raw messages are hashed with aws-lc-rs first, so both
/// message types take the same path. Only [`KnownSha512::of`] builds a meaningful one.
#[derive(Clone)]
struct KnownSha512 {
    value: [u8; 64],
}

/// Required by `digest::Digest`; a hasher made this way holds no promised value, so it is the
/// same all-zero state as a poisoned one (see the `Update` implementation).
impl Default for KnownSha512 {
    fn default() -> Self {
        Self { value: [0; 64] }
    }
}

impl KnownSha512 {
    fn of(message: &Prepared<'_>) -> Result<Self, CryptoError> {
        let computed;
        let hash = match message {
            Prepared::Raw(raw) => {
                computed = digest::digest(&SHA512, raw);
                computed.as_ref()
            }
            Prepared::Digest(digest) if digest.algorithm() == &SHA512 => digest.as_ref(),
            _ => return Err(CryptoError::InvalidAlgorithm),
        };
        let value = hash
            .try_into()
            .map_err(|_| CryptoError::InvalidDigestLength)?;
        Ok(Self { value })
    }
}

impl HashMarker for KnownSha512 {}

impl OutputSizeUser for KnownSha512 {
    type OutputSize = U64;
}

impl Update for KnownSha512 {
    /// Never called by ed25519-dalek, which only finalizes a prehash. Should anything feed it
    /// more input, the promised value no longer stands, so it becomes all zeros (an output
    /// SHA-512 is not known to produce) rather than being kept as if nothing had happened.
    fn update(&mut self, data: &[u8]) {
        if !data.is_empty() {
            self.value = [0; 64];
        }
    }
}

impl FixedOutput for KnownSha512 {
    fn finalize_into(self, out: &mut Output<Self>) {
        out.copy_from_slice(&self.value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AsymmetricSpec, Message, sign as sign_message, verify as verify_message};

    /// RFC 8032 section 7.3, the one Ed25519ph test vector ("abc"), as PKCS#8 v1 and SPKI.
    const RFC_PKCS8: &str = "302e020100300506032b657004220420\
        833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42";
    const RFC_SPKI: &str = "302a300506032b6570032100\
        ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf";
    const RFC_SIGNATURE: &str = "98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae41\
        31f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406";

    #[test]
    fn ed25519ph_matches_rfc_8032_for_raw_and_digest() {
        let private = KeyMaterial::from_bytes(hex::decode(RFC_PKCS8).unwrap());
        let spec = AsymmetricSpec::Ed25519;
        let public = crate::public_key_der(spec, &private).unwrap();
        assert_eq!(hex::encode(&public), RFC_SPKI);
        let ph = SigningAlgorithm::Ed25519PhSha512;
        let raw = sign_message(spec, &private, ph, Message::Raw(b"abc")).unwrap();
        assert_eq!(hex::encode(&raw), RFC_SIGNATURE);
        let hash = digest::digest(&SHA512, b"abc");
        let from_digest = sign_message(spec, &private, ph, Message::Digest(hash.as_ref())).unwrap();
        assert_eq!(from_digest, raw);
        assert!(verify_message(spec, &public, ph, Message::Raw(b"abc"), &raw).unwrap());
        let digest_message = Message::Digest(hash.as_ref());
        assert!(verify_message(spec, &public, ph, digest_message, &raw).unwrap());
        assert!(!verify_message(spec, &public, ph, Message::Raw(b"abd"), &raw).unwrap());
    }

    #[test]
    fn pure_and_prehash_signatures_are_not_interchangeable() {
        let spec = AsymmetricSpec::Ed25519;
        let private = crate::generate(spec).unwrap();
        let public = crate::public_key_der(spec, &private).unwrap();
        let pure = SigningAlgorithm::Ed25519Sha512;
        let ph = SigningAlgorithm::Ed25519PhSha512;
        let message = Message::Raw(b"hello");
        let pure_signature = sign_message(spec, &private, pure, message).unwrap();
        let ph_signature = sign_message(spec, &private, ph, message).unwrap();
        assert!(!verify_message(spec, &public, ph, message, &pure_signature).unwrap());
        assert!(!verify_message(spec, &public, pure, message, &ph_signature).unwrap());
        assert!(!verify_message(spec, &public, ph, message, &ph_signature[..63]).unwrap());
    }

    #[test]
    fn known_sha512_refuses_to_change_silently() {
        let mut hasher = KnownSha512::of(&Prepared::Raw(b"abc")).unwrap();
        let expected = digest::digest(&SHA512, b"abc");
        assert_eq!(
            hasher.clone().finalize_fixed().as_slice(),
            expected.as_ref()
        );
        hasher.update(b"");
        assert_eq!(
            hasher.clone().finalize_fixed().as_slice(),
            expected.as_ref()
        );
        hasher.update(b"more");
        assert_ne!(hasher.finalize_fixed().as_slice(), expected.as_ref());
    }
}
