//! RSA keys: RSASSA-PSS and PKCS#1 v1.5 signatures, and RSAES-OAEP encryption as AWS's
//! `RSAES_OAEP_SHA_1` and `RSAES_OAEP_SHA_256` (MGF1 with the same hash, empty label).
//!
//! All from aws-lc-rs, which blinds RSA private operations; the RustCrypto `rsa` crate is
//! deliberately not used (RUSTSEC-2023-0071, the Marvin timing attack, has no fix there).

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm, OaepPrivateDecryptingKey,
    OaepPublicEncryptingKey, PrivateDecryptingKey, PublicEncryptingKey,
};
use aws_lc_rs::signature::{self, KeyPair, RsaKeyPair, RsaParameters, RsaSignatureEncoding};
use zeroize::Zeroizing;

use super::parsed::{self, Parsed, form};
use super::{AsymmetricSpec, Family, Prepared, SigningAlgorithm};
use crate::{CryptoError, KeyMaterial, SecretBytes};

/// The RSA key sizes AWS offers.
#[derive(Clone, Copy)]
pub(super) enum Modulus {
    Bits2048,
    Bits3072,
    Bits4096,
}

/// The OAEP hash of AWS's `RSAES_OAEP_SHA_1` / `RSAES_OAEP_SHA_256`; MGF1 uses the same hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OaepHash {
    /// `RSAES_OAEP_SHA_1`.
    Sha1,
    /// `RSAES_OAEP_SHA_256`.
    Sha256,
}

impl Modulus {
    fn bytes(self) -> usize {
        match self {
            Self::Bits2048 => 256,
            Self::Bits3072 => 384,
            Self::Bits4096 => 512,
        }
    }

    fn key_size(self) -> KeySize {
        match self {
            Self::Bits2048 => KeySize::Rsa2048,
            Self::Bits3072 => KeySize::Rsa3072,
            Self::Bits4096 => KeySize::Rsa4096,
        }
    }

    fn of(spec: AsymmetricSpec) -> Result<Self, CryptoError> {
        match spec.family() {
            Family::Rsa(modulus) => Ok(modulus),
            _ => Err(CryptoError::InvalidAlgorithm),
        }
    }
}

impl OaepHash {
    fn algorithm(self) -> &'static OaepAlgorithm {
        match self {
            Self::Sha1 => &OAEP_SHA1_MGF1SHA1,
            Self::Sha256 => &OAEP_SHA256_MGF1SHA256,
        }
    }

    fn len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
        }
    }
}

pub(super) fn generate(modulus: Modulus) -> Result<KeyMaterial, CryptoError> {
    let pair = RsaKeyPair::generate(modulus.key_size()).map_err(|_| CryptoError::Unspecified)?;
    let pkcs8 = pair.as_der().map_err(|_| CryptoError::Unspecified)?;
    Ok(KeyMaterial::from_bytes(pkcs8.as_ref().to_vec()))
}

pub(super) fn public_key_der(
    modulus: Modulus,
    private: &KeyMaterial,
) -> Result<Vec<u8>, CryptoError> {
    let pair = key_pair(modulus, private)?;
    let der = pair
        .public_key()
        .as_der()
        .map_err(|_| CryptoError::Unspecified)?;
    Ok(der.as_ref().to_vec())
}

pub(super) fn sign(
    modulus: Modulus,
    private: &KeyMaterial,
    forms: Option<&Parsed>,
    algorithm: SigningAlgorithm,
    message: &Prepared<'_>,
) -> Result<Vec<u8>, CryptoError> {
    let (encoding, _) = algorithms(algorithm)?;
    let mut scratch = None;
    let pair = form(forms.map(|f| &f.rsa_sign), &mut scratch, || {
        key_pair(modulus, private)
    })?;
    let mut signature = vec![0u8; pair.public_modulus_len()];
    match message {
        Prepared::Raw(raw) => pair.sign(encoding, &SystemRandom::new(), raw, &mut signature),
        Prepared::Digest(digest) => pair.sign_digest(encoding, digest, &mut signature),
        Prepared::ExternalMu(_) => return Err(CryptoError::InvalidAlgorithm),
    }
    .map_err(|_| CryptoError::Unspecified)?;
    Ok(signature)
}

