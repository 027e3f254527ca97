//! Key rotation through aws-sdk-kms: EnableKeyRotation, DisableKeyRotation,
//! GetKeyRotationStatus, RotateKeyOnDemand, ListKeyRotations; versions keep decrypting.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{IncludeKeyMaterial, KeyMaterialState, RotationType};
use common::{TestServer, arn_of, code, create_key, rotation_done};

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn material_id(client: &Client, key: &str) -> String {
    let described = client.describe_key().key_id(key).send().await.unwrap();
    described
        .key_metadata()
        .unwrap()
        .current_key_material_id()
        .unwrap()
        .to_owned()
}

/// Requests an on-demand rotation and waits until the scheduler has performed it.
async fn rotate_now(client: &Client, key: &str) {
    let before = material_id(client, key).await;
    let out = client
        .rotate_key_on_demand()
        .key_id(key)
        .send()
        .await
        .unwrap();
    let arn = arn_of(client, key).await;
    assert_eq!(
        out.key_id(),
        Some(arn.as_str()),
        "the key ARN, as AWS answers"
    );
    rotation_done(client, key).await;
    assert_ne!(
        material_id(client, key).await,
        before,
        "the current material changed"
    );
}

#[tokio::test]
async fn enable_disable_and_status() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    let status = client
        .get_key_rotation_status()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert!(!status.key_rotation_enabled());
    assert!(status.rotation_period_in_days().is_none() && status.next_rotation_date().is_none());
    assert!(
        status
            .key_id()
            .unwrap()
            .starts_with("arn:aws:kms:us-east-1:")
    );

    client
        .enable_key_rotation()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    let status = client
        .get_key_rotation_status()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert!(status.key_rotation_enabled());
    assert_eq!(status.rotation_period_in_days(), Some(365));
    let next = status.next_rotation_date().unwrap().secs();
    assert!(
        (next - now_secs() - 365 * 86_400).abs() < 120,
        "next rotation a year out"
    );

    client
        .enable_key_rotation()
        .key_id(&key)
        .rotation_period_in_days(90)
        .send()
        .await
        .unwrap();
    let status = client
        .get_key_rotation_status()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(status.rotation_period_in_days(), Some(90));
    let next = status.next_rotation_date().unwrap().secs();
    assert!(
        (next - now_secs() - 90 * 86_400).abs() < 120,
        "the new period counts from the same anchor"
    );

    for days in [89, 2561] {
        let result = client
            .enable_key_rotation()
            .key_id(&key)
            .rotation_period_in_days(days)
            .send()
            .await;
        assert_eq!(code(result), "ValidationException", "{days}");
    }
    client
        .disable_key_rotation()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    let status = client
        .get_key_rotation_status()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert!(!status.key_rotation_enabled());
}

#[tokio::test]
async fn key_states_and_kinds_are_enforced() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    client
        .enable_key_rotation()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    client.disable_key().key_id(&key).send().await.unwrap();
    assert_eq!(
        code(client.enable_key_rotation().key_id(&key).send().await),
        "DisabledException"
    );
    assert_eq!(
        code(client.disable_key_rotation().key_id(&key).send().await),
        "DisabledException"
    );
    assert_eq!(
        code(client.rotate_key_on_demand().key_id(&key).send().await),
        "DisabledException"
    );
    let status = client
        .get_key_rotation_status()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert!(
        status.key_rotation_enabled(),
        "disabling the key keeps its rotation setting"
    );

    client.enable_key().key_id(&key).send().await.unwrap();
    client
        .schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(client.rotate_key_on_demand().key_id(&key).send().await),
        "KMSInvalidStateException"
    );
    assert_eq!(
        code(client.enable_key_rotation().key_id(&key).send().await),
        "KMSInvalidStateException"
    );
    let status = client
        .get_key_rotation_status()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert!(
        !status.key_rotation_enabled(),
        "pending deletion suspends rotation"
    );
    client
        .cancel_key_deletion()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    let status = client
        .get_key_rotation_status()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert!(status.key_rotation_enabled(), "cancelling restores it");

    let missing = "00000000-0000-4000-8000-000000000000";
    assert_eq!(
        code(client.rotate_key_on_demand().key_id(missing).send().await),
        "NotFoundException"
    );
    let (_, other) = server.new_tenant("other").await;
    let arn = format!("arn:aws:kms:us-east-1:{}:key/{key}", common::ACCOUNT);
    assert_eq!(
        code(other.rotate_key_on_demand().key_id(&arn).send().await),
        "NotFoundException"
    );
    assert_eq!(
        code(other.get_key_rotation_status().key_id(&arn).send().await),
        "AccessDeniedException"
    );
}

