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
    /// The seal holds no root key yet: the operator has not unsealed it.
    #[error("the service is sealed")]
    Sealed,
    /// The seal's backend failed (file, passphrase, HSM).
    #[error("seal backend failure: {0}")]
    Backend(String),
}

/// What a seal says of itself (for `/ready`, metrics and the admin CLI).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealStatus {
    /// Which seal: `file`, `passphrase`, `pkcs11`, `shamir`.
    pub kind: &'static str,
    /// Whether it holds no root key yet (waiting to be unsealed).
    pub sealed: bool,
    /// Root keys held: 2 while a root rotation is under way.
    pub root_keys: usize,
    /// Whether every root key's memory is locked (kept out of swap).
    pub memory_locked: bool,
}

/// A holder of root keys. The one implementation is `strongbox_seal::RootSeal`, over a key
/// file, a passphrase, a PKCS#11 HSM or Shamir shares.
///
/// `aad` binds each sealed value to everything it means (a [`Binding`]), so that a sealed value
/// moved to another row, or a row changed around it, does not unseal. A seal binds its own
/// format version and the id of the root key that sealed the value too. The root key seals
/// little: each account's key-encryption key and the service's own secrets; everything else is
/// sealed under an account's key-encryption key, so that a root rotation seals again only those.
pub trait Seal: Send + Sync {
    /// Wraps `plaintext` under the current root key.
    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<SealedKey, SealError>;

    /// Unwraps what [`Seal::seal`] produced with the same `aad`, under any root key the seal
    /// holds (two during a rotation). Values in earlier formats are refused: they open only
    /// through [`Seal::unseal_earlier`], to be sealed again.
    fn unseal(&self, aad: &[u8], sealed: &SealedKey) -> Result<SecretBytes, SealError>;

    /// Unwraps a value of an earlier format for the migration that seals it again: the first
    /// format (bound to `first_aad`, the caller's older binding) or the second (bound to
    /// `aad`), while [`Seal::opens_legacy`] (the first only if no earlier migration retired it).
    fn unseal_earlier(
        &self,
        first_aad: &[u8],
        aad: &[u8],
        sealed: &SealedKey,
    ) -> Result<SecretBytes, SealError>;

    /// Whether `sealed` is in the current format under the root key that seals now (nothing to
    /// seal again).
    fn is_current(&self, sealed: &SealedKey) -> bool;

    /// The id of the root key that seals now (`None` while sealed).
    fn current_root(&self) -> Option<Vec<u8>>;

    /// The id of the root key `sealed` was sealed under (current format only), which the store
    /// checks before it accepts a newly sealed value, so that no value sealed under a root key
    /// being retired slips in behind a rotation.
    fn root_of(&self, sealed: &SealedKey) -> Option<Vec<u8>>;

    /// Whether values of an earlier format may still be opened: until the migration says
    /// (through [`Seal::retire_legacy`]) that none is left. The seal keeps that fact itself,
    /// outside the store, so that someone who can write the store cannot make it open first-
    /// format values again.
    fn opens_legacy(&self) -> bool;

    /// Records, durably, that no value of an earlier format is left: they never open again.
    fn retire_legacy(&self) -> Result<(), SealError>;

    /// Durably adds a new root key that seals from now on, the old one still opening; does
    /// nothing when a rotation is already under way (an interrupted one is resumed).
    fn begin_rotation(&self) -> Result<(), SealError>;

    /// Durably destroys every root key but the current one: call only once nothing is sealed
    /// under them.
    fn finish_rotation(&self) -> Result<(), SealError>;

    /// Reads the root keys again if their storage changed (another process rotated them);
    /// whether it did.
    fn refresh(&self) -> Result<bool, SealError>;

    /// What the seal says of itself.
    fn status(&self) -> SealStatus;
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
