//! The front door under attack and in normal use, against the real binary: half-open
//! connections are closed after the header timeout and do not keep others from being served;
//! past the connection cap new connections wait while accepted ones keep being served; idle
//! keep-alive connections are closed; TLS serves HTTP/1.1 and HTTP/2 by ALPN and picks up a new
//! certificate on SIGHUP without dropping a connection.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::process;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The start of a request head, never finished.
const HALF_HEAD: &[u8] = b"POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-amz-target: TrentService.Li";

/// Whether the server has closed `stream`: end of file or a reset within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// Whether `stream` is still open now (nothing to read, no end of file).
fn still_open(stream: &TcpStream) -> bool {
    let mut buffer = [0u8; 16];
    matches!(stream.try_read(&mut buffer), Err(error) if error.kind() == std::io::ErrorKind::WouldBlock)
}

#[tokio::test]
async fn half_open_connections_do_not_hold_up_others_and_are_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = process::start(
        dir.path(),
        process::free_port(),
        &["--header-read-timeout", "5s", "--idle-timeout", "60s"],
    )
    .await;
    let mut half_open = Vec::new();
    for _ in 0..500 {
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        stream.write_all(HALF_HEAD).await.unwrap();
        half_open.push(stream);
    }
    // A normal client is answered while all 500 are held open (how fast is printed, not
    // asserted: the tests make no timing assertions).
    let client = process::client(server.address);
    for _ in 0..3 {
        let started = std::time::Instant::now();
        client.list_keys().send().await.unwrap();
        println!(
            "answered in {:?} beside 500 half-open connections",
            started.elapsed()
        );
    }
    let open = half_open.iter().filter(|s| still_open(s)).count();
    assert!(
        open > 400,
        "answered while the half-open connections were held ({open} open)"
    );
    // Then every one of them is closed by the server.
    let mut closed = 0;
    for stream in &mut half_open {
        if closed_within(stream, Duration::from_secs(20)).await {
            closed += 1;
        }
    }
    assert_eq!(closed, 500);
    client.list_keys().send().await.unwrap();
}

#[tokio::test]
async fn past_the_cap_new_connections_wait_while_accepted_ones_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = process::start(
        dir.path(),
        process::free_port(),
        &[
            "--max-connections",
            "8",
            "--header-read-timeout",
            "3s",
            "--idle-timeout",
            "60s",
        ],
    )
    .await;
    // A client whose keep-alive connection is accepted before the flood.
    let client = process::client(server.address);
    client.list_keys().send().await.unwrap();
    let mut flood = Vec::new();
    for _ in 0..7 {
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        stream.write_all(HALF_HEAD).await.unwrap();
        flood.push(stream);
    }
    // Let the server accept them (it has room for exactly these).
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The accepted client goes on being served.
    client.list_keys().send().await.unwrap();
    // A new connection is queued by the kernel, not served, while the cap is reached.
    let mut late = TcpStream::connect(server.address).await.unwrap();
    late.write_all(&common::raw::get("/health")).await.unwrap();
    let mut buffer = vec![0u8; 4096];
    let early = tokio::time::timeout(Duration::from_millis(500), late.read(&mut buffer)).await;
    assert!(early.is_err(), "no answer while every slot is taken");
    // Once the flood is timed out, the queued connection is served.
    let answered = tokio::time::timeout(Duration::from_secs(15), late.read(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&buffer[..answered]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buffer[..answered])
    );
    for stream in &mut flood {
        assert!(closed_within(stream, Duration::from_secs(1)).await);
    }
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let dir = tempfile::tempdir().unwrap();
    let server = process::start(
        dir.path(),
        process::free_port(),
        &["--header-read-timeout", "5s", "--idle-timeout", "1s"],
    )
    .await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = vec![0u8; 4096];
    let read = stream.read(&mut buffer).await.unwrap();
    assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));
    // Kept alive: a second request on the same connection is answered.
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let read = stream.read(&mut buffer).await.unwrap();
    assert!(String::from_utf8_lossy(&buffer[..read]).starts_with("HTTP/1.1 200"));
    assert!(closed_within(&mut stream, Duration::from_secs(10)).await);
}

/// A TLS client trusting `ca`, offering `alpn`.
fn connector(ca: &Path, alpn: &[&[u8]]) -> tokio_rustls::TlsConnector {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

async fn tls_connect(
    address: std::net::SocketAddr,
    ca: &Path,
    alpn: &[&[u8]],
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let tcp = TcpStream::connect(address).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    connector(ca, alpn).connect(name, tcp).await.unwrap()
}

/// Sends a keep-alive `GET /health` over HTTP/1.1 and returns the status line.
async fn health_over<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) -> String {
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = vec![0u8; 4096];
    let read = stream.read(&mut buffer).await.unwrap();
    String::from_utf8_lossy(&buffer[..read])
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn self_signed(out: &Path) {
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_strongbox"))
        .args(["tls", "self-signed", "--out"])
        .arg(out)
        .args(["--host", "localhost"])
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn tls_serves_both_protocols_and_reloads_its_certificate_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second, live) = (
        dir.path().join("first"),
        dir.path().join("second"),
        dir.path().join("live"),
    );
    self_signed(&first);
    self_signed(&second);
    std::fs::create_dir(&live).unwrap();
    for file in ["server.pem", "server.key"] {
        std::fs::copy(first.join(file), live.join(file)).unwrap();
    }
    let cert = live.join("server.pem");
    let key = live.join("server.key");
    let server = process::spawn(
        dir.path(),
        process::free_port(),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        &[],
    );
    let mut old = None;
    for _ in 0..400 {
        if let Ok(tcp) = TcpStream::connect(server.address).await {
            let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
            old = connector(&first.join("ca.pem"), &[b"http/1.1"])
                .connect(name, tcp)
                .await
                .ok();
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let mut old = old.expect("the server answers TLS");
    assert_eq!(health_over(&mut old).await, "HTTP/1.1 200 OK");
    let h2 = tls_connect(server.address, &first.join("ca.pem"), &[b"h2", b"http/1.1"]).await;
    assert_eq!(h2.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    // Plain HTTP on the TLS port gets no answer.
    let mut plain = TcpStream::connect(server.address).await.unwrap();
    plain
        .write_all(b"GET /health HTTP/1.1\r\nhost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = vec![0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), plain.read(&mut buffer)).await;
    assert!(
        !matches!(read, Ok(Ok(n)) if String::from_utf8_lossy(&buffer[..n]).contains("200")),
        "no plain HTTP on a TLS listener"
    );

    // A renewed certificate, picked up on SIGHUP.
    for file in ["server.pem", "server.key"] {
        std::fs::copy(second.join(file), live.join(file)).unwrap();
    }
    let pid = server.child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut renewed = None;
    for _ in 0..100 {
        let tcp = TcpStream::connect(server.address).await.unwrap();
        let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
        if let Ok(stream) = connector(&second.join("ca.pem"), &[b"http/1.1"])
            .connect(name, tcp)
            .await
        {
            renewed = Some(stream);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut renewed = renewed.expect("new handshakes present the new certificate");
    assert_eq!(health_over(&mut renewed).await, "HTTP/1.1 200 OK");
    // The connection made before the reload is still served.
    assert_eq!(health_over(&mut old).await, "HTTP/1.1 200 OK");
    // And the old CA no longer vouches for new handshakes.
    let tcp = TcpStream::connect(server.address).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    assert!(
        connector(&first.join("ca.pem"), &[b"http/1.1"])
            .connect(name, tcp)
            .await
            .is_err()
    );
}
