//! Time travel: the dev clock (`serve --dev-clock`) and the scheduler. Rotations happen when
//! due, deletions when their date passes, and SigV4 keeps checking real time throughout.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::RotationType;
use common::raw::{self, Signing};
use common::{TestServer, code, create_key};

const DAY: i64 = 86_400;

#[tokio::test]
async fn a_year_later_the_key_has_rotated() {
    let server = TestServer::start_with(|config| config.dev_clock = true).await;
    let client = server.client();
    let key = create_key(&client).await;
    let blob = client
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("year one"))
        .send()
        .await
        .unwrap();
    client
        .enable_key_rotation()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    let before = client
        .get_key_rotation_status()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    let first_due = before.next_rotation_date().unwrap().secs();

    let moved = server.advance_clock(30 * DAY).await;
    assert_eq!(moved["Rotated"], 0, "not due yet");
    let moved = server.advance_clock(336 * DAY).await;
    assert_eq!(moved["Rotated"], 1);
    let now = moved["Now"].as_i64().unwrap();

    let after = client
        .get_key_rotation_status()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    let next_due = after.next_rotation_date().unwrap().secs();
    assert!(next_due > first_due, "NextRotationDate moved");
    assert!(
        (next_due - now - 365 * DAY).abs() < 120,
        "a year after the rotation"
    );
    let rotations = client
        .list_key_rotations()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(rotations.rotations().len(), 1);
    assert_eq!(
        rotations.rotations()[0].rotation_type(),
        Some(&RotationType::Automatic)
    );
    let back = client
        .decrypt()
        .ciphertext_blob(blob.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(back.plaintext().unwrap().as_ref(), b"year one");
    // Dates on new resources follow the moved clock.
    let created = client.create_key().send().await.unwrap();
    let created_at = created
        .key_metadata()
        .unwrap()
        .creation_date()
        .unwrap()
        .secs();
    assert!((created_at - now).abs() < 120);
}

#[tokio::test]
async fn rotation_waits_while_a_key_is_disabled() {
    let server = TestServer::start_with(|config| config.dev_clock = true).await;
    let client = server.client();
    let key = create_key(&client).await;
    client
        .enable_key_rotation()
        .key_id(&key)
        .rotation_period_in_days(90)
        .send()
        .await
        .unwrap();
    client.disable_key().key_id(&key).send().await.unwrap();
    assert_eq!(server.advance_clock(200 * DAY).await["Rotated"], 0);
    client.enable_key().key_id(&key).send().await.unwrap();
    assert_eq!(
        server.advance_clock(0).await["Rotated"],
        1,
        "overdue rotation happens on re-enable"
    );
    assert_eq!(server.advance_clock(0).await["Rotated"], 0, "exactly once");
}

#[tokio::test]
async fn deletion_happens_after_the_waiting_period() {
    let server = TestServer::start_with(|config| config.dev_clock = true).await;
    let client = server.client();
    let doomed = create_key(&client).await;
    let kept = create_key(&client).await;
    client
        .create_alias()
        .alias_name("alias/doomed")
        .target_key_id(&doomed)
        .send()
        .await
        .unwrap();
    let blob = client
        .encrypt()
        .key_id(&doomed)
        .plaintext(Blob::new("gone"))
        .send()
        .await
        .unwrap();
    client
        .schedule_key_deletion()
        .key_id(&doomed)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    client
        .schedule_key_deletion()
        .key_id(&kept)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    assert_eq!(server.advance_clock(6 * DAY).await["Deleted"], 0);
    client
        .cancel_key_deletion()
        .key_id(&kept)
        .send()
        .await
        .unwrap();
    assert_eq!(server.advance_clock(2 * DAY).await["Deleted"], 1);

    assert_eq!(
        code(client.describe_key().key_id(&doomed).send().await),
        "NotFoundException"
    );
    assert_eq!(
        code(client.describe_key().key_id("alias/doomed").send().await),
        "NotFoundException"
    );
    assert!(
        client
            .list_aliases()
            .send()
            .await
            .unwrap()
            .aliases()
            .is_empty()
    );
    let keys = client.list_keys().send().await.unwrap();
    assert_eq!(keys.keys().len(), 1);
    assert_eq!(keys.keys()[0].key_id(), Some(kept.as_str()));
    let decrypt = client
        .decrypt()
        .ciphertext_blob(blob.ciphertext_blob().unwrap().clone())
        .send()
        .await;
    assert_eq!(
        code(decrypt),
        "AccessDeniedException",
        "its material is gone"
    );
    let database = std::fs::read(server.data_dir.join("strongbox.db")).unwrap();
    assert!(
        !String::from_utf8_lossy(&database).contains(&doomed),
        "no row mentions the deleted key"
    );
}

#[tokio::test]
async fn signatures_stay_on_real_time() {
    let server = TestServer::start_with(|config| config.dev_clock = true).await;
    server.advance_clock(3650 * DAY).await;
    let in_the_future = Signing {
        time: std::time::SystemTime::now() + std::time::Duration::from_secs(3650 * 86_400),
        ..Signing::default()
    };
    let mut headers = raw::kms_headers(Some("TrentService.ListKeys"));
    raw::sign_headers(&mut headers, b"{}", &in_the_future);
    let response = raw::send(server.address, &raw::post(&headers, b"{}"))
        .await
        .unwrap();
    assert_eq!(response.error_type(), "InvalidSignatureException");
    server.client().list_keys().send().await.unwrap();
}

#[tokio::test]
async fn bad_clock_requests_are_refused() {
    let server = TestServer::start_with(|config| config.dev_clock = true).await;
    let host = [("host".to_owned(), "127.0.0.1".to_owned())];
    for body in [
        r#"{"AdvanceSeconds": -1}"#,
        r#"{"AdvanceSeconds": "ten"}"#,
        r#"{"AdvanceSeconds": 1.5}"#,
        "{}",
        "not json",
    ] {
        let request = raw::post_to("/_strongbox/clock", &host, body.as_bytes());
        let response = raw::send(server.address, &request).await.unwrap();
        assert_eq!(
            (response.status, response.error_type().as_str()),
            (400, "ValidationException"),
            "{body}"
        );
    }
    let get = raw::send(server.address, &raw::get("/_strongbox/clock"))
        .await
        .unwrap();
    assert_eq!(get.status, 404);
}

#[tokio::test]
async fn without_the_flag_the_clock_does_not_exist() {
    let server = TestServer::start().await;
    let host = [("host".to_owned(), "127.0.0.1".to_owned())];
    let body = br#"{"AdvanceSeconds": 86400}"#;
    let unsigned = raw::post_to("/_strongbox/clock", &host, body);
    assert_eq!(
        raw::send(server.address, &unsigned).await.unwrap().status,
        404
    );
    let mut headers = raw::kms_headers(None);
    raw::sign_headers(&mut headers, body, &Signing::default());
    let signed = raw::post_to("/_strongbox/clock", &headers, body);
    assert_eq!(
        raw::send(server.address, &signed).await.unwrap().status,
        404
    );
    assert_eq!(
        raw::send(server.address, &raw::get("/_strongbox/clock"))
            .await
            .unwrap()
            .status,
        404
    );
}