pub(super) fn verify(
    modulus: Modulus,
    public_key_der: &[u8],
    algorithm: SigningAlgorithm,
    message: &Prepared<'_>,
    signature: &[u8],
) -> Result<bool, CryptoError> {
    let (_, parameters) = algorithms(algorithm)?;
    // Parsed once here for its size (and to insist on SPKI); the verifier parses its own copy.
    public_key(modulus, public_key_der)?;
    let key = signature::UnparsedPublicKey::new(parameters, public_key_der)
        .parse()
        .map_err(|_| CryptoError::InvalidPublicKey)?;
    let verified = match message {
        Prepared::Raw(raw) => key.verify_sig(raw, signature),
        Prepared::Digest(digest) => key.verify_digest_sig(digest, signature),
        Prepared::ExternalMu(_) => return Err(CryptoError::InvalidAlgorithm),
    };
    Ok(verified.is_ok())
}

/// The most plaintext RSAES-OAEP carries, `k - 2 * hLen - 2` (RFC 8017 section 7.1.1): the
/// limits AWS documents for
/// [Encrypt](https://docs.aws.amazon.com/kms/latest/developerguide/asymmetric-key-specs.html#rsa-key-specs),
/// e.g. 214 (SHA-1) and 190 (SHA-256) bytes for RSA_2048. `None` for non-RSA specs.
pub fn rsa_max_plaintext(spec: AsymmetricSpec, hash: OaepHash) -> Option<usize> {
    let modulus = Modulus::of(spec).ok()?;
    Some(modulus.bytes() - 2 * hash.len() - 2)
}

/// RSAES-OAEP encryption with the public key, as AWS Encrypt does with an RSA key (and as anyone
/// holding the GetPublicKey output can do offline). [`CryptoError::PlaintextTooLong`] past
/// [`rsa_max_plaintext`]; [`CryptoError::InvalidPublicKey`] unless `public_key_der` is the SPKI
/// of an RSA key of `spec`'s size; [`CryptoError::InvalidAlgorithm`] for a non-RSA spec.
pub fn rsa_encrypt(
    spec: AsymmetricSpec,
    public_key_der: &[u8],
    hash: OaepHash,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let modulus = Modulus::of(spec)?;
    if plaintext.len() > modulus.bytes() - 2 * hash.len() - 2 {
        return Err(CryptoError::PlaintextTooLong);
    }
    let key = OaepPublicEncryptingKey::new(public_key(modulus, public_key_der)?)
        .map_err(|_| CryptoError::InvalidPublicKey)?;
    let mut ciphertext = vec![0u8; key.ciphertext_size()];
    let written = key
        .encrypt(hash.algorithm(), plaintext, &mut ciphertext, None)
        .map_err(|_| CryptoError::Unspecified)?
        .len();
    ciphertext.truncate(written);
    Ok(ciphertext)
}

