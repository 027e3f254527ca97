//! TagResource, UntagResource, ListResourceTags.

use strongbox_core::{PageRequest, validate};

use super::Call;
use super::keys::checked_marker;
use crate::wire::ApiError;
use crate::wire::error;
use crate::wire::fields::{self, Tag};
use crate::wire::tags::{
    ListResourceTagsRequest, ListResourceTagsResponse, TagResourceRequest, UntagResourceRequest,
};

pub async fn tag_resource(call: Call<'_>, request: TagResourceRequest) -> Result<(), ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let tags = request.tags.ok_or_else(|| error::missing("tags"))?;
    let tags = validate::tags(fields::tag_pairs(Some(tags)))?;
    call.kms
        .tag_resource(call.principal, &key_ref, tags)
        .await?;
    Ok(())
}

pub async fn untag_resource(call: Call<'_>, request: UntagResourceRequest) -> Result<(), ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let tag_keys = request.tag_keys.ok_or_else(|| error::missing("tagKeys"))?;
    call.kms
        .untag_resource(call.principal, &key_ref, &tag_keys)
        .await?;
    Ok(())
}

pub async fn list_resource_tags(
    call: Call<'_>,
    request: ListResourceTagsRequest,
) -> Result<ListResourceTagsResponse, ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let page = PageRequest {
        limit: fields::limit(request.limit, 50, 50)?,
        after: checked_marker(fields::marker(request.marker)?, validate::is_tag_key)?,
    };
    let listed = call
        .kms
        .list_resource_tags(call.principal, &key_ref, &page)
        .await?;
    Ok(ListResourceTagsResponse {
        tags: listed
            .items
            .into_iter()
            .map(|(key, value)| Tag {
                tag_key: Some(key),
                tag_value: Some(value),
            })
            .collect(),
        truncated: listed.next.is_some(),
        next_marker: listed.next,
    })
}
