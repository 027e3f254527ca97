//! Mapping between rows and domain types: how each field is spelled in the database.

use std::sync::Arc;

use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use time::OffsetDateTime;

use strongbox_core::model::{
    AccessKey, AccessKeyId, AccessKeyStatus, Account, AccountId, Alias, AliasName, AutoRotation,
    Key, KeyArn, KeyId, KeySpec, KeyState, KeyUsage, KeyVersion, Origin, PendingWork, Region,
    RotationType, Tags, VersionId,
};
use strongbox_core::policy::KeyPolicy;
use strongbox_core::{SealedKey, StoreError, StoreErrorKind};

/// Stored timestamps are Unix epoch milliseconds.
pub(crate) fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub(crate) fn from_millis(value: i64) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(value) * 1_000_000)
        .map_err(|error| corrupt(format!("timestamp {value}: {error}")))
}

/// A stored non-negative count.
fn count(value: i64, what: &str) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| corrupt(format!("{what} {value} is out of range")))
}

pub(crate) fn corrupt(message: impl Into<String>) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, message.into())
}

/// Translates driver errors into the store's kinds.
pub(crate) fn driver_error(error: sqlx::Error) -> StoreError {
    let kind = match &error {
        _ if no_space(&error) => StoreErrorKind::NoSpace,
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreErrorKind::Conflict,
        sqlx::Error::RowNotFound => StoreErrorKind::NotFound,
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => StoreErrorKind::Corrupt,
        _ => StoreErrorKind::Unavailable,
    };
    StoreError::new(kind, error)
}

/// `SQLITE_FULL` (13, "database or disk is full"), PostgreSQL's `disk_full` (53100), or an I/O
/// error `ENOSPC` (28) from the driver.
fn no_space(error: &sqlx::Error) -> bool {
    const ENOSPC: i32 = 28;
    match error {
        sqlx::Error::Database(db) => matches!(db.code().as_deref(), Some("13" | "53100")),
        sqlx::Error::Io(io) => io.raw_os_error() == Some(ENOSPC),
        _ => false,
    }
}

pub(crate) fn get<'r, T: sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>>(
    row: &'r SqliteRow,
    column: &str,
) -> Result<T, StoreError> {
    row.try_get(column).map_err(driver_error)
}

pub(crate) fn parsed<T>(
    value: String,
    what: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> Result<T, StoreError> {
    parse(&value).ok_or_else(|| corrupt(format!("{what} '{value}' is not valid")))
}

pub(crate) fn account(row: &SqliteRow) -> Result<Account, StoreError> {
    Ok(Account {
        id: parsed(get(row, "id")?, "account id", |v| AccountId::parse(v).ok())?,
        name: get(row, "name")?,
        created_at: from_millis(get(row, "created_at")?)?,
    })
}

pub(crate) fn status_text(status: AccessKeyStatus) -> &'static str {
    match status {
        AccessKeyStatus::Active => "Active",
        AccessKeyStatus::Inactive => "Inactive",
    }
}

pub(crate) fn access_key(row: &SqliteRow) -> Result<AccessKey, StoreError> {
    let status = match get::<String>(row, "status")?.as_str() {
        "Active" => AccessKeyStatus::Active,
        "Inactive" => AccessKeyStatus::Inactive,
        other => return Err(corrupt(format!("access key status '{other}'"))),
    };
    Ok(AccessKey {
        id: parsed(get(row, "id")?, "access key id", |v| {
            AccessKeyId::parse(v).ok()
        })?,
        account: parsed(get(row, "account_id")?, "account id", |v| {
            AccountId::parse(v).ok()
        })?,
        user: get(row, "user_name")?,
        sealed_secret: SealedKey::from_bytes(get(row, "sealed_secret")?),
        status,
        created_at: from_millis(get(row, "created_at")?)?,
    })
}

pub(crate) fn tags_json(tags: &Tags) -> String {
    serde_json::to_string(tags).unwrap_or_else(|_| "{}".to_owned())
}

