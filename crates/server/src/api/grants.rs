//! CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant, and the
//! `GrantTokens` member every operation a grant can allow accepts.

use std::borrow::Cow;

use strongbox_core::Kms;
use strongbox_core::PageRequest;
use strongbox_core::kms::{CreateGrantInput, RetireTarget};
use strongbox_core::messages::{Shown, Violation};
use strongbox_core::model::{Grant, GrantConstraint, GrantId, GrantOperation, Principal};
use strongbox_core::{Page, messages};

use super::Call;
use super::keys::checked_marker;
use crate::wire::error;
use crate::wire::fields::{self, Timestamp};
use crate::wire::grants::{
    CreateGrantRequest, CreateGrantResponse, GrantConstraints, GrantListEntry, GrantTokensMember,
    ListGrantsRequest, ListGrantsResponse, ListRetirableGrantsRequest, RetireGrantRequest,
    RevokeGrantRequest,
};
use crate::wire::{ApiError, ErrorCode, Operation, parse};

/// The model's `PrincipalIdType`: 1 to 256 characters of `[\w+=,.@:/-]`.
const PRINCIPAL_PATTERN: &str = "^[\\w+=,.@:/-]+$";
/// The model's `GrantNameType`.
const NAME_PATTERN: &str = "^[a-zA-Z0-9:/_-]+$";
/// The model's bounds on grant tokens: at most 10, each 1 to 8192 characters.
const MAX_GRANT_TOKENS: usize = 10;
const MAX_GRANT_TOKEN: usize = 8192;

/// The caller, with the grants its request's `GrantTokens` name when the operation accepts
/// them (the operations a grant can allow, and CreateGrant). The body is parsed for it only
/// when it mentions the member (or holds a JSON escape), so requests without tokens pay a
/// byte scan.
pub async fn attach_grant_tokens<'p>(
    kms: &Kms,
    principal: &'p Principal,
    operation: Operation,
    body: &[u8],
) -> Result<Cow<'p, Principal>, ApiError> {
    // The byte scans first: most bodies mention no token, and the scans are cheaper than
    // asking the operation table. A member name written with escapes (`Grant\u0054okens`) is a
    // member name too.
    let mentioned = memchr::memmem::find(body, b"GrantTokens").is_some()
        || memchr::memmem::find(body, b"\\u").is_some();
    if !mentioned || !operation.accepts_grant_tokens() {
        return Ok(Cow::Borrowed(principal));
    }
    let Some(tokens) = parse::<GrantTokensMember>(body)?.grant_tokens else {
        return Ok(Cow::Borrowed(principal));
    };
    // Too many tokens is one violation, whatever their number: the answer stays small.
    if tokens.len() > MAX_GRANT_TOKENS {
        return Err(error::violations(&[Violation::too_long(
            Shown::Hidden,
            "grantTokens",
            MAX_GRANT_TOKENS,
        )]));
    }
    let violations: Vec<Violation> = tokens
        .iter()
        .enumerate()
        .filter_map(|(index, token)| {
            Violation::length(
                Shown::Hidden,
                &format!("grantTokens.{}.member", index + 1),
                token.chars().count(),
                1,
                MAX_GRANT_TOKEN,
            )
        })
        .collect();
    if !violations.is_empty() {
        return Err(error::violations(&violations));
    }
    if tokens.is_empty() {
        return Ok(Cow::Borrowed(principal));
    }
    let mut with_tokens = principal.clone();
    with_tokens.grant_tokens = kms.grant_tokens(&tokens).await?;
    Ok(Cow::Owned(with_tokens))
}

/// A principal member: its length and pattern, as the model constrains them.
fn principal_member(
    value: Option<String>,
    member: &str,
    violations: &mut Vec<Violation>,
) -> Option<String> {
    let value = value?;
    let len = value.chars().count();
    violations.extend(Violation::length(Shown::Value(&value), member, len, 1, 256));
    let pattern_ok = value
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || "+=,.@:/-".contains(c));
    if len > 0 && !pattern_ok {
        violations.push(Violation::pattern(&value, member, PRINCIPAL_PATTERN));
    }
    Some(value)
}

