//! What a connection is doing, so that one that does nothing useful is closed: a request head
//! that does not arrive in time (slow or half-sent headers, the "slowloris" attack) and a
//! keep-alive connection idle for too long.
//!
//! hyper's own `header_read_timeout` starts whenever a connection waits for a request, so it
//! cannot tell "idle between requests" (allowed for a minute) from "a request head is arriving"
//! (allowed for seconds). This module tells them apart from outside hyper: bytes read while no
//! request is in flight are a request head in progress; a request handed to the service ends
//! that phase; a finished response starts an idle period. HTTP/2 connections, whose frames flow
//! between requests, are judged by idleness only.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// How long each phase may last.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// From the first byte of a request head (or of a TLS handshake) to the end of the head.
    pub header_read: Duration,
    /// With no request in flight, after the last response.
    pub idle: Duration,
}

/// Why a connection was closed by its watchdog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expired {
    /// A request head did not arrive within [`Timeouts::header_read`].
    HeaderRead,
    /// No request for [`Timeouts::idle`].
    Idle,
}

/// The shared state of one connection. Times are milliseconds since `started`; 0 in
/// `head_started` means "no head in progress" (a head that started at 0 ms is stored as 1).
#[derive(Debug)]
pub struct Activity {
    started: Instant,
    in_flight: AtomicUsize,
    head_started: AtomicU64,
    idle_since: AtomicU64,
    http2: AtomicBool,
    first_read: AtomicBool,
}

/// The HTTP/2 connection preface starts with these bytes; no HTTP/1 request does.
const HTTP2_PREFACE: &[u8] = b"PRI ";

impl Activity {
    /// A connection that has just been accepted: its first request head is due within the
    /// header timeout, so a client that connects and sends nothing holds its slot that long,
    /// not the idle timeout.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            in_flight: AtomicUsize::new(0),
            head_started: AtomicU64::new(1),
            idle_since: AtomicU64::new(0),
            http2: AtomicBool::new(false),
            first_read: AtomicBool::new(true),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// `bytes` were read from the client.
    fn read(&self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        if self.first_read.swap(false, Ordering::Relaxed) && bytes.starts_with(HTTP2_PREFACE) {
            self.http2.store(true, Ordering::Relaxed);
        }
        if self.in_flight.load(Ordering::Acquire) == 0 && !self.http2.load(Ordering::Relaxed) {
            let now = self.now_ms().max(1);
            let _ = self
                .head_started
                .compare_exchange(0, now, Ordering::AcqRel, Ordering::Relaxed);
        }
    }

    /// The connection speaks HTTP/2 (negotiated by ALPN under TLS, where the bytes read here
    /// are encrypted and the preface cannot be seen): frames between requests are not heads.
    pub fn mark_http2(&self) {
        self.http2.store(true, Ordering::Relaxed);
    }

    /// A request's head has been read: the service has it. Returns a guard that marks the
    /// request finished when dropped (answered, or abandoned by a client that went away).
    pub fn request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_started.store(0, Ordering::Release);
        InFlight(Arc::clone(self))
    }

    /// When the connection must close if nothing changes, and why; `None` while a request is in
    /// flight (its body has its own timeout, and handlers answer promptly).
    fn deadline(&self, timeouts: Timeouts) -> Option<(Instant, Expired)> {
        if self.in_flight.load(Ordering::Acquire) > 0 {
            return None;
        }
        let at = |ms: u64, after: Duration| self.started + Duration::from_millis(ms) + after;
        match self.head_started.load(Ordering::Acquire) {
            0 => Some((
                at(self.idle_since.load(Ordering::Acquire), timeouts.idle),
                Expired::Idle,
            )),
            started => Some((at(started, timeouts.header_read), Expired::HeaderRead)),
        }
    }

    /// Resolves when the connection has broken its [`Timeouts`]; never while a request is in
    /// flight. `poll` bounds how long a change of state goes unnoticed.
    pub async fn expired(&self, timeouts: Timeouts) -> Expired {
        let poll = timeouts
            .header_read
            .min(timeouts.idle)
            .min(Duration::from_secs(1));
        loop {
            match self.deadline(timeouts) {
                Some((deadline, why)) if Instant::now() >= deadline => return why,
                Some((deadline, _)) => {
                    tokio::time::sleep_until(deadline.min(Instant::now() + poll)).await;
                }
                None => tokio::time::sleep(poll).await,
            }
        }
    }
}

/// A request in flight; dropping it ends the request and starts an idle period when it was the
/// last one.
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        activity
            .idle_since
            .store(activity.now_ms(), Ordering::Release);
        activity.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A connection's byte stream, reporting what it reads to its [`Activity`].
#[derive(Debug)]
pub struct Watched<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Watched<T> {
    /// Watches `inner`.
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        Self { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            self.activity.read(&buf.filled()[before..]);
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUTS: Timeouts = Timeouts {
        header_read: Duration::from_secs(10),
        idle: Duration::from_secs(60),
    };

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_sends_nothing_expires_at_the_header_timeout() {
        let activity = Activity::new();
        let started = Instant::now();
        assert_eq!(activity.expired(TIMEOUTS).await, Expired::HeaderRead);
        assert_eq!(started.elapsed().as_secs(), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_expires_after_the_idle_timeout() {
        let activity = Activity::new();
        drop(activity.request());
        let started = Instant::now();
        assert_eq!(activity.expired(TIMEOUTS).await, Expired::Idle);
        assert_eq!(started.elapsed().as_secs(), 60);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_head_must_arrive_within_the_header_timeout() {
        let activity = Activity::new();
        drop(activity.request());
        tokio::time::advance(Duration::from_secs(30)).await;
        activity.read(b"POST / HTTP/1.1\r\nho");
        let started = Instant::now();
        assert_eq!(activity.expired(TIMEOUTS).await, Expired::HeaderRead);
        assert_eq!(started.elapsed().as_secs(), 10);
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_in_flight_never_expires_and_its_end_starts_an_idle_period() {
        let activity = Activity::new();
        activity.read(b"POST / HTTP/1.1\r\n\r\n");
        let request = activity.request();
        let watchdog = tokio::spawn({
            let activity = Arc::clone(&activity);
            async move { activity.expired(TIMEOUTS).await }
        });
        tokio::time::advance(Duration::from_secs(600)).await;
        assert!(!watchdog.is_finished());
        let ended = Instant::now();
        drop(request);
        assert_eq!(watchdog.await.unwrap(), Expired::Idle);
        assert_eq!(ended.elapsed().as_secs(), 60);
    }

    #[tokio::test(start_paused = true)]
    async fn http2_frames_between_requests_are_not_a_head() {
        let activity = Activity::new();
        activity.read(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        drop(activity.request());
        activity.read(b"\x00\x00\x08\x06");
        let started = Instant::now();
        assert_eq!(activity.expired(TIMEOUTS).await, Expired::Idle);
        assert_eq!(started.elapsed().as_secs(), 60);
    }
}
