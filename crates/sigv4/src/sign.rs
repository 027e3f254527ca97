//! Signing: the client's half of SigV4, for Strongbox's own load generator and tools. It builds
//! the canonical request with the same code the verifier uses, so what one side signs the other
//! checks byte for byte.

use crate::authorization::ALGORITHM;
use crate::verify::amz_date;
use crate::{CredentialScope, Request, SigningKey, VerifyError, canonical};

/// Signs requests for one access key and one credential scope. The signing key is derived once,
/// so a caller signing many requests on the same day pays for four HMACs once, not per request.
pub struct Signer {
    access_key_id: String,
    key: SigningKey,
}

impl std::fmt::Debug for Signer {
    /// Never shows the derived key: it signs anything for the scope's day.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("access_key_id", &self.access_key_id)
            .field("scope", self.key.scope())
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for `access_key_id` and its secret, scoped to `scope` (whose date must be the
    /// date of every request's `x-amz-date`).
    pub fn new(access_key_id: &str, secret_access_key: &[u8], scope: CredentialScope) -> Signer {
        Signer {
            access_key_id: access_key_id.to_owned(),
            key: SigningKey::derive(secret_access_key, &scope),
        }
    }

    /// The scope this signer signs for.
    pub fn scope(&self) -> &CredentialScope {
        self.key.scope()
    }

    /// The `Authorization` header value for `request`, signing the headers named in
    /// `signed_headers` (lowercase and sorted, as SigV4 requires; `host` and `x-amz-date` among
    /// them) and the body.
    ///
    /// # Errors
    /// [`VerifyError::MissingDate`] or [`VerifyError::MalformedDate`] for a bad `x-amz-date`,
    /// [`VerifyError::SignedHeaderMissing`] when a named header is not in the request.
    pub fn authorization(
        &self,
        request: &Request<'_>,
        signed_headers: &[String],
    ) -> Result<String, VerifyError> {
        let amz_date = amz_date(request.headers)?;
        let payload_hash = canonical::payload_hash(request.body);
        let canonical_request =
            canonical::canonical_request(request, signed_headers, &payload_hash)?;
        let string_to_sign =
            canonical::string_to_sign(amz_date, self.key.scope(), &canonical_request);
        let signature = self.key.signature(&string_to_sign);
        Ok(format!(
            "{ALGORITHM} Credential={}/{}, SignedHeaders={}, Signature={}",
            self.access_key_id,
            self.key.scope(),
            signed_headers.join(";"),
            hex::encode(signature.as_ref())
        ))
    }
}
