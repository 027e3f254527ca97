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
/// `aad` binds each sealed value to everything it means (a [`Binding`]: for key material its
/// key ARN, version, spec and usage; for an access key's secret its account, user and id), so
/// that a sealed value moved to another row, or a row changed around it, does not unseal. A
/// seal binds its own format version too.
pub trait Seal: Send + Sync {
    /// Wraps `plaintext` under the root key.
    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<SealedKey, SealError>;

    /// Unwraps what [`Seal::seal`] produced with the same `aad`. Values in an older format are
    /// refused: they are opened only by [`Seal::unseal_legacy`], to be sealed again.
    fn unseal(&self, aad: &[u8], sealed: &SealedKey) -> Result<SecretBytes, SealError>;

    /// Unwraps a value of the first format (its version byte outside the AAD, which was the
    /// caller's older, weaker binding), for the one migration that seals it again under the
    /// current format. Values of the current format are refused.
    fn unseal_legacy(&self, aad: &[u8], sealed: &SealedKey) -> Result<SecretBytes, SealError>;

    /// Whether `sealed` is in the current format (nothing to migrate).
    fn is_current(&self, sealed: &SealedKey) -> bool;

    /// Whether values of the first format may still be opened: until the migration says
    /// (through [`Seal::retire_legacy`]) that none is left. The seal keeps that fact itself,
    /// outside the store, so that someone who can write the store cannot make it open first-
    /// format values again.
    fn opens_legacy(&self) -> bool;

    /// Records, durably, that no value of the first format is left: they never open again.
    fn retire_legacy(&self) -> Result<(), SealError>;
}

/// What a sealed value is bound to: a purpose and the fields that identify its owner, each
/// length-prefixed (4 bytes, big-endian), so that no two different lists of fields encode alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding(Vec<u8>);

impl Binding {
    /// A binding for `purpose` (`strongbox/key-material`, ...).
    pub fn new(purpose: &str) -> Self {
        Self(Vec::with_capacity(128)).field(purpose)
    }

    /// Adds a field.
    pub fn field(mut self, bytes: impl AsRef<[u8]>) -> Self {
        let bytes = bytes.as_ref();
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(bytes);
        self
    }

    /// The AAD.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_length_prefixed() {
        let split = |a: &str, b: &str| Binding::new("p").field(a).field(b);
        assert_ne!(split("ab", "c"), split("a", "bc"));
        assert_eq!(
            Binding::new("p").field("xy").as_bytes(),
            [&[0, 0, 0, 1][..], b"p", &[0, 0, 0, 2], b"xy"].concat()
        );
    }
}
