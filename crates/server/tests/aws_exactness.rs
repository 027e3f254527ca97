//! Answers exactly as AWS KMS gives them, for the cases recorded against real AWS by public test
//! suites (codes, messages letter for letter, messageless errors, response member forms), and
//! the rules behind them: model constraints are `ValidationException`s in AWS's format, service
//! rules the operation's modelled exception. Each test drives the server with `aws-sdk-kms`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeyPairSpec, KeyAgreementAlgorithmSpec, KeySpec, KeyUsageType, MacAlgorithmSpec,
    MessageType, SigningAlgorithmSpec, Tag,
};
use common::{
    ACCESS_KEY, ACCOUNT, REGION, SECRET, TestServer, arn_of, code, create_key, message, raw,
    rotation_done,
};

/// A key of `spec` and `usage`; returns (key id, key ARN).
async fn create(client: &Client, spec: KeySpec, usage: KeyUsageType) -> (String, String) {
    let out = client
        .create_key()
        .key_spec(spec)
        .key_usage(usage)
        .send()
        .await
        .unwrap();
    let metadata = out.key_metadata().unwrap();
    (
        metadata.key_id().to_owned(),
        metadata.arn().unwrap().to_owned(),
    )
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder()
        .tag_key(key)
        .tag_value(value)
        .build()
        .unwrap()
}

/// Asserts the error's code and its exact message (`""` for AWS's messageless errors).
macro_rules! assert_error {
    ($result:expr, $code:expr, $message:expr) => {{
        let result = $result;
        let (got_code, got_message) = match &result {
            Ok(output) => panic!("expected {}, got {output:?}", $code),
            Err(aws_sdk_kms::error::SdkError::ServiceError(error)) => {
                use aws_sdk_kms::error::ProvideErrorMetadata;
                (
                    error.err().code().unwrap_or("").to_owned(),
                    error.err().message().unwrap_or("").to_owned(),
                )
            }
            Err(other) => panic!("expected a service error, got {other:?}"),
        };
        assert_eq!(
            (got_code.as_str(), got_message.as_str()),
            ($code, AsRef::<str>::as_ref(&$message))
        );
    }};
}

#[tokio::test]
async fn an_alias_name_without_its_prefix_is_a_validation_error() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    assert_error!(
        client
            .create_alias()
            .alias_name("my-alias")
            .target_key_id(&key)
            .send()
            .await,
        "ValidationException",
        "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
    );
    // The model's pattern first: a character no alias may hold.
    assert_error!(
        client
            .create_alias()
            .alias_name("alias/my-alias!")
            .target_key_id(&key)
            .send()
            .await,
        "ValidationException",
        "1 validation error detected: Value 'alias/my-alias!' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
    );
}

#[tokio::test]
async fn tag_lengths_are_model_violations_and_tag_rules_are_tag_exceptions() {
    let server = TestServer::start().await;
    let client = server.client();
    let long_key = "a".repeat(129);
    assert_error!(
        client.create_key().tags(tag(&long_key, "v")).send().await,
        "ValidationException",
        format!(
            "1 validation error detected: Value '{long_key}' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128"
        )
    );
    let long_value = "v".repeat(257);
    assert_error!(
        client
            .create_key()
            .tags(tag("ok", "v"))
            .tags(tag("k", &long_value))
            .send()
            .await,
        "ValidationException",
        format!(
            "1 validation error detected: Value '{long_value}' at 'tags.2.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256"
        )
    );
    for reserved in ["aws:key1", "AWS:key1"] {
        assert_error!(
            client.create_key().tags(tag(reserved, "v")).send().await,
            "TagException",
            "Tags beginning with aws: are reserved"
        );
    }
    let mut too_many = client.create_key();
    for i in 0..51 {
        too_many = too_many.tags(tag(&format!("k{i}"), "v"));
    }
    assert_error!(too_many.send().await, "TagException", "Too many tags");

    let key = create_key(&client).await;
    assert_error!(
        client
            .tag_resource()
            .key_id(&key)
            .tags(tag("dup", "1"))
            .tags(tag("dup", "2"))
            .send()
            .await,
        "TagException",
        "Duplicate tag keys"
    );
    assert_error!(
        client
            .tag_resource()
            .key_id(&key)
            .tags(tag("aws:x", "1"))
            .send()
            .await,
        "TagException",
        "Tags beginning with aws: are reserved"
    );
    assert_error!(
        client
            .untag_resource()
            .key_id(&key)
            .tag_keys(&long_key)
            .send()
            .await,
        "ValidationException",
        format!(
            "1 validation error detected: Value '{long_key}' at 'tagKeys.1.member' failed to satisfy constraint: Member must have length less than or equal to 128"
        )
    );
}

