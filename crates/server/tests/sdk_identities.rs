//! IAM users, access keys, roles and inline policies through `aws-sdk-iam`; AssumeRole and
//! session credentials through `aws-sdk-sts`; every answer and error checked against AWS's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::identities::{admin, allow, encrypt_as, iam, kms, session, sts, user};
use common::{ACCOUNT, TestServer, code, message};

#[tokio::test]
async fn users_policies_and_access_keys_behave_as_iam() {
    let server = TestServer::start().await;
    let iam = iam(&server, admin());
    let created = iam
        .create_user()
        .user_name("Alice")
        .path("/team/")
        .send()
        .await
        .unwrap();
    let alice = created.user().unwrap();
    assert_eq!(
        alice.arn(),
        format!("arn:aws:iam::{ACCOUNT}:user/team/Alice")
    );
    assert!(alice.user_id().starts_with("AIDA") && alice.user_id().len() == 21);
    // Names are unique ignoring case.
    let twin = iam.create_user().user_name("alice").send().await;
    assert_eq!(message(twin), "User with name alice already exists.");
    let missing = iam.get_user().user_name("bob").send().await;
    assert_eq!(code(missing), "NoSuchEntity");
    let missing = iam.get_user().user_name("bob").send().await;
    assert_eq!(message(missing), "The user with name bob cannot be found.");
    // GetUser without a name answers for the caller.
    let me = iam.get_user().send().await.unwrap();
    assert_eq!(me.user().unwrap().user_name(), "admin");
    // Bad names and paths.
    let bad = iam.create_user().user_name("a b").send().await;
    assert_eq!(
        message(bad),
        "The specified value for userName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-"
    );
    let bad = iam.create_user().user_name("x").path("nope").send().await;
    assert_eq!(code(bad), "ValidationError");

    // Inline policies.
    let not_json = iam
        .put_user_policy()
        .user_name("alice")
        .policy_name("p")
        .policy_document("{not json")
        .send()
        .await;
    assert_eq!(message(not_json), "Syntax errors in policy.");
    let with_principal = iam
        .put_user_policy()
        .user_name("alice")
        .policy_name("p")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}"#,
        )
        .send()
        .await;
    assert_eq!(
        message(with_principal),
        "Policy document should not specify a principal."
    );
    let too_big = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": vec!["kms:Encrypt"; 200], "Resource": "*"}]
    })
    .to_string();
    let too_big = iam
        .put_user_policy()
        .user_name("alice")
        .policy_name("big")
        .policy_document(too_big)
        .send()
        .await;
    assert_eq!(
        message(too_big),
        "Maximum policy size of 2048 bytes exceeded for user Alice"
    );
    let document = allow(&["kms:Encrypt"]);
    iam.put_user_policy()
        .user_name("ALICE")
        .policy_name("enc")
        .policy_document(&document)
        .send()
        .await
        .unwrap();
    let got = iam
        .get_user_policy()
        .user_name("alice")
        .policy_name("enc")
        .send()
        .await
        .unwrap();
    assert_eq!(got.user_name(), "Alice");
    // The SDK gives the document as IAM sends it: percent-encoded JSON.
    let decoded = percent_decode(got.policy_document());
    assert_eq!(decoded, document);
    let names = iam
        .list_user_policies()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    assert_eq!(names.policy_names(), ["enc"]);
    let gone = iam
        .get_user_policy()
        .user_name("alice")
        .policy_name("other")
        .send()
        .await;
    assert_eq!(
        message(gone),
        "The user policy with name other cannot be found."
    );

    // Access keys: two at most; an inactive key is refused.
    let first = iam
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    let first = first.access_key().unwrap().clone();
    assert!(first.access_key_id().starts_with("AKIA"));
    iam.create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    let third = iam.create_access_key().user_name("alice").send().await;
    assert_eq!(
        message(third),
        "Cannot exceed quota for AccessKeysPerUser: 2"
    );
    let listed = iam
        .list_access_keys()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.access_key_metadata().len(), 2);
    let credentials = aws_sdk_kms::config::Credentials::new(
        first.access_key_id(),
        first.secret_access_key(),
        None,
        None,
        "test",
    );
    let as_alice = sts(&server, credentials.clone());
    let identity = as_alice.get_caller_identity().send().await.unwrap();
    assert_eq!(
        identity.arn().unwrap(),
        format!("arn:aws:iam::{ACCOUNT}:user/team/Alice")
    );
    iam.update_access_key()
        .user_name("alice")
        .access_key_id(first.access_key_id())
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let refused = as_alice.get_caller_identity().send().await;
    assert_eq!(code(refused), "InvalidClientTokenId");
    let unknown = iam
        .delete_access_key()
        .user_name("alice")
        .access_key_id("AKIAIOSFODNN7EXAMPLE")
        .send()
        .await;
    assert_eq!(
        message(unknown),
        "The Access Key with id AKIAIOSFODNN7EXAMPLE cannot be found."
    );

    // A user goes only once its keys and policies are gone.
    let conflict = iam.delete_user().user_name("alice").send().await;
    assert_eq!(
        message(conflict),
        "Cannot delete entity, must delete access keys first."
    );
    for key in listed.access_key_metadata() {
        iam.delete_access_key()
            .user_name("alice")
            .access_key_id(key.access_key_id().unwrap())
            .send()
            .await
            .unwrap();
    }
    let conflict = iam.delete_user().user_name("alice").send().await;
    assert_eq!(
        message(conflict),
        "Cannot delete entity, must delete policies first."
    );
    iam.delete_user_policy()
        .user_name("alice")
        .policy_name("enc")
        .send()
        .await
        .unwrap();
    iam.delete_user().user_name("alice").send().await.unwrap();
    let users = iam.list_users().send().await.unwrap();
    let names: Vec<_> = users.users().iter().map(|u| u.user_name()).collect();
    assert_eq!(names, ["admin"]);
    // IAM calls are audited as CloudTrail records them: IAM's event source, in us-east-1, with
    // the parameters (never a secret).
    let records = common::audit::records(&server, ACCOUNT, "us-east-1").await;
    let created = records
        .iter()
        .find(|r| r.json["eventName"] == "CreateUser")
        .expect("CreateUser recorded");
    assert_eq!(created.json["eventSource"], "iam.amazonaws.com");
    assert_eq!(created.json["awsRegion"], "us-east-1");
    assert_eq!(created.json["requestParameters"]["userName"], "Alice");
    assert_eq!(created.json["userIdentity"]["type"], "IAMUser");
    let refused = records
        .iter()
        .find(|r| r.json["eventName"] == "CreateAccessKey" && r.json["errorCode"].is_string())
        .expect("the refused third key recorded");
    assert_eq!(refused.json["errorCode"], "LimitExceeded");
    assert!(
        !records
            .iter()
            .any(|r| String::from_utf8_lossy(&r.bytes).contains(first.secret_access_key())),
        "no secret in the trail"
    );
    server.stop().await;
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() + 1 {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn trust(principal: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": principal},
            "Action": "sts:AssumeRole"
        }]
    })
    .to_string()
}

