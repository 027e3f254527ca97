//! Raw HTTP/1.1 over a TCP socket, for requests no SDK would send: malformed bodies, missing or
//! broken signatures, oversized payloads. Requests are signed (when wanted) with the official
//! `aws-sigv4` crate.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{ACCESS_KEY, REGION, SECRET};

/// A parsed response.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }

    /// The `__type` of an error body.
    pub fn error_type(&self) -> String {
        self.json()["__type"]
            .as_str()
            .unwrap_or("<none>")
            .to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How to sign a raw request.
pub struct Signing<'a> {
    pub access_key: &'a str,
    pub secret: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    pub time: SystemTime,
}

impl Default for Signing<'_> {
    fn default() -> Self {
        Self {
            access_key: ACCESS_KEY,
            secret: SECRET,
            region: REGION,
            service: "kms",
            time: SystemTime::now(),
        }
    }
}

/// A `GET` request.
pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n").into_bytes()
}

/// Headers of a KMS `POST /`, without a signature.
pub fn kms_headers(target: Option<&str>) -> Vec<(String, String)> {
    let mut headers = vec![
        ("host".to_owned(), "127.0.0.1".to_owned()),
        (
            "content-type".to_owned(),
            "application/x-amz-json-1.1".to_owned(),
        ),
    ];
    if let Some(target) = target {
        headers.push(("x-amz-target".to_owned(), target.to_owned()));
    }
    headers
}

/// Adds SigV4 headers (`authorization`, `x-amz-date`) computed by the official signer.
pub fn sign_headers(headers: &mut Vec<(String, String)>, body: &[u8], signing: &Signing<'_>) {
    let identity = Credentials::new(signing.access_key, signing.secret, None, None, "test").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(signing.region)
        .name(signing.service)
        .time(signing.time)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let signable = SignableRequest::new(
        "POST",
        "http://127.0.0.1/",
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let instructions = sign(signable, &params).unwrap().into_parts().0;
    for (name, value) in instructions.headers() {
        headers.push((name.to_owned(), value.to_owned()));
    }
}

/// A signed KMS request with the default test credentials.
pub fn signed(target: &str, body: &[u8]) -> Vec<u8> {
    let mut headers = kms_headers(Some(target));
    sign_headers(&mut headers, body, &Signing::default());
    post(&headers, body)
}

/// A `POST /` with exactly these headers (plus content-length and connection: close).
pub fn post(headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    post_to("/", headers, body)
}

/// A `POST` to `path` with exactly these headers (plus content-length and connection: close).
pub fn post_to(path: &str, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut request = format!("POST {path} HTTP/1.1\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Sends a request and reads the whole response (the server closes after it).
pub async fn send(address: SocketAddr, request: &[u8]) -> std::io::Result<RawResponse> {
    let mut stream = TcpStream::connect(address).await?;
    stream.write_all(request).await?;
    read_response(&mut stream).await
}

/// Reads one response until the server closes the connection, with a deadline so that a hang
/// fails the test instead of stalling it.
pub async fn read_response(stream: &mut TcpStream) -> std::io::Result<RawResponse> {
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .map_err(|_| std::io::Error::other("response timed out"))??;
    parse(&raw)
}

fn parse(raw: &[u8]) -> std::io::Result<RawResponse> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| {
            std::io::Error::other(format!(
                "no header end in {:?}",
                String::from_utf8_lossy(raw)
            ))
        })?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Ok(RawResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 4 + size..];
    }
    out
}
