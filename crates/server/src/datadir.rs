//! The data directory: the root key file, the SQLite store, and the first-start bootstrap
//! (default account, first access key, `credentials` file).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use strongbox_core::kms::NewAccessKey;
use strongbox_core::model::{AccessKey, AccessKeyId, AccountId, Region};
use strongbox_core::{Clock, Kms, KmsConfig, Seal, SystemClock};
use strongbox_crypto::SecretBytes;
use strongbox_store::Engine;
use strongbox_store::journal::{Journal, JournalOptions};

use crate::seal_setup::{self, Opener, Unsealer};

/// The account created on first start unless `STRONGBOX_BOOTSTRAP_ACCOUNT_ID` says otherwise.
pub const DEFAULT_ACCOUNT_ID: &str = "111122223333";
/// The profile name in the written credentials file.
pub const PROFILE: &str = "strongbox";

/// The root key file inside the data directory.
pub fn root_key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("root.key")
}

/// An exclusive lock on a file of the data directory, held while the value lives.
pub struct DirLock {
    _file: fs::File,
}

/// Takes `<data-dir>/NAME` exclusively, or says `busy`.
fn lock_file(
    data_dir: &Path,
    name: &str,
    busy: impl FnOnce() -> String,
) -> Result<DirLock, String> {
    let path = data_dir.join(name);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(no_follow())
        .open(&path)
        .map_err(|error| format!("cannot open {}: {error}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(DirLock { _file: file }),
        Err(fs::TryLockError::WouldBlock) => Err(busy()),
        Err(fs::TryLockError::Error(error)) => {
            Err(format!("cannot lock {}: {error}", path.display()))
        }
    }
}

/// Holds the data directory for one `serve` process (`<data-dir>/serve.lock`). Until caches
/// are invalidated across processes, a second server on the same store would keep serving keys
/// that the first one disabled; the lock makes that mistake impossible. Admin commands do not
/// take it.
pub fn lock_for_serving(data_dir: &Path) -> Result<DirLock, String> {
    lock_file(data_dir, "serve.lock", || {
        format!(
            "another `strongbox serve` is already using {}; one server per data directory",
            data_dir.display()
        )
    })
}

/// Held by whatever changes the root keys' storage (`operator rotate-root`, `account delete
/// --crypto-shred`, `operator rekey`): one at a time, so that none writes back a list of root
/// keys that lacks one another has sealed values under.
pub fn lock_root_keys(data_dir: &Path) -> Result<DirLock, String> {
    lock_file(data_dir, "root.lock", || {
        format!(
            "another root rotation or rekey is under way on {}; wait for it to end",
            data_dir.display()
        )
    })
}

/// The credentials file inside the data directory.
pub fn credentials_path(data_dir: &Path) -> PathBuf {
    data_dir.join("credentials")
}

/// How to open the data directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// `serve`: create whatever is missing.
    CreateIfMissing,
    /// Admin commands: the directory must have been initialised by `serve`, so that a typo in
    /// `--data-dir` never creates a second root key.
    MustExist,
}

/// Opens the seal and the store and wires a [`Kms`] on the wall clock (admin commands: the
/// seal's secret, if it has one, is asked for).
pub async fn open(data_dir: &Path, store_url: &str, mode: OpenMode) -> Result<Arc<Kms>, String> {
    Ok(open_with(
        data_dir,
        store_url,
        mode,
        Arc::new(SystemClock),
        KmsConfig::default(),
        JournalOptions::default(),
    )
    .await?
    .kms)
}

/// An opened data directory.
pub struct Opened {
    /// The service.
    pub kms: Arc<Kms>,
    /// What unseals a passphrase or Shamir seal that started sealed.
    pub unsealer: Option<Arc<Unsealer>>,
    /// `serve`'s hold on the data directory (see [`lock_for_serving`]).
    pub serve_lock: Option<DirLock>,
}

