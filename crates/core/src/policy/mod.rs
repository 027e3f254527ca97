//! Access policies and their evaluation, as AWS KMS decides.
//!
//! Policies are parsed once, when they are stored ([`Policy::parse`]), into typed statements
//! whose patterns and condition values are compiled; a request is then decided by [`decide`]
//! from memory, without reading JSON. The module is pure: no I/O, no clock, no store. Its
//! callers gather the documents (the key policy, the caller's identity policies) and the
//! request context.

mod condition;
mod context;
mod document;
mod eval;
mod grants;
mod json;
mod pattern;
mod principal;
mod stored;

pub use condition::{Comparison, Condition, Operator, SetQualifier};
pub use context::{Context, KeyFacts, RequestContext, Values};
pub use document::{Effect, Policy, PolicyError, PolicyKind, Statement};
pub use eval::{Decision, Denial, Identity, IdentityPolicies, Request, decide, identity_allows};
pub use grants::{ChildGrant, GrantUse, allowing, principal_match};
pub use json::Json;
pub use pattern::Pattern;
pub use principal::{Caller, CallerKind, Match, PrincipalId, PrincipalIds, Principals};
pub use stored::KeyPolicy;
