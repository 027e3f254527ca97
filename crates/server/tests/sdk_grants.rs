//! Grants through the official SDK clients: CreateGrant, ListGrants, ListRetirableGrants,
//! RetireGrant and RevokeGrant, and grants as the permission behind other calls (with and
//! without grant tokens), every answer and error checked against AWS's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{GrantConstraints, GrantOperation, KeySpec, KeyUsageType};
use common::audit::{by_request, records};
use common::identities::{admin, allow, iam, kms, sts, user};
use common::{ACCOUNT, REGION, TestServer, code, create_key, failure, message};

const DAY: i64 = 86_400;

fn user_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/{name}")
}

/// A CreateGrant of `operations` on `key` to `grantee`, for the test to complete and send.
fn grant_request(
    client: &aws_sdk_kms::Client,
    key: &str,
    grantee: &str,
    operations: &[GrantOperation],
) -> aws_sdk_kms::operation::create_grant::builders::CreateGrantFluentBuilder {
    client
        .create_grant()
        .key_id(key)
        .grantee_principal(grantee)
        .set_operations(Some(operations.to_vec()))
}

/// A grant made: its id and token.
async fn grant(
    client: &aws_sdk_kms::Client,
    key: &str,
    grantee: &str,
    operations: &[GrantOperation],
) -> (String, String) {
    let created = grant_request(client, key, grantee, operations)
        .send()
        .await
        .unwrap();
    (
        created.grant_id().unwrap().to_owned(),
        created.grant_token().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn a_grant_is_all_a_user_needs_and_stops_at_once_when_retired() {
    let server = TestServer::start().await;
    let iam = iam(&server, admin());
    let owner = kms(&server, admin());
    let bob = kms(&server, user(&iam, "bob", None).await);
    let key = create_key(&owner).await;
    let arn = common::arn_of(&owner, &key).await;
    let blob = common::encrypt(&owner, &key, b"secret").await;
    let decrypt = bob.decrypt().ciphertext_blob(blob.clone()).send().await;
    assert_eq!(code(decrypt), "AccessDeniedException");

    let created = grant_request(&owner, &key, &user_arn("bob"), &[GrantOperation::Decrypt])
        .operations(GrantOperation::DescribeKey)
        .send()
        .await
        .unwrap();
    let grant_id = created.grant_id().unwrap().to_owned();
    assert_eq!(grant_id.len(), 64);
    assert!(grant_id.bytes().all(|b| b.is_ascii_hexdigit()));
    let token = created.grant_token().unwrap().to_owned();

    // Usable at once with its token, and without it on this node.
    let decrypted = bob
        .decrypt()
        .ciphertext_blob(blob.clone())
        .grant_tokens(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(decrypted.plaintext().unwrap().as_ref(), b"secret");
    let decrypted = bob
        .decrypt()
        .ciphertext_blob(blob.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(decrypted.key_id(), Some(arn.as_str()));
    bob.describe_key().key_id(&arn).send().await.unwrap();
    // Only the granted operations.
    let encrypt = common::identities::encrypt_as(&bob, &key).await;
    assert_eq!(
        message(encrypt),
        format!(
            "User: {} is not authorized to perform: kms:Encrypt on resource: {arn} because no identity-based policy allows the kms:Encrypt action",
            user_arn("bob")
        )
    );

    // The audit trail: CreateGrant as CloudTrail writes it, and the grant behind the Decrypt.
    let stored = records(&server, ACCOUNT, REGION).await;
    let record = by_request(&stored, created.request_id().unwrap());
    assert_eq!(record["eventName"], "CreateGrant");
    assert_eq!(
        record["requestParameters"]["granteePrincipal"],
        user_arn("bob")
    );
    assert_eq!(
        record["requestParameters"]["operations"],
        serde_json::json!(["Decrypt", "DescribeKey"])
    );
    assert_eq!(record["responseElements"]["grantId"], grant_id.as_str());
    assert_eq!(record["responseElements"]["keyId"], arn.as_str());
    assert!(!String::from_utf8_lossy(&stored.last().unwrap().bytes).contains(&token));
    let record = by_request(&stored, decrypted.request_id().unwrap());
    assert_eq!(record["additionalEventData"]["grantId"], grant_id.as_str());

    // Retired (by the key's account, which issued it): the next call fails at once.
    let retired = owner
        .retire_grant()
        .key_id(&arn)
        .grant_id(&grant_id)
        .send()
        .await
        .unwrap();
    let decrypt = bob
        .decrypt()
        .ciphertext_blob(blob.clone())
        .grant_tokens(&token)
        .send()
        .await;
    assert_eq!(code(decrypt), "AccessDeniedException");
    let stored = records(&server, ACCOUNT, REGION).await;
    let record = by_request(&stored, retired.request_id().unwrap());
    assert_eq!(record["eventName"], "RetireGrant");
    assert_eq!(record["additionalEventData"]["grantId"], grant_id.as_str());
    let again = owner
        .retire_grant()
        .key_id(&arn)
        .grant_id(&grant_id)
        .send()
        .await;
    assert_eq!(code(again), "NotFoundException");
}

#[tokio::test]
async fn constraints_hold_both_ways_for_encrypt_and_data_keys() {
    let server = TestServer::start().await;
    let iam = iam(&server, admin());
    let owner = kms(&server, admin());
    let bob = kms(&server, user(&iam, "bob", None).await);
    let key = create_key(&owner).await;
    let subset = grant_request(&owner, &key, &user_arn("bob"), &[GrantOperation::Encrypt])
        .constraints(
            GrantConstraints::builder()
                .encryption_context_subset("Dept", "IT")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let encrypt = |context: &[(&str, &str)]| {
        let mut request = bob
            .encrypt()
            .key_id(&key)
            .plaintext(Blob::new(b"x".to_vec()));
        for (k, v) in context {
            request = request.encryption_context(*k, *v);
        }
        request.send()
    };
    encrypt(&[("Dept", "IT")]).await.unwrap();
    // More pairs satisfy a subset; constraint keys match ignoring case, values exactly.
    encrypt(&[("dept", "IT"), ("Project", "x")]).await.unwrap();
    assert_eq!(
        code(encrypt(&[("Dept", "it")]).await),
        "AccessDeniedException"
    );
    assert_eq!(code(encrypt(&[]).await), "AccessDeniedException");

    owner
        .revoke_grant()
        .key_id(&key)
        .grant_id(subset.grant_id().unwrap())
        .send()
        .await
        .unwrap();
    grant_request(
        &owner,
        &key,
        &user_arn("bob"),
        &[GrantOperation::GenerateDataKey],
    )
    .constraints(
        GrantConstraints::builder()
            .encryption_context_equals("Dept", "IT")
            .build(),
    )
    .send()
    .await
    .unwrap();
    let data_key = |context: &[(&str, &str)]| {
        let mut request = bob.generate_data_key().key_id(&key).number_of_bytes(32);
        for (k, v) in context {
            request = request.encryption_context(*k, *v);
        }
        request.send()
    };
    data_key(&[("Dept", "IT")]).await.unwrap();
    assert_eq!(
        code(data_key(&[("Dept", "IT"), ("Project", "x")]).await),
        "AccessDeniedException",
        "an equality constraint allows no extra pair"
    );
    assert_eq!(code(data_key(&[]).await), "AccessDeniedException");
    assert_eq!(
        code(encrypt(&[("Dept", "IT")]).await),
        "AccessDeniedException"
    );

    // Constraints are for symmetric encryption keys; both members at once are refused.
    let both = grant_request(&owner, &key, &user_arn("bob"), &[GrantOperation::Decrypt])
        .constraints(
            GrantConstraints::builder()
                .encryption_context_equals("a", "b")
                .encryption_context_subset("a", "b")
                .build(),
        )
        .send()
        .await;
    assert_eq!(message(both), "More than one constraint supplied");
    let twice = grant_request(&owner, &key, &user_arn("bob"), &[GrantOperation::Decrypt])
        .constraints(
            GrantConstraints::builder()
                .encryption_context_equals("a", "1")
                .encryption_context_equals("A", "1")
                .build(),
        )
        .send()
        .await;
    assert_eq!(
        failure(twice).0,
        "ValidationException",
        "keys that differ only in case would be one key twice"
    );
}

#[tokio::test]
async fn who_may_retire_and_revoke() {
    let server = TestServer::start().await;
    let iam = iam(&server, admin());
    let owner = kms(&server, admin());
    let bob = kms(&server, user(&iam, "bob", None).await);
    let carol = kms(&server, user(&iam, "carol", None).await);
    let dave = kms(
        &server,
        user(&iam, "dave", Some(&allow(&["kms:RevokeGrant"]))).await,
    );
    let key = create_key(&owner).await;
    let arn = common::arn_of(&owner, &key).await;

    // The grantee may retire only when the grant includes RetireGrant.
    let (plain, plain_token) =
        grant(&owner, &key, &user_arn("bob"), &[GrantOperation::Decrypt]).await;
    let refused = bob.retire_grant().grant_token(&plain_token).send().await;
    assert_eq!(
        message(refused),
        format!(
            "User: {} is not authorized to perform: kms:RetireGrant on resource: {arn} because no identity-based policy allows the kms:RetireGrant action",
            user_arn("bob")
        )
    );
    let (_, retirable_token) = grant(
        &owner,
        &key,
        &user_arn("bob"),
        &[GrantOperation::Decrypt, GrantOperation::RetireGrant],
    )
    .await;
    bob.retire_grant()
        .grant_token(&retirable_token)
        .send()
        .await
        .unwrap();

    // The retiring principal may, by token or by id; someone else may not.
    let with_retirer = owner
        .create_grant()
        .key_id(&key)
        .grantee_principal(user_arn("bob"))
        .retiring_principal(user_arn("carol"))
        .operations(GrantOperation::Decrypt)
        .send()
        .await
        .unwrap();
    let id = with_retirer.grant_id().unwrap();
    let stranger = bob.retire_grant().key_id(&arn).grant_id(id).send().await;
    assert_eq!(code(stranger), "AccessDeniedException");
    let listed = carol
        .list_retirable_grants()
        .retiring_principal(user_arn("carol"))
        .send()
        .await;
    assert_eq!(
        code(listed),
        "AccessDeniedException",
        "ListRetirableGrants needs kms:ListRetirableGrants"
    );
    let listed = owner
        .list_retirable_grants()
        .retiring_principal(user_arn("carol"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.grants().len(), 1);
    assert_eq!(listed.grants()[0].grant_id(), Some(id));
    // Another account's principals are not looked up: nothing is learned of them.
    for stranger in [
        "arn:aws:iam::444455556666:user/nobody",
        "arn:aws:iam::444455556666:root",
    ] {
        let refused = owner
            .list_retirable_grants()
            .retiring_principal(stranger)
            .send()
            .await;
        assert_eq!(code(refused), "AccessDeniedException", "{stranger}");
    }
    assert_eq!(
        listed.grants()[0].retiring_principal(),
        Some(user_arn("carol").as_str())
    );
    carol
        .retire_grant()
        .key_id(&arn)
        .grant_id(id)
        .send()
        .await
        .unwrap();

    // Revoking needs kms:RevokeGrant from a policy, not a grant.
    let revoke = |client: &aws_sdk_kms::Client, id: &str, dry_run: bool| {
        client
            .revoke_grant()
            .key_id(&arn)
            .grant_id(id)
            .dry_run(dry_run)
            .send()
    };
    assert_eq!(
        code(revoke(&bob, &plain, false).await),
        "AccessDeniedException"
    );
    assert_eq!(
        code(revoke(&dave, &plain, true).await),
        "DryRunOperationException"
    );
    revoke(&dave, &plain, false).await.unwrap();
    assert_eq!(
        code(revoke(&dave, &plain, false).await),
        "NotFoundException"
    );
    assert_eq!(
        code(revoke(&dave, "not-a-grant", false).await),
        "InvalidGrantIdException"
    );
    // A token for a retired grant names nothing; a forged one is refused.
    let stale = bob.retire_grant().grant_token(&plain_token).send().await;
    assert_eq!(code(stale), "NotFoundException");
    let mut forged = plain_token.clone().into_bytes();
    let last = forged.len() - 5;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let refused = bob.retire_grant().grant_token(&forged).send().await;
    assert_eq!(code(refused), "InvalidGrantTokenException");
    let refused = bob
        .decrypt()
        .ciphertext_blob(Blob::new(vec![1; 64]))
        .grant_tokens(&forged)
        .send()
        .await;
    assert_eq!(code(refused), "InvalidGrantTokenException");
    let neither = bob.retire_grant().send().await;
    assert_eq!(code(neither), "ValidationException");
}

#[tokio::test]
async fn grants_list_in_pages_and_filter() {
    let server = TestServer::start().await;
    let owner = kms(&server, admin());
    let iam = iam(&server, admin());
    user(&iam, "bob", None).await;
    let key = create_key(&owner).await;
    let arn = common::arn_of(&owner, &key).await;
    let mut ids = Vec::new();
    for grantee in ["bob", "bob", "admin", "bob", "admin"] {
        ids.push(
            grant(&owner, &key, &user_arn(grantee), &[GrantOperation::Encrypt])
                .await
                .0,
        );
    }
    ids.sort();
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = owner
            .list_grants()
            .key_id(&key)
            .limit(2)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        assert!(page.grants().len() <= 2);
        for entry in page.grants() {
            assert_eq!(entry.key_id(), Some(arn.as_str()));
            assert_eq!(
                entry.issuing_account(),
                Some(format!("arn:aws:iam::{ACCOUNT}:root").as_str())
            );
            assert_eq!(entry.name(), Some(""));
            assert_eq!(entry.operations(), [GrantOperation::Encrypt]);
            assert!(entry.retiring_principal().is_none() && entry.constraints().is_none());
            assert!(entry.creation_date().is_some());
            seen.push(entry.grant_id().unwrap().to_owned());
        }
        if !page.truncated() {
            assert!(page.next_marker().is_none());
            break;
        }
        marker = page.next_marker().map(str::to_owned);
    }
    assert_eq!(seen, ids);
    let bobs = owner
        .list_grants()
        .key_id(&key)
        .grantee_principal(user_arn("bob"))
        .send()
        .await
        .unwrap();
    assert_eq!(bobs.grants().len(), 3);
    let one = owner
        .list_grants()
        .key_id(&key)
        .grant_id(&ids[2])
        .send()
        .await
        .unwrap();
    assert_eq!(one.grants().len(), 1);
    assert_eq!(one.grants()[0].grant_id(), Some(ids[2].as_str()));
    let bad_marker = owner.list_grants().key_id(&key).marker("nope").send().await;
    assert_eq!(code(bad_marker), "InvalidMarkerException");
    let bad_id = owner
        .list_grants()
        .key_id(&key)
        .grant_id("nope")
        .send()
        .await;
    assert_eq!(code(bad_id), "InvalidGrantIdException");
    let nobody = owner
        .list_grants()
        .key_id(&key)
        .grantee_principal(user_arn("nobody"))
        .send()
        .await;
    assert_eq!(
        message(nobody),
        format!(
            "ARN does not refer to a valid principal: {}",
            user_arn("nobody")
        )
    );
}

#[tokio::test]
async fn grant_operations_follow_the_key_type() {
    let server = TestServer::start().await;
    let iam = iam(&server, admin());
    let owner = kms(&server, admin());
    let bob = kms(&server, user(&iam, "bob", None).await);
    let signing = owner
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_owned();
    grant(
        &owner,
        &signing,
        &user_arn("bob"),
        &[
            GrantOperation::Sign,
            GrantOperation::Verify,
            GrantOperation::GetPublicKey,
        ],
    )
    .await;
    let signed = bob
        .sign()
        .key_id(&signing)
        .message(Blob::new(b"m".to_vec()))
        .signing_algorithm(aws_sdk_kms::types::SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    let verified = bob
        .verify()
        .key_id(&signing)
        .message(Blob::new(b"m".to_vec()))
        .signature(signed.signature().unwrap().clone())
        .signing_algorithm(aws_sdk_kms::types::SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    assert!(verified.signature_valid());
    bob.get_public_key().key_id(&signing).send().await.unwrap();
    let refused = grant_request(
        &owner,
        &signing,
        &user_arn("bob"),
        &[GrantOperation::GenerateDataKey],
    )
    .send()
    .await;
    assert_eq!(
        message(refused),
        "Operations [GenerateDataKey] are not supported when creating a grant for a asymmetric KMS key with key usage SIGN_VERIFY. Valid operations are [CreateGrant, RetireGrant, DescribeKey, GetPublicKey, Sign, Verify]"
    );

    let hmac = owner
        .create_key()
        .key_spec(KeySpec::Hmac256)
        .key_usage(KeyUsageType::GenerateVerifyMac)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_owned();
    let refused = grant_request(&owner, &hmac, &user_arn("bob"), &[GrantOperation::Encrypt])
        .send()
        .await;
    assert_eq!(
        failure(refused),
        (
            "ValidationException".into(),
            "Operations [Encrypt] are not supported when creating a grant for a symmetric KMS key with key usage GENERATE_VERIFY_MAC. Valid operations are [CreateGrant, RetireGrant, DescribeKey, GenerateMac, VerifyMac]".into()
        )
    );
    let constrained = grant_request(
        &owner,
        &hmac,
        &user_arn("bob"),
        &[GrantOperation::GenerateMac],
    )
    .constraints(
        GrantConstraints::builder()
            .encryption_context_subset("a", "b")
            .build(),
    )
    .send()
    .await;
    assert_eq!(
        message(constrained),
        "EncryptionContext is supported only when creating a grant for a symmetric encryption KMS key."
    );
    grant(
        &owner,
        &hmac,
        &user_arn("bob"),
        &[GrantOperation::GenerateMac, GrantOperation::VerifyMac],
    )
    .await;
    let mac = bob
        .generate_mac()
        .key_id(&hmac)
        .message(Blob::new(b"m".to_vec()))
        .mac_algorithm(aws_sdk_kms::types::MacAlgorithmSpec::HmacSha256)
        .send()
        .await
        .unwrap();
    assert!(mac.mac().is_some());
    let only_create = grant_request(
        &owner,
        &hmac,
        &user_arn("bob"),
        &[GrantOperation::CreateGrant],
    )
    .send()
    .await;
    assert_eq!(
        message(only_create),
        "Grants must not contain only the CreateGrant operation."
    );
}

#[tokio::test]
async fn names_make_retries_idempotent() {
    let server = TestServer::start().await;
    let iam = iam(&server, admin());
    let owner = kms(&server, admin());
    user(&iam, "bob", None).await;
    let key = create_key(&owner).await;
    let create = |name: &str, operations: &[GrantOperation]| {
        owner
            .create_grant()
            .key_id(&key)
            .grantee_principal(user_arn("bob"))
            .name(name)
            .set_operations(Some(operations.to_vec()))
            .send()
    };
    let first = create(
        "volume-1",
        &[GrantOperation::Encrypt, GrantOperation::Decrypt],
    )
    .await
    .unwrap();
    let retry = create(
        "volume-1",
        &[GrantOperation::Decrypt, GrantOperation::Encrypt],
    )
    .await
    .unwrap();
    assert_eq!(retry.grant_id(), first.grant_id());
    assert_ne!(
        retry.grant_token(),
        first.grant_token(),
        "each answer has its own token"
    );
    let other = create("volume-1", &[GrantOperation::Decrypt])
        .await
        .unwrap();
    assert_ne!(other.grant_id(), first.grant_id());
    let listed = owner.list_grants().key_id(&key).send().await.unwrap();
    assert_eq!(listed.grants().len(), 2);
    assert!(listed.grants().iter().all(|g| g.name() == Some("volume-1")));
    let bad = create("bad name!", &[GrantOperation::Decrypt]).await;
    assert_eq!(code(bad), "ValidationException");
}

#[tokio::test]
async fn a_grantee_delegates_only_what_one_grant_holds() {
    let server = TestServer::start().await;
    let iam = iam(&server, admin());
    let owner = kms(&server, admin());
    let bob = kms(&server, user(&iam, "bob", None).await);
    let carol = kms(&server, user(&iam, "carol", None).await);
    let key = create_key(&owner).await;
    let blob = owner
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new(b"x".to_vec()))
        .encryption_context("Dept", "IT")
        .send()
        .await
        .unwrap()
        .ciphertext_blob()
        .unwrap()
        .clone();
    let parent = grant_request(
        &owner,
        &key,
        &user_arn("bob"),
        &[GrantOperation::CreateGrant],
    )
    .operations(GrantOperation::Decrypt)
    .constraints(
        GrantConstraints::builder()
            .encryption_context_subset("Dept", "IT")
            .build(),
    )
    .send()
    .await
    .unwrap();
    grant(&owner, &key, &user_arn("bob"), &[GrantOperation::Encrypt]).await;
    let delegate = |operations: &[GrantOperation], constraint: Option<GrantConstraints>| {
        bob.create_grant()
            .key_id(&key)
            .grantee_principal(user_arn("carol"))
            .set_operations(Some(operations.to_vec()))
            .set_constraints(constraint)
            .grant_tokens(parent.grant_token().unwrap())
            .send()
    };
    let stricter = GrantConstraints::builder()
        .encryption_context_equals("Dept", "IT")
        .build();
    let child = delegate(&[GrantOperation::Decrypt], Some(stricter.clone()))
        .await
        .unwrap();
    carol
        .decrypt()
        .ciphertext_blob(blob.clone())
        .encryption_context("Dept", "IT")
        .grant_tokens(child.grant_token().unwrap())
        .send()
        .await
        .unwrap();
    // Encrypt is bob's by another grant, which may not be delegated; no constraint is looser.
    for (operations, constraint) in [
        (
            vec![GrantOperation::Decrypt, GrantOperation::Encrypt],
            Some(stricter.clone()),
        ),
        (vec![GrantOperation::Encrypt], Some(stricter.clone())),
        (vec![GrantOperation::Decrypt], None),
    ] {
        let refused = delegate(&operations, constraint).await;
        assert_eq!(
            message(refused),
            format!(
                "User: {} is not authorized to perform: kms:CreateGrant on resource: {} because no identity-based policy allows the kms:CreateGrant action",
                user_arn("bob"),
                common::arn_of(&owner, &key).await
            ),
            "{operations:?}"
        );
    }
}

#[tokio::test]
async fn grant_conditions_in_policies() {
    let server = TestServer::start().await;
    let iam = iam(&server, admin());
    let owner = kms(&server, admin());
    user(&iam, "bob", None).await;
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {
                "ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt", "Encrypt"]},
                "StringEquals": {"kms:GrantConstraintType": "EncryptionContextEquals"},
                "Bool": {"kms:GrantIsForAWSResource": "false"}
            }
        }]
    })
    .to_string();
    let granter = kms(&server, user(&iam, "granter", Some(&policy)).await);
    let key = create_key(&owner).await;
    let create = |operations: &[GrantOperation], constraint: GrantConstraints| {
        granter
            .create_grant()
            .key_id(&key)
            .grantee_principal(user_arn("bob"))
            .set_operations(Some(operations.to_vec()))
            .constraints(constraint)
            .send()
    };
    let equals = GrantConstraints::builder()
        .encryption_context_equals("a", "b")
        .build();
    let subset = GrantConstraints::builder()
        .encryption_context_subset("a", "b")
        .build();
    create(&[GrantOperation::Decrypt], equals.clone())
        .await
        .unwrap();
    // On CreateGrant, kms:EncryptionContext: keys read the grant's constraint.
    let context_policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {"StringEquals": {"kms:EncryptionContext:Dept": "IT"}}
        }]
    })
    .to_string();
    let scoped = kms(&server, user(&iam, "scoped", Some(&context_policy)).await);
    let scoped_create = |pairs: (&str, &str)| {
        grant_request(&scoped, &key, &user_arn("bob"), &[GrantOperation::Decrypt])
            .constraints(
                GrantConstraints::builder()
                    .encryption_context_subset(pairs.0, pairs.1)
                    .build(),
            )
            .send()
    };
    scoped_create(("Dept", "IT")).await.unwrap();
    assert_eq!(
        code(scoped_create(("Dept", "HR")).await),
        "AccessDeniedException"
    );
    assert_eq!(
        code(create(&[GrantOperation::Decrypt], subset).await),
        "AccessDeniedException"
    );
    assert_eq!(
        code(
            create(
                &[GrantOperation::Decrypt, GrantOperation::ReEncryptFrom],
                equals
            )
            .await
        ),
        "AccessDeniedException"
    );
}

