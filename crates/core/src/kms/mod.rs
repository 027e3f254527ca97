//! The KMS operations, one file per family, all methods on [`Kms`].
//!
//! Every operation takes the calling [`Principal`](crate::model::Principal) first: the account
//! scopes every lookup and the Region selects which of the served Regions the call is for.

mod accounts;
mod agreement;
mod aliases;
mod asymmetric;
mod audit;
mod cache;
mod conditions;
mod crypto;
mod data_keys;
mod grants;
mod iam;
mod keks;
mod key_pairs;
mod keys;
mod lifecycle;
mod mac;
mod material;
mod policies;
mod reseal;
mod resolve;
mod root_check;
mod root_rotation;
mod rotation;
mod service_secrets;
mod sts;
mod tags;
mod usage;

use std::sync::Arc;

use crate::audit::AuditLog;
use crate::clock::Clock;
use crate::seal::Seal;
use crate::store::Store;

pub use accounts::{Credentials, NewAccessKey};
pub use asymmetric::{PublicKeyOutput, SignInput};
pub use crypto::{DecryptOutput, EncryptOutput, ReEncryptInput, ReEncryptOutput};
pub use data_keys::{DataKeyOutput, DataKeySize, MAX_DATA_KEY_BYTES};
pub use grants::{CreateGrantInput, CreatedGrant, DEFAULT_GRANTS_PER_KEY, RetireTarget};
pub use iam::{MAX_SESSION_RANGE, RoleInput};
pub use key_pairs::DataKeyPairOutput;
pub use keys::{CreateKeyInput, ScheduledDeletion};
pub use lifecycle::DueWork;
pub use policies::DEFAULT_POLICY_NAME;
pub use reseal::Resealed;
pub use resolve::KeyRef;
pub use root_check::RootCheck;
pub use root_rotation::RootRotated;
pub use rotation::{
    DEFAULT_ROTATION_PERIOD_DAYS, ROTATION_PERIOD_DAYS, RotationStatus, VersionFilter,
};
pub use sts::{AssumeRoleInput, SESSION_SECONDS, SessionCredentials, SessionError};

/// LookupEvents queries that may run at once (the store's pool has 8 connections).
const LOOKUPS_AT_ONCE: usize = 2;

/// Tunables of the KMS core.
#[derive(Clone, Debug)]
pub struct KmsConfig {
    /// How many keys the in-memory cache holds before it evicts (and as many aliases, access
    /// keys, and keys' older versions).
    pub cache_capacity: usize,
    /// How long an unsealed access-key secret, an identity's policies or a caller's grants on
    /// a key are trusted before they are read again, so that a change made by another process
    /// (the admin CLI, another node) is seen within this time.
    pub credential_ttl: time::Duration,
    /// On-demand rotations allowed per key (AWS: 25).
    pub on_demand_rotation_limit: u32,
    /// Grants allowed per key (AWS: 50,000).
    pub grants_per_key: u32,
    /// Whether API calls and service events are recorded. Off only to measure what auditing
    /// costs (`serve --benchmark-without-audit`).
    pub audit: bool,
    /// The most records one audit digest covers: a chain with more waiting gets a digest at
    /// once, so a digest pass re-reads at most this many after a stop or a crash.
    pub max_digest_records: u64,
}

impl Default for KmsConfig {
    fn default() -> Self {
        Self {
            cache_capacity: 1_000_000,
            credential_ttl: time::Duration::seconds(5),
            on_demand_rotation_limit: 25,
            grants_per_key: DEFAULT_GRANTS_PER_KEY,
            audit: true,
            max_digest_records: 1_000_000,
        }
    }
}

/// The key management service: stateless apart from caches, so several can share one store.
pub struct Kms {
    store: Arc<dyn Store>,
    seal: Arc<dyn Seal>,
    clock: Arc<dyn Clock>,
    cache: cache::Caches,
    config: KmsConfig,
    /// Asymmetric key generations allowed at once (one per core).
    generation_permits: tokio::sync::Semaphore,
    /// Where records go.
    audit: AuditLog,
    /// Where records are read from (the same sink; present even when recording is off).
    audit_reader: Option<Arc<dyn crate::audit::AuditSink>>,
    /// The audit signing key, unsealed on first use.
    audit_signer: tokio::sync::OnceCell<Arc<audit::AuditSigner>>,
    /// The key grant tokens are authenticated with, unsealed on first use.
    grant_token_key: tokio::sync::OnceCell<Arc<strongbox_crypto::KeyMaterial>>,
    /// LookupEvents queries allowed at once.
    lookup_permits: tokio::sync::Semaphore,
}

impl Kms {
    /// Wires the service to its store, seal, clock and audit sink (`None` for a process that
    /// neither writes nor reads the trail).
    pub fn new(
        store: Arc<dyn Store>,
        seal: Arc<dyn Seal>,
        clock: Arc<dyn Clock>,
        audit_sink: Option<Arc<dyn crate::audit::AuditSink>>,
        config: KmsConfig,
    ) -> Self {
        Self {
            cache: cache::Caches::new(config.cache_capacity),
            generation_permits: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |cores| cores.get()),
            ),
            audit: match &audit_sink {
                Some(sink) if config.audit => AuditLog::new(Arc::clone(sink)),
                _ => AuditLog::disabled(),
            },
            audit_reader: audit_sink,
            audit_signer: tokio::sync::OnceCell::new(),
            grant_token_key: tokio::sync::OnceCell::new(),
            lookup_permits: tokio::sync::Semaphore::new(LOOKUPS_AT_ONCE),
            store,
            seal,
            clock,
            config,
        }
    }

    /// The clock this service runs on (audit records take their time from it).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// The store this service runs on.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }
}
