//! Hostile and malformed requests over raw HTTP: each gets AWS's error code, never a 500, a
//! panic or a hang, and the server keeps serving.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, SystemTime};

use common::TestServer;
use common::raw::{self, RawResponse, Signing};
use tokio::io::AsyncWriteExt;

async fn send(server: &TestServer, request: &[u8]) -> RawResponse {
    let response = raw::send(server.address, request).await.unwrap();
    assert!(
        response
            .header("x-amzn-RequestId")
            .is_some_and(|id| id.len() == 36),
        "request id on every response"
    );
    response
}

async fn expect(server: &TestServer, request: &[u8], status: u16, error: &str) {
    let response = send(server, request).await;
    assert_eq!(
        (response.status, response.error_type().as_str()),
        (status, error),
        "body: {}",
        String::from_utf8_lossy(&response.body)
    );
    if MESSAGELESS.contains(&error) {
        assert!(
            response.json().get("message").is_none(),
            "AWS sends {error} without a message"
        );
    } else {
        assert!(
            !response.json()["message"].as_str().unwrap_or("").is_empty(),
            "a message a person can act on"
        );
    }
}

/// Errors AWS sends as `{"__type": ...}` alone, so that nothing is learned about which check
/// failed.
const MESSAGELESS: &[&str] = &[
    "InvalidCiphertextException",
    "KMSInvalidSignatureException",
    "KMSInvalidMacException",
];

fn signed_with(target: &str, body: &[u8], signing: &Signing<'_>) -> Vec<u8> {
    let mut headers = raw::kms_headers(Some(target));
    raw::sign_headers(&mut headers, body, signing);
    raw::post(&headers, body)
}

async fn still_serving(server: &TestServer) {
    let response = send(server, &raw::signed("TrentService.ListKeys", b"{}")).await;
    assert_eq!(
        response.status,
        200,
        "{}",
        String::from_utf8_lossy(&response.body)
    );
    assert!(response.json()["Keys"].is_array());
}

#[tokio::test]
async fn malformed_bodies_and_targets() {
    let server = TestServer::start().await;
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "TrentService.CreateKey",
            b"{not json",
            "SerializationException",
        ),
        (
            "TrentService.CreateKey",
            b"[1,2,3]",
            "SerializationException",
        ),
        (
            "TrentService.DescribeKey",
            br#"{"KeyId": 5}"#,
            "SerializationException",
        ),
        (
            "TrentService.ListKeys",
            br#"{"Limit": "ten"}"#,
            "SerializationException",
        ),
        (
            "TrentService.Encrypt",
            br#"{"KeyId":"alias/x","Plaintext":"***not base64***"}"#,
            "SerializationException",
        ),
        (
            "TrentService.Encrypt",
            br#"{"KeyId":"alias/x"}"#,
            "ValidationException",
        ),
        ("TrentService.DescribeKey", b"{}", "ValidationException"),
        (
            "TrentService.Decrypt",
            br#"{"CiphertextBlob":"AAAA"}"#,
            "InvalidCiphertextException",
        ),
        (
            "TrentService.NoSuchThing",
            b"{}",
            "UnknownOperationException",
        ),
        ("OtherService.ListKeys", b"{}", "UnknownOperationException"),
        (
            "TrentService.CreateCustomKeyStore",
            b"{}",
            "UnsupportedOperationException",
        ),
        ("TrentService.CreateGrant", b"{}", "ValidationException"),
        (
            "TrentService.CreateGrant",
            br#"{"KeyId":"alias/x","GranteePrincipal":"arn:aws:iam::111122223333:root","Operations":"Decrypt"}"#,
            "SerializationException",
        ),
        (
            "TrentService.CreateGrant",
            br#"{"KeyId":"alias/x","GranteePrincipal":"arn:aws:iam::111122223333:root","Operations":["Decrypt","Nope"]}"#,
            "ValidationException",
        ),
        (
            "TrentService.CreateGrant",
            br#"{"KeyId":"alias/x","GranteePrincipal":"a b","Operations":["Decrypt"]}"#,
            "ValidationException",
        ),
        (
            "TrentService.Encrypt",
            br#"{"KeyId":"alias/x","Plaintext":"AA==","GrantTokens":"t"}"#,
            "SerializationException",
        ),
        (
            "TrentService.Encrypt",
            br#"{"KeyId":"alias/x","Plaintext":"AA==","GrantTokens":["1","2","3","4","5","6","7","8","9","10","11"]}"#,
            "ValidationException",
        ),
        (
            "TrentService.Encrypt",
            br#"{"KeyId":"alias/x","Plaintext":"AA==","GrantTokens":["not a token"]}"#,
            "InvalidGrantTokenException",
        ),
        ("TrentService.RetireGrant", b"{}", "ValidationException"),
        (
            "TrentService.RetireGrant",
            br#"{"GrantToken":"AAAA"}"#,
            "InvalidGrantTokenException",
        ),
        (
            "TrentService.RevokeGrant",
            br#"{"KeyId":"alias/x","GrantId":"zz"}"#,
            "InvalidGrantIdException",
        ),
        (
            "TrentService.ListRetirableGrants",
            br#"{"RetiringPrincipal":"arn:aws:iam::111122223333:user/nobody"}"#,
            "InvalidArnException",
        ),
    ];
    for (target, body, error) in cases {
        expect(&server, &raw::signed(target, body), 400, error).await;
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    expect(
        &server,
        &raw::signed("TrentService.ListKeys", deep.as_bytes()),
        400,
        "SerializationException",
    )
    .await;
    let mut headers = raw::kms_headers(None);
    raw::sign_headers(&mut headers, b"{}", &Signing::default());
    expect(
        &server,
        &raw::post(&headers, b"{}"),
        400,
        "UnknownOperationException",
    )
    .await;
    still_serving(&server).await;
}

