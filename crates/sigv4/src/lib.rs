//! AWS Signature Version 4 verification for header-authenticated requests (and, for Strongbox's
//! own load generator, signing with the same canonicalisation): parsing the
//! `Authorization` header, rebuilding the canonical request and string to sign, deriving the
//! signing key and checking the signature, the scope date and the clock skew.
//!
//! The crate is pure and synchronous: the caller hands in the request, the secret access key and
//! the current time, so the same code runs in the server, in known-answer tests and under a
//! fuzzer. It depends on nothing of ours and must never grow a dependency on the rest of
//! Strongbox (no store, no async runtime, no HTTP server). Looking up the access key and checking
//! the region and service against the server's own lists is the caller's job.
//!
//! Only what KMS clients send is supported: header authentication with `AWS4-HMAC-SHA256`,
//! non-S3 canonicalisation (normalized, double-encoded path) and a fully signed payload.
//! Presigned URLs, chunked (streaming) payloads and SigV4a are out of scope.
//!
//! Behaviour follows
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>.
//!
//! ```
//! use strongbox_sigv4::{Authorization, Request, verify};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut headers = http::HeaderMap::new();
//! headers.insert("host", "example.amazonaws.com".parse()?);
//! headers.insert("x-amz-date", "20150830T123600Z".parse()?);
//! let auth = Authorization::parse(
//!     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
//!      SignedHeaders=host;x-amz-date, \
//!      Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
//! )?;
//! let request = Request { method: "GET", path: "/", query: "", headers: &headers, body: b"" };
//! let now = time::macros::datetime!(2015-08-30 12:36:00 UTC);
//! verify(&auth, &request, b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", now)?;
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod authorization;
mod canonical;
mod error;
mod sign;
mod signing_key;
mod verify;

#[cfg(test)]
#[path = "../tests/common/suite.rs"]
mod suite;

pub use authorization::{Authorization, CredentialScope};
pub use error::{ParseError, VerifyError};
pub use sign::Signer;
pub use signing_key::SigningKey;
pub use verify::{MAX_CLOCK_SKEW, verify, verify_with_key};

/// Everything the verifier needs from the HTTP request, borrowed so the server can check a
/// buffered request without copying it.
///
/// `path` and `query` are the raw, still percent-encoded strings from the request line (what
/// `http::Uri::path` and `http::Uri::query` return), because SigV4 encodes the path a second time
/// and re-encodes the query itself. `headers` must contain every header named in `SignedHeaders`;
/// in particular `host` (over HTTP/2, copy the `:authority` into a `host` entry first).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The HTTP method exactly as received, e.g. `POST`.
    pub method: &'a str,
    /// The raw path as received, e.g. `/`.
    pub path: &'a str,
    /// The raw query string without the leading `?`; empty when there is none.
    pub query: &'a str,
    /// The request headers.
    pub headers: &'a http::HeaderMap,
    /// The complete request body; SigV4 signs its SHA-256.
    pub body: &'a [u8],
}
