//! STS: AssumeRole and the temporary credentials it issues.
//!
//! A session's credentials are self-contained: the session token is the session's facts and
//! secret, sealed under the root key with the access key id as associated data. Any node can
//! check it without a store lookup (stateless nodes over one database), nothing has to be
//! cleaned up when it expires, and a token moved to another access key id does not open.
//! The role's policies are read at each request, so deleting a role or its policies takes
//! effect at once, as in AWS.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use strongbox_crypto::SecretBytes;
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use super::Kms;
use super::accounts::{Credentials, random_chars};
use crate::error::Error;
use crate::messages;
use crate::model::{AccessKey, AccessKeyId, AccessKeyStatus, AccountId, Principal, Role};
use crate::policy::{
    Caller, CallerKind, Decision, Identity, PrincipalId, Request, RequestContext, decide,
};
use crate::seal::SealedKey;

/// AssumeRole's `DurationSeconds` bounds (the role's own limit applies too).
pub const SESSION_SECONDS: std::ops::RangeInclusive<i64> = 900..=43200;
/// A session assumed by another role's session lasts at most an hour.
const CHAINED_SESSION_MAX: i64 = 3600;
/// The action that assumes a role.
const ASSUME_ROLE: &str = "sts:AssumeRole";

/// What AssumeRole asks for.
#[derive(Clone, Debug)]
pub struct AssumeRoleInput {
    /// The role.
    pub role_arn: String,
    /// The session's name, in the assumed-role ARN.
    pub session_name: String,
    /// 900 to 43200 seconds (3600 by default).
    pub duration_seconds: Option<i64>,
    /// `sts:ExternalId`, which trust policies may require.
    pub external_id: Option<String>,
}

/// Temporary credentials.
pub struct SessionCredentials {
    /// `ASIA...`.
    pub access_key_id: AccessKeyId,
    /// The secret.
    pub secret: SecretBytes,
    /// The session token to send as `X-Amz-Security-Token`.
    pub token: String,
    /// When they stop working.
    pub expires: OffsetDateTime,
    /// The session's caller (its assumed-role ARN and id).
    pub caller: Caller,
}

/// What a session token holds.
#[derive(Serialize, Deserialize)]
struct SessionFacts {
    account: String,
    role: String,
    /// The role's unique id: a role deleted and made again under the same name is another
    /// role, and the old sessions do not act for it.
    role_id: String,
    session: String,
    expires: i64,
    secret: String,
    /// Whether the session was assumed by another role's session (role chaining).
    chained: bool,
}

impl Drop for SessionFacts {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret);
    }
}

/// Why a session token was refused.
#[derive(Debug)]
pub enum SessionError {
    /// It is not one of ours, or was made for another access key id.
    Invalid,
    /// It was, and has expired.
    Expired,
    /// Checking it failed on our side.
    Failed(Error),
}

/// What a session token's sealed facts are bound to: the role's account and the session's
/// access key id. A token is the account id (12 ASCII digits, to find the account's
/// key-encryption key) followed by the facts sealed under that key. (Tokens issued before
/// sealed values were bound this way no longer open: their sessions, at most 12 hours long,
/// are assumed again.)
fn binding(account: &AccountId, id: &AccessKeyId) -> crate::seal::Binding {
    crate::seal::Binding::new("strongbox/session")
        .field(account.as_str())
        .field(id.as_str())
}

/// Length of the account id at the head of a session token.
const TOKEN_ACCOUNT_LEN: usize = 12;

impl Kms {
    /// AssumeRole: temporary credentials for a session of the role, when its trust policy
    /// (and, as the trust policy requires, the caller's identity policies) allow.
    pub async fn assume_role(
        &self,
        principal: &Principal,
        input: AssumeRoleInput,
    ) -> Result<SessionCredentials, Error> {
        let caller = principal.caller();
        let denied = || {
            Error::AccessDenied(format!(
                "User: {} is not authorized to perform: {ASSUME_ROLE} on resource: {}",
                caller.arn, input.role_arn
            ))
        };
        if caller.kind == CallerKind::Root {
            return Err(Error::AccessDenied(
                messages::ROOT_CANNOT_ASSUME_ROLE.to_owned(),
            ));
        }
        let chained = matches!(caller.kind, CallerKind::AssumedRole { .. });
        let Some(PrincipalId::Role { account, .. }) = PrincipalId::parse(&input.role_arn) else {
            return Err(Error::Validation(messages::invalid_role_arn(
                &input.role_arn,
            )));
        };
        let name = input.role_arn.rsplit('/').next().unwrap_or_default();
        let Some((role, _)) = self.role_with_policies(&account, name).await? else {
            return Err(denied());
        };
        if role.arn() != input.role_arn {
            return Err(denied());
        }
        let mut trust =
            crate::policy::Policy::parse(&role.trust_policy, crate::policy::PolicyKind::Trust)
                .map_err(|_| denied())?;
        trust.principal_ids = role.trust_principal_ids.clone();
        let mut context = RequestContext::new(caller, self.clock.now());
        context.source_ip = principal.source_ip;
        context.secure_transport = Some(principal.secure_transport);
        let external = input
            .external_id
            .as_deref()
            .map(|id| [("sts:ExternalId", id)]);
        if let Some(values) = &external {
            context.params = values;
        }
        let resource = role.arn();
        let request = Request {
            action: ASSUME_ROLE,
            resource: &resource,
            key: Some((role.account, &trust)),
        };
        if decide(&request, &principal.identity.policies, &context) != Decision::Allow {
            return Err(denied());
        }
        // Only an allowed caller learns the role's limits.
        let duration = input.duration_seconds.unwrap_or(3600);
        if !SESSION_SECONDS.contains(&duration) {
            return Err(Error::Validation(messages::validation(&[
                messages::Violation::range(duration, "durationSeconds", 900, 43200)
                    .unwrap_or_else(|| messages::Violation::null("durationSeconds")),
            ])));
        }
        if chained && duration > CHAINED_SESSION_MAX {
            return Err(Error::Validation(
                messages::CHAINED_SESSION_TOO_LONG.to_owned(),
            ));
        }
        if duration > i64::from(role.max_session_seconds) {
            return Err(Error::Validation(messages::SESSION_TOO_LONG.to_owned()));
        }
        self.issue_session(&role, &input.session_name, duration, chained)
            .await
    }

