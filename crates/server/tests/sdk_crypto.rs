//! Encrypt, Decrypt, ReEncrypt, GenerateDataKey*, GenerateRandom through aws-sdk-kms.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, EncryptionAlgorithmSpec};
use common::{TestServer, code, create_key};

#[tokio::test]
async fn encrypt_decrypt_round_trip_with_context() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    let plaintext: Vec<u8> = (0..=255u8).collect();
    let encrypted = client
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(plaintext.clone()))
        .encryption_context("purpose", "test")
        .encryption_context("tenant", "a")
        .send()
        .await
        .unwrap();
    assert!(encrypted.key_id().unwrap().ends_with(&key));
    assert_eq!(
        encrypted.encryption_algorithm(),
        Some(&EncryptionAlgorithmSpec::SymmetricDefault)
    );
    let blob = encrypted.ciphertext_blob().unwrap().clone();
    assert!(!blob.as_ref().windows(16).any(|w| w == &plaintext[..16]));

    let decrypted = client
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("tenant", "a")
        .encryption_context("purpose", "test")
        .send()
        .await
        .unwrap();
    assert_eq!(
        decrypted.plaintext().unwrap().as_ref(),
        plaintext.as_slice()
    );
    assert!(decrypted.key_id().unwrap().ends_with(&key));
    let described = client.describe_key().key_id(&key).send().await.unwrap();
    assert_eq!(
        decrypted.key_material_id(),
        described.key_metadata().unwrap().current_key_material_id()
    );

    for context in [
        vec![],
        vec![("purpose", "test")],
        vec![("purpose", "test"), ("tenant", "b")],
        vec![("purpose", "test"), ("tenant", "a"), ("extra", "x")],
    ] {
        let mut request = client.decrypt().ciphertext_blob(blob.clone());
        for (k, v) in &context {
            request = request.encryption_context(*k, *v);
        }
        assert_eq!(
            code(request.send().await),
            "InvalidCiphertextException",
            "{context:?}"
        );
    }
}

#[tokio::test]
async fn every_key_id_form_encrypts() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    client
        .create_alias()
        .alias_name("alias/forms")
        .target_key_id(&key)
        .send()
        .await
        .unwrap();
    let forms = [
        key.clone(),
        format!("arn:aws:kms:us-east-1:{}:key/{key}", common::ACCOUNT),
        "alias/forms".to_owned(),
        format!("arn:aws:kms:us-east-1:{}:alias/forms", common::ACCOUNT),
    ];
    for form in forms {
        let out = client
            .encrypt()
            .key_id(&form)
            .plaintext(Blob::new("x"))
            .send()
            .await
            .unwrap();
        assert!(out.key_id().unwrap().ends_with(&key), "{form}");
        let back = client
            .decrypt()
            .key_id(&form)
            .ciphertext_blob(out.ciphertext_blob().unwrap().clone())
            .send()
            .await
            .unwrap();
        assert_eq!(back.plaintext().unwrap().as_ref(), b"x");
    }
}

#[tokio::test]
async fn tampered_ciphertexts_and_wrong_keys_fail() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    let other = create_key(&client).await;
    let blob = client
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("secret"))
        .send()
        .await
        .unwrap();
    let blob = blob.ciphertext_blob().unwrap().as_ref().to_vec();
    // Every byte after the key id (bytes 1..17 choose the key, so changing them names another,
    // unknown key and is refused as access denied).
    for i in (0..blob.len()).filter(|i| !(1..17).contains(i)) {
        let mut tampered = blob.clone();
        tampered[i] ^= 0x40;
        let result = client
            .decrypt()
            .ciphertext_blob(Blob::new(tampered))
            .send()
            .await;
        assert_eq!(code(result), "InvalidCiphertextException", "byte {i}");
    }
    let mut foreign_key = blob.clone();
    foreign_key[5] ^= 0x01;
    assert_eq!(
        code(
            client
                .decrypt()
                .ciphertext_blob(Blob::new(foreign_key))
                .send()
                .await
        ),
        "AccessDeniedException"
    );
    for len in [1, 20, 92, blob.len() - 1] {
        let truncated = client
            .decrypt()
            .ciphertext_blob(Blob::new(&blob[..len]))
            .send()
            .await;
        assert_eq!(
            code(truncated),
            "InvalidCiphertextException",
            "length {len}"
        );
    }
    let wrong_key = client
        .decrypt()
        .key_id(&other)
        .ciphertext_blob(Blob::new(blob.clone()))
        .send()
        .await;
    assert_eq!(code(wrong_key), "IncorrectKeyException");
    let wrong_algorithm = client
        .decrypt()
        .ciphertext_blob(Blob::new(blob))
        .encryption_algorithm(EncryptionAlgorithmSpec::RsaesOaepSha256)
        .send()
        .await;
    assert_eq!(code(wrong_algorithm), "InvalidKeyUsageException");
}

#[tokio::test]
async fn plaintext_size_limits() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    let max = client
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(vec![7u8; 4096]))
        .send()
        .await
        .unwrap();
    let back = client
        .decrypt()
        .ciphertext_blob(max.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        back.plaintext().unwrap().as_ref(),
        vec![7u8; 4096].as_slice()
    );
    let too_big = client
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(vec![7u8; 4097]))
        .send()
        .await;
    assert_eq!(code(too_big), "ValidationException");
    let empty = client
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(Vec::new()))
        .send()
        .await;
    assert_eq!(code(empty), "ValidationException");
}

