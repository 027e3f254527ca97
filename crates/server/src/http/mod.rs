//! The HTTP shell: one router, the body cap, request ids, and error rendering, written once.

pub mod auth;
pub mod buffer;
pub mod dev_clock;
pub mod dispatch;
pub mod error;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::{get, post};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use http_body_util::BodyExt;
use strongbox_core::model::Region;
use strongbox_core::{Clock, Kms, ManualClock};
use uuid::Uuid;

use self::buffer::SecretBuffer;

use crate::jobs::Scheduler;
use crate::wire::{ApiError, ErrorCode, Operation};

/// Request bodies above this are refused before they are read (DESIGN.md section 1).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// A client that stalls mid-body is cut off after this, so it holds no resources forever.
pub const BODY_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// The content type of every AWS JSON 1.1 response.
const AMZ_JSON: &str = "application/x-amz-json-1.1";
/// The dev clock's path; it answers 404 unless `--dev-clock` is on.
pub const DEV_CLOCK_PATH: &str = "/_strongbox/clock";
/// The header that carries the operation.
const TARGET: &str = "x-amz-target";

/// What every request handler shares.
pub struct AppState {
    /// The service.
    pub kms: Arc<Kms>,
    /// The Regions this server answers for.
    pub regions: Vec<Region>,
    /// How long a request body may take to arrive.
    pub body_read_timeout: std::time::Duration,
    /// The lifecycle scheduler.
    pub scheduler: Arc<Scheduler>,
    /// The controllable clock, when `--dev-clock` is on.
    pub dev_clock: Option<Arc<ManualClock>>,
    /// The clock signatures are checked against: always real time, even with the dev clock,
    /// so that moving key time never opens a window for replayed or post-dated requests.
    pub signature_clock: Arc<dyn Clock>,
}

/// The whole HTTP surface.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", post(api).fallback(not_found))
        .route("/health", get(health))
        .route(DEV_CLOCK_PATH, post(dev_clock::advance).fallback(not_found))
        .fallback(not_found)
        .with_state(state)
}

async fn api(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let started = Instant::now();
    let request_id = Uuid::new_v4().to_string();
    let (parts, body) = request.into_parts();
    let operation = parts
        .headers
        .get(TARGET)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let result = match read_body(&parts.headers, body, state.body_read_timeout).await {
        Ok(body) => handle(&state, &parts, operation.as_deref(), body.as_slice()).await,
        Err(error) => Err(error),
    };
    let status = result
        .as_ref()
        .map_or_else(|error| error.code.status(), |_| StatusCode::OK);
    tracing::info!(
        request_id = %request_id,
        operation = operation.as_deref().unwrap_or("-"),
        status = status.as_u16(),
        error = result.as_ref().err().map_or("", |error| error.code.as_str()),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    let body = match result {
        Ok(body) => body.into_bytes(),
        Err(error) => Bytes::from(error.body()),
    };
    respond(status, &request_id, body)
}

async fn handle(
    state: &AppState,
    parts: &http::request::Parts,
    target: Option<&str>,
    body: &[u8],
) -> Result<SecretBuffer, ApiError> {
    let principal = auth::authenticate(
        &state.kms,
        &state.regions,
        state.signature_clock.as_ref(),
        parts,
        body,
    )
    .await?;
    let target = target.ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnknownOperation,
            "Missing X-Amz-Target header naming the operation",
        )
    })?;
    let operation = Operation::from_target(target).ok_or_else(|| {
        ApiError::new(
            ErrorCode::UnknownOperation,
            format!("Unknown operation {target}"),
        )
    })?;
    dispatch::dispatch(&state.kms, &state.scheduler, &principal, operation, body).await
}

/// Reads the body into a zeroizing buffer, refusing oversized ones by their `Content-Length`
/// before reading, and others as soon as they pass the cap.
async fn read_body(
    headers: &http::HeaderMap,
    body: Body,
    timeout: std::time::Duration,
) -> Result<SecretBuffer, ApiError> {
    let too_large = || {
        ApiError::new(
            ErrorCode::RequestEntityTooLarge,
            format!("Request bodies are limited to {MAX_BODY_BYTES} bytes"),
        )
    };
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let collect = async {
        let mut body = body;
        let mut buffer = SecretBuffer::with_capacity(declared.unwrap_or(0));
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|_| {
                ApiError::new(
                    ErrorCode::Serialization,
                    "The request body could not be read",
                )
            })?;
            if let Ok(data) = frame.into_data() {
                if buffer.len() + data.len() > MAX_BODY_BYTES {
                    return Err(too_large());
                }
                buffer.extend(&data);
            }
        }
        Ok(buffer)
    };
    match tokio::time::timeout(timeout, collect).await {
        Ok(read) => read,
        Err(_) => Err(ApiError::new(
            ErrorCode::RequestTimeout,
            format!(
                "The request body did not arrive within {} seconds",
                timeout.as_secs_f32()
            ),
        )),
    }
}

async fn health(State(state): State<Arc<AppState>>) -> Response {
    let request_id = Uuid::new_v4().to_string();
    match state.kms.store().ping().await {
        Ok(()) => respond(StatusCode::OK, &request_id, r#"{"status":"ok"}"#),
        Err(error) => {
            tracing::warn!(%error, "health check: store unreachable");
            let body = r#"{"status":"unavailable","reason":"store unreachable"}"#;
            respond(StatusCode::SERVICE_UNAVAILABLE, &request_id, body)
        }
    }
}

/// The 404 answer for every path outside the API.
pub(crate) async fn not_found() -> Response {
    let error = ApiError::new(
        ErrorCode::UnknownOperation,
        "Not found: the KMS API is POST / with X-Amz-Target; health is GET /health",
    );
    respond(
        StatusCode::NOT_FOUND,
        &Uuid::new_v4().to_string(),
        error.body(),
    )
}

pub(crate) fn respond(status: StatusCode, request_id: &str, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(AMZ_JSON));
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", value);
    }
    response
}
