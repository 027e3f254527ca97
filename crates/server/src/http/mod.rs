//! The HTTP shell: one router, the body cap, request ids, and error rendering, written once.

pub mod audit;
pub mod auth;
pub mod buffer;
pub mod dev_clock;
pub mod dispatch;
pub mod error;
pub mod signing_keys;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::response::Response;
use axum::routing::{get, post};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, USER_AGENT};
use http::{HeaderValue, StatusCode};
use http_body_util::BodyExt;
use std::net::SocketAddr;

use strongbox_core::audit::resources::{self, Touched};
use strongbox_core::audit::{ApiCall, Event};
use strongbox_core::log_throttle::LogThrottle;
use strongbox_core::model::ids::random_uuid;
use strongbox_core::model::{AccountId, Principal, Region};
use strongbox_core::{Clock, Kms, ManualClock};

use self::buffer::SecretBuffer;

use crate::jobs::Scheduler;
use crate::query::{self, QueryRequest};
use crate::telemetry;
use crate::wire::{ApiError, ErrorCode, Target, operation};

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
/// User agents are recorded up to this many characters.
const MAX_USER_AGENT: usize = 1024;

/// Request lines of server faults, at warn level, at most one a second (the metrics count them
/// all).
static SERVER_FAULTS: LogThrottle = LogThrottle::new(std::time::Duration::from_secs(1));

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
    /// Derived SigV4 signing keys of recently seen access keys.
    pub signing_keys: signing_keys::SigningKeys,
    /// The data directory's free space.
    pub disk: Arc<crate::disk::Disk>,
    /// Per-account request quotas.
    pub quotas: crate::quota::Quotas,
}

/// Where Prometheus scrapes.
pub const METRICS_PATH: &str = "/metrics";

/// The whole HTTP surface; `/metrics` too unless it has a listener of its own.
pub fn router(state: Arc<AppState>, with_metrics: bool) -> Router {
    let router = if with_metrics {
        Router::new().route(METRICS_PATH, get(prometheus))
    } else {
        Router::new()
    };
    router
        .route("/", post(api).fallback(not_found))
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route(DEV_CLOCK_PATH, post(dev_clock::advance).fallback(not_found))
        .fallback(not_found)
        .with_state(state)
}

async fn api(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let request_id = random_uuid().to_string();
    let received = state.kms.clock().now();
    let (parts, body) = request.into_parts();
    let target = parts
        .headers
        .get(TARGET)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let mut account = None;
    let mut query = None;
    let result = match read_body(&parts.headers, body, state.body_read_timeout).await {
        Ok(body) => {
            let call = Received {
                state: Arc::clone(&state),
                parts,
                target: target.clone(),
                peer,
                request_id: request_id.clone(),
                received,
            };
            // The call runs in a task of its own: a client that hangs up drops this handler,
            // and must not cancel a change between its commit and its audit record.
            match tokio::spawn(call.answer(body)).await {
                Ok((result, caller, service)) => {
                    account = caller;
                    query = service;
                    result
                }
                Err(error) => {
                    tracing::error!(%error, "request task failed");
                    Err(ApiError::new(
                        ErrorCode::KmsInternal,
                        strongbox_core::messages::INTERNAL_ERROR,
                    ))
                }
            }
        }
        Err(error) => Err(error),
    };
    let status = result
        .as_ref()
        .map_or_else(|error| error.code.status(), |_| StatusCode::OK);
    let elapsed = started.elapsed();
    let code = result
        .as_ref()
        .err()
        .map_or("OK", |error| error.code.as_str());
    let account = account
        .map(|account| account.to_string())
        .unwrap_or_default();
    let operation = match query {
        Some(service) => service.signing_name(),
        None => operation_label(target.as_deref()),
    };
    metrics::counter!(
        telemetry::REQUESTS,
        "operation" => operation,
        "account" => account.clone(),
        "code" => code,
    )
    .increment(1);
    metrics::histogram!(telemetry::REQUEST_SECONDS, "operation" => operation)
        .record(elapsed.as_secs_f64());
    // One line per request at debug level (the audit trail is the record of every call, and
    // an info line per request costs about a fifth of the server's CPU); server faults at warn.
    macro_rules! log_request {
        ($level:expr) => {
            tracing::event!(
                $level,
                request_id = %request_id,
                account = %account,
                operation,
                status = status.as_u16(),
                error = if code == "OK" { "" } else { code },
                micros = elapsed.as_micros() as u64,
                "request"
            )
        };
    }
    if status.is_server_error() {
        if SERVER_FAULTS.allow().is_some() {
            log_request!(tracing::Level::WARN);
        }
    } else {
        log_request!(tracing::Level::DEBUG);
    }
    match query {
        Some(service) => {
            let (status, body) = match result {
                Ok(body) => (StatusCode::OK, body.into_bytes()),
                Err(error) => {
                    let (status, body) = query::error_body(service, &error, &request_id);
                    (status, Bytes::from(body))
                }
            };
            let mut response = respond(status, &request_id, body);
            response
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("text/xml"));
            response
        }
        None => {
            let body = match result {
                Ok(body) => body.into_bytes(),
                Err(error) => Bytes::from(error.body()),
            };
            respond(status, &request_id, body)
        }
    }
}