#[tokio::test]
async fn roles_are_assumed_as_their_trust_policy_says() {
    let server = TestServer::start_with(|config| config.dev_clock = true).await;
    let iam = iam(&server, admin());
    let alice = user(&iam, "alice", None).await;
    let bob = user(&iam, "bob", None).await;
    let alice_arn = format!("arn:aws:iam::{ACCOUNT}:user/alice");
    // Trust policies: only STS actions, existing principals.
    let wrong_action = iam
        .create_role()
        .role_name("Deployer")
        .assume_role_policy_document(trust(&alice_arn).replace("sts:AssumeRole", "kms:Encrypt"))
        .send()
        .await;
    assert_eq!(
        message(wrong_action),
        "AssumeRole policy may only specify STS AssumeRole actions."
    );
    let ghost = iam
        .create_role()
        .role_name("Deployer")
        .assume_role_policy_document(trust(&format!("arn:aws:iam::{ACCOUNT}:user/ghost")))
        .send()
        .await;
    assert_eq!(code(ghost), "MalformedPolicyDocument");
    let created = iam
        .create_role()
        .role_name("Deployer")
        .assume_role_policy_document(trust(&alice_arn))
        .max_session_duration(7200)
        .send()
        .await
        .unwrap();
    let role = created.role().unwrap();
    let role_arn = role.arn().to_owned();
    assert!(role.role_id().starts_with("AROA"));
    let fetched = iam.get_role().role_name("deployer").send().await.unwrap();
    assert_eq!(fetched.role().unwrap().max_session_duration(), Some(7200));
    iam.put_role_policy()
        .role_name("Deployer")
        .policy_name("describe")
        .policy_document(allow(&["kms:DescribeKey"]))
        .send()
        .await
        .unwrap();
    let key = common::create_key(&server.client()).await;

    // Alice is named by the trust policy: she needs no identity policy of her own.
    let as_alice = sts(&server, alice.clone());
    let assumed = as_alice
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("deploy-1")
        .send()
        .await
        .unwrap();
    let session_user = assumed.assumed_role_user().unwrap();
    assert_eq!(
        session_user.arn(),
        format!("arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/deploy-1")
    );
    let credentials = assumed.credentials().unwrap();
    assert!(credentials.access_key_id().starts_with("ASIA"));
    let as_session = session(credentials);
    let identity = sts(&server, as_session.clone())
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(identity.arn(), Some(session_user.arn()));
    assert_eq!(identity.user_id(), Some(session_user.assumed_role_id()));
    let session_kms = kms(&server, as_session.clone());
    session_kms
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    let denied = encrypt_as(&session_kms, &key).await;
    assert_eq!(
        message(denied),
        format!(
            "User: arn:aws:sts::{ACCOUNT}:assumed-role/Deployer/deploy-1 is not authorized to perform: kms:Encrypt on resource: arn:aws:kms:us-east-1:{ACCOUNT}:key/{key} because no identity-based policy allows the kms:Encrypt action"
        )
    );

    // Bob is not trusted.
    let refused = sts(&server, bob)
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("x1")
        .send()
        .await;
    assert_eq!(
        message(refused),
        format!(
            "User: arn:aws:iam::{ACCOUNT}:user/bob is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
        )
    );
    // The account root may not assume roles; longer than the role allows is refused.
    let too_long = as_alice
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("x2")
        .duration_seconds(7201)
        .send()
        .await;
    assert_eq!(
        message(too_long),
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    );
    let short = as_alice
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("x3")
        .duration_seconds(899)
        .send()
        .await;
    assert_eq!(code(short), "ValidationError");

    // A token opens only for its own access key id, and not once it expired.
    let forged = aws_sdk_kms::config::Credentials::new(
        "ASIAAAAAAAAAAAAAAAAA",
        credentials.secret_access_key(),
        Some(credentials.session_token().to_owned()),
        None,
        "test",
    );
    let forged = kms(&server, forged).list_keys().send().await;
    assert_eq!(code(forged), "UnrecognizedClientException");
    server.advance_clock(3601).await;
    let expired = session_kms.describe_key().key_id(&key).send().await;
    assert_eq!(code(expired), "ExpiredTokenException");
    let expired = session_kms.describe_key().key_id(&key).send().await;
    assert_eq!(
        message(expired),
        "The security token included in the request is expired"
    );
    let expired = sts(&server, as_session).get_caller_identity().send().await;
    assert_eq!(code(expired), "ExpiredToken");

    // External ids are conditions like any other.
    iam.update_assume_role_policy()
        .role_name("Deployer")
        .policy_document(
            serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Principal": {"AWS": alice_arn},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": "ticket-42"}}
                }]
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap();
    let without = as_alice
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("x4")
        .send()
        .await;
    assert_eq!(code(without), "AccessDenied");
    let with_id = as_alice
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("x5")
        .external_id("ticket-42")
        .send()
        .await
        .unwrap();
    let old_session = kms(&server, session(with_id.credentials().unwrap()));
    old_session
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    let conflict = iam.delete_role().role_name("Deployer").send().await;
    assert_eq!(
        message(conflict),
        "Cannot delete entity, must delete policies first."
    );
    // A role deleted and made again under its name is another role: its old sessions end.
    iam.delete_role_policy()
        .role_name("Deployer")
        .policy_name("describe")
        .send()
        .await
        .unwrap();
    iam.delete_role()
        .role_name("Deployer")
        .send()
        .await
        .unwrap();
    let gone = old_session.describe_key().key_id(&key).send().await;
    assert_eq!(code(gone), "UnrecognizedClientException");
    iam.create_role()
        .role_name("Deployer")
        .assume_role_policy_document(trust(&alice_arn))
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name("Deployer")
        .policy_name("describe")
        .policy_document(allow(&["kms:DescribeKey"]))
        .send()
        .await
        .unwrap();
    let replaced = old_session.describe_key().key_id(&key).send().await;
    assert_eq!(code(replaced), "UnrecognizedClientException");
    server.stop().await;
}

