//! The errors of parsing and verifying, with AWS-like messages a person can act on. Messages
//! echo client input only shortened, and never the signature.

use crate::authorization::ALGORITHM;

/// How much client input an error message echoes back, so a huge header cannot make a huge
/// error body.
const MAX_ECHO_CHARS: usize = 256;

/// Why an `Authorization` header could not be parsed. The server reports every variant as AWS's
/// `IncompleteSignatureException`; the texts follow AWS's messages where AWS has one, but never
/// echo the signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The header does not start with `AWS4-HMAC-SHA256`.
    #[error("Unsupported AWS 'algorithm': '{algorithm}' (only AWS4-HMAC-SHA256 for now).")]
    UnsupportedAlgorithm {
        /// The algorithm the client named (shortened if long).
        algorithm: String,
    },
    /// A comma-separated component has no `=`.
    #[error(
        "'{component}' not a valid key=value pair (missing equal-sign) in Authorization header: \
         '{authorization}'."
    )]
    MalformedComponent {
        /// The component without `=`.
        component: String,
        /// The header, shortened and with the signature value removed.
        authorization: String,
    },
    /// A component other than `Credential`, `SignedHeaders` and `Signature`.
    #[error(
        "Authorization header has an unknown parameter '{component}'; only 'Credential', \
         'SignedHeaders' and 'Signature' are allowed. Authorization={authorization}"
    )]
    UnknownComponent {
        /// The unknown component's name.
        component: String,
        /// The header, shortened and with the signature value removed.
        authorization: String,
    },
    /// The same component appears twice.
    #[error(
        "Authorization header has more than one '{component}' parameter. \
         Authorization={authorization}"
    )]
    DuplicateComponent {
        /// The repeated component's name.
        component: String,
        /// The header, shortened and with the signature value removed.
        authorization: String,
    },
    /// No (or an empty) `Credential` component.
    #[error("Authorization header requires 'Credential' parameter. Authorization={authorization}")]
    MissingCredential {
        /// The header, shortened and with the signature value removed.
        authorization: String,
    },
    /// No `SignedHeaders` component.
    #[error(
        "Authorization header requires 'SignedHeaders' parameter. Authorization={authorization}"
    )]
    MissingSignedHeaders {
        /// The header, shortened and with the signature value removed.
        authorization: String,
    },
    /// No (or an empty) `Signature` component.
    #[error("Authorization header requires 'Signature' parameter. Authorization={authorization}")]
    MissingSignature {
        /// The header, shortened and with the signature value removed.
        authorization: String,
    },
    /// `Credential` is not five non-empty `/`-separated elements.
    #[error(
        "Credential must have exactly 5 slash-delimited elements, e.g. \
         keyid/date/region/service/term, got '{credential}'"
    )]
    MalformedCredential {
        /// The `Credential` value (shortened if long).
        credential: String,
    },
    /// The scope date is not eight digits.
    #[error("Credential should be scoped to a date in YYYYMMDD format, not '{date}'.")]
    MalformedScopeDate {
        /// The date element of the scope (shortened if long).
        date: String,
    },
    /// The scope does not end in `aws4_request`.
    #[error(
        "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'."
    )]
    InvalidTerminator {
        /// The last element of the scope (shortened if long).
        terminator: String,
    },
    /// `SignedHeaders` has an empty name or a character no header name can contain.
    #[error(
        "SignedHeaders must be a ';'-separated list of header names, got \
         '{signed_headers}'."
    )]
    MalformedSignedHeaders {
        /// The `SignedHeaders` value (shortened if long).
        signed_headers: String,
    },
    /// `Signature` is not 64 hex digits.
    #[error("Signature must be 64 hexadecimal characters (a hex-encoded HMAC-SHA256).")]
    MalformedSignature,
}

