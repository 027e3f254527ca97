//! The file seal: a 256-bit root key in a file that only the service user can read.
//!
//! Sealed values are `version (1) || nonce (12) || AES-256-GCM ciphertext || tag (16)`. The
//! AAD is the version byte followed by the caller's binding, so a value sealed for one key
//! version or access key does not open for another, and a value cannot be passed off as
//! another format's. Version 1 (the first format) left the version byte out of the AAD; its
//! values open only through `unseal_legacy`, for their migration.

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use strongbox_core::{Seal, SealError, SealedKey};
use strongbox_crypto::{KeyMaterial, SYMMETRIC_KEY_LEN, SecretBytes, wrap};

/// The first format: the version byte outside the AAD. Opened only to be sealed again.
const FORMAT_V1: u8 = 1;
/// The current format: the version byte is the AAD's first byte.
const FORMAT_V2: u8 = 2;

/// The AAD of a version-2 value: the version, then the caller's binding.
fn v2_aad(aad: &[u8]) -> Vec<u8> {
    let mut bound = Vec::with_capacity(1 + aad.len());
    bound.push(FORMAT_V2);
    bound.extend_from_slice(aad);
    bound
}

/// Holds the root key read from a file, in memory the kernel may not swap out.
pub struct FileSeal {
    /// Keeps the key's page out of swap (`mlock`) while it lives; `None` where the memory-lock
    /// limit (`RLIMIT_MEMLOCK`) forbade it. Declared first: unlocked before the key is
    /// zeroized and freed.
    lock: Option<region::LockGuard>,
    /// Boxed, so that the locked address is the key's for the seal's whole life.
    root_key: Box<KeyMaterial>,
    /// Whether values of the first format may still be opened (for their migration): until
    /// the marker file beside the root key says they are all sealed again. Kept beside the
    /// root key, not in the store, so that someone who can write the store cannot make the
    /// migration run again over rows they edited.
    opens_legacy: AtomicBool,
    legacy_marker: PathBuf,
}

/// The file beside the root key that says no value of the first format is left.
fn legacy_marker(root_key: &Path) -> PathBuf {
    root_key.with_extension("format-2")
}

/// Creates `path` (empty, 0600) and flushes it and its directory.
fn write_marker(path: &Path) -> io::Result<()> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(no_follow_flag())
        .open(path)
    {
        Ok(file) => file.sync_all()?,
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
        Err(error) => return Err(error),
    }
    sync_parent(path)
}

/// 16 random hex digits, for a temporary file's name.
fn hex_id() -> Result<String, strongbox_crypto::CryptoError> {
    let id = strongbox_crypto::random_id()?;
    Ok(id[..8].iter().map(|b| format!("{b:02x}")).collect())
}

/// Why the root key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FileSealError {
    /// Reading or writing the file failed.
    #[error("root key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The file does not hold exactly 32 bytes.
    #[error("root key file {path} must hold exactly {SYMMETRIC_KEY_LEN} bytes, but holds {len}")]
    WrongLength {
        /// The file.
        path: PathBuf,
        /// What it holds.
        len: usize,
    },
    /// Other users may read the file.
    #[error(
        "root key file {path} is readable by other users (mode {mode:o}); run: chmod 600 {path}"
    )]
    TooOpen {
        /// The file.
        path: PathBuf,
        /// Its mode.
        mode: u32,
    },
    /// The path is a symbolic link, which the root key file may not be.
    #[error(
        "root key file {path} is a symbolic link; point --data-dir at the real directory instead"
    )]
    Symlink {
        /// The file.
        path: PathBuf,
    },
    /// The path is not a regular file.
    #[error("root key file {path} is not a regular file")]
    NotAFile {
        /// The file.
        path: PathBuf,
    },
    /// Another user owns the file.
    #[error(
        "root key file {path} belongs to user {owner}, not to this process's user {me}; run Strongbox as the user that owns its data directory"
    )]
    WrongOwner {
        /// The file.
        path: PathBuf,
        /// Its owner's uid.
        owner: u32,
        /// This process's effective uid.
        me: u32,
    },
    /// The random generator failed.
    #[error("could not generate a root key: {0}")]
    Random(strongbox_crypto::CryptoError),
}

