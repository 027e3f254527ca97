//! The STS actions Strongbox serves: GetCallerIdentity and AssumeRole.

use strongbox_core::kms::AssumeRoleInput;
use strongbox_core::model::Principal;
use strongbox_core::{Kms, messages};

use super::xml::Xml;
use super::{QueryRequest, date};
use crate::wire::{ApiError, ErrorCode};

/// The STS actions served.
pub(super) const ACTIONS: &[&str] = &["GetCallerIdentity", "AssumeRole"];

pub(super) async fn run(
    kms: &Kms,
    principal: &Principal,
    request: &QueryRequest,
    xml: &mut Xml,
) -> Result<(), ApiError> {
    let result = format!("{}Result", request.action);
    match request.action.as_str() {
        // Always allowed, as in AWS: a caller may always ask who it is.
        "GetCallerIdentity" => {
            let caller = principal.caller();
            xml.open(&result)
                .text("UserId", &caller.user_id)
                .text("Account", caller.account.as_str())
                .text("Arn", &caller.arn)
                .close(&result);
        }
        "AssumeRole" => {
            if request.get("Policy").is_some() || request.get("PolicyArns.member.1.arn").is_some() {
                return Err(ApiError::new(
                    ErrorCode::Validation,
                    messages::SESSION_POLICIES_UNSUPPORTED,
                ));
            }
            let session_name = request.required("RoleSessionName", "roleSessionName")?;
            check_session_name(session_name)?;
            let input = AssumeRoleInput {
                role_arn: request.required("RoleArn", "roleArn")?.to_owned(),
                session_name: session_name.to_owned(),
                duration_seconds: request.integer("DurationSeconds", "durationSeconds")?,
                external_id: request.get("ExternalId").map(str::to_owned),
            };
            let session = kms.assume_role(principal, input).await?;
            let secret = zeroize::Zeroizing::new(
                String::from_utf8_lossy(session.secret.expose()).into_owned(),
            );
            xml.open(&result)
                .open("Credentials")
                .text("AccessKeyId", session.access_key_id.as_str())
                .text("SecretAccessKey", &secret)
                .text("SessionToken", &session.token)
                .text("Expiration", &date(session.expires))
                .close("Credentials")
                .open("AssumedRoleUser")
                .text("AssumedRoleId", &session.caller.user_id)
                .text("Arn", &session.caller.arn)
                .close("AssumedRoleUser")
                .close(&result);
        }
        other => {
            return Err(ApiError::new(
                ErrorCode::UnknownOperation,
                format!("Could not find operation {other} for version 2011-06-15"),
            ));
        }
    }
    Ok(())
}

/// `RoleSessionName`: 2 to 64 of `[\w+=,.@-]`.
fn check_session_name(name: &str) -> Result<(), ApiError> {
    let mut violations = Vec::new();
    violations.extend(messages::Violation::length(
        messages::Shown::Value(name),
        "roleSessionName",
        name.chars().count(),
        2,
        64,
    ));
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    {
        violations.push(messages::Violation::pattern(
            name,
            "roleSessionName",
            "[\\w+=,.@-]*",
        ));
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::Validation,
            messages::validation(&violations),
        ))
    }
}
