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

/// Starts a server on `dir` and returns its start-up error (it must refuse to start).
async fn refused_start(dir: &std::path::Path) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = common::config(dir, listener.local_addr().unwrap());
    strongbox::app::run(config, listener, std::future::pending())
        .await
        .expect_err("the server must refuse to start")
}

#[tokio::test]
async fn a_lost_or_replaced_root_key_is_refused_not_regenerated() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let server = TestServer::start_in(&dir).await;
    create_key(&server.client()).await;
    server.stop().await;
    let root_key = dir.join("root.key");
    let original = std::fs::read(&root_key).unwrap();

    std::fs::remove_file(&root_key).unwrap();
    let error = refused_start(&dir).await;
    assert!(error.contains("root.key is missing"), "{error}");
    assert!(!root_key.exists(), "no new root key was generated");

    std::fs::write(&root_key, [0x5a; 32]).unwrap();
    std::fs::set_permissions(
        &root_key,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let error = refused_start(&dir).await;
    assert!(error.contains("does not match this store"), "{error}");

    std::fs::write(&root_key, &original).unwrap();
    let server = TestServer::start_in(&dir).await;
    assert_eq!(
        server
            .client()
            .list_keys()
            .send()
            .await
            .unwrap()
            .keys()
            .len(),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn a_root_key_behind_a_link_or_a_stale_credentials_file_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let server = TestServer::start_in(&dir).await;
    create_key(&server.client()).await;
    server.stop().await;
    // The root key moved elsewhere and linked back: refused, not followed.
    let root_key = dir.join("root.key");
    let moved = temp.path().join("moved.key");
    std::fs::rename(&root_key, &moved).unwrap();
    std::os::unix::fs::symlink(&moved, &root_key).unwrap();
    let error = refused_start(&dir).await;
    assert!(error.contains("is a symbolic link"), "{error}");
    std::fs::remove_file(&root_key).unwrap();
    std::fs::rename(&moved, &root_key).unwrap();
    TestServer::start_in(&dir).await.stop().await;

    // A new data directory with a credentials file already in it (readable by all): the first
    // start refuses, and creates no account it could not hand out.
    let fresh = temp.path().join("fresh");
    std::fs::create_dir(&fresh).unwrap();
    let credentials = fresh.join("credentials");
    std::fs::write(&credentials, "[old]\n").unwrap();
    std::fs::set_permissions(&credentials, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = refused_start(&fresh).await;
    assert!(error.contains("already exists"), "{error}");
    assert_eq!(std::fs::read_to_string(&credentials).unwrap(), "[old]\n");
    std::fs::remove_file(&credentials).unwrap();
    let server = TestServer::start_in(&fresh).await;
    let mode = std::fs::metadata(&credentials)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    server.client().list_keys().send().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn one_server_per_data_directory() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let server = TestServer::start_in(&dir).await;
    let error = refused_start(&dir).await;
    assert!(error.contains("already using"), "{error}");
    server.stop().await;
    let again = TestServer::start_in(&dir).await;
    again.stop().await;
}

/// Each state a first start can be interrupted in (its credentials file is made first, empty):
/// the next start finishes the job and writes the file.
#[tokio::test]
async fn an_interrupted_first_start_is_finished() {
    use strongbox_core::model::{AccessKeyId, AccountId, PolicyOwner};
    let account = AccountId::parse(common::ACCOUNT).unwrap();
    let key_id = AccessKeyId::parse(common::ACCESS_KEY).unwrap();
    // (name, what is undone after a complete first start)
    for (state, undo) in [
        ("no account yet", 3),
        ("an account without its admin user", 2),
        ("an admin user without an access key", 1),
        ("everything but the file's contents", 0),
    ] {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("data");
        TestServer::start_in(&dir).await.stop().await;
        let credentials = dir.join("credentials");
        std::fs::write(&credentials, "").unwrap();
        let store_url = format!("sqlite://{}", dir.join("strongbox.db").display());
        let kms =
            strongbox::datadir::open(&dir, &store_url, strongbox::datadir::OpenMode::MustExist)
                .await
                .unwrap();
        let store = kms.store();
        if undo >= 1 {
            assert!(store.delete_access_key(&account, &key_id).await.unwrap());
        }
        if undo >= 2 {
            let admin = PolicyOwner::User("admin".to_owned());
            for policy in store.inline_policies(&account, &admin).await.unwrap() {
                store
                    .delete_inline_policy(&account, &admin, &policy.name)
                    .await
                    .unwrap();
            }
            assert!(store.delete_user(&account, "admin").await.unwrap());
        }
        if undo >= 3 {
            // A fresh store: the interrupted start had made only the file.
            store.close().await;
            for file in [
                "strongbox.db",
                "strongbox.db-wal",
                "strongbox.db-shm",
                "root.key",
            ] {
                let _ = std::fs::remove_file(dir.join(file));
            }
        } else {
            store.close().await;
        }
        let server = TestServer::start_in(&dir).await;
        let written = std::fs::read_to_string(&credentials).unwrap();
        assert!(written.contains(common::ACCESS_KEY), "{state}: {written:?}");
        server
            .client()
            .create_key()
            .send()
            .await
            .unwrap_or_else(|e| panic!("{state}: {e:?}"));
        server.stop().await;
    }

    // A file with content, or one others may read, is not a leftover: never overwritten.
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    TestServer::start_in(&dir).await.stop().await;
    let credentials = dir.join("credentials");
    let before = std::fs::read_to_string(&credentials).unwrap();
    TestServer::start_in(&dir).await.stop().await;
    assert_eq!(std::fs::read_to_string(&credentials).unwrap(), before);
}