/// RSAES-OAEP decryption with the private key, as AWS Decrypt. Every failure of the ciphertext
/// (wrong length, bad padding, other hash) is the same [`CryptoError::InvalidCiphertext`], so
/// the answer is no padding oracle; `private` not being a `spec` key is
/// [`CryptoError::InvalidKeyMaterial`].
pub fn rsa_decrypt(
    spec: AsymmetricSpec,
    private: &KeyMaterial,
    hash: OaepHash,
    ciphertext: &[u8],
) -> Result<SecretBytes, CryptoError> {
    let modulus = Modulus::of(spec)?;
    let mut scratch = None;
    let slot = parsed::forms(private, spec).map(|f| &f.rsa_decrypt);
    let key = form(slot, &mut scratch, || {
        let key = PrivateDecryptingKey::from_pkcs8(private.expose())
            .map_err(|_| CryptoError::InvalidKeyMaterial)?;
        if key.key_size_bytes() != modulus.bytes() {
            return Err(CryptoError::InvalidKeyMaterial);
        }
        OaepPrivateDecryptingKey::new(key).map_err(|_| CryptoError::InvalidKeyMaterial)
    })?;
    let mut buffer = Zeroizing::new(vec![0u8; key.min_output_size()]);
    let plaintext = key
        .decrypt(hash.algorithm(), ciphertext, &mut buffer, None)
        .map_err(|_| CryptoError::InvalidCiphertext)?;
    Ok(SecretBytes::new(plaintext.to_vec()))
}

/// The private key, refused unless it is RSA of exactly the spec's size (a 2048-bit key stored
/// under RSA_4096 would silently break AWS's advertised limits).
fn key_pair(modulus: Modulus, private: &KeyMaterial) -> Result<RsaKeyPair, CryptoError> {
    let pair =
        RsaKeyPair::from_pkcs8(private.expose()).map_err(|_| CryptoError::InvalidKeyMaterial)?;
    if pair.public_modulus_len() != modulus.bytes() {
        return Err(CryptoError::InvalidKeyMaterial);
    }
    Ok(pair)
}

/// An RSA `SubjectPublicKeyInfo` of exactly the spec's size.
fn public_key(modulus: Modulus, der: &[u8]) -> Result<PublicEncryptingKey, CryptoError> {
    let key = PublicEncryptingKey::from_der(der).map_err(|_| CryptoError::InvalidPublicKey)?;
    if key.key_size_bytes() != modulus.bytes() {
        return Err(CryptoError::InvalidPublicKey);
    }
    Ok(key)
}