#[tokio::test]
async fn old_ciphertexts_decrypt_after_three_rotations() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    let mut ciphertexts = Vec::new();
    let mut materials = vec![material_id(&client, &key).await];
    for round in 0..4 {
        let plaintext = format!("written in round {round}");
        let out = client
            .encrypt()
            .key_id(&key)
            .plaintext(Blob::new(plaintext.clone()))
            .send()
            .await
            .unwrap();
        ciphertexts.push((plaintext, out.ciphertext_blob().unwrap().clone()));
        if round < 3 {
            rotate_now(&client, &key).await;
            materials.push(material_id(&client, &key).await);
        }
    }
    let distinct: std::collections::HashSet<_> = materials.iter().collect();
    assert_eq!(distinct.len(), 4, "every rotation made new material");
    for (round, (plaintext, blob)) in ciphertexts.iter().enumerate() {
        let back = client
            .decrypt()
            .ciphertext_blob(blob.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(back.plaintext().unwrap().as_ref(), plaintext.as_bytes());
        assert_eq!(
            back.key_material_id(),
            Some(materials[round].as_str()),
            "round {round}"
        );
    }
    // ReEncrypt moves the oldest ciphertext to the newest material.
    let moved = client
        .re_encrypt()
        .ciphertext_blob(ciphertexts[0].1.clone())
        .destination_key_id(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(moved.source_key_material_id(), Some(materials[0].as_str()));
    assert_eq!(
        moved.destination_key_material_id(),
        Some(materials[3].as_str())
    );
    let back = client
        .decrypt()
        .ciphertext_blob(moved.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(back.key_material_id(), Some(materials[3].as_str()));

    // ListKeyRotations: three ON_DEMAND rotations in order, the newest current.
    let listed = client
        .list_key_rotations()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    let rotations = listed.rotations();
    assert_eq!(rotations.len(), 3);
    for (i, entry) in rotations.iter().enumerate() {
        assert_eq!(entry.key_id(), Some(key.as_str()));
        assert_eq!(entry.rotation_type(), Some(&RotationType::OnDemand));
        assert!(entry.rotation_date().is_some());
        assert_eq!(entry.key_material_id(), Some(materials[i + 1].as_str()));
    }
    assert_eq!(
        rotations[2].key_material_state(),
        Some(&KeyMaterialState::Current)
    );
    assert_eq!(
        rotations[0].key_material_state(),
        Some(&KeyMaterialState::NonCurrent)
    );
    let all = client
        .list_key_rotations()
        .key_id(&key)
        .include_key_material(IncludeKeyMaterial::AllKeyMaterial)
        .limit(2)
        .send()
        .await
        .unwrap();
    assert!(all.truncated());
    let first = &all.rotations()[0];
    assert_eq!(first.key_material_id(), Some(materials[0].as_str()));
    assert!(
        first.rotation_type().is_none() && first.rotation_date().is_none(),
        "the first material was not a rotation"
    );
    let rest = client
        .list_key_rotations()
        .key_id(&key)
        .include_key_material(IncludeKeyMaterial::AllKeyMaterial)
        .marker(all.next_marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.rotations().len(), 2);
    assert!(!rest.truncated());
    assert_eq!(
        code(
            client
                .list_key_rotations()
                .key_id(&key)
                .marker("x")
                .send()
                .await
        ),
        "InvalidMarkerException"
    );
}

#[tokio::test]
async fn the_on_demand_limit_is_enforced() {
    let server = TestServer::start_with(|config| config.on_demand_rotation_limit = 2).await;
    let client = server.client();
    let key = create_key(&client).await;
    rotate_now(&client, &key).await;
    rotate_now(&client, &key).await;
    let third = client.rotate_key_on_demand().key_id(&key).send().await;
    assert_eq!(code(third), "LimitExceededException");
    assert_eq!(
        client
            .list_key_rotations()
            .key_id(&key)
            .send()
            .await
            .unwrap()
            .rotations()
            .len(),
        2
    );
}

#[tokio::test]
async fn a_second_request_while_one_is_in_progress_conflicts() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    // Requests made on a second handle, with no scheduler behind it, stay in progress.
    let admin = server.admin_kms().await;
    let account = strongbox_core::model::AccountId::parse(common::ACCOUNT).unwrap();
    let principal = strongbox_core::model::Principal::new(
        strongbox_core::model::AccessKeyId::parse(common::ACCESS_KEY).unwrap(),
        strongbox_core::model::Region::parse(common::REGION).unwrap(),
        std::sync::Arc::new(strongbox_core::policy::Identity::root(account)),
    );
    let key_ref = strongbox_core::kms::KeyRef::parse(&key).unwrap();
    admin
        .rotate_key_on_demand(&principal, &key_ref)
        .await
        .unwrap();
    let second = admin
        .rotate_key_on_demand(&principal, &key_ref)
        .await
        .unwrap_err();
    assert!(
        matches!(second, strongbox_core::Error::Conflict(_)),
        "{second:?}"
    );
    let status = admin
        .key_rotation_status(&principal, &key_ref)
        .await
        .unwrap();
    assert!(status.on_demand_started.is_some());
    // Through the API as well: the server's scheduler has not been woken for this request.
    assert_eq!(
        code(client.rotate_key_on_demand().key_id(&key).send().await),
        "ConflictException"
    );
    admin.close().await;
}
