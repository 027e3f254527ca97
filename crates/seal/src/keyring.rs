//! The root keys a seal holds in memory, and the format of the values sealed under them.
//!
//! Current format (3): `3 | root key id (8) | nonce (12) | AES-256-GCM ciphertext | tag (16)`,
//! with AAD `3 | root key id | the caller's binding`. The root key id names which root key
//! sealed the value, so that during a root rotation both the old and the new root key open
//! what they sealed, and a value sealed under a destroyed root key says so rather than failing
//! as if it were corrupt. Earlier formats, written only by the file seal, before root keys
//! could rotate: 1 (`1 | nonce | ct | tag`, AAD = the caller's first-format binding) and 2
//! (`2 | nonce | ct | tag`, AAD = `2 | binding`); they open only to be sealed again.

use strongbox_core::{SealError, SealedKey};
use strongbox_crypto::{KeyMaterial, LockedKey, MacAlgorithm, SecretBytes, mac, wrap};

/// The first format: its version byte outside the AAD.
pub(crate) const FORMAT_V1: u8 = 1;
/// The second format: the version byte in the AAD, no root key id.
pub(crate) const FORMAT_V2: u8 = 2;
/// The current format: the version byte and the root key's id in the AAD.
pub(crate) const FORMAT_V3: u8 = 3;

/// Length of a root key's id.
pub const ROOT_KEY_ID_LEN: usize = 8;

/// Names a root key without revealing it: the first 8 bytes of HMAC-SHA-256 of a fixed label
/// under the key.
pub type RootKeyId = [u8; ROOT_KEY_ID_LEN];

/// A root key and its id.
pub(crate) struct RootKey {
    pub(crate) id: RootKeyId,
    pub(crate) key: LockedKey,
}

impl RootKey {
    pub(crate) fn new(key: LockedKey) -> Self {
        let tag = mac(
            MacAlgorithm::HmacSha256,
            &KeyMaterial::from_bytes(key.expose().to_vec()),
            b"strongbox/root-key-id",
        );
        let mut id = [0; ROOT_KEY_ID_LEN];
        id.copy_from_slice(&tag[..ROOT_KEY_ID_LEN]);
        Self { id, key }
    }
}

/// The root keys in memory, oldest first: the last one seals. More than one only while a
/// rotation is under way.
#[derive(Default)]
pub(crate) struct Keyring {
    pub(crate) keys: Vec<RootKey>,
}

fn aad_v2(aad: &[u8]) -> Vec<u8> {
    let mut bound = Vec::with_capacity(1 + aad.len());
    bound.push(FORMAT_V2);
    bound.extend_from_slice(aad);
    bound
}

fn aad_v3(id: &RootKeyId, aad: &[u8]) -> Vec<u8> {
    let mut bound = Vec::with_capacity(1 + ROOT_KEY_ID_LEN + aad.len());
    bound.push(FORMAT_V3);
    bound.extend_from_slice(id);
    bound.extend_from_slice(aad);
    bound
}

/// The root key id a current-format value names, if it is one.
pub(crate) fn sealed_under(sealed: &SealedKey) -> Option<RootKeyId> {
    match sealed.as_bytes() {
        [FORMAT_V3, rest @ ..] if rest.len() >= ROOT_KEY_ID_LEN => {
            let mut id = [0; ROOT_KEY_ID_LEN];
            id.copy_from_slice(&rest[..ROOT_KEY_ID_LEN]);
            Some(id)
        }
        _ => None,
    }
}

impl Keyring {
    pub(crate) fn current(&self) -> Option<&RootKey> {
        self.keys.last()
    }

    fn by_id(&self, id: &RootKeyId) -> Option<&RootKey> {
        self.keys.iter().find(|root| &root.id == id)
    }

    pub(crate) fn holds(&self, id: &RootKeyId) -> bool {
        self.by_id(id).is_some()
    }

    pub(crate) fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<SealedKey, SealError> {
        let root = self.current().ok_or(SealError::Sealed)?;
        let body = wrap::seal(&root.key, &aad_v3(&root.id, aad), plaintext)
            .map_err(|error| SealError::Backend(error.to_string()))?;
        let mut out = Vec::with_capacity(1 + ROOT_KEY_ID_LEN + body.len());
        out.push(FORMAT_V3);
        out.extend_from_slice(&root.id);
        out.extend_from_slice(&body);
        Ok(SealedKey::from_bytes(out))
    }

