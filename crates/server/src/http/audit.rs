//! What an API call's audit record says about its request and response, drawn from the wire
//! bodies by allow-list, so that plaintexts, key material, ciphertext blobs, signatures and
//! MACs can never reach the audit trail, whatever the operation.

use std::fmt;

use serde::Deserializer;
use serde::de::{IgnoredAny, MapAccess, Visitor};
use serde_json::{Map, Value};

use strongbox_core::model::KeyArn;

use crate::wire::{ApiError, ErrorCode, Operation};

/// Request members that are recorded, as CloudTrail records them for KMS: identifiers,
/// algorithms, sizes, encryption contexts and settings. Anything else (Plaintext,
/// CiphertextBlob, Message, Signature, Mac, PublicKey, GrantTokens, Recipient, ...) is skipped
/// unread.
const RECORDED_MEMBERS: &[&str] = &[
    "AliasName",
    "BypassPolicyLockoutSafetyCheck",
    "Constraints",
    "CustomerMasterKeySpec",
    "CustomKeyStoreId",
    "Description",
    "DestinationEncryptionAlgorithm",
    "DestinationEncryptionContext",
    "DestinationKeyId",
    "DryRun",
    "EncryptionAlgorithm",
    "EncryptionContext",
    "GrantId",
    "GranteePrincipal",
    "IncludeKeyMaterial",
    "KeyAgreementAlgorithm",
    "KeyId",
    "KeyPairSpec",
    "KeySpec",
    "KeyUsage",
    "Limit",
    "MacAlgorithm",
    "Marker",
    "MessageType",
    "MultiRegion",
    "NumberOfBytes",
    "Operations",
    "Origin",
    "PendingWindowInDays",
    "Policy",
    "PolicyName",
    "RetiringPrincipal",
    "RotationPeriodInDays",
    "RotationsFilter",
    "SigningAlgorithm",
    "SourceEncryptionAlgorithm",
    "SourceEncryptionContext",
    "SourceKeyId",
    "TagKeys",
    "Tags",
    "TargetKeyId",
];

/// Response members that are recorded for write operations: the key's metadata and state, never
/// anything a future operation might return as a secret (a grant token, a data key).
const RECORDED_RESPONSE_MEMBERS: &[&str] = &[
    "DeletionDate",
    "GrantId",
    "KeyId",
    "KeyMetadata",
    "KeyState",
    "PendingWindowInDays",
];

/// Request parameters or response elements larger than this (as JSON) are replaced by a note,
/// so that no request can make a record (or a log file) arbitrarily large.
pub const MAX_RECORDED_BYTES: usize = 16 * 1024;
/// Error messages are recorded up to this many characters.
const MAX_ERROR_MESSAGE: usize = 1024;

/// The recorded members of a request body, renamed as CloudTrail names them (`keyId`); null
/// when there are none or the body is not a JSON object.
pub fn request_parameters(body: &[u8]) -> Value {
    recorded_members(body, RECORDED_MEMBERS)
}

/// A write operation's response, renamed as CloudTrail names it; null for read-only operations
/// (the cryptographic ones included) and for empty responses, as AWS records them. CreateGrant's
/// also names its key (`keyId`, the ARN), as CloudTrail has recorded it since December 2022
/// although the response does not carry it.
pub fn response_elements(
    operation: Option<Operation>,
    read_only: bool,
    body: &[u8],
    keys: &[KeyArn],
) -> Value {
    if read_only {
        return Value::Null;
    }
    let mut elements = recorded_members(body, RECORDED_RESPONSE_MEMBERS);
    if operation == Some(Operation::CreateGrant)
        && let (Value::Object(members), Some(key)) = (&mut elements, keys.first())
    {
        members.insert("keyId".to_owned(), Value::String(key.to_string()));
    }
    elements
}

/// The code and message a failed call's record carries. Serialization errors are recorded with
/// a fixed message: the parser's own message may quote a value of the body.
pub fn recorded_error(error: &ApiError) -> (String, String) {
    let message = match error.code {
        ErrorCode::Serialization => "The request body is not valid for this operation".to_owned(),
        _ => error.message.chars().take(MAX_ERROR_MESSAGE).collect(),
    };
    (error.code.as_str().to_owned(), message)
}