#[tokio::test]
async fn roles_grants_cover_sessions_and_other_accounts_need_their_own_policy() {
    let server = TestServer::start().await;
    let iam = iam(&server, admin());
    let owner = kms(&server, admin());
    let trust = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "sts:AssumeRole"}]
    })
    .to_string();
    iam.create_role()
        .role_name("app")
        .assume_role_policy_document(trust)
        .send()
        .await
        .unwrap();
    let key = create_key(&owner).await;
    let arn = common::arn_of(&owner, &key).await;
    grant(
        &owner,
        &key,
        &format!("arn:aws:iam::{ACCOUNT}:role/app"),
        &[GrantOperation::Encrypt],
    )
    .await;
    let assumed = sts(&server, admin())
        .assume_role()
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/app"))
        .role_session_name("s1")
        .send()
        .await
        .unwrap();
    let app = kms(
        &server,
        common::identities::session(assumed.credentials().unwrap()),
    );
    common::identities::encrypt_as(&app, &arn).await.unwrap();

    // Another tenant's user: the grant names it, but its own account must allow too.
    let (other, other_admin) = server.new_tenant("other").await;
    let bad = grant_request(
        &owner,
        &key,
        &format!("arn:aws:iam::{other}:user/nobody"),
        &[GrantOperation::Encrypt],
    )
    .send()
    .await;
    assert_eq!(
        message(bad),
        format!("ARN does not refer to a valid principal: arn:aws:iam::{other}:user/nobody")
    );
    grant(
        &owner,
        &key,
        &format!("arn:aws:iam::{other}:root"),
        &[GrantOperation::Encrypt],
    )
    .await;
    common::identities::encrypt_as(&other_admin, &arn)
        .await
        .unwrap();
    let not_arn = grant_request(&owner, &key, "bob", &[GrantOperation::Encrypt])
        .send()
        .await;
    assert_eq!(
        failure(not_arn),
        ("InvalidArnException".into(), "ARN is not valid: bob".into())
    );
    // The other tenant cannot see or manage the key's grants.
    let listed = other_admin.list_grants().key_id(&arn).send().await;
    assert_eq!(code(listed), "AccessDeniedException");
}