fn grant_id_member(value: Option<String>, member: &str) -> Result<Option<GrantId>, ApiError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let len = value.chars().count();
    if let Some(violation) = Violation::length(Shown::Value(&value), member, len, 1, 128) {
        return Err(error::violations(&[violation]));
    }
    GrantId::parse(&value)
        .map(Some)
        .ok_or_else(|| ApiError::new(ErrorCode::InvalidGrantId, messages::INVALID_GRANT_ID))
}

fn operations(values: Option<Vec<String>>) -> Result<Vec<GrantOperation>, ApiError> {
    let values = values.ok_or_else(|| error::missing("operations"))?;
    let parsed: Option<Vec<GrantOperation>> =
        values.iter().map(|v| GrantOperation::parse(v)).collect();
    match parsed {
        Some(operations) if !operations.is_empty() => Ok(operations),
        Some(_) => Err(error::violations(&[Violation::too_short(
            Shown::Value("[]"),
            "operations",
            1,
        )])),
        None => Err(error::violations(&[Violation::members_not_in_set(
            &format!("[{}]", values.join(", ")),
            "operations",
            &GrantOperation::value_set(),
        )])),
    }
}

fn constraint(constraints: Option<GrantConstraints>) -> Result<Option<GrantConstraint>, ApiError> {
    let Some(constraints) = constraints else {
        return Ok(None);
    };
    let constraint = match (
        constraints.encryption_context_equals,
        constraints.encryption_context_subset,
    ) {
        (Some(_), Some(_)) => {
            return Err(ApiError::new(
                ErrorCode::Validation,
                messages::GRANT_TWO_CONSTRAINTS,
            ));
        }
        (Some(pairs), None) => GrantConstraint::Equals(pairs),
        (None, Some(pairs)) => GrantConstraint::Subset(pairs),
        (None, None) => return Ok(None),
    };
    strongbox_core::validate::encryption_context(constraint.pairs())?;
    Ok(Some(constraint))
}

fn name(value: Option<String>, violations: &mut Vec<Violation>) -> Option<String> {
    let value = value?;
    let len = value.chars().count();
    violations.extend(Violation::length(Shown::Value(&value), "name", len, 1, 256));
    if len > 0
        && !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/_-".contains(c))
    {
        violations.push(Violation::pattern(&value, "name", NAME_PATTERN));
    }
    Some(value)
}

pub async fn create_grant(
    call: Call<'_>,
    request: CreateGrantRequest,
) -> Result<CreateGrantResponse, ApiError> {
    let mut violations = Vec::new();
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let grantee = principal_member(
        request.grantee_principal,
        "granteePrincipal",
        &mut violations,
    )
    .ok_or_else(|| error::missing("granteePrincipal"))?;
    let retiring = principal_member(
        request.retiring_principal,
        "retiringPrincipal",
        &mut violations,
    );
    let name = name(request.name, &mut violations);
    if !violations.is_empty() {
        return Err(error::violations(&violations));
    }
    let input = CreateGrantInput {
        grantee,
        retiring,
        operations: operations(request.operations)?,
        constraint: constraint(request.constraints)?,
        name,
        dry_run: request.dry_run == Some(true),
    };
    let created = call
        .kms
        .create_grant(call.principal, &key_ref, &input)
        .await?;
    Ok(CreateGrantResponse {
        grant_token: created.token,
        grant_id: created.id.to_string(),
    })
}

/// The page a list request asks for: AWS's documented default of 50 and most of 100 (the
/// model allows up to 1000, which is accepted and read as 100); markers are grant ids.
fn grant_page(limit: Option<i64>, marker: Option<String>) -> Result<PageRequest, ApiError> {
    Ok(PageRequest {
        limit: fields::limit(limit, 50, 1000)?.min(100),
        after: checked_marker(fields::marker(marker)?, |m| GrantId::parse(m).is_some())?
            .and_then(|m| GrantId::parse(&m))
            .map(|id| id.to_string()),
    })
}

