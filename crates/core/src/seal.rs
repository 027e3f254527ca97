//! The seal: wraps key material and secrets under the root key, which never leaves the seal.
//!
//! [`SealedKey`] is storable; plaintext material is [`strongbox_crypto::KeyMaterial`] or
//! [`strongbox_crypto::SecretBytes`], which cannot be serialized, printed or cloned. Keeping
//! them different types is what stops plaintext from reaching the store.

use std::fmt;

use strongbox_crypto::SecretBytes;

/// Material wrapped under the root key. Opaque bytes whose format belongs to the seal.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedKey(Vec<u8>);

impl SealedKey {
    /// Wraps bytes produced by a seal or read from the store.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes to store.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedKey({} bytes)", self.0.len())
    }
}

/// Why sealing or unsealing failed.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The sealed bytes were altered, bound to other AAD, or sealed under another root key.
    #[error("sealed material could not be opened: wrong root key, wrong binding or corrupted")]
    Unseal,
    /// The seal's backend failed (file, passphrase, HSM).
    #[error("seal backend failure: {0}")]
    Backend(String),
}

/// A root-key holder. Implementations: a key file, a passphrase, a PKCS#11 HSM.
///
/// `aad` binds each sealed value to its owner (a key ARN and version, an access key id), so
/// that sealed values cannot be swapped between rows.
pub trait Seal: Send + Sync {
    /// Wraps `plaintext` under the root key.
    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<SealedKey, SealError>;

    /// Unwraps what [`Seal::seal`] produced with the same `aad`.
    fn unseal(&self, aad: &[u8], sealed: &SealedKey) -> Result<SecretBytes, SealError>;
}
