//! Unit tests of the dispatch layer: the AWS pairing rules and key-material checks that hold
//! before any family module runs. The full sign/verify matrix is in `tests/asymmetric.rs`.

use super::*;
use AsymmetricSpec as S;
use CryptoError as E;
use SigningAlgorithm as A;

const ALL_SPECS: [S; 11] = [
    S::Rsa2048,
    S::Rsa3072,
    S::Rsa4096,
    S::EccNistP256,
    S::EccNistP384,
    S::EccNistP521,
    S::EccSecgP256k1,
    S::Ed25519,
    S::MlDsa44,
    S::MlDsa65,
    S::MlDsa87,
];

#[test]
fn signing_algorithms_match_aws() {
    let expected: [(S, &[A]); 8] = [
        (S::EccNistP256, &[A::EcdsaSha256]),
        (S::EccNistP384, &[A::EcdsaSha384]),
        (S::EccNistP521, &[A::EcdsaSha512]),
        (S::EccSecgP256k1, &[A::EcdsaSha256]),
        (S::Ed25519, &[A::Ed25519Sha512, A::Ed25519PhSha512]),
        (S::MlDsa44, &[A::MlDsaShake256]),
        (S::MlDsa65, &[A::MlDsaShake256]),
        (S::MlDsa87, &[A::MlDsaShake256]),
    ];
    for (spec, algorithms) in expected {
        assert_eq!(signing_algorithms(spec), algorithms, "{spec:?}");
    }
    for spec in [S::Rsa2048, S::Rsa3072, S::Rsa4096] {
        assert_eq!(
            signing_algorithms(spec)[..3],
            [A::RsassaPssSha256, A::RsassaPssSha384, A::RsassaPssSha512]
        );
        assert_eq!(
            signing_algorithms(spec)[3..],
            [
                A::RsassaPkcs1V15Sha256,
                A::RsassaPkcs1V15Sha384,
                A::RsassaPkcs1V15Sha512
            ]
        );
    }
}

#[test]
fn message_rules_are_checked_before_any_key_is_touched() {
    // Garbage key material: these must fail on the message alone.
    let junk = KeyMaterial::from_bytes(vec![0; 8]);
    let cases: [(S, A, Message<'_>, E); 11] = [
        (
            S::EccNistP256,
            A::EcdsaSha384,
            Message::Raw(b"m"),
            E::InvalidAlgorithm,
        ),
        (
            S::Rsa2048,
            A::EcdsaSha256,
            Message::Raw(b"m"),
            E::InvalidAlgorithm,
        ),
        (
            S::Ed25519,
            A::Ed25519Sha512,
            Message::Digest(&[0; 64]),
            E::InvalidAlgorithm,
        ),
        (
            S::MlDsa65,
            A::MlDsaShake256,
            Message::Digest(&[0; 64]),
            E::InvalidAlgorithm,
        ),
        (
            S::Rsa2048,
            A::RsassaPssSha256,
            Message::ExternalMu(&[0; 64]),
            E::InvalidAlgorithm,
        ),
        (
            S::Ed25519,
            A::Ed25519PhSha512,
            Message::ExternalMu(&[0; 64]),
            E::InvalidAlgorithm,
        ),
        (
            S::EccNistP384,
            A::EcdsaSha384,
            Message::Digest(&[0; 32]),
            E::InvalidDigestLength,
        ),
        (
            S::Rsa2048,
            A::RsassaPkcs1V15Sha512,
            Message::Digest(&[0; 48]),
            E::InvalidDigestLength,
        ),
        (
            S::Ed25519,
            A::Ed25519PhSha512,
            Message::Digest(&[0; 32]),
            E::InvalidDigestLength,
        ),
        (
            S::MlDsa44,
            A::MlDsaShake256,
            Message::ExternalMu(&[0; 32]),
            E::InvalidDigestLength,
        ),
        (
            S::MlDsa44,
            A::MlDsaShake256,
            Message::ExternalMu(&[0; 65]),
            E::InvalidDigestLength,
        ),
    ];
    for (spec, algorithm, message, expected) in cases {
        let context = format!("{spec:?} {algorithm:?} {message:?}");
        assert_eq!(
            sign(spec, &junk, algorithm, message),
            Err(expected.clone()),
            "{context}"
        );
        assert_eq!(
            verify(spec, b"", algorithm, message, b""),
            Err(expected),
            "{context}"
        );
    }
}

#[test]
fn material_of_another_spec_or_garbage_is_invalid_key_material() {
    let p256 = generate(S::EccNistP256).unwrap();
    let junk = KeyMaterial::from_bytes(vec![0x30, 0x00]);
    for spec in ALL_SPECS {
        if spec != S::EccNistP256 {
            assert_eq!(
                public_key_der(spec, &p256),
                Err(E::InvalidKeyMaterial),
                "{spec:?}"
            );
            let signed = sign(spec, &p256, signing_algorithms(spec)[0], Message::Raw(b"m"));
            assert_eq!(signed, Err(E::InvalidKeyMaterial), "{spec:?}");
        }
        assert_eq!(
            public_key_der(spec, &junk),
            Err(E::InvalidKeyMaterial),
            "{spec:?}"
        );
    }
}

#[test]
fn parsed_forms_are_built_once_per_use_and_kept_with_the_material() {
    let rsa = generate(S::Rsa2048).unwrap();
    let forms = rsa.parsed_forms().unwrap();
    assert!(forms.rsa_sign.get().is_none() && forms.rsa_decrypt.get().is_none());
    let message = Message::Raw(b"signed twice");
    let first = sign(S::Rsa2048, &rsa, A::RsassaPkcs1V15Sha256, message).unwrap();
    // Only the form the call used is built; PKCS#1 v1.5 is deterministic, so the kept form
    // signs exactly as a fresh parse does.
    assert!(forms.rsa_sign.get().is_some() && forms.rsa_decrypt.get().is_none());
    let again = sign(S::Rsa2048, &rsa, A::RsassaPkcs1V15Sha256, message).unwrap();
    assert_eq!(first, again);
    let public = public_key_der(S::Rsa2048, &rsa).unwrap();
    assert_eq!(forms.public_der.get().unwrap().as_ref().unwrap(), &public);
    let ciphertext = rsa_encrypt(S::Rsa2048, &public, OaepHash::Sha256, b"secret").unwrap();
    let plaintext = rsa_decrypt(S::Rsa2048, &rsa, OaepHash::Sha256, &ciphertext).unwrap();
    assert_eq!(plaintext.expose(), b"secret");
    assert!(forms.rsa_decrypt.get().is_some());

    // The same bytes asked for as another spec are parsed per call (and refused here), never
    // served from forms parsed for the first spec.
    assert_eq!(
        sign(S::Rsa4096, &rsa, A::RsassaPkcs1V15Sha256, message).unwrap_err(),
        E::InvalidKeyMaterial
    );
    // Material that is not a key of its spec fails the same way every time (its error kept).
    let junk = KeyMaterial::from_bytes(vec![7; 100]);
    for _ in 0..2 {
        assert_eq!(
            sign(S::EccNistP256, &junk, A::EcdsaSha256, message).unwrap_err(),
            E::InvalidKeyMaterial
        );
    }
    assert!(junk.parsed_forms().unwrap().ecdsa.get().unwrap().is_err());
    // Symmetric material has no forms.
    assert!(
        KeyMaterial::generate_symmetric()
            .unwrap()
            .parsed_forms()
            .is_none()
    );
}
