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
    /// The signing algorithm is not one AWS allows for the key spec, or the message type is not
    /// one the algorithm accepts (e.g. `DIGEST` with `ED25519_SHA_512`, `EXTERNAL_MU` with
    /// anything but ML-DSA), or the key spec has no such operation (ECDH on secp256k1).
    #[error("algorithm or message type not allowed for this key spec")]
    InvalidAlgorithm,
    /// A `DIGEST` message is not the hash length of the signing algorithm, or an `EXTERNAL_MU`
    /// message is not 64 bytes.
    #[error("digest has the wrong length for the signing algorithm")]
    InvalidDigestLength,
    /// A public key is not DER `SubjectPublicKeyInfo`, or is of another key type, curve or size
    /// than the key spec names.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// The plaintext exceeds what RSAES-OAEP can carry for the key size and hash (see
    /// [`crate::rsa_max_plaintext`]).
    #[error("plaintext too long for the key spec and encryption algorithm")]
    PlaintextTooLong,
    /// The random number generator or the crypto library failed.
    #[error("unspecified cryptographic failure")]
    Unspecified,
}
