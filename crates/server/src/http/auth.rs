//! SigV4 authentication: from the request's `Authorization` header to a [`Principal`].
//!
//! Parsing and checking the signature are pure (the `strongbox-sigv4` crate); this module only
//! looks up the access key, checks the scope against the served Regions, and maps failures to
//! AWS's codes.

use http::header::AUTHORIZATION;
use http::request::Parts;
use strongbox_core::kms::SessionError;
use strongbox_core::messages;
use strongbox_core::model::{AccessKeyId, Principal, Region};
use strongbox_sigv4::{Authorization, Request};

use std::net::SocketAddr;

use super::AppState;
use crate::listener::SecureTransport;
use crate::wire::{ApiError, ErrorCode};

/// A refused request, with the caller it claimed to be once its access key was found: from
/// then on the account is known and the refusal is recorded in that account's audit trail.
#[derive(Debug)]
pub struct Rejected {
    /// The answer.
    pub error: ApiError,
    /// The identity behind the access key, if it exists.
    pub claimed: Option<Principal>,
}

impl From<ApiError> for Rejected {
    fn from(error: ApiError) -> Self {
        Self {
            error,
            claimed: None,
        }
    }
}

/// The header that carries a session token of temporary credentials.
const SECURITY_TOKEN: &str = "x-amz-security-token";

/// Authenticates a request whose body has been read, signed for `service`. Signature times are
/// checked against the real clock, never the dev clock, so moving key time cannot open a
/// replay window.
pub async fn authenticate(
    state: &AppState,
    service: &str,
    parts: &Parts,
    body: &[u8],
    peer: SocketAddr,
) -> Result<Principal, Rejected> {
    let secure = parts
        .extensions
        .get::<SecureTransport>()
        .is_some_and(|tls| tls.0);
    let regions = state.regions.as_slice();
    let header = parts.headers.get(AUTHORIZATION).ok_or_else(|| {
        ApiError::new(
            ErrorCode::MissingAuthenticationToken,
            "Missing Authentication Token",
        )
    })?;
    let header = header.to_str().map_err(|_| {
        ApiError::new(
            ErrorCode::IncompleteSignature,
            "The Authorization header is not valid ASCII text",
        )
    })?;
    let authorization = Authorization::parse(header)
        .map_err(|error| ApiError::new(ErrorCode::IncompleteSignature, error.to_string()))?;
    if authorization.scope.service != service {
        return Err(ApiError::new(
            ErrorCode::InvalidSignature,
            format!(
                "Credential should be scoped to correct service: '{service}', not '{}'.",
                authorization.scope.service
            ),
        )
        .into());
    }
    let global = matches!(service, "iam" | "sts");
    let scoped = Region::parse(&authorization.scope.region).ok();
    let region = regions
        .iter()
        .find(|served| served.as_str() == authorization.scope.region)
        .copied()
        // IAM and STS are global here: clients sign them for whatever Region they are set to.
        .or_else(|| scoped.filter(|_| global))
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::InvalidSignature,
                format!(
                    "Credential should be scoped to a valid region: '{}' is not served here (served: {}).",
                    authorization.scope.region,
                    regions.iter().map(Region::as_str).collect::<Vec<_>>().join(", ")
                ),
            )
        })?;
    let unrecognized = || {
        ApiError::new(
            ErrorCode::UnrecognizedClient,
            "The security token included in the request is invalid.",
        )
    };
    let access_key_id =
        AccessKeyId::parse(&authorization.access_key_id).map_err(|_| unrecognized())?;
    // Temporary credentials (AssumeRole) carry their session in the token, sealed for their
    // access key id; long-term keys never come with a token (AWS refuses a token it did not
    // issue).
    let (credentials, identity) = match parts.headers.get(SECURITY_TOKEN) {
        Some(token) => {
            let token = token.to_str().map_err(|_| unrecognized())?;
            state
                .kms
                .session(&access_key_id, token)
                .await
                .map_err(|error| match error {
                    SessionError::Expired => {
                        ApiError::new(ErrorCode::ExpiredToken, messages::EXPIRED_TOKEN)
                    }
                    SessionError::Invalid => unrecognized(),
                    SessionError::Failed(error) => ApiError::from(error),
                })?
        }
        None => {
            let credentials = state
                .kms
                .credentials(&access_key_id)
                .await
                .map_err(ApiError::from)?
                .ok_or_else(unrecognized)?;
            let identity = state
                .kms
                .user_identity(&credentials.key.account, &credentials.key.user)
                .await
                .map_err(ApiError::from)?
                .ok_or_else(unrecognized)?;
            (credentials, identity)
        }
    };
    let mut claimed = Principal::new(access_key_id, region, identity);
    claimed.source_ip = Some(peer.ip());
    claimed.secure_transport = secure;
    let request = Request {
        method: parts.method.as_str(),
        path: parts.uri.path(),
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body,
    };
    strongbox_sigv4::verify_with_key(
        &authorization,
        &request,
        state.signature_clock.now(),
        |scope| state.signing_keys.get(&credentials, scope),
    )
    .map_err(|error| {
        let code = if error.is_incomplete() {
            ErrorCode::IncompleteSignature
        } else {
            ErrorCode::InvalidSignature
        };
        Rejected {
            error: ApiError::new(code, error.to_string()),
            claimed: Some(claimed.clone()),
        }
    })?;
    Ok(claimed)
}
