//! Ciphertext blob format v1, opaque to clients (DESIGN.md section 2):
//!
//! ```text
//! format version (1 byte = 0x01) | key uuid (16) | key version id (16) | salt (32) | IV (12)
//!   | ciphertext | tag (16)
//! ```
//!
//! The whole header is authenticated as AAD, so a changed key, version, salt or IV fails
//! decryption like any other tampering. The leading version byte lets a later format coexist.

use crate::CryptoError;

/// The first byte of every blob in this format.
pub const BLOB_FORMAT_V1: u8 = 1;

const KEY_ID_LEN: usize = 16;
const VERSION_ID_LEN: usize = 16;
pub(crate) const SALT_LEN: usize = 32;
pub(crate) const IV_LEN: usize = 12;
pub(crate) const TAG_LEN: usize = 16;

const KEY_ID_AT: usize = 1;
const VERSION_ID_AT: usize = KEY_ID_AT + KEY_ID_LEN;
const SALT_AT: usize = VERSION_ID_AT + VERSION_ID_LEN;
const IV_AT: usize = SALT_AT + SALT_LEN;

/// Bytes before the ciphertext: version, key id, version id, salt and IV.
pub const BLOB_HEADER_LEN: usize = IV_AT + IV_LEN;
/// Header plus tag: a blob is always this much longer than its plaintext.
pub const BLOB_OVERHEAD: usize = BLOB_HEADER_LEN + TAG_LEN;

const _: () = assert!(BLOB_HEADER_LEN == 77 && BLOB_OVERHEAD == 93);

/// Which key version encrypted a blob. Symmetric Decrypt needs no KeyId because the blob says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobKeyRef {
    /// The key's UUID, as raw bytes.
    pub key_id: [u8; 16],
    /// The key version's id, as raw bytes.
    pub version_id: [u8; 16],
}

/// A blob whose layout has been checked, borrowing the input.
///
/// Parsing only checks the shape; authenticity is established by [`crate::symmetric::decrypt`].
/// The key reference is therefore *unauthenticated* until decryption succeeds, which is fine
/// for choosing the key to try but not for anything else.
#[derive(Clone, Copy, Debug)]
pub struct ParsedBlob<'a> {
    bytes: &'a [u8],
    key_ref: BlobKeyRef,
}

impl<'a> ParsedBlob<'a> {
    /// Checks the format version and that the blob holds at least a header and a tag (an empty
    /// ciphertext is structurally valid). Anything else is [`CryptoError::InvalidCiphertext`].
    pub fn parse(blob: &'a [u8]) -> Result<Self, CryptoError> {
        if blob.len() < BLOB_OVERHEAD || blob[0] != BLOB_FORMAT_V1 {
            return Err(CryptoError::InvalidCiphertext);
        }
        let key_ref = BlobKeyRef {
            key_id: array(&blob[KEY_ID_AT..VERSION_ID_AT])?,
            version_id: array(&blob[VERSION_ID_AT..SALT_AT])?,
        };
        Ok(Self {
            bytes: blob,
            key_ref,
        })
    }

    /// The key version the blob claims to be encrypted under.
    pub fn key_ref(&self) -> BlobKeyRef {
        self.key_ref
    }

    /// The whole blob, e.g. to store or re-encode it.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The header bytes, authenticated as the first part of the AAD.
    pub(crate) fn header(&self) -> &'a [u8] {
        &self.bytes[..BLOB_HEADER_LEN]
    }

    /// The HKDF salt of this blob.
    pub(crate) fn salt(&self) -> &'a [u8] {
        &self.bytes[SALT_AT..IV_AT]
    }

    /// The AES-GCM IV of this blob.
    pub(crate) fn iv(&self) -> Result<[u8; IV_LEN], CryptoError> {
        array(&self.bytes[IV_AT..BLOB_HEADER_LEN])
    }

    /// Ciphertext followed by the tag, as AES-GCM opens it.
    pub(crate) fn sealed(&self) -> &'a [u8] {
        &self.bytes[BLOB_HEADER_LEN..]
    }
}

/// Writes the header for a new blob.
pub(crate) fn header(
    key_ref: BlobKeyRef,
    salt: &[u8; SALT_LEN],
    iv: &[u8; IV_LEN],
) -> [u8; BLOB_HEADER_LEN] {
    let mut out = [0u8; BLOB_HEADER_LEN];
    out[0] = BLOB_FORMAT_V1;
    out[KEY_ID_AT..VERSION_ID_AT].copy_from_slice(&key_ref.key_id);
    out[VERSION_ID_AT..SALT_AT].copy_from_slice(&key_ref.version_id);
    out[SALT_AT..IV_AT].copy_from_slice(salt);
    out[IV_AT..].copy_from_slice(iv);
    out
}

/// A fixed-size copy of `bytes`; the lengths are fixed by the constants above, so the error is
/// only a guard against a layout bug.
fn array<const N: usize>(bytes: &[u8]) -> Result<[u8; N], CryptoError> {
    bytes.try_into().map_err(|_| CryptoError::InvalidCiphertext)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_REF: BlobKeyRef = BlobKeyRef {
        key_id: [0x11; 16],
        version_id: [0x22; 16],
    };

    fn blob(ciphertext_len: usize) -> Vec<u8> {
        let mut out = header(KEY_REF, &[0x33; SALT_LEN], &[0x44; IV_LEN]).to_vec();
        out.extend(std::iter::repeat_n(0x55, ciphertext_len));
        out.extend([0x66; TAG_LEN]);
        out
    }

    #[test]
    fn header_layout_is_as_documented() {
        let bytes = blob(3);
        assert_eq!(bytes.len(), BLOB_OVERHEAD + 3);
        assert_eq!(bytes[0], 0x01);
        assert_eq!(&bytes[1..17], &[0x11; 16]);
        assert_eq!(&bytes[17..33], &[0x22; 16]);
        assert_eq!(&bytes[33..65], &[0x33; 32]);
        assert_eq!(&bytes[65..77], &[0x44; 12]);
        assert_eq!(&bytes[77..80], &[0x55; 3]);
        assert_eq!(&bytes[80..], &[0x66; 16]);
    }

    #[test]
    fn parse_reads_the_fields() {
        let bytes = blob(5);
        let parsed = ParsedBlob::parse(&bytes).unwrap();
        assert_eq!(parsed.key_ref(), KEY_REF);
        assert_eq!(parsed.as_bytes(), &bytes[..]);
        assert_eq!(parsed.header(), &bytes[..BLOB_HEADER_LEN]);
        assert_eq!(parsed.salt(), &[0x33; SALT_LEN]);
        assert_eq!(parsed.iv().unwrap(), [0x44; IV_LEN]);
        assert_eq!(parsed.sealed().len(), 5 + TAG_LEN);
    }

    #[test]
    fn parse_accepts_an_empty_ciphertext() {
        assert!(ParsedBlob::parse(&blob(0)).is_ok());
    }

    #[test]
    fn parse_rejects_every_short_length() {
        let bytes = blob(0);
        for len in 0..BLOB_OVERHEAD {
            assert_eq!(
                ParsedBlob::parse(&bytes[..len]).unwrap_err(),
                CryptoError::InvalidCiphertext,
                "length {len}"
            );
        }
    }

    #[test]
    fn parse_rejects_unknown_versions() {
        let mut bytes = blob(4);
        for version in [0u8, 2, 0x80, 0xff] {
            bytes[0] = version;
            assert_eq!(
                ParsedBlob::parse(&bytes).unwrap_err(),
                CryptoError::InvalidCiphertext
            );
        }
    }
}
