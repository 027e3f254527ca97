//! Strongbox's pure cryptography: secret types that zeroize and never print, the encryption
//! context's canonical form, the versioned ciphertext-blob format, per-request-key AES-256-GCM
//! encryption and the sealing of key material under a wrapping key.
//!
//! Everything here is synchronous, does no IO and depends on nothing of ours, so known-answer
//! tests and fuzz targets can link it alone. All primitives come from `aws-lc-rs`; this crate
//! only composes them and must never implement one itself.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod blob;
pub mod context;
mod error;
pub mod secret;
pub mod symmetric;
pub mod wrap;

pub use blob::{BLOB_FORMAT_V1, BLOB_HEADER_LEN, BLOB_OVERHEAD, BlobKeyRef, ParsedBlob};
pub use context::EncryptionContext;
pub use error::CryptoError;
pub use secret::{
    KeyMaterial, SYMMETRIC_KEY_LEN, SecretBytes, constant_time_eq, random_bytes, sha256,
};