pub(crate) fn key_arn(row: &SqliteRow) -> Result<KeyArn, StoreError> {
    Ok(KeyArn {
        region: parsed(get(row, "region")?, "region", |v| Region::parse(v).ok())?,
        account: parsed(get(row, "account_id")?, "account id", |v| {
            AccountId::parse(v).ok()
        })?,
        key_id: parsed(get(row, "key_id")?, "key id", KeyId::parse)?,
    })
}

pub(crate) fn key(row: &SqliteRow) -> Result<Key, StoreError> {
    let arn = key_arn(row)?;
    let tags: String = get(row, "tags")?;
    let deletion_date: Option<i64> = get(row, "deletion_date")?;
    let window: Option<i64> = get(row, "pending_window_days")?;
    let period: Option<i64> = get(row, "rotation_period_days")?;
    let next_rotation: Option<i64> = get(row, "next_rotation_date")?;
    let rotation = match (period, next_rotation) {
        (Some(period), Some(next)) => Some(AutoRotation {
            period_days: count(period, "rotation period")?,
            next_rotation: from_millis(next)?,
        }),
        (None, None) => None,
        _ => return Err(corrupt("rotation period and date must be set together")),
    };
    let on_demand_started: Option<i64> = get(row, "on_demand_started")?;
    Ok(Key {
        arn,
        description: get(row, "description")?,
        spec: parsed(get(row, "key_spec")?, "key spec", KeySpec::parse)?,
        usage: parsed(get(row, "key_usage")?, "key usage", KeyUsage::parse)?,
        origin: parsed(get(row, "origin")?, "origin", Origin::parse)?,
        state: parsed(get(row, "key_state")?, "key state", KeyState::parse)?,
        created_at: from_millis(get(row, "created_at")?)?,
        current_version: parsed(get(row, "current_version")?, "version id", VersionId::parse)?,
        version_count: count(get(row, "version_count")?, "version count")?,
        rotation,
        on_demand_rotations: count(get(row, "on_demand_rotations")?, "on-demand rotations")?,
        pending: PendingWork::boxed(PendingWork {
            deletion_date: deletion_date.map(from_millis).transpose()?,
            pending_window_days: window
                .map(|days| u32::try_from(days).map_err(|_| corrupt(format!("window {days}"))))
                .transpose()?,
            on_demand_started: on_demand_started.map(from_millis).transpose()?,
        }),
        tags: serde_json::from_str(&tags).map_err(|error| corrupt(format!("tags: {error}")))?,
        policy: Arc::new(
            KeyPolicy::stored(get::<String>(row, "policy")?).with_principal_ids(
                KeyPolicy::principal_ids_from_json(&get::<String>(row, "policy_principals")?),
            ),
        ),
        revision: get(row, "revision")?,
    })
}

pub(crate) fn key_version(row: &SqliteRow) -> Result<KeyVersion, StoreError> {
    Ok(KeyVersion {
        key_id: parsed(get(row, "key_id")?, "key id", KeyId::parse)?,
        version_id: parsed(get(row, "version_id")?, "version id", VersionId::parse)?,
        ordinal: count(get(row, "ordinal")?, "ordinal")?,
        rotation: get::<Option<String>>(row, "rotation_type")?
            .map(|text| parsed(text, "rotation type", RotationType::parse))
            .transpose()?,
        sealed: SealedKey::from_bytes(get(row, "sealed_material")?),
        created_at: from_millis(get(row, "created_at")?)?,
    })
}

pub(crate) fn alias(row: &SqliteRow) -> Result<Alias, StoreError> {
    Ok(Alias {
        account: parsed(get(row, "account_id")?, "account id", |v| {
            AccountId::parse(v).ok()
        })?,
        region: parsed(get(row, "region")?, "region", |v| Region::parse(v).ok())?,
        name: parsed(get(row, "name")?, "alias name", |v| {
            AliasName::parse(v).ok()
        })?,
        target: parsed(get(row, "target_key_id")?, "key id", KeyId::parse)?,
        created_at: from_millis(get(row, "created_at")?)?,
        updated_at: from_millis(get(row, "updated_at")?)?,
    })
}