/// Signing padding and verification parameters of an RSASSA algorithm. The PSS encodings use a
/// salt as long as the hash, which is what AWS uses and what the verifiers expect.
fn algorithms(
    algorithm: SigningAlgorithm,
) -> Result<(&'static RsaSignatureEncoding, &'static RsaParameters), CryptoError> {
    use SigningAlgorithm as A;
    Ok(match algorithm {
        A::RsassaPssSha256 => (
            &signature::RSA_PSS_SHA256,
            &signature::RSA_PSS_2048_8192_SHA256,
        ),
        A::RsassaPssSha384 => (
            &signature::RSA_PSS_SHA384,
            &signature::RSA_PSS_2048_8192_SHA384,
        ),
        A::RsassaPssSha512 => (
            &signature::RSA_PSS_SHA512,
            &signature::RSA_PSS_2048_8192_SHA512,
        ),
        A::RsassaPkcs1V15Sha256 => (
            &signature::RSA_PKCS1_SHA256,
            &signature::RSA_PKCS1_2048_8192_SHA256,
        ),
        A::RsassaPkcs1V15Sha384 => (
            &signature::RSA_PKCS1_SHA384,
            &signature::RSA_PKCS1_2048_8192_SHA384,
        ),
        A::RsassaPkcs1V15Sha512 => (
            &signature::RSA_PKCS1_SHA512,
            &signature::RSA_PKCS1_2048_8192_SHA512,
        ),
        _ => return Err(CryptoError::InvalidAlgorithm),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{generate, public_key_der as spki};

    #[test]
    fn max_plaintext_matches_aws_table() {
        use AsymmetricSpec as S;
        let table = [
            (S::Rsa2048, 214, 190),
            (S::Rsa3072, 342, 318),
            (S::Rsa4096, 470, 446),
        ];
        for (spec, sha1, sha256) in table {
            assert_eq!(rsa_max_plaintext(spec, OaepHash::Sha1), Some(sha1));
            assert_eq!(rsa_max_plaintext(spec, OaepHash::Sha256), Some(sha256));
        }
        assert_eq!(rsa_max_plaintext(S::EccNistP256, OaepHash::Sha1), None);
        assert_eq!(rsa_max_plaintext(S::Ed25519, OaepHash::Sha256), None);
    }

    #[test]
    fn oaep_round_trips_both_hashes_up_to_the_limit() {
        let spec = AsymmetricSpec::Rsa2048;
        let private = generate(spec).unwrap();
        let public = spki(spec, &private).unwrap();
        for hash in [OaepHash::Sha1, OaepHash::Sha256] {
            let max = rsa_max_plaintext(spec, hash).unwrap();
            for plaintext in [Vec::new(), b"data key".to_vec(), vec![0xA5; max]] {
                let ciphertext = rsa_encrypt(spec, &public, hash, &plaintext).unwrap();
                assert_eq!(ciphertext.len(), 256);
                let decrypted = rsa_decrypt(spec, &private, hash, &ciphertext).unwrap();
                assert_eq!(decrypted.expose(), plaintext.as_slice());
            }
            assert_eq!(
                rsa_encrypt(spec, &public, hash, &vec![0; max + 1]),
                Err(CryptoError::PlaintextTooLong)
            );
        }
    }

    #[test]
    fn decryption_failures_are_all_invalid_ciphertext() {
        let spec = AsymmetricSpec::Rsa2048;
        let private = generate(spec).unwrap();
        let public = spki(spec, &private).unwrap();
        let ciphertext = rsa_encrypt(spec, &public, OaepHash::Sha256, b"secret").unwrap();
        let decrypt = |hash, bytes: &[u8]| rsa_decrypt(spec, &private, hash, bytes).unwrap_err();
        assert_eq!(
            decrypt(OaepHash::Sha1, &ciphertext),
            CryptoError::InvalidCiphertext
        );
        let mut flipped = ciphertext.clone();
        flipped[100] ^= 1;
        assert_eq!(
            decrypt(OaepHash::Sha256, &flipped),
            CryptoError::InvalidCiphertext
        );
        assert_eq!(
            decrypt(OaepHash::Sha256, &ciphertext[1..]),
            CryptoError::InvalidCiphertext
        );
        assert_eq!(
            decrypt(OaepHash::Sha256, &[]),
            CryptoError::InvalidCiphertext
        );
    }

    #[test]
    fn keys_of_the_wrong_size_or_type_are_refused() {
        let private = generate(AsymmetricSpec::Rsa2048).unwrap();
        let public = spki(AsymmetricSpec::Rsa2048, &private).unwrap();
        let big = AsymmetricSpec::Rsa3072;
        assert_eq!(
            rsa_encrypt(big, &public, OaepHash::Sha1, b"x"),
            Err(CryptoError::InvalidPublicKey)
        );
        assert_eq!(
            rsa_decrypt(big, &private, OaepHash::Sha1, &[0; 384]).unwrap_err(),
            CryptoError::InvalidKeyMaterial
        );
        assert_eq!(spki(big, &private), Err(CryptoError::InvalidKeyMaterial));
        let ecc = AsymmetricSpec::EccNistP256;
        let ecc_public = spki(ecc, &generate(ecc).unwrap()).unwrap();
        let rsa = AsymmetricSpec::Rsa2048;
        assert_eq!(
            rsa_encrypt(rsa, &ecc_public, OaepHash::Sha1, b"x"),
            Err(CryptoError::InvalidPublicKey)
        );
        assert_eq!(
            rsa_encrypt(ecc, &public, OaepHash::Sha1, b"x"),
            Err(CryptoError::InvalidAlgorithm)
        );
        assert_eq!(
            rsa_encrypt(rsa, b"\x30\x03\x02\x01\x01", OaepHash::Sha1, b"x"),
            Err(CryptoError::InvalidPublicKey)
        );
    }
}
