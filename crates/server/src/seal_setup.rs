//! Choosing, initialising and opening the seal that holds the root key.
//!
//! `<data-dir>/root.sealed` names a passphrase, Shamir or PKCS#11 seal (and holds the root keys
//! wrapped under it); without it, the file seal keeps the root key in `<data-dir>/root.key`.
//! Secrets (a passphrase, shares, a PIN) never come from the command line: from a file named by
//! an environment variable (`/dev/fd/N` reads a file descriptor), a prompt on the terminal, or
//! standard input when it is not a terminal.

use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use strongbox_core::kms::RootCheck;
use strongbox_core::{Seal, SealError};
use strongbox_crypto::{LockedKey, SecretBytes};
use strongbox_seal::shamir::{self, Progress, ShareCollector};
use strongbox_seal::{
    FileRoots, KeyWrapper, Pkcs11Wrapper, RootSeal, RootWrapper, SEAL_FILE, SealChoice, SealFile,
    WrappedRoots, passphrase,
};

/// The environment variable naming a file that holds the passphrase.
pub const PASSPHRASE_FILE_ENV: &str = "STRONGBOX_PASSPHRASE_FILE";

/// The seal file of a data directory.
pub fn seal_file_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SEAL_FILE)
}

/// Who is opening the seal, which decides where its secret may come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opener {
    /// `serve`: the passphrase file if one is named, else start sealed and wait for
    /// `strongbox operator unseal`. A Shamir seal always starts sealed.
    Server,
    /// An admin command: the passphrase file, a prompt, or standard input; shares likewise.
    Operator,
}

/// An open seal, and what unseals it later when it started sealed.
pub struct OpenedSeal {
    /// The seal.
    pub seal: Arc<RootSeal>,
    /// For a passphrase or Shamir seal: takes the secret that unseals it.
    pub unsealer: Option<Arc<Unsealer>>,
}

/// Opens the data directory's seal: the file seal (creating `root.key` when `create` and no
/// seal is chosen yet), or the one `root.sealed` names.
pub fn open(data_dir: &Path, create: bool, opener: Opener) -> Result<OpenedSeal, String> {
    let sealed_path = seal_file_path(data_dir);
    let root_key = crate::datadir::root_key_path(data_dir);
    if !sealed_path.exists() {
        if !create && !root_key.exists() {
            return Err(not_initialised(data_dir));
        }
        let roots = FileRoots::open_or_create(&root_key).map_err(|error| error.to_string())?;
        let seal = RootSeal::open(Arc::new(roots)).map_err(|error| error.to_string())?;
        return Ok(OpenedSeal {
            seal: Arc::new(seal),
            unsealer: None,
        });
    }
    if root_key.exists() {
        return Err(format!(
            "{} holds both root.key and {SEAL_FILE}: one seal per data directory (if `strongbox init --convert` was interrupted, both hold the same root key: remove root.key)",
            data_dir.display()
        ));
    }
    let file = SealFile::read(&sealed_path).map_err(|error| error.to_string())?;
    let roots = Arc::new(WrappedRoots::new(&sealed_path, file.choice.kind(), None));
    let seal = Arc::new(
        RootSeal::open(Arc::clone(&roots) as Arc<dyn strongbox_seal::RootStorage>)
            .map_err(|error| error.to_string())?,
    );
    let unsealer = Arc::new(Unsealer {
        roots,
        seal: Arc::clone(&seal),
        shares: Mutex::new(match &file.choice {
            SealChoice::Shamir { set, threshold, .. } => Some(ShareCollector::new(set, *threshold)),
            _ => None,
        }),
        choice: file.choice.clone(),
    });
    match (&file.choice, opener) {
        (SealChoice::Passphrase { .. }, _) => {
            if let Some(passphrase) = passphrase_from_env()? {
                unsealer.submit(passphrase.expose(), None)?;
            } else if opener == Opener::Operator {
                let passphrase = read_secret("Passphrase: ")?;
                unsealer.submit(passphrase.expose(), None)?;
            }
        }
        (SealChoice::Shamir { threshold, .. }, Opener::Operator) => {
            for n in 1..=*threshold {
                let share = read_secret(&format!("Share {n} of {threshold}: "))?;
                unsealer.submit(share.expose(), None)?;
            }
        }
        (SealChoice::Shamir { .. }, Opener::Server) => {}
        (
            SealChoice::Pkcs11 {
                module,
                token_label,
                key_label,
            },
            _,
        ) => {
            let wrapper =
                Pkcs11Wrapper::open(module, token_label, key_label, &pkcs11_pin()?, false)
                    .map_err(|error| error.to_string())?;
            unsealer.unseal_with(Arc::new(wrapper), None)?;
            return Ok(OpenedSeal {
                seal,
                unsealer: None,
            });
        }
    }
    Ok(OpenedSeal {
        seal,
        unsealer: Some(unsealer),
    })
}

