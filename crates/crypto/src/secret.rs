//! Types that hold secrets, plus the small primitives every caller of secrets needs.
//!
//! Secrets live in types that zeroize on drop and refuse to be printed (`SecretBytes` prints a
//! redacted placeholder, `KeyMaterial` has no `Debug` at all) so that neither a log line nor a
//! serializer can leak them by accident.

use std::fmt;
use std::sync::OnceLock;

use aws_lc_rs::{constant_time, digest, rand};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::CryptoError;
use crate::asymmetric::parsed::Parsed;

/// Length in bytes of symmetric (AES-256) key material and of wrapping keys.
pub const SYMMETRIC_KEY_LEN: usize = 32;

/// Owned secret bytes (a decrypted plaintext, a data key, ...) that are wiped when dropped.
///
/// `Debug` prints only the length, and there is no `Clone` or `Serialize`, so a copy of the secret
/// can only be made on purpose through [`SecretBytes::expose`].
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of `bytes`; they are zeroized when the value is dropped.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The secret itself. Named so that every read of a secret is visible in review.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes; not secret.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no bytes; not secret.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<redacted, {} bytes>)", self.0.len())
    }
}

/// The plaintext material of one key version: 32 bytes for symmetric keys, PKCS#8 DER for
/// asymmetric keys (so its length varies).
///
/// Zeroized on drop. It deliberately has no `Debug`, `Clone` or `Serialize`: the compiler refuses
/// to print or persist it, and at rest it only ever exists sealed (see [`crate::wrap`]).
///
/// Material of up to 32 bytes (symmetric and most HMAC keys) is held inline rather than in a
/// second allocation: the key cache holds one of these per cached key version, up to millions.
pub struct KeyMaterial(Material);

enum Material {
    Inline {
        len: u8,
        bytes: [u8; INLINE_LEN],
    },
    /// Longer material (private keys, HMAC keys), with the parsed forms of a private key,
    /// built on first use (`asymmetric::parsed`).
    Heap {
        bytes: Vec<u8>,
        parsed: OnceLock<Box<Parsed>>,
    },
}

const INLINE_LEN: usize = SYMMETRIC_KEY_LEN;

impl KeyMaterial {
    /// Takes ownership of `bytes` (e.g. just unsealed); they are zeroized when dropped (at once
    /// when they are copied inline).
    pub fn from_bytes(mut bytes: Vec<u8>) -> Self {
        match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= INLINE_LEN => {
                let mut inline = [0; INLINE_LEN];
                inline[..bytes.len()].copy_from_slice(&bytes);
                bytes.zeroize();
                Self(Material::Inline { len, bytes: inline })
            }
            _ => Self(Material::Heap {
                bytes,
                parsed: OnceLock::new(),
            }),
        }
    }

    /// Fresh material for a symmetric key version: [`SYMMETRIC_KEY_LEN`] random bytes.
    pub fn generate_symmetric() -> Result<Self, CryptoError> {
        let mut bytes = [0u8; SYMMETRIC_KEY_LEN];
        rand::fill(&mut bytes).map_err(|_| CryptoError::Unspecified)?;
        let material = Self(Material::Inline {
            len: SYMMETRIC_KEY_LEN as u8,
            bytes,
        });
        bytes.zeroize();
        Ok(material)
    }

    /// The material itself, for handing to a primitive or to the seal.
    pub fn expose(&self) -> &[u8] {
        match &self.0 {
            Material::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Material::Heap { bytes, .. } => bytes,
        }
    }

    /// The parsed forms of a private key held here; `None` for short (symmetric) material.
    pub(crate) fn parsed_forms(&self) -> Option<&Parsed> {
        match &self.0 {
            Material::Heap { parsed, .. } => Some(parsed.get_or_init(Box::default)),
            Material::Inline { .. } => None,
        }
    }
}

impl Drop for KeyMaterial {
    fn drop(&mut self) {
        match &mut self.0 {
            Material::Inline { bytes, .. } => bytes.zeroize(),
            // The parsed forms drop after this; aws-lc wipes what it frees.
            Material::Heap { bytes, .. } => bytes.zeroize(),
        }
    }
}

impl ZeroizeOnDrop for KeyMaterial {}

/// `len` bytes from the system CSPRNG, held as a secret because callers use them as keys.
pub fn random_bytes(len: usize) -> Result<SecretBytes, CryptoError> {
    let mut bytes = SecretBytes::new(vec![0u8; len]);
    rand::fill(&mut bytes.0).map_err(|_| CryptoError::Unspecified)?;
    Ok(bytes)
}

/// 16 random bytes for identifiers that must not be guessable (request, event and key ids), from
/// aws-lc's DRBG: no system call per id, unlike the `uuid` crate's `getrandom`.
pub fn random_id() -> Result<[u8; 16], CryptoError> {
    let mut bytes = [0_u8; 16];
    rand::fill(&mut bytes).map_err(|_| CryptoError::Unspecified)?;
    Ok(bytes)
}

/// Equality whose running time does not depend on where `a` and `b` differ, for comparing
/// secrets and MACs. Lengths are not secret: different lengths return `false` at once.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// SHA-256 fed in parts: a prefix hashed once, then finished with several suffixes (an audit
/// record is hashed outside the journal's lock, all but its link).
#[derive(Clone)]
pub struct Sha256(digest::Context);

impl Sha256 {
    /// An empty hash.
    pub fn new() -> Self {
        Self(digest::Context::new(&digest::SHA256))
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The hash of everything fed.
    pub fn finish(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(self.0.finish().as_ref());
        out
    }
}

impl Default for Sha256 {
    fn default() -> Self {
        Self::new()
    }
}

/// SHA-256 of `data`, for hash links and fingerprints.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = digest::digest(&digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_secret_bytes_is_redacted() {
        let secret = SecretBytes::new(b"hunter2-very-secret".to_vec());
        let printed = format!("{secret:?}");
        assert_eq!(printed, "SecretBytes(<redacted, 19 bytes>)");
        assert!(!printed.contains("hunter2"));
        // Nor the bytes in list form, as a derived Debug would print them.
        assert!(!printed.contains("104, 117"));
    }

    #[test]
    fn secret_bytes_accessors() {
        let secret = SecretBytes::new(vec![1, 2, 3]);
        assert_eq!(secret.expose(), &[1, 2, 3]);
        assert_eq!(secret.len(), 3);
        assert!(!secret.is_empty());
        assert!(SecretBytes::new(Vec::new()).is_empty());
    }

    #[test]
    fn generated_material_is_32_random_bytes() {
        let a = KeyMaterial::generate_symmetric().unwrap();
        let b = KeyMaterial::generate_symmetric().unwrap();
        assert_eq!(a.expose().len(), SYMMETRIC_KEY_LEN);
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn material_of_any_length_reads_back_unchanged() {
        for len in [0, 1, 28, 32, 33, 64, 1217] {
            let bytes: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let material = KeyMaterial::from_bytes(bytes.clone());
            assert_eq!(material.expose(), bytes.as_slice(), "{len} bytes");
        }
    }

    #[test]
    fn random_bytes_have_requested_length_and_differ() {
        assert_eq!(random_bytes(0).unwrap().len(), 0);
        let a = random_bytes(32).unwrap();
        let b = random_bytes(32).unwrap();
        assert_eq!(a.len(), 32);
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn constant_time_eq_compares_contents_and_lengths() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(!constant_time_eq(b"", b"a"));
    }

    #[test]
    fn sha256_known_answers() {
        // FIPS 180-2 appendix B.1 and the empty string.
        assert_eq!(
            hex::encode(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex::encode(sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
