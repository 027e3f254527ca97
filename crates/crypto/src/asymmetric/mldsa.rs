//! ML-DSA keys (FIPS 204): key generation and pure ML-DSA over a raw message from aws-lc-rs;
//! signing and verifying an external mu (AWS's `EXTERNAL_MU` message type, FIPS 204 section 6.2)
//! from RustCrypto's `ml-dsa`, because aws-lc-rs exposes no external-mu operation.
//!
//! Both read the same key encodings: the seed-only PKCS#8 aws-lc-rs writes (RFC 9881) and the
//! FIPS 204 public key in SPKI, so `ml-dsa` expands the very key aws-lc-rs generated.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand;
use aws_lc_rs::signature::{
    self, KeyPair, PqdsaKeyPair, PqdsaSigningAlgorithm, PqdsaVerificationAlgorithm,
};
use ml_dsa::common::array::Array;
use ml_dsa::pkcs8::DecodePrivateKey;
use ml_dsa::pkcs8::spki::DecodePublicKey;
use ml_dsa::signature::rand_core::{TryCryptoRng, TryRng};
use ml_dsa::{ExpandedSigningKey, MlDsa44, MlDsa65, MlDsa87, MlDsaParams, VerifyingKey};

use super::Prepared;
use super::parsed::{Parsed, form};
use crate::{CryptoError, KeyMaterial};

/// The ML-DSA parameter sets AWS offers.
#[derive(Clone, Copy)]
pub(super) enum Level {
    MlDsa44,
    MlDsa65,
    MlDsa87,
}

impl Level {
    fn signing(self) -> &'static PqdsaSigningAlgorithm {
        match self {
            Self::MlDsa44 => &signature::ML_DSA_44_SIGNING,
            Self::MlDsa65 => &signature::ML_DSA_65_SIGNING,
            Self::MlDsa87 => &signature::ML_DSA_87_SIGNING,
        }
    }

    fn verification(self) -> &'static PqdsaVerificationAlgorithm {
        match self {
            Self::MlDsa44 => &signature::ML_DSA_44,
            Self::MlDsa65 => &signature::ML_DSA_65,
            Self::MlDsa87 => &signature::ML_DSA_87,
        }
    }
}

pub(super) fn generate(level: Level) -> Result<KeyMaterial, CryptoError> {
    let pair = PqdsaKeyPair::generate(level.signing()).map_err(|_| CryptoError::Unspecified)?;
    let pkcs8 = pair
        .private_key()
        .as_der()
        .map_err(|_| CryptoError::Unspecified)?;
    Ok(KeyMaterial::from_bytes(pkcs8.as_ref().to_vec()))
}

pub(super) fn public_key_der(level: Level, private: &KeyMaterial) -> Result<Vec<u8>, CryptoError> {
    let pair = PqdsaKeyPair::from_pkcs8(level.signing(), private.expose())
        .map_err(|_| CryptoError::InvalidKeyMaterial)?;
    let der = pair
        .public_key()
        .as_der()
        .map_err(|_| CryptoError::Unspecified)?;
    Ok(der.as_ref().to_vec())
}

pub(super) fn sign(
    level: Level,
    private: &KeyMaterial,
    forms: Option<&Parsed>,
    message: &Prepared<'_>,
) -> Result<Vec<u8>, CryptoError> {
    match message {
        Prepared::Raw(raw) => {
            let mut scratch = None;
            let pair = form(forms.map(|f| &f.mldsa), &mut scratch, || {
                PqdsaKeyPair::from_pkcs8(level.signing(), private.expose())
                    .map_err(|_| CryptoError::InvalidKeyMaterial)
            })?;
            let mut signature = vec![0u8; level.signing().signature_len()];
            let len = pair
                .sign(raw, &mut signature)
                .map_err(|_| CryptoError::Unspecified)?;
            signature.truncate(len);
            Ok(signature)
        }
        Prepared::ExternalMu(mu) => match level {
            Level::MlDsa44 => sign_mu::<MlDsa44>(private, mu),
            Level::MlDsa65 => sign_mu::<MlDsa65>(private, mu),
            Level::MlDsa87 => sign_mu::<MlDsa87>(private, mu),
        },
        Prepared::Digest(_) => Err(CryptoError::InvalidAlgorithm),
    }
}

pub(super) fn verify(
    level: Level,
    public_key_der: &[u8],
    message: &Prepared<'_>,
    signature: &[u8],
) -> Result<bool, CryptoError> {
    match message {
        Prepared::Raw(raw) => {
            let key = signature::UnparsedPublicKey::new(level.verification(), public_key_der)
                .parse()
                .map_err(|_| CryptoError::InvalidPublicKey)?;
            Ok(key.verify_sig(raw, signature).is_ok())
        }
        Prepared::ExternalMu(mu) => match level {
            Level::MlDsa44 => verify_mu::<MlDsa44>(public_key_der, mu, signature),
            Level::MlDsa65 => verify_mu::<MlDsa65>(public_key_der, mu, signature),
            Level::MlDsa87 => verify_mu::<MlDsa87>(public_key_der, mu, signature),
        },
        Prepared::Digest(_) => Err(CryptoError::InvalidAlgorithm),
    }
}

