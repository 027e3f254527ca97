//! One keep-alive HTTP/1.1 connection to a KMS endpoint that sends SigV4-signed AWS JSON 1.1
//! requests, as the AWS SDKs do, with as little client-side work as possible so that the server,
//! not the load generator, is what a run measures.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use strongbox_sigv4::{CredentialScope, Signer};
use time::OffsetDateTime;
use time::macros::format_description;

use crate::error::Failure;

/// The headers every request signs, lowercase and sorted as SigV4 requires.
const SIGNED_HEADERS: [&str; 4] = ["content-type", "host", "x-amz-date", "x-amz-target"];
/// Sent as `User-Agent`, so the server's audit records show where the load came from.
const USER_AGENT: &str = concat!("strongbox-bench/", env!("CARGO_PKG_VERSION"));
/// AWS JSON 1.1, the protocol of KMS.
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

/// Who signs and where requests go; shared by every connection of a run.
#[derive(Clone)]
pub struct Endpoint {
    /// The server's address (the endpoint URL's host and port, resolved once).
    pub address: SocketAddr,
    /// The `host` header, as the endpoint URL spells it.
    pub host: String,
    /// The Region requests are signed for.
    pub region: String,
    /// The access key id.
    pub access_key_id: String,
    /// Its secret.
    pub secret_access_key: String,
    /// How long a call may take before it counts as failed and its connection is replaced.
    pub timeout: std::time::Duration,
    /// TLS for `https://` endpoints: the connector and the name the certificate must carry.
    pub tls: Option<(
        tokio_rustls::TlsConnector,
        rustls_pki_types::ServerName<'static>,
    )>,
}

impl std::fmt::Debug for Endpoint {
    /// Never shows the secret access key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("address", &self.address)
            .field("host", &self.host)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("timeout", &self.timeout)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

/// An answer: the HTTP status and the body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Bytes,
}

/// One connection and a signer for today's scope.
pub struct Connection {
    endpoint: Endpoint,
    sender: SendRequest<Full<Bytes>>,
    signer: Signer,
    signed_headers: Vec<String>,
    /// The server said it closes the connection after its last answer.
    closing: bool,
}

impl Connection {
    /// Connects and completes the HTTP/1.1 handshake.
    ///
    /// # Errors
    /// [`Failure::Connect`] when the server cannot be reached.
    pub async fn open(endpoint: &Endpoint) -> Result<Connection, Failure> {
        Ok(Connection {
            sender: handshake(endpoint).await?,
            signer: signer(endpoint, OffsetDateTime::now_utc()),
            endpoint: endpoint.clone(),
            signed_headers: SIGNED_HEADERS.iter().map(|&name| name.to_owned()).collect(),
            closing: false,
        })
    }

    /// Sends one `TrentService.<operation>` call and reads the whole answer.
    ///
    /// # Errors
    /// [`Failure::Transport`] when the connection breaks; an error *answer* is an [`Answer`].
    pub async fn call(&mut self, operation: &str, body: Bytes) -> Result<Answer, Failure> {
        let request = self.signed(operation, body)?;
        if self.closing || self.sender.ready().await.is_err() {
            // The server closed the connection after its last answer (no keep-alive, as
            // moto's server does): nothing was sent yet, so connecting again is safe.
            self.sender = handshake(&self.endpoint).await?;
            self.closing = false;
        }
        let timeout = self.endpoint.timeout;
        match tokio::time::timeout(timeout, self.exchange(request)).await {
            Ok(answer) => answer,
            Err(_) => {
                // The answer may still come: this connection cannot be trusted to pair the
                // next request with its own answer.
                self.closing = true;
                Err(Failure::Transport(format!(
                    "no answer within {} s",
                    timeout.as_secs_f64()
                )))
            }
        }
    }

    /// Sends a request and reads its whole answer.
    async fn exchange(&mut self, request: Request<Full<Bytes>>) -> Result<Answer, Failure> {
        let transport = |err: &dyn std::fmt::Display| Failure::Transport(err.to_string());
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|err| transport(&err))?;
        let status = response.status().as_u16();
        self.closing = response
            .headers()
            .get(header::CONNECTION)
            .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"close"));
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|err| transport(&err))?
            .to_bytes();
        Ok(Answer { status, body })
    }

    fn signed(&mut self, operation: &str, body: Bytes) -> Result<Request<Full<Bytes>>, Failure> {
        let now = OffsetDateTime::now_utc();
        let amz_date = amz_date(now);
        if !amz_date.starts_with(&self.signer.scope().date) {
            self.signer = signer(&self.endpoint, now);
        }
        let mut headers = HeaderMap::with_capacity(6);
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
        headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
        headers.insert(header::HOST, header_value(&self.endpoint.host)?);
        headers.insert("x-amz-date", header_value(&amz_date)?);
        headers.insert(
            "x-amz-target",
            header_value(&format!("TrentService.{operation}"))?,
        );
        let authorization = self
            .signer
            .authorization(
                &strongbox_sigv4::Request {
                    method: "POST",
                    path: "/",
                    query: "",
                    headers: &headers,
                    body: &body,
                },
                &self.signed_headers,
            )
            .map_err(|err| Failure::Setup(format!("cannot sign a request: {err}")))?;
        headers.insert(header::AUTHORIZATION, header_value(&authorization)?);
        let mut request = Request::new(Full::new(body));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = http::Uri::from_static("/");
        *request.headers_mut() = headers;
        Ok(request)
    }
}

/// A new TCP connection (TCP_NODELAY, as the SDKs' connectors do), with TLS for an `https://`
/// endpoint, after the HTTP/1.1 handshake.
async fn handshake(endpoint: &Endpoint) -> Result<SendRequest<Full<Bytes>>, Failure> {
    let refused = |reason: String| Failure::Connect {
        address: endpoint.address,
        reason,
    };
    let stream = tokio::net::TcpStream::connect(endpoint.address)
        .await
        .map_err(|err| refused(err.to_string()))?;
    stream
        .set_nodelay(true)
        .map_err(|err| refused(err.to_string()))?;
    let Some((connector, name)) = &endpoint.tls else {
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|err| refused(err.to_string()))?;
        // The connection task ends when the sender is dropped or the server closes.
        tokio::spawn(connection);
        return Ok(sender);
    };
    let stream = connector
        .connect(name.clone(), stream)
        .await
        .map_err(|err| refused(format!("TLS: {err}")))?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|err| refused(err.to_string()))?;
    tokio::spawn(connection);
    Ok(sender)
}

fn signer(endpoint: &Endpoint, now: OffsetDateTime) -> Signer {
    let date = amz_date(now)[..8].to_owned();
    Signer::new(
        &endpoint.access_key_id,
        endpoint.secret_access_key.as_bytes(),
        CredentialScope {
            date,
            region: endpoint.region.clone(),
            service: "kms".to_owned(),
        },
    )
}

/// `YYYYMMDDTHHMMSSZ`, SigV4's basic ISO 8601 form.
fn amz_date(now: OffsetDateTime) -> String {
    now.format(format_description!(
        "[year][month][day]T[hour][minute][second]Z"
    ))
    .unwrap_or_default()
}

fn header_value(text: &str) -> Result<HeaderValue, Failure> {
    HeaderValue::from_str(text)
        .map_err(|_| Failure::Setup(format!("'{text}' cannot be sent as an HTTP header")))
}