#[tokio::test]
async fn responses_name_the_key_as_aws_does() {
    let server = TestServer::start().await;
    let client = server.client();
    let (id, arn) = create(
        &client,
        KeySpec::SymmetricDefault,
        KeyUsageType::EncryptDecrypt,
    )
    .await;
    client
        .create_alias()
        .alias_name("alias/forms")
        .target_key_id(&id)
        .send()
        .await
        .unwrap();
    // Called through the alias, so that an echo of the request could not pass for the ARN.
    let by = "alias/forms";
    let encrypted = client
        .encrypt()
        .key_id(by)
        .plaintext(Blob::new("x"))
        .send()
        .await
        .unwrap();
    assert_eq!(encrypted.key_id(), Some(arn.as_str()), "Encrypt");
    let blob = encrypted.ciphertext_blob().unwrap().clone();
    let decrypted = client
        .decrypt()
        .ciphertext_blob(blob.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(decrypted.key_id(), Some(arn.as_str()), "Decrypt");
    let re = client
        .re_encrypt()
        .ciphertext_blob(blob)
        .destination_key_id(by)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (re.source_key_id(), re.key_id()),
        (Some(arn.as_str()), Some(arn.as_str())),
        "ReEncrypt"
    );
    let data_key = client
        .generate_data_key()
        .key_id(by)
        .number_of_bytes(32)
        .send()
        .await
        .unwrap();
    assert_eq!(data_key.key_id(), Some(arn.as_str()), "GenerateDataKey");
    let pair = client
        .generate_data_key_pair_without_plaintext()
        .key_id(by)
        .key_pair_spec(DataKeyPairSpec::EccNistP256)
        .send()
        .await
        .unwrap();
    assert_eq!(pair.key_id(), Some(arn.as_str()), "GenerateDataKeyPair*");
    let rotated = client
        .rotate_key_on_demand()
        .key_id(by)
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.key_id(), Some(arn.as_str()), "RotateKeyOnDemand");
    let status = client
        .get_key_rotation_status()
        .key_id(by)
        .send()
        .await
        .unwrap();
    assert_eq!(status.key_id(), Some(arn.as_str()), "GetKeyRotationStatus");
    let rotations = client
        .list_key_rotations()
        .key_id(by)
        .include_key_material(aws_sdk_kms::types::IncludeKeyMaterial::AllKeyMaterial)
        .send()
        .await
        .unwrap();
    assert!(
        rotations
            .rotations()
            .iter()
            .all(|entry| entry.key_id() == Some(id.as_str())),
        "ListKeyRotations entries carry the bare key id, as AWS documents"
    );
    let aliases = client.list_aliases().send().await.unwrap();
    let listed = aliases
        .aliases()
        .iter()
        .find(|alias| alias.alias_name() == Some(by))
        .unwrap();
    assert_eq!(listed.target_key_id(), Some(id.as_str()), "ListAliases");
    let scheduled = client
        .schedule_key_deletion()
        .key_id(by)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(
        scheduled.key_id(),
        Some(arn.as_str()),
        "ScheduleKeyDeletion"
    );
    let cancelled = client
        .cancel_key_deletion()
        .key_id(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.key_id(), Some(arn.as_str()), "CancelKeyDeletion");

    let (signing, signing_arn) =
        create(&client, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    let signed = client
        .sign()
        .key_id(&signing)
        .message(Blob::new("m"))
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    assert_eq!(signed.key_id(), Some(signing_arn.as_str()), "Sign");
    let public = client
        .get_public_key()
        .key_id(&signing)
        .send()
        .await
        .unwrap();
    assert_eq!(public.key_id(), Some(signing_arn.as_str()), "GetPublicKey");
    let (mac_key, mac_arn) =
        create(&client, KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac).await;
    let mac = client
        .generate_mac()
        .key_id(&mac_key)
        .message(Blob::new("m"))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap();
    assert_eq!(mac.key_id(), Some(mac_arn.as_str()), "GenerateMac");
}