/// Hedged (randomized) signing over mu, like aws-lc-rs's own ML-DSA signing; the deterministic
/// variant in `ml-dsa` panics if rejection sampling ever gives up, this one returns an error.
fn sign_mu<P>(private: &KeyMaterial, mu: &[u8; 64]) -> Result<Vec<u8>, CryptoError>
where
    P: MlDsaParams,
    ExpandedSigningKey<P>: DecodePrivateKey,
{
    let key = ExpandedSigningKey::<P>::from_pkcs8_der(private.expose())
        .map_err(|_| CryptoError::InvalidKeyMaterial)?;
    let signature = key
        .sign_mu_randomized(&Array::from(*mu), &mut AwsLcRng)
        .map_err(|_| CryptoError::Unspecified)?;
    Ok(signature.encode().to_vec())
}

fn verify_mu<P>(public_key_der: &[u8], mu: &[u8; 64], signature: &[u8]) -> Result<bool, CryptoError>
where
    P: MlDsaParams,
    VerifyingKey<P>: DecodePublicKey,
{
    let key = VerifyingKey::<P>::from_public_key_der(public_key_der)
        .map_err(|_| CryptoError::InvalidPublicKey)?;
    let Ok(signature) = ml_dsa::Signature::<P>::try_from(signature) else {
        return Ok(false);
    };
    Ok(key.verify_mu(&Array::from(*mu), &signature))
}

/// `ml-dsa` takes its signing randomness through `rand_core`; this hands it aws-lc-rs's CSPRNG so
/// the crate keeps a single source of randomness.
struct AwsLcRng;

impl TryRng for AwsLcRng {
    type Error = aws_lc_rs::error::Unspecified;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut bytes = [0u8; 4];
        rand::fill(&mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut bytes = [0u8; 8];
        rand::fill(&mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    fn try_fill_bytes(&mut self, destination: &mut [u8]) -> Result<(), Self::Error> {
        rand::fill(destination)
    }
}

impl TryCryptoRng for AwsLcRng {}

#[cfg(test)]
mod tests {
    use ml_dsa::pkcs8::EncodePrivateKey;

    use super::*;
    use crate::{AsymmetricSpec, Message, SigningAlgorithm, sign as sign_message};

    /// FIPS 204's mu = SHAKE256(SHAKE256(pk, 64) || 0 || len(ctx) || ctx || M, 64), computed by
    /// `ml-dsa` from the public key alone.
    fn mu_of<P>(public_key_der: &[u8], message: &[u8]) -> [u8; 64]
    where
        P: MlDsaParams,
        VerifyingKey<P>: DecodePublicKey,
    {
        let key = VerifyingKey::<P>::from_public_key_der(public_key_der).unwrap();
        let mu = key
            .compute_mu(
                |shake| {
                    ::digest::Update::update(shake, message);
                    Ok(())
                },
                &[],
            )
            .unwrap();
        mu.into()
    }

    /// The strongest check that the two libraries agree on the key: a signature `ml-dsa` makes
    /// over mu verifies in aws-lc-rs as a pure ML-DSA signature over the message, and back.
    #[test]
    fn external_mu_and_pure_signatures_interoperate() {
        let message = b"strongbox external mu";
        let spec = AsymmetricSpec::MlDsa65;
        let private = crate::generate(spec).unwrap();
        let public = crate::public_key_der(spec, &private).unwrap();
        let mu = mu_of::<MlDsa65>(&public, message);
        let algorithm = SigningAlgorithm::MlDsaShake256;
        let over_mu = sign_message(spec, &private, algorithm, Message::ExternalMu(&mu)).unwrap();
        assert_eq!(over_mu.len(), 3309);
        let raw = Message::Raw(message);
        assert!(crate::verify(spec, &public, algorithm, raw, &over_mu).unwrap());
        let over_raw = sign_message(spec, &private, algorithm, raw).unwrap();
        let mu_message = Message::ExternalMu(&mu);
        assert!(crate::verify(spec, &public, algorithm, mu_message, &over_raw).unwrap());
        let other_mu = Message::ExternalMu(&[7; 64]);
        assert!(!crate::verify(spec, &public, algorithm, other_mu, &over_raw).unwrap());
        assert!(!crate::verify(spec, &public, algorithm, mu_message, &over_raw[1..]).unwrap());
    }

    #[test]
    fn aws_lc_pkcs8_is_the_seed_only_form() {
        let private = generate(Level::MlDsa44).unwrap();
        // PrivateKeyInfo { v0, id-ml-dsa-44, OCTET STRING { [0] IMPLICIT 32-byte seed } }.
        assert_eq!(private.expose().len(), 54);
        assert_eq!(&private.expose()[18..22], &[0x04, 0x22, 0x80, 0x20]);
        // ml-dsa reads it and writes back the identical encoding.
        let key = ml_dsa::SigningKey::<MlDsa44>::from_pkcs8_der(private.expose()).unwrap();
        assert_eq!(key.to_pkcs8_der().unwrap().as_bytes(), private.expose());
    }

    #[test]
    fn public_keys_of_another_level_are_refused() {
        let private = generate(Level::MlDsa44).unwrap();
        let public = public_key_der(Level::MlDsa44, &private).unwrap();
        let mu = Prepared::ExternalMu(&[0; 64]);
        for message in [Prepared::Raw(b"m"), mu] {
            assert_eq!(
                verify(Level::MlDsa65, &public, &message, &[0; 3309]),
                Err(CryptoError::InvalidPublicKey)
            );
        }
    }
}