#[tokio::test]
async fn limits_states_and_deletion() {
    let server = TestServer::start_with(|config| {
        config.grants_per_key = 3;
        config.dev_clock = true;
    })
    .await;
    let iam = iam(&server, admin());
    let owner = kms(&server, admin());
    user(&iam, "bob", None).await;
    let key = create_key(&owner).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            grant(&owner, &key, &user_arn("bob"), &[GrantOperation::Decrypt])
                .await
                .0,
        );
    }
    let over = grant_request(&owner, &key, &user_arn("bob"), &[GrantOperation::Decrypt])
        .send()
        .await;
    assert_eq!(code(over), "LimitExceededException");
    owner
        .revoke_grant()
        .key_id(&key)
        .grant_id(&ids[0])
        .send()
        .await
        .unwrap();
    grant(&owner, &key, &user_arn("bob"), &[GrantOperation::Decrypt]).await;

    let arn = common::arn_of(&owner, &key).await;
    owner.disable_key().key_id(&key).send().await.unwrap();
    let disabled = grant_request(&owner, &key, &user_arn("bob"), &[GrantOperation::Decrypt])
        .send()
        .await;
    assert_eq!(
        failure(disabled),
        ("DisabledException".into(), format!("{arn} is disabled."))
    );
    assert_eq!(
        owner
            .list_grants()
            .key_id(&key)
            .send()
            .await
            .unwrap()
            .grants()
            .len(),
        3,
        "grants stay on a disabled key"
    );
    owner
        .schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let pending = grant_request(&owner, &key, &user_arn("bob"), &[GrantOperation::Decrypt])
        .send()
        .await;
    assert_eq!(
        failure(pending),
        (
            "KMSInvalidStateException".into(),
            format!("{arn} is pending deletion.")
        )
    );
    owner
        .retire_grant()
        .key_id(&arn)
        .grant_id(&ids[1])
        .send()
        .await
        .unwrap();
    assert_eq!(server.advance_clock(8 * DAY).await["Deleted"], 1);
    let database = std::fs::read(server.data_dir.join("strongbox.db")).unwrap();
    assert!(
        !String::from_utf8_lossy(&database).contains(&ids[2]),
        "the key's grants went with it"
    );
}

