//! One function per operation: wire request to domain input, call [`Kms`], domain output to
//! wire response. Parse, don't validate: checks happen while converting, once.

pub mod aliases;
pub mod asymmetric;
pub mod cloudtrail;
pub mod crypto;
pub mod grants;
pub mod keys;
pub mod policies;
pub mod rotation;
pub mod tags;

use strongbox_core::Kms;
use strongbox_core::messages;
use strongbox_core::model::Principal;

use crate::jobs::Scheduler;
use crate::wire::{ApiError, ErrorCode};

/// What every handler receives.
pub struct Call<'a> {
    /// The service.
    pub kms: &'a Kms,
    /// The authenticated caller.
    pub principal: &'a Principal,
    /// The lifecycle scheduler, woken when work is requested.
    pub scheduler: &'a Scheduler,
}

/// AWS's answer to a request with `DryRun` set that would have succeeded. The operation runs
/// for real first: the cryptographic operations that take `DryRun` have no side effects.
pub fn dry_run_result<T>(dry_run: Option<bool>, output: T) -> Result<T, ApiError> {
    if dry_run == Some(true) {
        return Err(ApiError::new(ErrorCode::DryRunOperation, messages::DRY_RUN));
    }
    Ok(output)
}

/// Refuses members that name features this build does not have, instead of ignoring them.
pub fn refuse_unsupported(present: bool, what: &str) -> Result<(), ApiError> {
    if present {
        return Err(ApiError::new(
            ErrorCode::UnsupportedOperation,
            messages::option_not_supported(what),
        ));
    }
    Ok(())
}
