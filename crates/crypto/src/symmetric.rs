//! Symmetric Encrypt and Decrypt with per-request key derivation (DESIGN.md section 2).
//!
//! As AWS KMS does, every Encrypt derives a one-time AES-256 key from the key version's material
//! and a fresh random 32-byte salt, then encrypts with a random 96-bit IV. A derived key thus
//! protects one message, which lifts AES-GCM's limit of about 2^32 random-IV messages per key,
//! so a key can encrypt without bound.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::{hkdf, rand};
use zeroize::Zeroizing;

use crate::blob::{self, BlobKeyRef, IV_LEN, ParsedBlob, SALT_LEN};
use crate::{BLOB_HEADER_LEN, BLOB_OVERHEAD, CryptoError, EncryptionContext, KeyMaterial};
use crate::{SYMMETRIC_KEY_LEN, SecretBytes};

/// HKDF `info` prefix: binds derived keys to this format, so material reused by some later
/// format could never yield the same key.
const BLOB_INFO_LABEL: &[u8] = b"strongbox/blob/v1";

/// Encrypts `plaintext` under the key version whose material is `material` and returns a v1 blob.
///
/// The header and `context.canonical()` are the AAD, so the same context must be given to
/// [`decrypt`]. Two encryptions of the same plaintext differ (fresh salt and IV).
pub fn encrypt(
    material: &KeyMaterial,
    key_ref: BlobKeyRef,
    context: &EncryptionContext,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let salt = random_array::<SALT_LEN>()?;
    let iv = random_array::<IV_LEN>()?;
    encrypt_with(material, key_ref, context, plaintext, &salt, iv)
}

/// Decrypts a parsed blob with the material of the version it names.
///
/// Every authentication failure (wrong material, changed context, any changed byte) is the same
/// [`CryptoError::InvalidCiphertext`], as AWS reports it, so nothing is learned about which check
/// failed. Material that is not 32 bytes is [`CryptoError::InvalidKeyMaterial`]: a bug, not a
/// bad blob.
pub fn decrypt(
    material: &KeyMaterial,
    blob: &ParsedBlob<'_>,
    context: &EncryptionContext,
) -> Result<SecretBytes, CryptoError> {
    check_material(material)?;
    let key = derive_blob_key(material, blob.salt(), blob.key_ref())?;
    let aead = aes_256_gcm_key(key.as_ref())?;
    let nonce = Nonce::assume_unique_for_key(blob.iv()?);
    let mut buffer = Zeroizing::new(blob.sealed().to_vec());
    let plaintext_len = aead
        .open_in_place(nonce, Aad::from(aad(blob.header(), context)), &mut buffer)
        .map_err(|_| CryptoError::InvalidCiphertext)?
        .len();
    buffer.truncate(plaintext_len);
    Ok(SecretBytes::new(std::mem::take(&mut *buffer)))
}

/// [`encrypt`] with the salt and IV given, so a known-answer test can fix them.
fn encrypt_with(
    material: &KeyMaterial,
    key_ref: BlobKeyRef,
    context: &EncryptionContext,
    plaintext: &[u8],
    salt: &[u8; SALT_LEN],
    iv: [u8; IV_LEN],
) -> Result<Vec<u8>, CryptoError> {
    check_material(material)?;
    let header = blob::header(key_ref, salt, &iv);
    let key = derive_blob_key(material, salt, key_ref)?;
    let aead = aes_256_gcm_key(key.as_ref())?;
    // Sized up front so the plaintext copy is never left behind by a reallocation, and zeroizing
    // so it is wiped if sealing fails before it was encrypted in place.
    let mut out = Zeroizing::new(Vec::with_capacity(BLOB_OVERHEAD + plaintext.len()));
    out.extend_from_slice(&header);
    out.extend_from_slice(plaintext);
    let tag = aead
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(aad(&header, context)),
            &mut out[BLOB_HEADER_LEN..],
        )
        .map_err(|_| CryptoError::Unspecified)?;
    out.extend_from_slice(tag.as_ref());
    Ok(std::mem::take(&mut *out))
}

/// The AES-256-GCM key for AEAD operations, refusing anything but 32 bytes.
pub(crate) fn aes_256_gcm_key(key: &[u8]) -> Result<LessSafeKey, CryptoError> {
    if key.len() != SYMMETRIC_KEY_LEN {
        return Err(CryptoError::InvalidKeyMaterial);
    }
    let unbound =
        UnboundKey::new(&AES_256_GCM, key).map_err(|_| CryptoError::InvalidKeyMaterial)?;
    Ok(LessSafeKey::new(unbound))
}

/// Symmetric key versions hold exactly 32 bytes; anything else means the wrong material reached
/// us, which must not be silently stretched by HKDF.
fn check_material(material: &KeyMaterial) -> Result<(), CryptoError> {
    if material.expose().len() == SYMMETRIC_KEY_LEN {
        Ok(())
    } else {
        Err(CryptoError::InvalidKeyMaterial)
    }
}