#[tokio::test]
async fn another_node_sees_grants_by_token_at_once_and_without_within_the_bound() {
    use std::sync::Arc;
    use strongbox::datadir::{self, OpenMode};
    use strongbox_core::kms::KeyRef;
    use strongbox_core::model::{AccessKeyId, AccountId, Principal, Region};
    use strongbox_core::{Error, KmsConfig, ManualClock};

    let server = TestServer::start().await;
    let iam = iam(&server, admin());
    let owner = kms(&server, admin());
    user(&iam, "bob", None).await;
    let key = create_key(&owner).await;
    // A second node on the same store, with a clock the test moves.
    let clock = Arc::new(ManualClock::new());
    let store = format!(
        "sqlite://{}",
        server.data_dir.join("strongbox.db").display()
    );
    let config = KmsConfig {
        audit: false,
        ..KmsConfig::default()
    };
    let node = datadir::open_with(
        &server.data_dir,
        &store,
        OpenMode::MustExist,
        Arc::clone(&clock) as Arc<dyn strongbox_core::Clock>,
        config.clone(),
        strongbox_store::journal::JournalOptions::default(),
    )
    .await
    .unwrap()
    .kms;
    let account = AccountId::parse(ACCOUNT).unwrap();
    let identity = node.user_identity(&account, "bob").await.unwrap().unwrap();
    let bob = Principal::new(
        AccessKeyId::parse("AKIAEXAMPLEBOB000001").unwrap(),
        Region::parse(REGION).unwrap(),
        identity,
    );
    let key_ref = KeyRef::named(&key);
    let denied = |result: Result<_, Error>| matches!(result, Err(Error::AccessDenied(_)));
    assert!(
        denied(node.describe_key(&bob, &key_ref).await),
        "no grant yet"
    );

    let (id, token) = grant(
        &owner,
        &key,
        &user_arn("bob"),
        &[GrantOperation::DescribeKey],
    )
    .await;
    // This node still trusts what it read: without the token, denied; with it, allowed.
    assert!(denied(node.describe_key(&bob, &key_ref).await));
    let mut with_token = bob.clone();
    with_token.grant_tokens = node
        .grant_tokens(std::slice::from_ref(&token))
        .await
        .unwrap();
    node.describe_key(&with_token, &key_ref).await.unwrap();
    // Past the bound, the grant is seen without the token.
    clock.advance(config.credential_ttl);
    node.describe_key(&bob, &key_ref).await.unwrap();

    owner
        .revoke_grant()
        .key_id(&key)
        .grant_id(&id)
        .send()
        .await
        .unwrap();
    // A token names a grant that must still exist: refused at once.
    assert!(denied(node.describe_key(&with_token, &key_ref).await));
    clock.advance(config.credential_ttl);
    assert!(denied(node.describe_key(&bob, &key_ref).await), "revoked");
    node.close().await;
}

