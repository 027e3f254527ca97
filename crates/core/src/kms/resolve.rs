//! From the `KeyId` a caller sent (key id, key ARN, alias name or alias ARN) to a [`Key`], always
//! scoped by the caller's account, and from a key version to its unsealed material.

use std::sync::Arc;

use strongbox_crypto::KeyMaterial;

use super::Kms;
use super::cache::Caches;
use super::conditions;
use crate::audit;
use crate::error::{Error, Internal};
use crate::messages;
use crate::model::{
    AccountId, AliasName, GrantConstraint, GrantOperation, Key, KeyArn, KeyId, KeyVersion,
    Principal, Region, Tags, VersionId,
};
use crate::operation::{Operation, RE_ENCRYPT_TO, Resource};
use crate::policy::{
    self, ChildGrant, Decision, Denial, GrantUse, Request, RequestContext, decide, identity_allows,
};
use crate::store::PageRequest;
use std::collections::{BTreeMap, BTreeSet};
use strongbox_crypto::EncryptionContext;

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

/// The operation being authorized and the request's facts that conditions may test.
#[derive(Clone, Copy, Debug)]
pub(super) struct Access<'a> {
    /// The operation, whose facts (cross-account use, ...) the table gives.
    pub(super) operation_id: Operation,
    /// The IAM action: the operation's, or `kms:ReEncryptTo`.
    pub(super) action: &'static str,
    /// The request's encryption context (`kms:EncryptionContext:*`).
    pub(super) encryption_context: Option<&'a BTreeMap<String, String>>,
    /// Tags the request sets (`aws:RequestTag/*`, `aws:TagKeys`).
    pub(super) request_tags: Option<&'a Tags>,
    /// Tag keys the request removes (`aws:TagKeys`).
    pub(super) tag_keys: Option<&'a BTreeSet<String>>,
    /// Request parameters conditions may test (`kms:EncryptionAlgorithm`, ...).
    pub(super) values: &'a [(&'static str, &'a str)],
    /// The alias the request named the key by (`kms:RequestAlias`).
    pub(super) request_alias: Option<&'a str>,
    /// The grant CreateGrant would make (`kms:GrantOperations`, ..., and what a grant that
    /// allows CreateGrant must cover).
    pub(super) grant: Option<GrantAsk<'a>>,
}

/// The grant a CreateGrant request asks for, as conditions and delegating grants see it.
#[derive(Clone, Copy, Debug)]
pub(super) struct GrantAsk<'a> {
    /// The operations.
    pub(super) operations: &'a [GrantOperation],
    /// The constraint.
    pub(super) constraint: Option<&'a GrantConstraint>,
    /// The grantee's ARN.
    pub(super) grantee: &'a str,
    /// The retiring principal's ARN.
    pub(super) retiring: Option<&'a str>,
}

impl<'a> Access<'a> {
    /// The operation's own action, with no request facts yet.
    pub(super) const fn of(operation: Operation) -> Self {
        Self {
            operation_id: operation,
            action: operation.facts().action,
            encryption_context: None,
            request_tags: None,
            tag_keys: None,
            values: &[],
            request_alias: None,
            grant: None,
        }
    }

    /// ReEncrypt's second action, on the destination key.
    pub(super) const fn re_encrypt_to() -> Self {
        let mut access = Self::of(Operation::ReEncrypt);
        access.action = RE_ENCRYPT_TO;
        access
    }

    /// With the request's encryption context.
    pub(super) fn with_context(mut self, context: &'a EncryptionContext) -> Self {
        self.encryption_context = Some(context.pairs());
        self
    }

    /// With request parameters for conditions.
    pub(super) fn with_values(mut self, values: &'a [(&'static str, &'a str)]) -> Self {
        self.values = values;
        self
    }

    /// With the alias the request names (`kms:RequestAlias`).
    pub(super) fn with_alias(mut self, alias: &'a str) -> Self {
        self.request_alias = Some(alias);
        self
    }

    /// With the tag keys the request removes.
    pub(super) fn with_tag_keys(mut self, keys: &'a BTreeSet<String>) -> Self {
        self.tag_keys = Some(keys);
        self
    }

    /// With the grant CreateGrant would make; its constraint is the request's encryption
    /// context for `kms:EncryptionContext:` conditions, as AWS evaluates them on CreateGrant.
    pub(super) fn with_grant(mut self, grant: GrantAsk<'a>) -> Self {
        self.encryption_context = grant.constraint.map(GrantConstraint::pairs);
        self.grant = Some(grant);
        self
    }

