//! CreateAlias, UpdateAlias, DeleteAlias, ListAliases.

use strongbox_core::PageRequest;
use strongbox_core::model::AliasName;

use super::Call;
use super::keys::checked_marker;
use crate::wire::ApiError;
use crate::wire::aliases::{
    AliasListEntry, AliasTargetRequest, DeleteAliasRequest, ListAliasesRequest, ListAliasesResponse,
};
use crate::wire::error;
use crate::wire::fields::{self, Timestamp};

fn alias_name(value: Option<String>) -> Result<AliasName, ApiError> {
    let value = value.ok_or_else(|| error::missing("aliasName"))?;
    Ok(AliasName::parse(&value)?)
}

pub async fn create_alias(call: Call<'_>, request: AliasTargetRequest) -> Result<(), ApiError> {
    let name = alias_name(request.alias_name)?;
    let target = fields::key_ref(request.target_key_id, "targetKeyId")?;
    call.kms.create_alias(call.principal, name, &target).await?;
    Ok(())
}

pub async fn update_alias(call: Call<'_>, request: AliasTargetRequest) -> Result<(), ApiError> {
    let name = alias_name(request.alias_name)?;
    let target = fields::key_ref(request.target_key_id, "targetKeyId")?;
    call.kms.update_alias(call.principal, name, &target).await?;
    Ok(())
}

pub async fn delete_alias(call: Call<'_>, request: DeleteAliasRequest) -> Result<(), ApiError> {
    let name = alias_name(request.alias_name)?;
    call.kms.delete_alias(call.principal, name).await?;
    Ok(())
}

pub async fn list_aliases(
    call: Call<'_>,
    request: ListAliasesRequest,
) -> Result<ListAliasesResponse, ApiError> {
    let key = fields::optional_key_ref(request.key_id, "keyId")?;
    let page = PageRequest {
        limit: fields::limit(request.limit, 50, 100)?,
        after: checked_marker(fields::marker(request.marker)?, |m| {
            AliasName::parse(m).is_ok()
        })?,
    };
    let listed = call
        .kms
        .list_aliases(call.principal, key.as_ref(), &page)
        .await?;
    Ok(ListAliasesResponse {
        aliases: listed
            .items
            .iter()
            .map(|alias| AliasListEntry {
                alias_name: alias.name.to_string(),
                alias_arn: alias.name.arn(&alias.region, &alias.account),
                target_key_id: alias.target.to_string(),
                creation_date: Timestamp(alias.created_at),
                last_updated_date: Timestamp(alias.updated_at),
            })
            .collect(),
        truncated: listed.next.is_some(),
        next_marker: listed.next,
    })
}
