//! The admin socket: `<data-dir>/admin.sock`, through which `strongbox operator unseal` hands a
//! running server the passphrase or the shares that unseal it, and `operator status` asks where
//! it stands.
//!
//! A Unix socket rather than a TCP port on loopback: only the service's own user (or root) can
//! reach it (the data directory is 0700 and the socket 0600), and the server checks the peer's
//! user id as the kernel reports it (`SO_PEERCRED`) before reading a byte, so no token is
//! needed and none can leak. One JSON request per connection, one JSON answer.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use zeroize::Zeroizing;

use crate::seal_setup::{UnsealStatus, Unsealer};

/// Reads one request line into a buffer of [`MAX_REQUEST`] bytes allocated once and wiped on
/// drop: a growing or buffered reader would leave copies of the secret in freed memory (a
/// scan of the server's memory found the passphrase that way, `tests/seals.rs`).
async fn read_request(
    reader: &mut tokio::net::unix::OwnedReadHalf,
) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut buffer = Zeroizing::new(vec![0u8; MAX_REQUEST as usize]);
    let mut filled = 0;
    while filled < buffer.len() {
        let read = reader.read(&mut buffer[filled..]).await?;
        if read == 0 {
            break;
        }
        filled += read;
        if buffer[filled - read..filled].contains(&b'\n') {
            break;
        }
    }
    let end = buffer[..filled]
        .iter()
        .position(|byte| *byte == b'\n')
        .unwrap_or(filled);
    // Truncated, not copied: zeroize wipes a vector's whole capacity when it drops.
    buffer.truncate(end);
    Ok(buffer)
}

/// The socket's name in the data directory.
pub const SOCKET: &str = "admin.sock";

/// The largest request read (a passphrase or a share is far smaller).
const MAX_REQUEST: u64 = 16 * 1024;

/// Connections served at once.
const MAX_CONNECTIONS: usize = 16;

/// How long a client has to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The socket of a data directory.
pub fn socket_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SOCKET)
}

/// A request.
#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Request {
    /// Where the seal stands.
    Status,
    /// A passphrase or one share.
    Unseal {
        /// The secret.
        secret: String,
    },
}

impl Drop for Request {
    fn drop(&mut self) {
        if let Self::Unseal { secret } = self {
            zeroize::Zeroize::zeroize(secret);
        }
    }
}

/// An answer.
#[derive(Debug, Serialize, Deserialize)]
pub struct Answer {
    /// Where the seal stands (after the request).
    pub status: Option<UnsealStatus>,
    /// What went wrong.
    pub error: Option<String>,
}

/// What runs once the seal opens (checks and the first start's bootstrap).
pub type OnUnsealed = Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send>>
        + Send
        + Sync,
>;

/// Serves the socket until the task is aborted.
pub async fn serve(
    listener: UnixListener,
    kms: Arc<strongbox_core::Kms>,
    unsealer: Option<Arc<Unsealer>>,
    on_unsealed: OnUnsealed,
) {
    let me = rustix::process::geteuid().as_raw();
    // One request at a time: unsealing is a sequence of shares.
    let lock = Arc::new(tokio::sync::Mutex::new(()));
    // Connections served at once: enough for operators, not for a flood.
    let connections = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let allowed = stream
            .peer_cred()
            .is_ok_and(|peer| peer.uid() == me || peer.uid() == 0);
        if !allowed {
            tracing::warn!("admin socket: a connection from another user was refused");
            continue;
        }
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            continue;
        };
        let handler = Handler {
            kms: Arc::clone(&kms),
            unsealer: unsealer.clone(),
            on_unsealed: Arc::clone(&on_unsealed),
            lock: Arc::clone(&lock),
        };
        tokio::spawn(async move {
            if let Err(error) = handler.answer(stream).await {
                tracing::warn!(%error, "admin socket: request failed");
            }
            drop(permit);
        });
    }
}

/// What a connection's request is answered with.
struct Handler {
    kms: Arc<strongbox_core::Kms>,
    unsealer: Option<Arc<Unsealer>>,
    on_unsealed: OnUnsealed,
    lock: Arc<tokio::sync::Mutex<()>>,
}

