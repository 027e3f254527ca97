//! The scheduler's work: automatic and on-demand rotations that are due, and deletions whose
//! date has passed.
//!
//! Every item is decided in the store by compare-and-swap on the key's revision, in one
//! transaction per item, so that several schedulers (threads, processes or servers sharing a
//! store) do each item exactly once, and a crash at any point leaves the old state or the new
//! one, never a mix.

use std::sync::Arc;

use strongbox_crypto::KeyMaterial;
use time::{Duration, OffsetDateTime};

use super::Kms;
use crate::audit::Event;
use crate::error::Error;
use crate::model::{Key, KeyState, KeyVersion, RotationType, VersionId};
use crate::store::StoreErrorKind;

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DueWork {
    /// Keys looked at.
    pub found: usize,
    /// Rotations performed by this pass.
    pub rotated: usize,
    /// Keys deleted by this pass.
    pub deleted: usize,
}

/// What one key needs.
enum Due {
    Rotation(RotationType),
    Deletion,
    Nothing,
}

impl Kms {
    /// Performs up to `limit` due items at the clock's current time. Items another scheduler
    /// did first are skipped; a failing item is logged and left for the next pass.
    pub async fn perform_due_work(&self, limit: u32) -> Result<DueWork, Error> {
        let now = self.clock.now();
        let due = self.store.due_keys(now, limit).await?;
        let mut work = DueWork {
            found: due.len(),
            ..DueWork::default()
        };
        for key in due {
            let arn = key.arn.clone();
            let outcome = match due_now(&key, now) {
                Due::Rotation(kind) => self.rotate(key, kind, now).await.map(|done| {
                    work.rotated += usize::from(done);
                }),
                Due::Deletion => self.delete_expired(key).await.map(|done| {
                    work.deleted += usize::from(done);
                }),
                Due::Nothing => Ok(()),
            };
            if let Err(error) = outcome {
                tracing::warn!(key = %arn, ?error, "scheduled work failed; retrying next pass");
            }
        }
        Ok(work)
    }

    /// Adds a version with fresh material and makes it current. False when another
    /// scheduler changed the key first (it did the rotation, or the key changed under us).
    async fn rotate(
        &self,
        mut key: Key,
        kind: RotationType,
        now: OffsetDateTime,
    ) -> Result<bool, Error> {
        let version_id = VersionId::generate();
        let material = KeyMaterial::generate_symmetric()?;
        let sealed = self
            .seal_for(
                &key.arn.account,
                &KeyVersion::seal_binding(&key, version_id),
                material.expose(),
            )
            .await?;
        let version = KeyVersion {
            key_id: key.id(),
            version_id,
            ordinal: key.version_count,
            rotation: Some(kind),
            sealed,
            created_at: now,
        };
        key.current_version = version_id;
        key.version_count += 1;
        match kind {
            RotationType::OnDemand => key.set_on_demand_started(None),
            RotationType::Automatic => {
                if let Some(rotation) = &mut key.rotation {
                    rotation.next_rotation = now + Duration::days(i64::from(rotation.period_days));
                }
            }
        }
        let written = self.store.rotate_key(&key, &version).await;
        self.cache.forget_key(key.id());
        self.cache.absent_versions.remove(&(key.id(), version_id));
        match written {
            Ok(_) => {
                self.cache
                    .insert_material(&key, version_id, Arc::new(material));
                tracing::info!(key = %key.arn, rotation = %kind, "rotated");
                let details = serde_json::json!({
                    "keyId": key.id().to_string(),
                    "rotationType": kind.to_string(),
                });
                self.record_service_event("RotateKey", &key, now, details)
                    .await;
                Ok(true)
            }
            Err(error) if lost_race(error.kind()) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// Deletes a key whose waiting period is over, with its versions and aliases. False when
    /// another scheduler deleted it first or its deletion was cancelled.
    async fn delete_expired(&self, key: Key) -> Result<bool, Error> {
        let deleted = self.store.delete_key(&key).await;
        let key_id = key.id();
        self.cache.forget_deleted_key(key_id);
        match deleted {
            Ok(()) => {
                tracing::info!(key = %key.arn, "deleted after its waiting period");
                let details = serde_json::json!({ "keyId": key_id.to_string() });
                let now = self.clock.now();
                self.record_service_event("DeleteKey", &key, now, details)
                    .await;
                Ok(true)
            }
            Err(error) if lost_race(error.kind()) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }
}

impl Kms {
    /// Records what the scheduler did. The change is already committed, so a failure to record
    /// is logged loudly rather than undoing it.
    async fn record_service_event(
        &self,
        name: &str,
        key: &Key,
        now: OffsetDateTime,
        details: serde_json::Value,
    ) {
        let event = Event::service(name, &key.arn, now, details);
        if let Err(error) = self
            .audit
            .record(&key.arn.account, &key.arn.region, now, event)
            .await
        {
            tracing::error!(key = %key.arn, event = name, ?error, "service event not recorded in the audit trail");
        }
    }
}

/// What is due for `key` at `now`. An on-demand request goes first; an automatic rotation that
/// is also due follows on the next pass.
fn due_now(key: &Key, now: OffsetDateTime) -> Due {
    match key.state {
        KeyState::PendingDeletion if key.deletion_date().is_some_and(|date| date <= now) => {
            Due::Deletion
        }
        KeyState::Enabled if key.on_demand_started().is_some() => {
            Due::Rotation(RotationType::OnDemand)
        }
        KeyState::Enabled if key.rotation.is_some_and(|r| r.next_rotation <= now) => {
            Due::Rotation(RotationType::Automatic)
        }
        _ => Due::Nothing,
    }
}

fn lost_race(kind: StoreErrorKind) -> bool {
    matches!(kind, StoreErrorKind::Conflict | StoreErrorKind::NotFound)
}
