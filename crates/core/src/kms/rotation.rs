//! EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand,
//! ListKeyRotations. The rotations themselves are performed by the scheduler
//! ([`Kms::perform_due_work`]), in the store, exactly once.

use std::ops::RangeInclusive;
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use super::Kms;
use super::resolve::{Access, KeyRef};
use crate::error::Error;
use crate::messages::{self, Violation};
use crate::model::{AutoRotation, Key, KeySpec, KeyState, KeyVersion, Origin, Principal};
use crate::operation::Operation;
use crate::state;
use crate::store::{Page, PageRequest};

/// AWS's bounds on `RotationPeriodInDays`.
pub const ROTATION_PERIOD_DAYS: RangeInclusive<u32> = 90..=2560;
/// The period when none is given.
pub const DEFAULT_ROTATION_PERIOD_DAYS: u32 = 365;

/// What GetKeyRotationStatus reports.
#[derive(Clone, Debug)]
pub struct RotationStatus {
    /// The key.
    pub key: Arc<Key>,
    /// The schedule, when automatic rotation is enabled (and the key is not pending deletion,
    /// which suspends it, as in AWS).
    pub schedule: Option<AutoRotation>,
    /// When a requested on-demand rotation started, while it is in progress.
    pub on_demand_started: Option<OffsetDateTime>,
}

/// Which versions ListKeyRotations returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VersionFilter {
    /// Only versions made by rotations (AWS's default, `ROTATIONS_ONLY`).
    RotationsOnly,
    /// The first material too (`ALL_KEY_MATERIAL`).
    All,
}

impl Kms {
    /// EnableKeyRotation: rotate every `period_days` (90 to 2560, default 365). Changing the
    /// period of an enabled schedule keeps its anchor (the last rotation).
    pub async fn enable_key_rotation(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        period_days: Option<i64>,
    ) -> Result<Key, Error> {
        let period_days = rotation_period(period_days)?;
        let now = self.clock.now();
        let period = period_days.to_string();
        let values = [("kms:RotationPeriodInDays", period.as_str())];
        let access = Access::of(Operation::EnableKeyRotation).with_values(&values);
        self.modify_key(principal, key_ref, access, |key| {
            // The key's state first, as AWS checks it (see RotateKeyOnDemand).
            state::allows(Operation::EnableKeyRotation, key.state, &key.arn)?;
            rotatable(key)?;
            let next_rotation = match key.rotation {
                Some(old) => {
                    let anchor = old.next_rotation - days(old.period_days);
                    (anchor + days(period_days)).max(now)
                }
                None => now + days(period_days),
            };
            key.rotation = Some(AutoRotation {
                period_days,
                next_rotation,
            });
            Ok(())
        })
        .await
    }

    /// DisableKeyRotation.
    pub async fn disable_key_rotation(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
    ) -> Result<Key, Error> {
        let access = Access::of(Operation::DisableKeyRotation);
        self.modify_key(principal, key_ref, access, |key| {
            // The key's state first, as AWS checks it (see RotateKeyOnDemand).
            state::allows(Operation::DisableKeyRotation, key.state, &key.arn)?;
            rotatable(key)?;
            key.rotation = None;
            Ok(())
        })
        .await
    }

    /// GetKeyRotationStatus. Allowed in every key state.
    pub async fn key_rotation_status(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
    ) -> Result<RotationStatus, Error> {
        let access = Access::of(Operation::GetKeyRotationStatus);
        let key = self.resolve(principal, key_ref, access).await?;
        rotatable(&key)?;
        let schedule = key
            .rotation
            .filter(|_| key.state != KeyState::PendingDeletion);
        Ok(RotationStatus {
            on_demand_started: key.on_demand_started(),
            schedule,
            key,
        })
    }

    /// RotateKeyOnDemand: records the request and returns; the scheduler performs it (at once
    /// when the caller wakes it). A second request while one is in progress is a
    /// `ConflictException`; more than the per-key limit is `LimitExceededException`.
    pub async fn rotate_key_on_demand(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
    ) -> Result<Key, Error> {
        let now = self.clock.now();
        let limit = self.config.on_demand_rotation_limit;
        let access = Access::of(Operation::RotateKeyOnDemand);
        self.modify_key(principal, key_ref, access, |key| {
            // AWS checks the key's state first: a disabled RSA key is `DisabledException`.
            state::allows(Operation::RotateKeyOnDemand, key.state, &key.arn)?;
            if rotatable(key).is_err() {
                return Err(Error::UnsupportedOperation(
                    messages::CANNOT_ROTATE_ON_DEMAND.to_owned(),
                ));
            }
            if key.on_demand_started().is_some() {
                return Err(Error::Conflict(messages::rotation_in_progress(
                    &key.arn.to_string(),
                )));
            }
            if key.on_demand_rotations >= limit {
                return Err(Error::LimitExceeded(messages::on_demand_rotation_limit(
                    &key.arn.to_string(),
                )));
            }
            key.set_on_demand_started(Some(now));
            key.on_demand_rotations += 1;
            Ok(())
        })
        .await
    }

    /// ListKeyRotations: the key's versions in order, with the key to tell the current one.
    pub async fn list_key_rotations(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        filter: VersionFilter,
        page: &PageRequest,
    ) -> Result<(Arc<Key>, Page<KeyVersion>), Error> {
        let access = Access::of(Operation::ListKeyRotations);
        let key = self.resolve(principal, key_ref, access).await?;
        rotatable(&key)?;
        let mut page = page.clone();
        if filter == VersionFilter::RotationsOnly && page.after.is_none() {
            // The first material has ordinal 0; rotations start after it.
            page.after = Some("0".to_owned());
        }
        let versions = self
            .store
            .list_key_versions(&key.arn.account, key.id(), &page)
            .await?;
        Ok((key, versions))
    }
}

/// Only symmetric keys with material Strongbox generated can rotate, as in AWS.
fn rotatable(key: &Key) -> Result<(), Error> {
    if key.spec != KeySpec::SymmetricDefault {
        return Err(Error::UnsupportedOperation(messages::cannot_rotate(
            &key.arn.to_string(),
            key.spec.as_str(),
        )));
    }
    if key.origin != Origin::AwsKms {
        return Err(Error::UnsupportedOperation(messages::origin_not_valid(
            &key.arn.to_string(),
            key.origin.as_str(),
        )));
    }
    Ok(())
}

fn rotation_period(days: Option<i64>) -> Result<u32, Error> {
    let Some(days) = days else {
        return Ok(DEFAULT_ROTATION_PERIOD_DAYS);
    };
    let (min, max) = (*ROTATION_PERIOD_DAYS.start(), *ROTATION_PERIOD_DAYS.end());
    if let Some(violation) =
        Violation::range(days, "rotationPeriodInDays", i64::from(min), i64::from(max))
    {
        return Err(Error::Validation(messages::validation(&[violation])));
    }
    // Within the range checked above, so the conversion cannot fail.
    Ok(u32::try_from(days).unwrap_or(DEFAULT_ROTATION_PERIOD_DAYS))
}

fn days(count: u32) -> Duration {
    Duration::days(i64::from(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_periods() {
        assert_eq!(rotation_period(None).unwrap(), 365);
        assert_eq!(rotation_period(Some(90)).unwrap(), 90);
        assert_eq!(rotation_period(Some(2560)).unwrap(), 2560);
        for bad in [89, 2561, 0, -5, i64::MAX] {
            assert!(matches!(
                rotation_period(Some(bad)),
                Err(Error::Validation(_))
            ));
        }
    }
}
