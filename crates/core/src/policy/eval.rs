//! The decision: may this caller perform this action on this resource, given the key policy
//! and the caller's identity policies?
//!
//! AWS KMS's rules: an explicit `Deny` anywhere wins; otherwise the key policy must allow. It
//! may allow the caller directly (naming its user, role or session, or everyone), or name the
//! caller's account, which hands the decision to the account's identity policies: one of
//! those must then allow too. A caller from another account needs both, always: the key
//! policy naming it (or its account) and its own identity policy. Actions on no key
//! (`kms:CreateKey`, `kms:ListKeys`, ...) are decided by identity policies alone.

use std::borrow::Cow;
use std::sync::Arc;

use super::context::{Context, RequestContext, Values};
use super::document::{Effect, Policy, Statement};
use super::principal::{Caller, CallerKind, Match};
use crate::model::AccountId;
use crate::operation::Operation;

/// Why a request was denied; each reason has its AWS message form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denial {
    /// A key policy statement denies.
    ExplicitInResourcePolicy,
    /// An identity policy statement denies.
    ExplicitInIdentityPolicy,
    /// The key policy allows neither the caller nor its account.
    NoResourcePolicyAllows,
    /// The key policy hands the decision to the account's identity policies (or the key is in
    /// another account, or the action names no key), and none allows.
    NoIdentityPolicyAllows,
}

impl Denial {
    /// Whether a statement denied explicitly: then nothing, not even a grant, allows.
    pub fn is_explicit(self) -> bool {
        matches!(
            self,
            Denial::ExplicitInResourcePolicy | Denial::ExplicitInIdentityPolicy
        )
    }
}

/// The outcome of an evaluation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The request may go ahead.
    Allow,
    /// It may not, for this reason.
    Deny(Denial),
}

/// The identity policies that apply to a caller: a user's or a role's inline policies. The
/// account root is allowed everything by identity, as in AWS (only a key policy can stop it).
#[derive(Clone, Debug, Default)]
pub struct IdentityPolicies {
    /// The policies, parsed when they were stored.
    pub policies: Vec<Arc<Policy>>,
}

/// Who a request is decided for: the caller and the identity policies that apply to it.
#[derive(Clone, Debug)]
pub struct Identity {
    /// The caller.
    pub caller: Caller,
    /// Its identity policies (for the root: none, and none needed).
    pub policies: IdentityPolicies,
}

impl Identity {
    /// The account's root: allowed everything by identity, as in AWS.
    pub fn root(account: AccountId) -> Self {
        Self {
            caller: Caller::root(account),
            policies: IdentityPolicies::default(),
        }
    }
}

impl PartialEq for Identity {
    /// Identities are the same caller; policies are what the store said of it.
    fn eq(&self, other: &Self) -> bool {
        self.caller == other.caller
    }
}

impl Eq for Identity {}

impl IdentityPolicies {
    /// Whether one of the policies tests the condition key `key`.
    pub fn mentions(&self, key: &str) -> bool {
        self.policies.iter().any(|policy| policy.mentions(key))
    }
}

/// What is asked: the action, the resource it acts on, and the resource's own policy.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The IAM action, such as `kms:Encrypt`.
    pub action: &'a str,
    /// The resource's ARN, or `*` for actions on no resource.
    pub resource: &'a str,
    /// The key: its account and its key policy. `None` for actions on no key.
    pub key: Option<(AccountId, &'a Policy)>,
}

/// How the statements of one policy apply to a request.
#[derive(Clone, Copy, Debug, Default)]
struct Verdict {
    denied: bool,
    /// The strongest way an `Allow` statement named the caller.
    allowed: Option<Match>,
}

fn verdict(
    policy: &Policy,
    request: &Request<'_>,
    context: &RequestContext<'_>,
    resource_policy: bool,
) -> Verdict {
    let mut verdict = Verdict::default();
    for statement in &policy.statements {
        let Some(matched) = applies(statement, policy, request, context, resource_policy) else {
            continue;
        };
        match statement.effect {
            Effect::Deny => {
                verdict.denied = true;
                return verdict;
            }
            Effect::Allow => verdict.allowed = verdict.allowed.max(Some(matched)),
        }
    }
    verdict
}

/// Whether `statement` covers the request, and how it named the caller.
fn applies(
    statement: &Statement,
    policy: &Policy,
    request: &Request<'_>,
    context: &RequestContext<'_>,
    resource_policy: bool,
) -> Option<Match> {
    let matched = match (&statement.principals, resource_policy) {
        (Some(principals), true) => principals.matches(context.caller, &policy.principal_ids),
        _ => Match::Direct,
    };
    if matched == Match::None {
        return None;
    }
    let lookup =
        |key: &str| -> Option<Cow<'_, str>> { context.values(key).and_then(Values::first) };
    if !statement.actions.matches(request.action, true, &lookup)
        || !statement
            .resources
            .matches(request.resource, false, &lookup)
    {
        return None;
    }
    statement
        .conditions
        .iter()
        .all(|condition| condition.holds(context))
        .then_some(matched)
}

/// How the caller's identity policies apply to `request`. The root is allowed everything by
/// identity.
fn identity_verdict(
    request: &Request<'_>,
    identity: &IdentityPolicies,
    context: &RequestContext<'_>,
) -> Verdict {
    if context.caller.kind == CallerKind::Root {
        return Verdict {
            denied: false,
            allowed: Some(Match::Direct),
        };
    }
    identity
        .policies
        .iter()
        .map(|policy| verdict(policy, request, context, false))
        .fold(Verdict::default(), |all, one| Verdict {
            denied: all.denied || one.denied,
            allowed: all.allowed.max(one.allowed),
        })
}

/// Whether the caller's identity policies allow `request` (and none denies it): what a grant
/// to another account, or to the caller's account, needs besides the grant.
pub fn identity_allows(
    request: &Request<'_>,
    identity: &IdentityPolicies,
    context: &RequestContext<'_>,
) -> bool {
    let verdict = identity_verdict(request, identity, context);
    !verdict.denied && verdict.allowed.is_some()
}

/// Decides `request` for the caller in `context`.
pub fn decide(
    request: &Request<'_>,
    identity: &IdentityPolicies,
    context: &RequestContext<'_>,
) -> Decision {
    let caller = context.caller;
    let key = request
        .key
        .map(|(account, policy)| (account, verdict(policy, request, context, true)));
    let identity = identity_verdict(request, identity, context);
    if key.is_some_and(|(_, key)| key.denied) {
        return Decision::Deny(Denial::ExplicitInResourcePolicy);
    }
    if identity.denied {
        return Decision::Deny(Denial::ExplicitInIdentityPolicy);
    }
    let identity_allows = identity.allowed.is_some();
    let Some((account, key)) = key else {
        return if identity_allows {
            Decision::Allow
        } else {
            Decision::Deny(Denial::NoIdentityPolicyAllows)
        };
    };
    let Some(named) = key.allowed else {
        return Decision::Deny(Denial::NoResourcePolicyAllows);
    };
    let same_account = account == caller.account;
    if !same_account
        && Operation::from_action(request.action).is_some_and(|op| !op.facts().cross_account)
    {
        // AWS never lets another account manage a key, whatever the policies say.
        return Decision::Deny(Denial::NoResourcePolicyAllows);
    }
    if (same_account && named == Match::Direct) || identity_allows {
        Decision::Allow
    } else {
        Decision::Deny(Denial::NoIdentityPolicyAllows)
    }
}