    /// With the tags the request sets.
    pub(super) fn with_tags(mut self, tags: &'a Tags) -> Self {
        self.request_tags = Some(tags);
        self
    }

    /// The API operation, as AWS names it in messages.
    pub(super) fn operation(self) -> &'static str {
        self.operation_id.name()
    }
}

impl Kms {
    /// Resolves `key_ref` for `principal`, from the cache when possible, and authorizes the
    /// access (see [`Kms::authorize`]).
    pub(super) async fn resolve(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        access: Access<'_>,
    ) -> Result<Arc<Key>, Error> {
        let (account, key_id) = self.resolve_id(principal, key_ref, access).await?;
        let key = self
            .key_in(&account, &principal.region, key_id)
            .await?
            .ok_or_else(|| not_found(&account, &principal.region, key_id))?;
        self.authorize(principal, &key, access, key_ref).await?;
        Ok(key)
    }

    /// Resolves `key_ref` straight from the store, bypassing the cache: the starting point of a
    /// read-modify-write that compares and swaps on the revision. Authorized as `resolve`.
    pub(super) async fn resolve_fresh(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        access: Access<'_>,
    ) -> Result<Key, Error> {
        let (account, key_id) = self.resolve_id(principal, key_ref, access).await?;
        let key = self
            .store
            .key(&account, &principal.region, key_id)
            .await?
            .ok_or_else(|| not_found(&account, &principal.region, key_id))?;
        audit::resources::touch(&key.arn);
        self.authorize(principal, &key, access, key_ref).await?;
        Ok(key)
    }

    /// The key with this id in `account` and `region`, if any, from the cache when possible,
    /// recorded among the call's resources.
    pub(super) async fn key_in(
        &self,
        account: &AccountId,
        region: &Region,
        key_id: KeyId,
    ) -> Result<Option<Arc<Key>>, Error> {
        let key = self.key_unrecorded(account, region, key_id).await?;
        if let Some(key) = &key {
            audit::resources::touch(&key.arn);
        }
        Ok(key)
    }

    /// [`Kms::key_in`] without recording the key: for a key the caller may not learn about
    /// until it is authorized (a grant token's), which the caller records then.
    pub(super) async fn key_unrecorded(
        &self,
        account: &AccountId,
        region: &Region,
        key_id: KeyId,
    ) -> Result<Option<Arc<Key>>, Error> {
        if let Some(key) = self.cache.key(account, region, key_id) {
            return Ok(Some(key));
        }
        self.load_key(account, region, key_id).await
    }

    /// The key read from the store (and cached), after a cache miss.
    async fn load_key(
        &self,
        account: &AccountId,
        region: &Region,
        key_id: KeyId,
    ) -> Result<Option<Arc<Key>>, Error> {
        let epoch = self.cache.keys_epoch();
        let Some(key) = self.store.key(account, region, key_id).await? else {
            return Ok(None);
        };
        Ok(Some(self.cache.insert_key(key, epoch)))
    }

    /// The key a ciphertext names when the request names none: the caller's (recorded among
    /// the call's resources), else another account's in this Region (recorded once
    /// authorized). A cached key costs what it always did; only on a miss is the negative
    /// cache asked, so that a forged id reads the store once per credential TTL, not per call.
    pub(super) async fn key_for_ciphertext(
        &self,
        principal: &Principal,
        key_id: KeyId,
    ) -> Result<Option<Arc<Key>>, Error> {
        let (account, region) = (&principal.account, &principal.region);
        if let Some(key) = self.cache.key(account, region, key_id) {
            audit::resources::touch(&key.arn);
            return Ok(Some(key));
        }
        let now = self.clock.now();
        let absent = (*region, key_id);
        if Caches::known_absent(
            &self.cache.absent_keys,
            &absent,
            now,
            self.config.credential_ttl,
        ) {
            return Ok(None);
        }
        let epoch = self.cache.absent_keys.epoch();
        if let Some(key) = self.load_key(account, region, key_id).await? {
            audit::resources::touch(&key.arn);
            return Ok(Some(key));
        }
        let found = self.key_anywhere(region, key_id).await?;
        if found.is_none() {
            self.cache
                .absent_keys
                .insert_unless_changed(absent, now, epoch);
        }
        Ok(found)
    }

