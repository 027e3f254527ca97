//! The SigV4 signing key and signature: an HMAC-SHA256 chain that scopes the secret access key to
//! one day, region and service, so a leaked derived key is worth little.
//!
//! Derivation: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html#derive-signing-key>.

use aws_lc_rs::hmac;

use crate::CredentialScope;

/// The key that signs one access key's requests for one day, Region and service.
///
/// Deriving it takes four HMACs, about a third of a verification, so a server may keep it for
/// the scope's day and hand it to [`crate::verify_with_key`]. It can sign anything
/// for that scope: keep it as secret as the secret access key, and drop it when the access key
/// goes away.
#[derive(Clone)]
pub struct SigningKey {
    scope: CredentialScope,
    key: hmac::Key,
}

impl std::fmt::Debug for SigningKey {
    /// Shows the scope, never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

impl AsRef<SigningKey> for SigningKey {
    fn as_ref(&self) -> &SigningKey {
        self
    }
}

impl SigningKey {
    /// Derives the signing key of `secret_access_key` for `scope`.
    pub fn derive(secret_access_key: &[u8], scope: &CredentialScope) -> SigningKey {
        SigningKey {
            scope: scope.clone(),
            key: hmac::Key::new(hmac::HMAC_SHA256, derive(secret_access_key, scope).as_ref()),
        }
    }

    /// The scope the key signs for.
    pub fn scope(&self) -> &CredentialScope {
        &self.scope
    }

    /// Signs the string to sign.
    pub(crate) fn signature(&self, string_to_sign: &str) -> hmac::Tag {
        hmac::sign(&self.key, string_to_sign.as_bytes())
    }
}

/// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
fn derive(secret_access_key: &[u8], scope: &CredentialScope) -> hmac::Tag {
    let mut secret = Vec::with_capacity(4 + secret_access_key.len());
    secret.extend_from_slice(b"AWS4");
    secret.extend_from_slice(secret_access_key);
    let date_key = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &secret),
        scope.date.as_bytes(),
    );
    // Best effort without unsafe code: overwrite our copy of the secret before freeing it.
    secret.fill(0);
    std::hint::black_box(&secret);
    let step = |key: &hmac::Tag, data: &str| {
        hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, key.as_ref()),
            data.as_bytes(),
        )
    };
    let region_key = step(&date_key, &scope.region);
    let service_key = step(&region_key, &scope.service);
    step(&service_key, "aws4_request")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn scope(date: &str, region: &str, service: &str) -> CredentialScope {
        CredentialScope {
            date: date.into(),
            region: region.into(),
            service: service.into(),
        }
    }

    #[test]
    fn derives_the_documented_key() {
        // AWS's published example for 20150830/us-east-1/iam.
        let key = derive(SECRET.as_bytes(), &scope("20150830", "us-east-1", "iam"));
        assert_eq!(
            hex::encode(key.as_ref()),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn matches_the_official_signer() {
        // 2021-05-11T15:40:45Z, the time of the suite's double-url-encode case.
        let time = UNIX_EPOCH + Duration::from_secs(1_620_747_645);
        let theirs = aws_sigv4::sign::v4::generate_signing_key(SECRET, time, "eu-west-3", "kms");
        let ours = derive(SECRET.as_bytes(), &scope("20210511", "eu-west-3", "kms"));
        assert_eq!(ours.as_ref(), theirs.as_ref());
    }

    #[test]
    fn signs_with_the_derived_key() {
        let key = SigningKey::derive(
            SECRET.as_bytes(),
            &scope("20150830", "us-east-1", "service"),
        );
        let string_to_sign = "AWS4-HMAC-SHA256\n20150830T123600Z\n\
            20150830/us-east-1/service/aws4_request\n\
            bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63";
        assert_eq!(
            hex::encode(key.signature(string_to_sign).as_ref()),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }
}
