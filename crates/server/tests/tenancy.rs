//! Tenant isolation: a second account can never see, use, alias, tag or change the first
//! account's keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::Tag;
use common::{ACCOUNT, TestServer, code, create_key, message};

#[tokio::test]
async fn another_account_cannot_touch_keys() {
    let server = TestServer::start().await;
    let owner = server.client();
    let key = create_key(&owner).await;
    owner
        .create_alias()
        .alias_name("alias/owned")
        .target_key_id(&key)
        .send()
        .await
        .unwrap();
    let blob = owner
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("tenant a"))
        .send()
        .await
        .unwrap();
    let blob = blob.ciphertext_blob().unwrap().clone();
    let arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{key}");
    let alias_arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/owned");

    let (other_account, other) = server.new_tenant("tenant-b").await;
    assert_ne!(other_account.as_str(), ACCOUNT);
    assert!(other.list_keys().send().await.unwrap().keys().is_empty());
    assert!(
        other
            .list_aliases()
            .send()
            .await
            .unwrap()
            .aliases()
            .is_empty()
    );

    // A bare id or alias resolves in the caller's own account.
    assert_eq!(
        code(other.describe_key().key_id(&key).send().await),
        "NotFoundException"
    );
    assert_eq!(
        code(other.describe_key().key_id("alias/owned").send().await),
        "NotFoundException"
    );
    // Full ARNs of another account: access denied for operations AWS allows by key policy.
    for reference in [&arn, &alias_arn] {
        let denied = other.describe_key().key_id(reference).send().await;
        let text = message(denied);
        assert!(text.contains("is not authorized"), "{text}");
        assert_eq!(
            code(
                other
                    .encrypt()
                    .key_id(reference)
                    .plaintext(Blob::new("x"))
                    .send()
                    .await
            ),
            "AccessDeniedException"
        );
        assert_eq!(
            code(
                other
                    .generate_data_key()
                    .key_id(reference)
                    .number_of_bytes(32)
                    .send()
                    .await
            ),
            "AccessDeniedException"
        );
    }
    // Their ciphertext: access denied, revealing nothing.
    let decrypt = other.decrypt().ciphertext_blob(blob.clone()).send().await;
    assert_eq!(code(decrypt), "AccessDeniedException");
    // Management operations never cross accounts.
    assert_eq!(
        code(other.disable_key().key_id(&arn).send().await),
        "NotFoundException"
    );
    assert_eq!(
        code(other.schedule_key_deletion().key_id(&arn).send().await),
        "NotFoundException"
    );
    let tag = Tag::builder().tag_key("x").tag_value("y").build().unwrap();
    assert_eq!(
        code(other.tag_resource().key_id(&arn).tags(tag).send().await),
        "NotFoundException"
    );
    assert_eq!(
        code(
            other
                .update_key_description()
                .key_id(&arn)
                .description("x")
                .send()
                .await
        ),
        "NotFoundException"
    );
    assert_eq!(
        code(
            other
                .create_alias()
                .alias_name("alias/steal")
                .target_key_id(&arn)
                .send()
                .await
        ),
        "NotFoundException"
    );
    assert_eq!(
        code(other.delete_alias().alias_name("alias/owned").send().await),
        "NotFoundException"
    );

    // The same alias name is free in the other account.
    let own = create_key(&other).await;
    other
        .create_alias()
        .alias_name("alias/owned")
        .target_key_id(&own)
        .send()
        .await
        .unwrap();
    let mine = other
        .describe_key()
        .key_id("alias/owned")
        .send()
        .await
        .unwrap();
    assert_eq!(mine.key_metadata().unwrap().key_id(), own);
    assert_eq!(
        mine.key_metadata().unwrap().aws_account_id(),
        Some(other_account.as_str())
    );

    // The owner is unaffected.
    let meta = owner
        .describe_key()
        .key_id("alias/owned")
        .send()
        .await
        .unwrap();
    assert!(meta.key_metadata().unwrap().enabled());
    let back = owner.decrypt().ciphertext_blob(blob).send().await.unwrap();
    assert_eq!(back.plaintext().unwrap().as_ref(), b"tenant a");
}
