//! Every sealed value is bound to all it means: a row edited in the database (an access key
//! moved to another tenant, a key's spec changed, material swapped between keys) refuses to
//! unseal instead of serving; and a data directory made before these bindings (a fixture made
//! by the release before them) is sealed again on its first start and keeps working.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, MacAlgorithmSpec, SigningAlgorithmSpec};
use base64::Engine as _;
use common::identities::{admin, iam, kms, user};
use common::{TestServer, code, create_key};

async fn database(dir: &Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.join("strongbox.db").display()))
        .await
        .unwrap()
}

/// Every sealed value in the store is in the current layout: key material and access-key
/// secrets under their account's key-encryption key (`K`), those keys and the service's
/// values under the root key in the current format (3).
async fn all_sealed_in_the_current_format(dir: &Path) {
    let db = database(dir).await;
    for (table, statement, format) in [
        (
            "key_versions",
            "SELECT substr(sealed_material, 1, 1) FROM key_versions",
            b'K',
        ),
        (
            "access_keys",
            "SELECT substr(sealed_secret, 1, 1) FROM access_keys",
            b'K',
        ),
        ("meta", "SELECT substr(value, 1, 1) FROM meta", 3),
        (
            "account_keks",
            "SELECT substr(sealed, 1, 1) FROM account_keks",
            3,
        ),
    ] {
        let versions: Vec<Vec<u8>> = sqlx::query_scalar(statement).fetch_all(&db).await.unwrap();
        assert!(!versions.is_empty(), "{table}");
        assert!(
            versions.iter().all(|v| v == &[format]),
            "{table}: {versions:?}"
        );
    }
    db.close().await;
}

#[tokio::test]
async fn rows_edited_in_the_database_refuse_to_unseal() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let server = TestServer::start_in(&dir).await;
    let iam = iam(&server, admin());
    let owner = kms(&server, admin());
    let mover = user(
        &iam,
        "mover",
        Some(&common::identities::allow(&["kms:ListKeys"])),
    )
    .await;
    let mover_key = mover.access_key_id().to_owned();
    let (other, other_admin) = server.new_tenant("other").await;
    other_admin.list_keys().send().await.unwrap();
    // A third tenant, whose credentials are kept to use again after the restart.
    let third = common::Tenant::new(&server, "third").await;
    create_key(&third.client(&server)).await;
    let swapped = create_key(&owner).await;
    let donor = create_key(&owner).await;
    let respecified = create_key(&owner).await;
    let blob = common::encrypt(&owner, &swapped, b"x").await;
    server.stop().await;
    all_sealed_in_the_current_format(&dir).await;

    // Someone who can write the database but has no root key edits three rows.
    let db = database(&dir).await;
    // Their own access key, moved to the other tenant's admin.
    sqlx::query("UPDATE access_keys SET account_id = ?, user_name = 'admin' WHERE id = ?")
        .bind(other.as_str())
        .bind(&mover_key)
        .execute(&db)
        .await
        .unwrap();
    // A symmetric key's 32 bytes passed off as an HMAC key's.
    sqlx::query(
        "UPDATE keys SET key_spec = 'HMAC_256', key_usage = 'GENERATE_VERIFY_MAC' WHERE key_id = ?",
    )
    .bind(&respecified)
    .execute(&db)
    .await
    .unwrap();
    // One key's material copied over another's.
    sqlx::query(
        "UPDATE key_versions SET sealed_material = (SELECT sealed_material FROM key_versions WHERE key_id = ?) WHERE key_id = ?",
    )
    .bind(&donor)
    .bind(&swapped)
    .execute(&db)
    .await
    .unwrap();
    // The owner's key-encryption key copied over a third tenant's.
    sqlx::query(
        "UPDATE account_keks SET sealed = (SELECT sealed FROM account_keks WHERE account_id = '111122223333') WHERE account_id = ?",
    )
    .bind(third.account.as_str())
    .execute(&db)
    .await
    .unwrap();
    db.close().await;

    let server = TestServer::start_in(&dir).await;
    let owner = kms(&server, admin());
    let moved = kms(&server, mover);
    assert_eq!(
        code(moved.list_keys().send().await),
        "KMSInternalException",
        "the moved access key's secret does not open for the other tenant"
    );
    let mac = owner
        .generate_mac()
        .key_id(&respecified)
        .message(Blob::new(b"m".to_vec()))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await;
    assert_eq!(
        code(mac),
        "KMSInternalException",
        "a changed spec does not open"
    );
    let decrypted = owner.decrypt().ciphertext_blob(blob).send().await;
    assert_eq!(
        code(decrypted),
        "KMSInternalException",
        "swapped material does not open"
    );
    let encrypted = common::identities::encrypt_as(&owner, &swapped).await;
    assert_eq!(code(encrypted), "KMSInternalException");
    // The third tenant's access key and keys were sealed under its own key-encryption key.
    assert_eq!(
        code(third.client(&server).list_keys().send().await),
        "KMSInternalException",
        "a key-encryption key copied from another account does not open"
    );
    // What was not edited works.
    common::identities::encrypt_as(&owner, &donor)
        .await
        .unwrap();
    owner.list_keys().send().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn a_data_directory_from_before_bindings_is_sealed_again_and_works() {
    // That fixture's script passed base64 text to the aws CLI (v1), which encoded it again.
    let b64 = base64::engine::general_purpose::STANDARD;
    upgrade_fixture(
        "datadir-before-bindings",
        b64.encode("fixture plaintext").as_bytes(),
        b64.encode("fixture message").as_bytes(),
    )
    .await;
}

