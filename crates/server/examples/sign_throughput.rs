//! Measures Sign and Verify throughput through the server (HTTP, SigV4, aws-sdk-kms client on
//! the same machine) for RSA-2048, P-256 and Ed25519 keys.
//!
//!     cargo run --release --example sign_throughput [-- REQUESTS CONCURRENCY]
//!
//! Prints one line per key spec and operation. The client shares the CPU with the server, so
//! the numbers are a floor for the server alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use aws_sdk_kms::Client;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, SigningAlgorithmSpec};
use strongbox::config::ServeConfig;
use strongbox::datadir::Bootstrap;
use strongbox_core::model::{AccessKeyId, AccountId};
use strongbox_crypto::SecretBytes;

const ACCESS_KEY: &str = "AKIABENCHBENCHBENCH1";
const SECRET: &str = "bench/secret/key/that/is/forty/chars/lo";

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().unwrap())
        .collect();
    let requests = args.first().copied().unwrap_or(2000);
    let concurrency = args.get(1).copied().unwrap_or(16);
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let config = ServeConfig {
        listen: address,
        data_dir: dir.path().join("data"),
        regions: vec![strongbox_core::model::Region::parse("us-east-1").unwrap()],
        store: format!(
            "sqlite://{}",
            dir.path().join("data/strongbox.db").display()
        ),
        bootstrap: Bootstrap {
            account: AccountId::parse("111122223333").unwrap(),
            fixed_key: Some((
                AccessKeyId::parse(ACCESS_KEY).unwrap(),
                SecretBytes::new(SECRET.as_bytes().to_vec()),
            )),
        },
        body_read_timeout: strongbox::http::BODY_READ_TIMEOUT,
        scheduler_interval: std::time::Duration::from_secs(60),
        on_demand_rotation_limit: 25,
        dev_clock: false,
        audit_retention: None,
        audit: true,
    };
    tokio::spawn(strongbox::app::run(
        config,
        listener,
        std::future::pending(),
    ));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let client = Client::from_conf(
        aws_sdk_kms::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(format!("http://{address}"))
            .credentials_provider(Credentials::new(ACCESS_KEY, SECRET, None, None, "bench"))
            .build(),
    );
    println!(
        "requests={requests} concurrency={concurrency} machine: {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for (spec, algorithm) in [
        (KeySpec::Rsa2048, SigningAlgorithmSpec::RsassaPssSha256),
        (KeySpec::EccNistP256, SigningAlgorithmSpec::EcdsaSha256),
        (
            KeySpec::EccNistEdwards25519,
            SigningAlgorithmSpec::Ed25519Sha512,
        ),
    ] {
        let key = client
            .create_key()
            .key_spec(spec.clone())
            .key_usage(KeyUsageType::SignVerify)
            .send()
            .await
            .unwrap();
        let key = Arc::new(key.key_metadata().unwrap().key_id().to_owned());
        let signature = client
            .sign()
            .key_id(key.as_str())
            .message(Blob::new("benchmark message"))
            .signing_algorithm(algorithm.clone())
            .send()
            .await
            .unwrap()
            .signature()
            .unwrap()
            .clone();
        for operation in ["sign", "verify"] {
            let started = Instant::now();
            let mut tasks = Vec::new();
            for worker in 0..concurrency {
                let (client, key, algorithm, signature) = (
                    client.clone(),
                    Arc::clone(&key),
                    algorithm.clone(),
                    signature.clone(),
                );
                let count = requests / concurrency + usize::from(worker < requests % concurrency);
                tasks.push(tokio::spawn(async move {
                    for _ in 0..count {
                        let message = Blob::new("benchmark message");
                        if operation == "sign" {
                            client
                                .sign()
                                .key_id(key.as_str())
                                .message(message)
                                .signing_algorithm(algorithm.clone())
                                .send()
                                .await
                                .unwrap();
                        } else {
                            client
                                .verify()
                                .key_id(key.as_str())
                                .message(message)
                                .signature(signature.clone())
                                .signing_algorithm(algorithm.clone())
                                .send()
                                .await
                                .unwrap();
                        }
                    }
                }));
            }
            for task in tasks {
                task.await.unwrap();
            }
            let seconds = started.elapsed().as_secs_f64();
            println!(
                "{:<22} {:<6} {:>8.0} ops/s",
                spec.as_str(),
                operation,
                requests as f64 / seconds
            );
        }
    }
}