/// [`open`] with a chosen clock and tunables; `serve` opens with `CreateIfMissing` and may
/// start sealed (see [`Opened::unsealer`]).
pub async fn open_with(
    data_dir: &Path,
    store_url: &str,
    mode: OpenMode,
    clock: Arc<dyn Clock>,
    config: KmsConfig,
    journal: JournalOptions,
) -> Result<Opened, String> {
    let root_key = root_key_path(data_dir);
    let sealed_file = seal_setup::seal_file_path(data_dir);
    let opener = match mode {
        OpenMode::CreateIfMissing => {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(data_dir)
                .map_err(|error| {
                    format!(
                        "cannot create data directory {}: {error}",
                        data_dir.display()
                    )
                })?;
            Opener::Server
        }
        OpenMode::MustExist => Opener::Operator,
    };
    // Before anything is opened to write (the audit journal recovers at open).
    let serve_lock = match mode {
        OpenMode::CreateIfMissing => Some(lock_for_serving(data_dir)?),
        OpenMode::MustExist => None,
    };
    let engine = Engine::parse(store_url).map_err(|error| error.to_string())?;
    if mode == OpenMode::MustExist && !root_key.exists() && !sealed_file.exists() {
        return Err(seal_setup::not_initialised(data_dir));
    }
    let store = strongbox_store::open(&engine)
        .await
        .map_err(|error| format!("cannot open store {store_url}: {error}"))?;
    let sealed = Kms::store_is_sealed(store.as_ref()).await.map_err(detail)?;
    if sealed && !root_key.exists() && !sealed_file.exists() {
        store.close().await;
        return Err(format!(
            "{} is missing, but the store {store_url} holds material sealed under a root key: restore the original root.key (a new one would not open anything)",
            root_key.display()
        ));
    }
    let opened = match seal_setup::open(data_dir, mode == OpenMode::CreateIfMissing, opener) {
        Ok(opened) => opened,
        Err(error) => {
            store.close().await;
            return Err(error);
        }
    };
    let status = opened.seal.status();
    if !status.sealed && !status.memory_locked {
        tracing::warn!(
            "could not lock the root key's memory (RLIMIT_MEMLOCK too low?): it could be written to swap"
        );
    }
    let seal: Arc<dyn Seal> = opened.seal;
    // `serve` writes the journal (its own lock keeps a second writer out); admin commands
    // read it as it is, next to a running server.
    let journal_dir = audit_journal_path(data_dir);
    let journal = match mode {
        OpenMode::CreateIfMissing => Journal::open(&journal_dir, journal),
        OpenMode::MustExist => Journal::open_reader(&journal_dir),
    };
    let journal = match journal {
        Ok(journal) => journal,
        Err(error) => {
            store.close().await;
            return Err(format!(
                "cannot open the audit journal {}: {error}",
                journal_dir.display()
            ));
        }
    };
    let kms = Arc::new(Kms::new(
        store,
        seal,
        clock,
        Some(Arc::new(journal)),
        config,
    ));
    if let Err(error) = prepare_audit(&kms, mode).await {
        kms.close().await;
        return Err(error);
    }
    let opened = Opened {
        kms,
        unsealer: opened.unsealer,
        serve_lock,
    };
    if status.sealed {
        // Checked once unsealed (`serve`: by `strongbox operator unseal`).
        return Ok(opened);
    }
    let kms = &opened.kms;
    let needs_resealing = match kms.needs_resealing().await {
        Ok(needed) => needed,
        Err(error) => {
            kms.close().await;
            return Err(detail(error));
        }
    };
    if needs_resealing {
        return match mode {
            // `serve` seals them again once it holds the data directory's lock (`upgrade`).
            OpenMode::CreateIfMissing => Ok(opened),
            OpenMode::MustExist => {
                kms.close().await;
                Err(format!(
                    "{} was made by an older version of Strongbox: stop any server running on it and start `strongbox serve --data-dir {}` once to upgrade it",
                    data_dir.display(),
                    data_dir.display()
                ))
            }
        };
    }
    if let Err(error) = kms.check_root_key().await {
        kms.close().await;
        return Err(detail(error));
    }
    Ok(opened)
}

/// The audit journal's directory in a data directory.
pub fn audit_journal_path(data_dir: &Path) -> PathBuf {
    data_dir.join("audit")
}

/// Brings the audit journal in line with the store: records of the older layout moved in
/// (`serve` only), pruned prefixes applied, and after an unclean stop the recovery recorded in
/// every chain.
async fn prepare_audit(kms: &Kms, mode: OpenMode) -> Result<(), String> {
    match mode {
        OpenMode::CreateIfMissing => {
            kms.migrate_legacy_audit().await.map_err(detail)?;
        }
        OpenMode::MustExist if kms.has_legacy_audit().await.map_err(detail)? => {
            return Err("this data directory's audit records are in the layout of an older version of Strongbox: stop any server running on it and start `strongbox serve` on it once to move them into the audit journal".to_owned());
        }
        OpenMode::MustExist => {}
    }
    kms.apply_audit_checkpoints().await.map_err(detail)?;
    if mode == OpenMode::CreateIfMissing {
        kms.record_audit_recovery().await.map_err(detail)?;
    }
    Ok(())
}