fn listed(page: Page<Grant>) -> ListGrantsResponse {
    ListGrantsResponse {
        grants: page.items.iter().map(entry).collect(),
        truncated: page.next.is_some(),
        next_marker: page.next,
    }
}

fn entry(grant: &Grant) -> GrantListEntry {
    let constraints = grant.constraint.as_ref().map(|constraint| {
        let pairs = Some(constraint.pairs().clone());
        match constraint {
            GrantConstraint::Equals(_) => GrantConstraints {
                encryption_context_equals: pairs,
                encryption_context_subset: None,
            },
            GrantConstraint::Subset(_) => GrantConstraints {
                encryption_context_subset: pairs,
                encryption_context_equals: None,
            },
        }
    });
    GrantListEntry {
        key_id: grant.key.to_string(),
        grant_id: grant.id.to_string(),
        name: grant.name.clone().unwrap_or_default(),
        creation_date: Timestamp(grant.created_at),
        grantee_principal: grant.grantee.arn.clone(),
        retiring_principal: grant.retiring.as_ref().map(|r| r.arn.clone()),
        issuing_account: format!("arn:aws:iam::{}:root", grant.issuing_account),
        operations: grant.operations.iter().map(|op| op.as_str()).collect(),
        constraints,
    }
}

pub async fn list_grants(
    call: Call<'_>,
    request: ListGrantsRequest,
) -> Result<ListGrantsResponse, ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let mut violations = Vec::new();
    let grantee = principal_member(
        request.grantee_principal,
        "granteePrincipal",
        &mut violations,
    );
    if !violations.is_empty() {
        return Err(error::violations(&violations));
    }
    let grant_id = grant_id_member(request.grant_id, "grantId")?;
    let page = grant_page(request.limit, request.marker)?;
    let found = call
        .kms
        .list_grants(
            call.principal,
            &key_ref,
            grant_id,
            grantee.as_deref(),
            &page,
        )
        .await?;
    Ok(listed(found))
}

pub async fn list_retirable_grants(
    call: Call<'_>,
    request: ListRetirableGrantsRequest,
) -> Result<ListGrantsResponse, ApiError> {
    let mut violations = Vec::new();
    let retiring = principal_member(
        request.retiring_principal,
        "retiringPrincipal",
        &mut violations,
    )
    .ok_or_else(|| error::missing("retiringPrincipal"))?;
    if !violations.is_empty() {
        return Err(error::violations(&violations));
    }
    let page = grant_page(request.limit, request.marker)?;
    let found = call
        .kms
        .list_retirable_grants(call.principal, &retiring, &page)
        .await?;
    Ok(listed(found))
}

pub async fn retire_grant(call: Call<'_>, request: RetireGrantRequest) -> Result<(), ApiError> {
    let key = fields::optional_key_ref(request.key_id, "keyId")?;
    let id = grant_id_member(request.grant_id, "grantId")?;
    if let Some(token) = &request.grant_token {
        let len = token.chars().count();
        if let Some(violation) =
            Violation::length(Shown::Hidden, "grantToken", len, 1, MAX_GRANT_TOKEN)
        {
            return Err(error::violations(&[violation]));
        }
    }
    let target = match (request.grant_token, key, id) {
        (Some(token), key, id) => RetireTarget::Token { token, key, id },
        (None, Some(key), Some(id)) => RetireTarget::Id { key, id },
        (None, _, _) => {
            return Err(ApiError::new(
                ErrorCode::Validation,
                messages::RETIRE_GRANT_TARGET,
            ));
        }
    };
    call.kms
        .retire_grant(call.principal, &target, request.dry_run == Some(true))
        .await?;
    Ok(())
}

pub async fn revoke_grant(call: Call<'_>, request: RevokeGrantRequest) -> Result<(), ApiError> {
    let key_ref = fields::key_ref(request.key_id, "keyId")?;
    let id =
        grant_id_member(request.grant_id, "grantId")?.ok_or_else(|| error::missing("grantId"))?;
    call.kms
        .revoke_grant(call.principal, &key_ref, id, request.dry_run == Some(true))
        .await?;
    Ok(())
}
