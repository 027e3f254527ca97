//! Asymmetric keys as AWS KMS holds them: generation, public-key export, signing and
//! verification, RSAES-OAEP encryption and ECDH key agreement, for every key spec AWS offers
//! except SM2 (which is China-region only and has no aws-lc-rs support).
//!
//! Private keys travel as PKCS#8 DER inside [`KeyMaterial`], so they are sealed and zeroized
//! exactly like symmetric material; public keys are X.509 `SubjectPublicKeyInfo` DER, which is
//! what [GetPublicKey](https://docs.aws.amazon.com/kms/latest/APIReference/API_GetPublicKey.html)
//! returns. The PKCS#8 flavour per family:
//!
//! - RSA: RFC 5208 `PrivateKeyInfo` around a PKCS#1 `RSAPrivateKey` (what OpenSSL writes).
//! - ECC (NIST curves and secp256k1): RFC 5208 `PrivateKeyInfo` (version 0) around an RFC 5915
//!   `ECPrivateKey` that carries the named curve and the public point.
//! - Ed25519: RFC 8410 `OneAsymmetricKey` version 0 (v1), holding only the 32-byte seed in an
//!   inner OCTET STRING, no public key: the form `openssl genpkey` writes and every tool reads.
//! - ML-DSA: RFC 5208 `PrivateKeyInfo` whose private key is the seed-only CHOICE of RFC 9881
//!   (`[0] IMPLICIT OCTET STRING`, 32 bytes): the seed is the FIPS 204 root secret, the smallest
//!   encoding, and the one both aws-lc and RustCrypto `ml-dsa` read.
//!
//! Every primitive comes from aws-lc-rs except the two it lacks, Ed25519ph and ML-DSA over an
//! external mu, which come from the maintained Rust crates in `eddsa` and `mldsa`.

use aws_lc_rs::digest;

use crate::{CryptoError, KeyMaterial};

mod ecc;
mod eddsa;
mod mldsa;
pub(crate) mod parsed;
mod rsa;

pub use ecc::derive_shared_secret;
pub use rsa::{OaepHash, rsa_decrypt, rsa_encrypt, rsa_max_plaintext};

/// Asymmetric key types, matching AWS
/// [KeySpec](https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html#KMS-CreateKey-request-KeySpec)
/// values one to one (`Ed25519` is `ECC_NIST_EDWARDS25519`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AsymmetricSpec {
    /// `RSA_2048`.
    Rsa2048,
    /// `RSA_3072`.
    Rsa3072,
    /// `RSA_4096`.
    Rsa4096,
    /// `ECC_NIST_P256` (secp256r1).
    EccNistP256,
    /// `ECC_NIST_P384` (secp384r1).
    EccNistP384,
    /// `ECC_NIST_P521` (secp521r1).
    EccNistP521,
    /// `ECC_SECG_P256K1` (the Bitcoin curve).
    EccSecgP256k1,
    /// `ECC_NIST_EDWARDS25519`.
    Ed25519,
    /// `ML_DSA_44`.
    MlDsa44,
    /// `ML_DSA_65`.
    MlDsa65,
    /// `ML_DSA_87`.
    MlDsa87,
}

/// AWS's
/// [SigningAlgorithmSpec](https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html#KMS-Sign-request-SigningAlgorithm)
/// values, SM2DSA aside.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// `RSASSA_PSS_SHA_256` (MGF1 with SHA-256, salt length 32).
    RsassaPssSha256,
    /// `RSASSA_PSS_SHA_384` (MGF1 with SHA-384, salt length 48).
    RsassaPssSha384,
    /// `RSASSA_PSS_SHA_512` (MGF1 with SHA-512, salt length 64).
    RsassaPssSha512,
    /// `RSASSA_PKCS1_V1_5_SHA_256`.
    RsassaPkcs1V15Sha256,
    /// `RSASSA_PKCS1_V1_5_SHA_384`.
    RsassaPkcs1V15Sha384,
    /// `RSASSA_PKCS1_V1_5_SHA_512`.
    RsassaPkcs1V15Sha512,
    /// `ECDSA_SHA_256`.
    EcdsaSha256,
    /// `ECDSA_SHA_384`.
    EcdsaSha384,
    /// `ECDSA_SHA_512`.
    EcdsaSha512,
    /// `ED25519_SHA_512`: pure Ed25519 (RFC 8032 section 5.1).
    Ed25519Sha512,
    /// `ED25519_PH_SHA_512`: Ed25519ph (RFC 8032 section 5.1, prehash SHA-512, empty context).
    Ed25519PhSha512,
    /// `ML_DSA_SHAKE_256`: pure ML-DSA (FIPS 204) with an empty context.
    MlDsaShake256,
}

