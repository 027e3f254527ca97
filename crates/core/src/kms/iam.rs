//! IAM identities inside an account (users, roles, their inline policies and access keys) and
//! the identity each request is decided for.
//!
//! Policies are checked and parsed when they are stored; the parsed form of a user's or role's
//! policies is cached with the identity (for [`KmsConfig::credential_ttl`], like secrets, so
//! that a change made by another process is seen within that time; a change made here is seen
//! at once).
//!
//! [`KmsConfig::credential_ttl`]: super::KmsConfig::credential_ttl

use std::sync::Arc;

use time::OffsetDateTime;

use super::Kms;
use crate::error::Error;
use crate::messages;
use crate::model::iam::{ADMIN_POLICY_DOCUMENT, ADMIN_POLICY_NAME};
use crate::model::{
    AccessKeyId, AccessKeyStatus, AccountId, InlinePolicy, PolicyOwner, Role, User,
};
use crate::policy::{
    Caller, Identity, IdentityPolicies, Policy, PolicyError, PolicyKind, PrincipalId, PrincipalIds,
};
use crate::store::{Page, PageRequest, StoreErrorKind};
use crate::validate;

/// IAM's limit on user names (CreateUser); other calls accept up to 128.
const USER_NAME_MAX: usize = 64;
/// IAM's limits on role and policy names.
const ROLE_NAME_MAX: usize = 64;
const POLICY_NAME_MAX: usize = 128;
/// IAM's aggregate inline-policy sizes (non-whitespace characters).
const USER_POLICIES_MAX: usize = 2048;
const ROLE_POLICIES_MAX: usize = 10240;
/// IAM's default trust-policy size quota.
const TRUST_POLICY_MAX: usize = 2048;
/// Session limits a role may set (seconds).
pub const MAX_SESSION_RANGE: std::ops::RangeInclusive<u32> = 3600..=43200;
/// Access keys a user may have.
const ACCESS_KEYS_PER_USER: usize = 2;

/// A cached identity and when it was read.
pub(super) struct CachedIdentity {
    pub(super) policies: Arc<IdentityPolicies>,
    /// For a user: the identity its requests are decided for, built once per load.
    pub(super) user: Option<Arc<Identity>>,
    /// The user or role record.
    pub(super) owner: Owner,
    pub(super) loaded_at: OffsetDateTime,
}

/// The record behind a cached identity.
#[derive(Clone)]
pub(super) enum Owner {
    User(Arc<User>),
    Role(Arc<Role>),
}

/// A unique id with IAM's prefix: four letters and 17 of `[A-Z2-7]`.
fn unique_id(prefix: &str) -> Result<String, Error> {
    let chars = super::accounts::random_chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 17)?;
    Ok(format!("{prefix}{}", String::from_utf8_lossy(&chars)))
}

/// IAM's size measure for inline policies: characters other than whitespace.
fn policy_size(document: &str) -> usize {
    document.chars().filter(|c| !c.is_whitespace()).count()
}

/// An identity policy a caller sent, with IAM's messages.
fn identity_policy(document: &str) -> Result<Policy, Error> {
    Policy::parse(document, PolicyKind::Identity).map_err(|error| {
        Error::MalformedPolicyDocument(if error.not_json {
            messages::IAM_POLICY_SYNTAX.to_owned()
        } else {
            error.message
        })
    })
}

/// Whether a trust policy's actions are all STS role-assumption actions.
fn only_assume_role_actions(document: &str) -> bool {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(document) else {
        return false;
    };
    let statements = match &value["Statement"] {
        serde_json::Value::Array(list) => list.clone(),
        one => vec![one.clone()],
    };
    statements.iter().all(|statement| {
        let actions = match &statement["Action"] {
            serde_json::Value::String(one) => vec![one.as_str()],
            serde_json::Value::Array(list) => list.iter().filter_map(|v| v.as_str()).collect(),
            _ => vec![],
        };
        actions.iter().all(|action| {
            let lower = action.to_ascii_lowercase();
            lower.starts_with("sts:assumerole")
                || lower == "sts:tagsession"
                || lower == "sts:setsourceidentity"
                || lower == "sts:*"
        })
    })
}

