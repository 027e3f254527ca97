//! A private key's parsed forms, kept with its [`KeyMaterial`] so that each is built once per
//! unsealed key version instead of on every Sign, Decrypt, DeriveSharedSecret, GetPublicKey,
//! Verify or RSA Encrypt: parsing a PKCS#8 key (and checking it: `RSA_check_key` for RSA) costs
//! more than the operation itself for RSA and much of it for ECC.
//!
//! Each form is built on first use, so a key only ever holds the forms its usage needs (RSA
//! signing and OAEP decryption, ECDSA and ECDH are different objects of one key). A parse that
//! fails is remembered as its error: the material never changes. The forms live and die with the
//! material (a cache entry's `Arc`); aws-lc wipes its allocations when it frees them.
//! Ed25519ph and ML-DSA over an external mu use the RustCrypto keys and are parsed per call (few
//! callers, and an ML-DSA expanded key is large).

use std::sync::OnceLock;

use aws_lc_rs::agreement;
use aws_lc_rs::rsa::OaepPrivateDecryptingKey;
use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, PqdsaKeyPair, RsaKeyPair};

use super::AsymmetricSpec;
use crate::{CryptoError, KeyMaterial};

/// One form: built once, or its error.
type Slot<T> = OnceLock<Result<T, CryptoError>>;

/// The parsed forms of one private key of one spec.
#[derive(Default)]
pub(crate) struct Parsed {
    /// The spec the forms were parsed for (the first caller's; another spec parses per call).
    spec: OnceLock<AsymmetricSpec>,
    pub(super) public_der: Slot<Vec<u8>>,
    pub(super) rsa_sign: Slot<RsaKeyPair>,
    pub(super) rsa_decrypt: Slot<OaepPrivateDecryptingKey>,
    pub(super) ecdsa: Slot<EcdsaKeyPair>,
    pub(super) ecdh: Slot<agreement::PrivateKey>,
    pub(super) ed25519: Slot<Ed25519KeyPair>,
    pub(super) mldsa: Slot<PqdsaKeyPair>,
}

/// The forms of `private` for `spec`, when `private` can hold them (asymmetric material) and
/// they were not parsed for another spec.
pub(super) fn forms(private: &KeyMaterial, spec: AsymmetricSpec) -> Option<&Parsed> {
    let parsed = private.parsed_forms()?;
    (*parsed.spec.get_or_init(|| spec) == spec).then_some(parsed)
}

/// The form in `slot` (built by `parse` on first use), or, without a slot, a fresh one kept in
/// `scratch` for this call.
pub(super) fn form<'a, T>(
    slot: Option<&'a Slot<T>>,
    scratch: &'a mut Option<T>,
    parse: impl FnOnce() -> Result<T, CryptoError>,
) -> Result<&'a T, CryptoError> {
    match slot {
        Some(slot) => slot.get_or_init(parse).as_ref().map_err(Clone::clone),
        None => Ok(scratch.insert(parse()?)),
    }
}
