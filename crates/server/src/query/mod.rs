//! The IAM and STS Query APIs on the KMS endpoint: form-encoded `Action=...&Version=...` bodies,
//! XML answers and errors exactly as those services write them, signed for `iam` or `sts`.
//!
//! The handlers call the same core functions as the admin CLI; authorization goes through the
//! same evaluator as KMS, with IAM actions (`iam:CreateUser`, `sts:AssumeRole`).

mod iam;
mod sts;
pub mod xml;

use http::StatusCode;
use strongbox_core::Kms;
use strongbox_core::model::Principal;

use self::xml::Xml;
use crate::wire::{ApiError, ErrorCode};

/// A service answering the Query protocol here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// IAM, API version 2010-05-08.
    Iam,
    /// STS, API version 2011-06-15.
    Sts,
}

impl Service {
    fn from_version(version: &str) -> Option<Self> {
        match version {
            "2010-05-08" => Some(Service::Iam),
            "2011-06-15" => Some(Service::Sts),
            _ => None,
        }
    }

    /// The SigV4 service name.
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::Iam => "iam",
            Service::Sts => "sts",
        }
    }

    /// The XML namespace of its answers.
    fn namespace(self) -> &'static str {
        match self {
            Service::Iam => "https://iam.amazonaws.com/doc/2010-05-08/",
            Service::Sts => "https://sts.amazonaws.com/doc/2011-06-15/",
        }
    }

    /// CloudTrail's `eventSource`.
    pub fn event_source(self) -> &'static str {
        match self {
            Service::Iam => "iam.amazonaws.com",
            Service::Sts => "sts.amazonaws.com",
        }
    }
}

/// A Query request: the service, the action and its parameters.
#[derive(Debug)]
pub struct QueryRequest {
    /// The service, from `Version`.
    pub service: Service,
    /// The action, as sent.
    pub action: String,
    params: Vec<(String, String)>,
}

impl QueryRequest {
    /// Reads a form-encoded body with `Action` and a known `Version`; `None` when the body is
    /// not one (it is then a KMS request without a target).
    pub fn parse(body: &[u8]) -> Option<Self> {
        let params: Vec<(String, String)> = form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let find = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let action = find("Action")?;
        let service = Service::from_version(&find("Version")?)?;
        Some(Self {
            service,
            action,
            params,
        })
    }

    /// A parameter, if sent (an empty value counts as sent).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str, member: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| {
            ApiError::new(
                ErrorCode::Validation,
                strongbox_core::messages::validation(&[strongbox_core::messages::Violation::null(
                    member,
                )]),
            )
        })
    }

    fn integer(&self, name: &str, member: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|value| {
                value.parse::<i64>().map_err(|_| {
                    ApiError::new(
                        ErrorCode::Validation,
                        format!("Value '{value}' at '{member}' is not a valid integer"),
                    )
                })
            })
            .transpose()
    }

    /// Whether the action is one this server answers.
    pub fn is_served(&self) -> bool {
        let served = match self.service {
            Service::Iam => iam::ACTIONS,
            Service::Sts => sts::ACTIONS,
        };
        served.contains(&self.action.as_str())
    }

    /// Whether the action only reads (CloudTrail's `readOnly`).
    pub fn read_only(&self) -> bool {
        ["Get", "List"]
            .iter()
            .any(|prefix| self.action.starts_with(prefix))
    }

    /// The parameters CloudTrail records: every one but the action and version, with
    /// lower-camel names (`userName`), as CloudTrail writes IAM's and STS's.
    pub fn request_parameters(&self) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (name, value) in &self.params {
            if name == "Action" || name == "Version" {
                continue;
            }
            let mut chars = name.chars();
            let camel: String = chars
                .next()
                .map(|first| first.to_lowercase().chain(chars).collect())
                .unwrap_or_default();
            map.insert(camel, serde_json::Value::String(value.clone()));
        }
        serde_json::Value::Object(map)
    }
}

/// Runs a Query request and writes its XML answer.
pub async fn dispatch(
    kms: &Kms,
    principal: &Principal,
    request: &QueryRequest,
    request_id: &str,
) -> Result<String, ApiError> {
    let mut xml = Xml::default();
    let response = format!("{}Response", request.action);
    xml.open_ns(&response, request.service.namespace());
    match request.service {
        Service::Iam => iam::run(kms, principal, request, &mut xml).await?,
        Service::Sts => sts::run(kms, principal, request, &mut xml).await?,
    }
    xml.open("ResponseMetadata")
        .text("RequestId", request_id)
        .close("ResponseMetadata")
        .close(&response);
    Ok(xml.finish())
}

/// The Query protocol's code and HTTP status for an error the KMS side names.
fn query_code(code: ErrorCode) -> (&'static str, StatusCode) {
    match code {
        ErrorCode::NotFound => ("NoSuchEntity", StatusCode::NOT_FOUND),
        ErrorCode::AlreadyExists => ("EntityAlreadyExists", StatusCode::CONFLICT),
        ErrorCode::Conflict => ("DeleteConflict", StatusCode::CONFLICT),
        ErrorCode::LimitExceeded => ("LimitExceeded", StatusCode::CONFLICT),
        ErrorCode::MalformedPolicyDocument => ("MalformedPolicyDocument", StatusCode::BAD_REQUEST),
        ErrorCode::AccessDenied => ("AccessDenied", StatusCode::FORBIDDEN),
        ErrorCode::UnrecognizedClient => ("InvalidClientTokenId", StatusCode::FORBIDDEN),
        ErrorCode::InvalidSignature => ("SignatureDoesNotMatch", StatusCode::FORBIDDEN),
        ErrorCode::IncompleteSignature => ("IncompleteSignature", StatusCode::BAD_REQUEST),
        ErrorCode::MissingAuthenticationToken => {
            ("MissingAuthenticationToken", StatusCode::FORBIDDEN)
        }
        ErrorCode::ExpiredToken => ("ExpiredToken", StatusCode::FORBIDDEN),
        ErrorCode::Throttling => ("Throttling", StatusCode::BAD_REQUEST),
        ErrorCode::UnknownOperation => ("InvalidAction", StatusCode::BAD_REQUEST),
        ErrorCode::KmsInternal => ("ServiceFailure", StatusCode::INTERNAL_SERVER_ERROR),
        ErrorCode::RequestEntityTooLarge => {
            ("RequestEntityTooLarge", StatusCode::PAYLOAD_TOO_LARGE)
        }
        ErrorCode::RequestTimeout => ("RequestTimeout", StatusCode::REQUEST_TIMEOUT),
        ErrorCode::Serialization => ("MalformedQueryString", StatusCode::BAD_REQUEST),
        _ => ("ValidationError", StatusCode::BAD_REQUEST),
    }
}

/// The Query protocol's name of an error code (`NoSuchEntity` for `NotFound`).
pub fn code_name(code: ErrorCode) -> &'static str {
    query_code(code).0
}

/// The Query protocol's error document and status.
pub fn error_body(service: Service, error: &ApiError, request_id: &str) -> (StatusCode, String) {
    let (code, status) = query_code(error.code);
    let kind = if status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    let mut xml = Xml::default();
    xml.open_ns("ErrorResponse", service.namespace())
        .open("Error")
        .text("Type", kind)
        .text("Code", code)
        .text("Message", &error.message)
        .close("Error")
        .text("RequestId", request_id)
        .close("ErrorResponse");
    (status, xml.finish())
}

/// ISO 8601 with seconds, as IAM writes dates.
fn date(at: time::OffsetDateTime) -> String {
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
