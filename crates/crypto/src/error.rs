//! The one error type of this crate.

/// Why a cryptographic operation failed.
///
/// The variants are deliberately coarse: a caller (and through it a client) must not learn *which*
/// check failed on a ciphertext, and no message ever carries secret bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The ciphertext is malformed, was tampered with, or does not match the key or context.
    /// Maps to AWS's `InvalidCiphertextException`.
    #[error("invalid ciphertext")]
    InvalidCiphertext,
    /// Key material has the wrong shape for the requested operation (e.g. not 32 bytes for
    /// AES-256). This is a bug or corrupt storage, never a client error.
    #[error("invalid key material")]
    InvalidKeyMaterial,
    /// The random number generator or the crypto library failed.
    #[error("unspecified cryptographic failure")]
    Unspecified,
}
