//! The audit record: one CloudTrail event, in the record format CloudTrail delivers for KMS.
//!
//! Field names and order follow CloudTrail's record contents; `auditChain` is Strongbox's one
//! addition, the link that makes the log tamper-evident (see [`super::chain`]).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::model::{GrantId, KeyArn, Principal};
use crate::policy::CallerKind;

/// The CloudTrail record version these records follow.
pub const EVENT_VERSION: &str = "1.11";
/// CloudTrail's name for KMS as an event source.
pub const EVENT_SOURCE: &str = "kms.amazonaws.com";
/// The event source of Strongbox's own events about the trail itself.
pub const STRONGBOX_SOURCE: &str = "strongbox.audit";
/// The `eventName` of the record that marks a recovery after an unclean stop.
pub const RECOVERY_EVENT: &str = "StrongboxAuditRecovery";
/// The resource type of every key in `resources`.
pub const KEY_RESOURCE_TYPE: &str = "AWS::KMS::Key";

/// Who made the call: an IAM-style user of an account, or KMS itself for service events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    /// `IAMUser` for API calls; absent for service events.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none", default)]
    pub kind: Option<String>,
    /// A stable id of the principal.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub principal_id: Option<String>,
    /// The principal's ARN.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub arn: Option<String>,
    /// The principal's account.
    pub account_id: String,
    /// The access key that signed the request.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub access_key_id: Option<String>,
    /// The user name behind the access key.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_name: Option<String>,
    /// `kms.amazonaws.com` for the service's own events.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub invoked_by: Option<String>,
    /// For a role session: the role that issued it (`sessionIssuer`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub session_context: Option<Value>,
}

impl UserIdentity {
    /// The `userIdentity` of an event a service did on its own, in `account`: only the account
    /// and the service (`invokedBy`).
    fn service(account: &str, service: &str) -> Self {
        Self {
            kind: None,
            principal_id: None,
            arn: None,
            account_id: account.to_owned(),
            access_key_id: None,
            user_name: None,
            invoked_by: Some(service.to_owned()),
            session_context: None,
        }
    }

    /// CloudTrail's `userIdentity` for a caller: `IAMUser`, `Root` or `AssumedRole`.
    pub fn of(principal: &Principal) -> Self {
        let caller = principal.caller();
        let account = caller.account.to_string();
        let (kind, user_name, session_context) = match &caller.kind {
            CallerKind::Root => ("Root", None, None),
            CallerKind::User { name } => ("IAMUser", Some(name.clone()), None),
            CallerKind::AssumedRole { role_arn, .. } => {
                let role_id = caller.user_id.split(':').next().unwrap_or_default();
                let role_name = role_arn.rsplit('/').next().unwrap_or_default();
                let context = serde_json::json!({
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": role_id,
                        "arn": role_arn,
                        "accountId": account,
                        "userName": role_name,
                    },
                    "attributes": {"mfaAuthenticated": "false"},
                });
                ("AssumedRole", None, Some(context))
            }
        };
        Self {
            kind: Some(kind.to_owned()),
            principal_id: Some(caller.user_id.clone()),
            arn: Some(caller.arn.clone()),
            account_id: account,
            access_key_id: Some(principal.access_key_id.to_string()),
            user_name,
            invoked_by: None,
            session_context,
        }
    }
}

/// A key the event touched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// The key's account.
    #[serde(rename = "accountId")]
    pub account_id: String,
    /// Always [`KEY_RESOURCE_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// The key ARN.
    #[serde(rename = "ARN")]
    pub arn: String,
}

impl Resource {
    /// The resource entry for a key.
    pub fn key(arn: &KeyArn) -> Self {
        Self {
            account_id: arn.account.to_string(),
            kind: KEY_RESOURCE_TYPE.to_owned(),
            arn: arn.to_string(),
        }
    }
}

/// The record's place in its chain; set by the writer when the record is sequenced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainLink {
    /// Position in the account's chain in the Region, from 1, without gaps.
    pub sequence: u64,
    /// Hex SHA-256 of the previous record's bytes (of the checkpoint or zeros for the first).
    pub previous_hash: String,
}

