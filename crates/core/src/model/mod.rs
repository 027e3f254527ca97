//! Domain types: identifiers, key specs and states, keys, aliases, grants, accounts and
//! principals.

pub mod account;
pub mod alias;
pub mod capabilities;
pub mod grant;
pub mod iam;
pub mod ids;
pub mod key;
pub mod principal;
pub mod spec;

pub use account::{AccessKey, AccessKeyStatus, Account};
pub use alias::Alias;
pub use capabilities::Algorithms;
pub use grant::{Grant, GrantConstraint, GrantId, GrantPrincipal, GrantRef};
pub use iam::{InlinePolicy, PolicyOwner, Role, User};
pub use ids::{AccessKeyId, AccountId, AliasName, KeyArn, KeyId, Region, VersionId};
pub use key::{AutoRotation, Key, KeyVersion, PendingWork, Tags};
pub use principal::Principal;
pub use spec::{
    DataKeyPairSpec, EncryptionAlgorithm, GrantOperation, KeyAgreementAlgorithm, KeyManager,
    KeySpec, KeyState, KeyUsage, MacAlgorithm, MessageType, Origin, RotationType, SigningAlgorithm,
};
