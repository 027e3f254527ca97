//! Durability: keys, versions, aliases, tags, states and ciphertexts survive a restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeyState, Tag};
use common::{TestServer, create_key};

#[tokio::test]
async fn everything_acknowledged_survives_a_restart() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let server = TestServer::start_in(&dir).await;
    let client = server.client();
    let key = create_key(&client).await;
    let disabled = create_key(&client).await;
    client.disable_key().key_id(&disabled).send().await.unwrap();
    client
        .create_alias()
        .alias_name("alias/durable")
        .target_key_id(&key)
        .send()
        .await
        .unwrap();
    client
        .tag_resource()
        .key_id(&key)
        .tags(
            Tag::builder()
                .tag_key("env")
                .tag_value("prod")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let blob = client
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("before restart"))
        .encryption_context("k", "v")
        .send()
        .await
        .unwrap();
    let material = client.describe_key().key_id(&key).send().await.unwrap();
    let material = material
        .key_metadata()
        .unwrap()
        .current_key_material_id()
        .unwrap()
        .to_owned();
    server.stop().await;

    let root_key = std::fs::read(dir.join("root.key")).unwrap();
    let database = std::fs::read(dir.join("strongbox.db")).unwrap();
    assert!(
        !database
            .windows(root_key.len())
            .any(|w| w == root_key.as_slice()),
        "root key not in the store"
    );
    assert!(!database.windows(14).any(|w| w == b"before restart"));
    assert!(
        !database
            .windows(common::SECRET.len())
            .any(|w| w == common::SECRET.as_bytes()),
        "no plaintext secret"
    );

    let server = TestServer::start_in(&dir).await;
    let client = server.client();
    let back = client
        .decrypt()
        .ciphertext_blob(blob.ciphertext_blob().unwrap().clone())
        .encryption_context("k", "v")
        .send()
        .await
        .unwrap();
    assert_eq!(back.plaintext().unwrap().as_ref(), b"before restart");
    let via_alias = client
        .describe_key()
        .key_id("alias/durable")
        .send()
        .await
        .unwrap();
    assert_eq!(via_alias.key_metadata().unwrap().key_id(), key);
    assert_eq!(
        via_alias.key_metadata().unwrap().current_key_material_id(),
        Some(material.as_str())
    );
    let tags = client
        .list_resource_tags()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags()[0].tag_value(), "prod");
    let state = client
        .describe_key()
        .key_id(&disabled)
        .send()
        .await
        .unwrap();
    assert_eq!(
        state.key_metadata().unwrap().key_state(),
        Some(&KeyState::Disabled)
    );
    assert_eq!(client.list_keys().send().await.unwrap().keys().len(), 2);
    server.stop().await;
}