#[tokio::test]
async fn on_demand_rotation_refusals_are_aws_s() {
    let server = TestServer::start_with(|config| config.on_demand_rotation_limit = 1).await;
    let client = server.client();
    let key = create_key(&client).await;
    let arn = arn_of(&client, &key).await;
    client
        .rotate_key_on_demand()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    rotation_done(&client, &key).await;
    assert_error!(
        client.rotate_key_on_demand().key_id(&key).send().await,
        "LimitExceededException",
        format!(
            "The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: {arn}"
        )
    );

    // Keys that cannot rotate: AWS sends no message.
    for (spec, usage) in [
        (KeySpec::Rsa4096, KeyUsageType::EncryptDecrypt),
        (KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac),
        (KeySpec::EccNistP256, KeyUsageType::SignVerify),
    ] {
        let (id, _) = create(&client, spec.clone(), usage).await;
        assert_error!(
            client.rotate_key_on_demand().key_id(&id).send().await,
            "UnsupportedOperationException",
            ""
        );
    }
    // The key's state is checked first: a disabled RSA key is DisabledException.
    let (rsa, rsa_arn) = create(&client, KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    client.disable_key().key_id(&rsa).send().await.unwrap();
    assert_error!(
        client.rotate_key_on_demand().key_id(&rsa).send().await,
        "DisabledException",
        format!("{rsa_arn} is disabled.")
    );
    let pending = create_key(&client).await;
    let pending_arn = arn_of(&client, &pending).await;
    client
        .schedule_key_deletion()
        .key_id(&pending)
        .send()
        .await
        .unwrap();
    assert_error!(
        client.rotate_key_on_demand().key_id(&pending).send().await,
        "KMSInvalidStateException",
        format!("{pending_arn} is pending deletion.")
    );
    let unknown = "1234abcd-12ab-34cd-56ef-1234567890ab";
    assert_error!(
        client.rotate_key_on_demand().key_id(unknown).send().await,
        "NotFoundException",
        format!("Key 'arn:aws:kms:{REGION}:{ACCOUNT}:key/{unknown}' does not exist")
    );
}

#[tokio::test]
async fn invalid_ciphertexts_signatures_and_macs_have_no_message() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    let blob = client
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("secret"))
        .encryption_context("purpose", "test")
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .clone();
    assert_error!(
        client.decrypt().ciphertext_blob(blob.clone()).send().await,
        "InvalidCiphertextException",
        ""
    );
    assert_error!(
        client
            .re_encrypt()
            .ciphertext_blob(blob.clone())
            .destination_key_id(&key)
            .send()
            .await,
        "InvalidCiphertextException",
        ""
    );
    let mut truncated = blob.as_ref().to_vec();
    truncated.truncate(truncated.len() - 1);
    assert_error!(
        client
            .decrypt()
            .ciphertext_blob(Blob::new(truncated))
            .send()
            .await,
        "InvalidCiphertextException",
        ""
    );
    // On the wire: no message member at all, as AWS sends it.
    let body = serde_json::json!({"CiphertextBlob": "AAAA"}).to_string();
    let response = raw::send(
        server.address,
        &raw::signed("TrentService.Decrypt", body.as_bytes()),
    )
    .await
    .unwrap();
    assert_eq!(
        response.json(),
        serde_json::json!({"__type": "InvalidCiphertextException"})
    );

    let (signing, _) = create(&client, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    assert_error!(
        client
            .verify()
            .key_id(&signing)
            .message(Blob::new("m"))
            .signature(Blob::new(vec![
                0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01
            ]))
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await,
        "KMSInvalidSignatureException",
        ""
    );
    let (mac_key, _) = create(&client, KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac).await;
    assert_error!(
        client
            .verify_mac()
            .key_id(&mac_key)
            .message(Blob::new("m"))
            .mac(Blob::new(vec![0; 32]))
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .send()
            .await,
        "KMSInvalidMacException",
        ""
    );
}