#[tokio::test]
async fn key_policies_are_kept_checked_and_enforced() {
    let server = TestServer::start().await;
    let admin_kms = server.client();
    let key = common::create_key(&admin_kms).await;
    let arn = common::arn_of(&admin_kms, &key).await;
    // The default policy, byte for byte as AWS writes it.
    let got = admin_kms
        .get_key_policy()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(got.policy_name(), Some("default"));
    assert_eq!(
        got.policy().unwrap(),
        format!(
            "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"arn:aws:iam::{ACCOUNT}:root\"\n    }},\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}"
        )
    );
    let names = admin_kms
        .list_key_policies()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(names.policy_names(), ["default"]);
    assert!(!names.truncated());
    let other_name = admin_kms
        .get_key_policy()
        .key_id(&key)
        .policy_name("custom")
        .send()
        .await;
    assert_eq!(code(other_name), "NotFoundException");

    let iam = iam(&server, admin());
    let carol = user(&iam, "carol", None).await;
    let carol_kms = kms(&server, carol);
    let carol_arn = format!("arn:aws:iam::{ACCOUNT}:user/carol");
    // Malformed policies.
    for (policy, expected) in [
        ("{not json", "MalformedPolicyDocumentException"),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*","Condition":{"StringEqualz":{"kms:CallerAccount":"1"}}}]}"#,
            "MalformedPolicyDocumentException",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/nobody"},"Action":"kms:*","Resource":"*"}]}"#,
            "MalformedPolicyDocumentException",
        ),
    ] {
        let result = admin_kms
            .put_key_policy()
            .key_id(&key)
            .policy(policy)
            .send()
            .await;
        assert_eq!(code(result), expected, "{policy}");
    }
    let unknown_principal = admin_kms
        .put_key_policy()
        .key_id(&key)
        .policy(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/nobody"},"Action":"kms:*","Resource":"*"}]}"#)
        .send()
        .await;
    assert_eq!(
        message(unknown_principal),
        "Policy contains a statement with one or more invalid principals."
    );
    let padded = format!(
        "{{\"Version\":\"2012-10-17\",\"Id\":\"{}\",\"Statement\":[]}}",
        "x".repeat(33 * 1024)
    );
    let too_large = admin_kms
        .put_key_policy()
        .key_id(&key)
        .policy(padded)
        .send()
        .await;
    assert_eq!(code(too_large), "LimitExceededException");

    // The lockout check: a policy that would not let the caller change it again.
    // Written by hand: the members' order is kept, and shows in GetKeyPolicy.
    let carol_only = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"carol","Effect":"Allow","Principal":{{"AWS":"{carol_arn}"}},"Action":"kms:*","Resource":"*"}}]}}"#
    );
    let locked = admin_kms
        .put_key_policy()
        .key_id(&key)
        .policy(&carol_only)
        .send()
        .await;
    assert_eq!(
        message(locked),
        "The new key policy will not allow you to update the key policy in the future."
    );
    // Carol is not allowed anything yet: the default policy names the account, and she has
    // no identity policy.
    let denied = carol_kms.describe_key().key_id(&key).send().await;
    assert_eq!(
        message(denied),
        format!(
            "User: {carol_arn} is not authorized to perform: kms:DescribeKey on resource: {arn} because no identity-based policy allows the kms:DescribeKey action"
        )
    );
    admin_kms
        .put_key_policy()
        .key_id(&key)
        .policy(&carol_only)
        .bypass_policy_lockout_safety_check(true)
        .send()
        .await
        .unwrap();
    // As AWS renders it.
    let stored = admin_kms.get_key_policy().key_id(&key).send().await;
    assert_eq!(
        message(stored),
        format!(
            "User: arn:aws:iam::{ACCOUNT}:user/admin is not authorized to perform: kms:GetKeyPolicy on resource: {arn} because no resource-based policy allows the kms:GetKeyPolicy action"
        )
    );
    let stored = carol_kms
        .get_key_policy()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        stored.policy().unwrap(),
        format!(
            "{{\n  \"Version\" : \"2012-10-17\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"carol\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"{carol_arn}\"\n    }},\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}"
        )
    );
    // Named in the key policy, Carol needs no identity policy.
    encrypt_as(&carol_kms, &key).await.unwrap();
    // An explicit deny wins over every allow.
    let deny_encrypt = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": carol_arn}, "Action": "kms:*", "Resource": "*"},
            {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Encrypt", "Resource": "*",
             "Condition": {"StringNotEquals": {"kms:EncryptionContext:team": "blue"}}}
        ]
    })
    .to_string();
    carol_kms
        .put_key_policy()
        .key_id(&key)
        .policy(&deny_encrypt)
        .send()
        .await
        .unwrap();
    let denied = encrypt_as(&carol_kms, &key).await;
    assert_eq!(
        message(denied),
        format!(
            "User: {carol_arn} is not authorized to perform: kms:Encrypt on resource: {arn} with an explicit deny in a resource-based policy"
        )
    );
    carol_kms
        .encrypt()
        .key_id(&key)
        .plaintext(aws_sdk_kms::primitives::Blob::new(b"x".to_vec()))
        .encryption_context("team", "blue")
        .send()
        .await
        .unwrap();
    // CreateKey with a policy runs the same checks.
    let locked_out = admin_kms.create_key().policy(&carol_only).send().await;
    assert_eq!(code(locked_out), "MalformedPolicyDocumentException");
    server.stop().await;
}