#[tokio::test]
async fn re_encrypt_moves_ciphertext_between_keys_and_contexts() {
    let server = TestServer::start().await;
    let client = server.client();
    let source = create_key(&client).await;
    let destination = create_key(&client).await;
    let blob = client
        .encrypt()
        .key_id(&source)
        .plaintext(Blob::new("move me"))
        .encryption_context("stage", "one")
        .send()
        .await
        .unwrap();
    let moved = client
        .re_encrypt()
        .ciphertext_blob(blob.ciphertext_blob().unwrap().clone())
        .source_encryption_context("stage", "one")
        .destination_key_id(&destination)
        .destination_encryption_context("stage", "two")
        .send()
        .await
        .unwrap();
    assert!(moved.source_key_id().unwrap().ends_with(&source));
    assert!(moved.key_id().unwrap().ends_with(&destination));
    let back = client
        .decrypt()
        .ciphertext_blob(moved.ciphertext_blob().unwrap().clone())
        .encryption_context("stage", "two")
        .send()
        .await
        .unwrap();
    assert_eq!(back.plaintext().unwrap().as_ref(), b"move me");
    assert!(back.key_id().unwrap().ends_with(&destination));

    let wrong_context = client
        .re_encrypt()
        .ciphertext_blob(blob.ciphertext_blob().unwrap().clone())
        .destination_key_id(&destination)
        .send()
        .await;
    assert_eq!(code(wrong_context), "InvalidCiphertextException");
    let wrong_source = client
        .re_encrypt()
        .ciphertext_blob(blob.ciphertext_blob().unwrap().clone())
        .source_encryption_context("stage", "one")
        .source_key_id(&destination)
        .destination_key_id(&destination)
        .send()
        .await;
    assert_eq!(code(wrong_source), "IncorrectKeyException");
    client
        .disable_key()
        .key_id(&destination)
        .send()
        .await
        .unwrap();
    let disabled = client
        .re_encrypt()
        .ciphertext_blob(blob.ciphertext_blob().unwrap().clone())
        .source_encryption_context("stage", "one")
        .destination_key_id(&destination)
        .send()
        .await;
    assert_eq!(code(disabled), "DisabledException");
}

#[tokio::test]
async fn data_keys_decrypt_to_their_plaintext() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    for (spec, len) in [(DataKeySpec::Aes256, 32), (DataKeySpec::Aes128, 16)] {
        let data_key = client
            .generate_data_key()
            .key_id(&key)
            .key_spec(spec)
            .encryption_context("file", "a.txt")
            .send()
            .await
            .unwrap();
        let plaintext = data_key.plaintext().unwrap().as_ref().to_vec();
        assert_eq!(plaintext.len(), len);
        assert!(data_key.key_material_id().is_some());
        let back = client
            .decrypt()
            .ciphertext_blob(data_key.ciphertext_blob().unwrap().clone())
            .encryption_context("file", "a.txt")
            .send()
            .await
            .unwrap();
        assert_eq!(back.plaintext().unwrap().as_ref(), plaintext.as_slice());
    }
    let sized = client
        .generate_data_key()
        .key_id(&key)
        .number_of_bytes(1024)
        .send()
        .await
        .unwrap();
    assert_eq!(sized.plaintext().unwrap().as_ref().len(), 1024);
    let without = client
        .generate_data_key_without_plaintext()
        .key_id(&key)
        .number_of_bytes(64)
        .send()
        .await
        .unwrap();
    let back = client
        .decrypt()
        .ciphertext_blob(without.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(back.plaintext().unwrap().as_ref().len(), 64);

    let neither = client.generate_data_key().key_id(&key).send().await;
    assert_eq!(code(neither), "ValidationException");
    let both = client
        .generate_data_key()
        .key_id(&key)
        .number_of_bytes(32)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await;
    assert_eq!(code(both), "ValidationException");
    for n in [0, 1025] {
        let out_of_range = client
            .generate_data_key()
            .key_id(&key)
            .number_of_bytes(n)
            .send()
            .await;
        assert_eq!(code(out_of_range), "ValidationException", "{n}");
    }
}

#[tokio::test]
async fn generate_random_returns_fresh_bytes() {
    let server = TestServer::start().await;
    let client = server.client();
    let first = client
        .generate_random()
        .number_of_bytes(32)
        .send()
        .await
        .unwrap();
    let second = client
        .generate_random()
        .number_of_bytes(32)
        .send()
        .await
        .unwrap();
    assert_eq!(first.plaintext().unwrap().as_ref().len(), 32);
    assert_ne!(
        first.plaintext().unwrap().as_ref(),
        second.plaintext().unwrap().as_ref()
    );
    assert_eq!(
        client
            .generate_random()
            .number_of_bytes(1024)
            .send()
            .await
            .unwrap()
            .plaintext()
            .unwrap()
            .as_ref()
            .len(),
        1024
    );
    for n in [0, 1025] {
        assert_eq!(
            code(client.generate_random().number_of_bytes(n).send().await),
            "ValidationException"
        );
    }
}

#[tokio::test]
async fn dry_run_checks_without_answering() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    let dry = client
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("x"))
        .dry_run(true)
        .send()
        .await;
    assert_eq!(code(dry), "DryRunOperationException");
    client.disable_key().key_id(&key).send().await.unwrap();
    let dry_disabled = client
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("x"))
        .dry_run(true)
        .send()
        .await;
    assert_eq!(code(dry_disabled), "DisabledException");
}