fn recorded_members(body: &[u8], allowed: &'static [&'static str]) -> Value {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let members = match deserializer.deserialize_map(RecordedMembers(allowed)) {
        Ok(members) if !members.is_empty() => Value::Object(members),
        _ => return Value::Null,
    };
    bounded(members)
}

/// Keeps `members` within [`MAX_RECORDED_BYTES`] by replacing its largest members, one by one,
/// with a note of their size: an oversized encryption context is noted while the key id and
/// every small parameter stay in the record.
pub fn bounded(mut members: Value) -> Value {
    let size_of = |value: &Value| serde_json::to_vec(value).map_or(usize::MAX, |json| json.len());
    let Value::Object(map) = &mut members else {
        return members;
    };
    let mut by_size: Vec<(usize, String)> = map
        .iter()
        .map(|(name, value)| (size_of(value), name.clone()))
        .collect();
    by_size.sort_unstable_by(|a, b| b.cmp(a));
    // The object's size: its members' sizes plus their names, quotes, colons and commas.
    let mut total: usize = by_size
        .iter()
        .map(|(size, name)| size + name.len() + 4)
        .sum();
    for (size, name) in by_size {
        if total <= MAX_RECORDED_BYTES {
            break;
        }
        let note = serde_json::json!({
            "omitted": format!("{size} bytes, over the {MAX_RECORDED_BYTES}-byte limit of a record")
        });
        total = total - size + size_of(&note);
        map.insert(name, note);
    }
    members
}

/// Visits a JSON object, keeping the allowed members only; the others are skipped unread.
struct RecordedMembers(&'static [&'static str]);

impl<'de> Visitor<'de> for RecordedMembers {
    type Value = Map<String, Value>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut recorded = Map::new();
        while let Some(name) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if self.0.contains(&name.as_ref()) {
                let value: Value = map.next_value()?;
                recorded.insert(lower_first(&name), member_value(&name, value));
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(recorded)
    }
}

/// Encryption contexts (and grant constraints, which are encryption contexts) keep their keys
/// as the caller wrote them; everything else is renamed.
fn member_value(name: &str, value: Value) -> Value {
    if name.ends_with("EncryptionContext") || name.starts_with("EncryptionContext") {
        value
    } else {
        cloudtrail_names(value)
    }
}

