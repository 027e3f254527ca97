//! Asymmetric, HMAC and key-agreement keys through aws-sdk-kms, checked against an independent
//! implementation (Python `cryptography`): signatures verify offline, offline RSA ciphertexts
//! decrypt, ECDH secrets match the peer's, data key pairs' halves belong together.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_lc_rs::digest;
use aws_sdk_kms::Client;
use aws_sdk_kms::operation::sign::{SignError, SignOutput};
use aws_sdk_kms::operation::verify::{VerifyError, VerifyOutput};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeyPairSpec, EncryptionAlgorithmSpec, KeyAgreementAlgorithmSpec, KeySpec, KeyUsageType,
    MacAlgorithmSpec, MessageType, SigningAlgorithmSpec,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use common::peer::{self, b64, unb64};
use common::{TestServer, code, create_key};
use serde_json::json;

async fn create(client: &Client, spec: KeySpec, usage: KeyUsageType) -> String {
    let out = client
        .create_key()
        .key_spec(spec)
        .key_usage(usage)
        .send()
        .await
        .unwrap();
    out.key_metadata().unwrap().key_id().to_owned()
}

async fn public_key(client: &Client, key: &str) -> Vec<u8> {
    let out = client.get_public_key().key_id(key).send().await.unwrap();
    out.public_key().unwrap().as_ref().to_vec()
}

async fn sign(
    client: &Client,
    key: &str,
    message: impl Into<Vec<u8>>,
    message_type: MessageType,
    algorithm: SigningAlgorithmSpec,
) -> Result<SignOutput, SdkError<SignError, HttpResponse>> {
    client
        .sign()
        .key_id(key)
        .message(Blob::new(message))
        .message_type(message_type)
        .signing_algorithm(algorithm)
        .send()
        .await
}

async fn verify(
    client: &Client,
    key: &str,
    message: impl Into<Vec<u8>>,
    message_type: MessageType,
    signature: impl Into<Vec<u8>>,
    algorithm: SigningAlgorithmSpec,
) -> Result<VerifyOutput, SdkError<VerifyError, HttpResponse>> {
    client
        .verify()
        .key_id(key)
        .message(Blob::new(message))
        .message_type(message_type)
        .signature(Blob::new(signature))
        .signing_algorithm(algorithm)
        .send()
        .await
}

fn digest_for(algorithm: &SigningAlgorithmSpec, message: &[u8]) -> Vec<u8> {
    let name = algorithm.as_str();
    let hash = if name.ends_with("256") {
        &digest::SHA256
    } else if name.ends_with("384") {
        &digest::SHA384
    } else {
        &digest::SHA512
    };
    digest::digest(hash, message).as_ref().to_vec()
}

/// Which (spec, algorithm, message type) combinations the independent peer can check.
fn peer_can_verify(algorithm: &SigningAlgorithmSpec, message_type: &MessageType) -> bool {
    match algorithm {
        SigningAlgorithmSpec::MlDsaShake256 | SigningAlgorithmSpec::Ed25519PhSha512 => false,
        SigningAlgorithmSpec::Ed25519Sha512 => *message_type == MessageType::Raw,
        _ => true,
    }
}

