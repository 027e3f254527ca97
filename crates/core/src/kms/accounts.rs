//! Tenants and access keys: what the admin CLI manages and what SigV4 verification reads.

use std::sync::Arc;

use strongbox_crypto::{SecretBytes, random_bytes};

use super::Kms;
use super::cache::CachedCredential;
use crate::error::Error;
use crate::messages;
use crate::model::iam::ADMIN_USER;
use crate::model::{AccessKey, AccessKeyId, AccessKeyStatus, Account, AccountId};
use crate::seal::SealedKey;
use crate::store::StoreErrorKind;
use crate::validate;

/// A freshly created access key with its secret, which is shown once and then only kept sealed.
pub struct NewAccessKey {
    /// The stored record.
    pub key: AccessKey,
    /// The secret access key.
    pub secret: SecretBytes,
}

/// An access key and its unsealed secret, as SigV4 verification needs them.
pub struct Credentials {
    /// The stored record.
    pub key: AccessKey,
    /// The secret access key.
    pub secret: SecretBytes,
}

/// Letters of AWS-style access key ids (base32: uniform over 256 byte values).
const ID_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Letters of AWS-style secret keys (base64: uniform over 256 byte values).
const SECRET_ALPHABET: &[u8; 64] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

impl Kms {
    /// Creates a tenant, with its `admin` user holding the administrator policy; a random id
    /// when none is given.
    pub async fn create_account(
        &self,
        name: &str,
        id: Option<AccountId>,
    ) -> Result<Account, Error> {
        let id = match id {
            Some(id) => id,
            None => random_account_id()?,
        };
        let account = Account {
            id,
            name: name.to_owned(),
            created_at: self.clock.now(),
        };
        match self.store.create_account(&account).await {
            Ok(()) => {}
            Err(error) if error.kind() == StoreErrorKind::Conflict => {
                return Err(Error::AlreadyExists(format!(
                    "Account {} already exists",
                    account.id
                )));
            }
            Err(error) => return Err(error.into()),
        }
        self.create_user(&account.id, ADMIN_USER, None, &[Self::admin_policy()])
            .await?;
        Ok(account)
    }

    /// The account `id` with its `admin` user, creating whichever is missing: what a first
    /// start interrupted between its steps needs to finish.
    pub async fn ensure_account(&self, name: &str, id: AccountId) -> Result<Account, Error> {
        let account = match self.store.account(&id).await? {
            Some(account) => account,
            None => match self.create_account(name, Some(id)).await {
                Ok(account) => return Ok(account),
                Err(Error::AlreadyExists(_)) => {
                    self.store.account(&id).await?.ok_or_else(|| {
                        Error::Internal(crate::error::Internal::new(
                            "account",
                            "vanished after a conflict",
                        ))
                    })?
                }
                Err(error) => return Err(error),
            },
        };
        if self.store.user(&id, ADMIN_USER).await?.is_none() {
            self.create_user(&id, ADMIN_USER, None, &[Self::admin_policy()])
                .await?;
        }
        Ok(account)
    }

    /// Every tenant.
    pub async fn list_accounts(&self) -> Result<Vec<Account>, Error> {
        Ok(self.store.list_accounts().await?)
    }

