//! The real `strongbox` binary as a child process, for tests that kill it with SIGKILL.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use aws_sdk_kms::Client;
use tokio::process::{Child, Command};

use super::{ACCESS_KEY, REGION, SECRET, raw};

/// A running `strongbox serve`; killed when dropped.
pub struct Server {
    pub child: Child,
    pub address: std::net::SocketAddr,
}

/// Starts `strongbox serve` on `port` with its data directory in `dir/data` and its log in
/// `dir/server.log`, plus `extra` flags, and waits until it is healthy.
pub async fn start(dir: &Path, port: u16, extra: &[&str]) -> Server {
    start_with_env(dir, port, extra, &[]).await
}

/// [`start`] with extra environment variables.
pub async fn start_with_env(dir: &Path, port: u16, extra: &[&str], env: &[(&str, &str)]) -> Server {
    let server = spawn(dir, port, extra, env);
    wait_healthy(&server, dir).await;
    server
}

/// [`spawn`] with `stdin` written to the server's standard input.
pub fn spawn_with_stdin(
    dir: &Path,
    port: u16,
    extra: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
) -> Server {
    let mut server = spawn_configured(dir, port, extra, env, Stdio::piped());
    let mut input = server.child.stdin.take().unwrap();
    let text = stdin.to_owned();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let _ = input.write_all(text.as_bytes()).await;
    });
    server
}

/// Waits until `server` answers `/health` (it does while sealed too).
pub async fn wait_healthy(server: &Server, dir: &Path) {
    for _ in 0..400 {
        if let Ok(response) = raw::send(server.address, &raw::get("/health")).await
            && response.status == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "server did not start; see {}",
        dir.join("server.log").display()
    );
}

/// Starts `strongbox serve` as [`start`] does, without waiting for it (a TLS listener does
/// not answer the plain `/health` probe).
pub fn spawn(dir: &Path, port: u16, extra: &[&str], env: &[(&str, &str)]) -> Server {
    spawn_configured(dir, port, extra, env, Stdio::null())
}

fn spawn_configured(
    dir: &Path,
    port: u16,
    extra: &[&str],
    env: &[(&str, &str)],
    stdin: Stdio,
) -> Server {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("server.log"))
        .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_strongbox"))
        .arg("serve")
        .args(extra)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("STRONGBOX_BOOTSTRAP_ACCESS_KEY_ID", ACCESS_KEY)
        .env("STRONGBOX_BOOTSTRAP_SECRET_ACCESS_KEY", SECRET)
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(stdin)
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let address = format!("127.0.0.1:{port}").parse().unwrap();
    Server { child, address }
}

/// A client of the bootstrap account, without retries.
pub fn client(address: std::net::SocketAddr) -> Client {
    let credentials = aws_sdk_kms::config::Credentials::new(ACCESS_KEY, SECRET, None, None, "test");
    Client::from_conf(super::sdk_config(&format!("http://{address}"), credentials, REGION).build())
}

/// A port that was free a moment ago (kept across restarts of one server).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