/// What an admin command says of a directory with no seal.
pub fn not_initialised(data_dir: &Path) -> String {
    format!(
        "{} is not an initialised data directory (no root.key nor {SEAL_FILE}); run `strongbox init --data-dir {}` or start `strongbox serve --data-dir {}` once, or pass the right --data-dir",
        data_dir.display(),
        data_dir.display(),
        data_dir.display()
    )
}

/// The passphrase from the file `STRONGBOX_PASSPHRASE_FILE` names, if it names one (one
/// trailing newline removed).
pub fn passphrase_from_env() -> Result<Option<SecretBytes>, String> {
    secret_file(PASSPHRASE_FILE_ENV)
}

/// The environment variables that give the PKCS#11 token's user PIN: a file holding it, or
/// the PIN itself.
pub const PKCS11_PIN_FILE_ENV: &str = "STRONGBOX_PKCS11_PIN_FILE";
/// See [`PKCS11_PIN_FILE_ENV`].
pub const PKCS11_PIN_ENV: &str = "STRONGBOX_PKCS11_PIN";

/// The token's PIN, from `STRONGBOX_PKCS11_PIN_FILE` or `STRONGBOX_PKCS11_PIN`.
fn pkcs11_pin() -> Result<SecretBytes, String> {
    if let Some(pin) = secret_file(PKCS11_PIN_FILE_ENV)? {
        return Ok(pin);
    }
    match std::env::var(PKCS11_PIN_ENV) {
        Ok(pin) => Ok(SecretBytes::new(pin.into_bytes())),
        Err(_) => Err(format!(
            "the pkcs11 seal needs the token's user PIN: set {PKCS11_PIN_FILE_ENV} (a file holding it) or {PKCS11_PIN_ENV}"
        )),
    }
}

/// The environment variable naming a file that holds the new passphrase, for `rekey`.
pub const NEW_PASSPHRASE_FILE_ENV: &str = "STRONGBOX_NEW_PASSPHRASE_FILE";

/// The secret in the file environment variable `name` names, if it names one.
fn secret_file(name: &str) -> Result<Option<SecretBytes>, String> {
    let Some(path) = std::env::var_os(name) else {
        return Ok(None);
    };
    let bytes = std::fs::read(&path)
        .map_err(|error| format!("{name}={}: {error}", Path::new(&path).display()))?;
    Ok(Some(strip_newline(bytes)))
}

fn strip_newline(mut bytes: Vec<u8>) -> SecretBytes {
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    SecretBytes::new(bytes)
}

/// A secret from the terminal (not echoed) or, when standard input is not a terminal, one
/// line of it.
pub fn read_secret(prompt: &str) -> Result<SecretBytes, String> {
    if std::io::stdin().is_terminal() {
        let text = rpassword::prompt_password(prompt).map_err(|error| error.to_string())?;
        return Ok(SecretBytes::new(text.into_bytes()));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|error| format!("reading standard input: {error}"))?;
    if line.is_empty() {
        return Err(format!(
            "{} needed, but standard input ended",
            prompt.trim_end_matches([':', ' '])
        ));
    }
    Ok(strip_newline(line.into_bytes()))
}

/// Takes the secret that unseals a passphrase or Shamir seal, at start or later (from
/// `strongbox operator unseal`, over the admin socket).
pub struct Unsealer {
    roots: Arc<WrappedRoots>,
    seal: Arc<RootSeal>,
    choice: SealChoice,
    shares: Mutex<Option<ShareCollector>>,
}

/// Where unsealing stands.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnsealStatus {
    /// The seal's kind.
    pub seal: String,
    /// Whether it is still sealed.
    pub sealed: bool,
    /// Shamir: distinct shares held so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shares_held: Option<u8>,
    /// Shamir: shares needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u8>,
}

impl Unsealer {
    /// Where unsealing stands.
    pub fn status(&self) -> UnsealStatus {
        let sealed = self.seal.status().sealed;
        let (shares_held, threshold) = match &*self.shares.lock().unwrap_or_else(|p| p.into_inner())
        {
            Some(collector) if sealed => match collector.progress() {
                Progress::Need { have, need } => (Some(have), Some(need)),
                Progress::Complete => (None, None),
            },
            _ => (None, None),
        };
        UnsealStatus {
            seal: self.choice.kind().to_owned(),
            sealed,
            shares_held,
            threshold,
        }
    }

