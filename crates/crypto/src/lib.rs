//! Strongbox's pure cryptography: secret types that zeroize and never print, the encryption
//! context's canonical form, the versioned ciphertext-blob format, per-request-key AES-256-GCM
//! encryption, the sealing of key material under a wrapping key, and the asymmetric (RSA, ECC,
//! Ed25519, ML-DSA), HMAC and ECDH operations of AWS's other key specs.
//!
//! Everything here is synchronous, does no IO and depends on nothing of ours, so known-answer
//! tests and fuzz targets can link it alone. All primitives come from `aws-lc-rs`, except
//! Ed25519ph (`ed25519-dalek`) and ML-DSA over an external mu (`ml-dsa`), which it lacks; this
//! crate only composes them and must never implement one itself.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod asymmetric;
pub mod blob;
pub mod context;
mod error;
mod locked;
pub mod mac;
pub mod secret;
pub mod symmetric;
pub mod wrap;

pub use asymmetric::{
    AsymmetricSpec, Message, OaepHash, SigningAlgorithm, derive_shared_secret, generate,
    public_key_der, rsa_decrypt, rsa_encrypt, rsa_max_plaintext, sign, signing_algorithms, verify,
};
pub use blob::{BLOB_FORMAT_V1, BLOB_HEADER_LEN, BLOB_OVERHEAD, BlobKeyRef, ParsedBlob};
pub use context::EncryptionContext;
pub use error::CryptoError;
pub use locked::LockedKey;
pub use mac::{MacAlgorithm, generate_mac_key, mac, verify_mac};
pub use secret::{
    KeyMaterial, SYMMETRIC_KEY_LEN, SecretBytes, Sha256, constant_time_eq, random_bytes, random_id,
    sha256,
};
