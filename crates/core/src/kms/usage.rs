//! The checks every cryptographic operation makes on its key: state, usage, algorithm.

use crate::error::Error;
use crate::messages;
use crate::model::{Key, KeyUsage};
use crate::state::{self, StateRule};

/// The key is enabled and made for `usage` (`InvalidKeyUsageException` otherwise, naming the
/// operation as AWS does).
pub(super) fn check(key: &Key, usage: KeyUsage, operation: &str) -> Result<(), Error> {
    state::check(StateRule::Cryptographic, key.state, &key.arn)?;
    if key.usage != usage {
        return Err(Error::InvalidKeyUsage(messages::key_usage(
            &key.arn.to_string(),
            key.usage,
            operation,
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
        Err(Error::InvalidKeyUsage(messages::algorithm_incompatible(
            &algorithm.to_string(),
            key.spec.as_str(),
        )))
    }
}

/// How the crypto crate's input errors read to a client, for a call with `algorithm`.
pub(super) fn crypto_error(
    algorithm: impl std::fmt::Display,
) -> impl FnOnce(strongbox_crypto::CryptoError) -> Error {
    use strongbox_crypto::CryptoError as E;
    move |error| {
        let algorithm = algorithm.to_string();
        match error {
            E::InvalidDigestLength => Error::Validation(messages::digest_length(&algorithm)),
            E::InvalidAlgorithm => {
                Error::Validation(messages::message_type_not_supported(&algorithm))
            }
            E::InvalidPublicKey => Error::Validation(messages::INVALID_PUBLIC_KEY.to_owned()),
            E::PlaintextTooLong => Error::Validation(messages::plaintext_too_long(&algorithm)),
            E::InvalidCiphertext => Error::InvalidCiphertext,
            other => Error::from(other),
        }
    }
}
