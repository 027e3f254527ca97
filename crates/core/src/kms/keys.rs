//! Key lifecycle: CreateKey, DescribeKey, ListKeys, EnableKey, DisableKey, ScheduleKeyDeletion,
//! CancelKeyDeletion, UpdateKeyDescription.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use super::Kms;
use super::material::MaterialKind;
use super::resolve::{Access, KeyRef};
use crate::error::Error;
use crate::messages;
use crate::model::{
    Key, KeyArn, KeyId, KeySpec, KeyState, KeyUsage, KeyVersion, Origin, Principal, Tags, VersionId,
};
use crate::operation::Operation;
use crate::policy::KeyPolicy;
use crate::state;
use crate::store::{Page, PageRequest, StoreErrorKind};
use crate::validate;

/// How many times a read-modify-write retries after losing a compare-and-swap race. The store
/// serializes writes, so each round has a winner: this bounds the writers racing on one key.
const CAS_ATTEMPTS: usize = 64;

/// What CreateKey asks for, already parsed.
#[derive(Clone, Debug)]
pub struct CreateKeyInput {
    /// Free text.
    pub description: String,
    /// The material type.
    pub spec: KeySpec,
    /// The usage; `None` takes the spec's default (ENCRYPT_DECRYPT for symmetric keys).
    pub usage: Option<KeyUsage>,
    /// Where the material comes from.
    pub origin: Origin,
    /// Checked tags.
    pub tags: Tags,
    /// A key policy document, or `None` for the default policy.
    pub policy: Option<String>,
    /// Whether a multi-Region primary key is wanted.
    pub multi_region: bool,
    /// `BypassPolicyLockoutSafetyCheck`: accept a policy that would not let the caller change
    /// it again.
    pub bypass_lockout_check: bool,
}

/// What ScheduleKeyDeletion reports.
#[derive(Clone, Debug)]
pub struct ScheduledDeletion {
    /// The key, now pending deletion.
    pub key: Key,
    /// When it will be deleted.
    pub deletion_date: OffsetDateTime,
    /// The waiting period.
    pub window_days: u32,
}

impl Kms {
    /// CreateKey: a new key with fresh material in the caller's account and Region.
    pub async fn create_key(
        &self,
        principal: &Principal,
        input: CreateKeyInput,
    ) -> Result<Key, Error> {
        // The model's constraint before the service's rules.
        validate::description(&input.description)?;
        let kind = MaterialKind::of(input.spec)?;
        let usage = usage_for(input.spec, input.usage)?;
        let bypass = if input.bypass_lockout_check {
            "true"
        } else {
            "false"
        };
        let values = [
            ("kms:KeySpec", input.spec.as_str()),
            ("kms:KeyUsage", usage.as_str()),
            ("kms:KeyOrigin", input.origin.as_str()),
            (
                "kms:MultiRegion",
                if input.multi_region { "true" } else { "false" },
            ),
            ("kms:BypassPolicyLockoutSafetyCheck", bypass),
        ];
        let access = Access::of(Operation::CreateKey)
            .with_values(&values)
            .with_tags(&input.tags);
        self.authorize_unkeyed(principal, access, "*")?;
        if input.origin != Origin::AwsKms {
            return Err(Error::UnsupportedOperation(messages::option_not_supported(
                &format!("Origin {}", input.origin),
            )));
        }
        if input.multi_region {
            return Err(Error::UnsupportedOperation(messages::option_not_supported(
                "MultiRegion",
            )));
        }
        let arn = KeyArn {
            region: principal.region,
            account: principal.account,
            key_id: KeyId::generate(),
        };
        let now = self.clock.now();
        let version_id = VersionId::generate();
        // The key as it will be, for the lockout check's conditions (its tags and facts).
        let planned = Key {
            description: input.description.clone(),
            origin: input.origin,
            tags: input.tags.clone(),
            ..Key::new(arn.clone(), input.spec, usage, version_id, now)
        };
        let policy = match input.policy {
            Some(policy) => {
                self.checked_policy(principal, &planned, &policy, input.bypass_lockout_check)
                    .await?
            }
            None => KeyPolicy::default_for(&principal.account),
        };
        let material = kind.generate(&self.generation_permits).await?;
        let sealed = self
            .seal_for(
                &planned.arn.account,
                &KeyVersion::seal_binding(&planned, version_id),
                material.expose(),
            )
            .await?;
        let key = Key {
            policy: Arc::new(policy),
            ..planned
        };
        let version = KeyVersion {
            key_id: key.id(),
            version_id,
            ordinal: 0,
            rotation: None,
            sealed,
            created_at: now,
        };
        let epoch = self.cache.keys_epoch();
        self.store.create_key(&key, &version).await?;
        // (Ids are random: only a guessed one could be in the negative cache, but no entry may
        // outlive the key's creation.)
        self.cache.absent_keys.remove(&(key.arn.region, key.id()));
        crate::audit::resources::touch(&key.arn);
        self.cache
            .insert_new_key(key.clone(), Arc::new(material), epoch);
        Ok(key)
    }

