//! The bare-HTTP baseline: what the HTTP stack alone allows. It reads a JSON body, parses it, and
//! answers a JSON body of the same size, with no authentication and no cryptography, so the
//! ratio Strongbox/baseline shows what Strongbox's own work costs.

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

/// The baseline's router: `POST /` with any JSON body.
pub fn router() -> Router {
    Router::new().route("/", post(answer))
}

/// Parses the body (a malformed one gets a 400, as a real service would) and answers a JSON
/// object padded to the request's size.
async fn answer(body: Bytes) -> Response {
    let Ok(parsed) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (
            axum::http::StatusCode::BAD_REQUEST,
            r#"{"__type":"SerializationException"}"#,
        )
            .into_response();
    };
    let members = parsed.as_object().map_or(0, serde_json::Map::len);
    let mut answer = format!(r#"{{"Members":{members},"Padding":""#);
    let target = body.len().max(answer.len() + 2);
    answer.extend(std::iter::repeat_n('x', target - answer.len() - 2));
    answer.push_str("\"}");
    let mut response = answer.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.1"),
    );
    response
}