/// Seals again what an older version sealed (see `Kms::reseal_legacy`), then checks the root
/// key; `serve` calls it once it holds the data directory's lock, so that no other server runs
/// on the store meanwhile.
pub async fn upgrade(kms: &Kms) -> Result<(), String> {
    if !kms.needs_resealing().await.map_err(detail)? {
        return Ok(());
    }
    let done = kms.reseal_legacy().await.map_err(detail)?;
    tracing::info!(
        key_versions = done.key_versions,
        access_keys = done.access_keys,
        meta = done.meta,
        refused = done.refused,
        "sealed values of the first format sealed again, bound to all they mean"
    );
    kms.check_root_key().await.map_err(detail)
}

/// The full text of an error for the operator (internal details included: this is the CLI).
pub(crate) fn detail(error: strongbox_core::Error) -> String {
    match error {
        strongbox_core::Error::Internal(internal) => internal.detail(),
        other => other.to_string(),
    }
}

/// What the first start creates: the account id and, optionally, a known access key (from the
/// `STRONGBOX_BOOTSTRAP_*` variables, so that CI, containers and tests know the credentials).
/// Used only when the data directory is initialised.
pub struct Bootstrap {
    /// The default account's id.
    pub account: AccountId,
    /// A fixed access key id and secret instead of random ones.
    pub fixed_key: Option<(AccessKeyId, SecretBytes)>,
}

impl std::fmt::Debug for Bootstrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bootstrap")
            .field("account", &self.account)
            .field("fixed_key_id", &self.fixed_key.as_ref().map(|(id, _)| id))
            .finish()
    }
}

impl Bootstrap {
    /// Reads `STRONGBOX_BOOTSTRAP_ACCOUNT_ID`, `STRONGBOX_BOOTSTRAP_ACCESS_KEY_ID` and
    /// `STRONGBOX_BOOTSTRAP_SECRET_ACCESS_KEY`.
    pub fn from_env() -> Result<Self, String> {
        let account = std::env::var("STRONGBOX_BOOTSTRAP_ACCOUNT_ID")
            .unwrap_or_else(|_| DEFAULT_ACCOUNT_ID.to_owned());
        let account = AccountId::parse(&account)
            .map_err(|error| format!("STRONGBOX_BOOTSTRAP_ACCOUNT_ID: {error}"))?;
        let id = std::env::var("STRONGBOX_BOOTSTRAP_ACCESS_KEY_ID").ok();
        let secret = std::env::var("STRONGBOX_BOOTSTRAP_SECRET_ACCESS_KEY").ok();
        let fixed_key = match (id, secret) {
            (Some(id), Some(secret)) => {
                let id = AccessKeyId::parse(&id)
                    .map_err(|error| format!("STRONGBOX_BOOTSTRAP_ACCESS_KEY_ID: {error}"))?;
                if secret.len() < 16 {
                    return Err(
                        "STRONGBOX_BOOTSTRAP_SECRET_ACCESS_KEY must be at least 16 characters"
                            .to_owned(),
                    );
                }
                Some((id, SecretBytes::new(secret.into_bytes())))
            }
            (None, None) => None,
            _ => {
                return Err("set both STRONGBOX_BOOTSTRAP_ACCESS_KEY_ID and STRONGBOX_BOOTSTRAP_SECRET_ACCESS_KEY, or neither".to_owned());
            }
        };
        Ok(Self { account, fixed_key })
    }
}