#[tokio::test]
async fn oversized_bodies_are_refused_unread() {
    let server = TestServer::start().await;
    let body = vec![b' '; 2 * 1024 * 1024];
    expect(
        &server,
        &raw::signed("TrentService.ListKeys", &body),
        413,
        "RequestEntityTooLargeException",
    )
    .await;

    // A declared 2 MiB body is refused from the headers alone: the server answers without
    // waiting for the body that never comes.
    let mut stream = tokio::net::TcpStream::connect(server.address)
        .await
        .unwrap();
    let head = "POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.ListKeys\r\ncontent-length: 2097152\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let response = raw::read_response(&mut stream).await.unwrap();
    assert_eq!(response.status, 413);

    // A chunked body is cut off as soon as it passes the cap.
    let mut stream = tokio::net::TcpStream::connect(server.address)
        .await
        .unwrap();
    let head = "POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.ListKeys\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 256 * 1024];
    for _ in 0..5 {
        let frame = format!("{:x}\r\n", chunk.len());
        if stream.write_all(frame.as_bytes()).await.is_err()
            || stream.write_all(&chunk).await.is_err()
            || stream.write_all(b"\r\n").await.is_err()
        {
            break;
        }
    }
    let response = raw::read_response(&mut stream).await.unwrap();
    assert_eq!(response.status, 413);
    still_serving(&server).await;
}

