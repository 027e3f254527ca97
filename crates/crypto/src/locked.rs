//! Keys that must not reach swap: the root key and the account key-encryption keys.
//!
//! A [`LockedKey`] is boxed, so its bytes stay at one address for its whole life, and that
//! page is locked in memory (`mlock`) where `RLIMIT_MEMLOCK` allows; the caller learns when
//! it did not, to say so once. It zeroizes on drop (through [`KeyMaterial`]), after unlocking.

use crate::{CryptoError, KeyMaterial, SYMMETRIC_KEY_LEN};

/// A 256-bit wrapping key held in locked memory.
pub struct LockedKey {
    /// Declared first so that the page is unlocked before the key is zeroized and freed.
    lock: Option<region::LockGuard>,
    key: Box<KeyMaterial>,
}

impl LockedKey {
    /// Moves `key` to the heap and locks its page. (The value it was built in is left behind
    /// on the caller's stack, where later calls overwrite it.)
    pub fn new(key: KeyMaterial) -> Self {
        let key = Box::new(key);
        let bytes = key.expose();
        let lock = region::lock(bytes.as_ptr(), bytes.len()).ok();
        Self { lock, key }
    }

    /// A fresh random 256-bit key.
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self::new(KeyMaterial::generate_symmetric()?))
    }

    /// A key from 32 bytes (just unsealed); anything else is
    /// [`CryptoError::InvalidKeyMaterial`].
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, CryptoError> {
        if bytes.len() != SYMMETRIC_KEY_LEN {
            let material = KeyMaterial::from_bytes(bytes);
            drop(material);
            return Err(CryptoError::InvalidKeyMaterial);
        }
        Ok(Self::new(KeyMaterial::from_bytes(bytes)))
    }

    /// The key, for the wrapping primitives.
    pub fn material(&self) -> &KeyMaterial {
        &self.key
    }

    /// Whether the key's page is locked. When it is not, `RLIMIT_MEMLOCK` (or the container's
    /// limit) forbade it, and the key may be swapped out.
    pub fn is_locked(&self) -> bool {
        self.lock.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_a_32_byte_key_and_refuses_other_lengths() {
        let key = LockedKey::generate().unwrap();
        assert_eq!(key.material().expose().len(), SYMMETRIC_KEY_LEN);
        let memlock = memlock_allows_a_page();
        if memlock {
            assert!(key.is_locked());
        }
        assert!(LockedKey::from_bytes(vec![1; 31]).is_err());
        let exact = LockedKey::from_bytes(vec![7; 32]).unwrap();
        assert_eq!(exact.material().expose(), [7; 32]);
    }

    /// Whether this process may lock at least a page (read from /proc, no extra crate).
    fn memlock_allows_a_page() -> bool {
        std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|limits| {
                limits
                    .lines()
                    .find(|line| line.starts_with("Max locked memory"))
                    .and_then(|line| line.split_whitespace().nth(3).map(str::to_owned))
            })
            .is_none_or(|soft| {
                soft == "unlimited" || soft.parse::<u64>().is_ok_and(|b| b >= 1 << 16)
            })
    }
}
