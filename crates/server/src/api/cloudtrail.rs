//! CloudTrail's LookupEvents over the audit trail: the caller's own events in the Region it
//! signed for, newest first, with CloudTrail's parameter rules and error codes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use strongbox_core::Kms;
use strongbox_core::audit::event::{EVENT_SOURCE, KEY_RESOURCE_TYPE};
use strongbox_core::audit::{AuditRecord, LookupAttribute, LookupQuery};
use strongbox_core::model::Principal;
use time::OffsetDateTime;

use crate::wire::cloudtrail::{
    EventEntry, LookupAttribute as WireAttribute, LookupEventsRequest, LookupEventsResponse,
    ResourceEntry,
};
use crate::wire::{ApiError, ErrorCode};

/// CloudTrail's page size bounds.
const MAX_RESULTS: i64 = 50;
/// CloudTrail's limit on an attribute value.
const MAX_VALUE_LEN: usize = 2000;

/// What the query filters on, before it is known whether it can match at all.
enum Filter {
    /// A filter the store applies (or none).
    Store(Option<LookupAttribute>),
    /// A filter no Strongbox event matches (another event source, Insights events).
    Nothing,
}

/// LookupEvents.
pub async fn lookup_events(
    kms: &Kms,
    principal: &Principal,
    request: LookupEventsRequest,
) -> Result<LookupEventsResponse, ApiError> {
    let filter = match request.event_category.as_deref() {
        None => attribute(request.lookup_attributes.as_deref().unwrap_or_default())?,
        Some("insight") => {
            attribute(request.lookup_attributes.as_deref().unwrap_or_default())?;
            Filter::Nothing
        }
        Some(other) => {
            return Err(ApiError::new(
                ErrorCode::InvalidEventCategory,
                format!("Event category '{other}' is not valid; the only category is 'insight'."),
            ));
        }
    };
    let limit = request.max_results.unwrap_or(MAX_RESULTS);
    if !(1..=MAX_RESULTS).contains(&limit) {
        return Err(ApiError::new(
            ErrorCode::InvalidMaxResults,
            format!("MaxResults must be between 1 and {MAX_RESULTS}; got {limit}."),
        ));
    }
    // Records show their time to the second: a range includes the whole seconds it names.
    let start = request
        .start_time
        .map(timestamp)
        .transpose()?
        .map(whole_second);
    let end = request
        .end_time
        .map(timestamp)
        .transpose()?
        .map(|end| whole_second(end) + time::Duration::milliseconds(999));
    if let (Some(start), Some(end)) = (start, end)
        && start > end
    {
        return Err(ApiError::new(
            ErrorCode::InvalidTimeRange,
            "The start time must not be after the end time.",
        ));
    }
    let attribute = match filter {
        Filter::Store(attribute) => attribute,
        Filter::Nothing => {
            return Ok(LookupEventsResponse {
                events: Vec::new(),
                next_token: None,
            });
        }
    };
    let binding = query_binding(&attribute, start, end);
    let after = request
        .next_token
        .as_deref()
        .map(|token| decode_token(token, &binding))
        .transpose()?;
    let query = LookupQuery {
        start,
        end,
        attribute,
        // One more than asked, to know whether there is a next page.
        limit: u32::try_from(limit + 1).unwrap_or(u32::MAX),
        after,
    };
    let mut records = kms.lookup_events(principal, &query).await?;
    let next_token = if records.len() as i64 > limit {
        records.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        records
            .last()
            .map(|last| encode_token(last.event_time, last.sequence, &binding))
    } else {
        None
    };
    Ok(LookupEventsResponse {
        events: records.into_iter().map(entry).collect(),
        next_token,
    })
}

fn attribute(attributes: &[WireAttribute]) -> Result<Filter, ApiError> {
    let invalid = |message: String| ApiError::new(ErrorCode::InvalidLookupAttributes, message);
    let attribute = match attributes {
        [] => return Ok(Filter::Store(None)),
        [attribute] => attribute,
        _ => {
            return Err(invalid(
                "You can specify only one lookup attribute.".to_owned(),
            ));
        }
    };
    let key = attribute.attribute_key.as_deref().unwrap_or_default();
    let value = attribute.attribute_value.clone().unwrap_or_default();
    if value.is_empty() || value.len() > MAX_VALUE_LEN {
        return Err(invalid(format!(
            "The value of lookup attribute {key} must be 1 to {MAX_VALUE_LEN} characters long."
        )));
    }
    let attribute = match key {
        "EventId" => LookupAttribute::EventId(value),
        "EventName" => LookupAttribute::EventName(value),
        "Username" => LookupAttribute::Username(value),
        "AccessKeyId" => LookupAttribute::AccessKeyId(value),
        "ResourceName" => LookupAttribute::ResourceName(value),
        "ResourceType" => LookupAttribute::ResourceType(value),
        "ReadOnly" => match value.as_str() {
            "true" => LookupAttribute::ReadOnly(true),
            "false" => LookupAttribute::ReadOnly(false),
            _ => return Err(invalid("ReadOnly must be 'true' or 'false'.".to_owned())),
        },
        "EventSource" if value == EVENT_SOURCE => return Ok(Filter::Store(None)),
        "EventSource" => return Ok(Filter::Nothing),
        other => {
            return Err(invalid(format!(
                "Lookup attribute key '{other}' is not valid; use EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource or AccessKeyId."
            )));
        }
    };
    Ok(Filter::Store(Some(attribute)))
}

