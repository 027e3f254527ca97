//! Key lifecycle through aws-sdk-kms: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey,
//! ScheduleKeyDeletion, CancelKeyDeletion, UpdateKeyDescription.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, OriginType, Tag};
use common::{ACCOUNT, TestServer, code, create_key};

#[tokio::test]
async fn create_and_describe_return_full_metadata() {
    let server = TestServer::start().await;
    let client = server.client();
    let created = client
        .create_key()
        .description("payments")
        .tags(
            Tag::builder()
                .tag_key("team")
                .tag_value("platform")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let created = created.key_metadata().unwrap();
    let key_id = created.key_id();
    assert_eq!(
        created.arn().unwrap(),
        format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}")
    );
    assert_eq!(created.aws_account_id(), Some(ACCOUNT));

    for reference in [key_id.to_owned(), created.arn().unwrap().to_owned()] {
        let described = client
            .describe_key()
            .key_id(&reference)
            .send()
            .await
            .unwrap();
        let meta = described.key_metadata().unwrap();
        assert_eq!(meta.key_id(), key_id);
        assert_eq!(meta.description(), Some("payments"));
        assert!(meta.enabled());
        assert_eq!(meta.key_state(), Some(&KeyState::Enabled));
        assert_eq!(meta.key_spec(), Some(&KeySpec::SymmetricDefault));
        assert_eq!(meta.key_usage(), Some(&KeyUsageType::EncryptDecrypt));
        assert_eq!(meta.origin(), Some(&OriginType::AwsKms));
        assert_eq!(meta.key_manager().map(|m| m.as_str()), Some("CUSTOMER"));
        assert_eq!(meta.multi_region(), Some(false));
        assert_eq!(meta.encryption_algorithms().len(), 1);
        assert!(meta.creation_date().is_some());
        assert!(meta.deletion_date().is_none());
        let material = meta.current_key_material_id().unwrap();
        assert_eq!(material.len(), 64);
        assert!(
            material
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }
    let tags = client
        .list_resource_tags()
        .key_id(key_id)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);
    assert_eq!(tags.tags()[0].tag_value(), "platform");
}

#[tokio::test]
async fn create_key_refuses_what_it_cannot_make() {
    let server = TestServer::start().await;
    let client = server.client();
    let sm2 = client
        .create_key()
        .key_spec(KeySpec::Sm2)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await;
    assert_eq!(code(sm2), "UnsupportedOperationException");
    let ecc_without_usage = client
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .send()
        .await;
    assert_eq!(code(ecc_without_usage), "ValidationException");
    let hmac_for_encryption = client
        .create_key()
        .key_spec(KeySpec::Hmac256)
        .key_usage(KeyUsageType::EncryptDecrypt)
        .send()
        .await;
    assert_eq!(code(hmac_for_encryption), "ValidationException");
    let wrong_usage = client
        .create_key()
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await;
    assert_eq!(code(wrong_usage), "ValidationException");
    let external = client
        .create_key()
        .origin(OriginType::External)
        .send()
        .await;
    assert_eq!(code(external), "UnsupportedOperationException");
    let bad_policy = client.create_key().policy("{not json").send().await;
    assert_eq!(code(bad_policy), "MalformedPolicyDocumentException");
    let reserved_tag = client
        .create_key()
        .tags(
            Tag::builder()
                .tag_key("aws:secret")
                .tag_value("x")
                .build()
                .unwrap(),
        )
        .send()
        .await;
    assert_eq!(code(reserved_tag), "TagException");
    let long = client
        .create_key()
        .description("d".repeat(8193))
        .send()
        .await;
    assert_eq!(code(long), "ValidationException");
    assert!(
        client.list_keys().send().await.unwrap().keys().is_empty(),
        "nothing was created"
    );
}

#[tokio::test]
async fn list_keys_pages_with_markers() {
    let server = TestServer::start().await;
    let client = server.client();
    let mut created = Vec::new();
    for _ in 0..5 {
        created.push(create_key(&client).await);
    }
    created.sort();
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = client
            .list_keys()
            .limit(2)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        assert!(page.keys().len() <= 2);
        for entry in page.keys() {
            let id = entry.key_id().unwrap().to_owned();
            assert_eq!(
                entry.key_arn().unwrap(),
                format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{id}")
            );
            seen.push(id);
        }
        if !page.truncated() {
            assert!(page.next_marker().is_none());
            break;
        }
        marker = page.next_marker().map(str::to_owned);
    }
    assert_eq!(seen, created);
    assert_eq!(
        code(client.list_keys().limit(0).send().await),
        "ValidationException"
    );
    assert_eq!(
        code(client.list_keys().limit(1001).send().await),
        "ValidationException"
    );
    assert_eq!(
        code(client.list_keys().marker("garbage").send().await),
        "InvalidMarkerException"
    );
}

