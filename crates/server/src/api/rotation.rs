//! EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand,
//! ListKeyRotations.

use strongbox_core::PageRequest;
use strongbox_core::kms::VersionFilter;

use super::Call;
use super::keys::checked_marker;
use crate::wire::ApiError;
use crate::wire::fields::{self, Timestamp};
use crate::wire::keys::{KeyIdRequest, KeyIdResponse};
use crate::wire::rotation::{
    EnableKeyRotationRequest, GetKeyRotationStatusResponse, ListKeyRotationsRequest,
    ListKeyRotationsResponse, RotationsListEntry,
};

pub async fn enable_key_rotation(
    call: Call<'_>,
    request: EnableKeyRotationRequest,
) -> Result<(), ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    call.kms
        .enable_key_rotation(call.principal, &key_ref, request.rotation_period_in_days)
        .await?;
    Ok(())
}

pub async fn disable_key_rotation(call: Call<'_>, request: KeyIdRequest) -> Result<(), ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    call.kms
        .disable_key_rotation(call.principal, &key_ref)
        .await?;
    Ok(())
}

pub async fn get_key_rotation_status(
    call: Call<'_>,
    request: KeyIdRequest,
) -> Result<GetKeyRotationStatusResponse, ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let status = call
        .kms
        .key_rotation_status(call.principal, &key_ref)
        .await?;
    Ok(GetKeyRotationStatusResponse {
        key_rotation_enabled: status.schedule.is_some(),
        key_id: status.key.arn.to_string(),
        rotation_period_in_days: status.schedule.map(|s| s.period_days),
        next_rotation_date: status.schedule.map(|s| Timestamp(s.next_rotation)),
        on_demand_rotation_start_date: status.on_demand_started.map(Timestamp),
    })
}

/// Records the request, then wakes the scheduler so that the rotation happens at once.
pub async fn rotate_key_on_demand(
    call: Call<'_>,
    request: KeyIdRequest,
) -> Result<KeyIdResponse, ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let key = call
        .kms
        .rotate_key_on_demand(call.principal, &key_ref)
        .await?;
    call.scheduler.wake();
    // The key ARN, as AWS answers (not the bare id of ListKeyRotations' entries).
    Ok(KeyIdResponse {
        key_id: key.arn.to_string(),
    })
}

pub async fn list_key_rotations(
    call: Call<'_>,
    request: ListKeyRotationsRequest,
) -> Result<ListKeyRotationsResponse, ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let filter = fields::aws_enum(
        request.include_key_material,
        "includeKeyMaterial",
        |value| match value {
            "ROTATIONS_ONLY" => Some(VersionFilter::RotationsOnly),
            "ALL_KEY_MATERIAL" => Some(VersionFilter::All),
            _ => None,
        },
        || "[ALL_KEY_MATERIAL, ROTATIONS_ONLY]".to_owned(),
    )?;
    let page = PageRequest {
        limit: fields::limit(request.limit, 100, 1000)?,
        after: checked_marker(fields::marker(request.marker)?, |m| {
            m.parse::<u32>().is_ok()
        })?,
    };
    let (key, versions) = call
        .kms
        .list_key_rotations(
            call.principal,
            &key_ref,
            filter.unwrap_or(VersionFilter::RotationsOnly),
            &page,
        )
        .await?;
    Ok(ListKeyRotationsResponse {
        rotations: versions
            .items
            .iter()
            .map(|version| RotationsListEntry {
                key_id: key.id().to_string(),
                key_material_id: version.version_id.material_id(key.id()),
                key_material_state: if version.version_id == key.current_version {
                    "CURRENT"
                } else {
                    "NON_CURRENT"
                },
                rotation_date: version.rotation.map(|_| Timestamp(version.created_at)),
                rotation_type: version.rotation.map(|kind| kind.as_str()),
            })
            .collect(),
        truncated: versions.next.is_some(),
        next_marker: versions.next,
    })
}