#[tokio::test]
async fn signature_failures_get_aws_codes() {
    let server = TestServer::start().await;
    let target = "TrentService.ListKeys";
    let body: &[u8] = b"{}";
    let unsigned = raw::post(&raw::kms_headers(Some(target)), body);
    expect(
        &server,
        &unsigned,
        400,
        "MissingAuthenticationTokenException",
    )
    .await;

    let wrong_secret = Signing {
        secret: "not-the-secret-key-at-all-0000000000000",
        ..Signing::default()
    };
    expect(
        &server,
        &signed_with(target, body, &wrong_secret),
        400,
        "InvalidSignatureException",
    )
    .await;
    let unknown_key = Signing {
        access_key: "AKIAUNKNOWNUNKNOWN00",
        ..Signing::default()
    };
    expect(
        &server,
        &signed_with(target, body, &unknown_key),
        400,
        "UnrecognizedClientException",
    )
    .await;
    let expired = Signing {
        time: SystemTime::now() - Duration::from_secs(10 * 60),
        ..Signing::default()
    };
    expect(
        &server,
        &signed_with(target, body, &expired),
        400,
        "InvalidSignatureException",
    )
    .await;
    let future = Signing {
        time: SystemTime::now() + Duration::from_secs(10 * 60),
        ..Signing::default()
    };
    expect(
        &server,
        &signed_with(target, body, &future),
        400,
        "InvalidSignatureException",
    )
    .await;
    let unserved_region = Signing {
        region: "mars-north-1",
        ..Signing::default()
    };
    expect(
        &server,
        &signed_with(target, body, &unserved_region),
        400,
        "InvalidSignatureException",
    )
    .await;
    let wrong_service = Signing {
        service: "s3",
        ..Signing::default()
    };
    expect(
        &server,
        &signed_with(target, body, &wrong_service),
        400,
        "InvalidSignatureException",
    )
    .await;

    // The body changed after signing.
    let mut headers = raw::kms_headers(Some(target));
    raw::sign_headers(&mut headers, b"{}", &Signing::default());
    expect(
        &server,
        &raw::post(&headers, br#"{"Limit":1}"#),
        400,
        "InvalidSignatureException",
    )
    .await;
    // The operation changed after signing.
    let mut headers = raw::kms_headers(Some(target));
    raw::sign_headers(&mut headers, body, &Signing::default());
    for (name, value) in &mut headers {
        if name == "x-amz-target" {
            *value = "TrentService.CreateKey".to_owned();
        }
    }
    expect(
        &server,
        &raw::post(&headers, body),
        400,
        "InvalidSignatureException",
    )
    .await;

    for garbage in [
        "Bearer token",
        "AWS4-HMAC-SHA256 Credential=x",
        "AWS4-HMAC-SHA256 Signature=zz",
    ] {
        let mut headers = raw::kms_headers(Some(target));
        headers.push(("authorization".to_owned(), garbage.to_owned()));
        headers.push(("x-amz-date".to_owned(), "20260101T000000Z".to_owned()));
        expect(
            &server,
            &raw::post(&headers, body),
            400,
            "IncompleteSignatureException",
        )
        .await;
    }
    still_serving(&server).await;
}

#[tokio::test]
async fn a_stalled_client_does_not_block_others() {
    let server = TestServer::start().await;
    let mut stalled = tokio::net::TcpStream::connect(server.address)
        .await
        .unwrap();
    let head = "POST / HTTP/1.1\r\nhost: x\r\nx-amz-target: TrentService.ListKeys\r\ncontent-length: 100\r\n\r\n{\"Lim";
    stalled.write_all(head.as_bytes()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), still_serving(&server))
        .await
        .unwrap();
    // The stalled request is cut off (the harness sets a 2 s body timeout; the default is 30 s).
    let response = raw::read_response(&mut stalled).await.unwrap();
    assert_eq!(
        (response.status, response.error_type().as_str()),
        (408, "RequestTimeoutException")
    );
}

#[tokio::test]
async fn unknown_paths_and_health() {
    let server = TestServer::start().await;
    let health = send(&server, &raw::get("/health")).await;
    assert_eq!(
        (health.status, health.json()["status"].as_str()),
        (200, Some("ok"))
    );
    let missing = send(&server, &raw::get("/nope")).await;
    assert_eq!(missing.status, 404);
    let get_root = send(&server, &raw::get("/")).await;
    assert!(
        get_root.status == 404 || get_root.status == 405,
        "{}",
        get_root.status
    );
    still_serving(&server).await;
}

/// A DescribeKey whose signature leaves out `x-amz-target`, captured and replayed within the
/// signature's five minutes as DisableKey: refused, and the key stays enabled.
#[tokio::test]
async fn a_captured_request_cannot_be_replayed_as_another_operation() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = common::create_key(&client).await;
    let body = serde_json::json!({ "KeyId": key }).to_string();
    let mut headers = raw::kms_headers(None);
    raw::sign_headers(&mut headers, body.as_bytes(), &Signing::default());
    for target in ["TrentService.DescribeKey", "TrentService.DisableKey"] {
        let mut replayed = headers.clone();
        replayed.push(("x-amz-target".to_owned(), target.to_owned()));
        let response = send(&server, &raw::post(&replayed, body.as_bytes())).await;
        assert_eq!(
            (response.status, response.error_type().as_str()),
            (400, "IncompleteSignatureException"),
            "{target}: {}",
            String::from_utf8_lossy(&response.body)
        );
        assert!(
            response.json()["message"]
                .as_str()
                .unwrap()
                .contains("'X-Amz-Target' must be a 'SignedHeader'"),
            "{}",
            String::from_utf8_lossy(&response.body)
        );
    }
    // Any other x-amz-* header must be signed too.
    let mut extra = raw::kms_headers(Some("TrentService.ListKeys"));
    raw::sign_headers(&mut extra, b"{}", &Signing::default());
    extra.push(("x-amz-anything".to_owned(), "1".to_owned()));
    expect(
        &server,
        &raw::post(&extra, b"{}"),
        400,
        "IncompleteSignatureException",
    )
    .await;
    let described = client.describe_key().key_id(&key).send().await.unwrap();
    assert!(described.key_metadata().unwrap().enabled());
}

