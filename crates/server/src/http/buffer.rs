//! A growable byte buffer that never leaves a copy of its contents behind: request bodies and
//! response bodies carry plaintexts and data keys (base64), so every buffer they pass through in
//! our code is zeroized when it grows or is freed. (hyper's own socket read buffer is out of our
//! reach.)

use std::io;

use axum::body::Bytes;
use zeroize::Zeroizing;

/// A zeroizing buffer; growth copies into a new allocation and wipes the old one.
pub struct SecretBuffer(Zeroizing<Vec<u8>>);

impl SecretBuffer {
    /// A buffer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self(Zeroizing::new(Vec::with_capacity(capacity)))
    }

    /// A buffer holding `text`, whose own allocation is wiped (answers such as AssumeRole's
    /// carry secrets).
    pub fn from_string(text: String) -> Self {
        let text = Zeroizing::new(text);
        let mut buffer = Self::with_capacity(text.len());
        buffer.extend(text.as_bytes());
        buffer
    }

    /// Appends, growing without leaving the old allocation's contents behind.
    pub fn extend(&mut self, data: &[u8]) {
        let needed = self.0.len() + data.len();
        if needed > self.0.capacity() {
            let mut grown = Zeroizing::new(Vec::with_capacity(needed.max(self.0.capacity() * 2)));
            grown.extend_from_slice(&self.0);
            self.0 = grown; // the old buffer is zeroized as it drops
        }
        self.0.extend_from_slice(data);
    }

    /// The bytes so far.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// How many bytes so far.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Hands the buffer to hyper without a copy; it is zeroized when hyper drops it.
    pub fn into_bytes(self) -> Bytes {
        Bytes::from_owner(ZeroizingOwner(self.0))
    }
}

/// `Bytes::from_owner` needs `AsRef<[u8]>`.
struct ZeroizingOwner(Zeroizing<Vec<u8>>);

impl AsRef<[u8]> for ZeroizingOwner {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl io::Write for SecretBuffer {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.extend(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_keeps_contents() {
        let mut buffer = SecretBuffer::with_capacity(2);
        for chunk in [b"ab".as_slice(), b"cdef", b"g", &[b'x'; 100]] {
            buffer.extend(chunk);
        }
        assert_eq!(buffer.len(), 107);
        assert_eq!(&buffer.as_slice()[..7], b"abcdefg");
        let bytes = buffer.into_bytes();
        assert_eq!(bytes.len(), 107);
    }
}
