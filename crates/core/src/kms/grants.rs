//! CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant; grant tokens; and
//! the grants a caller holds on a key, which `resolve.rs` consults when no policy allows.
//!
//! A grant token is the grant's key ARN and id, authenticated with HMAC-SHA-256 under a
//! service-wide key (sealed in the store, made on first use): any node can check it without
//! the store, and nobody can forge one. (An HMAC, not a seal under the root key: tokens are
//! not secret, and a caller who makes grants must not spend the root key's nonce budget.) It makes a grant usable before this node's
//! grant cache has seen it (AWS's documented use for new grants); the grant itself must still
//! exist, so a retired or revoked grant stops working at once, token or not.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use strongbox_crypto::{KeyMaterial, MacAlgorithm};

use super::Kms;
use super::cache::CachedGrants;
use super::iam::{PrincipalProblem, principal_arn};
use super::resolve::{Access, GrantAsk, KeyRef, access_denied};
use crate::audit;
use crate::error::Error;
use crate::messages;
use crate::model::{
    AccountId, Grant, GrantConstraint, GrantId, GrantOperation, GrantPrincipal, GrantRef, Key,
    KeyArn, KeyId, KeySpec, Principal, Region,
};
use crate::operation::Operation;
use crate::policy::{
    Decision, Denial, Match, PrincipalId, Request, decide, identity_allows, principal_match,
};
use crate::store::{GrantCreated, GrantFilter, Page, PageRequest};

/// AWS's quota of grants per key.
pub const DEFAULT_GRANTS_PER_KEY: u32 = 50_000;
/// AWS's bounds on a grant constraint: pairs, and characters per value.
const MAX_CONSTRAINT_PAIRS: usize = 8;
const MAX_CONSTRAINT_VALUE: usize = 384;

/// The grant-token key's name in the store's meta table.
const TOKEN_KEY_NAME: &str = "grant-token-key";
/// The token format's version, its first byte.
const TOKEN_VERSION: u8 = 1;
/// A token's parts: version, a random nonce (every CreateGrant answer has a token of its own, as
/// AWS's do), the grant (Region with its length, account, key id, grant id), and the
/// HMAC-SHA-256 of all that under the grant-token key.
const TOKEN_NONCE: usize = 16;
const TOKEN_TAG: usize = 32;
const TOKEN_LEN_MAX: usize = 1 + TOKEN_NONCE + 1 + 255 + 12 + 16 + 32 + TOKEN_TAG;

/// What CreateGrant asks for.
#[derive(Clone, Debug)]
pub struct CreateGrantInput {
    /// The grantee's ARN.
    pub grantee: String,
    /// The retiring principal's ARN.
    pub retiring: Option<String>,
    /// The operations, as requested (duplicates are dropped).
    pub operations: Vec<GrantOperation>,
    /// The encryption-context constraint.
    pub constraint: Option<GrantConstraint>,
    /// The name, for idempotent retries.
    pub name: Option<String>,
    /// Check everything, store nothing, and answer `DryRunOperationException`.
    pub dry_run: bool,
}

/// CreateGrant's answer.
#[derive(Clone, Debug)]
pub struct CreatedGrant {
    /// The grant (an existing one for a retry by name).
    pub id: GrantId,
    /// A fresh token for it.
    pub token: String,
}

/// Which grant RetireGrant retires.
#[derive(Clone, Debug)]
pub enum RetireTarget {
    /// The grant a token names; `key` and `id`, when also given, must name the same grant.
    Token {
        /// The token.
        token: String,
        /// A `KeyId` sent with it.
        key: Option<KeyRef>,
        /// A `GrantId` sent with it.
        id: Option<GrantId>,
    },
    /// A grant by key and id.
    Id {
        /// The key.
        key: KeyRef,
        /// The grant.
        id: GrantId,
    },
}

