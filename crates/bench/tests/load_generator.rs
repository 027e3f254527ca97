//! `strongbox-bench` as a user runs it: the real binary against an in-process Strongbox, the
//! bare-HTTP baseline, a fake KMS that answers wrongly, and nothing at all.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: a panic is the report"
)]

use std::net::SocketAddr;
use std::process::Output;

const ACCESS_KEY: &str = "AKIABENCHTESTBENCHT1";
const SECRET: &str = "bench/test/secret/that/is/forty/chars/xx";

/// A Strongbox on a fresh data directory; stops when the test's runtime ends.
async fn strongbox() -> (SocketAddr, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let config =
        strongbox::config::local(address, dir.path().join("data"), ACCESS_KEY, SECRET).unwrap();
    tokio::spawn(strongbox::app::run(
        config,
        listener,
        std::future::pending(),
    ));
    wait_for(address).await;
    (address, dir)
}

/// A server for `router` on a free port.
async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    address
}

async fn wait_for(address: SocketAddr) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("nothing listens on {address}");
}

/// Runs the binary for a short measured second with the test credentials.
async fn bench(address: SocketAddr, args: &[&str]) -> Output {
    bench_as(address, ACCESS_KEY, args).await
}

async fn bench_as(address: SocketAddr, access_key: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_strongbox-bench"))
        .args(["--endpoint", &format!("http://{address}")])
        .args(["--duration", "1s", "--warmup", "200ms", "--quiet"])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", access_key)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_REGION")
        .output()
        .await
        .unwrap()
}