/// What the `Message` of a Sign or Verify request is, per its AWS `MessageType`. Its `Debug`
/// shows only the kind and length: a message can be as sensitive as a plaintext.
#[derive(Clone, Copy)]
pub enum Message<'a> {
    /// `RAW`: the message itself; it is hashed as the algorithm prescribes.
    Raw(&'a [u8]),
    /// `DIGEST`: the hash the algorithm would have computed (32, 48 or 64 bytes).
    Digest(&'a [u8]),
    /// `EXTERNAL_MU`: ML-DSA's 64-byte message representative mu (FIPS 204 section 6.2).
    ExternalMu(&'a [u8]),
}

impl std::fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, bytes) = match self {
            Message::Raw(bytes) => ("Raw", bytes),
            Message::Digest(bytes) => ("Digest", bytes),
            Message::ExternalMu(bytes) => ("ExternalMu", bytes),
        };
        write!(f, "{kind}(<{} bytes>)", bytes.len())
    }
}

/// The key family a spec belongs to, with the per-family parameter, so each family module only
/// ever sees the specs it handles.
#[derive(Clone, Copy)]
enum Family {
    Rsa(rsa::Modulus),
    Ecc(ecc::Curve),
    Ed25519,
    MlDsa(mldsa::Level),
}

/// A [`Message`] checked against its signing algorithm: digests have the algorithm's hash and
/// length, mu is 64 bytes, and the message type is one the algorithm accepts.
enum Prepared<'a> {
    Raw(&'a [u8]),
    Digest(digest::Digest),
    ExternalMu(&'a [u8; 64]),
}

impl AsymmetricSpec {
    fn family(self) -> Family {
        match self {
            Self::Rsa2048 => Family::Rsa(rsa::Modulus::Bits2048),
            Self::Rsa3072 => Family::Rsa(rsa::Modulus::Bits3072),
            Self::Rsa4096 => Family::Rsa(rsa::Modulus::Bits4096),
            Self::EccNistP256 => Family::Ecc(ecc::Curve::P256),
            Self::EccNistP384 => Family::Ecc(ecc::Curve::P384),
            Self::EccNistP521 => Family::Ecc(ecc::Curve::P521),
            Self::EccSecgP256k1 => Family::Ecc(ecc::Curve::Secp256k1),
            Self::Ed25519 => Family::Ed25519,
            Self::MlDsa44 => Family::MlDsa(mldsa::Level::MlDsa44),
            Self::MlDsa65 => Family::MlDsa(mldsa::Level::MlDsa65),
            Self::MlDsa87 => Family::MlDsa(mldsa::Level::MlDsa87),
        }
    }
}

impl SigningAlgorithm {
    /// The hash a `DIGEST` message must come from; `None` for the algorithms that take no
    /// `DIGEST` (pure Ed25519 and ML-DSA hash inside the signature scheme).
    fn prehash(self) -> Option<&'static digest::Algorithm> {
        match self {
            Self::RsassaPssSha256 | Self::RsassaPkcs1V15Sha256 | Self::EcdsaSha256 => {
                Some(&digest::SHA256)
            }
            Self::RsassaPssSha384 | Self::RsassaPkcs1V15Sha384 | Self::EcdsaSha384 => {
                Some(&digest::SHA384)
            }
            Self::RsassaPssSha512
            | Self::RsassaPkcs1V15Sha512
            | Self::EcdsaSha512
            | Self::Ed25519PhSha512 => Some(&digest::SHA512),
            Self::Ed25519Sha512 | Self::MlDsaShake256 => None,
        }
    }
}

/// New private key for `spec`, as PKCS#8 DER (flavours in the module documentation). RSA-4096
/// takes seconds: callers run this off the async runtime.
pub fn generate(spec: AsymmetricSpec) -> Result<KeyMaterial, CryptoError> {
    match spec.family() {
        Family::Rsa(modulus) => rsa::generate(modulus),
        Family::Ecc(curve) => ecc::generate(curve),
        Family::Ed25519 => eddsa::generate(),
        Family::MlDsa(level) => mldsa::generate(level),
    }
}

/// X.509 `SubjectPublicKeyInfo` DER of the public half of `private`, what AWS GetPublicKey
/// returns. A `private` that is not a key of `spec` is [`CryptoError::InvalidKeyMaterial`].
pub fn public_key_der(spec: AsymmetricSpec, private: &KeyMaterial) -> Result<Vec<u8>, CryptoError> {
    match parsed::forms(private, spec) {
        Some(forms) => forms
            .public_der
            .get_or_init(|| parse_public_key_der(spec, private))
            .clone(),
        None => parse_public_key_der(spec, private),
    }
}

fn parse_public_key_der(
    spec: AsymmetricSpec,
    private: &KeyMaterial,
) -> Result<Vec<u8>, CryptoError> {
    match spec.family() {
        Family::Rsa(modulus) => rsa::public_key_der(modulus, private),
        Family::Ecc(curve) => ecc::public_key_der(curve, private),
        Family::Ed25519 => eddsa::public_key_der(private),
        Family::MlDsa(level) => mldsa::public_key_der(level, private),
    }
}

