//! Measures what the audit trail costs: Encrypt (1 KiB, a two-pair encryption context) through
//! two servers in one process, one recording every call (durable before the answer, group
//! commit) and one started with the benchmark-only switch that records nothing. Rounds
//! alternate between them so both see the same machine noise; medians are reported.
//!
//!     cargo run --release --example audit_overhead [-- REQUESTS CONCURRENCY ROUNDS]
//!
//! CPU per request is the whole process's (client and both servers), so it compares the two
//! modes rather than measuring the server alone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/mod.rs"]
mod support;

use std::sync::Arc;

use aws_sdk_kms::Client;
use aws_sdk_kms::primitives::Blob;

#[tokio::main]
async fn main() {
    let [requests, concurrency, rounds] = support::numbers([20_000, 32, 5]);
    let audited = support::start(true).await;
    let unaudited = support::start(false).await;
    if let Ok(only) = std::env::var("AUDIT_OVERHEAD_ONLY") {
        // For profiling one mode at a time: `on` or `off`.
        let client = if only == "on" {
            &audited.client
        } else {
            &unaudited.client
        };
        let cpu = support::cpu_seconds();
        let rate = encrypt_rate(client, requests, concurrency).await;
        let per_request = (support::cpu_seconds() - cpu) / requests as f64 * 1e6;
        println!("audit {only}: {rate:.0} req/s ({per_request:.0} us CPU/req)");
        return;
    }
    println!(
        "Encrypt 1 KiB, requests={requests} concurrency={concurrency} rounds={rounds}, machine: {}",
        support::machine()
    );
    let mut on = Vec::new();
    let mut off = Vec::new();
    for round in 0..rounds {
        let cpu = support::cpu_seconds();
        let with = encrypt_rate(&audited.client, requests, concurrency).await;
        let cpu_with = (support::cpu_seconds() - cpu) / requests as f64 * 1e6;
        let cpu = support::cpu_seconds();
        let without = encrypt_rate(&unaudited.client, requests, concurrency).await;
        let cpu_without = (support::cpu_seconds() - cpu) / requests as f64 * 1e6;
        println!(
            "round {round}: audit on {with:>8.0} req/s ({cpu_with:.0} us CPU/req), off {without:>8.0} req/s ({cpu_without:.0} us CPU/req), ratio {:.3}",
            with / without
        );
        on.push(with);
        off.push(without);
    }
    let (on, off) = (median(on), median(off));
    println!(
        "median: audit on {on:.0} req/s, off {off:.0} req/s, on/off = {:.3} (target >= 0.85)",
        on / off
    );
}

async fn encrypt_rate(client: &Client, requests: usize, concurrency: usize) -> f64 {
    let key = client.create_key().send().await.unwrap();
    let key = Arc::new(key.key_metadata().unwrap().key_id().to_owned());
    let plaintext = Blob::new(vec![7u8; 1024]);
    let client = client.clone();
    support::throughput(requests, concurrency, move || {
        let (client, key, plaintext) = (client.clone(), Arc::clone(&key), plaintext.clone());
        async move {
            client
                .encrypt()
                .key_id(key.as_str())
                .plaintext(plaintext)
                .encryption_context("tenant", "bench")
                .encryption_context("purpose", "audit-overhead")
                .send()
                .await
                .unwrap();
        }
    })
    .await
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