/// Renames object members recursively from the API's `PascalCase` to CloudTrail's `camelCase`
/// (`KeyMetadata.AWSAccountId` becomes `keyMetadata.aWSAccountId`, as CloudTrail prints it).
fn cloudtrail_names(value: Value) -> Value {
    match value {
        Value::Object(members) => Value::Object(
            members
                .into_iter()
                .map(|(name, value)| {
                    let renamed = member_value(&name, value);
                    (lower_first(&name), renamed)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(cloudtrail_names).collect()),
        other => other,
    }
}

fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An operation name from an unknown target, safe to record: letters and digits only, bounded.
pub fn unknown_operation_name(target: Option<&str>) -> String {
    let name: String = target
        .and_then(|target| target.rsplit('.').next())
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(64)
        .collect();
    if name.is_empty() {
        "UnknownOperation".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_never_recorded() {
        let body = br#"{"KeyId":"alias/app","Plaintext":"c2VjcmV0","EncryptionContext":{"Dept":"x"},"GrantTokens":["t"],"CiphertextBlob":"AAAA","Message":"bQ==","Signature":"cw==","Mac":"bQ==","EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}"#;
        assert_eq!(
            request_parameters(body),
            json!({"keyId": "alias/app", "encryptionContext": {"Dept": "x"}, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"})
        );
    }

    #[test]
    fn nested_members_are_renamed_but_contexts_are_not() {
        let body = br#"{"Tags":[{"TagKey":"a","TagValue":"b"}],"DestinationEncryptionContext":{"Key":"v"}}"#;
        assert_eq!(
            request_parameters(body),
            json!({"tags": [{"tagKey": "a", "tagValue": "b"}], "destinationEncryptionContext": {"Key": "v"}})
        );
    }

    #[test]
    fn not_an_object_is_null() {
        for body in [&b""[..], b"[]", b"{", b"{}", b"{\"Plaintext\":\"x\"}"] {
            assert_eq!(request_parameters(body), Value::Null, "{body:?}");
        }
    }

    #[test]
    fn responses_only_for_writes() {
        let body = br#"{"KeyMetadata":{"AWSAccountId":"111122223333","KeyId":"k"}}"#;
        assert_eq!(
            response_elements(Some(Operation::CreateKey), false, body, &[]),
            json!({"keyMetadata": {"aWSAccountId": "111122223333", "keyId": "k"}})
        );
        assert_eq!(
            response_elements(Some(Operation::DescribeKey), true, body, &[]),
            Value::Null
        );
        assert_eq!(
            response_elements(Some(Operation::EnableKey), false, b"{}", &[]),
            Value::Null
        );
    }

    #[test]
    fn large_parameters_and_messages_are_bounded() {
        let context: String = "x".repeat(MAX_RECORDED_BYTES);
        let body = format!(r#"{{"KeyId":"k","EncryptionContext":{{"a":"{context}"}}}}"#);
        let recorded = request_parameters(body.as_bytes());
        assert_eq!(recorded["keyId"], "k", "small members stay: {recorded}");
        assert!(
            recorded["encryptionContext"]["omitted"]
                .as_str()
                .unwrap()
                .contains("limit")
        );
        assert!(recorded.to_string().len() < 200);
        let long = ApiError::new(ErrorCode::Validation, "y".repeat(5000));
        assert_eq!(recorded_error(&long).1.len(), MAX_ERROR_MESSAGE);
        let quoting = ApiError::new(ErrorCode::Serialization, "invalid type: string \"secret\"");
        assert!(!recorded_error(&quoting).1.contains("secret"));
    }

    #[test]
    fn responses_keep_only_metadata() {
        let body = br#"{"KeyId":"k","GrantToken":"token","GrantId":"g"}"#;
        assert_eq!(
            response_elements(None, false, body, &[]),
            json!({"keyId": "k", "grantId": "g"})
        );
    }

    #[test]
    fn grants_are_recorded_as_cloudtrail_records_them() {
        let key: KeyArn = KeyArn {
            region: strongbox_core::model::Region::parse("us-east-1").unwrap(),
            account: strongbox_core::model::AccountId::parse("111122223333").unwrap(),
            key_id: strongbox_core::model::KeyId::generate(),
        };
        let body = br#"{"GrantToken":"secret-ish","GrantId":"g"}"#;
        assert_eq!(
            response_elements(
                Some(Operation::CreateGrant),
                false,
                body,
                std::slice::from_ref(&key)
            ),
            json!({"grantId": "g", "keyId": key.to_string()})
        );
        let request = br#"{"KeyId":"k","GranteePrincipal":"arn:aws:iam::111122223333:user/a","Operations":["Decrypt"],"Constraints":{"EncryptionContextSubset":{"Dept":"IT"}},"GrantTokens":["t"],"Name":"n"}"#;
        assert_eq!(
            request_parameters(request),
            json!({
                "keyId": "k",
                "granteePrincipal": "arn:aws:iam::111122223333:user/a",
                "operations": ["Decrypt"],
                "constraints": {"encryptionContextSubset": {"Dept": "IT"}}
            })
        );
        // Retired by token: nothing of the request is recorded.
        assert_eq!(request_parameters(br#"{"GrantToken":"t"}"#), Value::Null);
    }

    #[test]
    fn unknown_names_are_sanitized() {
        assert_eq!(unknown_operation_name(Some("TrentService.Nope")), "Nope");
        assert_eq!(unknown_operation_name(Some("x.<script>")), "script");
        assert_eq!(unknown_operation_name(None), "UnknownOperation");
    }
}
