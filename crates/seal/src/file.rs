//! The file seal: a 256-bit root key in a file that only the service user can read.
//!
//! Sealed values are `version (1) || nonce (12) || AES-256-GCM ciphertext || tag (16)` with the
//! caller's AAD, so a value sealed for one key version or access key does not open for another.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use strongbox_core::{Seal, SealError, SealedKey};
use strongbox_crypto::{KeyMaterial, SYMMETRIC_KEY_LEN, SecretBytes, wrap};

/// The first byte of every value this seal produces, so formats can change later.
const FORMAT_V1: u8 = 1;

/// Holds the root key read from a file.
pub struct FileSeal {
    root_key: KeyMaterial,
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
    /// The random generator failed.
    #[error("could not generate a root key: {0}")]
    Random(strongbox_crypto::CryptoError),
}

impl FileSeal {
    /// Reads the root key from `path`, creating a fresh random one (mode 0600) when the file
    /// does not exist. Refuses files that group or others can read.
    pub fn open_or_create(path: &Path) -> Result<Self, FileSealError> {
        let io_error = |source| FileSealError::Io {
            path: path.to_owned(),
            source,
        };
        match fs::metadata(path) {
            Ok(metadata) => {
                let mode = metadata.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    return Err(FileSealError::TooOpen {
                        path: path.to_owned(),
                        mode,
                    });
                }
                let bytes = SecretBytes::new(fs::read(path).map_err(io_error)?);
                if bytes.len() != SYMMETRIC_KEY_LEN {
                    return Err(FileSealError::WrongLength {
                        path: path.to_owned(),
                        len: bytes.len(),
                    });
                }
                Ok(Self {
                    root_key: KeyMaterial::from_bytes(bytes.expose().to_vec()),
                })
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                let root_key = KeyMaterial::generate_symmetric().map_err(FileSealError::Random)?;
                let mut file = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(io_error)?;
                file.write_all(root_key.expose()).map_err(io_error)?;
                file.sync_all().map_err(io_error)?;
                Ok(Self { root_key })
            }
            Err(error) => Err(io_error(error)),
        }
    }
}

impl Seal for FileSeal {
    fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<SealedKey, SealError> {
        let sealed = wrap::seal(&self.root_key, aad, plaintext)
            .map_err(|error| SealError::Backend(error.to_string()))?;
        let mut out = Vec::with_capacity(1 + sealed.len());
        out.push(FORMAT_V1);
        out.extend_from_slice(&sealed);
        Ok(SealedKey::from_bytes(out))
    }

    fn unseal(&self, aad: &[u8], sealed: &SealedKey) -> Result<SecretBytes, SealError> {
        match sealed.as_bytes().split_first() {
            Some((&FORMAT_V1, rest)) => {
                wrap::open(&self.root_key, aad, rest).map_err(|_| SealError::Unseal)
            }
            _ => Err(SealError::Unseal),
        }
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
    }
}
