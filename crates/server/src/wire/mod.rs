//! The AWS JSON 1.1 wire format: the operation enum, error codes, and one file of request and
//! response shapes per family. Only `api` converts these to domain types; nothing below the
//! server crate knows they exist.

pub mod aliases;
pub mod asymmetric;
pub mod cloudtrail;
pub mod crypto;
pub mod error;
pub mod fields;
pub mod grants;
pub mod keys;
pub mod operation;
pub mod policies;
pub mod rotation;
pub mod tags;

pub use error::{ApiError, ErrorCode};
pub use operation::{Operation, Target};

use serde::de::DeserializeOwned;

/// Parses a request body. An empty body is an empty object, as AWS treats it; anything that is
/// not the expected JSON is `SerializationException`.
pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|error| {
        ApiError::new(
            ErrorCode::Serialization,
            format!("The request body is not valid for this operation: {error}"),
        )
    })
}