/// The signing algorithms AWS allows for `spec` (its DescribeKey `SigningAlgorithms`): each ECC
/// curve has exactly one ECDSA hash, RSA has all six RSASSA variants.
pub fn signing_algorithms(spec: AsymmetricSpec) -> &'static [SigningAlgorithm] {
    use SigningAlgorithm as A;
    const RSA: &[SigningAlgorithm] = &[
        A::RsassaPssSha256,
        A::RsassaPssSha384,
        A::RsassaPssSha512,
        A::RsassaPkcs1V15Sha256,
        A::RsassaPkcs1V15Sha384,
        A::RsassaPkcs1V15Sha512,
    ];
    match spec {
        AsymmetricSpec::Rsa2048 | AsymmetricSpec::Rsa3072 | AsymmetricSpec::Rsa4096 => RSA,
        AsymmetricSpec::EccNistP256 | AsymmetricSpec::EccSecgP256k1 => &[A::EcdsaSha256],
        AsymmetricSpec::EccNistP384 => &[A::EcdsaSha384],
        AsymmetricSpec::EccNistP521 => &[A::EcdsaSha512],
        AsymmetricSpec::Ed25519 => &[A::Ed25519Sha512, A::Ed25519PhSha512],
        AsymmetricSpec::MlDsa44 | AsymmetricSpec::MlDsa65 | AsymmetricSpec::MlDsa87 => {
            &[A::MlDsaShake256]
        }
    }
}

/// Signs as [AWS Sign](https://docs.aws.amazon.com/kms/latest/APIReference/API_Sign.html) does,
/// so its output verifies with any standard tool: `Raw` is hashed with the algorithm's hash
/// (pure Ed25519 and ML-DSA sign the message itself, Ed25519ph signs its SHA-512), `Digest` is
/// used as that hash, `ExternalMu` is ML-DSA's mu. RSA-PSS salts are as long as the hash and
/// ECDSA signatures are DER, both as AWS.
///
/// [`CryptoError::InvalidAlgorithm`] when `algorithm` is not in [`signing_algorithms`] for `spec`
/// or does not take the message type; [`CryptoError::InvalidDigestLength`] for a digest or mu of
/// the wrong length; [`CryptoError::InvalidKeyMaterial`] when `private` is not a `spec` key.
pub fn sign(
    spec: AsymmetricSpec,
    private: &KeyMaterial,
    algorithm: SigningAlgorithm,
    message: Message<'_>,
) -> Result<Vec<u8>, CryptoError> {
    let message = prepare(spec, algorithm, message)?;
    let forms = parsed::forms(private, spec);
    match spec.family() {
        Family::Rsa(modulus) => rsa::sign(modulus, private, forms, algorithm, &message),
        Family::Ecc(curve) => ecc::sign(curve, private, forms, &message),
        Family::Ed25519 => eddsa::sign(private, forms, algorithm, &message),
        Family::MlDsa(level) => mldsa::sign(level, private, forms, &message),
    }
}

/// Checks `signature` as [AWS Verify](https://docs.aws.amazon.com/kms/latest/APIReference/API_Verify.html)
/// does, with the message rules of [`sign`]. `Ok(false)` for any signature that does not verify,
/// malformed or wrong-sized ones included, so the caller answers `KMSInvalidSignatureException`.
///
/// Errors as [`sign`], plus [`CryptoError::InvalidPublicKey`] when `public_key_der` is not a
/// `SubjectPublicKeyInfo` of a `spec` key.
pub fn verify(
    spec: AsymmetricSpec,
    public_key_der: &[u8],
    algorithm: SigningAlgorithm,
    message: Message<'_>,
    signature: &[u8],
) -> Result<bool, CryptoError> {
    let message = prepare(spec, algorithm, message)?;
    match spec.family() {
        Family::Rsa(modulus) => {
            rsa::verify(modulus, public_key_der, algorithm, &message, signature)
        }
        Family::Ecc(curve) => ecc::verify(curve, public_key_der, &message, signature),
        Family::Ed25519 => eddsa::verify(public_key_der, algorithm, &message, signature),
        Family::MlDsa(level) => mldsa::verify(level, public_key_der, &message, signature),
    }
}

/// Applies AWS's pairing rules once, so the family modules receive only combinations that are
/// allowed and digests already bound to their hash algorithm.
fn prepare<'a>(
    spec: AsymmetricSpec,
    algorithm: SigningAlgorithm,
    message: Message<'a>,
) -> Result<Prepared<'a>, CryptoError> {
    if !signing_algorithms(spec).contains(&algorithm) {
        return Err(CryptoError::InvalidAlgorithm);
    }
    match message {
        Message::Raw(raw) => Ok(Prepared::Raw(raw)),
        Message::Digest(hash) => {
            let hash_algorithm = algorithm.prehash().ok_or(CryptoError::InvalidAlgorithm)?;
            digest::Digest::import_less_safe(hash, hash_algorithm)
                .map(Prepared::Digest)
                .map_err(|_| CryptoError::InvalidDigestLength)
        }
        Message::ExternalMu(mu) if algorithm == SigningAlgorithm::MlDsaShake256 => mu
            .try_into()
            .map(Prepared::ExternalMu)
            .map_err(|_| CryptoError::InvalidDigestLength),
        Message::ExternalMu(_) => Err(CryptoError::InvalidAlgorithm),
    }
}

// The dispatch tests live beside this file to keep it within the house size limit.
#[cfg(test)]
mod tests;
