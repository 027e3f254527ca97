//! IAM and STS clients (the official `aws-sdk-iam` and `aws-sdk-sts` crates) for the test
//! server, and helpers to make users, roles and sessions.

use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};

use super::{ACCESS_KEY, REGION, SECRET, TestServer};

/// An IAM client with `credentials`.
pub fn iam(server: &TestServer, credentials: Credentials) -> aws_sdk_iam::Client {
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(&server.endpoint)
        .credentials_provider(credentials)
        .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

/// An STS client with `credentials`.
pub fn sts(server: &TestServer, credentials: Credentials) -> aws_sdk_sts::Client {
    let config = aws_sdk_sts::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(&server.endpoint)
        .credentials_provider(credentials)
        .retry_config(aws_sdk_sts::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_sts::Client::from_conf(config)
}

/// A KMS client with `credentials`.
pub fn kms(server: &TestServer, credentials: Credentials) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::from_conf(super::sdk_config(&server.endpoint, credentials, REGION).build())
}

/// The bootstrap account's administrator.
pub fn admin() -> Credentials {
    Credentials::new(ACCESS_KEY, SECRET, None, None, "test")
}

/// Creates a user with an inline policy (when given) and an access key; its credentials.
pub async fn user(iam: &aws_sdk_iam::Client, name: &str, policy: Option<&str>) -> Credentials {
    iam.create_user().user_name(name).send().await.unwrap();
    if let Some(policy) = policy {
        iam.put_user_policy()
            .user_name(name)
            .policy_name("inline")
            .policy_document(policy)
            .send()
            .await
            .unwrap();
    }
    let key = iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    Credentials::new(
        key.access_key_id(),
        key.secret_access_key(),
        None,
        None,
        "test",
    )
}

/// Session credentials of an assumed role.
pub fn session(credentials: &aws_sdk_sts::types::Credentials) -> Credentials {
    Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key(),
        Some(credentials.session_token().to_owned()),
        None,
        "test",
    )
}

/// A one-statement identity policy allowing `actions` on everything.
pub fn allow(actions: &[&str]) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]
    })
    .to_string()
}

/// Encrypt of a one-byte plaintext under `key`, as `client`: the call whose answer tests check.
pub async fn encrypt_as(
    client: &aws_sdk_kms::Client,
    key: &str,
) -> Result<
    aws_sdk_kms::operation::encrypt::EncryptOutput,
    aws_smithy_runtime_api::client::result::SdkError<
        aws_sdk_kms::operation::encrypt::EncryptError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
> {
    client
        .encrypt()
        .key_id(key)
        .plaintext(aws_sdk_kms::primitives::Blob::new(b"x".to_vec()))
        .send()
        .await
}
