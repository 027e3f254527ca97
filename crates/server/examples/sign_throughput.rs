//! Measures Sign and Verify throughput through the server (HTTP, SigV4, aws-sdk-kms client on
//! the same machine) for RSA-2048, P-256 and Ed25519 keys.
//!
//!     cargo run --release --example sign_throughput [-- REQUESTS CONCURRENCY]
//!
//! Prints one line per key spec and operation. The client shares the CPU with the server, so
//! the numbers are a floor for the server alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{KeySpec, KeyUsageType, SigningAlgorithmSpec};

#[tokio::main]
async fn main() {
    let [requests, concurrency] = support::numbers([2000, 16]);
    let bench = support::start(true).await;
    let client = bench.client.clone();
    println!(
        "requests={requests} concurrency={concurrency} machine: {}",
        support::machine()
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
            let (client, key, algorithm, signature) = (
                client.clone(),
                Arc::clone(&key),
                algorithm.clone(),
                signature.clone(),
            );
            let rate = support::throughput(requests, concurrency, move || {
                let (client, key, algorithm, signature) = (
                    client.clone(),
                    Arc::clone(&key),
                    algorithm.clone(),
                    signature.clone(),
                );
                async move {
                    let message = Blob::new("benchmark message");
                    if operation == "sign" {
                        client
                            .sign()
                            .key_id(key.as_str())
                            .message(message)
                            .signing_algorithm(algorithm)
                            .send()
                            .await
                            .unwrap();
                    } else {
                        client
                            .verify()
                            .key_id(key.as_str())
                            .message(message)
                            .signature(signature)
                            .signing_algorithm(algorithm)
                            .send()
                            .await
                            .unwrap();
                    }
                }
            })
            .await;
            println!("{:<22} {:<6} {rate:>8.0} ops/s", spec.as_str(), operation);
        }
    }
}