/// A data directory made by the release before account key-encryption keys (values sealed
/// directly under the root key, in the second format), by `tests/fixtures/make-datadir.sh`.
#[tokio::test]
async fn a_data_directory_from_before_account_keys_is_sealed_again_and_works() {
    upgrade_fixture(
        "datadir-before-account-keys",
        b"fixture plaintext",
        b"fixture message",
    )
    .await;
}

/// Starts a server on a copy of fixture `name` and checks that everything in it works, that
/// it was sealed again in the current layout, and that an earlier-format value put back
/// afterwards does not open.
async fn upgrade_fixture(name: &str, plaintext: &[u8], message: &[u8]) {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let facts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture.join("facts.json")).unwrap()).unwrap();
    let fact = |name: &str| facts[name].as_str().unwrap().to_owned();
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    common::copy_private(&fixture.join("data"), &dir);
    // The user's earlier-format secret, kept for later (copied, so the fixture stays untouched).
    let old = database(&dir).await;
    let old_secret: Vec<u8> =
        sqlx::query_scalar("SELECT sealed_secret FROM access_keys WHERE id = ?")
            .bind(fact("user_access_key_id"))
            .fetch_one(&old)
            .await
            .unwrap();
    old.close().await;

    // The admin CLI does not upgrade a store (a server of the older version may be running on
    // it): it says to start `serve` once.
    let store = format!("sqlite://{}", dir.join("strongbox.db").display());
    let refused = strongbox::datadir::open(&dir, &store, strongbox::datadir::OpenMode::MustExist)
        .await
        .err()
        .expect("the admin CLI refuses a store to upgrade");
    assert!(refused.contains("older version"), "{refused}");

    let server = TestServer::start_in(&dir).await;
    let owner = server.client();
    let b64 = base64::engine::general_purpose::STANDARD;
    let decrypted = owner
        .decrypt()
        .ciphertext_blob(Blob::new(b64.decode(fact("ciphertext")).unwrap()))
        .encryption_context("app", "fixture")
        .send()
        .await
        .unwrap();
    assert_eq!(decrypted.plaintext().unwrap().as_ref(), plaintext);
    let verified = owner
        .verify_mac()
        .key_id(fact("hmac_key"))
        .message(Blob::new(message.to_vec()))
        .mac(Blob::new(b64.decode(fact("mac")).unwrap()))
        .mac_algorithm(MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap();
    assert!(verified.mac_valid());
    owner
        .sign()
        .key_id(fact("rsa_key"))
        .message(Blob::new(b"m".to_vec()))
        .signing_algorithm(SigningAlgorithmSpec::RsassaPssSha256)
        .send()
        .await
        .unwrap();
    // Both versions of the rotated key: the old one decrypts (above), the new one encrypts.
    common::identities::encrypt_as(&owner, &fact("symmetric_key"))
        .await
        .unwrap();
    // The IAM user's access key, and the grant token of the grantee.
    let user = server.client_as(
        &fact("user_access_key_id"),
        &fact("user_secret"),
        "us-east-1",
    );
    user.list_keys().send().await.unwrap();
    let grantee = server.client_as(
        &fact("grantee_access_key_id"),
        &fact("grantee_secret"),
        "us-east-1",
    );
    grantee
        .decrypt()
        .ciphertext_blob(Blob::new(b64.decode(fact("ciphertext")).unwrap()))
        .encryption_context("app", "fixture")
        .grant_tokens(fact("grant_token"))
        .send()
        .await
        .unwrap();
    // New keys of every kind work beside the old ones.
    owner
        .create_key()
        .key_spec(KeySpec::Hmac256)
        .key_usage(KeyUsageType::GenerateVerifyMac)
        .send()
        .await
        .unwrap();
    server.stop().await;
    all_sealed_in_the_current_format(&dir).await;
    assert!(
        dir.join("root.format-3").exists(),
        "the seal records that no value of an earlier format is left"
    );

    // Someone who can write the store puts an earlier-format value back (a copy from the old
    // store): it does not open, and no later start seals it again.
    let db = database(&dir).await;
    sqlx::query("UPDATE access_keys SET sealed_secret = ? WHERE id = ?")
        .bind(&old_secret)
        .bind(fact("user_access_key_id"))
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
    let server = TestServer::start_in(&dir).await;
    let user = server.client_as(
        &fact("user_access_key_id"),
        &fact("user_secret"),
        "us-east-1",
    );
    assert_eq!(code(user.list_keys().send().await), "KMSInternalException");
    server.stop().await;

    // The audit signing key, sealed again, still opens.
    let kms = strongbox::datadir::open(&dir, &store, strongbox::datadir::OpenMode::MustExist)
        .await
        .unwrap();
    assert!(!kms.audit_public_key().await.unwrap().is_empty());
    kms.close().await;
}