#[tokio::test]
async fn a_grant_names_the_user_that_existed_when_it_was_made() {
    let server = TestServer::start().await;
    let iam = iam(&server, admin());
    let owner = kms(&server, admin());
    iam.create_user().user_name("carol").send().await.unwrap();
    let first_id = iam
        .get_user()
        .user_name("carol")
        .send()
        .await
        .unwrap()
        .user()
        .unwrap()
        .user_id()
        .to_owned();
    let key = create_key(&owner).await;
    grant(&owner, &key, &user_arn("carol"), &[GrantOperation::Encrypt]).await;
    let listed = owner.list_grants().key_id(&key).send().await.unwrap();
    assert_eq!(
        listed.grants()[0].grantee_principal(),
        Some(user_arn("carol").as_str())
    );
    iam.delete_user().user_name("carol").send().await.unwrap();
    let listed = owner.list_grants().key_id(&key).send().await.unwrap();
    assert_eq!(
        listed.grants()[0].grantee_principal(),
        Some(first_id.as_str()),
        "a deleted grantee is shown by its unique id"
    );
    // Made again under the same name: another user, whom the grant does not name.
    let carol = kms(&server, user(&iam, "carol", None).await);
    let refused = common::identities::encrypt_as(&carol, &key).await;
    assert_eq!(code(refused), "AccessDeniedException");
    let listed = owner.list_grants().key_id(&key).send().await.unwrap();
    assert_eq!(
        listed.grants()[0].grantee_principal(),
        Some(first_id.as_str())
    );
}

