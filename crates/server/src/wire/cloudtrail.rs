//! CloudTrail's LookupEvents shapes (service model 2013-11-01), for querying the audit trail.

use serde::{Deserialize, Serialize};

/// `LookupEventsRequest`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupEventsRequest {
    /// At most one attribute filter.
    pub lookup_attributes: Option<Vec<LookupAttribute>>,
    /// Epoch seconds, inclusive.
    pub start_time: Option<f64>,
    /// Epoch seconds, inclusive.
    pub end_time: Option<f64>,
    /// `insight` asks for Insights events, which Strongbox does not produce.
    pub event_category: Option<String>,
    /// 1 to 50, default 50.
    pub max_results: Option<i64>,
    /// From the previous page.
    pub next_token: Option<String>,
}

/// `LookupAttribute`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupAttribute {
    /// `EventId`, `EventName`, `ReadOnly`, `Username`, `ResourceType`, `ResourceName`,
    /// `EventSource` or `AccessKeyId`.
    pub attribute_key: Option<String>,
    /// The value to match exactly.
    pub attribute_value: Option<String>,
}

/// `LookupEventsResponse`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupEventsResponse {
    /// Newest first.
    pub events: Vec<EventEntry>,
    /// Present when there are more.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// `Event`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventEntry {
    /// The record's `eventID`.
    pub event_id: String,
    /// The record's `eventName`.
    pub event_name: String,
    /// `"true"` or `"false"` (a string in CloudTrail's model).
    pub read_only: String,
    /// The signing access key, absent for service events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    /// Epoch seconds.
    pub event_time: f64,
    /// `kms.amazonaws.com`.
    pub event_source: String,
    /// The calling user, absent for service events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The keys involved.
    pub resources: Vec<ResourceEntry>,
    /// The whole record, as a JSON string.
    pub cloud_trail_event: String,
}

/// `Resource`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ResourceEntry {
    /// `AWS::KMS::Key`.
    pub resource_type: String,
    /// The key ARN.
    pub resource_name: String,
}