/// The one-time key of one blob: HKDF-SHA-256(ikm = material, salt, info = label || key id ||
/// version id). The ids in `info` tie the key to the version named in the header.
fn derive_blob_key(
    material: &KeyMaterial,
    salt: &[u8],
    key_ref: BlobKeyRef,
) -> Result<Zeroizing<[u8; SYMMETRIC_KEY_LEN]>, CryptoError> {
    let mut key = Zeroizing::new([0u8; SYMMETRIC_KEY_LEN]);
    let info: [&[u8]; 3] = [BLOB_INFO_LABEL, &key_ref.key_id, &key_ref.version_id];
    hkdf_sha256(material.expose(), salt, &info, key.as_mut())?;
    Ok(key)
}

/// HKDF-SHA-256 (RFC 5869) filling `out`; `info` is the concatenation of its parts.
fn hkdf_sha256(ikm: &[u8], salt: &[u8], info: &[&[u8]], out: &mut [u8]) -> Result<(), CryptoError> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    prk.expand(info, OutputLen(out.len()))
        .and_then(|okm| okm.fill(out))
        .map_err(|_| CryptoError::Unspecified)
}

/// The output length `Prk::expand` asks for; aws-lc-rs wants it as a `KeyType`.
struct OutputLen(usize);

impl hkdf::KeyType for OutputLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// AAD of a blob: its header, then the canonical encryption context.
fn aad(header: &[u8], context: &EncryptionContext) -> Vec<u8> {
    let mut aad = header.to_vec();
    aad.extend_from_slice(&context.canonical());
    aad
}

