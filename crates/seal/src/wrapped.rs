//! Root keys wrapped under a key the data directory does not hold: derived from a passphrase,
//! combined from Shamir shares, or kept by an HSM. The file `<data-dir>/root.sealed` records
//! the seal's choice and parameters (never its secret) and the wrapped root keys (oldest
//! first; two only during a rotation). It is replaced whole (written under a temporary name,
//! flushed, renamed, the directory flushed), so a reader sees one version or the next.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use strongbox_core::{Binding, SealError};
use strongbox_crypto::{LockedKey, SecretBytes, wrap};

use crate::root::{Fingerprint, RootStorage};

/// The seal file's name in the data directory.
pub const SEAL_FILE: &str = "root.sealed";

/// Unwraps and wraps root keys: a key in this process's memory (passphrase, Shamir), or one
/// that never leaves an HSM.
pub trait RootWrapper: Send + Sync {
    /// Wraps a root key, bound to `aad`.
    fn wrap(&self, aad: &[u8], root: &[u8]) -> Result<Vec<u8>, SealError>;
    /// Unwraps what [`RootWrapper::wrap`] made; `Err(SealError::Unseal)` when it does not
    /// authenticate (a wrong passphrase, wrong shares, another HSM key).
    fn unwrap(&self, aad: &[u8], wrapped: &[u8]) -> Result<SecretBytes, SealError>;
}

/// A wrapping key held in this process's locked memory (derived from a passphrase, or
/// combined from shares), used with AES-256-GCM.
pub struct KeyWrapper(pub LockedKey);

impl RootWrapper for KeyWrapper {
    fn wrap(&self, aad: &[u8], root: &[u8]) -> Result<Vec<u8>, SealError> {
        wrap::seal(&self.0, aad, root).map_err(|error| SealError::Backend(error.to_string()))
    }

    fn unwrap(&self, aad: &[u8], wrapped: &[u8]) -> Result<SecretBytes, SealError> {
        wrap::open(&self.0, aad, wrapped).map_err(|_| SealError::Unseal)
    }
}

/// Argon2id parameters, chosen at `init` (tuned to take at least 250 ms here).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory, KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

/// Which seal, and what it needs besides its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "seal", rename_all = "lowercase")]
pub enum SealChoice {
    /// A passphrase, stretched with Argon2id.
    Passphrase {
        /// The KDF's parameters.
        argon2id: KdfParams,
        /// 16 random bytes, base64.
        salt: String,
    },
    /// Shares of a wrapping key, a threshold of which unseals.
    Shamir {
        /// Shares made.
        shares: u8,
        /// Shares needed.
        threshold: u8,
        /// Names this set of shares (changes with `operator rekey`), so that a share of
        /// another set is refused at once.
        set: String,
    },
    /// A non-extractable AES key on a PKCS#11 token.
    Pkcs11 {
        /// The PKCS#11 module (shared library).
        module: PathBuf,
        /// The token's label.
        token_label: String,
        /// The wrapping key's label on the token.
        key_label: String,
    },
}

impl SealChoice {
    /// The seal's name.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Passphrase { .. } => "passphrase",
            Self::Shamir { .. } => "shamir",
            Self::Pkcs11 { .. } => "pkcs11",
        }
    }

    /// What is said when the secret given does not open the root key.
    pub fn refusal(&self) -> &'static str {
        match self {
            Self::Passphrase { .. } => "the passphrase does not open the root key",
            Self::Shamir { .. } => {
                "the shares do not open the root key (one of them is wrong; the shares given were forgotten: start again)"
            }
            Self::Pkcs11 { .. } => "the HSM's key does not open the root key",
        }
    }
}

/// The seal file's contents.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SealFile {
    /// The seal's choice and parameters.
    #[serde(flatten)]
    pub choice: SealChoice,
    /// The wrapped root keys, base64, oldest first.
    pub roots: Vec<String>,
}

/// What a wrapped root key is bound to: the seal's kind.
fn root_binding(choice: &SealChoice) -> Binding {
    Binding::new("strongbox/root-key").field(choice.kind())
}

impl SealFile {
    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Self, SealError> {
        let bytes = fs::read(path)
            .map_err(|error| SealError::Backend(format!("{}: {error}", path.display())))?;
        serde_json::from_slice(&bytes)
            .map_err(|error| SealError::Backend(format!("{}: {error}", path.display())))
    }