/// The final JSON line of a run.
fn summary(output: &Output) -> serde_json::Value {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(line).unwrap_or_else(|err| {
        panic!(
            "no JSON line ({err}): stdout {stdout}, stderr {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_workload_runs_against_strongbox_and_checks_its_answers() {
    let (address, _dir) = strongbox().await;
    for op in [
        "encrypt",
        "decrypt",
        "generate-data-key",
        "generate-data-key-without-plaintext",
        "describe-key",
        "sign",
        "mixed",
        "decrypt-forged",
    ] {
        let output = bench(
            address,
            &[
                "--op",
                op,
                "--concurrency",
                "4",
                "--keys",
                "3",
                "--check-every",
                "5",
            ],
        )
        .await;
        assert!(output.status.success(), "{op}: {}", stderr(&output));
        let summary = summary(&output);
        assert_eq!(summary["op"], op);
        assert_eq!(summary["concurrency"], 4);
        assert_eq!(summary["keys"], 3);
        assert_eq!(summary["errors"], 0, "{op}");
        let requests = summary["requests"].as_u64().unwrap();
        assert!(requests > 20, "{op}: {requests} requests");
        let rate = summary["req_per_s"].as_f64().unwrap();
        assert!(
            (rate - requests as f64).abs() < 1.0,
            "{op}: 1 s measured, {rate} req/s"
        );
        // Every fifth answer per worker was undone by a second call (decrypted, verified).
        let checked = summary["checked"].as_u64().unwrap();
        match op {
            // Answers compared with what is known; nothing to undo with a second call.
            // (A forged ciphertext's answer must be AccessDeniedException, or it counts as an
            // error.)
            "decrypt" | "describe-key" | "decrypt-forged" => assert_eq!(checked, 0, "{op}"),
            // Only the encrypt and generate-data-key share of the calls can be undone.
            "mixed" => assert!(checked > 0, "{op}"),
            _ => assert!(checked >= requests / 5 - 4, "{op}: {checked} of {requests}"),
        }
        let (p50, p99, max) = (
            summary["p50_ms"].as_f64().unwrap(),
            summary["p99_ms"].as_f64().unwrap(),
            summary["max_ms"].as_f64().unwrap(),
        );
        assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{op}: {summary}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_cpu_per_request_is_read_when_its_pid_is_given() {
    let (address, _dir) = strongbox().await;
    let pid = std::process::id().to_string();
    let output = bench(address, &["--concurrency", "2", "--server-pid", &pid]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let with_pid = summary(&output);
    // The server runs in this test's process, so its CPU time is this process's.
    assert!(with_pid["server_cpu_us_per_request"].as_f64().unwrap() > 0.0);
    assert!(with_pid["client_cpu_us_per_request"].as_f64().unwrap() > 0.0);
    let without = bench(address, &["--concurrency", "2"]).await;
    assert!(summary(&without)["server_cpu_us_per_request"].is_null());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn existing_keys_are_used_instead_of_new_ones() {
    let (address, _dir) = strongbox().await;
    let first = bench(address, &["--op", "describe-key", "--concurrency", "1"]).await;
    assert!(first.status.success(), "{}", stderr(&first));
    let output = bench(
        address,
        &[
            "--op",
            "encrypt",
            "--key-id",
            "alias/missing",
            "--concurrency",
            "1",
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("NotFoundException"),
        "{}",
        stderr(&output)
    );
}

/// How many keys the default account has in us-east-1, read from the server's store.
async fn stored_keys(dir: &tempfile::TempDir) -> usize {
    use strongbox_core::PageRequest;
    use strongbox_core::model::{AccountId, Region};
    let url = format!(
        "sqlite://{}",
        dir.path().join("data/strongbox.db").display()
    );
    let store = strongbox_store::open(&strongbox_store::Engine::parse(&url).unwrap())
        .await
        .unwrap();
    let page = PageRequest {
        limit: 1000,
        after: None,
    };
    let (account, region) = (
        AccountId::parse("111122223333").unwrap(),
        Region::parse("us-east-1").unwrap(),
    );
    store
        .list_keys(&account, &region, &page)
        .await
        .unwrap()
        .items
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seeded_store_serves_later_runs_and_every_key_can_be_touched_first() {
    let (address, dir) = strongbox().await;
    let seed = bench(address, &["--op", "describe-key", "--keys", "3"]).await;
    assert!(seed.status.success(), "{}", stderr(&seed));
    assert_eq!(stored_keys(&dir).await, 3);
    for op in ["encrypt", "decrypt"] {
        let output = bench(
            address,
            &[
                "--op",
                op,
                "--existing-keys",
                "--keys",
                "5",
                "--touch-each-key",
                "--concurrency",
                "2",
            ],
        )
        .await;
        assert!(output.status.success(), "{op}: {}", stderr(&output));
        let summary = summary(&output);
        assert_eq!(summary["keys"], 5, "{op}");
        assert_eq!(summary["errors"], 0, "{op}");
        assert!(summary["first_touch_per_s"].as_f64().unwrap() > 0.0, "{op}");
        assert!(stderr(&output).contains("called once with each of 5 keys"));
        // The three seeded keys were taken; only two were created, by the first run.
        assert_eq!(stored_keys(&dir).await, 5, "{op}");
    }
    let untouched = bench(address, &["--existing-keys", "--keys", "2"]).await;
    assert!(summary(&untouched)["first_touch_per_s"].is_null());
    assert_eq!(stored_keys(&dir).await, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_baseline_is_measured_with_the_same_requests() {
    let address = serve(strongbox_bench::baseline::router()).await;
    let output = bench(
        address,
        &["--baseline", "--op", "mixed", "--concurrency", "4"],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let summary = summary(&output);
    assert_eq!(summary["errors"], 0);
    assert!(summary["requests"].as_u64().unwrap() > 20);
    assert_eq!(
        summary["checked"], 0,
        "nothing can be undone on the baseline"
    );
    // Without --baseline its answers are not KMS answers: the setup says so.
    let output = bench(address, &["--concurrency", "1"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("setup failed"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_reported_and_fails_the_run() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let output = bench(address, &[]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains(&format!("cannot connect to {address}")),
        "{}",
        stderr(&output)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_credentials_fail_the_setup_with_the_servers_error() {
    let (address, _dir) = strongbox().await;
    let output = bench_as(address, "AKIAUNKNOWNUNKNOWN12", &["--concurrency", "1"]).await;
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("UnrecognizedClientException"),
        "{}",
        stderr(&output)
    );
}

/// A fake KMS that creates keys and encrypts (refusing every tenth Encrypt after the first when
/// `throttle` is set), and answers every Decrypt with `decrypt`.
fn fake_kms(throttle: bool, decrypt: (axum::http::StatusCode, &'static str)) -> axum::Router {
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};
    let encrypts = Arc::new(AtomicU64::new(0));
    axum::Router::new().route(
        "/",
        axum::routing::post(move |headers: HeaderMap| {
            let encrypts = Arc::clone(&encrypts);
            async move {
                let target = headers["x-amz-target"].to_str().unwrap().to_owned();
                match target.as_str() {
                    "TrentService.CreateKey" => (
                        StatusCode::OK,
                        r#"{"KeyMetadata":{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab"}}"#,
                    ),
                    // The setup's own Encrypt is call 0: never refused.
                    "TrentService.Encrypt"
                        if throttle && encrypts.fetch_add(1, Ordering::Relaxed) % 10 == 9 =>
                    {
                        (
                            StatusCode::BAD_REQUEST,
                            r#"{"__type":"ThrottlingException","message":"slow down"}"#,
                        )
                    }
                    "TrentService.Encrypt" => {
                        (StatusCode::OK, r#"{"CiphertextBlob":"AAAA","KeyId":"k"}"#)
                    }
                    _ => decrypt,
                }
            }
        }),
    )
}

/// A Decrypt answer with the same wrong plaintext ("wrong") whatever was encrypted.
const WRONG_PLAINTEXT: (axum::http::StatusCode, &str) =
    (axum::http::StatusCode::OK, r#"{"Plaintext":"d3Jvbmc="}"#);

/// Decrypts everything to the same wrong plaintext.
fn lying_kms() -> axum::Router {
    fake_kms(false, WRONG_PLAINTEXT)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_plaintext_fails_the_run_and_is_named() {
    let address = serve(lying_kms()).await;
    let output = bench(address, &["--op", "decrypt", "--concurrency", "2"]).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Decrypt: wrong answer: the plaintext differs"),
        "{}",
        stderr(&output)
    );
    assert!(summary(&output)["wrong_answers"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_than_one_percent_errors_fail_the_run() {
    let address = serve(fake_kms(true, WRONG_PLAINTEXT)).await;
    // Encrypt answers are not undone (no deep check), so only the refusals count.
    let output = bench(
        address,
        &[
            "--op",
            "encrypt",
            "--concurrency",
            "2",
            "--check-every",
            "0",
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let summary = summary(&output);
    let (errors, requests) = (
        summary["errors"].as_u64().unwrap(),
        summary["requests"].as_u64().unwrap(),
    );
    assert!(
        errors * 12 > requests && errors * 8 < requests,
        "{errors} of {requests}"
    );
    assert!(
        stderr(&output).contains("Encrypt: HTTP 400 ThrottlingException"),
        "{}",
        stderr(&output)
    );
}

/// An HTTP/1.1 server that answers one request per connection, then closes it, as moto's
/// development server does.
async fn one_request_per_connection() -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buffer = [0_u8; 4096];
                // Headers, then as many body bytes as Content-Length says.
                loop {
                    let read = stream.read(&mut buffer).await.unwrap_or(0);
                    if read == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..read]);
                    let text = String::from_utf8_lossy(&request).to_lowercase();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length: usize = text
                            .lines()
                            .find_map(|line| line.strip_prefix("content-length:"))
                            .map_or(0, |value| value.trim().parse().unwrap());
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                let body = r#"{"ok":true}"#;
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    address
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_keep_alive_is_measured_over_new_connections() {
    let address = one_request_per_connection().await;
    let output = bench(address, &["--baseline", "--concurrency", "2"]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let summary = summary(&output);
    assert_eq!(summary["errors"], 0);
    assert!(summary["requests"].as_u64().unwrap() > 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ciphertext_that_cannot_be_decrypted_is_a_wrong_answer() {
    let address = serve(fake_kms(
        false,
        (
            axum::http::StatusCode::BAD_REQUEST,
            r#"{"__type":"InvalidCiphertextException","message":"no"}"#,
        ),
    ))
    .await;
    // Every 50th Encrypt answer is undone by a Decrypt, which the server refuses.
    let output = bench(
        address,
        &[
            "--op",
            "encrypt",
            "--concurrency",
            "1",
            "--check-every",
            "50",
        ],
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Encrypt: wrong answer: the answer cannot be undone"),
        "{}",
        stderr(&output)
    );
    assert!(summary(&output)["wrong_answers"].as_u64().unwrap() > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_times_out_and_fails_the_run() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let output = bench(
        address,
        &["--baseline", "--concurrency", "1", "--timeout", "200ms"],
    )
    .await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("no answer within 0.2 s"),
        "{}",
        stderr(&output)
    );
}