/// A request whose body has arrived, with what its audit record needs to know about it.
struct Received {
    state: Arc<AppState>,
    parts: http::request::Parts,
    target: Option<String>,
    peer: SocketAddr,
    request_id: String,
    received: time::OffsetDateTime,
}

impl Received {
    /// Runs the call and records it; the answer leaves only once the record is durable. Also
    /// returns the caller's account, once known.
    async fn answer(
        self,
        body: SecretBuffer,
    ) -> (
        Result<SecretBuffer, ApiError>,
        Option<AccountId>,
        Option<query::Service>,
    ) {
        let mut account = None;
        let mut service = None;
        let result = self.record(body, &mut account, &mut service).await;
        (result, account, service)
    }

    async fn record(
        self,
        body: SecretBuffer,
        account: &mut Option<AccountId>,
        service: &mut Option<query::Service>,
    ) -> Result<SecretBuffer, ApiError> {
        // Boxed: the operations' futures are large, and this task's own future is copied
        // several times over its life (spawned, polled to completion, its output taken).
        let mut handled = Box::pin(handle(
            &self.state,
            &self.parts,
            self.target.as_deref(),
            body.as_slice(),
            self.peer,
            &self.request_id,
        ))
        .await;
        *account = handled.caller.as_ref().map(|caller| caller.account);
        *service = handled.query;
        let (Some(caller), Some(audited)) = (handled.caller.take(), handled.audited.take()) else {
            return handled.result;
        };
        let call = ApiCall {
            time: self.received,
            source_ip: self.peer.ip().to_string(),
            user_agent: header_text(&self.parts.headers, USER_AGENT),
            request_id: self.request_id,
            response_elements: match &handled.result {
                Ok(body) => audit::response_elements(
                    audited.operation,
                    audited.read_only,
                    body.as_slice(),
                    &handled.touched.keys,
                ),
                Err(_) => serde_json::Value::Null,
            },
            error: handled.result.as_ref().err().map(|error| {
                let (code, message) = audit::recorded_error(error);
                // IAM and STS errors are recorded with their own codes (`NoSuchEntity`).
                match handled.query {
                    Some(_) => (query::code_name(error.code).to_owned(), message),
                    None => (code, message),
                }
            }),
            operation: audited.name,
            event_source: audited.event_source,
            read_only: audited.read_only,
            request_parameters: audited.request_parameters,
            resources: handled.touched.keys,
            grants: handled.touched.grants,
            caller,
        };
        let (account, region) = (call.caller.account, call.caller.region);
        // A call on another account's key is recorded in the key owner's trail too, as
        // CloudTrail delivers cross-account events to both accounts.
        let mut owners: Vec<AccountId> = call
            .resources
            .iter()
            .map(|arn| arn.account)
            .filter(|owner| *owner != account)
            .collect();
        owners.sort_unstable_by_key(|owner| owner.to_string());
        owners.dedup();
        let event = Event::api_call(call);
        let copies: Vec<(AccountId, Event)> = owners
            .into_iter()
            .map(|owner| (owner, event.for_recipient(&owner)))
            .collect();
        let audit = self.state.kms.audit();
        audit
            .record(&account, &region, self.received, event)
            .await
            .map_err(ApiError::from)?;
        for (owner, copy) in copies {
            audit
                .record(&owner, &region, self.received, copy)
                .await
                .map_err(ApiError::from)?;
        }
        handled.result
    }
}

/// What the audit record of a call says about it, decided before the call runs.
struct Audited {
    /// The KMS operation, for KMS calls.
    operation: Option<crate::wire::Operation>,
    name: String,
    event_source: &'static str,
    read_only: bool,
    request_parameters: serde_json::Value,
}

