//! The audit trail's records: one per API call, success or failure, in CloudTrail's format,
//! with the response's request id, the keys touched, the non-secret parameters, and never a
//! plaintext, data key, ciphertext, message or signature; the scheduler's work as service
//! events; every record linked to the one before it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    DataKeySpec, KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec, Tag,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::audit::{by_request, records};
use common::{ACCESS_KEY, ACCOUNT, REGION, TestServer, code};
use serde_json::json;

const DAY: i64 = 86_400;
const PLAINTEXT: &[u8] = b"the audit trail must never see this plaintext";
const MESSAGE: &[u8] = b"a message whose signature is not for the log";

#[tokio::test]
async fn every_call_is_recorded_without_secrets() {
    let server = TestServer::start_with(|config| config.dev_clock = true).await;
    let client = server.client();
    let mut secrets: Vec<Vec<u8>> = vec![PLAINTEXT.to_vec(), MESSAGE.to_vec()];

    let created = client
        .create_key()
        .description("audited key")
        .send()
        .await
        .unwrap();
    let key = created.key_metadata().unwrap().key_id().to_owned();
    let arn = created.key_metadata().unwrap().arn().unwrap().to_owned();
    let encrypted = client
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(PLAINTEXT))
        .encryption_context("purpose", "audit")
        .send()
        .await
        .unwrap();
    let blob = encrypted.ciphertext_blob().unwrap().clone();
    secrets.push(blob.as_ref().to_vec());
    let decrypted = client
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("purpose", "audit")
        .send()
        .await
        .unwrap();
    let data_key = client
        .generate_data_key()
        .key_id(&key)
        .key_spec(DataKeySpec::Aes256)
        .send()
        .await
        .unwrap();
    secrets.push(data_key.plaintext().unwrap().as_ref().to_vec());
    secrets.push(data_key.ciphertext_blob().unwrap().as_ref().to_vec());
    let aliased = client
        .create_alias()
        .alias_name("alias/audited")
        .target_key_id(&key)
        .send()
        .await
        .unwrap();
    let tagged = client
        .tag_resource()
        .key_id("alias/audited")
        .tags(
            Tag::builder()
                .tag_key("team")
                .tag_value("audit")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    client.disable_key().key_id(&key).send().await.unwrap();
    let refused = client
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(PLAINTEXT))
        .send()
        .await;
    let refused_id = refused
        .as_ref()
        .err()
        .and_then(|e| e.request_id())
        .unwrap()
        .to_owned();
    assert_eq!(code(refused), "DisabledException");

    let signing = client
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap();
    let signing_key = signing.key_metadata().unwrap().key_id().to_owned();
    let signed = client
        .sign()
        .key_id(&signing_key)
        .message(Blob::new(MESSAGE))
        .message_type(MessageType::Raw)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    secrets.push(signed.signature().unwrap().as_ref().to_vec());

    let doomed = common::create_key(&client).await;
    let scheduled = client
        .schedule_key_deletion()
        .key_id(&doomed)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let rotation_key = common::create_key(&client).await;
    client
        .rotate_key_on_demand()
        .key_id(&rotation_key)
        .send()
        .await
        .unwrap();

    let forged = server
        .client_as(
            ACCESS_KEY,
            "not-the-secret-not-the-secret-not-the-se",
            REGION,
        )
        .describe_key()
        .key_id(&key)
        .send()
        .await;
    let forged_id = forged
        .as_ref()
        .err()
        .and_then(|e| e.request_id())
        .unwrap()
        .to_owned();
    assert_eq!(code(forged), "InvalidSignatureException");
    let unknown = server
        .client_as("AKIAUNKNOWNUNKNOWN00", "x", REGION)
        .list_keys()
        .send()
        .await;
    assert_eq!(code(unknown), "UnrecognizedClientException");

    server.advance_clock(8 * DAY).await;
    let stored = records(&server, ACCOUNT, REGION).await;

    // CreateKey: management event with the new key's metadata as responseElements.
    let record = by_request(&stored, created.request_id().unwrap());
    assert_eq!(record["eventName"], "CreateKey");
    assert_eq!(record["eventSource"], "kms.amazonaws.com");
    assert_eq!(record["eventType"], "AwsApiCall");
    assert_eq!(record["eventVersion"], "1.11");
    assert_eq!(record["readOnly"], false);
    assert_eq!(record["managementEvent"], true);
    assert_eq!(record["eventCategory"], "Management");
    assert_eq!(record["awsRegion"], REGION);
    assert_eq!(record["recipientAccountId"], ACCOUNT);
    assert_eq!(record["sourceIPAddress"], "127.0.0.1");
    assert!(
        record["userAgent"]
            .as_str()
            .unwrap()
            .contains("aws-sdk-rust")
    );
    assert_eq!(record["userIdentity"]["type"], "IAMUser");
    assert_eq!(record["userIdentity"]["accountId"], ACCOUNT);
    assert_eq!(record["userIdentity"]["accessKeyId"], ACCESS_KEY);
    assert_eq!(
        record["userIdentity"]["arn"],
        format!("arn:aws:iam::{ACCOUNT}:user/admin")
    );
    assert_eq!(record["requestParameters"]["description"], "audited key");
    assert_eq!(record["responseElements"]["keyMetadata"]["keyId"], key);
    assert_eq!(
        record["responseElements"]["keyMetadata"]["arn"],
        arn.as_str()
    );
    assert_eq!(
        record["resources"],
        json!([{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": arn}])
    );
    assert!(record.get("errorCode").is_none());

    // Cryptographic operations: read-only, parameters without the data, no response elements.
    let record = by_request(&stored, encrypted.request_id().unwrap());
    assert_eq!(record["eventName"], "Encrypt");
    assert_eq!(record["readOnly"], true);
    assert_eq!(
        record["requestParameters"],
        json!({"keyId": key, "encryptionContext": {"purpose": "audit"}})
    );
    assert_eq!(record["responseElements"], serde_json::Value::Null);
    assert_eq!(record["resources"][0]["ARN"], arn.as_str());
    let record = by_request(&stored, decrypted.request_id().unwrap());
    assert_eq!(record["eventName"], "Decrypt");
    assert_eq!(
        record["resources"][0]["ARN"],
        arn.as_str(),
        "the key from the ciphertext"
    );
    assert_eq!(
        record["requestParameters"],
        json!({"encryptionContext": {"purpose": "audit"}})
    );
    let record = by_request(&stored, data_key.request_id().unwrap());
    assert_eq!(record["eventName"], "GenerateDataKey");
    assert_eq!(record["requestParameters"]["keySpec"], "AES_256");
    let record = by_request(&stored, signed.request_id().unwrap());
    assert_eq!(record["eventName"], "Sign");
    assert_eq!(
        record["requestParameters"],
        json!({"keyId": signing_key, "messageType": "RAW", "signingAlgorithm": "ECDSA_SHA_256"})
    );

    // Aliases resolve to their key in resources; tags are recorded as CloudTrail names them.
    let record = by_request(&stored, aliased.request_id().unwrap());
    assert_eq!(record["eventName"], "CreateAlias");
    assert_eq!(record["requestParameters"]["aliasName"], "alias/audited");
    assert_eq!(record["resources"][0]["ARN"], arn.as_str());
    let record = by_request(&stored, tagged.request_id().unwrap());
    assert_eq!(
        record["requestParameters"]["tags"],
        json!([{"tagKey": "team", "tagValue": "audit"}])
    );
    assert_eq!(record["resources"][0]["ARN"], arn.as_str());

    // Failures carry the code and message the client saw.
    let record = by_request(&stored, &refused_id);
    assert_eq!(record["errorCode"], "DisabledException");
    assert!(
        record["errorMessage"]
            .as_str()
            .unwrap()
            .contains("disabled")
    );
    let record = by_request(&stored, &forged_id);
    assert_eq!(record["eventName"], "DescribeKey");
    assert_eq!(record["errorCode"], "InvalidSignatureException");
    assert_eq!(
        record["requestParameters"],
        serde_json::Value::Null,
        "an unverified body is not recorded"
    );
    assert_eq!(record["userIdentity"]["accessKeyId"], ACCESS_KEY);
    assert!(
        !stored
            .iter()
            .any(|r| r.json["userIdentity"]["accessKeyId"] == "AKIAUNKNOWNUNKNOWN00"),
        "an unknown access key names no account, so nothing is recorded"
    );

    let record = by_request(&stored, scheduled.request_id().unwrap());
    assert_eq!(record["responseElements"]["keyState"], "PendingDeletion");
    assert_eq!(record["responseElements"]["pendingWindowInDays"], 7);

    // The scheduler's deletion and rotation are service events.
    let service: Vec<_> = stored
        .iter()
        .map(|r| &r.json)
        .filter(|r| r["eventType"] == "AwsServiceEvent")
        .collect();
    let deleted = service
        .iter()
        .find(|r| r["eventName"] == "DeleteKey")
        .expect("a DeleteKey service event");
    assert_eq!(deleted["serviceEventDetails"]["keyId"], doomed);
    assert_eq!(deleted["userIdentity"]["invokedBy"], "kms.amazonaws.com");
    assert_eq!(deleted["sourceIPAddress"], "kms.amazonaws.com");
    assert!(
        deleted["resources"][0]["ARN"]
            .as_str()
            .unwrap()
            .ends_with(&doomed)
    );
    let rotated = service
        .iter()
        .find(|r| r["eventName"] == "RotateKey")
        .expect("a RotateKey service event");
    assert_eq!(rotated["serviceEventDetails"]["keyId"], rotation_key);
    assert_eq!(rotated["serviceEventDetails"]["rotationType"], "ON_DEMAND");

    // No secret in any record, in any encoding the wire uses.
    let log: Vec<u8> = stored.iter().flat_map(|r| r.bytes.clone()).collect();
    for secret in &secrets {
        for form in [
            secret.clone(),
            STANDARD.encode(secret).into_bytes(),
            hex::encode(secret).into_bytes(),
        ] {
            assert!(
                !log.windows(form.len())
                    .any(|window| window == form.as_slice()),
                "a secret reached the audit trail"
            );
        }
    }

    // Every record links to the one before it, from genesis.
    let mut previous = [0u8; 32];
    for (index, record) in stored.iter().enumerate() {
        assert_eq!(record.json["auditChain"]["sequence"], index as u64 + 1);
        assert_eq!(
            record.json["auditChain"]["previousHash"],
            hex::encode(previous)
        );
        previous = strongbox_crypto::sha256(&record.bytes);
    }
    server.stop().await;
}

#[tokio::test]
async fn regions_and_accounts_have_their_own_chains() {
    let server = TestServer::start().await;
    let (tenant, other) = server.new_tenant("other").await;
    common::create_key(&server.client()).await;
    common::create_key(&server.client_as(ACCESS_KEY, common::SECRET, "eu-west-1")).await;
    common::create_key(&other).await;
    common::create_key(&other).await;

    let home = records(&server, ACCOUNT, REGION).await;
    let europe = records(&server, ACCOUNT, "eu-west-1").await;
    let theirs = records(&server, tenant.as_str(), REGION).await;
    assert_eq!((home.len(), europe.len(), theirs.len()), (1, 1, 2));
    assert_eq!(europe[0].json["awsRegion"], "eu-west-1");
    assert_eq!(europe[0].json["auditChain"]["sequence"], 1);
    assert!(
        theirs
            .iter()
            .all(|r| r.json["recipientAccountId"] == tenant.as_str())
    );
    server.stop().await;
}

/// A client that hangs up right after sending cannot leave a change without its record: the
/// call runs to its end (and its record) in a task of its own.
#[tokio::test]
async fn hanging_up_never_leaves_a_change_unrecorded() {
    use tokio::io::AsyncWriteExt;
    let server = TestServer::start().await;
    let mut sent = Vec::new();
    for _ in 0..30 {
        let request = common::raw::signed("TrentService.CreateKey", b"{}");
        let mut stream = tokio::net::TcpStream::connect(server.address)
            .await
            .unwrap();
        stream.write_all(&request).await.unwrap();
        sent.push(stream);
    }
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    drop(sent);
    // Let every call that started finish.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let keys = server
        .client()
        .list_keys()
        .send()
        .await
        .unwrap()
        .keys()
        .len();
    let created = records(&server, ACCOUNT, REGION)
        .await
        .iter()
        .filter(|record| record.json["eventName"] == "CreateKey")
        .count();
    assert!(keys > 0, "some calls ran");
    assert_eq!(created, keys, "every key created has its CreateKey record");
    server.stop().await;
}