#[tokio::test]
async fn messages_are_aws_s_word_for_word() {
    let server = TestServer::start().await;
    let client = server.client();
    let (rsa, _) = create(&client, KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt).await;
    assert_error!(
        client
            .encrypt()
            .key_id(&rsa)
            .plaintext(Blob::new(vec![0; 215]))
            .encryption_algorithm(aws_sdk_kms::types::EncryptionAlgorithmSpec::RsaesOaepSha1)
            .send()
            .await,
        "ValidationException",
        "Algorithm RSAES_OAEP_SHA_1 and key spec RSA_2048 cannot encrypt data larger than 214 bytes."
    );
    assert_error!(
        client
            .create_key()
            .key_spec(KeySpec::Rsa2048)
            .key_usage(KeyUsageType::KeyAgreement)
            .send()
            .await,
        "ValidationException",
        "KeyUsage KEY_AGREEMENT is not compatible with KeySpec RSA_2048"
    );
    assert_error!(
        client.create_key().key_spec(KeySpec::Hmac256).send().await,
        "ValidationException",
        "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys."
    );
    assert_error!(
        client
            .create_key()
            .key_spec(KeySpec::from("HMAC_random"))
            .send()
            .await,
        "ValidationException",
        format!(
            "1 validation error detected: Value 'HMAC_random' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: {}",
            strongbox_core::model::KeySpec::value_set()
        )
    );
    let (hmac, hmac_arn) = create(&client, KeySpec::Hmac224, KeyUsageType::GenerateVerifyMac).await;
    assert_error!(
        client
            .generate_mac()
            .key_id(&hmac)
            .message(Blob::new("m"))
            .mac_algorithm(MacAlgorithmSpec::HmacSha256)
            .send()
            .await,
        "InvalidKeyUsageException",
        "Algorithm HMAC_SHA_256 is incompatible with key spec HMAC_224."
    );
    assert_error!(
        client
            .generate_mac()
            .key_id(&hmac)
            .message(Blob::new("m"))
            .mac_algorithm(MacAlgorithmSpec::from("INVALID"))
            .send()
            .await,
        "ValidationException",
        "1 validation error detected: Value 'INVALID' at 'macAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: [HMAC_SHA_384, HMAC_SHA_256, HMAC_SHA_224, HMAC_SHA_512]"
    );
    assert_error!(
        client
            .generate_mac()
            .key_id("key_id")
            .message(Blob::new("m"))
            .mac_algorithm(MacAlgorithmSpec::HmacSha224)
            .send()
            .await,
        "NotFoundException",
        "Invalid keyId 'key_id'"
    );
    assert_error!(
        client
            .sign()
            .key_id(&hmac)
            .message(Blob::new("m"))
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await,
        "InvalidKeyUsageException",
        format!("{hmac_arn} key usage is GENERATE_VERIFY_MAC which is not valid for Sign.")
    );

    // IncorrectKeyException wins over the named key's usage.
    let symmetric = create_key(&client).await;
    let blob = client
        .encrypt()
        .key_id(&symmetric)
        .plaintext(Blob::new("x"))
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .clone();
    assert_error!(
        client
            .decrypt()
            .key_id(&hmac)
            .ciphertext_blob(blob.clone())
            .send()
            .await,
        "IncorrectKeyException",
        "The key ID in the request does not identify a CMK that can perform this operation."
    );
    let (signing, signing_arn) =
        create(&client, KeySpec::EccNistP256, KeyUsageType::SignVerify).await;
    assert_error!(
        client
            .re_encrypt()
            .ciphertext_blob(blob)
            .destination_key_id(&signing)
            .send()
            .await,
        "InvalidKeyUsageException",
        format!("{signing_arn} key usage is SIGN_VERIFY which is not valid for ReEncrypt.")
    );
    assert_error!(
        client
            .generate_data_key()
            .key_id(&signing)
            .number_of_bytes(32)
            .send()
            .await,
        "InvalidKeyUsageException",
        format!("{signing_arn} key usage is SIGN_VERIFY which is not valid for GenerateDataKey.")
    );
    assert_error!(
        client
            .sign()
            .key_id(&signing)
            .message(Blob::new("not a digest"))
            .message_type(MessageType::Digest)
            .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
            .send()
            .await,
        "ValidationException",
        "Digest is invalid length for algorithm ECDSA_SHA_256."
    );

    let (agreement, _) = create(&client, KeySpec::EccNistP256, KeyUsageType::KeyAgreement).await;
    assert_error!(
        client
            .derive_shared_secret()
            .key_id(&agreement)
            .key_agreement_algorithm(KeyAgreementAlgorithmSpec::Ecdh)
            .public_key(Blob::new("InvalidPublicKey"))
            .send()
            .await,
        "ValidationException",
        ""
    );
}