#[tokio::test]
async fn keys_are_scoped_by_region() {
    let server = TestServer::start().await;
    let east = server.client();
    let west = server.client_as(common::ACCESS_KEY, common::SECRET, "eu-west-1");
    let key = create_key(&east).await;
    assert!(west.list_keys().send().await.unwrap().keys().is_empty());
    assert_eq!(
        code(west.describe_key().key_id(&key).send().await),
        "NotFoundException"
    );
    let arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{key}");
    assert_eq!(
        code(west.describe_key().key_id(&arn).send().await),
        "NotFoundException"
    );
    let west_key = west.create_key().send().await.unwrap();
    assert!(
        west_key
            .key_metadata()
            .unwrap()
            .arn()
            .unwrap()
            .starts_with("arn:aws:kms:eu-west-1:")
    );
    let unserved = server.client_as(common::ACCESS_KEY, common::SECRET, "ap-south-1");
    assert_eq!(
        code(unserved.list_keys().send().await),
        "InvalidSignatureException"
    );
}

#[tokio::test]
async fn disable_enable_and_the_state_rules() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    client.disable_key().key_id(&key).send().await.unwrap();
    let meta = client.describe_key().key_id(&key).send().await.unwrap();
    assert_eq!(
        meta.key_metadata().unwrap().key_state(),
        Some(&KeyState::Disabled)
    );
    assert!(!meta.key_metadata().unwrap().enabled());
    let encrypt = client
        .encrypt()
        .key_id(&key)
        .plaintext(b"x".to_vec().into())
        .send()
        .await;
    assert_eq!(code(encrypt), "DisabledException");
    client.disable_key().key_id(&key).send().await.unwrap();
    client.enable_key().key_id(&key).send().await.unwrap();
    client
        .encrypt()
        .key_id(&key)
        .plaintext(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn schedule_and_cancel_deletion() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    let blob = client
        .encrypt()
        .key_id(&key)
        .plaintext(b"keep".to_vec().into())
        .send()
        .await
        .unwrap();
    for days in [6, 31] {
        let out_of_range = client
            .schedule_key_deletion()
            .key_id(&key)
            .pending_window_in_days(days)
            .send()
            .await;
        assert_eq!(code(out_of_range), "ValidationException", "{days} days");
    }
    assert_eq!(
        code(client.cancel_key_deletion().key_id(&key).send().await),
        "KMSInvalidStateException"
    );

    let scheduled = client
        .schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(scheduled.key_state(), Some(&KeyState::PendingDeletion));
    assert_eq!(scheduled.pending_window_in_days(), Some(7));
    assert!(scheduled.key_id().unwrap().starts_with("arn:aws:kms:"));
    let deletion = scheduled.deletion_date().unwrap().secs();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (deletion - now - 7 * 86_400).abs() < 60,
        "deletion date is 7 days out"
    );

    let meta = client.describe_key().key_id(&key).send().await.unwrap();
    let meta = meta.key_metadata().unwrap();
    assert_eq!(meta.key_state(), Some(&KeyState::PendingDeletion));
    // AWS reports the window only for PendingReplicaDeletion (multi-Region replicas).
    assert_eq!(meta.pending_deletion_window_in_days(), None);
    assert!(meta.deletion_date().is_some());
    let ciphertext = blob.ciphertext_blob().unwrap().clone();
    assert_eq!(
        code(
            client
                .decrypt()
                .ciphertext_blob(ciphertext.clone())
                .send()
                .await
        ),
        "KMSInvalidStateException"
    );
    assert_eq!(
        code(
            client
                .encrypt()
                .key_id(&key)
                .plaintext(b"x".to_vec().into())
                .send()
                .await
        ),
        "KMSInvalidStateException"
    );
    assert_eq!(
        code(client.enable_key().key_id(&key).send().await),
        "KMSInvalidStateException"
    );
    assert_eq!(
        code(client.schedule_key_deletion().key_id(&key).send().await),
        "KMSInvalidStateException"
    );

    let cancelled = client
        .cancel_key_deletion()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert!(cancelled.key_id().unwrap().ends_with(&key));
    let meta = client.describe_key().key_id(&key).send().await.unwrap();
    assert_eq!(
        meta.key_metadata().unwrap().key_state(),
        Some(&KeyState::Disabled)
    );
    assert!(meta.key_metadata().unwrap().deletion_date().is_none());
    client.enable_key().key_id(&key).send().await.unwrap();
    let plain = client
        .decrypt()
        .ciphertext_blob(ciphertext)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.plaintext().unwrap().as_ref(), b"keep");

    let default_window = client
        .schedule_key_deletion()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(default_window.pending_window_in_days(), Some(30));
}

#[tokio::test]
async fn update_description_and_unknown_keys() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    client
        .update_key_description()
        .key_id(&key)
        .description("renamed")
        .send()
        .await
        .unwrap();
    let meta = client.describe_key().key_id(&key).send().await.unwrap();
    assert_eq!(meta.key_metadata().unwrap().description(), Some("renamed"));
    let missing = "00000000-0000-4000-8000-000000000000";
    assert_eq!(
        code(client.describe_key().key_id(missing).send().await),
        "NotFoundException"
    );
    assert_eq!(
        code(client.enable_key().key_id(missing).send().await),
        "NotFoundException"
    );
    assert_eq!(
        code(client.describe_key().key_id("not-a-key").send().await),
        "NotFoundException"
    );
    assert_eq!(
        code(client.describe_key().key_id("alias/none").send().await),
        "NotFoundException"
    );
    assert_eq!(
        code(client.describe_key().key_id("").send().await),
        "ValidationException"
    );
}