    /// Creates an access key for a user of an existing account. `fixed` supplies a known id
    /// and secret (the bootstrap variables); otherwise both are random.
    pub async fn create_access_key(
        &self,
        account: &AccountId,
        user: &str,
        fixed: Option<(AccessKeyId, SecretBytes)>,
    ) -> Result<NewAccessKey, Error> {
        self.account(account).await?;
        validate::user_name(user)?;
        let user = &self
            .store
            .user(account, user)
            .await?
            .ok_or_else(|| Error::NotFound(messages::no_such_user(user)))?
            .name;
        let (id, secret) = match fixed {
            Some(pair) => pair,
            None => {
                let id = random_chars(ID_ALPHABET, 16)?;
                let id = format!("AKIA{}", String::from_utf8_lossy(&id));
                let secret = SecretBytes::new(random_chars(SECRET_ALPHABET, 40)?);
                (AccessKeyId::parse(&id)?, secret)
            }
        };
        let mut key = AccessKey {
            id,
            account: *account,
            user: user.to_owned(),
            sealed_secret: SealedKey::from_bytes(Vec::new()),
            status: AccessKeyStatus::Active,
            created_at: self.clock.now(),
        };
        key.sealed_secret = self
            .seal_for(account, &key.seal_binding(), secret.expose())
            .await?;
        match self.store.create_access_key(&key).await {
            Ok(()) => Ok(NewAccessKey { key, secret }),
            Err(error) if error.kind() == StoreErrorKind::Conflict => Err(Error::AlreadyExists(
                format!("Access key {} already exists", key.id),
            )),
            Err(error) => Err(error.into()),
        }
    }

    /// An account's access keys.
    pub async fn list_access_keys(&self, account: &AccountId) -> Result<Vec<AccessKey>, Error> {
        self.account(account).await?;
        Ok(self.store.list_access_keys(account).await?)
    }

    /// The account `id`; `NotFound` when there is none, so that every admin command treats an
    /// unknown account alike instead of showing it as empty.
    pub async fn account(&self, id: &AccountId) -> Result<Account, Error> {
        self.store
            .account(id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("Account {id} does not exist")))
    }

    /// Deletes an access key of an account.
    pub async fn delete_access_key(
        &self,
        account: &AccountId,
        id: &AccessKeyId,
    ) -> Result<(), Error> {
        self.account(account).await?;
        let deleted = self.store.delete_access_key(account, id).await?;
        self.cache.credentials.remove(id);
        if deleted {
            Ok(())
        } else {
            Err(Error::NotFound(format!(
                "Access key {id} does not exist in account {account}"
            )))
        }
    }

    /// The active access key `id` with its unsealed secret, for SigV4 verification. Cached for
    /// [`KmsConfig::credential_ttl`](super::KmsConfig::credential_ttl).
    pub async fn credentials(&self, id: &AccessKeyId) -> Result<Option<Arc<Credentials>>, Error> {
        let now = self.clock.now();
        if let Some(cached) = self.cache.credentials.get(id)
            && now - cached.loaded_at < self.config.credential_ttl
        {
            return Ok(Some(Arc::clone(&cached.credentials)));
        }
        let epoch = self.cache.credentials.epoch();
        let Some(key) = self.store.access_key(id).await? else {
            // Nothing to forget: an expired entry is never served, and bumping the epoch here
            // would let a flood of unknown ids keep real credentials out of the cache.
            return Ok(None);
        };
        if key.status != AccessKeyStatus::Active {
            return Ok(None);
        }
        let secret = self
            .unseal_for(&key.account, &key.seal_binding(), &key.sealed_secret)
            .await?;
        let credentials = Arc::new(Credentials { key, secret });
        self.cache.credentials.insert_unless_changed(
            id.clone(),
            Arc::new(CachedCredential {
                credentials: Arc::clone(&credentials),
                loaded_at: now,
            }),
            epoch,
        );
        Ok(Some(credentials))
    }
}

/// A random 12-digit account id that does not start with 0 (so it survives numeric tools).
fn random_account_id() -> Result<AccountId, Error> {
    let bytes = random_bytes(12)?;
    let digits: String = bytes
        .expose()
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let digit = if i == 0 { 1 + b % 9 } else { b % 10 };
            char::from(b'0' + digit)
        })
        .collect();
    AccountId::parse(&digits)
}

/// `len` characters drawn uniformly from `alphabet` (its size divides 256).
pub(super) fn random_chars(alphabet: &[u8], len: usize) -> Result<Vec<u8>, Error> {
    let bytes = random_bytes(len)?;
    Ok(bytes
        .expose()
        .iter()
        .map(|b| alphabet[usize::from(*b) % alphabet.len()])
        .collect())
}