#[tokio::test]
async fn identity_policies_decide_actions_on_no_key() {
    let server = TestServer::start().await;
    let iam = iam(&server, admin());
    let dave = user(&iam, "dave", Some(&allow(&["kms:ListKeys"]))).await;
    let dave_kms = kms(&server, dave.clone());
    dave_kms.list_keys().send().await.unwrap();
    let denied = dave_kms.create_key().send().await;
    assert_eq!(
        message(denied),
        format!(
            "User: arn:aws:iam::{ACCOUNT}:user/dave is not authorized to perform: kms:CreateKey on resource: * because no identity-based policy allows the kms:CreateKey action"
        )
    );
    let denied = dave_kms.generate_random().number_of_bytes(16).send().await;
    assert_eq!(code(denied), "AccessDeniedException");
    let denied = common::identities::iam(&server, dave.clone())
        .list_users()
        .send()
        .await;
    assert_eq!(
        message(denied),
        format!(
            "User: arn:aws:iam::{ACCOUNT}:user/dave is not authorized to perform: iam:ListUsers on resource: arn:aws:iam::{ACCOUNT}:user/* because no identity-based policy allows the iam:ListUsers action"
        )
    );
    // The audit trail is read with cloudtrail:LookupEvents, which Dave is not allowed.
    let signing = common::raw::Signing {
        access_key: dave.access_key_id(),
        secret: dave.secret_access_key(),
        ..common::audit::cloudtrail()
    };
    let refused = common::audit::lookup(&server, &serde_json::json!({}), &signing).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["__type"], "AccessDeniedException");
    server.stop().await;
}