/// One CloudTrail record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// [`EVENT_VERSION`].
    pub event_version: String,
    /// Who called.
    pub user_identity: UserIdentity,
    /// When, to the second, UTC (`2026-11-29T02:10:49Z`).
    pub event_time: String,
    /// [`EVENT_SOURCE`].
    pub event_source: String,
    /// The operation (`Encrypt`) or service action (`RotateKey`, `DeleteKey`).
    pub event_name: String,
    /// The Region of the call.
    pub aws_region: String,
    /// The client's address, or `kms.amazonaws.com` for service events.
    #[serde(rename = "sourceIPAddress")]
    pub source_ip_address: String,
    /// The client's `User-Agent`.
    pub user_agent: String,
    /// The AWS error code of a failed call.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_code: Option<String>,
    /// The error message of a failed call.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_message: Option<String>,
    /// The request's non-secret parameters (never plaintext, key material or ciphertext).
    pub request_parameters: Value,
    /// Metadata returned by management operations; null for cryptographic operations.
    pub response_elements: Value,
    /// Facts beyond the request and response: the grant that allowed the call, or that
    /// RetireGrant retired (`{"grantId": "..."}`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub additional_event_data: Option<Value>,
    /// The `x-amzn-RequestId` of the response.
    #[serde(rename = "requestID", skip_serializing_if = "Option::is_none", default)]
    pub request_id: Option<String>,
    /// A unique id of this record.
    #[serde(rename = "eventID")]
    pub event_id: String,
    /// Whether the operation only reads.
    pub read_only: bool,
    /// The keys involved.
    pub resources: Vec<Resource>,
    /// `AwsApiCall` or `AwsServiceEvent`.
    pub event_type: String,
    /// Always true: every KMS event is a management event.
    pub management_event: bool,
    /// Always `Management`.
    pub event_category: String,
    /// The account whose log holds the record.
    pub recipient_account_id: String,
    /// What a service event did.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub service_event_details: Option<Value>,
    /// The hash-chain link.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub audit_chain: Option<ChainLink>,
}

/// What the HTTP layer knows about one API call.
#[derive(Clone, Debug)]
pub struct ApiCall {
    /// Who (for a refused signature: who the access key belongs to).
    pub caller: Principal,
    /// When the call arrived.
    pub time: OffsetDateTime,
    /// The operation name.
    pub operation: String,
    /// The service that answered (`kms.amazonaws.com`, `iam.amazonaws.com`, ...).
    pub event_source: &'static str,
    /// Whether the operation only reads.
    pub read_only: bool,
    /// The client's address.
    pub source_ip: String,
    /// The client's `User-Agent`.
    pub user_agent: String,
    /// The response's request id.
    pub request_id: String,
    /// Non-secret request parameters.
    pub request_parameters: Value,
    /// Response metadata (management operations) or null.
    pub response_elements: Value,
    /// `(code, message)` of a failure.
    pub error: Option<(String, String)>,
    /// Keys the call resolved.
    pub resources: Vec<KeyArn>,
    /// Grants that allowed the call (or that it retired).
    pub grants: Vec<GrantId>,
}

impl Event {
    /// The copy delivered to another account (the owner of a key the call used): the same
    /// call, with that account as the recipient and an event id of its own.
    pub fn for_recipient(&self, recipient: &crate::model::AccountId) -> Self {
        let mut copy = self.clone();
        copy.recipient_account_id = recipient.to_string();
        copy.event_id = crate::model::ids::random_uuid().to_string();
        copy.audit_chain = None;
        copy
    }

