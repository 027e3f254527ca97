//! From the `KeyId` a caller sent (key id, key ARN, alias name or alias ARN) to a [`Key`], always
//! scoped by the caller's account, and from a key version to its unsealed material.

use std::sync::Arc;

use strongbox_crypto::KeyMaterial;

use super::Kms;
use crate::audit;
use crate::error::{Error, Internal};
use crate::messages;
use crate::model::{
    AccountId, AliasName, Key, KeyArn, KeyId, KeyVersion, Principal, Region, VersionId,
};

/// A parsed `KeyId` parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRef {
    /// A bare key id: the caller's account and Region.
    Id(KeyId),
    /// A full key ARN.
    KeyArn(KeyArn),
    /// A bare alias name: the caller's account and Region.
    Alias(AliasName),
    /// A full alias ARN.
    AliasArn {
        /// The alias's Region.
        region: Region,
        /// The alias's account.
        account: AccountId,
        /// The alias name.
        name: AliasName,
    },
    /// A well-formed multi-Region key id (`mrk-` and 32 hex digits), bare or in a key ARN.
    /// Strongbox holds no multi-Region keys, so it names no key: `NotFoundException` saying the
    /// key does not exist, as AWS answers for any unknown but well-formed id.
    MultiRegion {
        /// The ARN's Region and account; `None` for a bare id (the caller's).
        scope: Option<(Region, AccountId)>,
        /// The id, `mrk-...`.
        id: String,
    },
    /// A value of none of these forms. It names no key, which resolving it says
    /// (`NotFoundException`, `Invalid keyId '...'`): that is a rule of the service, so the
    /// request's model constraints are checked first, as AWS checks them.
    Invalid(String),
}

