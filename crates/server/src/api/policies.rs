//! GetKeyPolicy, PutKeyPolicy, ListKeyPolicies.

use strongbox_core::kms::DEFAULT_POLICY_NAME;
use strongbox_core::messages::{Shown, Violation};

use super::Call;
use crate::wire::ApiError;
use crate::wire::error;
use crate::wire::fields;
use crate::wire::policies::{
    GetKeyPolicyRequest, GetKeyPolicyResponse, ListKeyPoliciesRequest, ListKeyPoliciesResponse,
    PutKeyPolicyRequest,
};

/// AWS's `PolicyType` length bound (the service's own limit, 32 KB, is checked in core).
const MAX_POLICY_CHARS: usize = 131_072;

/// The model's `PolicyNameType`: 1 to 128 word characters.
fn policy_name(name: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(name) = name else {
        return Ok(None);
    };
    let mut violations = Vec::new();
    violations.extend(Violation::length(
        Shown::Value(&name),
        "policyName",
        name.chars().count(),
        1,
        128,
    ));
    if !name.is_empty() && !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        violations.push(Violation::pattern(&name, "policyName", "[\\w]+"));
    }
    if violations.is_empty() {
        Ok(Some(name))
    } else {
        Err(error::violations(&violations))
    }
}

pub async fn get_key_policy(
    call: Call<'_>,
    request: GetKeyPolicyRequest,
) -> Result<GetKeyPolicyResponse, ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let name = policy_name(request.policy_name)?;
    let policy = call
        .kms
        .get_key_policy(call.principal, &key_ref, name.as_deref())
        .await?;
    Ok(GetKeyPolicyResponse {
        policy: policy.text().to_owned(),
        policy_name: DEFAULT_POLICY_NAME,
    })
}

pub async fn put_key_policy(call: Call<'_>, request: PutKeyPolicyRequest) -> Result<(), ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let name = policy_name(request.policy_name)?;
    let policy = request.policy.ok_or_else(|| error::missing("policy"))?;
    let len = policy.chars().count();
    if !(1..=MAX_POLICY_CHARS).contains(&len) {
        return Err(error::length(
            Shown::Hidden,
            "policy",
            1,
            MAX_POLICY_CHARS,
            len,
        ));
    }
    call.kms
        .put_key_policy(
            call.principal,
            &key_ref,
            name.as_deref(),
            &policy,
            request.bypass_policy_lockout_safety_check.unwrap_or(false),
        )
        .await?;
    Ok(())
}

pub async fn list_key_policies(
    call: Call<'_>,
    request: ListKeyPoliciesRequest,
) -> Result<ListKeyPoliciesResponse, ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    fields::limit(request.limit, 100, 1000)?;
    fields::marker(request.marker)?;
    let names = call.kms.list_key_policies(call.principal, &key_ref).await?;
    Ok(ListKeyPoliciesResponse {
        policy_names: names,
        truncated: false,
    })
}