/// A handled request: its answer and what its audit record needs.
struct Handled {
    /// Who called, once known (even if the signature then failed).
    caller: Option<Principal>,
    /// How the call is recorded; `None` for calls that are not (LookupEvents).
    audited: Option<Audited>,
    /// Keys the call resolved and grants that allowed it.
    touched: Touched,
    /// The response body or error.
    result: Result<SecretBuffer, ApiError>,
    /// The Query service that answered, for IAM and STS requests (XML answers).
    query: Option<query::Service>,
}

async fn handle(
    state: &AppState,
    parts: &http::request::Parts,
    raw_target: Option<&str>,
    body: &[u8],
    peer: SocketAddr,
    request_id: &str,
) -> Handled {
    let target = raw_target.and_then(Target::parse);
    let cloudtrail = raw_target.is_some_and(operation::is_cloudtrail);
    // Without a target, a form-encoded body with `Action` and `Version` is an IAM or STS call.
    let query = match raw_target {
        None => QueryRequest::parse(body),
        Some(_) => None,
    };
    let mut audited = match target {
        _ if !state.kms.audit().is_enabled() => None,
        Some(Target::LookupEvents) => None,
        Some(Target::Kms(operation)) => Some(Audited {
            operation: Some(operation),
            name: operation.name().to_owned(),
            event_source: strongbox_core::audit::EVENT_SOURCE,
            read_only: operation.facts().read_only,
            request_parameters: serde_json::Value::Null,
        }),
        None if cloudtrail => None,
        None => match &query {
            Some(request) => Some(Audited {
                operation: None,
                // Only the actions served are named; anything else, as for unknown targets,
                // so that an unauthenticated caller cannot write what it likes into a trail.
                name: if request.is_served() {
                    request.action.clone()
                } else {
                    audit::unknown_operation_name(Some(&request.action))
                },
                event_source: request.service.event_source(),
                read_only: request.read_only(),
                request_parameters: serde_json::Value::Null,
            }),
            None => Some(Audited {
                operation: None,
                name: audit::unknown_operation_name(raw_target),
                event_source: strongbox_core::audit::EVENT_SOURCE,
                read_only: true,
                request_parameters: serde_json::Value::Null,
            }),
        },
    };
    let service = match (target, &query) {
        (Some(target), _) => target.service(),
        (None, _) if cloudtrail => Target::LookupEvents.service(),
        (None, Some(request)) => request.service.signing_name(),
        (None, None) => "kms",
    };
    let service_of_query = query.as_ref().map(|request| request.service);
    let principal = match auth::authenticate(state, service, parts, body, peer).await {
        // IAM is global: its calls are recorded in us-east-1, as CloudTrail records them.
        Ok(mut principal) if service_of_query == Some(query::Service::Iam) => {
            principal.region = Region::parse("us-east-1").unwrap_or(principal.region);
            principal
        }
        Ok(principal) => principal,
        // The identity is only claimed: the body is not the caller's word, so its parameters are
        // not recorded (anyone who knows an access key id could otherwise write into its trail).
        Err(rejected) => {
            return Handled {
                caller: rejected.claimed,
                audited,
                touched: Touched::default(),
                result: Err(rejected.error),
                query: service_of_query,
            };
        }
    };
    // Over its quota, a call is refused before any work and not recorded: it changed nothing,
    // and a flood must not fill the trail (strongbox_throttled_total counts them).
    if let Some(Target::Kms(operation)) = target
        && let Err(throttled) =
            state
                .quotas
                .admit(&principal.account, &principal.region, operation, body)
    {
        tokio::time::sleep(crate::quota::THROTTLED_DELAY).await;
        return Handled {
            caller: Some(principal),
            audited: None,
            touched: Touched::default(),
            result: Err(throttled),
            query: None,
        };
    }
    // Parameters are read only from a verified body.
    if let (Some(Target::Kms(_)), Some(audited)) = (target, audited.as_mut()) {
        audited.request_parameters = audit::request_parameters(body);
    }
    if let (Some(request), Some(audited)) = (&query, audited.as_mut()) {
        audited.request_parameters = audit::bounded(request.request_parameters());
    }
    let (result, touched) = match target {
        None if let Some(request) = &query => (
            query::dispatch(&state.kms, &principal, request, request_id)
                .await
                .map(SecretBuffer::from_string),
            Touched::default(),
        ),
        None => {
            let message = match raw_target {
                Some(raw) => format!("Unknown operation {raw}"),
                None => "Missing X-Amz-Target header naming the operation".to_owned(),
            };
            (
                Err(ApiError::new(ErrorCode::UnknownOperation, message)),
                Touched::default(),
            )
        }
        Some(Target::LookupEvents) => (
            dispatch::lookup_events(&state.kms, &principal, body).await,
            Touched::default(),
        ),
        Some(Target::Kms(operation)) => {
            resources::collect(dispatch::dispatch(
                &state.kms,
                &state.scheduler,
                &principal,
                operation,
                body,
            ))
            .await
        }
    };
    Handled {
        caller: Some(principal),
        audited,
        touched,
        result,
        query: service_of_query,
    }
}

