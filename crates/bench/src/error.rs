//! What can go wrong in a run, worded for the person reading the load generator's output.

use std::fmt;
use std::net::SocketAddr;

/// A failure that ends a run or is counted against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The server could not be reached (refused, unreachable, reset during the handshake).
    Connect { address: SocketAddr, reason: String },
    /// An open connection broke mid-request.
    Transport(String),
    /// Bad arguments, or the setup (creating keys, preparing ciphertexts) failed.
    Setup(String),
    /// The server answered with an error.
    Answer {
        operation: &'static str,
        status: u16,
        body: String,
    },
    /// The server answered 200 with something that is not what the call must return: a
    /// plaintext that differs from what was encrypted, a missing member, an invalid signature.
    Wrong {
        operation: &'static str,
        what: String,
    },
}

impl Failure {
    /// Whether the failure means the answers themselves are wrong (as opposed to refused or
    /// lost): a single one fails the run whatever the error rate.
    pub fn is_wrong_answer(&self) -> bool {
        matches!(self, Failure::Wrong { .. })
    }

    /// A short text that groups equal failures in the summary (no request-specific bytes).
    pub fn kind(&self) -> String {
        match self {
            Failure::Connect { .. } => "cannot connect".to_owned(),
            Failure::Transport(_) => "connection broken".to_owned(),
            Failure::Setup(_) => "setup".to_owned(),
            Failure::Answer {
                operation,
                status,
                body,
            } => {
                let code = serde_json::from_str::<serde_json::Value>(body)
                    .ok()
                    .and_then(|value| value.get("__type")?.as_str().map(str::to_owned))
                    .unwrap_or_else(|| "non-JSON body".to_owned());
                format!("{operation}: HTTP {status} {code}")
            }
            Failure::Wrong { operation, what } => format!("{operation}: wrong answer: {what}"),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Connect { address, reason } => {
                write!(f, "cannot connect to {address}: {reason}")
            }
            Failure::Transport(reason) => write!(f, "connection broken: {reason}"),
            Failure::Setup(reason) => write!(f, "setup failed: {reason}"),
            Failure::Answer {
                operation,
                status,
                body,
            } => write!(f, "{operation} answered HTTP {status}: {}", excerpt(body)),
            Failure::Wrong { operation, what } => write!(f, "{operation} answered wrongly: {what}"),
        }
    }
}

/// At most 300 characters of an error body, so one huge answer cannot flood the report.
fn excerpt(body: &str) -> &str {
    match body.char_indices().nth(300) {
        Some((cut, _)) => &body[..cut],
        None => body,
    }
}
