//! The journal's shortcuts for LookupEvents: a byte string to skip records before parsing their
//! columns (`strongbox_core::audit::columns`), and the Bloom filter each sealed block keeps of
//! the records' lookup keys so that a lookup skips the blocks that cannot match.

use strongbox_core::audit::LookupAttribute;
use strongbox_core::audit::columns::key_id_of;

/// A byte string every record matching `attribute` contains, to skip the JSON parse of most
/// records that do not: the value as JSON writes it (only when JSON writes it unescaped).
pub(crate) fn needle(attribute: &LookupAttribute) -> Option<Vec<u8>> {
    let value = match attribute {
        LookupAttribute::EventId(value)
        | LookupAttribute::EventName(value)
        | LookupAttribute::Username(value)
        | LookupAttribute::AccessKeyId(value) => value.as_str(),
        LookupAttribute::ResourceName(value) => key_id_of(value),
        LookupAttribute::ReadOnly(true) => return Some(b"\"readOnly\":true".to_vec()),
        LookupAttribute::ReadOnly(false) => return Some(b"\"readOnly\":false".to_vec()),
        LookupAttribute::ResourceType(_) => return None,
    };
    let plain = value
        .bytes()
        .all(|byte| byte >= 0x20 && byte != b'"' && byte != b'\\');
    plain.then(|| value.as_bytes().to_vec())
}

/// A Bloom filter over `(kind, value)` keys, with positions from two CRC-32s of the key under
/// different seeds (stable across versions and builds, as the filters are stored; fast, and
/// not meant to resist chosen keys, which can only cost a lookup some extra blocks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bloom {
    bits: Vec<u64>,
}

/// Probes per key: with 10 bits per key, about 1% false positives.
const PROBES: u64 = 7;
/// Bits per key the filter is sized for.
const BITS_PER_KEY: usize = 10;

impl Bloom {
    /// A filter for about `keys` distinct keys.
    pub(crate) fn with_capacity(keys: usize) -> Self {
        let words = (keys.max(1) * BITS_PER_KEY).div_ceil(64);
        Self {
            bits: vec![0; words],
        }
    }

    pub(crate) fn from_words(bits: Vec<u64>) -> Option<Self> {
        (!bits.is_empty()).then_some(Self { bits })
    }

    pub(crate) fn words(&self) -> &[u64] {
        &self.bits
    }

    /// Sets every bit: the filter then holds everything.
    pub(crate) fn fill(&mut self) {
        self.bits.fill(u64::MAX);
    }

    pub(crate) fn insert(&mut self, kind: u8, value: &str) {
        for bit in positions(self.bits.len(), kind, value) {
            self.bits[bit / 64] |= 1 << (bit % 64);
        }
    }

    pub(crate) fn contains(&self, kind: u8, value: &str) -> bool {
        positions(self.bits.len(), kind, value)
            .all(|bit| self.bits[bit / 64] & (1 << (bit % 64)) != 0)
    }
}

/// The bits of `(kind, value)` in a filter of `words` 64-bit words.
fn positions(words: usize, kind: u8, value: &str) -> impl Iterator<Item = usize> {
    let hash = |seed: u32| {
        let mut hasher = crc32fast::Hasher::new_with_initial(seed);
        hasher.update(&[kind]);
        hasher.update(value.as_bytes());
        u64::from(hasher.finalize())
    };
    let first = hash(0x5354_5242) << 32 | hash(0x4f58_424c);
    let step = (hash(0x4a4f_5552) << 32 | hash(0x4e41_4c53)) | 1;
    let size = (words * 64) as u64;
    (0..PROBES).map(move |probe| {
        usize::try_from(first.wrapping_add(probe.wrapping_mul(step)) % size).unwrap_or(0)
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_bloom_filter_holds_what_was_inserted_and_rarely_anything_else() {
        let mut bloom = Bloom::with_capacity(1000);
        for n in 0..1000 {
            bloom.insert(b'i', &format!("event-{n}"));
        }
        assert!((0..1000).all(|n| bloom.contains(b'i', &format!("event-{n}"))));
        assert!(!bloom.contains(b'n', "event-1") || !bloom.contains(b'n', "event-2"));
        let false_positives = (0..10_000)
            .filter(|n| bloom.contains(b'i', &format!("other-{n}")))
            .count();
        assert!(false_positives < 300, "{false_positives} of 10000");
        let again = Bloom::from_words(bloom.words().to_vec()).unwrap();
        assert_eq!(again, bloom);
    }

    #[test]
    fn a_needle_is_only_used_for_values_json_writes_as_they_are() {
        let name = LookupAttribute::EventName("Encrypt".to_owned());
        assert_eq!(needle(&name).unwrap(), b"Encrypt");
        let quoted = LookupAttribute::Username("a\"b".to_owned());
        assert_eq!(needle(&quoted), None);
    }
}
