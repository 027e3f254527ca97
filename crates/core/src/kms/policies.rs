//! Key policies: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies, and the checks every policy a
//! caller sends goes through (size, grammar, principals, the lockout safety check).

use std::sync::Arc;

use super::Kms;
use super::conditions;
use super::iam::PrincipalProblem;
use super::resolve::{Access, KeyRef};
use crate::error::Error;
use crate::messages;
use crate::model::{Key, Principal};
use crate::operation::Operation;
use crate::policy::{Decision, KeyPolicy, Request, decide};

/// AWS's limit on key policy documents (32 KB).
const MAX_POLICY_BYTES: usize = 32 * 1024;
/// The one policy name a key has.
pub const DEFAULT_POLICY_NAME: &str = "default";

impl Kms {
    /// GetKeyPolicy: the policy as AWS renders it.
    pub async fn get_key_policy(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        name: Option<&str>,
    ) -> Result<Arc<KeyPolicy>, Error> {
        check_name(name)?;
        let key = self
            .resolve(principal, key_ref, Access::of(Operation::GetKeyPolicy))
            .await?;
        Ok(Arc::clone(&key.policy))
    }

    /// ListKeyPolicies: every key has exactly one, `default`.
    pub async fn list_key_policies(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
    ) -> Result<Vec<&'static str>, Error> {
        self.resolve(principal, key_ref, Access::of(Operation::ListKeyPolicies))
            .await?;
        Ok(vec![DEFAULT_POLICY_NAME])
    }

    /// PutKeyPolicy: replaces the key's policy, after the lockout safety check unless bypassed.
    pub async fn put_key_policy(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        name: Option<&str>,
        policy: &str,
        bypass_lockout_check: bool,
    ) -> Result<(), Error> {
        check_name(name)?;
        let bypass = if bypass_lockout_check {
            "true"
        } else {
            "false"
        };
        let values = [("kms:BypassPolicyLockoutSafetyCheck", bypass)];
        let access = Access::of(Operation::PutKeyPolicy).with_values(&values);
        // Authorized against the current policy first: a caller who may not change the policy
        // learns nothing about whether the new one would pass.
        let current = self.resolve_fresh(principal, key_ref, access).await?;
        let policy = Arc::new(
            self.checked_policy(principal, &current, policy, bypass_lockout_check)
                .await?,
        );
        self.modify_key(principal, key_ref, access, |key| {
            key.policy = Arc::clone(&policy);
            Ok(())
        })
        .await
        .map(drop)
    }

    /// A policy a caller sent for `key`: within AWS's size limit, a valid key policy, naming
    /// principals that exist, and (unless bypassed) one that still lets the caller change it:
    /// a PutKeyPolicy by the caller on this key, with its tags and facts, must be allowed.
    pub(super) async fn checked_policy(
        &self,
        principal: &Principal,
        key: &Key,
        text: &str,
        bypass_lockout_check: bool,
    ) -> Result<KeyPolicy, Error> {
        let arn = &key.arn;
        if text.len() > MAX_POLICY_BYTES {
            return Err(Error::LimitExceeded(messages::policy_too_large(
                text.len(),
                MAX_POLICY_BYTES,
            )));
        }
        let policy = KeyPolicy::submitted(text)
            .map_err(|error| Error::MalformedPolicyDocument(error.message))?;
        let Some(parsed) = policy.policy() else {
            return Err(Error::MalformedPolicyDocument(
                messages::POLICY_NOT_JSON.to_owned(),
            ));
        };
        let ids = self
            .check_principals_exist(parsed)
            .await
            .map_err(|problem| match problem {
                PrincipalProblem::Unknown(_) => {
                    Error::MalformedPolicyDocument(messages::POLICY_INVALID_PRINCIPAL.to_owned())
                }
                PrincipalProblem::Failed(error) => error,
            })?;
        let policy = policy.with_principal_ids(ids);
        let Some(parsed) = policy.policy() else {
            return Err(Error::MalformedPolicyDocument(
                messages::POLICY_NOT_JSON.to_owned(),
            ));
        };
        if !bypass_lockout_check {
            let resource = arn.to_string();
            let values = [("kms:BypassPolicyLockoutSafetyCheck", "false")];
            let access = Access::of(Operation::PutKeyPolicy).with_values(&values);
            let context = conditions::request_context(
                principal,
                self.clock.now(),
                access,
                Some(key),
                None,
                None,
            );
            let request = Request {
                action: Operation::PutKeyPolicy.facts().action,
                resource: &resource,
                key: Some((arn.account, parsed)),
            };
            if decide(&request, &principal.identity.policies, &context) != Decision::Allow {
                return Err(Error::MalformedPolicyDocument(
                    messages::POLICY_LOCKOUT.to_owned(),
                ));
            }
        }
        Ok(policy)
    }
}

/// The only policy name is `default`.
fn check_name(name: Option<&str>) -> Result<(), Error> {
    match name {
        None | Some(DEFAULT_POLICY_NAME) => Ok(()),
        Some(other) => Err(Error::NotFound(messages::policy_name_not_found(other))),
    }
}
