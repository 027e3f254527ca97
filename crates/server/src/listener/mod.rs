//! The front door: accepts TCP connections up to a cap, speaks TLS when configured, serves
//! HTTP/1.1 and HTTP/2 with hyper, and closes connections that send their headers too slowly
//! or stay idle. A client that opens connections and sends nothing useful ties up one
//! connection slot each for seconds at most, and past the cap new connections wait in the
//! kernel's backlog while the connections already accepted keep being served.

pub mod activity;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use self::activity::{Activity, Timeouts, Watched};
use self::tls::Tls;
use crate::telemetry;

/// The default time a request head (or a TLS handshake) may take.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// The default time a keep-alive connection may wait for its next request.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// File descriptors kept for everything that is not a client connection: the store's files and
/// connections, the audit journal, logs, the root key.
const RESERVED_FILES: u64 = 64;

/// The most connections the cap may allow (each needs a file descriptor; no process has this
/// many), also the ceiling of the default.
pub const MAX_CONNECTIONS_LIMIT: usize = 1 << 22;

/// How the listener treats connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Header and idle timeouts.
    pub timeouts: Timeouts,
    /// Connections open at once; more wait in the kernel backlog.
    pub max_connections: usize,
}

/// The connection cap that fits the process's open-file limit: the soft limit less
/// [`RESERVED_FILES`] (or an eighth of it, whichever is more), at least 16 and at most
/// [`MAX_CONNECTIONS_LIMIT`].
pub fn default_max_connections() -> usize {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(65_536);
    let reserved = RESERVED_FILES.max(soft / 8);
    usize::try_from(soft.saturating_sub(reserved).max(16))
        .unwrap_or(usize::MAX)
        .min(MAX_CONNECTIONS_LIMIT)
}

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, lets every
/// connection finish its requests (idle ones close at once) and returns.
///
/// # Errors
/// Only when the listener itself fails; a connection's failure ends that connection.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    tls: Option<Arc<Tls>>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // Our own watchdog times heads and idleness (see `activity`); hyper's timer would
        // also cut idle keep-alive connections at the header deadline.
        .header_read_timeout(None)
        .keep_alive(true);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(128);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    let mut full = false;
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        if slots.available_permits() == 0 && !full {
            tracing::warn!(
                max_connections = limits.max_connections,
                "connection cap reached: new connections wait in the kernel backlog"
            );
        }
        full = slots.available_permits() == 0;
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, or a connection reset before it was accepted: wait
                // a moment rather than spin.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let connection = Connection {
            app: app.clone(),
            builder: Arc::clone(&builder),
            timeouts: limits.timeouts,
            tls: tls.clone(),
            stopping: stopping.clone(),
            peer,
        };
        tokio::spawn(async move {
            metrics::gauge!(telemetry::OPEN_CONNECTIONS).increment(1.0);
            connection.run(stream).await;
            metrics::gauge!(telemetry::OPEN_CONNECTIONS).decrement(1.0);
            drop(slot);
        });
    }
    let _ = stop.send(true);
    // Every connection holds a slot until it ends: all slots free means all connections done.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

/// HTTP/2 carries the host in the `:authority` pseudo-header, which hyper puts in the URI, not
/// in a `host` header; SigV4 clients sign `host` all the same. The header is restored from the
/// authority so that signatures made over HTTP/2 verify as over HTTP/1.1.
fn host_from_authority(request: &mut http::Request<Incoming>) {
    if request.headers().contains_key(http::header::HOST) {
        return;
    }
    if let Some(value) = request
        .uri()
        .authority()
        .and_then(|authority| http::HeaderValue::from_str(authority.as_str()).ok())
    {
        request.headers_mut().insert(http::header::HOST, value);
    }
}

/// One accepted connection and what it needs.
struct Connection {
    app: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    timeouts: Timeouts,
    tls: Option<Arc<Tls>>,
    stopping: watch::Receiver<bool>,
    peer: SocketAddr,
}

/// Whether a request arrived over TLS (`aws:SecureTransport`), set on every request.
#[derive(Clone, Copy, Debug, Default)]
pub struct SecureTransport(pub bool);

impl Connection {
    async fn run(self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        let activity = Activity::new();
        match self.tls.clone() {
            None => {
                self.http(Watched::new(stream, Arc::clone(&activity)), activity)
                    .await
            }
            Some(tls) => {
                let handshake = tls
                    .acceptor()
                    .accept(Watched::new(stream, Arc::clone(&activity)));
                match tokio::time::timeout(self.timeouts.header_read, handshake).await {
                    Ok(Ok(stream)) => {
                        if stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                            activity.mark_http2();
                        }
                        self.http(stream, activity).await;
                    }
                    Ok(Err(error)) => {
                        tracing::debug!(peer = %self.peer, %error, "TLS handshake failed");
                    }
                    Err(_) => {
                        tracing::debug!(peer = %self.peer, "TLS handshake timed out");
                        metrics::counter!(telemetry::CONNECTIONS_CLOSED, "reason" => "header_read")
                            .increment(1);
                    }
                }
            }
        }
    }

    /// Serves HTTP on `io` until the client closes, the watchdog closes an idle or slow
    /// connection, or the server stops (gracefully: requests in flight are answered).
    async fn http<I>(mut self, io: I, activity: Arc<Activity>)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = {
            let app = self.app.clone();
            let peer = self.peer;
            let secure = SecureTransport(self.tls.is_some());
            let activity = Arc::clone(&activity);
            hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
                let in_flight = activity.request();
                request.extensions_mut().insert(ConnectInfo(peer));
                request.extensions_mut().insert(secure);
                host_from_authority(&mut request);
                let mut app = app.clone();
                async move {
                    let response =
                        tower::Service::call(&mut app, request.map(axum::body::Body::new)).await;
                    drop(in_flight);
                    response
                }
            })
        };
        let builder = Arc::clone(&self.builder);
        let connection = builder.serve_connection(TokioIo::new(io), service);
        tokio::pin!(connection);
        let mut stopping = *self.stopping.borrow();
        if stopping {
            connection.as_mut().graceful_shutdown();
        }
        loop {
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(peer = %self.peer, %error, "connection ended with an error");
                    }
                    return;
                }
                why = activity.expired(self.timeouts) => {
                    tracing::debug!(peer = %self.peer, ?why, "closing connection");
                    let reason = match why {
                        activity::Expired::HeaderRead => "header_read",
                        activity::Expired::Idle => "idle",
                    };
                    metrics::counter!(telemetry::CONNECTIONS_CLOSED, "reason" => reason).increment(1);
                    return;
                }
                changed = self.stopping.changed(), if !stopping => {
                    stopping = changed.is_err() || *self.stopping.borrow();
                    if stopping {
                        connection.as_mut().graceful_shutdown();
                    }
                }
            }
        }
    }
}
