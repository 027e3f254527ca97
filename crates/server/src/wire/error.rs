//! AWS error codes and the error body `{"__type": "<Code>", "message": "..."}`.

use http::StatusCode;
use strongbox_core::messages::{self, Shown, Violation};

/// Every error code this server sends, spelled as AWS spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// `AccessDeniedException`
    AccessDenied,
    /// `AlreadyExistsException`
    AlreadyExists,
    /// `ConflictException`
    Conflict,
    /// `DisabledException`
    Disabled,
    /// `DryRunOperationException`: the request would have succeeded.
    DryRunOperation,
    /// `ExpiredTokenException`: temporary credentials past their expiry.
    ExpiredToken,
    /// `IncompleteSignatureException`
    IncompleteSignature,
    /// `IncorrectKeyException`
    IncorrectKey,
    /// `InvalidAliasNameException`
    InvalidAliasName,
    /// `InvalidArnException`
    InvalidArn,
    /// `InvalidCiphertextException`
    InvalidCiphertext,
    /// `InvalidGrantIdException`
    InvalidGrantId,
    /// `InvalidGrantTokenException`
    InvalidGrantToken,
    /// `InvalidKeyUsageException`
    InvalidKeyUsage,
    /// `InvalidMarkerException`
    InvalidMarker,
    /// CloudTrail's `InvalidEventCategoryException`
    InvalidEventCategory,
    /// CloudTrail's `InvalidLookupAttributesException`
    InvalidLookupAttributes,
    /// CloudTrail's `InvalidMaxResultsException`
    InvalidMaxResults,
    /// CloudTrail's `InvalidNextTokenException`
    InvalidNextToken,
    /// CloudTrail's `InvalidTimeRangeException`
    InvalidTimeRange,
    /// `InvalidSignatureException`
    InvalidSignature,
    /// `KMSInternalException`
    KmsInternal,
    /// `KMSInvalidStateException`
    KmsInvalidState,
    /// `KMSInvalidSignatureException`
    KmsInvalidSignature,
    /// `KMSInvalidMacException`
    KmsInvalidMac,
    /// `LimitExceededException`
    LimitExceeded,
    /// `MalformedPolicyDocumentException`
    MalformedPolicyDocument,
    /// `MissingAuthenticationTokenException`
    MissingAuthenticationToken,
    /// `NotFoundException`
    NotFound,
    /// `RequestEntityTooLargeException`: the body is over the 1 MiB cap.
    RequestEntityTooLarge,
    /// `RequestTimeoutException`: the body did not arrive in time.
    RequestTimeout,
    /// `SerializationException`: the body is not the JSON the operation expects.
    Serialization,
    /// `TagException`
    Tag,
    /// `ThrottlingException`: the account is over its request quota.
    Throttling,
    /// `UnknownOperationException`
    UnknownOperation,
    /// `UnrecognizedClientException`
    UnrecognizedClient,
    /// `UnsupportedOperationException`
    UnsupportedOperation,
    /// `ValidationException`
    Validation,
}

impl ErrorCode {
    /// The `__type` value.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AccessDenied => "AccessDeniedException",
            ErrorCode::AlreadyExists => "AlreadyExistsException",
            ErrorCode::Conflict => "ConflictException",
            ErrorCode::Disabled => "DisabledException",
            ErrorCode::DryRunOperation => "DryRunOperationException",
            ErrorCode::ExpiredToken => "ExpiredTokenException",
            ErrorCode::IncompleteSignature => "IncompleteSignatureException",
            ErrorCode::IncorrectKey => "IncorrectKeyException",
            ErrorCode::InvalidAliasName => "InvalidAliasNameException",
            ErrorCode::InvalidArn => "InvalidArnException",
            ErrorCode::InvalidCiphertext => "InvalidCiphertextException",
            ErrorCode::InvalidGrantId => "InvalidGrantIdException",
            ErrorCode::InvalidGrantToken => "InvalidGrantTokenException",
            ErrorCode::InvalidKeyUsage => "InvalidKeyUsageException",
            ErrorCode::InvalidMarker => "InvalidMarkerException",
            ErrorCode::InvalidEventCategory => "InvalidEventCategoryException",
            ErrorCode::InvalidLookupAttributes => "InvalidLookupAttributesException",
            ErrorCode::InvalidMaxResults => "InvalidMaxResultsException",
            ErrorCode::InvalidNextToken => "InvalidNextTokenException",
            ErrorCode::InvalidTimeRange => "InvalidTimeRangeException",
            ErrorCode::InvalidSignature => "InvalidSignatureException",
            ErrorCode::KmsInternal => "KMSInternalException",
            ErrorCode::KmsInvalidState => "KMSInvalidStateException",
            ErrorCode::KmsInvalidSignature => "KMSInvalidSignatureException",
            ErrorCode::KmsInvalidMac => "KMSInvalidMacException",
            ErrorCode::LimitExceeded => "LimitExceededException",
            ErrorCode::MalformedPolicyDocument => "MalformedPolicyDocumentException",
            ErrorCode::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            ErrorCode::NotFound => "NotFoundException",
            ErrorCode::RequestEntityTooLarge => "RequestEntityTooLargeException",
            ErrorCode::RequestTimeout => "RequestTimeoutException",
            ErrorCode::Serialization => "SerializationException",
            ErrorCode::Tag => "TagException",
            ErrorCode::Throttling => "ThrottlingException",
            ErrorCode::UnknownOperation => "UnknownOperationException",
            ErrorCode::UnrecognizedClient => "UnrecognizedClientException",
            ErrorCode::UnsupportedOperation => "UnsupportedOperationException",
            ErrorCode::Validation => "ValidationException",
        }
    }

    /// 500 for our faults, 413 for oversized bodies, 400 for every other client fault.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::KmsInternal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::RequestEntityTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

/// An error as it goes on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The AWS code.
    pub code: ErrorCode,
    /// The message a person reads.
    pub message: String,
}

impl ApiError {
    /// An error with a message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The JSON body. AWS sends some errors without a message (`InvalidCiphertextException`,
    /// `KMSInvalidSignatureException`, ...): an empty message is left out, as AWS leaves it.
    pub fn body(&self) -> String {
        if self.message.is_empty() {
            serde_json::json!({"__type": self.code.as_str()}).to_string()
        } else {
            serde_json::json!({"__type": self.code.as_str(), "message": self.message}).to_string()
        }
    }
}

/// A `ValidationException` for violated model constraints, in AWS's format.
pub fn violations(violations: &[Violation]) -> ApiError {
    ApiError::new(ErrorCode::Validation, messages::validation(violations))
}

/// AWS's message for a missing required member.
pub fn missing(field: &str) -> ApiError {
    violations(&[Violation::null(field)])
}

/// AWS's message for a member outside its length bounds: `shown` is the value for strings
/// AWS quotes, [`Shown::Hidden`] for blobs and secrets.
pub fn length(shown: Shown<'_>, field: &str, min: usize, max: usize, actual: usize) -> ApiError {
    let violation = Violation::length(shown, field, actual, min, max)
        .unwrap_or_else(|| Violation::too_long(shown, field, max));
    violations(&[violation])
}

/// AWS's message for a number outside its range.
pub fn range(field: &str, min: i64, max: i64, actual: i64) -> ApiError {
    let violation = Violation::range(actual, field, min, max)
        .unwrap_or_else(|| Violation::above(actual, field, max));
    violations(&[violation])
}

/// AWS's message for a value outside an enum's set.
pub fn not_in_set(field: &str, value: &str, set: &str) -> ApiError {
    violations(&[Violation::not_in_set(value, field, set)])
}