impl Handler {
    /// Where the seal stands: the unsealer's view (with Shamir progress), or the seal's.
    fn status(&self) -> UnsealStatus {
        match &self.unsealer {
            Some(unsealer) => unsealer.status(),
            None => {
                let seal = self.kms.seal_status();
                UnsealStatus {
                    seal: seal.kind.to_owned(),
                    sealed: seal.sealed,
                    shares_held: None,
                    threshold: None,
                }
            }
        }
    }

    async fn answer(self, stream: UnixStream) -> std::io::Result<()> {
        let (mut reader, mut writer) = stream.into_split();
        // Read first, then wait for the turn: a silent client holds no one up.
        let read = tokio::time::timeout(REQUEST_TIMEOUT, read_request(&mut reader)).await;
        let answer = match read {
            Err(_) => Answer::error("no request within 10 seconds"),
            Ok(Err(error)) => return Err(error),
            Ok(Ok(line)) => match serde_json::from_slice::<Request>(&line) {
                Err(_) => Answer::error("not a request"),
                Ok(Request::Status) => Answer::status(self.status()),
                Ok(Request::Unseal { ref secret }) => {
                    let _turn = self.lock.lock().await;
                    self.unseal(secret).await
                }
            },
        };
        let mut text = serde_json::to_vec(&answer).unwrap_or_default();
        text.push(b'\n');
        writer.write_all(&text).await
    }

    /// Takes a secret; once the seal opens, its root key is checked against the store before
    /// anything uses it (by the unsealer), then the start is finished. Any failure seals it
    /// again.
    async fn unseal(&self, secret: &str) -> Answer {
        let Some(unsealer) = &self.unsealer else {
            return Answer::status(self.status());
        };
        if !self.status().sealed {
            return Answer::status(self.status());
        }
        let check = match self.kms.root_check().await {
            Ok(check) => check,
            Err(error) => return Answer::error(&error.to_string()),
        };
        let submitting = Arc::clone(unsealer);
        let secret = Zeroizing::new(secret.as_bytes().to_vec());
        let submitted =
            tokio::task::spawn_blocking(move || submitting.submit(&secret, check.as_ref())).await;
        match submitted {
            Ok(Ok(now)) if !now.sealed => match (self.on_unsealed)().await {
                Ok(()) => {
                    tracing::info!("unsealed by `strongbox operator unseal`");
                    Answer::status(self.status())
                }
                Err(error) => {
                    unsealer.seal_again();
                    tracing::error!(%error, "unsealed, but the start failed: sealed again");
                    Answer::error(&format!(
                        "the start failed, so the server sealed itself again: {error}"
                    ))
                }
            },
            Ok(Ok(now)) => Answer::status(now),
            Ok(Err(error)) => {
                tracing::warn!(%error, "admin socket: unseal refused");
                Answer::error(&error)
            }
            Err(error) => Answer::error(&error.to_string()),
        }
    }
}

impl Answer {
    fn status(status: UnsealStatus) -> Self {
        Self {
            status: Some(status),
            error: None,
        }
    }

    fn error(error: &str) -> Self {
        Self {
            status: None,
            error: Some(error.to_owned()),
        }
    }
}

/// Binds the socket (replacing a stale one: the caller holds the data directory's lock) with
/// mode 0600.
pub fn bind(data_dir: &Path) -> Result<UnixListener, String> {
    let path = socket_path(data_dir);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(format!("cannot remove {}: {error}", path.display())),
    }
    let listener = UnixListener::bind(&path)
        .map_err(|error| format!("cannot listen on {}: {error}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|error| format!("{}: {error}", path.display()))?;
    Ok(listener)
}

/// Sends `request` to the server running on `data_dir` and returns its answer.
pub async fn call(data_dir: &Path, request: &Request) -> Result<Answer, String> {
    let path = socket_path(data_dir);
    let mut stream = UnixStream::connect(&path).await.map_err(|error| {
        format!(
            "cannot reach a server on {} ({}: {error}); is `strongbox serve` running there?",
            data_dir.display(),
            path.display()
        )
    })?;
    let mut text = Zeroizing::new(serde_json::to_vec(request).map_err(|e| e.to_string())?);
    text.push(b'\n');
    stream.write_all(&text).await.map_err(|e| e.to_string())?;
    let mut answer = String::new();
    BufReader::new(stream.take(MAX_REQUEST))
        .read_line(&mut answer)
        .await
        .map_err(|e| e.to_string())?;
    serde_json::from_str(&answer).map_err(|_| format!("the server answered: {answer}"))
}
