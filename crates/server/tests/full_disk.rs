//! A full disk, for real: the data directory on a small tmpfs. Before it fills, the server says
//! it is degraded (`/health`), not ready (`/ready`, naming the disk) and measures the free
//! space (`/metrics`), and still answers. Once full, calls fail with a `KMSInternalException`
//! that says the storage is full, the log does not grow with every failure, and the server
//! recovers by itself when space returns. Needs `mount` (root); skipped, saying why, elsewhere.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use aws_sdk_kms::primitives::Blob;
use common::{process, raw};

/// A tmpfs mounted at a path, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Result<Self, String> {
        std::fs::create_dir_all(at).unwrap();
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .output()
            .map_err(|error| format!("cannot run mount: {error}"))?;
        if output.status.success() {
            Ok(Self(at.to_owned()))
        } else {
            Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn free_bytes(path: &Path) -> u64 {
    let stats = rustix::fs::statvfs(path).unwrap();
    stats.f_bavail * stats.f_frsize
}

/// Writes `bytes` of filler (or until the disk is full) into `path`.
fn fill(path: &Path, bytes: u64) {
    let mut file = std::fs::File::create(path).unwrap();
    let chunk = vec![0x5a_u8; 64 * 1024];
    let mut written = 0;
    while written < bytes {
        match file.write_all(&chunk) {
            Ok(()) => written += chunk.len() as u64,
            Err(_) => break,
        }
    }
    let _ = file.sync_all();
}

async fn get(address: std::net::SocketAddr, path: &str) -> (u16, String) {
    let response = raw::send(address, &raw::get(path)).await.unwrap();
    (
        response.status,
        String::from_utf8_lossy(&response.body).into_owned(),
    )
}

#[tokio::test]
async fn a_full_disk_is_reported_refused_clearly_and_recovered_from() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let _tmpfs = match Tmpfs::mount(&data, "32m") {
        Ok(tmpfs) => tmpfs,
        Err(why) => {
            println!(
                "SKIPPED: a full disk needs a small filesystem to fill, and mount failed: {why}"
            );
            return;
        }
    };
    let server = process::start(
        dir.path(),
        process::free_port(),
        &["--disk-watermark", "8MiB"],
    )
    .await;
    let client = process::client(server.address);
    let key = common::create_key(&client).await;
    assert_eq!(get(server.address, "/ready").await.0, 200);

    // Below the watermark: degraded and not ready, but still answering.
    let filler = data.join("filler");
    fill(&filler, free_bytes(&data).saturating_sub(6 << 20));
    let (status, body) = get(server.address, "/health").await;
    assert_eq!(status, 200, "alive: {body}");
    assert!(body.contains("degraded") && body.contains("disk"), "{body}");
    let (status, body) = get(server.address, "/ready").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains(r#""check":"disk""#), "{body}");
    let (_, metrics) = get(server.address, "/metrics").await;
    assert!(
        metrics.contains("strongbox_data_dir_free_bytes"),
        "{metrics}"
    );
    client
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("still working"))
        .send()
        .await
        .unwrap();

    // Full: writes fail with a message that says why, and keep failing alike.
    fill(&data.join("filler-2"), u64::MAX);
    let mut failures = 0;
    for _ in 0..3000 {
        match client.create_key().send().await {
            Ok(_) => assert_eq!(failures, 0, "once full, every write fails"),
            Err(error) => {
                let service = error.into_service_error();
                let message = aws_sdk_kms::error::ProvideErrorMetadata::message(&service)
                    .unwrap_or_default()
                    .to_owned();
                assert_eq!(
                    aws_sdk_kms::error::ProvideErrorMetadata::code(&service),
                    Some("KMSInternalException")
                );
                assert!(message.contains("storage is full"), "{message}");
                failures += 1;
                if failures == 200 {
                    break;
                }
            }
        }
    }
    assert_eq!(failures, 200, "the disk filled");
    let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
    let lines = log
        .lines()
        .filter(|line| line.contains("WARN") || line.contains("ERROR"))
        .count();
    assert!(
        lines < 40,
        "200 failing calls wrote {lines} warning lines:\n{log}"
    );

    // Space returns: the server recovers by itself.
    std::fs::remove_file(&filler).unwrap();
    std::fs::remove_file(data.join("filler-2")).unwrap();
    let mut recovered = false;
    for _ in 0..50 {
        if client.create_key().send().await.is_ok() {
            recovered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(recovered, "writes succeed again once there is space");
    let (status, body) = get(server.address, "/ready").await;
    assert_eq!(status, 200, "{body}");
    let back = client
        .encrypt()
        .key_id(&key)
        .plaintext(Blob::new("after"))
        .send()
        .await
        .unwrap();
    assert!(back.ciphertext_blob().is_some());
}
