//! Keys that must not reach swap: the root keys and the accounts' key-encryption keys.
//!
//! A [`LockedKey`] lives in a heap buffer of two pages, at the start of the one whole page the
//! buffer holds, and only that page is locked in memory (`mlock`) where `RLIMIT_MEMLOCK`
//! allows. No other allocation shares the page, so unlocking it when this key is dropped never
//! unlocks another key (`munlock` does not count nested locks). The caller learns when locking
//! failed, to say so. The bytes are zeroized on drop, after the page is unlocked.

use zeroize::Zeroize;

use crate::{CryptoError, KeyMaterial, SYMMETRIC_KEY_LEN};

/// A 256-bit wrapping key held in a locked page of its own.
pub struct LockedKey {
    /// Declared first so that the page is unlocked before the buffer is zeroized and freed.
    lock: Option<region::LockGuard>,
    buffer: Box<[u8]>,
    /// Where the key starts in `buffer`: the first page boundary.
    start: usize,
}

impl LockedKey {
    /// Copies `key` into a page of its own and locks it; `key` is zeroized when dropped.
    pub fn new(key: KeyMaterial) -> Self {
        Self::from_slice(key.expose())
    }

    fn from_slice(key: &[u8]) -> Self {
        let page = region::page::size();
        let mut buffer = vec![0u8; 2 * page].into_boxed_slice();
        let address = buffer.as_ptr() as usize;
        let start = (page - address % page) % page;
        buffer[start..start + key.len()].copy_from_slice(key);
        let lock = region::lock(buffer[start..].as_ptr(), page).ok();
        Self {
            lock,
            buffer,
            start,
        }
    }

    /// A fresh random 256-bit key.
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self::new(KeyMaterial::generate_symmetric()?))
    }

    /// A key from 32 bytes (just unsealed); anything else is
    /// [`CryptoError::InvalidKeyMaterial`]. `bytes` are zeroized either way.
    pub fn from_bytes(mut bytes: Vec<u8>) -> Result<Self, CryptoError> {
        let key = (bytes.len() == SYMMETRIC_KEY_LEN).then(|| Self::from_slice(&bytes));
        bytes.zeroize();
        key.ok_or(CryptoError::InvalidKeyMaterial)
    }

    /// The key itself, for the wrapping primitives.
    pub fn expose(&self) -> &[u8] {
        &self.buffer[self.start..self.start + SYMMETRIC_KEY_LEN]
    }

    /// Whether the key's page is locked. When it is not, `RLIMIT_MEMLOCK` (or the container's
    /// limit) forbade it, and the key may be swapped out.
    pub fn is_locked(&self) -> bool {
        self.lock.is_some()
    }
}

impl Drop for LockedKey {
    fn drop(&mut self) {
        // Unlocked first (the guard), then wiped: a wiped page need not stay locked.
        self.lock.take();
        self.buffer.zeroize();
    }
}

impl crate::wrap::WrappingKey for LockedKey {
    fn key_bytes(&self) -> &[u8] {
        self.expose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_a_32_byte_key_alone_on_its_page_and_refuses_other_lengths() {
        let key = LockedKey::generate().unwrap();
        assert_eq!(key.expose().len(), SYMMETRIC_KEY_LEN);
        let page = region::page::size();
        assert_eq!(key.expose().as_ptr() as usize % page, 0, "page-aligned");
        if memlock_allows_pages(4) {
            let other = LockedKey::generate().unwrap();
            assert!(key.is_locked() && other.is_locked());
            // Dropping one key leaves the other's page locked (a page of its own).
            let other_page = other.expose().as_ptr() as usize / page;
            assert_ne!(other_page, key.expose().as_ptr() as usize / page);
            drop(other);
            assert!(key.is_locked());
        }
        assert!(LockedKey::from_bytes(vec![1; 31]).is_err());
        let exact = LockedKey::from_bytes(vec![7; 32]).unwrap();
        assert_eq!(exact.expose(), [7; 32]);
    }

    /// Whether this process may lock `pages` pages (read from /proc, no extra crate).
    fn memlock_allows_pages(pages: u64) -> bool {
        std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|limits| {
                limits
                    .lines()
                    .find(|line| line.starts_with("Max locked memory"))
                    .and_then(|line| line.split_whitespace().nth(3).map(str::to_owned))
            })
            .is_none_or(|soft| {
                soft == "unlimited"
                    || soft
                        .parse::<u64>()
                        .is_ok_and(|bytes| bytes >= pages * region::page::size() as u64)
            })
    }
}
