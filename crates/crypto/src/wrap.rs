//! Sealing key material and other secrets under a 256-bit wrapping key, as the root-key seal
//! does for every key version (DESIGN.md section 2: AAD = key ARN + version id).
//!
//! Format: `nonce (12) | ciphertext | tag (16)`. The wrapping key encrypts few messages (one per
//! key version or stored secret), far below AES-GCM's random-nonce limit, so no derivation step
//! is needed here.

use aws_lc_rs::aead::{Aad, NONCE_LEN, Nonce};
use aws_lc_rs::rand;
use zeroize::Zeroizing;

use crate::blob::TAG_LEN;
use crate::symmetric::aes_256_gcm_key;
use crate::{CryptoError, KeyMaterial, SecretBytes};

/// A key that wraps: [`KeyMaterial`] or a [`crate::LockedKey`].
pub trait WrappingKey {
    /// The key's bytes (32 for AES-256).
    fn key_bytes(&self) -> &[u8];
}

impl WrappingKey for KeyMaterial {
    fn key_bytes(&self) -> &[u8] {
        self.expose()
    }
}

/// Encrypts `plaintext` under `wrapping_key` (32 bytes, else
/// [`CryptoError::InvalidKeyMaterial`]) with a random 96-bit nonce, binding `aad` (e.g. the key
/// ARN and version id, so a sealed value cannot be swapped onto another version).
pub fn seal(
    wrapping_key: &(impl WrappingKey + ?Sized),
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let key = aes_256_gcm_key(wrapping_key.key_bytes())?;
    let mut nonce = [0u8; NONCE_LEN];
    rand::fill(&mut nonce).map_err(|_| CryptoError::Unspecified)?;
    // Sized up front so no reallocation leaves a plaintext copy behind; zeroizing in case sealing
    // fails before the plaintext was encrypted in place.
    let mut out = Zeroizing::new(Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN));
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[NONCE_LEN..],
        )
        .map_err(|_| CryptoError::Unspecified)?;
    out.extend_from_slice(tag.as_ref());
    Ok(std::mem::take(&mut *out))
}

/// Reverses [`seal`]. Any failure to authenticate (wrong key, different `aad`, changed or
/// truncated bytes) is [`CryptoError::InvalidCiphertext`]; a wrapping key that is not 32 bytes
/// is [`CryptoError::InvalidKeyMaterial`].
pub fn open(
    wrapping_key: &(impl WrappingKey + ?Sized),
    aad: &[u8],
    sealed: &[u8],
) -> Result<SecretBytes, CryptoError> {
    let key = aes_256_gcm_key(wrapping_key.key_bytes())?;
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::InvalidCiphertext);
    }
    let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
    let nonce =
        Nonce::try_assume_unique_for_key(nonce).map_err(|_| CryptoError::InvalidCiphertext)?;
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    let plaintext_len = key
        .open_in_place(nonce, Aad::from(aad), &mut buffer)
        .map_err(|_| CryptoError::InvalidCiphertext)?
        .len();
    buffer.truncate(plaintext_len);
    Ok(SecretBytes::new(std::mem::take(&mut *buffer)))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn wrapping_key() -> KeyMaterial {
        KeyMaterial::generate_symmetric().unwrap()
    }

    #[test]
    fn sealed_layout_and_freshness() {
        let key = wrapping_key();
        let first = seal(&key, b"aad", b"material").unwrap();
        let second = seal(&key, b"aad", b"material").unwrap();
        assert_eq!(first.len(), NONCE_LEN + 8 + TAG_LEN);
        assert_ne!(first[..NONCE_LEN], second[..NONCE_LEN]);
        assert_ne!(first, second);
    }

    #[test]
    fn every_flipped_bit_is_invalid_ciphertext() {
        let key = wrapping_key();
        let sealed = seal(&key, b"arn:aws:kms:v1", b"key material").unwrap();
        for index in 0..sealed.len() {
            for bit in 0..8 {
                let mut tampered = sealed.clone();
                tampered[index] ^= 1 << bit;
                assert_eq!(
                    open(&key, b"arn:aws:kms:v1", &tampered).unwrap_err(),
                    CryptoError::InvalidCiphertext,
                    "byte {index} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn every_truncation_is_invalid_ciphertext() {
        let key = wrapping_key();
        let sealed = seal(&key, b"", b"key material").unwrap();
        for len in 0..sealed.len() {
            assert_eq!(
                open(&key, b"", &sealed[..len]).unwrap_err(),
                CryptoError::InvalidCiphertext,
                "length {len}"
            );
        }
    }

    #[test]
    fn other_aad_or_key_is_invalid_ciphertext() {
        let key = wrapping_key();
        let sealed = seal(&key, b"version-1", b"key material").unwrap();
        for aad in [&b"version-2"[..], b"version-", b""] {
            assert_eq!(
                open(&key, aad, &sealed).unwrap_err(),
                CryptoError::InvalidCiphertext
            );
        }
        assert_eq!(
            open(&wrapping_key(), b"version-1", &sealed).unwrap_err(),
            CryptoError::InvalidCiphertext
        );
    }

    #[test]
    fn wrapping_key_of_the_wrong_length_is_invalid_key_material() {
        let sealed = seal(&wrapping_key(), b"", b"x").unwrap();
        let short = KeyMaterial::from_bytes(vec![1; 16]);
        assert_eq!(
            seal(&short, b"", b"x").unwrap_err(),
            CryptoError::InvalidKeyMaterial
        );
        assert_eq!(
            open(&short, b"", &sealed).unwrap_err(),
            CryptoError::InvalidKeyMaterial
        );
    }

    proptest! {
        #[test]
        fn round_trip(
            plaintext in prop::collection::vec(any::<u8>(), 0..4096),
            aad in prop::collection::vec(any::<u8>(), 0..128),
        ) {
            let key = wrapping_key();
            let sealed = seal(&key, &aad, &plaintext).unwrap();
            prop_assert_eq!(sealed.len(), plaintext.len() + NONCE_LEN + TAG_LEN);
            let opened = open(&key, &aad, &sealed).unwrap();
            prop_assert_eq!(opened.expose(), &plaintext[..]);
        }
    }
}