    /// DescribeKey. Allowed in every key state.
    pub async fn describe_key(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
    ) -> Result<Arc<Key>, Error> {
        self.resolve(principal, key_ref, Access::of(Operation::DescribeKey))
            .await
    }

    /// ListKeys: the caller's keys in the request's Region.
    pub async fn list_keys(
        &self,
        principal: &Principal,
        page: &PageRequest,
    ) -> Result<Page<KeyArn>, Error> {
        self.authorize_unkeyed(principal, Access::of(Operation::ListKeys), "*")?;
        Ok(self
            .store
            .list_keys(&principal.account, &principal.region, page)
            .await?)
    }

    /// EnableKey.
    pub async fn enable_key(&self, principal: &Principal, key_ref: &KeyRef) -> Result<Key, Error> {
        let access = Access::of(Operation::EnableKey);
        self.modify_key(principal, key_ref, access, |key| {
            state::allows(Operation::EnableKey, key.state, &key.arn)?;
            key.state = KeyState::Enabled;
            Ok(())
        })
        .await
    }

    /// DisableKey.
    pub async fn disable_key(&self, principal: &Principal, key_ref: &KeyRef) -> Result<Key, Error> {
        let access = Access::of(Operation::DisableKey);
        self.modify_key(principal, key_ref, access, |key| {
            state::allows(Operation::DisableKey, key.state, &key.arn)?;
            key.state = KeyState::Disabled;
            Ok(())
        })
        .await
    }

    /// ScheduleKeyDeletion with a waiting period of 7 to 30 days (default 30).
    pub async fn schedule_key_deletion(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        window_days: Option<i64>,
    ) -> Result<ScheduledDeletion, Error> {
        let window_days = validate::deletion_window(window_days)?;
        let deletion_date = self.clock.now() + Duration::days(i64::from(window_days));
        let window = window_days.to_string();
        let values = [(
            "kms:ScheduleKeyDeletionPendingWindowInDays",
            window.as_str(),
        )];
        let access = Access::of(Operation::ScheduleKeyDeletion).with_values(&values);
        let key = self
            .modify_key(principal, key_ref, access, |key| {
                state::allows(Operation::ScheduleKeyDeletion, key.state, &key.arn)?;
                key.state = KeyState::PendingDeletion;
                key.set_deletion(Some((deletion_date, window_days)));
                Ok(())
            })
            .await?;
        Ok(ScheduledDeletion {
            key,
            deletion_date,
            window_days,
        })
    }

    /// CancelKeyDeletion: the key comes back disabled, as in AWS.
    pub async fn cancel_key_deletion(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
    ) -> Result<Key, Error> {
        let access = Access::of(Operation::CancelKeyDeletion);
        self.modify_key(principal, key_ref, access, |key| {
            state::allows(Operation::CancelKeyDeletion, key.state, &key.arn)?;
            key.state = KeyState::Disabled;
            key.set_deletion(None);
            Ok(())
        })
        .await
    }

    /// UpdateKeyDescription.
    pub async fn update_key_description(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        description: String,
    ) -> Result<Key, Error> {
        validate::description(&description)?;
        let access = Access::of(Operation::UpdateKeyDescription);
        self.modify_key(principal, key_ref, access, |key| {
            state::allows(Operation::UpdateKeyDescription, key.state, &key.arn)?;
            key.description = description.clone();
            Ok(())
        })
        .await
    }

    /// Reads the key from the store, applies `change`, and writes it back if nobody else wrote
    /// in between (retrying otherwise). The cached copy is dropped after every write.
    pub(super) async fn modify_key(
        &self,
        principal: &Principal,
        key_ref: &KeyRef,
        access: Access<'_>,
        mut change: impl FnMut(&mut Key) -> Result<(), Error>,
    ) -> Result<Key, Error> {
        for _ in 0..CAS_ATTEMPTS {
            let mut key = self.resolve_fresh(principal, key_ref, access).await?;
            change(&mut key)?;
            let written = self.store.update_key(&key).await;
            self.cache.forget_key(key.id());
            match written {
                Ok(revision) => {
                    key.revision = revision;
                    return Ok(key);
                }
                Err(error) if error.kind() == StoreErrorKind::Conflict => continue,
                Err(error) => return Err(error.into()),
            }
        }
        Err(Error::Internal(crate::error::Internal::new(
            "modify key",
            "too many concurrent updates of the same key; try again",
        )))
    }
}

/// The usage for `spec`: `KeyUsage` "is optional when you are creating a symmetric encryption
/// KMS key; otherwise, it is required" (AWS's CreateKey reference), so only a symmetric key
/// defaults to ENCRYPT_DECRYPT; `ValidationException` for a usage the spec does not have.
fn usage_for(spec: KeySpec, usage: Option<KeyUsage>) -> Result<KeyUsage, Error> {
    let Some(usage) = usage else {
        if spec == KeySpec::SymmetricDefault {
            return Ok(KeyUsage::EncryptDecrypt);
        }
        return Err(Error::Validation(messages::KEY_USAGE_REQUIRED.to_owned()));
    };
    if spec.usages().contains(&usage) {
        return Ok(usage);
    }
    Err(Error::Validation(messages::usage_incompatible(
        usage.as_str(),
        spec.as_str(),
    )))
}