impl FileSeal {
    /// Reads the root key from `path`, creating a fresh random one (mode 0600) when the file
    /// does not exist. The file is opened without following a symbolic link, and the opened
    /// file itself (not the path, which could change in between) must be a regular file of
    /// this process's user that group and others cannot read. A new key is written, flushed and
    /// its directory entry flushed too before anything is sealed under it, so that a power
    /// loss cannot lose the key after values were sealed under it.
    pub fn open_or_create(path: &Path) -> Result<Self, FileSealError> {
        let io_error = |source| FileSealError::Io {
            path: path.to_owned(),
            source,
        };
        match open_no_follow(path) {
            Ok(file) => Self::read_key(path, file),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let root_key = KeyMaterial::generate_symmetric().map_err(FileSealError::Random)?;
                // Written whole under a temporary name, then linked into place: a crash leaves
                // either no root key or a complete one, never an empty file.
                let temporary = path
                    .with_extension(format!("new-{}", hex_id().map_err(FileSealError::Random)?));
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .custom_flags(no_follow_flag())
                    .open(&temporary)
                    .map_err(io_error)?;
                let written = file
                    .write_all(root_key.expose())
                    .and_then(|()| file.sync_all())
                    .and_then(|()| fs::hard_link(&temporary, path));
                let _ = fs::remove_file(&temporary);
                match written {
                    Ok(()) => {}
                    // Created by another process meanwhile: use that one.
                    Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
                        return Self::read_key(path, open_no_follow(path).map_err(io_error)?);
                    }
                    Err(error) => return Err(io_error(error)),
                }
                // A new root key has sealed nothing in the first format: it never opens one.
                write_marker(&legacy_marker(path)).map_err(io_error)?;
                sync_parent(path).map_err(io_error)?;
                Ok(Self::holding(root_key, path))
            }
            Err(error) if error.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
                Err(FileSealError::Symlink {
                    path: path.to_owned(),
                })
            }
            Err(error) => Err(io_error(error)),
        }
    }

    /// Checks the opened file and reads the key from it.
    fn read_key(path: &Path, mut file: fs::File) -> Result<Self, FileSealError> {
        let io_error = |source| FileSealError::Io {
            path: path.to_owned(),
            source,
        };
        let metadata = file.metadata().map_err(io_error)?;
        if !metadata.is_file() {
            return Err(FileSealError::NotAFile {
                path: path.to_owned(),
            });
        }
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(FileSealError::TooOpen {
                path: path.to_owned(),
                mode,
            });
        }
        let me = rustix::process::geteuid().as_raw();
        if metadata.uid() != me {
            return Err(FileSealError::WrongOwner {
                path: path.to_owned(),
                owner: metadata.uid(),
                me,
            });
        }
        let mut bytes = Vec::with_capacity(SYMMETRIC_KEY_LEN + 1);
        // One byte more than a key: enough to tell a longer file from a key.
        (&mut file)
            .take(SYMMETRIC_KEY_LEN as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
        let bytes = SecretBytes::new(bytes);
        if bytes.len() != SYMMETRIC_KEY_LEN || metadata.len() != SYMMETRIC_KEY_LEN as u64 {
            return Err(FileSealError::WrongLength {
                path: path.to_owned(),
                len: usize::try_from(metadata.len()).unwrap_or(usize::MAX),
            });
        }
        Ok(Self::holding(
            KeyMaterial::from_bytes(bytes.expose().to_vec()),
            path,
        ))
    }

    /// The seal for `root_key`, on the heap where it stays, its memory locked where the
    /// limits allow. (The key is built on the stack first and moved here; the stack slot it
    /// leaves is reused by the next calls.)
    fn holding(root_key: KeyMaterial, path: &Path) -> Self {
        let root_key = Box::new(root_key);
        let bytes = root_key.expose();
        let lock = region::lock(bytes.as_ptr(), bytes.len()).ok();
        let legacy_retired = legacy_marker(path);
        Self {
            lock,
            root_key,
            opens_legacy: AtomicBool::new(!legacy_retired.exists()),
            legacy_marker: legacy_retired,
        }
    }

    /// Whether the root key's memory is locked (kept out of swap). When it is not, the caller
    /// says so: `RLIMIT_MEMLOCK` (or the container's) forbade it.
    pub fn memory_locked(&self) -> bool {
        self.lock.is_some()
    }
}