    async fn issue_session(
        &self,
        role: &Role,
        session: &str,
        duration: i64,
        chained: bool,
    ) -> Result<SessionCredentials, Error> {
        let id = random_chars(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)?;
        let access_key_id = AccessKeyId::parse(&format!("ASIA{}", String::from_utf8_lossy(&id)))?;
        let secret = Zeroizing::new(random_chars(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            40,
        )?);
        let expires = self.clock.now() + Duration::seconds(duration);
        let facts = SessionFacts {
            account: role.account.to_string(),
            role: role.name.clone(),
            role_id: role.id.clone(),
            session: session.to_owned(),
            expires: expires.unix_timestamp(),
            secret: String::from_utf8_lossy(&secret).into_owned(),
            chained,
        };
        let plain = Zeroizing::new(serde_json::to_vec(&facts).map_err(|error| {
            Error::Internal(crate::error::Internal::new(
                "session token",
                error.to_string(),
            ))
        })?);
        let sealed = self
            .seal_for(
                &role.account,
                &binding(&role.account, &access_key_id),
                &plain,
            )
            .await?;
        let mut token = Vec::with_capacity(TOKEN_ACCOUNT_LEN + sealed.as_bytes().len());
        token.extend_from_slice(role.account.as_str().as_bytes());
        token.extend_from_slice(sealed.as_bytes());
        Ok(SessionCredentials {
            caller: Caller::assumed_role(role.account, &role.path, &role.name, &role.id, session),
            access_key_id,
            secret: SecretBytes::new(secret.to_vec()),
            token: STANDARD.encode(token),
            expires,
        })
    }

    /// The credentials and identity of a session, from its token; refused when the token is
    /// not ours, was made for another access key id, has expired, or its role is gone.
    pub async fn session(
        &self,
        access_key_id: &AccessKeyId,
        token: &str,
    ) -> Result<(Arc<Credentials>, Arc<Identity>), SessionError> {
        let token = STANDARD
            .decode(token.trim())
            .map_err(|_| SessionError::Invalid)?;
        let (sealing_account, sealed) = token
            .split_at_checked(TOKEN_ACCOUNT_LEN)
            .ok_or(SessionError::Invalid)?;
        let sealing_account = std::str::from_utf8(sealing_account)
            .ok()
            .and_then(|id| AccountId::parse(id).ok())
            .ok_or(SessionError::Invalid)?;
        let plain = self
            .unseal_for(
                &sealing_account,
                &binding(&sealing_account, access_key_id),
                &SealedKey::from_bytes(sealed.to_vec()),
            )
            .await
            .map_err(|_| SessionError::Invalid)?;
        let facts: SessionFacts =
            serde_json::from_slice(plain.expose()).map_err(|_| SessionError::Invalid)?;
        let expires = OffsetDateTime::from_unix_timestamp(facts.expires)
            .map_err(|_| SessionError::Invalid)?;
        if self.clock.now() >= expires {
            return Err(SessionError::Expired);
        }
        let account = AccountId::parse(&facts.account).map_err(|_| SessionError::Invalid)?;
        if account != sealing_account {
            return Err(SessionError::Invalid);
        }
        let Some((role, policies)) = self
            .role_with_policies(&account, &facts.role)
            .await
            .map_err(SessionError::Failed)?
        else {
            return Err(SessionError::Invalid);
        };
        if role.id != facts.role_id {
            return Err(SessionError::Invalid);
        }
        let credentials = Credentials {
            key: AccessKey {
                id: access_key_id.clone(),
                account,
                user: role.name.clone(),
                sealed_secret: SealedKey::from_bytes(Vec::new()),
                status: AccessKeyStatus::Active,
                created_at: expires,
            },
            secret: SecretBytes::new(facts.secret.as_bytes().to_vec()),
        };
        let identity = Identity {
            caller: Caller::assumed_role(account, &role.path, &role.name, &role.id, &facts.session),
            policies: (*policies).clone(),
        };
        Ok((Arc::new(credentials), Arc::new(identity)))
    }
}