    /// The key with this id in `region`, whatever its account (from the cache when possible).
    /// Not recorded among the call's resources: the caller may not learn which key it is until
    /// it is authorized (the caller records it then).
    pub(super) async fn key_anywhere(
        &self,
        region: &Region,
        key_id: KeyId,
    ) -> Result<Option<Arc<Key>>, Error> {
        if let Some(key) = self.cache.key_anywhere(region, key_id) {
            return Ok(Some(key));
        }
        let epoch = self.cache.keys_epoch();
        let Some(key) = self.store.key_in_region(region, key_id).await? else {
            return Ok(None);
        };
        Ok(Some(self.cache.insert_key(key, epoch)))
    }

    /// Decides whether `principal` may perform `access` on `key`: the key policy and the
    /// caller's identity policies, then, where they allow nothing but deny nothing either,
    /// the caller's grants on the key (noted for the audit record when one allows). AWS's
    /// `AccessDeniedException`, with the policies' reason, when nothing allows.
    pub(super) async fn authorize(
        &self,
        principal: &Principal,
        key: &Key,
        access: Access<'_>,
        named_by: &KeyRef,
    ) -> Result<(), Error> {
        if access.operation_id.facts().resource == Resource::None {
            // An action on no key that names one (ListAliases with a KeyId): IAM alone decides.
            return self.authorize_unkeyed(principal, access, "*");
        }
        let resource = key.arn.to_string();
        let denied = |denial| access_denied(principal, access.action, &resource, denial);
        let Some(policy) = key.policy.policy() else {
            return Err(denied(Denial::NoResourcePolicyAllows));
        };
        let aliases = if policy.mentions("kms:ResourceAliases")
            || principal.identity.policies.mentions("kms:ResourceAliases")
        {
            Some(self.aliases_of(key).await?)
        } else {
            None
        };
        let request_alias = match named_by {
            KeyRef::Alias(name) | KeyRef::AliasArn { name, .. } => Some(name.as_str()),
            _ => access.request_alias,
        };
        let make_context = || {
            conditions::request_context(
                principal,
                self.clock.now(),
                access,
                Some(key),
                request_alias,
                aliases.as_deref(),
            )
        };
        let request = Request {
            action: access.action,
            resource: &resource,
            key: Some((key.arn.account, policy)),
        };
        let denial = match decide(&request, &principal.identity.policies, &make_context()) {
            Decision::Allow => return Ok(()),
            Decision::Deny(denial) => denial,
        };
        // Grants allow what no policy does, never what a policy denies.
        let Some(operation) = GrantOperation::from_action(access.action) else {
            return Err(denied(denial));
        };
        if denial.is_explicit() {
            return Err(denied(denial));
        }
        let held = self.grants_held(principal, key).await?;
        let wanted = GrantUse {
            operation,
            encryption_context: access.encryption_context,
            child: access.grant.map(|grant| ChildGrant {
                operations: grant.operations,
                constraint: grant.constraint,
            }),
        };
        let context = make_context();
        let allowing =
            policy::allowing(&held, principal.caller(), key.arn.account, &wanted, || {
                identity_allows(&request, &principal.identity.policies, &context)
            });
        match allowing {
            Some(grant) => {
                audit::resources::note_grant(grant.id);
                Ok(())
            }
            None => Err(denied(denial)),
        }
    }

    /// Decides an action from identity policies alone: an action on no key (CreateKey,
    /// ListKeys, ..., on resource `*`) or the alias side of an alias operation (on the alias's
    /// ARN).
    pub(super) fn authorize_unkeyed(
        &self,
        principal: &Principal,
        access: Access<'_>,
        resource: &str,
    ) -> Result<(), Error> {
        let context = conditions::request_context(
            principal,
            self.clock.now(),
            access,
            None,
            access.request_alias,
            None,
        );
        let request = Request {
            action: access.action,
            resource,
            key: None,
        };
        match decide(&request, &principal.identity.policies, &context) {
            Decision::Allow => Ok(()),
            Decision::Deny(denial) => {
                Err(access_denied(principal, access.action, resource, denial))
            }
        }
    }

    /// Decides an IAM or STS action (`iam:CreateUser` on a user's ARN, ...) from the caller's
    /// identity policies alone: those services have no resource policies here.
    pub fn authorize_action(
        &self,
        principal: &Principal,
        action: &str,
        resource: &str,
    ) -> Result<(), Error> {
        let mut context = RequestContext::new(principal.caller(), self.clock.now());
        context.source_ip = principal.source_ip;
        context.secure_transport = Some(principal.secure_transport);
        let request = Request {
            action,
            resource,
            key: None,
        };
        match decide(&request, &principal.identity.policies, &context) {
            Decision::Allow => Ok(()),
            Decision::Deny(denial) => Err(access_denied(principal, action, resource, denial)),
        }
    }