/// Whether `value` is a multi-Region key id: `mrk-` and 32 lowercase hex digits.
fn is_multi_region_id(value: &str) -> bool {
    value.strip_prefix("mrk-").is_some_and(|hex| {
        hex.len() == 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

impl KeyRef {
    /// The key reference a `KeyId` member names: [`KeyRef::Invalid`] when it has none of the
    /// forms AWS accepts, so that the error comes when the key is resolved.
    pub fn named(value: &str) -> Self {
        Self::parse(value).unwrap_or_else(|_| KeyRef::Invalid(value.to_owned()))
    }

    /// Parses the four forms AWS accepts. Anything else is `NotFoundException`, as AWS answers
    /// for a malformed key id.
    pub fn parse(value: &str) -> Result<Self, Error> {
        let invalid = || Error::NotFound(messages::invalid_key_id(value));
        if let Some(id) = KeyId::parse(value) {
            return Ok(KeyRef::Id(id));
        }
        if is_multi_region_id(value) {
            return Ok(KeyRef::MultiRegion {
                scope: None,
                id: value.to_owned(),
            });
        }
        if value.starts_with("alias/") {
            return AliasName::parse(value)
                .map(KeyRef::Alias)
                .map_err(|_| invalid());
        }
        let Some(rest) = value.strip_prefix("arn:aws:kms:") else {
            return Err(invalid());
        };
        let mut parts = rest.splitn(3, ':');
        let (Some(region), Some(account), Some(resource)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let region = Region::parse(region).map_err(|_| invalid())?;
        let account = AccountId::parse(account).map_err(|_| invalid())?;
        if let Some(id) = resource.strip_prefix("key/") {
            if is_multi_region_id(id) {
                return Ok(KeyRef::MultiRegion {
                    scope: Some((region, account)),
                    id: id.to_owned(),
                });
            }
            let key_id = KeyId::parse(id).ok_or_else(invalid)?;
            return Ok(KeyRef::KeyArn(KeyArn {
                region,
                account,
                key_id,
            }));
        }
        if resource.starts_with("alias/") {
            let name = AliasName::parse(resource).map_err(|_| invalid())?;
            return Ok(KeyRef::AliasArn {
                region,
                account,
                name,
            });
        }
        Err(invalid())
    }
}

/// Whether AWS lets another account use a key in an operation (through its key policy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CrossAccount {
    /// Cryptographic operations, DescribeKey: another account's key gets `AccessDenied`.
    ByPolicy,
    /// Management operations: AWS never allows them across accounts, so `NotFound`.
    Never,
}

/// The operation being authorized, for AWS-style access-denied messages.
#[derive(Clone, Copy, Debug)]
pub(super) struct Access {
    pub(super) action: &'static str,
    pub(super) cross_account: CrossAccount,
}

impl Access {
    pub(super) const fn by_policy(action: &'static str) -> Self {
        Self {
            action,
            cross_account: CrossAccount::ByPolicy,
        }
    }

    pub(super) const fn never_cross_account(action: &'static str) -> Self {
        Self {
            action,
            cross_account: CrossAccount::Never,
        }
    }

    /// The API operation, as AWS names it in messages: the action without `kms:`, and
    /// `ReEncrypt` for both of its actions.
    pub(super) fn operation(self) -> &'static str {
        match self.action {
            "kms:ReEncryptFrom" | "kms:ReEncryptTo" => "ReEncrypt",
            action => action.strip_prefix("kms:").unwrap_or(action),
        }
    }
}

impl Kms {
    /// Resolves `key_ref` for `principal`, from the cache when possible.
    pub(super) async fn resolve(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        access: Access,
    ) -> Result<Arc<Key>, Error> {
        let key_id = self.resolve_id(principal, key_ref, access).await?;
        self.key_by_id(principal, key_id)
            .await?
            .ok_or_else(|| not_found(principal, key_id))
    }

    /// Resolves `key_ref` straight from the store, bypassing the cache: the starting point of a
    /// read-modify-write that compares and swaps on the revision.
    pub(super) async fn resolve_fresh(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        access: Access,
    ) -> Result<Key, Error> {
        let key_id = self.resolve_id(principal, key_ref, access).await?;
        let key = self
            .store
            .key(&principal.account, &principal.region, key_id)
            .await?
            .ok_or_else(|| not_found(principal, key_id))?;
        audit::resources::touch(&key.arn);
        Ok(key)
    }

    /// The key with this id in the caller's account and Region, if any.
    pub(super) async fn key_by_id(
        &self,
        principal: &Principal,
        key_id: KeyId,
    ) -> Result<Option<Arc<Key>>, Error> {
        if let Some(key) = self
            .cache
            .key(&principal.account, &principal.region, key_id)
        {
            audit::resources::touch(&key.arn);
            return Ok(Some(key));
        }
        let epoch = self.cache.keys_epoch();
        let Some(key) = self
            .store
            .key(&principal.account, &principal.region, key_id)
            .await?
        else {
            return Ok(None);
        };
        audit::resources::touch(&key.arn);
        Ok(Some(self.cache.insert_key(key, epoch)))
    }

    async fn resolve_id(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        access: Access,
    ) -> Result<KeyId, Error> {
        match key_ref {
            KeyRef::Id(id) => Ok(*id),
            KeyRef::KeyArn(arn) => {
                check_scope(
                    principal,
                    &arn.region,
                    &arn.account,
                    &arn.to_string(),
                    access,
                )?;
                Ok(arn.key_id)
            }
            KeyRef::Alias(name) => self.alias_target(principal, name).await,
            KeyRef::AliasArn {
                region,
                account,
                name,
            } => {
                let arn = name.arn(region, account);
                check_scope(principal, region, account, &arn, access)?;
                self.alias_target(principal, name).await
            }
            KeyRef::Invalid(value) => Err(Error::NotFound(messages::invalid_key_id(value))),
            KeyRef::MultiRegion { scope, id } => {
                let (region, account) = scope.unwrap_or((principal.region, principal.account));
                let arn = format!("arn:aws:kms:{region}:{account}:key/{id}");
                check_scope(principal, &region, &account, &arn, access)?;
                Err(Error::NotFound(messages::key_not_found(&arn)))
            }
        }
    }

    async fn alias_target(&self, principal: &Principal, name: &AliasName) -> Result<KeyId, Error> {
        let scope = (principal.account, principal.region, name.clone());
        if let Some(target) = self.cache.aliases.get(&scope) {
            return Ok(target);
        }
        let epoch = self.cache.aliases.epoch();
        let alias = self
            .store
            .alias(&principal.account, &principal.region, name)
            .await?
            .ok_or_else(|| {
                Error::NotFound(messages::alias_not_found(
                    &name.arn(&principal.region, &principal.account),
                ))
            })?;
        self.cache
            .aliases
            .insert_unless_changed(scope, alias.target, epoch);
        Ok(alias.target)
    }

    /// The unsealed material of one version of `key`, from the cache when possible; `None`
    /// when the key has no such version (a forged or foreign ciphertext).
    pub(super) async fn material(
        &self,
        key: &Key,
        version: VersionId,
    ) -> Result<Option<Arc<KeyMaterial>>, Error> {
        if let Some(material) = self.cache.material(key, version) {
            return Ok(Some(material));
        }
        let Some(stored) = self
            .store
            .key_version(&key.arn.account, key.id(), version)
            .await?
        else {
            return Ok(None);
        };
        let secret = self
            .seal
            .unseal(&KeyVersion::seal_aad(&key.arn, version), &stored.sealed)?;
        let material = Arc::new(KeyMaterial::from_bytes(secret.expose().to_vec()));
        self.cache
            .insert_material(key, version, Arc::clone(&material));
        Ok(Some(material))
    }

    /// The material of the version that encrypts.
    pub(super) async fn current_material(&self, key: &Key) -> Result<Arc<KeyMaterial>, Error> {
        self.material(key, key.current_version)
            .await?
            .ok_or_else(|| {
                Error::Internal(Internal::new(
                    "key version",
                    format!(
                        "the current version of {} is missing from the store",
                        key.arn
                    ),
                ))
            })
    }
}

/// Refuses keys in other Regions (`NotFound`, they do not exist here) and other accounts
/// (`AccessDenied` or `NotFound`, as AWS answers without a key policy allowing the caller).
fn check_scope(
    principal: &Principal,
    region: &Region,
    account: &AccountId,
    arn: &str,
    access: Access,
) -> Result<(), Error> {
    if *account != principal.account {
        return Err(match access.cross_account {
            CrossAccount::ByPolicy => access_denied(principal, access.action, arn),
            CrossAccount::Never => Error::NotFound(messages::key_not_found(arn)),
        });
    }
    if *region != principal.region {
        return Err(Error::NotFound(messages::invalid_arn_region(
            region.as_str(),
        )));
    }
    Ok(())
}

/// AWS's message when no policy allows the caller.
pub(super) fn access_denied(principal: &Principal, action: &str, resource: &str) -> Error {
    Error::AccessDenied(messages::not_authorized(&principal.arn(), action, resource))
}

fn not_found(principal: &Principal, key_id: KeyId) -> Error {
    let arn = KeyArn {
        region: principal.region,
        account: principal.account,
        key_id,
    };
    Error::NotFound(messages::key_not_found(&arn.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_four_forms() {
        let id = KeyId::generate();
        assert_eq!(KeyRef::parse(&id.to_string()).unwrap(), KeyRef::Id(id));
        let arn = format!("arn:aws:kms:eu-west-1:111122223333:key/{id}");
        assert!(matches!(KeyRef::parse(&arn).unwrap(), KeyRef::KeyArn(a) if a.key_id == id));
        assert!(matches!(
            KeyRef::parse("alias/app").unwrap(),
            KeyRef::Alias(_)
        ));
        let alias_arn = "arn:aws:kms:us-east-1:111122223333:alias/app";
        assert!(matches!(
            KeyRef::parse(alias_arn).unwrap(),
            KeyRef::AliasArn { .. }
        ));
        for bad in [
            "",
            "nope",
            "alias/",
            "arn:aws:kms:us-east-1:111122223333:key/nope",
            "arn:aws:kms:us-east-1:12:key/00000000-0000-0000-0000-000000000000",
            "arn:aws:s3:::bucket",
        ] {
            assert!(
                matches!(KeyRef::parse(bad), Err(Error::NotFound(_))),
                "{bad}"
            );
        }
    }
}
