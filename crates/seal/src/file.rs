//! The file seal: 256-bit root keys in files that only the service user can read:
//! `<data-dir>/root.key`, and, while a root rotation is under way, `root.key.next` (the new
//! key, which seals). The rotation ends by renaming `root.key.next` over `root.key`: one
//! atomic step, after which the old key is gone. Readers read `root.key.next` before
//! `root.key`, so that whatever step another process's rotation is at, they hold the key that
//! seals. Marker files say which earlier seal formats no value is left in: `root.format-2`
//! (none of the first), `root.format-3` (none of the first two: everything is sealed under
//! account keys or in the current format).

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use strongbox_core::SealError;
use strongbox_crypto::{KeyMaterial, LockedKey, SYMMETRIC_KEY_LEN, SecretBytes};

use crate::keyring::{FORMAT_V1, FORMAT_V2, FORMAT_V3};
use crate::root::{Fingerprint, RootStorage};

/// The root key files of a data directory.
pub struct FileRoots {
    path: PathBuf,
}

/// The file beside the root key that says no value of a format before `format` is left.
fn format_marker(root_key: &Path, format: u8) -> PathBuf {
    root_key.with_extension(format!("format-{format}"))
}

/// The new root key's file during a rotation.
fn next_key(root_key: &Path) -> PathBuf {
    root_key.with_extension("key.next")
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
pub(crate) fn hex_id() -> Result<String, strongbox_crypto::CryptoError> {
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

impl FileRoots {
    /// The root key file at `path`, created with a fresh random key (mode 0600) when it does
    /// not exist. The file is opened without following a symbolic link, and the opened file
    /// itself (not the path, which could change in between) must be a regular file of this
    /// process's user that group and others cannot read. A new key is written, flushed and its
    /// directory entry flushed too before anything is sealed under it, so that a power loss
    /// cannot lose the key after values were sealed under it.
    pub fn open_or_create(path: &Path) -> Result<Self, FileSealError> {
        let roots = Self {
            path: path.to_owned(),
        };
        match open_no_follow(path) {
            Ok(file) => {
                read_key(path, file)?;
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let root_key = LockedKey::generate().map_err(FileSealError::Random)?;
                // A new root key has sealed nothing in an earlier format: it never opens one.
                // The marker first, so that no crash leaves a new key that would.
                write_marker(&format_marker(path, FORMAT_V3)).map_err(|source| {
                    FileSealError::Io {
                        path: path.to_owned(),
                        source,
                    }
                })?;
                if !write_new_key(path, &root_key)? {
                    // Created by another process meanwhile: use that one.
                    read_key(path, open_checked(path)?)?;
                }
            }
            Err(error) => return Err(classify(path, error)),
        }
        Ok(roots)
    }
}

/// Writes `key` to `path` whole under a temporary name, then links it into place, flushing the
/// file and the directory: a crash leaves either no key or a complete one, never an empty file.
/// `Ok(false)` when `path` already exists (it is left as it is).
fn write_new_key(path: &Path, key: &LockedKey) -> Result<bool, FileSealError> {
    let io_error = |source| FileSealError::Io {
        path: path.to_owned(),
        source,
    };
    let temporary =
        path.with_extension(format!("new-{}", hex_id().map_err(FileSealError::Random)?));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(no_follow_flag())
        .open(&temporary)
        .map_err(io_error)?;
    let written = file
        .write_all(key.expose())
        .and_then(|()| file.sync_all())
        .and_then(|()| fs::hard_link(&temporary, path));
    let _ = fs::remove_file(&temporary);
    match written {
        Ok(()) => {
            sync_parent(path).map_err(io_error)?;
            Ok(true)
        }
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(error) => Err(io_error(error)),
    }
}

/// The error for an open that failed.
fn classify(path: &Path, error: io::Error) -> FileSealError {
    if error.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
        FileSealError::Symlink {
            path: path.to_owned(),
        }
    } else {
        FileSealError::Io {
            path: path.to_owned(),
            source: error,
        }
    }
}

fn open_checked(path: &Path) -> Result<fs::File, FileSealError> {
    open_no_follow(path).map_err(|error| classify(path, error))
}

/// Checks the opened file and reads the key from it.
fn read_key(path: &Path, mut file: fs::File) -> Result<LockedKey, FileSealError> {
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
    Ok(LockedKey::new(KeyMaterial::from_bytes(
        bytes.expose().to_vec(),
    )))
}

/// The key at `path`, or `None` when there is no such file.
fn read_optional(path: &Path) -> Result<Option<LockedKey>, FileSealError> {
    match open_no_follow(path) {
        Ok(file) => read_key(path, file).map(Some),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(classify(path, error)),
    }
}

fn backend(error: impl std::fmt::Display) -> SealError {
    SealError::Backend(error.to_string())
}

/// Inode, size and modification time of `path`, or zeros when it does not exist.
pub(crate) fn stat_fingerprint(path: &Path) -> [u64; 4] {
    match fs::symlink_metadata(path) {
        Ok(metadata) => [
            metadata.ino(),
            metadata.len(),
            u64::try_from(metadata.mtime()).unwrap_or_default(),
            u64::try_from(metadata.mtime_nsec()).unwrap_or_default(),
        ],
        Err(_) => [0; 4],
    }
}

impl RootStorage for FileRoots {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn load(&self) -> Result<Vec<LockedKey>, SealError> {
        // The next key first: if another process's rotation renames it over root.key between
        // the two reads, the second read still finds it there.
        let next = read_optional(&next_key(&self.path)).map_err(backend)?;
        let current =
            read_key(&self.path, open_checked(&self.path).map_err(backend)?).map_err(backend)?;
        let mut keys = vec![current];
        keys.extend(next);
        Ok(keys)
    }

    fn add(&self, key: &LockedKey) -> Result<(), SealError> {
        if write_new_key(&next_key(&self.path), key).map_err(backend)? {
            Ok(())
        } else {
            Err(SealError::Backend(format!(
                "{} exists: a root rotation is already under way",
                next_key(&self.path).display()
            )))
        }
    }

    fn keep_only_current(&self) -> Result<(), SealError> {
        let next = next_key(&self.path);
        if !next.exists() {
            return Ok(());
        }
        fs::rename(&next, &self.path)
            .and_then(|()| sync_parent(&self.path))
            .map_err(|error| SealError::Backend(format!("{}: {error}", next.display())))
    }

    fn fingerprint(&self) -> Fingerprint {
        let mut fingerprint = stat_fingerprint(&self.path).to_vec();
        fingerprint.extend(stat_fingerprint(&next_key(&self.path)));
        fingerprint
    }

    fn earliest_format(&self) -> u8 {
        [FORMAT_V3, FORMAT_V2]
            .into_iter()
            .find(|format| format_marker(&self.path, *format).exists())
            .unwrap_or(FORMAT_V1)
    }

    fn retire_earlier_formats(&self) -> Result<(), SealError> {
        let marker = format_marker(&self.path, FORMAT_V3);
        write_marker(&marker)
            .map_err(|error| SealError::Backend(format!("{}: {error}", marker.display())))
    }
}

/// `O_NOFOLLOW | O_NONBLOCK`, as `OpenOptionsExt::custom_flags` takes them: no symbolic
/// link is followed, and a FIFO put in the key's place cannot hang the start (a regular file
/// ignores `O_NONBLOCK`).
pub(crate) fn no_follow_flag() -> i32 {
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
pub(crate) fn sync_parent(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    fs::File::open(parent)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyring::FORMAT_V1;
    use crate::root::RootSeal;
    use std::sync::Arc;
    use strongbox_core::{Seal, SealedKey};

    fn seal_at(path: &Path) -> RootSeal {
        RootSeal::open(Arc::new(FileRoots::open_or_create(path).unwrap())).unwrap()
    }

    #[test]
    fn creates_a_private_key_file_and_reopens_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        let seal = seal_at(&path);
        let memlock = rustix::process::getrlimit(rustix::process::Resource::Memlock);
        if memlock.current.is_none_or(|bytes| bytes >= 1 << 20) {
            assert!(seal.status().memory_locked, "the root key's page is locked");
        }
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(fs::read(&path).unwrap().len(), 32);
        let sealed = seal.seal(b"aad", b"secret material").unwrap();
        assert!(seal.is_current(&sealed));
        let reopened = seal_at(&path);
        assert_eq!(
            reopened.unseal(b"aad", &sealed).unwrap().expose(),
            b"secret material"
        );
        assert!(!sealed.as_bytes().windows(8).any(|w| w == b"material"));
    }

    #[test]
    fn refuses_wrong_aad_and_other_root_keys() {
        let dir = tempfile::tempdir().unwrap();
        let seal = seal_at(&dir.path().join("a.key"));
        let other = seal_at(&dir.path().join("b.key"));
        let sealed = seal.seal(b"key-1/version-1", b"material").unwrap();
        assert!(matches!(
            seal.unseal(b"key-2/version-1", &sealed),
            Err(SealError::Unseal)
        ));
        assert!(matches!(
            other.unseal(b"key-1/version-1", &sealed),
            Err(SealError::Unseal)
        ));
        assert!(!other.is_current(&sealed));
    }

    #[test]
    fn the_first_format_opens_only_for_its_migration() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        let new = seal_at(&path);
        assert!(
            !new.opens_legacy(),
            "a new root key sealed nothing in the first format"
        );
        drop(new);
        // A root key from before the second format: no marker beside it.
        fs::remove_file(format_marker(&path, FORMAT_V3)).unwrap();
        let seal = seal_at(&path);
        assert!(seal.opens_legacy());
        let key = KeyMaterial::from_bytes(fs::read(&path).unwrap());
        let mut v1 = vec![FORMAT_V1];
        v1.extend(strongbox_crypto::wrap::seal(&key, b"old-aad", b"old").unwrap());
        let v1 = SealedKey::from_bytes(v1);
        assert!(!seal.is_current(&v1));
        assert!(seal.unseal(b"aad", &v1).is_err());
        assert_eq!(
            seal.unseal_earlier(b"old-aad", b"aad", &v1)
                .unwrap()
                .expose(),
            b"old"
        );
        // Once retired (the migration is done), the first format opens no more, for good.
        seal.retire_legacy().unwrap();
        assert!(seal.unseal_earlier(b"old-aad", b"aad", &v1).is_err());
        let reopened = seal_at(&path);
        assert!(!reopened.opens_legacy());
        assert!(reopened.unseal_earlier(b"old-aad", b"aad", &v1).is_err());
    }

    #[test]
    fn a_rotation_keeps_both_keys_until_it_finishes_and_other_processes_follow() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        let rotating = seal_at(&path);
        let follower = seal_at(&path);
        let old = rotating.seal(b"aad", b"under the old key").unwrap();
        rotating.begin_rotation().unwrap();
        assert_eq!(rotating.status().root_keys, 2);
        assert!(!rotating.is_current(&old), "the old key no longer seals");
        let new = rotating.seal(b"aad", b"under the new key").unwrap();
        assert!(rotating.is_current(&new));
        // Another process meets a value under a key it has not read: it reads the keys again.
        assert_eq!(
            follower.unseal(b"aad", &new).unwrap().expose(),
            b"under the new key"
        );
        assert!(follower.unseal(b"aad", &old).is_ok());
        // Begun again (an interrupted rotation resumed), nothing changes.
        rotating.begin_rotation().unwrap();
        assert!(rotating.is_current(&new));
        // A restart in the middle holds both keys.
        let restarted = seal_at(&path);
        assert_eq!(restarted.status().root_keys, 2);
        assert!(restarted.is_current(&new));
        rotating.finish_rotation().unwrap();
        assert_eq!(rotating.status().root_keys, 1);
        assert!(!next_key(&path).exists());
        assert!(
            rotating.unseal(b"aad", &old).is_err(),
            "the old key is gone"
        );
        assert!(rotating.unseal(b"aad", &new).is_ok());
        assert!(
            follower.refresh().unwrap(),
            "the follower notices the change"
        );
        assert!(follower.unseal(b"aad", &old).is_err());
        assert!(seal_at(&path).unseal(b"aad", &new).is_ok());
    }

    #[test]
    fn refuses_open_permissions_and_wrong_lengths() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        fs::write(&path, [7u8; 32]).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            FileRoots::open_or_create(&path),
            Err(FileSealError::TooOpen { .. })
        ));
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(FileRoots::open_or_create(&path).is_ok());
        fs::write(&path, [7u8; 31]).unwrap();
        assert!(matches!(
            FileRoots::open_or_create(&path),
            Err(FileSealError::WrongLength { .. })
        ));
        fs::write(&path, [7u8; 33]).unwrap();
        assert!(matches!(
            FileRoots::open_or_create(&path),
            Err(FileSealError::WrongLength { len: 33, .. })
        ));
    }

    #[test]
    fn refuses_links_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.key");
        FileRoots::open_or_create(&real).unwrap();
        let link = dir.path().join("root.key");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert!(matches!(
            FileRoots::open_or_create(&link),
            Err(FileSealError::Symlink { .. })
        ));
        // A dangling link is not followed to create a key somewhere else either.
        let dangling = dir.path().join("dangling.key");
        std::os::unix::fs::symlink(dir.path().join("elsewhere"), &dangling).unwrap();
        assert!(FileRoots::open_or_create(&dangling).is_err());
        assert!(!dir.path().join("elsewhere").exists());
        let directory = dir.path().join("dir.key");
        fs::create_dir(&directory).unwrap();
        fs::set_permissions(&directory, fs::Permissions::from_mode(0o700)).unwrap();
        assert!(FileRoots::open_or_create(&directory).is_err());
    }
}