#[tokio::test]
async fn iam_actions_are_decided_on_the_entitys_own_arn() {
    let server = TestServer::start().await;
    let iam = iam(&server, admin());
    // Erin may do anything in IAM except touch the admin user, or users under /ops/.
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "iam:*", "Resource": [
                format!("arn:aws:iam::{ACCOUNT}:user/admin"),
                format!("arn:aws:iam::{ACCOUNT}:user/ops/*")
            ]}
        ]
    })
    .to_string();
    let erin = common::identities::iam(&server, user(&iam, "erin", Some(&policy)).await);
    iam.create_user()
        .user_name("deployer")
        .path("/ops/")
        .send()
        .await
        .unwrap();
    // Another spelling of the name is the same user, and the same ARN.
    for name in ["admin", "ADMIN", "Admin"] {
        let denied = erin.create_access_key().user_name(name).send().await;
        assert_eq!(
            message(denied),
            format!(
                "User: arn:aws:iam::{ACCOUNT}:user/erin is not authorized to perform: iam:CreateAccessKey on resource: arn:aws:iam::{ACCOUNT}:user/admin with an explicit deny in an identity-based policy"
            ),
            "{name}"
        );
    }
    // A user's path is part of its ARN.
    let denied = erin.create_access_key().user_name("deployer").send().await;
    assert_eq!(code(denied), "AccessDenied");
    let denied = erin
        .create_user()
        .user_name("other")
        .path("/ops/")
        .send()
        .await;
    assert_eq!(code(denied), "AccessDenied");
    erin.create_user().user_name("other").send().await.unwrap();
    server.stop().await;
}

