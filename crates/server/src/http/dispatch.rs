//! From an authenticated request to its operation's handler: one plain `match`.

use serde::Serialize;
use strongbox_core::Kms;
use strongbox_core::messages;
use strongbox_core::model::Principal;

use super::buffer::SecretBuffer;
use crate::api::{self, Call};
use crate::jobs::Scheduler;
use crate::wire::{ApiError, ErrorCode, Operation, parse};

/// Runs `operation` and returns the JSON response body.
pub async fn dispatch(
    kms: &Kms,
    scheduler: &Scheduler,
    principal: &Principal,
    operation: Operation,
    body: &[u8],
) -> Result<SecretBuffer, ApiError> {
    let principal = &*api::grants::attach_grant_tokens(kms, principal, operation, body).await?;
    let call = Call {
        kms,
        principal,
        scheduler,
    };
    match operation {
        Operation::CreateKey => json(api::keys::create_key(call, parse(body)?).await),
        Operation::DescribeKey => json(api::keys::describe_key(call, parse(body)?).await),
        Operation::ListKeys => json(api::keys::list_keys(call, parse(body)?).await),
        Operation::EnableKey => empty(api::keys::enable_key(call, parse(body)?).await),
        Operation::DisableKey => empty(api::keys::disable_key(call, parse(body)?).await),
        Operation::ScheduleKeyDeletion => {
            json(api::keys::schedule_key_deletion(call, parse(body)?).await)
        }
        Operation::CancelKeyDeletion => {
            json(api::keys::cancel_key_deletion(call, parse(body)?).await)
        }
        Operation::UpdateKeyDescription => {
            empty(api::keys::update_key_description(call, parse(body)?).await)
        }
        Operation::Encrypt => json(api::crypto::encrypt(call, parse(body)?).await),
        Operation::Decrypt => json(api::crypto::decrypt(call, parse(body)?).await),
        Operation::ReEncrypt => json(api::crypto::re_encrypt(call, parse(body)?).await),
        Operation::GenerateDataKey => {
            json(api::crypto::generate_data_key(call, parse(body)?).await)
        }
        Operation::GenerateDataKeyWithoutPlaintext => {
            json(api::crypto::generate_data_key_without_plaintext(call, parse(body)?).await)
        }
        Operation::GenerateRandom => json(api::crypto::generate_random(call, parse(body)?).await),
        Operation::CreateAlias => empty(api::aliases::create_alias(call, parse(body)?).await),
        Operation::UpdateAlias => empty(api::aliases::update_alias(call, parse(body)?).await),
        Operation::DeleteAlias => empty(api::aliases::delete_alias(call, parse(body)?).await),
        Operation::ListAliases => json(api::aliases::list_aliases(call, parse(body)?).await),
        Operation::TagResource => empty(api::tags::tag_resource(call, parse(body)?).await),
        Operation::UntagResource => empty(api::tags::untag_resource(call, parse(body)?).await),
        Operation::GetPublicKey => json(api::asymmetric::get_public_key(call, parse(body)?).await),
        Operation::Sign => json(api::asymmetric::sign(call, parse(body)?).await),
        Operation::Verify => json(api::asymmetric::verify(call, parse(body)?).await),
        Operation::GenerateMac => json(api::asymmetric::generate_mac(call, parse(body)?).await),
        Operation::VerifyMac => json(api::asymmetric::verify_mac(call, parse(body)?).await),
        Operation::DeriveSharedSecret => {
            json(api::asymmetric::derive_shared_secret(call, parse(body)?).await)
        }
        Operation::GenerateDataKeyPair => {
            json(api::asymmetric::generate_data_key_pair(call, parse(body)?).await)
        }
        Operation::GenerateDataKeyPairWithoutPlaintext => json(
            api::asymmetric::generate_data_key_pair_without_plaintext(call, parse(body)?).await,
        ),
        Operation::EnableKeyRotation => {
            empty(api::rotation::enable_key_rotation(call, parse(body)?).await)
        }
        Operation::DisableKeyRotation => {
            empty(api::rotation::disable_key_rotation(call, parse(body)?).await)
        }
        Operation::GetKeyRotationStatus => {
            json(api::rotation::get_key_rotation_status(call, parse(body)?).await)
        }
        Operation::RotateKeyOnDemand => {
            json(api::rotation::rotate_key_on_demand(call, parse(body)?).await)
        }
        Operation::ListKeyRotations => {
            json(api::rotation::list_key_rotations(call, parse(body)?).await)
        }
        Operation::GetKeyPolicy => json(api::policies::get_key_policy(call, parse(body)?).await),
        Operation::PutKeyPolicy => empty(api::policies::put_key_policy(call, parse(body)?).await),
        Operation::ListKeyPolicies => {
            json(api::policies::list_key_policies(call, parse(body)?).await)
        }
        Operation::CreateGrant => json(api::grants::create_grant(call, parse(body)?).await),
        Operation::ListGrants => json(api::grants::list_grants(call, parse(body)?).await),
        Operation::ListRetirableGrants => {
            json(api::grants::list_retirable_grants(call, parse(body)?).await)
        }
        Operation::RetireGrant => empty(api::grants::retire_grant(call, parse(body)?).await),
        Operation::RevokeGrant => empty(api::grants::revoke_grant(call, parse(body)?).await),
        Operation::ListResourceTags => {
            json(api::tags::list_resource_tags(call, parse(body)?).await)
        }
        other => Err(ApiError::new(
            ErrorCode::UnsupportedOperation,
            messages::operation_not_supported(other.name()),
        )),
    }
}

/// CloudTrail's LookupEvents over the audit trail.
pub async fn lookup_events(
    kms: &Kms,
    principal: &Principal,
    body: &[u8],
) -> Result<SecretBuffer, ApiError> {
    // The trail is the account's: reading it is `cloudtrail:LookupEvents`, by identity policy.
    kms.authorize_action(principal, "cloudtrail:LookupEvents", "*")
        .map_err(ApiError::from)?;
    json(api::cloudtrail::lookup_events(kms, principal, parse(body)?).await)
}

/// Serializes into a zeroizing buffer: responses may carry plaintexts and data keys.
fn json<T: Serialize>(result: Result<T, ApiError>) -> Result<SecretBuffer, ApiError> {
    let output = result?;
    let mut buffer = SecretBuffer::with_capacity(RESPONSE_CAPACITY);
    serde_json::to_writer(&mut buffer, &output)
        .map(|()| buffer)
        .map_err(|error| {
            tracing::error!(%error, "response serialization failed");
            ApiError::new(ErrorCode::KmsInternal, messages::INTERNAL_ERROR)
        })
}

/// Operations without output members answer with an empty JSON object.
fn empty(result: Result<(), ApiError>) -> Result<SecretBuffer, ApiError> {
    result.map(|()| {
        let mut buffer = SecretBuffer::with_capacity(2);
        buffer.extend(b"{}");
        buffer
    })
}

/// Room for the largest common response (a 4 KiB plaintext in base64 plus members) so that
/// most responses never grow their buffer.
const RESPONSE_CAPACITY: usize = 8 * 1024;
