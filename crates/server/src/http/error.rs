//! The one place where domain errors become wire errors.

use std::time::Duration;

use strongbox_core::Error;
use strongbox_core::log_throttle::LogThrottle;

/// Internal errors repeat with every request while their cause lasts (a full disk): one line
/// every ten seconds says so, with the count of those left out.
static INTERNAL_ERRORS: LogThrottle = LogThrottle::new(Duration::from_secs(10));

use crate::wire::{ApiError, ErrorCode};

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let code = match &error {
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::Disabled(_) => ErrorCode::Disabled,
            Error::KmsInvalidState(_) => ErrorCode::KmsInvalidState,
            Error::InvalidCiphertext => ErrorCode::InvalidCiphertext,
            Error::IncorrectKey(_) => ErrorCode::IncorrectKey,
            Error::AccessDenied(_) => ErrorCode::AccessDenied,
            Error::AlreadyExists(_) => ErrorCode::AlreadyExists,
            Error::Conflict(_) => ErrorCode::Conflict,
            Error::LimitExceeded(_) => ErrorCode::LimitExceeded,
            Error::Validation(_) => ErrorCode::Validation,
            Error::InvalidMarker(_) => ErrorCode::InvalidMarker,
            Error::InvalidAliasName(_) => ErrorCode::InvalidAliasName,
            Error::Tag(_) => ErrorCode::Tag,
            Error::UnsupportedOperation(_) => ErrorCode::UnsupportedOperation,
            Error::InvalidKeyUsage(_) => ErrorCode::InvalidKeyUsage,
            Error::KmsInvalidSignature => ErrorCode::KmsInvalidSignature,
            Error::KmsInvalidMac => ErrorCode::KmsInvalidMac,
            Error::MalformedPolicyDocument(_) => ErrorCode::MalformedPolicyDocument,
            Error::InvalidArn(_) => ErrorCode::InvalidArn,
            Error::InvalidGrantToken(_) => ErrorCode::InvalidGrantToken,
            Error::InvalidGrantId(_) => ErrorCode::InvalidGrantId,
            Error::DryRun => ErrorCode::DryRunOperation,
            Error::Internal(internal) => {
                if let Some(left_out) = INTERNAL_ERRORS.allow() {
                    tracing::error!(
                        detail = %internal.detail(),
                        similar_errors_not_logged = left_out,
                        "internal error"
                    );
                }
                ErrorCode::KmsInternal
            }
        };
        ApiError::new(code, error.to_string())
    }
}