#[tokio::test]
async fn re_encrypt_data_key_pairs_and_dry_runs_by_grant() {
    let server = TestServer::start().await;
    let iam = iam(&server, admin());
    let owner = kms(&server, admin());
    let bob = kms(&server, user(&iam, "bob", None).await);
    let from = create_key(&owner).await;
    let to = create_key(&owner).await;
    let blob = common::encrypt(&owner, &from, b"x").await;
    let re_encrypt = || {
        bob.re_encrypt()
            .ciphertext_blob(blob.clone())
            .destination_key_id(&to)
            .send()
    };
    let (from_grant, _) = grant(
        &owner,
        &from,
        &user_arn("bob"),
        &[GrantOperation::ReEncryptFrom],
    )
    .await;
    assert_eq!(
        code(re_encrypt().await),
        "AccessDeniedException",
        "ReEncryptTo on the destination is needed too"
    );
    let (to_grant, _) = grant(
        &owner,
        &to,
        &user_arn("bob"),
        &[GrantOperation::ReEncryptTo],
    )
    .await;
    let re_encrypted = re_encrypt().await.unwrap();
    let stored = records(&server, ACCOUNT, REGION).await;
    let record = by_request(&stored, re_encrypted.request_id().unwrap());
    assert_eq!(
        record["additionalEventData"]["grantIds"],
        serde_json::json!([from_grant, to_grant])
    );

    grant(
        &owner,
        &from,
        &user_arn("bob"),
        &[GrantOperation::GenerateDataKeyPairWithoutPlaintext],
    )
    .await;
    let pair = bob
        .generate_data_key_pair_without_plaintext()
        .key_id(&from)
        .key_pair_spec(aws_sdk_kms::types::DataKeyPairSpec::EccNistP256)
        .send()
        .await
        .unwrap();
    assert!(pair.public_key().is_some());

    // DryRun checks everything and changes nothing.
    let dry = grant_request(&owner, &from, &user_arn("bob"), &[GrantOperation::Decrypt])
        .dry_run(true)
        .send()
        .await;
    assert_eq!(
        failure(dry),
        (
            "DryRunOperationException".into(),
            "The request would have succeeded, but the DryRun option is set.".into()
        )
    );
    let dry = grant_request(
        &owner,
        &from,
        &user_arn("nobody"),
        &[GrantOperation::Decrypt],
    )
    .dry_run(true)
    .send()
    .await;
    assert_eq!(code(dry), "InvalidArnException", "a dry run still checks");
    let listed = owner.list_grants().key_id(&from).send().await.unwrap();
    assert_eq!(listed.grants().len(), 2);

    // A token is good in its Region only.
    let (_, token) = grant(&owner, &from, &user_arn("bob"), &[GrantOperation::Decrypt]).await;
    let elsewhere = common::identities::kms(&server, admin());
    let elsewhere = aws_sdk_kms::Client::from_conf(
        elsewhere
            .config()
            .to_builder()
            .region(aws_sdk_kms::config::Region::new("eu-west-1"))
            .build(),
    );
    let refused = elsewhere.retire_grant().grant_token(&token).send().await;
    assert_eq!(code(refused), "InvalidGrantTokenException");
}

