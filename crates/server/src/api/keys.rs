//! CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey, ScheduleKeyDeletion,
//! CancelKeyDeletion, UpdateKeyDescription.

use strongbox_core::kms::CreateKeyInput;
use strongbox_core::messages;
use strongbox_core::model::{Key, KeyId, KeyManager, KeySpec, KeyUsage, Origin};
use strongbox_core::{PageRequest, validate};

use super::{Call, refuse_unsupported};
use crate::wire::fields::{self, Timestamp};
use crate::wire::keys::{
    CreateKeyRequest, KeyIdRequest, KeyIdResponse, KeyListEntry, KeyMetadata, KeyMetadataResponse,
    ListKeysRequest, ListKeysResponse, ScheduleKeyDeletionRequest, ScheduleKeyDeletionResponse,
    UpdateKeyDescriptionRequest,
};
use crate::wire::{ApiError, ErrorCode};

/// AWS's `PolicyType` length bound.
const MAX_POLICY_BYTES: usize = 131_072;

pub async fn create_key(
    call: Call<'_>,
    request: CreateKeyRequest,
) -> Result<KeyMetadataResponse, ApiError> {
    refuse_unsupported(request.custom_key_store_id.is_some(), "CustomKeyStoreId")?;
    refuse_unsupported(request.xks_key_id.is_some(), "XksKeyId")?;
    if request.key_spec.is_some() && request.customer_master_key_spec.is_some() {
        return Err(ApiError::new(
            ErrorCode::Validation,
            messages::KEY_SPEC_TWICE,
        ));
    }
    let (spec_field, spec) = match request.key_spec {
        Some(spec) => ("keySpec", Some(spec)),
        None => ("customerMasterKeySpec", request.customer_master_key_spec),
    };
    let spec = fields::aws_enum(spec, spec_field, KeySpec::parse, KeySpec::value_set)?;
    let usage = fields::aws_enum(
        request.key_usage,
        "keyUsage",
        KeyUsage::parse,
        KeyUsage::value_set,
    )?;
    let origin = fields::aws_enum(request.origin, "origin", Origin::parse, Origin::value_set)?;
    if let Some(policy) = &request.policy {
        let len = policy.len();
        if !(1..=MAX_POLICY_BYTES).contains(&len) {
            return Err(crate::wire::error::length(
                strongbox_core::messages::Shown::Hidden,
                "policy",
                1,
                MAX_POLICY_BYTES,
                len,
            ));
        }
    }
    let input = CreateKeyInput {
        description: request.description.unwrap_or_default(),
        spec: spec.unwrap_or(KeySpec::SymmetricDefault),
        usage,
        origin: origin.unwrap_or(Origin::AwsKms),
        tags: validate::tags(fields::tag_pairs(request.tags))?,
        policy: request.policy,
        multi_region: request.multi_region.unwrap_or(false),
        bypass_lockout_check: request.bypass_policy_lockout_safety_check.unwrap_or(false),
    };
    let key = call.kms.create_key(call.principal, input).await?;
    Ok(KeyMetadataResponse {
        key_metadata: metadata(&key),
    })
}

pub async fn describe_key(
    call: Call<'_>,
    request: KeyIdRequest,
) -> Result<KeyMetadataResponse, ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let key = call.kms.describe_key(call.principal, &key_ref).await?;
    Ok(KeyMetadataResponse {
        key_metadata: metadata(&key),
    })
}

pub async fn list_keys(
    call: Call<'_>,
    request: ListKeysRequest,
) -> Result<ListKeysResponse, ApiError> {
    let page = PageRequest {
        limit: fields::limit(request.limit, 100, 1000)?,
        after: checked_marker(fields::marker(request.marker)?, |m| {
            KeyId::parse(m).is_some()
        })?,
    };
    let listed = call.kms.list_keys(call.principal, &page).await?;
    Ok(ListKeysResponse {
        keys: listed
            .items
            .iter()
            .map(|arn| KeyListEntry {
                key_id: arn.key_id.to_string(),
                key_arn: arn.to_string(),
            })
            .collect(),
        truncated: listed.next.is_some(),
        next_marker: listed.next,
    })
}

pub async fn enable_key(call: Call<'_>, request: KeyIdRequest) -> Result<(), ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    call.kms.enable_key(call.principal, &key_ref).await?;
    Ok(())
}

pub async fn disable_key(call: Call<'_>, request: KeyIdRequest) -> Result<(), ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    call.kms.disable_key(call.principal, &key_ref).await?;
    Ok(())
}

pub async fn schedule_key_deletion(
    call: Call<'_>,
    request: ScheduleKeyDeletionRequest,
) -> Result<ScheduleKeyDeletionResponse, ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let scheduled = call
        .kms
        .schedule_key_deletion(call.principal, &key_ref, request.pending_window_in_days)
        .await?;
    Ok(ScheduleKeyDeletionResponse {
        key_id: scheduled.key.arn.to_string(),
        deletion_date: Timestamp(scheduled.deletion_date),
        key_state: scheduled.key.state.as_str(),
        pending_window_in_days: scheduled.window_days,
    })
}

pub async fn cancel_key_deletion(
    call: Call<'_>,
    request: KeyIdRequest,
) -> Result<KeyIdResponse, ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let key = call
        .kms
        .cancel_key_deletion(call.principal, &key_ref)
        .await?;
    Ok(KeyIdResponse {
        key_id: key.arn.to_string(),
    })
}

pub async fn update_key_description(
    call: Call<'_>,
    request: UpdateKeyDescriptionRequest,
) -> Result<(), ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let description = request
        .description
        .ok_or_else(|| crate::wire::error::missing("description"))?;
    call.kms
        .update_key_description(call.principal, &key_ref, description)
        .await?;
    Ok(())
}

/// AWS's `KeyMetadata` for a key.
pub fn metadata(key: &Key) -> KeyMetadata {
    let algorithms = key.spec.algorithms(key.usage);
    KeyMetadata {
        aws_account_id: key.arn.account.to_string(),
        key_id: key.id().to_string(),
        arn: key.arn.to_string(),
        creation_date: Timestamp(key.created_at),
        enabled: key.enabled(),
        description: key.description.clone(),
        key_usage: key.usage.as_str(),
        key_state: key.state.as_str(),
        deletion_date: key.deletion_date().map(Timestamp),
        origin: key.origin.as_str(),
        key_manager: KeyManager::Customer.as_str(),
        customer_master_key_spec: key.spec.as_str(),
        key_spec: key.spec.as_str(),
        encryption_algorithms: algorithms.encryption.iter().map(|a| a.as_str()).collect(),
        signing_algorithms: algorithms.signing.iter().map(|a| a.as_str()).collect(),
        mac_algorithms: algorithms.mac.iter().map(|a| a.as_str()).collect(),
        key_agreement_algorithms: algorithms
            .key_agreement
            .iter()
            .map(|a| a.as_str())
            .collect(),
        multi_region: false,
        // AWS shows it for symmetric encryption keys only.
        current_key_material_id: (key.spec == KeySpec::SymmetricDefault)
            .then(|| key.current_material_id()),
    }
}

/// Refuses markers this service cannot have issued (`InvalidMarkerException`).
pub fn checked_marker(
    marker: Option<String>,
    valid: impl Fn(&str) -> bool,
) -> Result<Option<String>, ApiError> {
    match marker {
        Some(marker) if !valid(&marker) => Err(ApiError::new(
            ErrorCode::InvalidMarker,
            messages::INVALID_MARKER,
        )),
        other => Ok(other),
    }
}
