//! `POST /_strongbox/clock` (only with `serve --dev-clock`): moves the server's clock forward so
//! that users can test key lifecycles (rotation, deletion) without waiting, then runs the
//! scheduler at once so the response reflects the new time. SigV4 keeps using real time.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use time::Duration;

use super::{AppState, not_found, respond};
use crate::wire::{ApiError, ErrorCode};

/// The furthest one request may move the clock (100 years), so date arithmetic cannot overflow.
const MAX_ADVANCE_SECONDS: i64 = 100 * 366 * 86_400;

pub async fn advance(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    let Some(clock) = &state.dev_clock else {
        return not_found().await;
    };
    let request_id = strongbox_core::model::ids::random_uuid().to_string();
    let seconds = match advance_seconds(&body) {
        Ok(seconds) => seconds,
        Err(error) => return respond(error.code.status(), &request_id, error.body()),
    };
    // The start's pass belongs to the time before the move.
    state.scheduler.after_first_pass().await;
    let now = clock.advance(Duration::seconds(seconds));
    tracing::warn!(advanced_seconds = seconds, now = %now, "dev clock moved forward");
    let work = state.scheduler.run_once().await;
    let body = serde_json::json!({
        "Now": now.unix_timestamp(),
        "Rotated": work.rotated,
        "Deleted": work.deleted,
    });
    respond(StatusCode::OK, &request_id, body.to_string())
}

/// `{"AdvanceSeconds": N}` with N a whole number from 0 to 100 years.
fn advance_seconds(body: &[u8]) -> Result<i64, ApiError> {
    let invalid = |message: &str| ApiError::new(ErrorCode::Validation, message);
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| invalid("The body must be JSON: {\"AdvanceSeconds\": N}"))?;
    let seconds = value
        .get("AdvanceSeconds")
        .ok_or_else(|| invalid("AdvanceSeconds is required: {\"AdvanceSeconds\": N}"))?;
    match seconds.as_i64() {
        Some(n) if (0..=MAX_ADVANCE_SECONDS).contains(&n) => Ok(n),
        Some(n) if n < 0 => Err(invalid(
            "AdvanceSeconds must not be negative: time only moves forward",
        )),
        Some(_) => Err(invalid(
            "AdvanceSeconds may move the clock at most 100 years at once",
        )),
        None => Err(invalid("AdvanceSeconds must be a whole number of seconds")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_bodies() {
        assert_eq!(advance_seconds(br#"{"AdvanceSeconds": 0}"#).unwrap(), 0);
        assert_eq!(
            advance_seconds(br#"{"AdvanceSeconds": 86400}"#).unwrap(),
            86_400
        );
        for bad in [
            br#"{"AdvanceSeconds": -1}"#.as_slice(),
            br#"{"AdvanceSeconds": "10"}"#,
            br#"{"AdvanceSeconds": 1.5}"#,
            br#"{"AdvanceSeconds": 99999999999999}"#,
            br#"{}"#,
            b"nope",
        ] {
            let error = advance_seconds(bad).unwrap_err();
            assert_eq!(error.code, ErrorCode::Validation);
        }
    }
}