/// A session token with long-term credentials: Strongbox issued no temporary credentials, so
/// any token is refused, signed or not, as AWS refuses a token it did not issue.
#[tokio::test]
async fn a_session_token_strongbox_did_not_issue_is_refused() {
    let server = TestServer::start().await;
    let mut headers = raw::kms_headers(Some("TrentService.ListKeys"));
    headers.push(("x-amz-security-token".to_owned(), "anything".to_owned()));
    raw::sign_headers(&mut headers, b"{}", &Signing::default());
    let response = send(&server, &raw::post(&headers, b"{}")).await;
    assert_eq!(
        (response.status, response.error_type().as_str()),
        (400, "UnrecognizedClientException")
    );
    assert_eq!(
        response.json()["message"],
        "The security token included in the request is invalid."
    );
    // Through the SDK, with a token in the credentials.
    let credentials = aws_sdk_kms::config::Credentials::new(
        common::ACCESS_KEY,
        common::SECRET,
        Some("a-token".to_owned()),
        None,
        "test",
    );
    let with_token = aws_sdk_kms::Client::from_conf(
        common::sdk_config(&server.endpoint, credentials, common::REGION).build(),
    );
    assert_eq!(
        common::code(with_token.list_keys().send().await),
        "UnrecognizedClientException"
    );
}

/// An encryption context is bounded (AWS documents no bound; see
/// `validate::MAX_ENCRYPTION_CONTEXT_BYTES`): 10,000 pairs, a 100 KB value or an empty key are
/// refused, and the refused call's audit record still names the key and its other parameters,
/// with only the context replaced by a note of its size.
#[tokio::test]
async fn encryption_contexts_are_bounded_and_records_keep_the_key() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = common::create_key(&client).await;
    let many: serde_json::Map<String, serde_json::Value> = (0..10_000)
        .map(|i| (format!("k{i}"), serde_json::Value::from("v")))
        .collect();
    let huge = serde_json::json!({ "big": "x".repeat(100_000) });
    let empty_key = serde_json::json!({ "": "v" });
    let mut request_ids = Vec::new();
    for context in [serde_json::Value::Object(many), huge, empty_key] {
        let body = serde_json::json!({
            "KeyId": key,
            "Plaintext": "aGVsbG8=",
            "EncryptionContext": context,
        })
        .to_string();
        let response = send(
            &server,
            &raw::signed("TrentService.Encrypt", body.as_bytes()),
        )
        .await;
        assert_eq!(
            (response.status, response.error_type().as_str()),
            (400, "ValidationException"),
            "{}",
            String::from_utf8_lossy(&response.body)
        );
        request_ids.push(response.header("x-amzn-RequestId").unwrap().to_owned());
    }
    let at_limit = "v".repeat(strongbox_core::validate::MAX_ENCRYPTION_CONTEXT_BYTES - 1);
    client
        .encrypt()
        .key_id(&key)
        .plaintext(aws_sdk_kms::primitives::Blob::new("x"))
        .encryption_context("k", at_limit)
        .send()
        .await
        .unwrap();

    let stored = common::audit::records(&server, common::ACCOUNT, common::REGION).await;
    let record = common::audit::by_request(&stored, &request_ids[1]);
    assert_eq!(record["errorCode"], "ValidationException");
    assert_eq!(record["requestParameters"]["keyId"], key.as_str());
    assert!(
        record["requestParameters"]["encryptionContext"]["omitted"]
            .as_str()
            .unwrap()
            .contains("bytes"),
        "{record}"
    );
    server.stop().await;
}