    /// Takes a passphrase or one share; unseals once it has enough, and once the root key
    /// opens `check` (the store's check value, when there is one). A wrong passphrase, a
    /// threshold of shares that does not open the root key, or a root key that is not the
    /// store's is an error and leaves the seal sealed (and forgets the shares, to start again).
    /// Blocking (Argon2id takes ≥ 250 ms).
    pub fn submit(&self, secret: &[u8], check: Option<&RootCheck>) -> Result<UnsealStatus, String> {
        if !self.seal.status().sealed {
            return Ok(self.status());
        }
        let wrapping = match &self.choice {
            SealChoice::Passphrase { argon2id, salt } => {
                let salt = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, salt)
                    .map_err(|_| format!("{SEAL_FILE}: the salt is not base64"))?;
                passphrase::derive(secret, &salt, *argon2id).map_err(|error| error.to_string())?
            }
            SealChoice::Shamir { .. } => {
                let mut guard = self.shares.lock().unwrap_or_else(|p| p.into_inner());
                let collector = guard.as_mut().ok_or("no share collector")?;
                let text = std::str::from_utf8(secret).map_err(|_| "a share is text")?;
                if collector.add(text)? != Progress::Complete {
                    drop(guard);
                    return Ok(self.status());
                }
                let key = collector.combine();
                collector.clear();
                key?
            }
            SealChoice::Pkcs11 { .. } => return Err("the pkcs11 seal takes no secret here".into()),
        };
        self.unseal_with(Arc::new(KeyWrapper(wrapping)), check)?;
        Ok(self.status())
    }

    /// Seals again: forgets the root keys, the wrapper and any shares (a start that failed
    /// after unsealing).
    pub fn seal_again(&self) {
        self.seal.forget();
        self.roots.clear_wrapper();
        if let Some(collector) = self
            .shares
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            collector.clear();
        }
    }

    /// The root keys, unwrapped with the secret given (for `rekey`).
    fn roots_held(&self) -> Result<Vec<LockedKey>, String> {
        use strongbox_seal::RootStorage as _;
        self.roots.load().map_err(|error| error.to_string())
    }

    fn unseal_with(
        &self,
        wrapper: Arc<dyn RootWrapper>,
        check: Option<&RootCheck>,
    ) -> Result<(), String> {
        self.roots.set_wrapper(wrapper);
        if let Some(check) = check {
            let refusal = match self.seal.check_candidate(check.aad(), check.sealed()) {
                Ok(value) if check.is_right(value.expose()) => None,
                // The secret did not open the root keys (a wrong passphrase or shares).
                Err(SealError::Backend(detail)) => Some(detail),
                _ => Some("the root key does not match this store: root.sealed belongs to another data directory, or the store was restored from another deployment".to_owned()),
            };
            if let Some(refusal) = refusal {
                self.roots.clear_wrapper();
                return Err(refusal);
            }
        }
        match self.seal.refresh() {
            Ok(_) => Ok(()),
            Err(error) => {
                self.roots.clear_wrapper();
                Err(match error {
                    SealError::Backend(detail) => detail,
                    other => other.to_string(),
                })
            }
        }
    }
}

/// `strongbox init`: what to make.
pub enum InitSeal {
    /// A root key file.
    File,
    /// A passphrase (read as secrets are).
    Passphrase,
    /// Shares of a wrapping key.
    Shamir {
        /// Shares made.
        shares: u8,
        /// Shares needed.
        threshold: u8,
    },
    /// An AES key on a PKCS#11 token (made there if the label names none).
    Pkcs11 {
        /// The PKCS#11 module.
        module: PathBuf,
        /// The token's label.
        token_label: String,
        /// The wrapping key's label.
        key_label: String,
    },
}

/// What `init` or `rekey` made: the shares to show once, and the seal file, written only by
/// [`Initialised::commit`], once the shares are safely out (so that a failure to print or
/// write them never leaves a seal file that no share opens).
pub struct Initialised {
    /// Shamir: the shares, to hand to their holders.
    pub shares: Vec<String>,
    /// The seal file to write, where, and whether it must be new.
    pending: Option<(PathBuf, SealFile, bool)>,
    /// A file to remove once the seal file is written (a converted `root.key`).
    retired: Option<PathBuf>,
}

impl Initialised {
    fn written() -> Self {
        Self {
            shares: vec![],
            pending: None,
            retired: None,
        }
    }

