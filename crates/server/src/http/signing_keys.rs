//! Derived SigV4 signing keys, kept per access key so that a request does not pay for the four
//! HMACs of the derivation (about a third of a verification) again and again.
//!
//! A key is reused only while it was derived from the very credentials the store lookup just
//! returned (the same `Arc`, which the credential cache replaces every few seconds) and for the
//! same scope (day, Region, service). A deleted access key is refused by that lookup before its
//! derived key could be used; its entry goes at the next insertion after the credential cache
//! has let go of it. Keys are derived only for requests that passed every cheaper check
//! (`strongbox_sigv4::verify_with_key`). One scope per access key: a client signing for two
//! Regions at once derives at each switch, which costs time, not correctness.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use strongbox_core::kms::Credentials;
use strongbox_sigv4::{CredentialScope, SigningKey};

/// Access keys remembered at most; past it the memo starts again empty (a flood of distinct
/// valid access keys only costs derivations, never memory).
const MAX_ENTRIES: usize = 4096;

/// One derived key per access key id.
#[derive(Default)]
pub struct SigningKeys {
    entries: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    credentials: Weak<Credentials>,
    key: Arc<SigningKey>,
}

impl SigningKeys {
    /// The signing key of `credentials` for `scope`, derived now or earlier.
    pub fn get(&self, credentials: &Arc<Credentials>, scope: &CredentialScope) -> Arc<SigningKey> {
        let id = credentials.key.id.as_str();
        {
            let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(entry) = entries.get(id)
                && std::ptr::eq(entry.credentials.as_ptr(), Arc::as_ptr(credentials))
                && entry.key.scope() == scope
            {
                return Arc::clone(&entry.key);
            }
        }
        let key = Arc::new(SigningKey::derive(credentials.secret.expose(), scope));
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        // Keys of credentials nobody holds any more (expired from the credential cache, deleted
        // access keys) are forgotten; then, if still full, everything is.
        entries.retain(|_, entry| entry.credentials.strong_count() > 0);
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(id) {
            entries.clear();
        }
        entries.insert(
            id.to_owned(),
            Entry {
                credentials: Arc::downgrade(credentials),
                key: Arc::clone(&key),
            },
        );
        key
    }
}

impl std::fmt::Debug for SigningKeys {
    /// Only how many keys are kept: they sign anything for their day.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("SigningKeys")
            .field("entries", &entries.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use strongbox_core::model::{AccessKey, AccessKeyId, AccessKeyStatus, AccountId};
    use strongbox_core::seal::SealedKey;
    use strongbox_crypto::SecretBytes;

    use super::*;

    fn credentials(id: &str, secret: &str) -> Arc<Credentials> {
        Arc::new(Credentials {
            key: AccessKey {
                id: AccessKeyId::parse(id).unwrap(),
                account: AccountId::parse("111122223333").unwrap(),
                user: "admin".to_owned(),
                sealed_secret: SealedKey::from_bytes(Vec::new()),
                status: AccessKeyStatus::Active,
                created_at: time::OffsetDateTime::UNIX_EPOCH,
            },
            secret: SecretBytes::new(secret.as_bytes().to_vec()),
        })
    }

    fn scope(date: &str) -> CredentialScope {
        CredentialScope {
            date: date.to_owned(),
            region: "us-east-1".to_owned(),
            service: "kms".to_owned(),
        }
    }

    #[test]
    fn a_key_is_reused_for_the_same_credentials_and_scope_only() {
        let keys = SigningKeys::default();
        let alice = credentials("AKIAALICEALICEALICE1", "alice-secret");
        let first = keys.get(&alice, &scope("20261129"));
        assert!(Arc::ptr_eq(&first, &keys.get(&alice, &scope("20261129"))));
        // Another day: derived again.
        let next_day = keys.get(&alice, &scope("20261130"));
        assert!(!Arc::ptr_eq(&first, &next_day));
        assert_eq!(next_day.scope(), &scope("20261130"));
        // Reloaded credentials (the cache's entry expired): derived again.
        let reloaded = credentials("AKIAALICEALICEALICE1", "alice-secret");
        let again = keys.get(&reloaded, &scope("20261130"));
        assert!(!Arc::ptr_eq(&next_day, &again));
        // Another access key never gets alice's key.
        let bob = credentials("AKIABOBBOBBOBBOBBOB1", "bob-secret");
        assert!(!Arc::ptr_eq(&again, &keys.get(&bob, &scope("20261130"))));
    }

    #[test]
    fn keys_of_dropped_credentials_are_forgotten() {
        let keys = SigningKeys::default();
        let gone = credentials("AKIAGONEGONEGONEGON1", "gone-secret");
        keys.get(&gone, &scope("20261129"));
        drop(gone);
        let alice = credentials("AKIAALICEALICEALICE1", "alice-secret");
        keys.get(&alice, &scope("20261129"));
        let entries = keys.entries.lock().unwrap();
        assert_eq!(entries.len(), 1);
        assert!(entries.contains_key("AKIAALICEALICEALICE1"));
    }

    #[test]
    fn the_memo_is_bounded() {
        let keys = SigningKeys::default();
        let all: Vec<_> = (0..=MAX_ENTRIES)
            .map(|n| credentials(&format!("AKIA{n:016}"), "secret"))
            .collect();
        for credentials in &all {
            keys.get(credentials, &scope("20261129"));
        }
        let kept = keys.entries.lock().unwrap().len();
        assert!(kept <= MAX_ENTRIES, "{kept}");
        assert!(format!("{keys:?}").contains("entries"));
    }
}