#[tokio::test]
async fn an_explicit_deny_beats_a_grant() {
    let server = TestServer::start().await;
    let iam = iam(&server, admin());
    let owner = kms(&server, admin());
    let deny = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "kms:Encrypt", "Resource": "*"}]
    })
    .to_string();
    let denied = kms(&server, user(&iam, "denied", Some(&deny)).await);
    let bob = kms(&server, user(&iam, "bob", None).await);
    let key = create_key(&owner).await;
    let arn = common::arn_of(&owner, &key).await;
    grant(
        &owner,
        &key,
        &user_arn("denied"),
        &[GrantOperation::Encrypt],
    )
    .await;
    grant(&owner, &key, &user_arn("bob"), &[GrantOperation::Encrypt]).await;
    assert_eq!(
        message(common::identities::encrypt_as(&denied, &key).await),
        format!(
            "User: {} is not authorized to perform: kms:Encrypt on resource: {arn} with an explicit deny in an identity-based policy",
            user_arn("denied")
        )
    );
    common::identities::encrypt_as(&bob, &key).await.unwrap();
    // A key policy that denies bob: the grant no longer helps.
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "kms:*", "Resource": "*"},
            {"Effect": "Deny", "Principal": {"AWS": user_arn("bob")}, "Action": "kms:Encrypt", "Resource": "*"}
        ]
    })
    .to_string();
    owner
        .put_key_policy()
        .key_id(&key)
        .policy_name("default")
        .policy(policy)
        .send()
        .await
        .unwrap();
    assert_eq!(
        message(common::identities::encrypt_as(&bob, &key).await),
        format!(
            "User: {} is not authorized to perform: kms:Encrypt on resource: {arn} with an explicit deny in a resource-based policy",
            user_arn("bob")
        )
    );
}