fn header_text(headers: &http::HeaderMap, name: http::header::HeaderName) -> String {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .chars()
        .take(MAX_USER_AGENT)
        .collect()
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

/// `GET /health`: liveness. 200 whenever the process answers, `{"status":"ok"}`, or
/// `{"status":"degraded","reasons":[...]}` while the disk is below its watermark (the server
/// still works; `/ready` says whether it can take requests).
async fn health(State(state): State<Arc<AppState>>) -> Response {
    let request_id = random_uuid().to_string();
    state.disk.check();
    let body = match state.disk.reason() {
        None => serde_json::json!({"status": "ok"}),
        Some(reason) => serde_json::json!({"status": "degraded", "reasons": [reason]}),
    };
    respond(StatusCode::OK, &request_id, body.to_string())
}

/// `GET /ready`: 200 `{"status":"ready"}` when the store answers, the root key opens the
/// store's check value, the audit trail can be written and the disk is above its watermark;
/// otherwise 503 naming each check that failed (details in the log, never secrets), or
/// `{"status":"sealed"}` while the seal waits for `strongbox operator unseal`.
async fn ready(State(state): State<Arc<AppState>>) -> Response {
    let request_id = random_uuid().to_string();
    if state.kms.seal_status().sealed {
        let body = serde_json::json!({
            "status": "sealed",
            "failed": [{"check": "seal", "reason": "the service is sealed: run `strongbox operator unseal`"}],
        });
        return respond(
            StatusCode::SERVICE_UNAVAILABLE,
            &request_id,
            body.to_string(),
        );
    }
    let mut failed = Vec::new();
    match state.kms.store().ping().await {
        Err(error) => {
            tracing::warn!(%error, "readiness: store unreachable");
            failed.push(("store", "the store does not answer".to_owned()));
        }
        Ok(()) => {
            if let Err(error) = state.kms.verify_root_key().await {
                let detail = match &error {
                    strongbox_core::Error::Internal(internal) => internal.detail(),
                    other => other.to_string(),
                };
                tracing::warn!(%detail, "readiness: root key check failed");
                failed.push((
                    "root_key",
                    "the root key does not open the store's check value, or the value could not be read".to_owned(),
                ));
            }
        }
    }
    if !state.kms.audit().is_writable() {
        failed.push((
            "audit",
            "the audit journal cannot be written (a recent write or sync failed, or it is closed)"
                .to_owned(),
        ));
    }
    if state.disk.check()
        && let Some(reason) = state.disk.reason()
    {
        failed.push(("disk", reason));
    }
    if failed.is_empty() {
        return respond(StatusCode::OK, &request_id, r#"{"status":"ready"}"#);
    }
    let failed: Vec<_> = failed
        .into_iter()
        .map(|(check, reason)| serde_json::json!({"check": check, "reason": reason}))
        .collect();
    let body = serde_json::json!({"status": "not ready", "failed": failed}).to_string();
    respond(StatusCode::SERVICE_UNAVAILABLE, &request_id, body)
}

/// The operation as a metric label: the KMS or CloudTrail operation name, `unknown` for any
/// other target (never the raw header: a client must not be able to mint label values).
fn operation_label(target: Option<&str>) -> &'static str {
    match target.and_then(Target::parse) {
        Some(Target::Kms(operation)) => operation.name(),
        Some(Target::LookupEvents) => "LookupEvents",
        None => "unknown",
    }
}

/// `GET /metrics`: Prometheus text.
async fn prometheus() -> Response {
    let mut response = Response::new(Body::from(telemetry::render()));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// The metrics alone, for `--metrics-listen`.
pub fn metrics_router() -> Router {
    Router::new()
        .route(METRICS_PATH, get(prometheus))
        .fallback(not_found)
}

/// The 404 answer for every path outside the API.
pub(crate) async fn not_found() -> Response {
    let error = ApiError::new(
        ErrorCode::UnknownOperation,
        "Not found: the KMS API is POST / with X-Amz-Target; health is GET /health",
    );
    respond(
        StatusCode::NOT_FOUND,
        &random_uuid().to_string(),
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