/// Why a request's signature was refused. [`VerifyError::is_incomplete`] says which AWS exception
/// the server reports; the texts follow AWS's messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The request has no `x-amz-date` header. (AWS also accepts `Date`; KMS clients always
    /// send `x-amz-date`, so this verifier requires it.)
    #[error("Authorization header requires existence of a 'X-Amz-Date' header.")]
    MissingDate,
    /// `x-amz-date` is not `YYYYMMDD'T'HHMMSS'Z'`, or appears more than once.
    #[error(
        "Date must be in ISO-8601 'basic format'. Got '{date}'. See http://en.wikipedia.org/wiki/ISO_8601"
    )]
    MalformedDate {
        /// The header value (shortened if long).
        date: String,
    },
    /// The request was signed more than [`MAX_CLOCK_SKEW`](crate::MAX_CLOCK_SKEW) before `now`.
    #[error("Signature expired: {signed_at} is now earlier than {earliest} ({now} - 5 min.)")]
    Expired {
        /// The signing time, in `x-amz-date` format.
        signed_at: String,
        /// The earliest signing time still accepted.
        earliest: String,
        /// The server's time.
        now: String,
    },
    /// The request was signed more than [`MAX_CLOCK_SKEW`](crate::MAX_CLOCK_SKEW) after `now`.
    #[error("Signature not yet current: {signed_at} is still later than {latest} ({now} + 5 min.)")]
    NotYetCurrent {
        /// The signing time, in `x-amz-date` format.
        signed_at: String,
        /// The latest signing time accepted.
        latest: String,
        /// The server's time.
        now: String,
    },
    /// `host` is not in `SignedHeaders`, so the request could be replayed to another endpoint.
    #[error("'Host' must be a 'SignedHeader' in the AWS Authorization.")]
    HostNotSigned,
    /// `x-amz-date` is not in `SignedHeaders`, so the clock-skew check would mean nothing.
    #[error("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")]
    DateNotSigned,
    /// The credential scope's date is not the date of `x-amz-date`.
    #[error(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
         HTTP: '{scope_date}' != '{date}', from '{amz_date}'."
    )]
    ScopeDateMismatch {
        /// The date in the credential scope.
        scope_date: String,
        /// The date part of `x-amz-date`.
        date: String,
        /// The whole `x-amz-date` value.
        amz_date: String,
    },
    /// An `x-amz-*` header of the request is not in `SignedHeaders`: its value could be changed
    /// (`x-amz-target`: the operation) without breaking the signature.
    #[error(
        "'{}' must be a 'SignedHeader' in the AWS Authorization: every x-amz-* header of the request must be signed.",
        display_name(.0)
    )]
    AmzHeaderNotSigned(String),
    /// A header listed in `SignedHeaders` is not in the request.
    #[error("Header '{0}' is listed in SignedHeaders but is not present in the request.")]
    SignedHeaderMissing(String),
    /// `x-amz-content-sha256` is present and is not the lowercase hex SHA-256 of the body.
    #[error(
        "The provided 'x-amz-content-sha256' header does not match what was computed from the \
         request body."
    )]
    PayloadHashMismatch,
    /// The signature is not the one the secret access key gives for this request.
    #[error(
        "The request signature we calculated does not match the signature you provided. Check \
         your AWS Secret Access Key and signing method. Consult the service documentation for \
         details."
    )]
    SignatureMismatch,
}

impl VerifyError {
    /// True for the errors AWS reports as `IncompleteSignatureException` (a request that is not
    /// fully signed); the others are `InvalidSignatureException`.
    ///
    /// AWS answers a missing or malformed date with `IncompleteSignature`, but a `host` missing
    /// from `SignedHeaders` with `InvalidSignature` ("'Host' must be a 'SignedHeader' ...").
    pub fn is_incomplete(&self) -> bool {
        matches!(
            self,
            VerifyError::MissingDate
                | VerifyError::MalformedDate { .. }
                | VerifyError::DateNotSigned
                | VerifyError::AmzHeaderNotSigned(_)
                | VerifyError::SignedHeaderMissing(_)
        )
    }
}

/// The header as AWS echoes it in its messages, minus the signature value and shortened.
pub(crate) fn echo(parts: &[&str]) -> String {
    let parts: Vec<&str> = parts.iter().map(|part| redact(part)).collect();
    excerpt(&format!("{ALGORITHM} {}", parts.join(", ")))
}

/// Replaces a `Signature` component with a placeholder, so messages never carry it.
pub(crate) fn redact(part: &str) -> &str {
    let is_signature = part
        .get(..9)
        .is_some_and(|name| name.eq_ignore_ascii_case("signature"));
    if is_signature {
        "Signature=<redacted>"
    } else {
        part
    }
}

/// Client input shortened to [`MAX_ECHO_CHARS`] characters for an error message.
pub(crate) fn excerpt(text: &str) -> String {
    match text.char_indices().nth(MAX_ECHO_CHARS) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

/// A header name as AWS writes it in messages: `x-amz-target` as `X-Amz-Target`.
fn display_name(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect::<Vec<_>>()
        .join("-")
}