/// On first start (no accounts yet), creates the default account and its first access key and
/// writes them to `<data-dir>/credentials`. Returns the new key so `serve` can print it once.
/// A first start killed between its steps leaves the credentials file empty (it is made first):
/// the next start finishes the job (the account, its `admin` user, an access key, the file).
pub async fn bootstrap(
    kms: &Kms,
    data_dir: &Path,
    region: &Region,
    settings: &Bootstrap,
) -> Result<Option<NewAccessKey>, String> {
    let path = credentials_path(data_dir);
    let fresh = kms
        .list_accounts()
        .await
        .map_err(|e| e.to_string())?
        .is_empty();
    if !fresh && !is_interrupted_credentials_file(&path) {
        return Ok(None);
    }
    // The file first: if it cannot be made, nothing is created that no one could use.
    let file = create_credentials_file(&path)?;
    let created = async {
        let account = kms
            .ensure_account("default", settings.account)
            .await
            .map_err(|error| error.to_string())?;
        let fixed = settings
            .fixed_key
            .as_ref()
            .map(|(id, secret)| (id.clone(), SecretBytes::new(secret.expose().to_vec())));
        match (
            kms.create_access_key(&account.id, "admin", fixed).await,
            &settings.fixed_key,
        ) {
            (Ok(key), _) => Ok(key),
            // The fixed key was stored by the interrupted start: it is the one to write.
            (Err(strongbox_core::Error::AlreadyExists(_)), Some((id, secret))) => {
                let stored = kms
                    .credentials(id)
                    .await
                    .map_err(|error| error.to_string())?
                    .ok_or_else(|| format!("access key {id} vanished"))?;
                Ok(NewAccessKey {
                    key: stored.key.clone(),
                    secret: SecretBytes::new(secret.expose().to_vec()),
                })
            }
            (Err(error), _) => Err(error.to_string()),
        }
    }
    .await;
    // On failure the empty file stays: it marks the start as interrupted, for the next one
    // to finish.
    let key = created?;
    write_credentials(&path, file, &key, region)?;
    Ok(Some(key))
}

/// The profile name `strongbox access-key create` prints: distinct from the bootstrap key's
/// [`PROFILE`], so that appending it to a credentials file adds a section instead of a duplicate.
pub fn profile_name(key: &AccessKey) -> String {
    format!("{PROFILE}-{}-{}", key.account, key.user)
}

/// The access key in the aws shared-credentials format, as profile `profile`.
pub fn credentials_text(profile: &str, key: &NewAccessKey, region: &Region) -> String {
    format!(
        "[{profile}]\naws_access_key_id = {}\naws_secret_access_key = {}\nregion = {region}\n",
        key.key.id,
        String::from_utf8_lossy(key.secret.expose())
    )
}

/// Creates the credentials file, new, with mode 0600. An existing file is reused only when it
/// is what an interrupted first start leaves: empty, a regular file of this user, mode 0600.
/// Any other (a link, one with content, one that others may read) is never reused: the start
/// is refused until it is moved away.
fn create_credentials_file(path: &Path) -> Result<fs::File, String> {
    let refused = || {
        format!(
            "{} already exists, but this data directory is being initialised: move that file away (it is not this directory's) and start again",
            path.display()
        )
    };
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(no_follow())
        .open(path)
    {
        Ok(file) => Ok(file),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let file = OpenOptions::new()
                .write(true)
                .custom_flags(no_follow())
                .open(path)
                .map_err(|_| refused())?;
            if is_leftover(&file) {
                Ok(file)
            } else {
                Err(refused())
            }
        }
        Err(e) => Err(format!("cannot create {}: {e}", path.display())),
    }
}

/// `O_NOFOLLOW`, as `OpenOptionsExt::custom_flags` takes it: the credentials file is never a
/// symbolic link.
fn no_follow() -> i32 {
    i32::try_from(rustix::fs::OFlags::NOFOLLOW.bits()).unwrap_or_default()
}

/// Whether `file` is what an interrupted first start leaves: an empty regular file of this
/// user that no one else may read.
fn is_leftover(file: &fs::File) -> bool {
    file.metadata().is_ok_and(|metadata| {
        metadata.is_file()
            && metadata.len() == 0
            && metadata.permissions().mode() & 0o077 == 0
            && metadata.uid() == rustix::process::geteuid().as_raw()
    })
}

/// Whether the credentials file at `path` is an interrupted first start's (see [`is_leftover`]).
fn is_interrupted_credentials_file(path: &Path) -> bool {
    OpenOptions::new()
        .read(true)
        .custom_flags(no_follow())
        .open(path)
        .is_ok_and(|file| is_leftover(&file))
}

/// Writes the first access key into the file [`create_credentials_file`] made, and flushes it
/// and its directory entry.
fn write_credentials(
    path: &Path,
    mut file: fs::File,
    key: &NewAccessKey,
    region: &Region,
) -> Result<(), String> {
    let error = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    file.write_all(credentials_text(PROFILE, key, region).as_bytes())
        .map_err(error)?;
    file.sync_all().map_err(error)?;
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs::File::open(parent)
        .and_then(|dir| dir.sync_all())
        .map_err(error)
}
