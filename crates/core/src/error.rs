//! The domain error: one variant per AWS KMS exception, so that the server maps each to its
//! wire code in one exhaustive `match` and tests can assert the exact kind.

use std::fmt;

use crate::seal::SealError;
use crate::store::StoreError;

/// A failed KMS operation. The `String` is the message shown to the client: it never contains
/// secrets, and never reveals another account's metadata.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `NotFoundException`: the key, alias or resource does not exist in the caller's account.
    #[error("{0}")]
    NotFound(String),
    /// `DisabledException`: the key is disabled.
    #[error("{0}")]
    Disabled(String),
    /// `KMSInvalidStateException`: the key's state does not allow the operation.
    #[error("{0}")]
    KmsInvalidState(String),
    /// `InvalidCiphertextException`: the ciphertext or its encryption context is not valid. AWS sends it without
    /// a message, so that nothing is learned about which check failed.
    #[error("")]
    InvalidCiphertext,
    /// `IncorrectKeyException`: the ciphertext was made under another key than the one named.
    #[error("{0}")]
    IncorrectKey(String),
    /// `AccessDeniedException`: no policy allows the caller to use the key.
    #[error("{0}")]
    AccessDenied(String),
    /// `ConflictException`: another operation on the resource is in progress.
    #[error("{0}")]
    Conflict(String),
    /// `AlreadyExistsException`.
    #[error("{0}")]
    AlreadyExists(String),
    /// `LimitExceededException`.
    #[error("{0}")]
    LimitExceeded(String),
    /// `ValidationException`: a parameter violates its constraints.
    #[error("{0}")]
    Validation(String),
    /// `InvalidMarkerException`: a pagination marker that this service did not issue.
    #[error("{0}")]
    InvalidMarker(String),
    /// `InvalidAliasNameException`.
    #[error("{0}")]
    InvalidAliasName(String),
    /// `TagException`: a tag key or value breaks AWS's tag rules.
    #[error("{0}")]
    Tag(String),
    /// `UnsupportedOperationException`: valid in AWS, not (yet) supported here or for this key.
    #[error("{0}")]
    UnsupportedOperation(String),
    /// `KMSInvalidSignatureException`: Verify found the signature not valid. AWS sends it without
    /// a message, so that nothing is learned about which check failed.
    #[error("")]
    KmsInvalidSignature,
    /// `KMSInvalidMacException`: VerifyMac found the MAC not valid. AWS sends it without
    /// a message, so that nothing is learned about which check failed.
    #[error("")]
    KmsInvalidMac,
    /// `InvalidKeyUsageException`: the key's usage or algorithms do not fit the operation.
    #[error("{0}")]
    InvalidKeyUsage(String),
    /// `MalformedPolicyDocumentException`: a key policy that is not a valid policy document.
    #[error("{0}")]
    MalformedPolicyDocument(String),
    /// `InvalidArnException`: a principal ARN that is malformed or names no principal.
    #[error("{0}")]
    InvalidArn(String),
    /// `InvalidGrantTokenException`: a grant token this service did not issue.
    #[error("{0}")]
    InvalidGrantToken(String),
    /// `InvalidGrantIdException`: a grant id of the wrong form, or not the token's grant.
    #[error("{0}")]
    InvalidGrantId(String),
    /// `DryRunOperationException`: the request would have succeeded, but `DryRun` was set.
    #[error("{}", crate::messages::DRY_RUN)]
    DryRun,
    /// `KMSInternalException`: a fault on our side; the client sees a generic message.
    #[error("{0}")]
    Internal(#[from] Internal),
}

/// An internal fault: keeps its cause for the logs and shows clients only a fixed message,
/// the generic one unless the fault is one a client can understand and wait out (a full disk).
pub struct Internal {
    context: &'static str,
    source: Box<dyn std::error::Error + Send + Sync>,
    public: &'static str,
}

impl Internal {
    /// Wraps a cause with a short, static description of what was being done.
    pub fn new(
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::with_public(context, source, crate::messages::INTERNAL_ERROR)
    }

    /// [`Internal::new`] with the message clients see (one of [`crate::messages`]).
    pub fn with_public(
        context: &'static str,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
        public: &'static str,
    ) -> Self {
        Self {
            context,
            source: source.into(),
            public,
        }
    }

    /// The message clients see.
    pub fn public(&self) -> &'static str {
        self.public
    }

    /// The full description for server logs (never for clients).
    pub fn detail(&self) -> String {
        format!("{}: {}", self.context, self.source)
    }
}

impl fmt::Display for Internal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.public)
    }
}

impl fmt::Debug for Internal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Internal({})", self.detail())
    }
}

impl std::error::Error for Internal {}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        let public = match error.kind() {
            crate::store::StoreErrorKind::NoSpace => crate::messages::STORAGE_FULL,
            _ => crate::messages::INTERNAL_ERROR,
        };
        Error::Internal(Internal::with_public("store", error, public))
    }
}

impl From<SealError> for Error {
    fn from(error: SealError) -> Self {
        let public = match error {
            SealError::Sealed => crate::messages::SEALED,
            _ => crate::messages::INTERNAL_ERROR,
        };
        Error::Internal(Internal::with_public("seal", error, public))
    }
}

impl From<strongbox_crypto::CryptoError> for Error {
    fn from(error: strongbox_crypto::CryptoError) -> Self {
        Error::Internal(Internal::new("crypto", error))
    }
}
