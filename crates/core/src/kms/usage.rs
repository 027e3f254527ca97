//! The checks every cryptographic operation makes on its key: state, usage, algorithm.

use crate::error::Error;
use crate::model::{Key, KeyUsage};
use crate::state::{self, StateRule};

/// The key is enabled and made for `usage` (`InvalidKeyUsageException` otherwise, naming the
/// operation as AWS does).
pub(super) fn check(key: &Key, usage: KeyUsage, operation: &str) -> Result<(), Error> {
    state::check(StateRule::Cryptographic, key.state, &key.arn)?;
    if key.usage != usage {
        return Err(Error::InvalidKeyUsage(format!(
            "{} key usage is {} which is not valid for {operation}.",
            key.arn, key.usage
        )));
    }
    Ok(())
}

/// The algorithm is one the key offers (`InvalidKeyUsageException` otherwise).
pub(super) fn algorithm<T: PartialEq + std::fmt::Display>(
    key: &Key,
    algorithm: T,
    offered: &[T],
) -> Result<T, Error> {
    if offered.contains(&algorithm) {
        Ok(algorithm)
    } else {
        Err(Error::InvalidKeyUsage(format!(
            "Algorithm {algorithm} is incompatible with key spec {} and key usage {}.",
            key.spec, key.usage
        )))
    }
}

/// How the crypto crate's input errors read to a client.
pub(super) fn crypto_error(error: strongbox_crypto::CryptoError) -> Error {
    use strongbox_crypto::CryptoError as E;
    match error {
        E::InvalidDigestLength => Error::Validation(
            "Digest is invalid length for algorithm: a DIGEST message must be exactly the hash length of the signing algorithm (32, 48 or 64 bytes)".to_owned(),
        ),
        E::InvalidAlgorithm => Error::Validation(
            "The MessageType is not valid for this signing algorithm".to_owned(),
        ),
        E::InvalidPublicKey => Error::Validation(
            "PublicKey is not a valid DER-encoded SubjectPublicKeyInfo of a key on the KMS key's curve".to_owned(),
        ),
        E::PlaintextTooLong => Error::Validation(
            "Plaintext is too long for this key spec and encryption algorithm".to_owned(),
        ),
        E::InvalidCiphertext => Error::InvalidCiphertext(
            "The ciphertext is not valid for this key and encryption algorithm.".to_owned(),
        ),
        other => Error::from(other),
    }
}
