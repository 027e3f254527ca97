//! The AWS encryption context and the canonical bytes it contributes to the AAD.
//!
//! See <https://docs.aws.amazon.com/kms/latest/developerguide/encrypt_context.html>: the context
//! is a map of UTF-8 strings that must be presented again, exactly, to decrypt.

use std::collections::BTreeMap;

/// An AWS encryption context: UTF-8 key/value pairs bound to a ciphertext as AAD.
///
/// AWS treats an empty map and an absent map the same, so this type has no separate "none".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncryptionContext(BTreeMap<String, String>);

impl EncryptionContext {
    /// Wraps a map; a `BTreeMap` already gives the key order the canonical form needs.
    pub fn new(map: BTreeMap<String, String>) -> Self {
        Self(map)
    }

    /// The pairs, e.g. for policy conditions (`kms:EncryptionContext:...`) and audit records.
    pub fn pairs(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    /// Whether there are no pairs (which is the same as no context at all).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The bytes bound as AAD: the pair count, then each key and value in key order, every one
    /// prefixed by its length, all lengths as `u32` big-endian. An empty context gives no bytes.
    ///
    /// Length prefixes make the encoding unambiguous (`{"ab":"c"}` and `{"a":"bc"}` differ), and
    /// the sort makes it independent of the order the client sent the pairs in.
    pub fn canonical(&self) -> Vec<u8> {
        if self.0.is_empty() {
            return Vec::new();
        }
        let size = 4 + self
            .0
            .iter()
            .map(|(key, value)| 8 + key.len() + value.len())
            .sum::<usize>();
        let mut out = Vec::with_capacity(size);
        out.extend_from_slice(&length_prefix(self.0.len()));
        for (key, value) in &self.0 {
            for field in [key, value] {
                out.extend_from_slice(&length_prefix(field.len()));
                out.extend_from_slice(field.as_bytes());
            }
        }
        out
    }
}

impl From<BTreeMap<String, String>> for EncryptionContext {
    fn from(map: BTreeMap<String, String>) -> Self {
        Self::new(map)
    }
}

/// A length as `u32` big-endian.
///
/// A length above `u32::MAX` saturates. That cannot happen in practice: request bodies are capped
/// far below 4 GiB, and an ambiguity would need two such contexts to compare.
fn length_prefix(len: usize) -> [u8; 4] {
    u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(pairs: &[(&str, &str)]) -> EncryptionContext {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>()
            .into()
    }

    #[test]
    fn empty_context_has_no_canonical_bytes() {
        assert!(EncryptionContext::default().canonical().is_empty());
        assert!(EncryptionContext::default().is_empty());
        assert_eq!(
            EncryptionContext::new(BTreeMap::new()),
            EncryptionContext::default()
        );
    }

    #[test]
    fn canonical_known_answer_one_pair() {
        let expected: Vec<u8> = vec![0, 0, 0, 1, 0, 0, 0, 1, b'a', 0, 0, 0, 1, b'1'];
        assert_eq!(context(&[("a", "1")]).canonical(), expected);
    }

    #[test]
    fn canonical_known_answer_sorted_pairs_and_utf8() {
        // Inserted out of order; "é" is two UTF-8 bytes, so its length prefix is 2.
        let expected: Vec<u8> = vec![
            0, 0, 0, 2, // two pairs
            0, 0, 0, 2, b'a', b'b', // "ab"
            0, 0, 0, 0, // ""
            0, 0, 0, 1, b'z', // "z"
            0, 0, 0, 2, 0xc3, 0xa9, // "é"
        ];
        assert_eq!(context(&[("z", "é"), ("ab", "")]).canonical(), expected);
    }

    #[test]
    fn canonical_is_independent_of_insertion_order() {
        let forward = context(&[("a", "1"), ("b", "2"), ("c", "3")]);
        let backward = context(&[("c", "3"), ("b", "2"), ("a", "1")]);
        assert_eq!(forward, backward);
        assert_eq!(forward.canonical(), backward.canonical());
    }

    #[test]
    fn canonical_is_unambiguous() {
        assert_ne!(
            context(&[("ab", "c")]).canonical(),
            context(&[("a", "bc")]).canonical()
        );
        assert_ne!(
            context(&[("a", "b"), ("c", "d")]).canonical(),
            context(&[("a", "bcd")]).canonical()
        );
        assert_ne!(
            context(&[("", "")]).canonical(),
            EncryptionContext::default().canonical()
        );
    }

    #[test]
    fn pairs_and_from_preserve_the_map() {
        let ctx = context(&[("k", "v")]);
        assert_eq!(ctx.pairs().get("k").map(String::as_str), Some("v"));
        assert!(!ctx.is_empty());
    }
}
