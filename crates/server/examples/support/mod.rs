//! What the throughput examples share: an in-process server on a fresh data directory, a
//! client for it, and a timed run of concurrent workers.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Instant;

use aws_sdk_kms::Client;
use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};

const ACCESS_KEY: &str = "AKIABENCHBENCHBENCH1";
const SECRET: &str = "bench/secret/key/that/is/forty/chars/lo";

/// A running server; its data directory lives as long as this value.
pub struct Bench {
    pub address: SocketAddr,
    pub client: Client,
    _dir: tempfile::TempDir,
}

/// Starts a server (audit trail on or off) and returns a client for it.
pub async fn start(audit: bool) -> Bench {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let mut config =
        strongbox::config::local(address, dir.path().join("data"), ACCESS_KEY, SECRET).unwrap();
    config.audit = audit;
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
    Bench {
        address,
        client,
        _dir: dir,
    }
}

/// Runs `requests` calls of `call` over `concurrency` workers and returns calls per second.
pub async fn throughput<F, Fut>(requests: usize, concurrency: usize, call: F) -> f64
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let call = call.clone();
        let count = requests / concurrency + usize::from(worker < requests % concurrency);
        tasks.push(tokio::spawn(async move {
            for _ in 0..count {
                call().await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    requests as f64 / started.elapsed().as_secs_f64()
}

/// The numeric command-line arguments, or the defaults where one is missing.
pub fn numbers<const N: usize>(defaults: [usize; N]) -> [usize; N] {
    let given: Vec<usize> = std::env::args()
        .skip(1)
        .map(|argument| {
            argument
                .parse()
                .unwrap_or_else(|_| panic!("'{argument}' is not a number"))
        })
        .collect();
    let mut numbers = defaults;
    for (slot, value) in numbers.iter_mut().zip(given) {
        *slot = value;
    }
    numbers
}

/// The machine, for the first line of every report.
pub fn machine() -> String {
    format!(
        "{} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    )
}

/// CPU time (user + system) this process has used so far, from `/proc/self/stat`; zero where
/// that file does not exist.
pub fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&index| fields.get(index)?.parse::<f64>().ok())
        .sum();
    // USER_HZ is 100 on Linux.
    ticks / 100.0
}
