//! Where the root key lives: the one implementation of `strongbox_core::Seal` ([`RootSeal`])
//! over storages of root keys ([`RootStorage`]): a key file, or root keys wrapped under a
//! passphrase, Shamir shares or a PKCS#11 HSM key ([`WrappedRoots`]).
//!
//! The root keys never leave this crate; the rest of Strongbox sees only sealed bytes and the
//! `Seal` trait. Depends on core (for the trait) and crypto (for AES-256-GCM), never on the
//! store or HTTP.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod file;
mod keyring;
pub mod passphrase;
mod pkcs11;
mod root;
pub mod shamir;
mod wrapped;

pub use file::{FileRoots, FileSealError};
pub use keyring::{ROOT_KEY_ID_LEN, RootKeyId};
pub use pkcs11::Pkcs11Wrapper;
pub use root::{Fingerprint, RootSeal, RootStorage};
pub use wrapped::{
    KdfParams, KeyWrapper, RootWrapper, SEAL_FILE, SealChoice, SealFile, WrappedRoots,
};