impl Kms {
    /// CreateUser.
    pub async fn create_user(
        &self,
        account: &AccountId,
        name: &str,
        path: Option<&str>,
        policies: &[InlinePolicy],
    ) -> Result<User, Error> {
        validate::iam_name("userName", name, USER_NAME_MAX)?;
        let path = path.unwrap_or("/");
        validate::iam_path(path)?;
        self.account(account).await?;
        let user = User {
            account: *account,
            name: name.to_owned(),
            path: path.to_owned(),
            id: unique_id("AIDA")?,
            created_at: self.clock.now(),
        };
        match self.store.create_user(&user, policies).await {
            Ok(()) => Ok(user),
            Err(error) if error.kind() == StoreErrorKind::Conflict => {
                Err(Error::AlreadyExists(messages::user_exists(name)))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// GetUser.
    pub async fn get_user(&self, account: &AccountId, name: &str) -> Result<User, Error> {
        validate::iam_name("userName", name, POLICY_NAME_MAX)?;
        self.store
            .user(account, name)
            .await?
            .ok_or_else(|| Error::NotFound(messages::no_such_user(name)))
    }

    /// ListUsers.
    pub async fn list_users(
        &self,
        account: &AccountId,
        page: &PageRequest,
    ) -> Result<Page<User>, Error> {
        Ok(self.store.list_users(account, page).await?)
    }

    /// DeleteUser: only a user with no access keys and no policies, as IAM requires.
    pub async fn delete_user(&self, account: &AccountId, name: &str) -> Result<(), Error> {
        let user = self.get_user(account, name).await?;
        let keys = self.store.list_access_keys(account).await?;
        if keys
            .iter()
            .any(|key| key.user.eq_ignore_ascii_case(&user.name))
        {
            return Err(Error::Conflict(
                messages::DELETE_CONFLICT_ACCESS_KEYS.to_owned(),
            ));
        }
        let owner = PolicyOwner::User(user.name.clone());
        if !self
            .store
            .inline_policies(account, &owner)
            .await?
            .is_empty()
        {
            return Err(Error::Conflict(
                messages::DELETE_CONFLICT_POLICIES.to_owned(),
            ));
        }
        if !self.store.delete_user(account, &user.name).await? {
            return Err(Error::NotFound(messages::no_such_user(name)));
        }
        self.forget_identity(account, &owner);
        Ok(())
    }

    /// CreateRole.
    pub async fn create_role(&self, account: &AccountId, role: RoleInput) -> Result<Role, Error> {
        validate::iam_name("roleName", &role.name, ROLE_NAME_MAX)?;
        let path = role.path.as_deref().unwrap_or("/");
        validate::iam_path(path)?;
        let max_session_seconds = role
            .max_session_seconds
            .unwrap_or(*MAX_SESSION_RANGE.start());
        self.account(account).await?;
        let trust_principal_ids = self.check_trust_policy(&role.trust_policy).await?;
        let role = Role {
            account: *account,
            name: role.name,
            path: path.to_owned(),
            id: unique_id("AROA")?,
            trust_policy: role.trust_policy,
            trust_principal_ids,
            description: role.description.unwrap_or_default(),
            max_session_seconds,
            created_at: self.clock.now(),
        };
        match self.store.create_role(&role).await {
            Ok(()) => Ok(role),
            Err(error) if error.kind() == StoreErrorKind::Conflict => {
                Err(Error::AlreadyExists(messages::role_exists(&role.name)))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// GetRole.
    pub async fn get_role(&self, account: &AccountId, name: &str) -> Result<Role, Error> {
        validate::iam_name("roleName", name, ROLE_NAME_MAX)?;
        self.store
            .role(account, name)
            .await?
            .ok_or_else(|| Error::NotFound(messages::no_such_role(name)))
    }

    /// ListRoles.
    pub async fn list_roles(
        &self,
        account: &AccountId,
        page: &PageRequest,
    ) -> Result<Page<Role>, Error> {
        Ok(self.store.list_roles(account, page).await?)
    }

    /// UpdateAssumeRolePolicy.
    pub async fn update_trust_policy(
        &self,
        account: &AccountId,
        name: &str,
        trust_policy: String,
    ) -> Result<(), Error> {
        let mut role = self.get_role(account, name).await?;
        role.trust_principal_ids = self.check_trust_policy(&trust_policy).await?;
        role.trust_policy = trust_policy;
        if !self.store.update_role(&role).await? {
            return Err(Error::NotFound(messages::no_such_role(name)));
        }
        self.forget_identity(account, &PolicyOwner::Role(role.name));
        Ok(())
    }

    /// DeleteRole: only a role without policies.
    pub async fn delete_role(&self, account: &AccountId, name: &str) -> Result<(), Error> {
        let role = self.get_role(account, name).await?;
        let owner = PolicyOwner::Role(role.name.clone());
        if !self
            .store
            .inline_policies(account, &owner)
            .await?
            .is_empty()
        {
            return Err(Error::Conflict(
                messages::DELETE_CONFLICT_POLICIES.to_owned(),
            ));
        }
        if !self.store.delete_role(account, &role.name).await? {
            return Err(Error::NotFound(messages::no_such_role(name)));
        }
        self.forget_identity(account, &owner);
        Ok(())
    }

    /// The user or role an inline policy call names, which must exist; its stored name.
    async fn existing_owner(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
    ) -> Result<PolicyOwner, Error> {
        Ok(match owner {
            PolicyOwner::User(name) => PolicyOwner::User(self.get_user(account, name).await?.name),
            PolicyOwner::Role(name) => PolicyOwner::Role(self.get_role(account, name).await?.name),
        })
    }

    /// PutUserPolicy, PutRolePolicy.
    pub async fn put_inline_policy(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
        policy: InlinePolicy,
    ) -> Result<(), Error> {
        validate::iam_name("policyName", &policy.name, POLICY_NAME_MAX)?;
        let owner = self.existing_owner(account, owner).await?;
        let limit = match owner {
            PolicyOwner::User(_) => USER_POLICIES_MAX,
            PolicyOwner::Role(_) => ROLE_POLICIES_MAX,
        };
        let too_large = || {
            Error::LimitExceeded(messages::inline_policies_too_large(
                limit,
                owner.kind(),
                owner.name(),
            ))
        };
        // Measured before parsing: a huge document costs nothing but this count.
        if policy_size(&policy.document) > limit {
            return Err(too_large());
        }
        identity_policy(&policy.document)?;
        let others = self.store.inline_policies(account, &owner).await?;
        let total: usize = others
            .iter()
            .filter(|other| other.name != policy.name)
            .map(|other| policy_size(&other.document))
            .sum::<usize>()
            + policy_size(&policy.document);
        if total > limit {
            return Err(too_large());
        }
        self.store
            .put_inline_policy(account, &owner, &policy)
            .await?;
        self.forget_identity(account, &owner);
        Ok(())
    }

    /// GetUserPolicy, GetRolePolicy.
    /// Also returns the owner with its name as created (requests may spell it in another case).
    pub async fn get_inline_policy(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
        name: &str,
    ) -> Result<(PolicyOwner, InlinePolicy), Error> {
        validate::iam_name("policyName", name, POLICY_NAME_MAX)?;
        let owner = self.existing_owner(account, owner).await?;
        let policy = self
            .store
            .inline_policies(account, &owner)
            .await?
            .into_iter()
            .find(|policy| policy.name == name)
            .ok_or_else(|| Error::NotFound(messages::no_such_inline_policy(owner.kind(), name)))?;
        Ok((owner, policy))
    }

    /// ListUserPolicies, ListRolePolicies: the names, in order.
    pub async fn list_inline_policies(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
    ) -> Result<Vec<String>, Error> {
        let owner = self.existing_owner(account, owner).await?;
        Ok(self
            .store
            .inline_policies(account, &owner)
            .await?
            .into_iter()
            .map(|policy| policy.name)
            .collect())
    }

    /// DeleteUserPolicy, DeleteRolePolicy.
    pub async fn delete_inline_policy(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
        name: &str,
    ) -> Result<(), Error> {
        validate::iam_name("policyName", name, POLICY_NAME_MAX)?;
        let owner = self.existing_owner(account, owner).await?;
        if !self
            .store
            .delete_inline_policy(account, &owner, name)
            .await?
        {
            return Err(Error::NotFound(messages::no_such_inline_policy(
                owner.kind(),
                name,
            )));
        }
        self.forget_identity(account, &owner);
        Ok(())
    }

    /// CreateAccessKey through IAM: at most two keys per user.
    pub async fn create_user_access_key(
        &self,
        account: &AccountId,
        user: &str,
    ) -> Result<super::NewAccessKey, Error> {
        let user = self.get_user(account, user).await?;
        let keys = self.store.list_access_keys(account).await?;
        let held = keys
            .iter()
            .filter(|key| key.user.eq_ignore_ascii_case(&user.name))
            .count();
        if held >= ACCESS_KEYS_PER_USER {
            return Err(Error::LimitExceeded(messages::ACCESS_KEY_QUOTA.to_owned()));
        }
        self.create_access_key(account, &user.name, None).await
    }

    /// UpdateAccessKey: makes a user's key active or inactive.
    pub async fn set_access_key_status(
        &self,
        account: &AccountId,
        user: &str,
        id: &AccessKeyId,
        status: AccessKeyStatus,
    ) -> Result<(), Error> {
        let user = self.get_user(account, user).await?;
        let owned = self.store.access_key(id).await?.is_some_and(|key| {
            key.account == *account && key.user.eq_ignore_ascii_case(&user.name)
        });
        if !owned
            || !self
                .store
                .set_access_key_status(account, id, status)
                .await?
        {
            return Err(Error::NotFound(messages::no_such_access_key(id.as_str())));
        }
        self.cache.credentials.remove(id);
        Ok(())
    }

    /// The identity of an IAM user, with its policies; `None` when the user is gone.
    pub async fn user_identity(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<Arc<Identity>>, Error> {
        let Some(cached) = self
            .cached_identity(account, &PolicyOwner::User(name.to_owned()))
            .await?
        else {
            return Ok(None);
        };
        Ok(cached.user.clone())
    }

    /// A role and its policies, for AssumeRole and for its sessions' requests; `None` when
    /// the role is gone.
    pub async fn role_with_policies(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<(Arc<Role>, Arc<IdentityPolicies>)>, Error> {
        let Some(cached) = self
            .cached_identity(account, &PolicyOwner::Role(name.to_owned()))
            .await?
        else {
            return Ok(None);
        };
        match &cached.owner {
            Owner::Role(role) => Ok(Some((Arc::clone(role), Arc::clone(&cached.policies)))),
            Owner::User(_) => Ok(None),
        }
    }

    async fn cached_identity(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
    ) -> Result<Option<Arc<CachedIdentity>>, Error> {
        let now = self.clock.now();
        let key = (*account, owner.kind(), owner.name_key());
        if let Some(cached) = self.cache.identities.get(&key)
            && now - cached.loaded_at < self.config.credential_ttl
        {
            return Ok(Some(cached));
        }
        let epoch = self.cache.identities.epoch();
        let record = match owner {
            PolicyOwner::User(name) => self
                .store
                .user(account, name)
                .await?
                .map(|u| Owner::User(Arc::new(u))),
            PolicyOwner::Role(name) => self
                .store
                .role(account, name)
                .await?
                .map(|r| Owner::Role(Arc::new(r))),
        };
        let Some(record) = record else {
            return Ok(None);
        };
        let mut policies = IdentityPolicies::default();
        for stored in self.store.inline_policies(account, owner).await? {
            match Policy::parse(&stored.document, PolicyKind::Identity) {
                Ok(policy) => policies.policies.push(Arc::new(policy)),
                Err(error) => tracing::warn!(
                    %error, policy = %stored.name, owner = owner.name(),
                    "a stored inline policy does not parse; it allows nothing"
                ),
            }
        }
        let user = match &record {
            Owner::User(user) => Some(Arc::new(Identity {
                caller: Caller::user(*account, &user.path, &user.name, &user.id),
                policies: policies.clone(),
            })),
            Owner::Role(_) => None,
        };
        let cached = Arc::new(CachedIdentity {
            policies: Arc::new(policies),
            user,
            owner: record,
            loaded_at: now,
        });
        self.cache
            .identities
            .insert_unless_changed(key, Arc::clone(&cached), epoch);
        Ok(Some(cached))
    }

    fn forget_identity(&self, account: &AccountId, owner: &PolicyOwner) {
        self.cache
            .identities
            .remove(&(*account, owner.kind(), owner.name_key()));
    }

    /// The administrator policy every account's `admin` user gets.
    pub fn admin_policy() -> InlinePolicy {
        InlinePolicy {
            name: ADMIN_POLICY_NAME.to_owned(),
            document: ADMIN_POLICY_DOCUMENT.to_owned(),
        }
    }

    /// Refuses a policy naming users or roles that do not exist (or whose ARN does not match
    /// theirs), as AWS refuses "invalid principals".
    pub(super) async fn check_principals_exist(
        &self,
        policy: &Policy,
    ) -> Result<PrincipalIds, PrincipalProblem> {
        let mut ids = PrincipalIds::new();
        for principal in policy.principals() {
            if matches!(principal, PrincipalId::Account(_)) {
                continue;
            }
            match self.unique_id(principal).await? {
                Some(id) => {
                    ids.insert(principal_arn(principal), id);
                }
                None => return Err(PrincipalProblem::Unknown(principal_arn(principal))),
            }
        }
        Ok(ids)
    }

    /// The unique id of the user or role `principal` names (a session: its role's), `None`
    /// when there is no such user or role; for an account, its id when the account exists.
    pub(super) async fn unique_id(
        &self,
        principal: &PrincipalId,
    ) -> Result<Option<String>, PrincipalProblem> {
        let failed = |e: crate::store::StoreError| PrincipalProblem::Failed(e.into());
        Ok(match principal {
            PrincipalId::Account(account) => self
                .store
                .account(account)
                .await
                .map_err(failed)?
                .map(|account| account.id.to_string()),
            PrincipalId::User { account, arn } => {
                let name = arn.rsplit('/').next().unwrap_or_default();
                self.store
                    .user(account, name)
                    .await
                    .map_err(failed)?
                    .filter(|user| user.arn() == *arn)
                    .map(|user| user.id)
            }
            PrincipalId::Role { account, arn } => {
                let name = arn.rsplit('/').next().unwrap_or_default();
                self.store
                    .role(account, name)
                    .await
                    .map_err(failed)?
                    .filter(|role| role.arn() == *arn)
                    .map(|role| role.id)
            }
            PrincipalId::Session { account, role, .. } => self
                .store
                .role(account, role)
                .await
                .map_err(failed)?
                // Found ignoring case, but a session ARN names the role as it is spelled.
                .filter(|found| found.name == *role)
                .map(|role| role.id),
        })
    }

    /// A trust policy a caller sent: IAM's size quota, grammar, actions and principals; the
    /// unique ids of the users and roles it names.
    async fn check_trust_policy(&self, document: &str) -> Result<PrincipalIds, Error> {
        if document.chars().count() > TRUST_POLICY_MAX {
            return Err(Error::LimitExceeded(
                messages::TRUST_POLICY_TOO_LARGE.to_owned(),
            ));
        }
        let policy = Policy::parse(document, PolicyKind::Trust).map_err(|error: PolicyError| {
            Error::MalformedPolicyDocument(if error.not_json {
                messages::TRUST_POLICY_INVALID_JSON.to_owned()
            } else {
                error.message
            })
        })?;
        if !only_assume_role_actions(document) {
            return Err(Error::MalformedPolicyDocument(
                messages::TRUST_POLICY_ACTIONS.to_owned(),
            ));
        }
        self.check_principals_exist(&policy)
            .await
            .map_err(|problem| match problem {
                PrincipalProblem::Unknown(arn) => {
                    Error::MalformedPolicyDocument(messages::trust_policy_invalid_principal(&arn))
                }
                PrincipalProblem::Failed(error) => error,
            })
    }
}

/// Why a policy's principals were refused.
pub(super) enum PrincipalProblem {
    /// This principal names no user or role.
    Unknown(String),
    /// The store could not say.
    Failed(Error),
}

pub(super) fn principal_arn(principal: &PrincipalId) -> String {
    match principal {
        PrincipalId::Account(account) => format!("arn:aws:iam::{account}:root"),
        PrincipalId::User { arn, .. }
        | PrincipalId::Role { arn, .. }
        | PrincipalId::Session { arn, .. } => arn.clone(),
    }
}

/// What CreateRole asks for.
#[derive(Clone, Debug)]
pub struct RoleInput {
    /// The role's name.
    pub name: String,
    /// Its path (`/` by default).
    pub path: Option<String>,
    /// The trust policy.
    pub trust_policy: String,
    /// Free text.
    pub description: Option<String>,
    /// 3600 to 43200 seconds (3600 by default).
    pub max_session_seconds: Option<u32>,
}
