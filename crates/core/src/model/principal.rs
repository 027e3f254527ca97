//! Who is calling, as established by SigV4.

use std::net::IpAddr;
use std::sync::Arc;

use crate::model::grant::GrantRef;
use crate::model::ids::{AccessKeyId, AccountId, Region};
use crate::policy::{Caller, CallerKind, Identity};

/// An authenticated caller and the Region its request was signed for. Every KMS operation
/// takes one, and every store lookup is scoped by its account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The caller's account: the tenant whose keys it sees.
    pub account: AccountId,
    /// The access key that signed the request.
    pub access_key_id: AccessKeyId,
    /// The Region from the signature's credential scope.
    pub region: Region,
    /// Who the caller is, and its identity policies.
    pub identity: Arc<Identity>,
    /// Where the request came from (`aws:SourceIp`), when known.
    pub source_ip: Option<IpAddr>,
    /// Whether it came over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
    /// The grants the request's `GrantTokens` name (checked): a grant is usable through its
    /// token even where it is not yet cached, as AWS documents for new grants.
    pub grant_tokens: Vec<GrantRef>,
}

impl Principal {
    /// A principal for `identity`, from an unknown address over plain HTTP.
    pub fn new(access_key_id: AccessKeyId, region: Region, identity: Arc<Identity>) -> Self {
        Self {
            account: identity.caller.account,
            access_key_id,
            region,
            identity,
            source_ip: None,
            secure_transport: false,
            grant_tokens: Vec::new(),
        }
    }

    /// The caller.
    pub fn caller(&self) -> &Caller {
        &self.identity.caller
    }

    /// The caller's ARN, as AWS prints it in access-denied messages.
    pub fn arn(&self) -> &str {
        &self.identity.caller.arn
    }

    /// The name audit records and LookupEvents show: the user's name, `root`, or the role
    /// session's name.
    pub fn user_name(&self) -> &str {
        match &self.identity.caller.kind {
            CallerKind::Root => "root",
            CallerKind::User { name } => name,
            CallerKind::AssumedRole { session, .. } => session,
        }
    }
}