    /// The record of an API call.
    pub fn api_call(call: ApiCall) -> Self {
        let account = call.caller.account.to_string();
        let (error_code, error_message) = call.error.unzip();
        Self {
            event_version: EVENT_VERSION.to_owned(),
            user_identity: UserIdentity::of(&call.caller),
            event_time: event_time(call.time),
            event_source: call.event_source.to_owned(),
            event_name: call.operation,
            aws_region: call.caller.region.to_string(),
            source_ip_address: call.source_ip,
            user_agent: call.user_agent,
            error_code,
            error_message,
            request_parameters: call.request_parameters,
            response_elements: call.response_elements,
            additional_event_data: grant_data(&call.grants),
            request_id: Some(call.request_id),
            event_id: crate::model::ids::random_uuid().to_string(),
            read_only: call.read_only,
            resources: call.resources.iter().map(Resource::key).collect(),
            event_type: "AwsApiCall".to_owned(),
            management_event: true,
            event_category: "Management".to_owned(),
            recipient_account_id: account,
            service_event_details: None,
            audit_chain: None,
        }
    }

    /// The record of something KMS did on its own (a scheduled rotation or deletion), as AWS
    /// records them: invoked by `kms.amazonaws.com`, no request, `AwsServiceEvent`.
    pub fn service(name: &str, key: &KeyArn, time: OffsetDateTime, details: Value) -> Self {
        Self::service_event(
            EVENT_SOURCE,
            name,
            (&key.account, &key.region),
            time,
            vec![Resource::key(key)],
            details,
        )
    }

    /// The record a chain gets when its sink opened after an unclean stop: the newest record
    /// found, and how many torn bytes were cut, so that a verifier knows that the records of
    /// read-only calls in the sync window before the stop may be missing.
    pub fn audit_recovery(
        account: &crate::model::AccountId,
        region: &crate::model::Region,
        time: OffsetDateTime,
        head: &super::Head,
        torn_bytes: u64,
    ) -> Self {
        let details = serde_json::json!({
            "reason": "the audit journal was not closed cleanly (a crash, kill or power loss)",
            "lastRecordFound": head.sequence,
            "lastRecordHash": hex::encode(head.hash),
            "tornBytesCut": torn_bytes,
        });
        Self::service_event(
            STRONGBOX_SOURCE,
            RECOVERY_EVENT,
            (account, region),
            time,
            Vec::new(),
            details,
        )
    }

    /// An `AwsServiceEvent` of `source` in the chain of `(account, region)`.
    fn service_event(
        source: &str,
        name: &str,
        (account, region): (&crate::model::AccountId, &crate::model::Region),
        time: OffsetDateTime,
        resources: Vec<Resource>,
        details: Value,
    ) -> Self {
        let account = account.to_string();
        Self {
            event_version: EVENT_VERSION.to_owned(),
            user_identity: UserIdentity::service(&account, source),
            event_time: event_time(time),
            event_source: source.to_owned(),
            event_name: name.to_owned(),
            aws_region: region.to_string(),
            source_ip_address: source.to_owned(),
            user_agent: source.to_owned(),
            error_code: None,
            error_message: None,
            request_parameters: Value::Null,
            response_elements: Value::Null,
            additional_event_data: None,
            request_id: None,
            event_id: crate::model::ids::random_uuid().to_string(),
            read_only: false,
            resources,
            event_type: "AwsServiceEvent".to_owned(),
            management_event: true,
            event_category: "Management".to_owned(),
            recipient_account_id: account,
            service_event_details: Some(details),
            audit_chain: None,
        }
    }
}

/// `additionalEventData` for the grants a call used: `{"grantId": "..."}` as CloudTrail
/// records RetireGrant's, and `{"grantIds": [...]}` when a call used several (a ReEncrypt
/// allowed by a grant on each key).
fn grant_data(grants: &[GrantId]) -> Option<Value> {
    match grants {
        [] => None,
        [one] => Some(serde_json::json!({ "grantId": one.to_string() })),
        several => Some(serde_json::json!({
            "grantIds": several.iter().map(ToString::to_string).collect::<Vec<_>>()
        })),
    }
}

/// CloudTrail's event time: RFC 3339, whole seconds, UTC.
pub fn event_time(time: OffsetDateTime) -> String {
    let time = time.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_time_is_whole_seconds_utc() {
        let time = time::macros::datetime!(2026-11-29 02:10:49.987 +01:00);
        assert_eq!(event_time(time), "2026-11-29T01:10:49Z");
    }
}
