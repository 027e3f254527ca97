//! The KMS itself: domain types, operations, key states, and the `Store`, `Seal` and `Clock`
//! seams that the adapters implement.
//!
//! This crate owns AWS KMS *semantics*: which key a `KeyId` names, which key state allows which
//! operation, how an alias or tag may look, how a ciphertext is bound to its key and context.
//! It must never depend on HTTP, SQL or a particular seal: the server crate speaks the wire
//! format, the store crate speaks SQL, the seal crate holds the root key. Everything it needs
//! from the outside world comes in through the traits in [`store`], [`seal`] and [`clock`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod audit;
pub mod clock;
pub mod error;
pub mod kms;
pub mod log_throttle;
pub mod messages;
pub mod model;
pub mod operation;
pub mod policy;
pub mod seal;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod validate;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{Error, Internal};
pub use kms::{Kms, KmsConfig};
pub use seal::{Binding, Seal, SealError, SealStatus, SealedKey};
pub use store::{
    GrantCreated, GrantFilter, Page, PageRequest, SealedVersion, Store, StoreError, StoreErrorKind,
};