#[tokio::test]
async fn keys_that_do_not_exist_are_named_as_aws_names_them() {
    let server = TestServer::start().await;
    let client = server.client();
    for invalid in [
        "fake-key-id",
        "134f2428cec14b25a1ae9048164dba47",
        "mrk-fake-key-id",
    ] {
        assert_error!(
            client.describe_key().key_id(invalid).send().await,
            "NotFoundException",
            format!("Invalid keyId '{invalid}'")
        );
    }
    for unknown in [
        "134f2428-cec1-4b25-a1ae-9048164dba47",
        "mrk-d3b95762d3b95762d3b95762d3b95762",
    ] {
        let arn = format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{unknown}");
        let expected = format!("Key '{arn}' does not exist");
        assert_error!(
            client.describe_key().key_id(unknown).send().await,
            "NotFoundException",
            expected
        );
        assert_error!(
            client.describe_key().key_id(&arn).send().await,
            "NotFoundException",
            expected
        );
    }
    // A key of another Region: by bare id it does not exist here; by ARN, the ARN is invalid.
    let europe = server.client_as(ACCESS_KEY, SECRET, "eu-west-1");
    let (id, arn) = create(
        &europe,
        KeySpec::SymmetricDefault,
        KeyUsageType::EncryptDecrypt,
    )
    .await;
    assert_error!(
        client.describe_key().key_id(&id).send().await,
        "NotFoundException",
        format!("Key 'arn:aws:kms:{REGION}:{ACCOUNT}:key/{id}' does not exist")
    );
    assert_error!(
        client.describe_key().key_id(&arn).send().await,
        "NotFoundException",
        "Invalid arn eu-west-1"
    );
}

#[tokio::test]
async fn generate_random_sizes() {
    let server = TestServer::start().await;
    let client = server.client();
    assert_error!(
        client.generate_random().send().await,
        "ValidationException",
        "NumberOfBytes is required."
    );
    assert_error!(
        client.generate_random().number_of_bytes(0).send().await,
        "ValidationException",
        "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1"
    );
    assert_error!(
        client.generate_random().number_of_bytes(1025).send().await,
        "ValidationException",
        "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024"
    );
    for size in [1, 1024] {
        let random = client
            .generate_random()
            .number_of_bytes(size)
            .send()
            .await
            .unwrap();
        assert_eq!(random.plaintext().unwrap().as_ref().len(), size as usize);
    }
}

#[tokio::test]
async fn current_key_material_id_is_for_symmetric_encryption_keys_only() {
    let server = TestServer::start().await;
    let client = server.client();
    for (spec, usage, expected) in [
        (
            KeySpec::SymmetricDefault,
            KeyUsageType::EncryptDecrypt,
            true,
        ),
        (KeySpec::Rsa2048, KeyUsageType::EncryptDecrypt, false),
        (KeySpec::EccNistP256, KeyUsageType::SignVerify, false),
        (KeySpec::Hmac256, KeyUsageType::GenerateVerifyMac, false),
    ] {
        let created = client
            .create_key()
            .key_spec(spec.clone())
            .key_usage(usage)
            .send()
            .await
            .unwrap();
        let metadata = created.key_metadata().unwrap();
        assert_eq!(
            metadata.current_key_material_id().is_some(),
            expected,
            "CreateKey {spec:?}"
        );
        let described = client
            .describe_key()
            .key_id(metadata.key_id())
            .send()
            .await
            .unwrap();
        let material = described.key_metadata().unwrap().current_key_material_id();
        assert_eq!(material.is_some(), expected, "DescribeKey {spec:?}");
        if let Some(material) = material {
            assert_eq!(material.len(), 64);
        }
    }
}