impl Kms {
    /// The grants `tokens` name, each checked: `InvalidGrantTokenException` for any token this
    /// service did not issue.
    pub async fn grant_tokens(&self, tokens: &[String]) -> Result<Vec<GrantRef>, Error> {
        let key = self.grant_token_key().await?;
        tokens.iter().map(|token| open_token(&key, token)).collect()
    }

    async fn open_token(&self, token: &str) -> Result<GrantRef, Error> {
        open_token(&*self.grant_token_key().await?, token)
    }

    async fn issue_token(&self, grant: &GrantRef) -> Result<String, Error> {
        let key = self.grant_token_key().await?;
        let mut bytes = Vec::with_capacity(TOKEN_LEN_MAX);
        bytes.push(TOKEN_VERSION);
        bytes.extend_from_slice(&strongbox_crypto::random_id()?);
        encode_grant(grant, &mut bytes);
        let tag = strongbox_crypto::mac(MacAlgorithm::HmacSha256, &key, &bytes);
        bytes.extend_from_slice(&tag);
        Ok(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The grant-token key: 32 random bytes made on first use and kept sealed in the store, so
    /// that every node (and every restart) accepts the tokens any of them issued.
    async fn grant_token_key(&self) -> Result<Arc<KeyMaterial>, Error> {
        self.grant_token_key
            .get_or_try_init(|| async {
                let secret = self
                    .service_secret(TOKEN_KEY_NAME, || Ok(strongbox_crypto::random_bytes(32)?))
                    .await?;
                Ok::<_, Error>(Arc::new(KeyMaterial::from_bytes(secret.expose().to_vec())))
            })
            .await
            .cloned()
    }

    /// CreateGrant.
    pub async fn create_grant(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        input: &CreateGrantInput,
    ) -> Result<CreatedGrant, Error> {
        let mut operations = input.operations.clone();
        dedup_in_order(&mut operations);
        let ask = GrantAsk {
            operations: &operations,
            constraint: input.constraint.as_ref(),
            grantee: &input.grantee,
            retiring: input.retiring.as_deref(),
        };
        let access = Access::of(Operation::CreateGrant).with_grant(ask);
        let key = self.resolve(principal, key_ref, access).await?;
        crate::state::allows(Operation::CreateGrant, key.state, &key.arn)?;
        check_grant_shape(&key, &operations, input.constraint.as_ref())?;
        let grantee = self.grant_principal(&input.grantee).await?;
        let retiring = match &input.retiring {
            Some(arn) => Some(self.grant_principal(arn).await?),
            None => None,
        };
        if input.dry_run {
            return Err(Error::DryRun);
        }
        let grant = Grant {
            key: key.arn.clone(),
            id: GrantId::generate(),
            name: input.name.clone(),
            grantee,
            retiring,
            operations,
            constraint: input.constraint.clone(),
            issuing_account: principal.account,
            created_at: self.clock.now(),
        };
        let id = match self
            .store
            .create_grant(&grant, self.config.grants_per_key)
            .await?
        {
            GrantCreated::Created => {
                self.cache
                    .grants
                    .remove(&(key.id(), grant.grantee.arn.clone()));
                grant.id
            }
            GrantCreated::Existing(id) => id,
            GrantCreated::KeyGone => {
                return Err(Error::NotFound(messages::key_not_found(
                    &key.arn.to_string(),
                )));
            }
            GrantCreated::LimitReached => {
                return Err(Error::LimitExceeded(messages::grant_limit(
                    &key.arn.to_string(),
                    self.config.grants_per_key,
                )));
            }
        };
        let token = self
            .issue_token(&GrantRef {
                key: key.arn.clone(),
                id,
            })
            .await?;
        Ok(CreatedGrant { id, token })
    }

    /// ListGrants: a key's grants, optionally one grant or one grantee's.
    pub async fn list_grants(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        grant_id: Option<GrantId>,
        grantee: Option<&str>,
        page: &PageRequest,
    ) -> Result<Page<Grant>, Error> {
        let key = self
            .resolve(principal, key_ref, Access::of(Operation::ListGrants))
            .await?;
        if let Some(grantee) = grantee {
            self.grant_principal(grantee).await?;
        }
        let filter = GrantFilter { grant_id, grantee };
        let mut found = self.store.list_grants(&key.arn, filter, page).await?;
        self.show_principals_as_they_are(&mut found.items).await?;
        Ok(found)
    }

    /// Lists a grant's principals as AWS does once they are gone: a user or role deleted (or
    /// deleted and made again under the same name, which is another principal) is shown by the
    /// unique id the grant holds (`AIDA...`, `AROA...`, `AROA...:session` for a session).
    async fn show_principals_as_they_are(&self, grants: &mut [Grant]) -> Result<(), Error> {
        let mut current: std::collections::HashMap<String, Option<String>> =
            std::collections::HashMap::new();
        for grant in grants.iter_mut() {
            for principal in std::iter::once(&mut grant.grantee).chain(grant.retiring.as_mut()) {
                let Some(held) = principal.id.clone() else {
                    continue;
                };
                if !current.contains_key(&principal.arn) {
                    let now = match PrincipalId::parse(&principal.arn) {
                        Some(parsed) => match self.unique_id(&parsed).await {
                            Ok(id) => id,
                            Err(PrincipalProblem::Unknown(_)) => None,
                            Err(PrincipalProblem::Failed(error)) => return Err(error),
                        },
                        None => None,
                    };
                    current.insert(principal.arn.clone(), now);
                }
                if current.get(&principal.arn).and_then(Option::as_deref) != Some(held.as_str()) {
                    principal.arn = match PrincipalId::parse(&principal.arn) {
                        Some(PrincipalId::Session { arn, .. }) => {
                            let session = arn.rsplit('/').next().unwrap_or_default();
                            format!("{held}:{session}")
                        }
                        _ => held,
                    };
                }
            }
        }
        Ok(())
    }

    /// ListRetirableGrants: the grants, on any account's keys in this Region, that a principal
    /// of the caller's account may retire. Decided by the caller's identity policies, on the
    /// retiring principal as the resource, as AWS documents.
    pub async fn list_retirable_grants(
        &self,
        principal: &Principal,
        retiring: &str,
        page: &PageRequest,
    ) -> Result<Page<Grant>, Error> {
        self.authorize_unkeyed(
            principal,
            Access::of(Operation::ListRetirableGrants),
            retiring,
        )?;
        // Another account's principal is refused before it is looked up, so that nothing is
        // learned of which principals other tenants have.
        let account = PrincipalId::parse(retiring).map(|id| id.account());
        if account.is_some_and(|account| account != principal.account) {
            return Err(Error::AccessDenied(messages::retiring_principal_elsewhere(
                principal.arn(),
                retiring,
            )));
        }
        let named = self.grant_principal(retiring).await?;
        // Grants that named an earlier user or role of the same name are not this one's: the
        // store matches the unique id too.
        let mut found = self
            .store
            .list_retirable_grants(&principal.region, &named, page)
            .await?;
        self.show_principals_as_they_are(&mut found.items).await?;
        Ok(found)
    }

    /// RetireGrant, by token or by key and grant id. Allowed to the grant's retiring
    /// principal, to its grantee when the grant includes RetireGrant, and to the account that
    /// issued it; a principal of another account than the key's also needs `kms:RetireGrant`
    /// from its own identity policies. An explicit deny of `kms:RetireGrant` stops anyone.
    pub async fn retire_grant(
        &self,
        principal: &Principal,
        target: &RetireTarget,
        dry_run: bool,
    ) -> Result<(), Error> {
        let access = Access::of(Operation::RetireGrant);
        let (key, id) = match target {
            RetireTarget::Token { token, key, id } => {
                let named = self.open_token(token).await?;
                if named.key.region != principal.region {
                    // Each Region is its own service: another Region's token is not ours.
                    return Err(Error::InvalidGrantToken(
                        messages::INVALID_GRANT_TOKEN.to_owned(),
                    ));
                }
                if id.is_some_and(|id| id != named.id) {
                    return Err(Error::InvalidGrantId(messages::INVALID_GRANT_ID.to_owned()));
                }
                if let Some(key_ref) = key {
                    let (account, key_id) = self.resolve_id(principal, key_ref, access).await?;
                    if (account, key_id) != (named.key.account, named.key.key_id) {
                        return Err(Error::InvalidGrantId(messages::INVALID_GRANT_ID.to_owned()));
                    }
                }
                let key = self
                    .key_unrecorded(&named.key.account, &named.key.region, named.key.key_id)
                    .await?
                    .ok_or_else(|| grant_missing(named.id, &named.key))?;
                (key, named.id)
            }
            RetireTarget::Id { key, id } => {
                let (account, key_id) = self.resolve_id(principal, key, access).await?;
                let arn = KeyArn {
                    region: principal.region,
                    account,
                    key_id,
                };
                let key = self
                    .key_unrecorded(&arn.account, &arn.region, arn.key_id)
                    .await?
                    .ok_or_else(|| Error::NotFound(messages::key_not_found(&arn.to_string())))?;
                (key, *id)
            }
        };
        let grant = self.store.grant(&key.arn, id).await?;
        let Some(grant) = grant else {
            // Gone (retired or revoked): said to the token's holder, whom the grant named,
            // and to the key's account; anyone else learns nothing of the key's grants.
            let by_token = matches!(target, RetireTarget::Token { .. });
            if by_token || principal.account == key.arn.account {
                return Err(grant_missing(id, &key.arn));
            }
            return Err(access_denied(
                principal,
                Operation::RetireGrant.facts().action,
                &key.arn.to_string(),
                Denial::NoIdentityPolicyAllows,
            ));
        };
        self.authorize_retire(principal, &key, &grant)?;
        audit::resources::touch(&key.arn);
        audit::resources::note_grant(grant.id);
        if dry_run {
            return Err(Error::DryRun);
        }
        self.remove_grant(&grant).await
    }

    /// RevokeGrant: `kms:RevokeGrant` from the key policy and identity policies; no grant can
    /// allow it.
    pub async fn revoke_grant(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        id: GrantId,
        dry_run: bool,
    ) -> Result<(), Error> {
        let key = self
            .resolve(principal, key_ref, Access::of(Operation::RevokeGrant))
            .await?;
        let grant = self
            .store
            .grant(&key.arn, id)
            .await?
            .ok_or_else(|| grant_missing(id, &key.arn))?;
        if dry_run {
            return Err(Error::DryRun);
        }
        self.remove_grant(&grant).await
    }

    /// Deletes a grant and forgets it on this node at once.
    async fn remove_grant(&self, grant: &Grant) -> Result<(), Error> {
        let deleted = self.store.delete_grant(&grant.key, grant.id).await?;
        self.cache
            .grants
            .remove(&(grant.key.key_id, grant.grantee.arn.clone()));
        if deleted {
            Ok(())
        } else {
            // Retired or revoked by someone else meanwhile.
            Err(grant_missing(grant.id, &grant.key))
        }
    }

    /// Who may retire `grant` (see [`Kms::retire_grant`]).
    fn authorize_retire(
        &self,
        principal: &Principal,
        key: &Key,
        grant: &Grant,
    ) -> Result<(), Error> {
        let action = Operation::RetireGrant.facts().action;
        let resource = key.arn.to_string();
        let caller = principal.caller();
        let context = super::conditions::request_context(
            principal,
            self.clock.now(),
            Access::of(Operation::RetireGrant),
            Some(key),
            None,
            None,
        );
        let denied = |denial| access_denied(principal, action, &resource, denial);
        let with_key_policy = Request {
            action,
            resource: &resource,
            key: key.policy.policy().map(|policy| (key.arn.account, policy)),
        };
        if let Decision::Deny(denial) =
            decide(&with_key_policy, &principal.identity.policies, &context)
            && denial.is_explicit()
        {
            return Err(denied(denial));
        }
        let by_identity = Request {
            action,
            resource: &resource,
            key: None,
        };
        let identity = || identity_allows(&by_identity, &principal.identity.policies, &context);
        let same_account = caller.account == key.arn.account;
        let is_root = caller.kind == crate::policy::CallerKind::Root;
        let named = |p: &GrantPrincipal| match principal_match(p, caller) {
            Match::Direct => same_account || identity(),
            Match::Account => identity(),
            Match::None => false,
        };
        let as_retiring = grant.retiring.as_ref().is_some_and(named);
        let as_grantee =
            grant.allows_operation(GrantOperation::RetireGrant) && named(&grant.grantee);
        let as_issuer = caller.account == grant.issuing_account && (is_root || identity());
        if as_retiring || as_grantee || as_issuer {
            Ok(())
        } else {
            Err(denied(Denial::NoIdentityPolicyAllows))
        }
    }

    /// A grantee or retiring principal a request names: an ARN of an account root, user,
    /// role or role session (`InvalidArnException` for anything else) that exists, with the
    /// unique id of the user or role it names now.
    async fn grant_principal(&self, arn: &str) -> Result<GrantPrincipal, Error> {
        let parsed = match PrincipalId::parse(arn) {
            Some(parsed) if arn.starts_with("arn:") => parsed,
            _ => return Err(Error::InvalidArn(messages::arn_not_valid(arn))),
        };
        let id = match self.unique_id(&parsed).await {
            Ok(Some(id)) => id,
            Ok(None) | Err(PrincipalProblem::Unknown(_)) => {
                return Err(Error::InvalidArn(messages::arn_not_a_principal(
                    &principal_arn(&parsed),
                )));
            }
            Err(PrincipalProblem::Failed(error)) => return Err(error),
        };
        Ok(GrantPrincipal {
            arn: arn.to_owned(),
            id: (!matches!(parsed, PrincipalId::Account(_))).then_some(id),
        })
    }

    /// The grants `principal` holds on `key` (to itself, its role, or its account), from the
    /// cache when possible, and those its grant tokens name, read from the store (a token
    /// works on a node that has not seen its grant yet, and not once the grant is gone). Cached grants are
    /// trusted for the credential TTL, which bounds how long another node's CreateGrant,
    /// RetireGrant or RevokeGrant takes to be seen here; this node's are seen at once.
    pub(super) async fn grants_held(
        &self,
        principal: &Principal,
        key: &Key,
    ) -> Result<Vec<Arc<Grant>>, Error> {
        let caller = principal.caller();
        let root = format!("arn:aws:iam::{}:root", caller.account);
        let mut grantees = vec![caller.arn.as_str(), caller.principal_arn(), root.as_str()];
        grantees.dedup();
        let now = self.clock.now();
        let mut held: Vec<Arc<Grant>> = Vec::new();
        for grantee in grantees {
            let scope = (key.id(), grantee.to_owned());
            if let Some(cached) = self.cache.grants.get(&scope)
                && now - cached.loaded_at < self.config.credential_ttl
            {
                held.extend(cached.grants.iter().cloned());
                continue;
            }
            let epoch = self.cache.grants.epoch();
            let grants: Vec<Arc<Grant>> = self
                .store
                .grants_to(&key.arn, grantee)
                .await?
                .into_iter()
                .map(Arc::new)
                .collect();
            held.extend(grants.iter().cloned());
            let cached = Arc::new(CachedGrants {
                grants,
                loaded_at: now,
            });
            self.cache
                .grants
                .insert_unless_changed(scope, cached, epoch);
        }
        // A token's grant is read from the store, which has the last word: present, it is
        // used even if this node has not cached it yet; gone, it is not used even if cached.
        for token in principal.grant_tokens.iter().filter(|t| t.key == key.arn) {
            held.retain(|grant| grant.id != token.id);
            if let Some(grant) = self.store.grant(&key.arn, token.id).await? {
                held.push(Arc::new(grant));
            }
        }
        Ok(held)
    }
}

/// AWS's rules on what a grant on `key` may hold: a constraint only on a symmetric encryption
/// key, only the operations the key's type supports, and more than CreateGrant alone.
fn check_grant_shape(
    key: &Key,
    operations: &[GrantOperation],
    constraint: Option<&GrantConstraint>,
) -> Result<(), Error> {
    let symmetric_encryption = key.spec == KeySpec::SymmetricDefault;
    if let Some(constraint) = constraint {
        if !symmetric_encryption {
            return Err(Error::Validation(
                messages::GRANT_CONTEXT_SYMMETRIC_ONLY.to_owned(),
            ));
        }
        let pairs = constraint.pairs();
        let mut lowered: Vec<String> = pairs.keys().map(|k| k.to_lowercase()).collect();
        lowered.sort_unstable();
        lowered.dedup();
        if lowered.len() != pairs.len() {
            // Keys match ignoring case: two that differ only in case would be one key twice.
            return Err(Error::Validation(
                messages::GRANT_CONSTRAINT_KEYS_CASE.to_owned(),
            ));
        }
        if pairs.len() > MAX_CONSTRAINT_PAIRS
            || pairs
                .values()
                .any(|value| value.chars().count() > MAX_CONSTRAINT_VALUE)
        {
            return Err(Error::Validation(
                messages::GRANT_CONSTRAINT_TOO_LARGE.to_owned(),
            ));
        }
    }
    let valid = GrantOperation::valid_for(key.spec, key.usage);
    let refused: Vec<&str> = operations
        .iter()
        .filter(|op| !valid.contains(op))
        .map(|op| op.as_str())
        .collect();
    if !refused.is_empty() {
        let kind = if key.spec.is_asymmetric() {
            "asymmetric"
        } else {
            "symmetric"
        };
        let valid: Vec<&str> = valid.iter().map(|op| op.as_str()).collect();
        return Err(Error::Validation(messages::grant_operations_not_supported(
            &refused, kind, key.usage, &valid,
        )));
    }
    if operations == [GrantOperation::CreateGrant] {
        return Err(Error::Validation(
            messages::GRANT_ONLY_CREATE_GRANT.to_owned(),
        ));
    }
    Ok(())
}

/// Drops repeated operations, keeping the first of each: linear in the list however long a
/// request makes it (a set of 17 bits, not a search per item).
fn dedup_in_order(operations: &mut Vec<GrantOperation>) {
    let mut seen = 0u32;
    operations.retain(|op| {
        let bit = 1u32 << (*op as u32);
        let first = seen & bit == 0;
        seen |= bit;
        first
    });
}

fn grant_missing(id: GrantId, key: &KeyArn) -> Error {
    Error::NotFound(messages::grant_not_found(&id.to_string(), &key.to_string()))
}

/// Appends the grant a token names: Region (length-prefixed), account, key id, grant id.
fn encode_grant(grant: &GrantRef, bytes: &mut Vec<u8>) {
    let region = grant.key.region.as_str().as_bytes();
    bytes.push(u8::try_from(region.len()).unwrap_or(u8::MAX));
    bytes.extend_from_slice(region);
    bytes.extend_from_slice(grant.key.account.as_str().as_bytes());
    bytes.extend_from_slice(&grant.key.key_id.to_bytes());
    bytes.extend_from_slice(&grant.id.to_bytes());
}

/// The grant `token` names, if its tag is right (compared in constant time) and it is well
/// formed.
fn open_token(key: &KeyMaterial, token: &str) -> Result<GrantRef, Error> {
    let invalid = || Error::InvalidGrantToken(messages::INVALID_GRANT_TOKEN.to_owned());
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let split = bytes.len().checked_sub(TOKEN_TAG).ok_or_else(invalid)?;
    let (signed, tag) = bytes.split_at(split);
    if !strongbox_crypto::verify_mac(MacAlgorithm::HmacSha256, key, signed, tag) {
        return Err(invalid());
    }
    decode_grant(signed).ok_or_else(invalid)
}

fn decode_grant(signed: &[u8]) -> Option<GrantRef> {
    let (&version, rest) = signed.split_first()?;
    if version != TOKEN_VERSION {
        return None;
    }
    let (_nonce, rest) = rest.split_at_checked(TOKEN_NONCE)?;
    let (&region_len, rest) = rest.split_first()?;
    let (region, rest) = rest.split_at_checked(usize::from(region_len))?;
    let (account, rest) = rest.split_at_checked(12)?;
    let (key_id, grant_id) = rest.split_at_checked(16)?;
    Some(GrantRef {
        key: KeyArn {
            region: Region::parse(std::str::from_utf8(region).ok()?).ok()?,
            account: AccountId::parse(std::str::from_utf8(account).ok()?).ok()?,
            key_id: KeyId::from_bytes(key_id.try_into().ok()?),
        },
        id: GrantId::from_bytes(grant_id.try_into().ok()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_grant_and_nothing_else_opens() {
        let grant = GrantRef {
            key: KeyArn {
                region: Region::parse("eu-west-1").unwrap(),
                account: AccountId::parse("111122223333").unwrap(),
                key_id: KeyId::generate(),
            },
            id: GrantId::generate(),
        };
        let key = KeyMaterial::from_bytes(vec![7; 32]);
        let mut bytes = vec![TOKEN_VERSION];
        bytes.extend_from_slice(&[0; TOKEN_NONCE]);
        encode_grant(&grant, &mut bytes);
        assert_eq!(decode_grant(&bytes), Some(grant.clone()));
        for cut in 0..bytes.len() {
            assert_eq!(decode_grant(&bytes[..cut]), None, "{cut}");
        }
        let tag = strongbox_crypto::mac(MacAlgorithm::HmacSha256, &key, &bytes);
        let token = |bytes: &[u8], tag: &[u8]| URL_SAFE_NO_PAD.encode([bytes, tag].concat());
        assert_eq!(open_token(&key, &token(&bytes, &tag)).unwrap(), grant);
        let other_key = KeyMaterial::from_bytes(vec![8; 32]);
        assert!(open_token(&other_key, &token(&bytes, &tag)).is_err());
        let mut changed = bytes.clone();
        let last = changed.len() - 1;
        changed[last] ^= 1;
        assert!(
            open_token(&key, &token(&changed, &tag)).is_err(),
            "another grant id"
        );
        for bad in ["", "AAAA", "not base64!", &URL_SAFE_NO_PAD.encode(&tag)] {
            assert!(
                matches!(open_token(&key, bad), Err(Error::InvalidGrantToken(_))),
                "{bad}"
            );
        }
        let mut other_version = bytes.clone();
        other_version[0] = 2;
        let tag = strongbox_crypto::mac(MacAlgorithm::HmacSha256, &key, &other_version);
        assert!(open_token(&key, &token(&other_version, &tag)).is_err());
    }

    #[test]
    fn duplicate_operations_are_dropped_in_order() {
        let mut ops = vec![
            GrantOperation::Encrypt,
            GrantOperation::Decrypt,
            GrantOperation::Encrypt,
        ];
        dedup_in_order(&mut ops);
        assert_eq!(ops, [GrantOperation::Encrypt, GrantOperation::Decrypt]);
    }
}