    /// The names of the aliases pointing at `key` (`kms:ResourceAliases`).
    async fn aliases_of(&self, key: &Key) -> Result<Vec<String>, Error> {
        let mut names = Vec::new();
        let mut after = None;
        loop {
            let page = PageRequest { limit: 1000, after };
            let found = self
                .store
                .list_aliases(&key.arn.account, &key.arn.region, Some(key.id()), &page)
                .await?;
            names.extend(found.items.into_iter().map(|a| a.name.as_str().to_owned()));
            match found.next {
                Some(next) => after = Some(next),
                None => return Ok(names),
            }
        }
    }

    /// The account and id of the key `key_ref` names. A key ARN or alias ARN of another account
    /// names that account's key when the operation may cross accounts (the key policy then
    /// decides); bare ids and alias names are always the caller's own.
    pub(super) async fn resolve_id(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        access: Access<'_>,
    ) -> Result<(AccountId, KeyId), Error> {
        match key_ref {
            KeyRef::Id(id) => Ok((principal.account, *id)),
            KeyRef::KeyArn(arn) => {
                check_region(principal, &arn.region)?;
                if arn.account != principal.account && !access.operation_id.facts().cross_account {
                    return Err(Error::NotFound(messages::key_not_found(&arn.to_string())));
                }
                Ok((arn.account, arn.key_id))
            }
            KeyRef::Alias(name) => Ok((
                principal.account,
                self.alias_target(&principal.account, &principal.region, name)
                    .await?,
            )),
            KeyRef::AliasArn {
                region,
                account,
                name,
            } => {
                check_region(principal, region)?;
                if *account != principal.account && !access.operation_id.facts().cross_account {
                    return Err(Error::NotFound(messages::key_not_found(
                        &name.arn(region, account),
                    )));
                }
                Ok((*account, self.alias_target(account, region, name).await?))
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

    /// The key an alias of `account` in `region` points at.
    async fn alias_target(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
    ) -> Result<KeyId, Error> {
        let scope = (*account, *region, name.clone());
        if let Some(target) = self.cache.aliases.get(&scope) {
            return Ok(target);
        }
        let epoch = self.cache.aliases.epoch();
        let alias = self
            .store
            .alias(account, region, name)
            .await?
            .ok_or_else(|| {
                Error::NotFound(messages::alias_not_found(&name.arn(region, account)))
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
        let now = self.clock.now();
        let absent = (key.id(), version);
        if Caches::known_absent(
            &self.cache.absent_versions,
            &absent,
            now,
            self.config.credential_ttl,
        ) {
            return Ok(None);
        }
        let epoch = self.cache.absent_versions.epoch();
        let Some(stored) = self
            .store
            .key_version(&key.arn.account, key.id(), version)
            .await?
        else {
            self.cache
                .absent_versions
                .insert_unless_changed(absent, now, epoch);
            return Ok(None);
        };
        let secret = self
            .unseal_for(
                &key.arn.account,
                &KeyVersion::seal_binding(key, version),
                &stored.sealed,
            )
            .await?;
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

/// Refuses names in other Regions (`NotFound`, they do not exist here) and, for aliases and
/// multi-Region ids, other accounts (`AccessDenied` where AWS lets the operation cross accounts,
/// `NotFound` where it never does).
fn check_scope(
    principal: &Principal,
    region: &Region,
    account: &AccountId,
    arn: &str,
    access: Access<'_>,
) -> Result<(), Error> {
    if *account != principal.account {
        return Err(if access.operation_id.facts().cross_account {
            access_denied(
                principal,
                access.action,
                arn,
                Denial::NoResourcePolicyAllows,
            )
        } else {
            Error::NotFound(messages::key_not_found(arn))
        });
    }
    check_region(principal, region)
}

fn check_region(principal: &Principal, region: &Region) -> Result<(), Error> {
    if *region != principal.region {
        return Err(Error::NotFound(messages::invalid_arn_region(
            region.as_str(),
        )));
    }
    Ok(())
}

/// AWS's message for a denial, by its reason.
pub(super) fn access_denied(
    principal: &Principal,
    action: &str,
    resource: &str,
    denial: Denial,
) -> Error {
    Error::AccessDenied(messages::access_denied(
        principal.arn(),
        action,
        resource,
        denial,
    ))
}

fn not_found(account: &AccountId, region: &Region, key_id: KeyId) -> Error {
    let arn = KeyArn {
        region: *region,
        account: *account,
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