#[tokio::test]
async fn deletion_windows_follow_the_model_then_the_service() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    assert_error!(
        client
            .schedule_key_deletion()
            .key_id(&key)
            .pending_window_in_days(0)
            .send()
            .await,
        "ValidationException",
        "1 validation error detected: Value '0' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to 1"
    );
    assert_eq!(
        code(
            client
                .schedule_key_deletion()
                .key_id(&key)
                .pending_window_in_days(6)
                .send()
                .await
        ),
        "ValidationException"
    );
    assert_eq!(
        message(
            client
                .schedule_key_deletion()
                .key_id(&key)
                .pending_window_in_days(31)
                .send()
                .await
        ),
        "PendingWindowInDays should be between 7 and 30, but it is 31"
    );
}

/// AWS's Decrypt reference: "If you specify a different algorithm, the Decrypt operation fails."
/// A ciphertext made offline (Python's `cryptography`, OAEP with MGF1 and label hash of the named
/// digest, as AWS documents) decrypts under its own algorithm, for every RSA size, and fails as
/// an invalid ciphertext, without a message, under the other one.
#[tokio::test]
async fn offline_rsa_ciphertexts_decrypt_only_under_their_own_oaep_digest() {
    use aws_sdk_kms::types::EncryptionAlgorithmSpec as Algorithm;
    use common::peer;
    let server = TestServer::start().await;
    let client = server.client();
    let algorithms = [Algorithm::RsaesOaepSha1, Algorithm::RsaesOaepSha256];
    let mut keys = Vec::new();
    let mut tasks = Vec::new();
    for spec in [KeySpec::Rsa2048, KeySpec::Rsa3072, KeySpec::Rsa4096] {
        let (key, _) = create(&client, spec.clone(), KeyUsageType::EncryptDecrypt).await;
        let public = client.get_public_key().key_id(&key).send().await.unwrap();
        let public = public.public_key().unwrap().as_ref().to_vec();
        for algorithm in &algorithms {
            keys.push((key.clone(), spec.clone(), algorithm.clone()));
            tasks.push(serde_json::json!({
                "op": "encrypt",
                "public_key": peer::b64(&public),
                "algorithm": algorithm.as_str(),
                "plaintext": peer::b64(format!("offline {spec:?}").as_bytes()),
            }));
        }
    }
    let results = peer::run(&tasks);
    for ((key, spec, made_with), result) in keys.iter().zip(results) {
        let ciphertext = Blob::new(peer::unb64(&result["ciphertext"]));
        for algorithm in &algorithms {
            let decrypted = client
                .decrypt()
                .key_id(key)
                .ciphertext_blob(ciphertext.clone())
                .encryption_algorithm(algorithm.clone())
                .send()
                .await;
            if algorithm == made_with {
                let decrypted = decrypted.unwrap();
                assert_eq!(
                    decrypted.plaintext().unwrap().as_ref(),
                    format!("offline {spec:?}").as_bytes()
                );
                assert_eq!(decrypted.encryption_algorithm(), Some(algorithm));
            } else {
                assert_error!(decrypted, "InvalidCiphertextException", "");
            }
        }
    }
}

#[tokio::test]
async fn model_constraints_come_before_the_key_is_looked_up() {
    let server = TestServer::start().await;
    let client = server.client();
    assert_error!(
        client
            .encrypt()
            .key_id("not-a-key")
            .plaintext(Blob::new(vec![0; 4097]))
            .send()
            .await,
        "ValidationException",
        "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096"
    );
    let long_key = "k".repeat(129);
    assert_eq!(
        code(
            client
                .tag_resource()
                .key_id("not-a-key")
                .tags(tag(&long_key, "v"))
                .send()
                .await
        ),
        "ValidationException"
    );
    // With the model satisfied, the key id is the service's to refuse.
    assert_error!(
        client
            .encrypt()
            .key_id("not-a-key")
            .plaintext(Blob::new("x"))
            .send()
            .await,
        "NotFoundException",
        "Invalid keyId 'not-a-key'"
    );
}