    /// Opens a current-format value; `Err(Unseal)` for any other format, a root key this
    /// keyring does not hold, or a value that does not authenticate.
    pub(crate) fn unseal(&self, aad: &[u8], sealed: &SealedKey) -> Result<SecretBytes, SealError> {
        let id = sealed_under(sealed).ok_or(SealError::Unseal)?;
        let root = self.by_id(&id).ok_or(SealError::Unseal)?;
        let body = &sealed.as_bytes()[1 + ROOT_KEY_ID_LEN..];
        wrap::open(&root.key, &aad_v3(&id, aad), body).map_err(|_| SealError::Unseal)
    }

    /// Opens a value of the first (with `first_aad`) or second format, under any root key
    /// held, if its format is `earliest` or later.
    pub(crate) fn unseal_earlier(
        &self,
        earliest: u8,
        first_aad: &[u8],
        aad: &[u8],
        sealed: &SealedKey,
    ) -> Result<SecretBytes, SealError> {
        let (bound, body) = match sealed.as_bytes().split_first() {
            Some((&FORMAT_V1, body)) if earliest <= FORMAT_V1 => (first_aad.to_vec(), body),
            Some((&FORMAT_V2, body)) if earliest <= FORMAT_V2 => (aad_v2(aad), body),
            _ => return Err(SealError::Unseal),
        };
        self.keys
            .iter()
            .rev()
            .find_map(|root| wrap::open(&root.key, &bound, body).ok())
            .ok_or(SealError::Unseal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(count: usize) -> Keyring {
        Keyring {
            keys: (0..count)
                .map(|_| RootKey::new(LockedKey::generate().unwrap()))
                .collect(),
        }
    }

    #[test]
    fn values_name_their_root_key_and_open_under_it_alone() {
        let old = ring(1);
        let sealed = old.seal(b"aad", b"secret").unwrap();
        assert_eq!(sealed_under(&sealed), Some(old.keys[0].id));
        assert_eq!(old.unseal(b"aad", &sealed).unwrap().expose(), b"secret");
        assert!(old.unseal(b"other", &sealed).is_err());
        let other = ring(1);
        assert!(other.unseal(b"aad", &sealed).is_err());
        // The id is bound: naming another root key (even one held) fails.
        let mut both = ring(0);
        both.keys.extend(old.keys);
        both.keys.extend(other.keys);
        let mut renamed = sealed.as_bytes().to_vec();
        renamed[1..9].copy_from_slice(&both.keys[1].id);
        assert!(
            both.unseal(b"aad", &SealedKey::from_bytes(renamed))
                .is_err()
        );
        assert_eq!(both.unseal(b"aad", &sealed).unwrap().expose(), b"secret");
        for i in 0..sealed.as_bytes().len() {
            let mut bytes = sealed.as_bytes().to_vec();
            bytes[i] ^= 1;
            assert!(
                both.unseal(b"aad", &SealedKey::from_bytes(bytes)).is_err(),
                "byte {i}"
            );
        }
    }

    #[test]
    fn earlier_formats_open_only_through_unseal_earlier() {
        let keyring = ring(1);
        let key = &keyring.keys[0].key;
        let mut v1 = vec![FORMAT_V1];
        v1.extend(wrap::seal(key, b"first", b"one").unwrap());
        let v1 = SealedKey::from_bytes(v1);
        let mut v2 = vec![FORMAT_V2];
        v2.extend(wrap::seal(key, &aad_v2(b"aad"), b"two").unwrap());
        let v2 = SealedKey::from_bytes(v2);
        assert!(keyring.unseal(b"aad", &v2).is_err());
        assert!(keyring.unseal(b"first", &v1).is_err());
        let earlier = |earliest, sealed| keyring.unseal_earlier(earliest, b"first", b"aad", sealed);
        assert_eq!(earlier(FORMAT_V1, &v1).unwrap().expose(), b"one");
        assert!(
            earlier(FORMAT_V2, &v1).is_err(),
            "the first format only while allowed"
        );
        assert_eq!(earlier(FORMAT_V2, &v2).unwrap().expose(), b"two");
        assert!(
            earlier(FORMAT_V3, &v2).is_err(),
            "nor the second once retired"
        );
        let v3 = keyring.seal(b"aad", b"three").unwrap();
        assert!(earlier(FORMAT_V1, &v3).is_err());
        // A second-format value relabelled as the first opens nowhere.
        let mut relabelled = v2.as_bytes().to_vec();
        relabelled[0] = FORMAT_V1;
        assert!(earlier(FORMAT_V1, &SealedKey::from_bytes(relabelled)).is_err());
    }
}