    /// Writes the seal file (durably; the old one, for `rekey`, replaced in one step), then
    /// removes the file it replaces (`--convert`: root.key), durably too.
    pub fn commit(self) -> Result<(), String> {
        if let Some((path, file, create_new)) = self.pending {
            file.write(&path, create_new)
                .map_err(|error| error.to_string())?;
        }
        if let Some(retired) = self.retired {
            std::fs::remove_file(&retired)
                .and_then(|()| {
                    std::fs::File::open(retired.parent().unwrap_or(Path::new(".")))?.sync_all()
                })
                .map_err(|error| format!("{}: {error}", retired.display()))?;
        }
        Ok(())
    }
}

/// Initialises `data_dir`'s seal: refuses a directory that has one.
pub fn init(data_dir: &Path, choice: InitSeal) -> Result<Initialised, String> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .map_err(|error| format!("cannot create {}: {error}", data_dir.display()))?;
    let sealed_path = seal_file_path(data_dir);
    let root_key = crate::datadir::root_key_path(data_dir);
    if sealed_path.exists() || root_key.exists() {
        return Err(format!(
            "{} already has a seal ({}); `strongbox operator rekey` changes its secret{}",
            data_dir.display(),
            if root_key.exists() {
                "root.key"
            } else {
                SEAL_FILE
            },
            if root_key.exists() {
                ", and `strongbox init --convert --seal ...` moves a file seal's root key under another seal"
            } else {
                ""
            }
        ));
    }
    let root = LockedKey::generate().map_err(|error| error.to_string())?;
    wrap_root(data_dir, choice, root, None)
}

/// `strongbox init --convert`: puts a file seal's root key under another seal (the server
/// stopped; the caller holds the data directory's locks). `root.key` is removed once
/// `root.sealed` is written. The root key itself does not change: rotate it afterwards
/// (`operator rotate-root`), so that copies of the old `root.key` open nothing new.
pub fn convert(data_dir: &Path, choice: InitSeal) -> Result<Initialised, String> {
    let root_key = crate::datadir::root_key_path(data_dir);
    if seal_file_path(data_dir).exists() || !root_key.exists() {
        return Err(format!(
            "{} has no file seal to convert (no root.key, or already a {SEAL_FILE})",
            data_dir.display()
        ));
    }
    if matches!(choice, InitSeal::File) {
        return Err("--convert moves a file seal's root key under another seal: choose --seal passphrase, shamir or pkcs11".into());
    }
    if data_dir.join("root.key.next").exists() {
        return Err(
            "a root rotation is under way: run `strongbox operator rotate-root` to finish it first"
                .into(),
        );
    }
    if !data_dir.join("root.format-3").exists() {
        return Err(format!(
            "{} was made by an older version of Strongbox: start `strongbox serve` on it once to upgrade it first",
            data_dir.display()
        ));
    }
    let roots = FileRoots::open_or_create(&root_key).map_err(|error| error.to_string())?;
    let mut keys = strongbox_seal::RootStorage::load(&roots).map_err(|error| error.to_string())?;
    let root = keys.pop().ok_or("root.key holds no key")?;
    wrap_root(data_dir, choice, root, Some(root_key))
}

/// The seal file for `choice` wrapping `root`, to commit once the shares are out; `retired`
/// is a file to remove after (a converted `root.key`).
fn wrap_root(
    data_dir: &Path,
    choice: InitSeal,
    root: LockedKey,
    retired: Option<PathBuf>,
) -> Result<Initialised, String> {
    let sealed_path = seal_file_path(data_dir);
    let root_key = crate::datadir::root_key_path(data_dir);
    let (choice, wrapping, shares) = match choice {
        InitSeal::File => {
            FileRoots::open_or_create(&root_key).map_err(|error| error.to_string())?;
            return Ok(Initialised::written());
        }
        InitSeal::Passphrase => new_passphrase_wrapping(PASSPHRASE_FILE_ENV)?,
        InitSeal::Shamir { shares, threshold } => new_shamir_wrapping(shares, threshold)?,
        InitSeal::Pkcs11 {
            module,
            token_label,
            key_label,
        } => {
            let wrapper =
                Pkcs11Wrapper::open(&module, &token_label, &key_label, &pkcs11_pin()?, true)
                    .map_err(|error| error.to_string())?;
            let mut file = SealFile {
                choice: SealChoice::Pkcs11 {
                    module,
                    token_label,
                    key_label,
                },
                roots: vec![],
            };
            file.push_root(&wrapper, &root)
                .map_err(|error| error.to_string())?;
            return Ok(Initialised {
                shares: vec![],
                pending: Some((sealed_path, file, true)),
                retired,
            });
        }
    };
    let mut file = SealFile {
        choice,
        roots: vec![],
    };
    file.push_root(&KeyWrapper(wrapping), &root)
        .map_err(|error| error.to_string())?;
    Ok(Initialised {
        shares,
        pending: Some((sealed_path, file, true)),
        retired,
    })
}