#[tokio::test]
async fn every_signing_spec_and_algorithm_signs_verifiably() {
    let server = TestServer::start().await;
    let client = server.client();
    use SigningAlgorithmSpec as A;
    let matrix = [
        (
            KeySpec::Rsa2048,
            vec![
                A::RsassaPssSha256,
                A::RsassaPssSha384,
                A::RsassaPssSha512,
                A::RsassaPkcs1V15Sha256,
                A::RsassaPkcs1V15Sha384,
                A::RsassaPkcs1V15Sha512,
            ],
        ),
        (KeySpec::Rsa3072, vec![A::RsassaPssSha384]),
        (KeySpec::Rsa4096, vec![A::RsassaPkcs1V15Sha512]),
        (KeySpec::EccNistP256, vec![A::EcdsaSha256]),
        (KeySpec::EccNistP384, vec![A::EcdsaSha384]),
        (KeySpec::EccNistP521, vec![A::EcdsaSha512]),
        (KeySpec::EccSecgP256K1, vec![A::EcdsaSha256]),
        (
            KeySpec::EccNistEdwards25519,
            vec![A::Ed25519Sha512, A::Ed25519PhSha512],
        ),
        (KeySpec::MlDsa44, vec![A::MlDsaShake256]),
        (KeySpec::MlDsa65, vec![A::MlDsaShake256]),
        (KeySpec::MlDsa87, vec![A::MlDsaShake256]),
    ];
    let message = b"the quick brown fox signs the lazy dog".to_vec();
    let mut offline = Vec::new();
    for (spec, algorithms) in matrix {
        let key = create(&client, spec.clone(), KeyUsageType::SignVerify).await;
        let described = client.describe_key().key_id(&key).send().await.unwrap();
        let listed = described
            .key_metadata()
            .unwrap()
            .signing_algorithms()
            .to_vec();
        let public = public_key(&client, &key).await;
        let got = client.get_public_key().key_id(&key).send().await.unwrap();
        assert_eq!(got.key_spec(), Some(&spec));
        assert_eq!(got.key_usage(), Some(&KeyUsageType::SignVerify));
        assert_eq!(got.signing_algorithms(), listed.as_slice());
        for algorithm in algorithms {
            assert!(listed.contains(&algorithm), "{spec:?} lists {algorithm:?}");
            let mut inputs = Vec::new();
            if algorithm != A::Ed25519PhSha512 {
                inputs.push((MessageType::Raw, message.clone()));
            }
            if !matches!(algorithm, A::Ed25519Sha512 | A::MlDsaShake256) {
                inputs.push((MessageType::Digest, digest_for(&algorithm, &message)));
            }
            for (message_type, input) in inputs {
                let signed = sign(
                    &client,
                    &key,
                    input.clone(),
                    message_type.clone(),
                    algorithm.clone(),
                )
                .await
                .unwrap_or_else(|e| panic!("{spec:?} {algorithm:?} {message_type:?}: {e:?}"));
                let signature = signed.signature().unwrap().as_ref().to_vec();
                let verified = verify(
                    &client,
                    &key,
                    input.clone(),
                    message_type.clone(),
                    signature.clone(),
                    algorithm.clone(),
                )
                .await
                .unwrap();
                assert!(verified.signature_valid());
                let mut flipped = signature.clone();
                let last = flipped.len() - 1;
                flipped[last / 2] ^= 0x01;
                let rejected = verify(
                    &client,
                    &key,
                    input.clone(),
                    message_type.clone(),
                    flipped,
                    algorithm.clone(),
                )
                .await;
                assert_eq!(
                    code(rejected),
                    "KMSInvalidSignatureException",
                    "{spec:?} {algorithm:?}"
                );
                if peer_can_verify(&algorithm, &message_type) {
                    offline.push(json!({
                        "op": "verify",
                        "public_key": b64(&public),
                        "algorithm": algorithm.as_str(),
                        "message": b64(&input),
                        "message_type": message_type.as_str(),
                        "signature": b64(&signature),
                    }));
                }
            }
        }
    }
    let results = peer::run(&offline);
    assert!(offline.len() >= 20);
    for (task, result) in offline.iter().zip(results) {
        assert_eq!(
            result["ok"], true,
            "offline verification of {}",
            task["algorithm"]
        );
    }
}

