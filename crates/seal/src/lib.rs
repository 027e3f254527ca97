//! Implementations of `strongbox_core::Seal`: where the root key lives.
//!
//! Today: a key file (`<data-dir>/root.key`, mode 0600). The root key never leaves this crate;
//! the rest of Strongbox sees only sealed bytes and the `Seal` trait. Depends on core (for the
//! trait) and crypto (for AES-256-GCM), never on the store or HTTP.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod file;

pub use file::FileSeal;