/// A new wrapping key: what it is, the key, and the shares to print.
type NewWrapping = (SealChoice, LockedKey, Vec<String>);

/// A passphrase seal's wrapping: a new passphrase (from the file `env` names, or asked),
/// Argon2id tuned here, a new salt.
fn new_passphrase_wrapping(env: &str) -> Result<NewWrapping, String> {
    let passphrase = new_passphrase(env)?;
    let salt = strongbox_crypto::random_bytes(16).map_err(|error| error.to_string())?;
    let params = passphrase::tune().map_err(|error| error.to_string())?;
    let key = passphrase::derive(passphrase.expose(), salt.expose(), params)
        .map_err(|error| error.to_string())?;
    let choice = SealChoice::Passphrase {
        argon2id: params,
        salt: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, salt.expose()),
    };
    Ok((choice, key, vec![]))
}

/// A Shamir seal's wrapping: a new random key split into a new set of shares.
fn new_shamir_wrapping(shares: u8, threshold: u8) -> Result<NewWrapping, String> {
    shamir::check_split(shares, threshold)?;
    let set = shamir::new_set().map_err(|error| error.to_string())?;
    let key = LockedKey::generate().map_err(|error| error.to_string())?;
    let printed = shamir::split(&key, shares, threshold, &set)?;
    let choice = SealChoice::Shamir {
        shares,
        threshold,
        set,
    };
    Ok((choice, key, printed))
}

/// `operator rekey`: asks for the current secret, proves it opens every root key, and wraps
/// them again under a new one (a new passphrase, or a new set of shares). The root keys, and
/// so everything sealed under them, do not change. The caller holds the data directory's lock.
pub fn rekey(
    data_dir: &Path,
    shares: Option<u8>,
    threshold: Option<u8>,
) -> Result<Initialised, String> {
    let path = seal_file_path(data_dir);
    if !path.exists() {
        return Err(format!(
            "{} uses the file seal: there is no secret to change (`strongbox operator rotate-root` replaces the root key)",
            data_dir.display()
        ));
    }
    let file = SealFile::read(&path).map_err(|error| error.to_string())?;
    let opened = open(data_dir, false, Opener::Operator)?;
    let current = opened.unsealer.ok_or("this seal has no secret to change")?;
    let roots = current.roots_held()?;
    let (choice, wrapping, printed) = match &file.choice {
        SealChoice::Passphrase { .. } => new_passphrase_wrapping(NEW_PASSPHRASE_FILE_ENV)?,
        SealChoice::Shamir {
            shares: before,
            threshold: needed,
            ..
        } => new_shamir_wrapping(shares.unwrap_or(*before), threshold.unwrap_or(*needed))?,
        SealChoice::Pkcs11 { .. } => {
            return Err("the pkcs11 seal's key lives in the HSM: rotate it there".into());
        }
    };
    let mut rekeyed = SealFile {
        choice,
        roots: vec![],
    };
    let wrapper = KeyWrapper(wrapping);
    for root in &roots {
        rekeyed
            .push_root(&wrapper, root)
            .map_err(|error| error.to_string())?;
    }
    Ok(Initialised {
        shares: printed,
        pending: Some((path, rekeyed, false)),
        retired: None,
    })
}

/// A new passphrase: from the file `env` names, or asked twice on the terminal (once from
/// standard input otherwise); at least [`passphrase::MIN_PASSPHRASE_LEN`] bytes.
fn new_passphrase(env: &str) -> Result<SecretBytes, String> {
    let passphrase = match secret_file(env)? {
        Some(passphrase) => passphrase,
        None => {
            let first = read_secret("New passphrase: ")?;
            if std::io::stdin().is_terminal() {
                let again = read_secret("Again: ")?;
                if !strongbox_crypto::constant_time_eq(first.expose(), again.expose()) {
                    return Err("the passphrases differ".into());
                }
            }
            first
        }
    };
    if passphrase.len() < passphrase::MIN_PASSPHRASE_LEN {
        return Err(format!(
            "a passphrase must have at least {} characters",
            passphrase::MIN_PASSPHRASE_LEN
        ));
    }
    Ok(passphrase)
}
