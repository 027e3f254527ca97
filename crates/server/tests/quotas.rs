//! Per-account request quotas through the SDK: an account over its quota gets AWS's
//! `ThrottlingException` (HTTP 400, which the AWS SDKs retry), its other categories and other
//! accounts go on unthrottled, throttled calls are counted and not recorded, and a quota table
//! in the configuration file is checked at start.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_kms::primitives::Blob;
use common::{ACCOUNT, REGION, TestServer, raw};
use strongbox::quota::{QuotaConfig, THROTTLED_MESSAGE};

/// Runs the futures concurrently and returns their outputs in order.
async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(tasks.len());
    for task in tasks {
        outputs.push(task.await.unwrap());
    }
    outputs
}

fn quotas(table: &str) -> QuotaConfig {
    toml::from_str(table).unwrap()
}

#[tokio::test]
async fn an_account_over_its_quota_is_throttled_alone() {
    let server = TestServer::start_with(|config| {
        config.quotas = quotas(&format!(
            "[accounts.\"{ACCOUNT}\"]\nCreateKey = 3\ncryptographic-symmetric = 1000"
        ));
    })
    .await;
    let busy = server.client();
    let (_, other) = server.new_tenant("other").await;
    let mut created = 0;
    let mut throttled = Vec::new();
    // At once, so that the bucket (3 a second) barely refills while they are decided.
    let calls = (0..10).map(|_| busy.create_key().send());
    for result in futures_join_all(calls).await {
        match result {
            Ok(_) => created += 1,
            Err(error) => {
                let error = error.into_service_error();
                use aws_sdk_kms::error::ProvideErrorMetadata;
                throttled.push((
                    error.code().unwrap_or_default().to_owned(),
                    error.message().unwrap_or_default().to_owned(),
                ));
            }
        }
    }
    // A burst of the rate, and at most one more token if a third of a second went by.
    assert!((3..=4).contains(&created), "{created} admitted");
    assert_eq!(throttled.len(), 10 - created);
    assert!(
        throttled
            .iter()
            .all(|(code, message)| code == "ThrottlingException" && message == THROTTLED_MESSAGE),
        "{throttled:?}"
    );
    // Other categories of the same account, and other accounts, are not throttled.
    let key = common::create_key(&other).await;
    for _ in 0..20 {
        other.create_key().send().await.unwrap();
    }
    let own_key = busy.list_keys().send().await.unwrap().keys()[0]
        .key_id()
        .unwrap()
        .to_owned();
    for _ in 0..20 {
        busy.encrypt()
            .key_id(&own_key)
            .plaintext(Blob::new("x"))
            .send()
            .await
            .unwrap();
    }
    assert!(!key.is_empty());

    // Counted in the metrics, and not recorded in the audit trail.
    let metrics = raw::send(server.address, &raw::get("/metrics"))
        .await
        .unwrap();
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(
        text.contains(&format!(
            r#"strongbox_throttled_total{{account="{ACCOUNT}",category="CreateKey"}}"#
        )),
        "{text}"
    );
    let records = common::audit::records(&server, ACCOUNT, REGION).await;
    let creates = records
        .iter()
        .filter(|record| record.json["eventName"] == "CreateKey")
        .count();
    assert_eq!(
        creates, created,
        "only the admitted CreateKey calls are recorded"
    );
    assert!(
        records
            .iter()
            .all(|record| record.json["errorCode"] != "ThrottlingException")
    );
    server.stop().await;
}

#[tokio::test]
async fn a_throttled_call_is_retried_by_the_sdk_until_it_is_admitted() {
    let server = TestServer::start_with(|config| {
        config.quotas = quotas(&format!("[accounts.\"{ACCOUNT}\"]\nDescribeKey = 1"));
    })
    .await;
    let credentials = aws_sdk_kms::config::Credentials::new(
        common::ACCESS_KEY,
        common::SECRET,
        None,
        None,
        "test",
    );
    let retrying = aws_sdk_kms::Client::from_conf(
        common::sdk_config(&server.endpoint, credentials, REGION)
            .retry_config(aws_sdk_kms::config::retry::RetryConfig::standard().with_max_attempts(10))
            .build(),
    );
    let key = common::create_key(&server.client()).await;
    for _ in 0..3 {
        retrying.describe_key().key_id(&key).send().await.unwrap();
    }
    server.stop().await;
}

#[test]
fn a_bad_quota_table_stops_the_start_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("strongbox.toml");
    std::fs::write(&config, "[quotas.accounts.\"111122223333\"]\nEncrypt = 5\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_strongbox"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unknown category 'Encrypt'"), "{stderr}");
}