#[tokio::test]
async fn another_account_uses_a_key_its_policy_shares_and_both_trails_record_it() {
    let server = TestServer::start().await;
    let owner = server.client();
    let (other, other_kms) = server.new_tenant("other").await;
    let owner_root = format!("arn:aws:iam::{ACCOUNT}:root");
    let shared = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"owner","Effect":"Allow","Principal":{{"AWS":"{owner_root}"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"other","Effect":"Allow","Principal":{{"AWS":"{other}"}},"Action":["kms:Encrypt","kms:Decrypt","kms:DescribeKey"],"Resource":"*"}}]}}"#
    );
    let key = owner
        .create_key()
        .policy(shared)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .arn()
        .unwrap()
        .to_owned();
    let private = common::create_key(&owner).await;
    let private = common::arn_of(&owner, &private).await;
    // The other account's admin (allowed kms:* by identity) uses the shared key by its ARN.
    let encrypted = other_kms
        .encrypt()
        .key_id(&key)
        .plaintext(aws_sdk_kms::primitives::Blob::new(b"shared".to_vec()))
        .send()
        .await
        .unwrap();
    let decrypted = other_kms
        .decrypt()
        .key_id(&key)
        .ciphertext_blob(encrypted.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(decrypted.plaintext().unwrap().as_ref(), b"shared");
    // A ciphertext names its key: no KeyId needed, across accounts too.
    let decrypted = other_kms
        .decrypt()
        .ciphertext_blob(encrypted.ciphertext_blob().unwrap().clone())
        .send()
        .await
        .unwrap();
    assert_eq!(decrypted.key_id(), Some(key.as_str()));
    // A ciphertext of a key not shared is refused without saying where the key is.
    let private_ciphertext = owner
        .encrypt()
        .key_id(&private)
        .plaintext(aws_sdk_kms::primitives::Blob::new(b"mine".to_vec()))
        .send()
        .await
        .unwrap();
    let refused = other_kms
        .decrypt()
        .ciphertext_blob(private_ciphertext.ciphertext_blob().unwrap().clone())
        .send()
        .await;
    assert_eq!(
        message(refused),
        format!(
            "User: arn:aws:iam::{other}:user/admin is not authorized to perform: kms:Decrypt on the resource associated with this ciphertext because the resource does not exist in this Region, no resource-based policies allow access, or a resource-based policy explicitly denies access"
        )
    );
    // Not the key whose policy does not name it; never a management operation.
    let denied = encrypt_as(&other_kms, &private).await;
    assert_eq!(
        message(denied),
        format!(
            "User: arn:aws:iam::{other}:user/admin is not authorized to perform: kms:Encrypt on resource: {private} because no resource-based policy allows the kms:Encrypt action"
        )
    );
    let management = other_kms.disable_key().key_id(&key).send().await;
    assert_eq!(code(management), "NotFoundException");
    let not_shared = other_kms
        .generate_data_key()
        .key_id(&key)
        .number_of_bytes(16)
        .send()
        .await;
    assert_eq!(code(not_shared), "AccessDeniedException");

    // The owner's trail has the other account's calls on its key, addressed to the owner.
    let owner_records = common::audit::records(&server, ACCOUNT, common::REGION).await;
    let foreign: Vec<_> = owner_records
        .iter()
        .filter(|r| r.json["userIdentity"]["accountId"] == other.to_string())
        .collect();
    let names: Vec<_> = foreign
        .iter()
        .map(|r| r.json["eventName"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Encrypt") && names.contains(&"Decrypt"),
        "{names:?}"
    );
    assert!(
        foreign
            .iter()
            .all(|r| r.json["recipientAccountId"] == ACCOUNT),
        "delivered to the owner"
    );
    let caller_records = common::audit::records(&server, other.as_str(), common::REGION).await;
    assert!(
        caller_records
            .iter()
            .any(|r| r.json["eventName"] == "Encrypt"
                && r.json["recipientAccountId"] == other.to_string())
    );
    server.stop().await;
}

#[tokio::test]
async fn a_user_made_again_under_a_name_is_not_the_user_a_policy_named() {
    let server = TestServer::start().await;
    let iam = iam(&server, admin());
    let admin_kms = server.client();
    let frank = user(&iam, "frank", None).await;
    let frank_arn = format!("arn:aws:iam::{ACCOUNT}:user/frank");
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{ACCOUNT}:root"}},"Action":"kms:*","Resource":"*"}},{{"Effect":"Allow","Principal":{{"AWS":"{frank_arn}"}},"Action":"kms:DescribeKey","Resource":"*"}}]}}"#
    );
    let key = admin_kms
        .create_key()
        .policy(policy)
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_owned();
    kms(&server, frank.clone())
        .describe_key()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    let role_arn = iam
        .create_role()
        .role_name("frank-role")
        .assume_role_policy_document(trust(&frank_arn))
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_owned();
    sts(&server, frank)
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("old-frank")
        .send()
        .await
        .unwrap();
    // Frank goes; someone makes a new "frank". The key policy named the old one.
    let keys = iam
        .list_access_keys()
        .user_name("frank")
        .send()
        .await
        .unwrap();
    for k in keys.access_key_metadata() {
        iam.delete_access_key()
            .user_name("frank")
            .access_key_id(k.access_key_id().unwrap())
            .send()
            .await
            .unwrap();
    }
    iam.delete_user().user_name("frank").send().await.unwrap();
    let impostor = user(&iam, "frank", None).await;
    let denied = kms(&server, impostor.clone())
        .describe_key()
        .key_id(&key)
        .send()
        .await;
    assert_eq!(code(denied), "AccessDeniedException");
    // A trust policy too: the new frank may not assume a role that trusted the old one.
    let denied = sts(&server, impostor)
        .assume_role()
        .role_arn(&role_arn)
        .role_session_name("new-frank")
        .send()
        .await;
    assert_eq!(code(denied), "AccessDenied");
    server.stop().await;
}
