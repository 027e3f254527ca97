//! The whole key-spec x signing-algorithm x message-type matrix through the public API, plus
//! RSAES-OAEP on the larger keys. Keys are generated once per spec for the whole binary (RSA-4096
//! takes seconds), so every test here shares them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use aws_lc_rs::digest;
use strongbox_crypto::{
    AsymmetricSpec, CryptoError, KeyMaterial, Message, OaepHash, SigningAlgorithm, generate,
    public_key_der, rsa_decrypt, rsa_encrypt, rsa_max_plaintext, sign, signing_algorithms, verify,
};

const ALL_SPECS: [AsymmetricSpec; 11] = [
    AsymmetricSpec::Rsa2048,
    AsymmetricSpec::Rsa3072,
    AsymmetricSpec::Rsa4096,
    AsymmetricSpec::EccNistP256,
    AsymmetricSpec::EccNistP384,
    AsymmetricSpec::EccNistP521,
    AsymmetricSpec::EccSecgP256k1,
    AsymmetricSpec::Ed25519,
    AsymmetricSpec::MlDsa44,
    AsymmetricSpec::MlDsa65,
    AsymmetricSpec::MlDsa87,
];

const ALL_ALGORITHMS: [SigningAlgorithm; 12] = [
    SigningAlgorithm::RsassaPssSha256,
    SigningAlgorithm::RsassaPssSha384,
    SigningAlgorithm::RsassaPssSha512,
    SigningAlgorithm::RsassaPkcs1V15Sha256,
    SigningAlgorithm::RsassaPkcs1V15Sha384,
    SigningAlgorithm::RsassaPkcs1V15Sha512,
    SigningAlgorithm::EcdsaSha256,
    SigningAlgorithm::EcdsaSha384,
    SigningAlgorithm::EcdsaSha512,
    SigningAlgorithm::Ed25519Sha512,
    SigningAlgorithm::Ed25519PhSha512,
    SigningAlgorithm::MlDsaShake256,
];

const MESSAGE: &[u8] = b"Strongbox signs exactly what AWS KMS would sign.";

struct Key {
    private: KeyMaterial,
    public: Vec<u8>,
}

/// One key per spec for the whole test binary.
fn key(spec: AsymmetricSpec) -> &'static Key {
    static KEYS: [OnceLock<Key>; 11] = [const { OnceLock::new() }; 11];
    let index = ALL_SPECS.iter().position(|s| *s == spec).unwrap();
    KEYS[index].get_or_init(|| {
        let private = generate(spec).unwrap();
        let public = public_key_der(spec, &private).unwrap();
        Key { private, public }
    })
}

/// The `DIGEST` form of [`MESSAGE`] for an algorithm, if it takes one.
fn digest_of(algorithm: SigningAlgorithm) -> Option<Vec<u8>> {
    use SigningAlgorithm as A;
    let hash = match algorithm {
        A::RsassaPssSha256 | A::RsassaPkcs1V15Sha256 | A::EcdsaSha256 => &digest::SHA256,
        A::RsassaPssSha384 | A::RsassaPkcs1V15Sha384 | A::EcdsaSha384 => &digest::SHA384,
        A::RsassaPssSha512 | A::RsassaPkcs1V15Sha512 | A::EcdsaSha512 | A::Ed25519PhSha512 => {
            &digest::SHA512
        }
        A::Ed25519Sha512 | A::MlDsaShake256 => return None,
    };
    Some(digest::digest(hash, MESSAGE).as_ref().to_vec())
}

/// Signs with one message type and checks the signature every way it must (and must not)
/// verify.
fn check_round_trip(spec: AsymmetricSpec, algorithm: SigningAlgorithm, message: Message<'_>) {
    let Key { private, public } = key(spec);
    let context = format!("{spec:?} {algorithm:?} {message:?}");
    let signature = sign(spec, private, algorithm, message).expect(&context);
    assert!(
        verify(spec, public, algorithm, message, &signature).expect(&context),
        "{context}"
    );
    for bit in [0, signature.len() * 4, signature.len() * 8 - 1] {
        let mut flipped = signature.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        let verified = verify(spec, public, algorithm, message, &flipped).expect(&context);
        assert!(!verified, "{context}: bit {bit} flipped still verifies");
    }
    let short = &signature[..signature.len() - 1];
    assert!(
        !verify(spec, public, algorithm, message, short).unwrap(),
        "{context}"
    );
    assert!(
        !verify(spec, public, algorithm, message, &[]).unwrap(),
        "{context}"
    );
    let mut long = signature.clone();
    long.push(0);
    assert!(
        !verify(spec, public, algorithm, message, &long).unwrap(),
        "{context}"
    );
    let other = Message::Raw(b"another message");
    assert!(
        !verify(spec, public, algorithm, other, &signature).unwrap(),
        "{context}"
    );
}

#[test]
fn every_spec_algorithm_and_message_type_round_trips() {
    for spec in ALL_SPECS {
        for &algorithm in signing_algorithms(spec) {
            check_round_trip(spec, algorithm, Message::Raw(MESSAGE));
            check_round_trip(spec, algorithm, Message::Raw(b""));
            if let Some(hash) = digest_of(algorithm) {
                check_round_trip(spec, algorithm, Message::Digest(&hash));
            }
            if algorithm == SigningAlgorithm::MlDsaShake256 {
                check_round_trip(spec, algorithm, Message::ExternalMu(&[0x5A; 64]));
            }
        }
    }
}