/// `O_NOFOLLOW | O_NONBLOCK`, as `OpenOptionsExt::custom_flags` takes them: no symbolic
/// link is followed, and a FIFO put in the key's place cannot hang the start (a regular file
/// ignores `O_NONBLOCK`).
fn no_follow_flag() -> i32 {
    let flags = rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK;
    i32::try_from(flags.bits()).unwrap_or_default()
}

/// Opens `path` for reading, refusing (`ELOOP`) to follow a symbolic link in its last part.
fn open_no_follow(path: &Path) -> io::Result<fs::File> {
    OpenOptions::new()
        .read(true)
        .custom_flags(no_follow_flag())
        .open(path)
}

/// Flushes the directory holding `path`, so that a file just created there survives a power
/// loss along with its contents.
fn sync_parent(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs::File::open(parent)?.sync_all()
}

impl Seal for FileSeal {
    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<SealedKey, SealError> {
        let sealed = wrap::seal(&self.root_key, &v2_aad(aad), plaintext)
            .map_err(|error| SealError::Backend(error.to_string()))?;
        let mut out = Vec::with_capacity(1 + sealed.len());
        out.push(FORMAT_V2);
        out.extend_from_slice(&sealed);
        Ok(SealedKey::from_bytes(out))
    }

    fn unseal(&self, aad: &[u8], sealed: &SealedKey) -> Result<SecretBytes, SealError> {
        match sealed.as_bytes().split_first() {
            Some((&FORMAT_V2, rest)) => {
                wrap::open(&self.root_key, &v2_aad(aad), rest).map_err(|_| SealError::Unseal)
            }
            _ => Err(SealError::Unseal),
        }
    }

    fn unseal_legacy(&self, aad: &[u8], sealed: &SealedKey) -> Result<SecretBytes, SealError> {
        if !self.opens_legacy() {
            return Err(SealError::Unseal);
        }
        match sealed.as_bytes().split_first() {
            Some((&FORMAT_V1, rest)) => {
                wrap::open(&self.root_key, aad, rest).map_err(|_| SealError::Unseal)
            }
            _ => Err(SealError::Unseal),
        }
    }

    fn is_current(&self, sealed: &SealedKey) -> bool {
        sealed.as_bytes().first() == Some(&FORMAT_V2)
    }

    fn opens_legacy(&self) -> bool {
        self.opens_legacy.load(Ordering::Acquire)
    }

