//! The request context a decision reads: the caller's and the environment's condition keys,
//! the key's facts, and the request's own parameters (a CreateGrant's grant among them).

use std::borrow::Cow;

use time::OffsetDateTime;

use super::resolve::Access;
use crate::model::{Key, Principal};
use crate::policy::{KeyFacts, RequestContext};

/// The context of a request by `principal` at `now`, on `key` when it names one.
pub(super) fn request_context<'a>(
    principal: &'a Principal,
    now: OffsetDateTime,
    access: Access<'a>,
    key: Option<&'a Key>,
    request_alias: Option<&'a str>,
    resource_aliases: Option<&'a [String]>,
) -> RequestContext<'a> {
    let mut context = RequestContext::new(principal.caller(), now);
    context.source_ip = principal.source_ip;
    context.secure_transport = Some(principal.secure_transport);
    context.encryption_context = access.encryption_context;
    context.request_tags = access.request_tags;
    context.tag_keys = access.tag_keys;
    context.params = access.values;
    context.request_alias = request_alias;
    context.resource_aliases = resource_aliases;
    if access.operation_id.has_grant_is_for_aws_resource() {
        // Strongbox is no AWS service acting for a user: the request is never for one.
        context = context.with("kms:GrantIsForAWSResource", "false");
    }
    if let Some(grant) = access.grant {
        context = context.with_all(
            "kms:GrantOperations",
            grant
                .operations
                .iter()
                .map(|op| Cow::Borrowed(op.as_str()))
                .collect(),
        );
        context = context.with("kms:GranteePrincipal", grant.grantee);
        if let Some(retiring) = grant.retiring {
            context = context.with("kms:RetiringPrincipal", retiring);
        }
        if let Some(constraint) = grant.constraint {
            context = context.with("kms:GrantConstraintType", constraint.kind());
        }
    }
    if let Some(key) = key {
        context.resource_tags = Some(&key.tags);
        context.key = Some(KeyFacts {
            spec: key.spec.as_str(),
            usage: key.usage.as_str(),
            origin: key.origin.as_str(),
            multi_region: false,
        });
    }
    context
}