/// AWS's `RAW` is "hash, then sign the hash", so a `RAW` signature verifies as a `DIGEST` one
/// (and back) for every algorithm that has a `DIGEST` form.
#[test]
fn raw_and_digest_signatures_are_interchangeable() {
    for spec in ALL_SPECS {
        let Key { private, public } = key(spec);
        for &algorithm in signing_algorithms(spec) {
            let Some(hash) = digest_of(algorithm) else {
                continue;
            };
            let raw = Message::Raw(MESSAGE);
            let digest = Message::Digest(&hash);
            let over_raw = sign(spec, private, algorithm, raw).unwrap();
            let over_digest = sign(spec, private, algorithm, digest).unwrap();
            assert!(verify(spec, public, algorithm, digest, &over_raw).unwrap());
            assert!(verify(spec, public, algorithm, raw, &over_digest).unwrap());
        }
    }
}

#[test]
fn disallowed_algorithms_are_invalid_algorithm() {
    for spec in ALL_SPECS {
        let Key { private, public } = key(spec);
        let allowed = signing_algorithms(spec);
        for algorithm in ALL_ALGORITHMS.into_iter().filter(|a| !allowed.contains(a)) {
            let raw = Message::Raw(MESSAGE);
            let context = format!("{spec:?} {algorithm:?}");
            let signed = sign(spec, private, algorithm, raw);
            assert_eq!(signed, Err(CryptoError::InvalidAlgorithm), "{context}");
            let verified = verify(spec, public, algorithm, raw, &[0; 64]);
            assert_eq!(verified, Err(CryptoError::InvalidAlgorithm), "{context}");
        }
    }
}

#[test]
fn wrong_length_digests_and_mu_are_invalid_digest_length() {
    for spec in ALL_SPECS {
        let Key { private, public } = key(spec);
        for &algorithm in signing_algorithms(spec) {
            // Algorithms without a DIGEST form refuse the message type whatever its length.
            let (hash, expected) = match digest_of(algorithm) {
                Some(hash) => (hash, CryptoError::InvalidDigestLength),
                None => (vec![0; 64], CryptoError::InvalidAlgorithm),
            };
            let context = format!("{spec:?} {algorithm:?}");
            let longer = [hash.as_slice(), &[0]].concat();
            for wrong in [&hash[..hash.len() - 1], &longer, &[]] {
                let digest = Message::Digest(wrong);
                let signed = sign(spec, private, algorithm, digest);
                assert_eq!(signed.unwrap_err(), expected, "{context}");
                let verified = verify(spec, public, algorithm, digest, &[0; 64]);
                assert_eq!(verified.unwrap_err(), expected, "{context}");
            }
        }
    }
    let Key { private, .. } = key(AsymmetricSpec::MlDsa87);
    for len in [0, 32, 63, 65] {
        let mu = Message::ExternalMu(&vec![1; len]);
        let signed = sign(
            AsymmetricSpec::MlDsa87,
            private,
            SigningAlgorithm::MlDsaShake256,
            mu,
        );
        assert_eq!(signed, Err(CryptoError::InvalidDigestLength));
    }
}

/// A signature only verifies under its own key, and a public key of another spec is refused
/// rather than taken as a failed signature.
#[test]
fn public_keys_of_other_keys_and_specs() {
    for spec in ALL_SPECS {
        let private = &key(spec).private;
        let algorithm = signing_algorithms(spec)[0];
        let message = Message::Raw(MESSAGE);
        let signature = sign(spec, private, algorithm, message).unwrap();
        // A second RSA-4096 key would double the slowest step of this binary.
        if spec != AsymmetricSpec::Rsa4096 {
            let stranger = public_key_der(spec, &generate(spec).unwrap()).unwrap();
            let verified = verify(spec, &stranger, algorithm, message, &signature).unwrap();
            assert!(!verified, "{spec:?}");
        }
        for other in ALL_SPECS.into_iter().filter(|other| *other != spec) {
            let verified = verify(spec, &key(other).public, algorithm, message, &signature);
            assert_eq!(
                verified,
                Err(CryptoError::InvalidPublicKey),
                "{spec:?} {other:?}"
            );
        }
        let garbage = verify(
            spec,
            b"\x30\x03\x02\x01\x01",
            algorithm,
            message,
            &signature,
        );
        assert_eq!(garbage, Err(CryptoError::InvalidPublicKey), "{spec:?}");
    }
}

#[test]
fn oaep_round_trips_on_the_larger_keys() {
    for spec in [AsymmetricSpec::Rsa3072, AsymmetricSpec::Rsa4096] {
        let Key { private, public } = key(spec);
        for hash in [OaepHash::Sha1, OaepHash::Sha256] {
            let max = rsa_max_plaintext(spec, hash).unwrap();
            let plaintext = vec![0x3C; max];
            let ciphertext = rsa_encrypt(spec, public, hash, &plaintext).unwrap();
            let decrypted = rsa_decrypt(spec, private, hash, &ciphertext).unwrap();
            assert_eq!(decrypted.expose(), plaintext.as_slice());
            let too_long = rsa_encrypt(spec, public, hash, &vec![0; max + 1]);
            assert_eq!(too_long, Err(CryptoError::PlaintextTooLong));
        }
    }
}