    fn retire_legacy(&self) -> Result<(), SealError> {
        write_marker(&self.legacy_marker).map_err(|error| {
            SealError::Backend(format!("{}: {error}", self.legacy_marker.display()))
        })?;
        self.opens_legacy.store(false, Ordering::Release);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_a_private_key_file_and_reopens_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        let seal = FileSeal::open_or_create(&path).unwrap();
        let memlock = rustix::process::getrlimit(rustix::process::Resource::Memlock);
        if memlock.current.is_none_or(|bytes| bytes >= 1 << 20) {
            assert!(seal.memory_locked(), "the root key's page is locked");
        }
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::read(&path).unwrap().len(), 32);
        let sealed = seal.seal(b"aad", b"secret material").unwrap();
        let reopened = FileSeal::open_or_create(&path).unwrap();
        assert_eq!(
            reopened.unseal(b"aad", &sealed).unwrap().expose(),
            b"secret material"
        );
    }

    #[test]
    fn refuses_wrong_aad_other_root_keys_and_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let seal = FileSeal::open_or_create(&dir.path().join("a.key")).unwrap();
        let other = FileSeal::open_or_create(&dir.path().join("b.key")).unwrap();
        let sealed = seal.seal(b"key-1/version-1", b"material").unwrap();
        assert!(matches!(
            seal.unseal(b"key-2/version-1", &sealed),
            Err(SealError::Unseal)
        ));
        assert!(matches!(
            other.unseal(b"key-1/version-1", &sealed),
            Err(SealError::Unseal)
        ));
        for i in 0..sealed.as_bytes().len() {
            let mut bytes = sealed.as_bytes().to_vec();
            bytes[i] ^= 0x01;
            let tampered = SealedKey::from_bytes(bytes);
            assert!(
                seal.unseal(b"key-1/version-1", &tampered).is_err(),
                "byte {i}"
            );
        }
        assert!(!sealed.as_bytes().windows(8).any(|w| w == b"material"));
    }

    #[test]
    fn the_first_format_opens_only_for_its_migration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        let new = FileSeal::open_or_create(&path).unwrap();
        assert!(
            !new.opens_legacy(),
            "a new root key sealed nothing in the first format"
        );
        drop(new);
        // A root key from before the second format: no marker beside it.
        fs::remove_file(legacy_marker(&path)).unwrap();
        let seal = FileSeal::open_or_create(&path).unwrap();
        assert!(seal.opens_legacy());
        // A value of the first format: version 1, the caller's AAD alone.
        let mut v1 = vec![FORMAT_V1];
        v1.extend(wrap::seal(&seal.root_key, b"aad", b"old").unwrap());
        let v1 = SealedKey::from_bytes(v1);
        assert!(!seal.is_current(&v1));
        assert!(matches!(seal.unseal(b"aad", &v1), Err(SealError::Unseal)));
        assert_eq!(seal.unseal_legacy(b"aad", &v1).unwrap().expose(), b"old");
        let v2 = seal.seal(b"aad", b"new").unwrap();
        assert!(seal.is_current(&v2));
        assert!(seal.unseal_legacy(b"aad", &v2).is_err());
        // The version byte is bound: relabelled as version 1, a version-2 value opens nowhere.
        let mut relabelled = v2.as_bytes().to_vec();
        relabelled[0] = FORMAT_V1;
        let relabelled = SealedKey::from_bytes(relabelled);
        assert!(seal.unseal_legacy(b"aad", &relabelled).is_err());
        assert!(seal.unseal(b"aad", &relabelled).is_err());
        // Once retired (the migration is done), the first format opens no more, for good.
        seal.retire_legacy().unwrap();
        assert!(seal.unseal_legacy(b"aad", &v1).is_err());
        let reopened = FileSeal::open_or_create(&path).unwrap();
        assert!(!reopened.opens_legacy());
        assert!(reopened.unseal_legacy(b"aad", &v1).is_err());
    }

    #[test]
    fn refuses_open_permissions_and_wrong_lengths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        fs::write(&path, [7u8; 32]).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            FileSeal::open_or_create(&path),
            Err(FileSealError::TooOpen { .. })
        ));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(FileSeal::open_or_create(&path).is_ok());
        fs::write(&path, [7u8; 31]).unwrap();
        assert!(matches!(
            FileSeal::open_or_create(&path),
            Err(FileSealError::WrongLength { .. })
        ));
        fs::write(&path, [7u8; 33]).unwrap();
        assert!(matches!(
            FileSeal::open_or_create(&path),
            Err(FileSealError::WrongLength { len: 33, .. })
        ));
    }

    #[test]
    fn refuses_links_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.key");
        FileSeal::open_or_create(&real).unwrap();
        let link = dir.path().join("root.key");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(matches!(
            FileSeal::open_or_create(&link),
            Err(FileSealError::Symlink { .. })
        ));
        // A dangling link is not followed to create a key somewhere else either.
        let dangling = dir.path().join("dangling.key");
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), &dangling).unwrap();
        assert!(FileSeal::open_or_create(&dangling).is_err());
        assert!(!dir.path().join("elsewhere").exists());
        let directory = dir.path().join("dir.key");
        fs::create_dir(&directory).unwrap();
        fs::set_permissions(&directory, fs::Permissions::from_mode(0o700)).unwrap();
        assert!(FileSeal::open_or_create(&directory).is_err());
    }
}