    /// Replaces `path` whole, durably. With `create_new`, refuses to replace an existing file.
    pub fn write(&self, path: &Path, create_new: bool) -> Result<(), SealError> {
        let fail = |error: io::Error| SealError::Backend(format!("{}: {error}", path.display()));
        let mut text = serde_json::to_vec_pretty(self)
            .map_err(|error| SealError::Backend(error.to_string()))?;
        text.push(b'\n');
        let id = crate::file::hex_id().map_err(|error| SealError::Backend(error.to_string()))?;
        let temporary = path.with_extension(format!("new-{id}"));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(crate::file::no_follow_flag())
            .open(&temporary)
            .map_err(fail)?;
        file.write_all(&text)
            .and_then(|()| file.sync_all())
            .map_err(fail)?;
        let placed = if create_new {
            fs::hard_link(&temporary, path)
        } else {
            fs::rename(&temporary, path)
        };
        let _ = fs::remove_file(&temporary);
        placed.map_err(fail)?;
        crate::file::sync_parent(path).map_err(fail)
    }

    /// Wraps `root` and appends it (it seals from now on).
    pub fn push_root(
        &mut self,
        wrapper: &dyn RootWrapper,
        root: &LockedKey,
    ) -> Result<(), SealError> {
        let wrapped = wrapper.wrap(root_binding(&self.choice).as_bytes(), root.expose())?;
        self.roots.push(STANDARD.encode(wrapped));
        Ok(())
    }

    /// Unwraps every root key, oldest first.
    pub fn open_roots(&self, wrapper: &dyn RootWrapper) -> Result<Vec<LockedKey>, SealError> {
        let binding = root_binding(&self.choice);
        self.roots
            .iter()
            .map(|encoded| {
                let wrapped = STANDARD
                    .decode(encoded)
                    .map_err(|_| SealError::Backend("a wrapped root key is not base64".into()))?;
                let root =
                    wrapper
                        .unwrap(binding.as_bytes(), &wrapped)
                        .map_err(|error| match error {
                            SealError::Unseal => {
                                SealError::Backend(self.choice.refusal().to_owned())
                            }
                            other => other,
                        })?;
                LockedKey::from_bytes(root.expose().to_vec())
                    .map_err(|error| SealError::Backend(error.to_string()))
            })
            .collect()
    }
}

/// Root keys in `root.sealed`, opened with a wrapper that is set once the seal's secret is
/// known (at start, or when the operator unseals).
pub struct WrappedRoots {
    path: PathBuf,
    kind: &'static str,
    wrapper: RwLock<Option<Arc<dyn RootWrapper>>>,
}

impl WrappedRoots {
    /// The seal file at `path`, with its wrapper if known.
    pub fn new(path: &Path, kind: &'static str, wrapper: Option<Arc<dyn RootWrapper>>) -> Self {
        Self {
            path: path.to_owned(),
            kind,
            wrapper: RwLock::new(wrapper),
        }
    }

    /// Sets the wrapper (the seal's secret became known).
    pub fn set_wrapper(&self, wrapper: Arc<dyn RootWrapper>) {
        *self
            .wrapper
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(wrapper);
    }

    /// Forgets the wrapper (the secret given did not open the root keys).
    pub fn clear_wrapper(&self) {
        *self
            .wrapper
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }

    fn wrapper(&self) -> Result<Arc<dyn RootWrapper>, SealError> {
        self.wrapper
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
            .ok_or(SealError::Sealed)
    }
}

impl RootStorage for WrappedRoots {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn load(&self) -> Result<Vec<LockedKey>, SealError> {
        let wrapper = self.wrapper()?;
        SealFile::read(&self.path)?.open_roots(wrapper.as_ref())
    }

    fn add(&self, key: &LockedKey) -> Result<(), SealError> {
        let wrapper = self.wrapper()?;
        let mut file = SealFile::read(&self.path)?;
        file.push_root(wrapper.as_ref(), key)?;
        file.write(&self.path, false)
    }

    fn keep_only_current(&self) -> Result<(), SealError> {
        let mut file = SealFile::read(&self.path)?;
        if file.roots.len() <= 1 {
            return Ok(());
        }
        file.roots.drain(..file.roots.len() - 1);
        file.write(&self.path, false)
    }

    fn fingerprint(&self) -> Fingerprint {
        crate::file::stat_fingerprint(&self.path).to_vec()
    }
}