#[tokio::test]
async fn signing_input_is_checked() {
    let server = TestServer::start().await;
    let client = server.client();
    let p256 = create(&client, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let sign_p256 =
        |message: Vec<u8>, message_type: MessageType, algorithm: SigningAlgorithmSpec| {
            sign(&client, &p256, message, message_type, algorithm)
        };
    assert_eq!(
        code(
            sign_p256(
                vec![1; 31],
                MessageType::Digest,
                SigningAlgorithmSpec::EcdsaSha256
            )
            .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(
            sign_p256(
                vec![1; 4097],
                MessageType::Raw,
                SigningAlgorithmSpec::EcdsaSha256
            )
            .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(
            sign_p256(
                vec![1; 64],
                MessageType::ExternalMu,
                SigningAlgorithmSpec::EcdsaSha256
            )
            .await
        ),
        "ValidationException"
    );
    assert_eq!(
        code(
            sign_p256(
                vec![1; 8],
                MessageType::Raw,
                SigningAlgorithmSpec::EcdsaSha384
            )
            .await
        ),
        "InvalidKeyUsageException"
    );
    assert_eq!(
        code(
            sign_p256(
                vec![1; 8],
                MessageType::Raw,
                SigningAlgorithmSpec::RsassaPssSha256
            )
            .await
        ),
        "InvalidKeyUsageException"
    );
    let short_signature = verify(
        &client,
        &p256,
        "m",
        MessageType::Raw,
        vec![0x30, 0x02],
        SigningAlgorithmSpec::EcdsaSha256,
    )
    .await;
    assert_eq!(code(short_signature), "KMSInvalidSignatureException");

    let ed25519 = create(
        &client,
        KeySpec::EccNistEdwards25519,
        KeyUsageType::SignVerify,
    )
    .await;
    let ph_raw = sign(
        &client,
        &ed25519,
        "m",
        MessageType::Raw,
        SigningAlgorithmSpec::Ed25519PhSha512,
    )
    .await;
    assert_eq!(
        code(ph_raw),
        "ValidationException",
        "ED25519_PH_SHA_512 takes DIGEST only"
    );
    let ph_short = sign(
        &client,
        &ed25519,
        vec![1; 32],
        MessageType::Digest,
        SigningAlgorithmSpec::Ed25519PhSha512,
    )
    .await;
    assert_eq!(code(ph_short), "ValidationException");
    let ml_dsa = create(&client, KeySpec::MlDsa44, KeyUsageType::SignVerify).await;
    let wrong_mu = sign(
        &client,
        &ml_dsa,
        vec![7; 63],
        MessageType::ExternalMu,
        SigningAlgorithmSpec::MlDsaShake256,
    )
    .await;
    assert_eq!(code(wrong_mu), "ValidationException");
    let mu = sign(
        &client,
        &ml_dsa,
        vec![7; 64],
        MessageType::ExternalMu,
        SigningAlgorithmSpec::MlDsaShake256,
    )
    .await
    .unwrap();
    let verified = verify(
        &client,
        &ml_dsa,
        vec![7; 64],
        MessageType::ExternalMu,
        mu.signature().unwrap().clone().into_inner(),
        SigningAlgorithmSpec::MlDsaShake256,
    )
    .await
    .unwrap();
    assert!(verified.signature_valid());
}

#[tokio::test]
async fn usage_is_enforced() {
    let server = TestServer::start().await;
    let client = server.client();
    let rsa_encrypt = create(&client, KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    let p256 = create(&client, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let hmac = create(&client, KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac).await;
    let symmetric = create_key(&client).await;
    let wrong_usage = sign(
        &client,
        &rsa_encrypt,
        "m",
        MessageType::Raw,
        SigningAlgorithmSpec::RsassaPssSha256,
    )
    .await;
    assert_eq!(code(wrong_usage), "InvalidKeyUsageException");
    let encrypt = client
        .encrypt()
        .key_id(&p256)
        .plaintext(Blob::new("m"))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await;
    assert_eq!(code(encrypt), "InvalidKeyUsageException");
    for key in [&hmac, &symmetric] {
        assert_eq!(
            code(client.get_public_key().key_id(key).send().await),
            "UnsupportedOperationException"
        );
    }
    let mac_on_symmetric = client
        .generate_mac()
        .key_id(&symmetric)
        .message(Blob::new("m"))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await;
    assert_eq!(code(mac_on_symmetric), "InvalidKeyUsageException");
    assert_eq!(
        code(client.enable_key_rotation().key_id(&p256).send().await),
        "UnsupportedOperationException"
    );
    assert_eq!(
        code(client.rotate_key_on_demand().key_id(&hmac).send().await),
        "UnsupportedOperationException"
    );
    let data_key_from_rsa = client
        .generate_data_key()
        .key_id(&rsa_encrypt)
        .number_of_bytes(32)
        .send()
        .await;
    assert_eq!(code(data_key_from_rsa), "InvalidKeyUsageException");
    client.disable_key().key_id(&p256).send().await.unwrap();
    let disabled = sign(
        &client,
        &p256,
        "m",
        MessageType::Raw,
        SigningAlgorithmSpec::EcdsaSha256,
    )
    .await;
    assert_eq!(code(disabled), "DisabledException");
    assert_eq!(
        code(client.get_public_key().key_id(&p256).send().await),
        "DisabledException"
    );
    let secp_agreement = client
        .create_key()
        .key_spec(KeySpec::EccSecgP256K1)
        .key_usage(KeyUsageType::KeyAgreement)
        .send()
        .await;
    assert_eq!(code(secp_agreement), "ValidationException");
}

#[tokio::test]
async fn rsa_encryption_interoperates() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create(&client, KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    let described = client.describe_key().key_id(&key).send().await.unwrap();
    assert_eq!(
        described.key_metadata().unwrap().encryption_algorithms(),
        &[
            EncryptionAlgorithmSpec::RsaesOaepSha1,
            EncryptionAlgorithmSpec::RsaesOaepSha256
        ]
    );
    let public = public_key(&client, &key).await;
    let mut offline = Vec::new();
    for (algorithm, max) in [
        (EncryptionAlgorithmSpec::RsaesOaepSha1, 214),
        (EncryptionAlgorithmSpec::RsaesOaepSha256, 190),
    ] {
        let plaintext = vec![0x5a; max];
        let encrypted = client
            .encrypt()
            .key_id(&key)
            .plaintext(Blob::new(plaintext.clone()))
            .encryption_algorithm(algorithm.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(encrypted.encryption_algorithm(), Some(&algorithm));
        assert_eq!(
            encrypted.ciphertext_blob().unwrap().as_ref().len(),
            256,
            "raw RSA-OAEP output"
        );
        let back = client
            .decrypt()
            .key_id(&key)
            .ciphertext_blob(encrypted.ciphertext_blob().unwrap().clone())
            .encryption_algorithm(algorithm.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(back.plaintext().unwrap().as_ref(), plaintext.as_slice());
        assert!(
            back.key_material_id().is_none(),
            "AWS reports material ids for symmetric keys only"
        );
        let too_long = client
            .encrypt()
            .key_id(&key)
            .plaintext(Blob::new(vec![0x5a; max + 1]))
            .encryption_algorithm(algorithm.clone())
            .send()
            .await;
        assert_eq!(
            code(too_long),
            "ValidationException",
            "{algorithm:?} limit {max}"
        );
        offline.push(json!({"op": "encrypt", "public_key": b64(&public), "algorithm": algorithm.as_str(), "plaintext": b64(b"made offline")}));
    }
    let results = peer::run(&offline);
    for (task, result) in offline.iter().zip(results) {
        let algorithm = EncryptionAlgorithmSpec::from(task["algorithm"].as_str().unwrap());
        let back = client
            .decrypt()
            .key_id(&key)
            .ciphertext_blob(Blob::new(unb64(&result["ciphertext"])))
            .encryption_algorithm(algorithm)
            .send()
            .await
            .unwrap();
        assert_eq!(back.plaintext().unwrap().as_ref(), b"made offline");
    }
    let encrypted = client
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("x"))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await
        .unwrap();
    let blob = encrypted.ciphertext_blob().unwrap().clone();
    let no_algorithm = client
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("x"))
        .send()
        .await;
    // AWS's default algorithm, SYMMETRIC_DEFAULT, is not one an RSA key offers.
    assert_eq!(code(no_algorithm), "InvalidKeyUsageException");
    let with_context = client
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("x"))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .encryption_context("k", "v")
        .send()
        .await;
    assert_eq!(code(with_context), "ValidationException");
    let symmetric_algorithm = client
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("x"))
        .encryption_algorithm(EncryptionAlgorithmSpec::SymmetricDefault)
        .send()
        .await;
    assert_eq!(code(symmetric_algorithm), "InvalidKeyUsageException");
    let without_key = client.decrypt().ciphertext_blob(blob.clone()).send().await;
    assert_eq!(code(without_key), "InvalidCiphertextException");
    let wrong_hash = client
        .decrypt()
        .key_id(&key)
        .ciphertext_blob(blob)
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha1)
        .send()
        .await;
    assert_eq!(code(wrong_hash), "InvalidCiphertextException");
}

#[tokio::test]
async fn hmac_keys_generate_and_verify() {
    let server = TestServer::start().await;
    let client = server.client();
    for (spec, algorithm, len) in [
        (KeySpec::Hmac224, MacAlgorithmSpec::HmacSha224, 28),
        (KeySpec::Hmac256, MacAlgorithmSpec::HmacSha256, 32),
        (KeySpec::Hmac384, MacAlgorithmSpec::HmacSha384, 48),
        (KeySpec::Hmac512, MacAlgorithmSpec::HmacSha512, 64),
    ] {
        let key = create(&client, spec.clone(), KeyUsageType::GenerateVerifyMac).await;
        let described = client.describe_key().key_id(&key).send().await.unwrap();
        assert_eq!(
            described.key_metadata().unwrap().mac_algorithms(),
            std::slice::from_ref(&algorithm)
        );
        let mac = client
            .generate_mac()
            .key_id(&key)
            .message(Blob::new("authenticate me"))
            .mac_algorithm(algorithm.clone())
            .send()
            .await
            .unwrap();
        let tag = mac.mac().unwrap().as_ref().to_vec();
        assert_eq!(tag.len(), len);
        let again = client
            .generate_mac()
            .key_id(&key)
            .message(Blob::new("authenticate me"))
            .mac_algorithm(algorithm.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(
            again.mac().unwrap().as_ref(),
            tag.as_slice(),
            "HMAC is deterministic"
        );
        let verified = client
            .verify_mac()
            .key_id(&key)
            .message(Blob::new("authenticate me"))
            .mac(Blob::new(tag.clone()))
            .mac_algorithm(algorithm.clone())
            .send()
            .await
            .unwrap();
        assert!(verified.mac_valid());
        let mut flipped = tag.clone();
        flipped[0] ^= 0x01;
        let rejected = client
            .verify_mac()
            .key_id(&key)
            .message(Blob::new("authenticate me"))
            .mac(Blob::new(flipped))
            .mac_algorithm(algorithm.clone())
            .send()
            .await;
        assert_eq!(code(rejected), "KMSInvalidMacException", "{spec:?}");
        let other_message = client
            .verify_mac()
            .key_id(&key)
            .message(Blob::new("authenticate you"))
            .mac(Blob::new(tag))
            .mac_algorithm(algorithm.clone())
            .send()
            .await;
        assert_eq!(code(other_message), "KMSInvalidMacException");
    }
    let key = create(&client, KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac).await;
    let wrong_algorithm = client
        .generate_mac()
        .key_id(&key)
        .message(Blob::new("m"))
        .mac_algorithm(MacAlgorithmSpec::HmacSha512)
        .send()
        .await;
    assert_eq!(code(wrong_algorithm), "InvalidKeyUsageException");
    let too_long = client
        .generate_mac()
        .key_id(&key)
        .message(Blob::new(vec![0; 4097]))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await;
    assert_eq!(code(too_long), "ValidationException");
}

#[tokio::test]
async fn ecdh_secrets_match_the_peer() {
    let server = TestServer::start().await;
    let client = server.client();
    let mut tasks = Vec::new();
    let mut keys = Vec::new();
    for (spec, curve) in [
        (KeySpec::EccNistP256, "ECC_NIST_P256"),
        (KeySpec::EccNistP384, "ECC_NIST_P384"),
        (KeySpec::EccNistP521, "ECC_NIST_P521"),
    ] {
        let key = create(&client, spec, KeyUsageType::KeyAgreement).await;
        let got = client.get_public_key().key_id(&key).send().await.unwrap();
        assert_eq!(
            got.key_agreement_algorithms(),
            &[KeyAgreementAlgorithmSpec::Ecdh]
        );
        tasks.push(json!({"op": "ecdh", "curve": curve, "public_key": b64(got.public_key().unwrap().as_ref())}));
        keys.push(key);
    }
    let results = peer::run(&tasks);
    for (key, result) in keys.iter().zip(&results) {
        let derived = client
            .derive_shared_secret()
            .key_id(key)
            .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
            .public_key(Blob::new(unb64(&result["peer_public_key"])))
            .send()
            .await
            .unwrap();
        assert_eq!(
            derived.shared_secret().unwrap().as_ref(),
            unb64(&result["shared_secret"]).as_slice()
        );
    }
    // The P-384 peer's key offered to the P-256 KMS key: a wrong curve.
    let wrong_curve = client
        .derive_shared_secret()
        .key_id(&keys[0])
        .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
        .public_key(Blob::new(unb64(&results[1]["peer_public_key"])))
        .send()
        .await;
    assert_eq!(code(wrong_curve), "ValidationException");
    let malformed = client
        .derive_shared_secret()
        .key_id(&keys[0])
        .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
        .public_key(Blob::new(vec![0x30, 0x03, 0x01, 0x02, 0x03]))
        .send()
        .await;
    assert_eq!(code(malformed), "ValidationException");
    let signing_key = create(&client, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let wrong_usage = client
        .derive_shared_secret()
        .key_id(&signing_key)
        .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
        .public_key(Blob::new(unb64(&results[0]["peer_public_key"])))
        .send()
        .await;
    assert_eq!(code(wrong_usage), "InvalidKeyUsageException");
}

#[tokio::test]
async fn data_key_pairs_match_and_decrypt() {
    let server = TestServer::start().await;
    let client = server.client();
    let wrapping = create_key(&client).await;
    let mut tasks = Vec::new();
    let specs = [
        DataKeyPairSpec::Rsa2048,
        DataKeyPairSpec::Rsa3072,
        DataKeyPairSpec::EccNistP256,
        DataKeyPairSpec::EccNistP384,
        DataKeyPairSpec::EccNistP521,
        DataKeyPairSpec::EccSecgP256K1,
        DataKeyPairSpec::EccNistEdwards25519,
    ];
    for spec in &specs {
        let pair = client
            .generate_data_key_pair()
            .key_id(&wrapping)
            .key_pair_spec(spec.clone())
            .encryption_context("purpose", "pair")
            .send()
            .await
            .unwrap();
        assert_eq!(pair.key_pair_spec(), Some(spec));
        let private = pair.private_key_plaintext().unwrap().as_ref().to_vec();
        let back = client
            .decrypt()
            .ciphertext_blob(pair.private_key_ciphertext_blob().unwrap().clone())
            .encryption_context("purpose", "pair")
            .send()
            .await
            .unwrap();
        assert_eq!(
            back.plaintext().unwrap().as_ref(),
            private.as_slice(),
            "{spec:?}"
        );
        tasks.push(json!({"op": "key_pair", "private_key": b64(&private), "public_key": b64(pair.public_key().unwrap().as_ref())}));
    }
    for (spec, result) in specs.iter().zip(peer::run(&tasks)) {
        assert_eq!(result["match"], true, "{spec:?}: {result}");
    }
    let without = client
        .generate_data_key_pair_without_plaintext()
        .key_id(&wrapping)
        .key_pair_spec(DataKeyPairSpec::EccNistP256)
        .send()
        .await
        .unwrap();
    assert!(without.public_key().is_some() && without.private_key_ciphertext_blob().is_some());
    let sm2 = client
        .generate_data_key_pair()
        .key_id(&wrapping)
        .key_pair_spec(DataKeyPairSpec::Sm2)
        .send()
        .await;
    assert_eq!(code(sm2), "UnsupportedOperationException");
    let signing_key = create(&client, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let wrong_key = client
        .generate_data_key_pair()
        .key_id(&signing_key)
        .key_pair_spec(DataKeyPairSpec::EccNistP256)
        .send()
        .await;
    assert_eq!(code(wrong_key), "InvalidKeyUsageException");
}

#[tokio::test]
async fn a_key_disabled_while_a_pair_waits_for_generation_does_not_seal() {
    let server = TestServer::start().await;
    let client = server.client();
    let wrapping = create_key(&client).await;
    // Occupy every generation permit (one per core) with RSA-4096 key generations.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let blockers: Vec<_> = (0..cores)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                client
                    .create_key()
                    .key_spec(KeySpec::Rsa4096)
                    .key_usage(KeyUsageType::SignVerify)
                    .send()
                    .await
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    let waiting = {
        let client = client.clone();
        let wrapping = wrapping.clone();
        tokio::spawn(async move {
            client
                .generate_data_key_pair()
                .key_id(&wrapping)
                .key_pair_spec(DataKeyPairSpec::Rsa2048)
                .send()
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(30)).await;
    client.disable_key().key_id(&wrapping).send().await.unwrap();
    assert_eq!(code(waiting.await.unwrap()), "DisabledException");
    for blocker in blockers {
        blocker.await.unwrap().unwrap();
    }
}