/// `N` bytes from the CSPRNG, for salts and IVs (public once in the blob, so not zeroized).
fn random_array<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    rand::fill(&mut out).map_err(|_| CryptoError::Unspecified)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    const KEY_REF: BlobKeyRef = BlobKeyRef {
        key_id: [0x11; 16],
        version_id: [0x22; 16],
    };

    fn material() -> KeyMaterial {
        KeyMaterial::generate_symmetric().unwrap()
    }

    fn context(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>()
            .into()
    }

    /// Parse then decrypt, as a caller does with bytes from a client.
    fn open_blob(
        material: &KeyMaterial,
        bytes: &[u8],
        context: &EncryptionContext,
    ) -> Result<SecretBytes, CryptoError> {
        decrypt(material, &ParsedBlob::parse(bytes)?, context)
    }

    #[test]
    fn hkdf_rfc5869_test_case_1() {
        let ikm = hex::decode("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b").unwrap();
        let salt = hex::decode("000102030405060708090a0b0c").unwrap();
        let info = hex::decode("f0f1f2f3f4f5f6f7f8f9").unwrap();
        let expected = "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf\
                        34007208d5b887185865";
        let mut okm = [0u8; 42];
        hkdf_sha256(&ikm, &salt, &[&info], &mut okm).unwrap();
        assert_eq!(hex::encode(okm), expected);
        // The info parts are concatenated, as derive_blob_key relies on.
        let mut split = [0u8; 42];
        hkdf_sha256(&ikm, &salt, &[&info[..3], &info[3..]], &mut split).unwrap();
        assert_eq!(split, okm);
    }

    #[test]
    fn hkdf_rfc5869_test_case_3_empty_salt_and_info() {
        let ikm = [0x0b; 22];
        let expected = "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d\
                        9d201395faa4b61a96c8";
        let mut okm = [0u8; 42];
        hkdf_sha256(&ikm, &[], &[], &mut okm).unwrap();
        assert_eq!(hex::encode(okm), expected);
    }

    #[test]
    fn blob_known_answer() {
        // Computed independently with Python `cryptography` (HKDF, AESGCM) from the format in
        // DESIGN.md section 2; pins the derivation, AAD and layout.
        let material = KeyMaterial::from_bytes((0x00..0x20).collect());
        let key_ref = BlobKeyRef {
            key_id: core::array::from_fn(|i| 0x40 + i as u8),
            version_id: core::array::from_fn(|i| 0x50 + i as u8),
        };
        let salt = core::array::from_fn(|i| 0x80 + i as u8);
        let iv = core::array::from_fn(|i| 0xa0 + i as u8);
        let ctx = context(&[("purpose", "test")]);
        let blob = encrypt_with(&material, key_ref, &ctx, b"Strongbox", &salt, iv).unwrap();
        let expected = "01404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f\
                        808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f\
                        a0a1a2a3a4a5a6a7a8a9aaab0c8542b237f1501f04b5dafa661fd4d1e2e1173b\
                        265f026c7c";
        assert_eq!(hex::encode(&blob), expected);
        assert_eq!(
            open_blob(&material, &blob, &ctx).unwrap().expose(),
            b"Strongbox"
        );
    }

    #[test]
    fn blob_layout_and_key_ref() {
        let blob = encrypt(&material(), KEY_REF, &EncryptionContext::default(), b"abc").unwrap();
        assert_eq!(blob.len(), BLOB_OVERHEAD + 3);
        assert_eq!(blob[0], crate::BLOB_FORMAT_V1);
        assert_eq!(ParsedBlob::parse(&blob).unwrap().key_ref(), KEY_REF);
    }

    #[test]
    fn same_plaintext_twice_gives_different_blobs() {
        let material = material();
        let ctx = context(&[("a", "1")]);
        let first = encrypt(&material, KEY_REF, &ctx, b"same").unwrap();
        let second = encrypt(&material, KEY_REF, &ctx, b"same").unwrap();
        assert_ne!(first, second);
        // Salt and IV both change, not just one of them.
        assert_ne!(first[33..65], second[33..65]);
        assert_ne!(first[65..77], second[65..77]);
    }

    #[test]
    fn every_flipped_bit_is_invalid_ciphertext() {
        let material = material();
        let ctx = context(&[("purpose", "tamper")]);
        let blob = encrypt(&material, KEY_REF, &ctx, b"short secret").unwrap();
        assert!(open_blob(&material, &blob, &ctx).is_ok());
        for index in 0..blob.len() {
            for bit in 0..8 {
                let mut tampered = blob.clone();
                tampered[index] ^= 1 << bit;
                assert_eq!(
                    open_blob(&material, &tampered, &ctx).unwrap_err(),
                    CryptoError::InvalidCiphertext,
                    "byte {index} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn every_truncation_and_an_extension_are_invalid_ciphertext() {
        let material = material();
        let ctx = EncryptionContext::default();
        let blob = encrypt(&material, KEY_REF, &ctx, b"short secret").unwrap();
        for len in 0..blob.len() {
            assert_eq!(
                open_blob(&material, &blob[..len], &ctx).unwrap_err(),
                CryptoError::InvalidCiphertext,
                "length {len}"
            );
        }
        let mut extended = blob.clone();
        extended.push(0);
        assert_eq!(
            open_blob(&material, &extended, &ctx).unwrap_err(),
            CryptoError::InvalidCiphertext
        );
    }

    #[test]
    fn any_context_change_is_invalid_ciphertext() {
        let material = material();
        let ctx = context(&[("a", "1"), ("b", "2")]);
        let blob = encrypt(&material, KEY_REF, &ctx, b"secret").unwrap();
        let others = [
            context(&[("a", "1"), ("b", "3")]),             // changed value
            context(&[("a", "1"), ("c", "2")]),             // changed key
            context(&[("a", "1"), ("b", "2"), ("c", "3")]), // extra pair
            context(&[("a", "1")]),                         // missing pair
            EncryptionContext::default(),                   // no context
        ];
        for other in &others {
            assert_eq!(
                open_blob(&material, &blob, other).unwrap_err(),
                CryptoError::InvalidCiphertext,
                "{other:?}"
            );
        }
        // And the reverse: a blob without context refuses a context.
        let plain = encrypt(&material, KEY_REF, &EncryptionContext::default(), b"x").unwrap();
        assert_eq!(
            open_blob(&material, &plain, &context(&[("", "")])).unwrap_err(),
            CryptoError::InvalidCiphertext
        );
    }

    #[test]
    fn other_material_is_invalid_ciphertext() {
        let ctx = EncryptionContext::default();
        let blob = encrypt(&material(), KEY_REF, &ctx, b"secret").unwrap();
        assert_eq!(
            open_blob(&material(), &blob, &ctx).unwrap_err(),
            CryptoError::InvalidCiphertext
        );
    }

    #[test]
    fn material_of_the_wrong_length_is_invalid_key_material() {
        let ctx = EncryptionContext::default();
        let good = material();
        let blob = encrypt(&good, KEY_REF, &ctx, b"secret").unwrap();
        for len in [0, 16, 31, 33, 64] {
            let bad = KeyMaterial::from_bytes(vec![7; len]);
            assert_eq!(
                encrypt(&bad, KEY_REF, &ctx, b"secret").unwrap_err(),
                CryptoError::InvalidKeyMaterial
            );
            assert_eq!(
                open_blob(&bad, &blob, &ctx).unwrap_err(),
                CryptoError::InvalidKeyMaterial
            );
        }
    }

    fn any_context() -> impl Strategy<Value = EncryptionContext> {
        prop::collection::btree_map(".{0,12}", ".{0,12}", 0..6).prop_map(EncryptionContext::new)
    }

    proptest! {
        #[test]
        fn round_trip(
            plaintext in prop::collection::vec(any::<u8>(), 0..4096),
            ctx in any_context(),
            key_id in any::<[u8; 16]>(),
            version_id in any::<[u8; 16]>(),
        ) {
            let material = material();
            let key_ref = BlobKeyRef { key_id, version_id };
            let blob = encrypt(&material, key_ref, &ctx, &plaintext).unwrap();
            prop_assert_eq!(blob.len(), plaintext.len() + BLOB_OVERHEAD);
            let parsed = ParsedBlob::parse(&blob).unwrap();
            prop_assert_eq!(parsed.key_ref(), key_ref);
            let decrypted = decrypt(&material, &parsed, &ctx).unwrap();
            prop_assert_eq!(decrypted.expose(), &plaintext[..]);
        }
    }
}