fn timestamp(seconds: f64) -> Result<OffsetDateTime, ApiError> {
    let nanos = (seconds * 1e9).round();
    if !nanos.is_finite() {
        return Err(time_range_error());
    }
    // Within i128 for any f64 that reaches here; out-of-range dates are rejected by `time`.
    OffsetDateTime::from_unix_timestamp_nanos(nanos as i128).map_err(|_| time_range_error())
}

fn whole_second(time: OffsetDateTime) -> OffsetDateTime {
    time.replace_nanosecond(0).unwrap_or(time)
}

fn time_range_error() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidTimeRange,
        "The time is outside the range of possible values.",
    )
}

/// What a token is bound to: CloudTrail requires the same parameters with a NextToken.
fn query_binding(
    attribute: &Option<LookupAttribute>,
    start: Option<OffsetDateTime>,
    end: Option<OffsetDateTime>,
) -> String {
    let text = format!("{attribute:?}|{start:?}|{end:?}");
    hex::encode(&strongbox_crypto::sha256(text.as_bytes())[..8])
}

fn encode_token(time: OffsetDateTime, sequence: u64, binding: &str) -> String {
    let millis = time.unix_timestamp_nanos() / 1_000_000;
    URL_SAFE_NO_PAD.encode(format!("v1.{millis}.{sequence}.{binding}"))
}

fn decode_token(token: &str, binding: &str) -> Result<(OffsetDateTime, u64), ApiError> {
    let invalid = || {
        ApiError::new(
            ErrorCode::InvalidNextToken,
            "The NextToken is not valid, or was issued for a request with other parameters.",
        )
    };
    let decoded = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let decoded = String::from_utf8(decoded).map_err(|_| invalid())?;
    let mut parts = decoded.split('.');
    let (Some("v1"), Some(millis), Some(sequence), Some(bound), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(invalid());
    };
    if bound != binding {
        return Err(invalid());
    }
    let millis: i64 = millis.parse().map_err(|_| invalid())?;
    let sequence: u64 = sequence.parse().map_err(|_| invalid())?;
    let time = OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000)
        .map_err(|_| invalid())?;
    Ok((time, sequence))
}

/// The service a record is of (`kms.amazonaws.com`, `iam.amazonaws.com`, ...), read from the
/// record itself.
fn event_source(record: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Source {
        #[serde(rename = "eventSource")]
        event_source: Option<String>,
    }
    serde_json::from_slice::<Source>(record)
        .ok()
        .and_then(|source| source.event_source)
        .unwrap_or_else(|| EVENT_SOURCE.to_owned())
}

fn entry(record: AuditRecord) -> EventEntry {
    EventEntry {
        event_id: record.event_id,
        event_name: record.event_name,
        read_only: record.read_only.to_string(),
        access_key_id: record.access_key_id,
        // Whole seconds, as the record's own eventTime.
        event_time: record.event_time.unix_timestamp() as f64,
        event_source: event_source(&record.record),
        username: record.user_name,
        resources: record
            .resources
            .into_iter()
            .map(|arn| ResourceEntry {
                resource_type: KEY_RESOURCE_TYPE.to_owned(),
                resource_name: arn,
            })
            .collect(),
        cloud_trail_event: String::from_utf8_lossy(&record.record).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_bind_to_the_query() {
        let time = time::macros::datetime!(2026-11-29 02:00:00.123 UTC);
        let binding = query_binding(&None, None, None);
        let token = encode_token(time, 42, &binding);
        assert_eq!(decode_token(&token, &binding).unwrap(), (time, 42));
        let other = query_binding(&Some(LookupAttribute::ReadOnly(true)), None, None);
        assert_eq!(
            decode_token(&token, &other).unwrap_err().code,
            ErrorCode::InvalidNextToken
        );
        for bad in ["", "!!", "djE", &URL_SAFE_NO_PAD.encode("v1.x.1.abc")] {
            assert_eq!(
                decode_token(bad, &binding).unwrap_err().code,
                ErrorCode::InvalidNextToken
            );
        }
    }
}
