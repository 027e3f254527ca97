//! Account key-encryption keys, the sealing root key guard, and account deletion, on SQLite.

use sqlx::{Connection, SqliteConnection, SqlitePool};

use strongbox_core::model::AccountId;
use strongbox_core::{SealedKey, StoreError, StoreErrorKind};

use crate::rows::{driver_error, get, parsed};

/// An insert guarded by the sealing root: no row inserted (without a conflict) means a
/// rotation named another root key.
fn inserted_unless_stale(done: sqlx::sqlite::SqliteQueryResult) -> Result<(), StoreError> {
    if done.rows_affected() == 0 {
        return Err(StoreError::new(
            StoreErrorKind::StaleRoot,
            "sealed under a root key that a rotation is retiring",
        ));
    }
    Ok(())
}

pub(crate) async fn account_kek(
    readers: &SqlitePool,
    account: &AccountId,
) -> Result<Option<SealedKey>, StoreError> {
    let sealed: Option<Vec<u8>> =
        sqlx::query_scalar("SELECT sealed FROM account_keks WHERE account_id = $1")
            .bind(account.as_str())
            .fetch_optional(readers)
            .await
            .map_err(driver_error)?;
    Ok(sealed.map(SealedKey::from_bytes))
}

pub(crate) async fn insert_account_kek(
    connection: &mut SqliteConnection,
    account: &AccountId,
    sealed: &SealedKey,
    root: &[u8],
) -> Result<(), StoreError> {
    // Refused (`StaleRoot`) when a rotation named another root key than `root`, and
    // (`NotFound`) when the account is gone: no key-encryption key outlives its account.
    let done = sqlx::query(
        "INSERT INTO account_keks (account_id, sealed) SELECT $1, $2 \
         WHERE NOT EXISTS (SELECT 1 FROM sealing_root WHERE root_id <> $3) \
         AND EXISTS (SELECT 1 FROM accounts WHERE id = $1)",
    )
    .bind(account.as_str())
    .bind(sealed.as_bytes())
    .bind(root)
    .execute(&mut *connection)
    .await
    .map_err(driver_error)?;
    if done.rows_affected() == 0 {
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM accounts WHERE id = $1")
            .bind(account.as_str())
            .fetch_optional(&mut *connection)
            .await
            .map_err(driver_error)?;
        if exists.is_none() {
            return Err(StoreError::new(
                StoreErrorKind::NotFound,
                format!("account {account} does not exist"),
            ));
        }
    }
    inserted_unless_stale(done)
}

pub(crate) async fn insert_meta(
    connection: &mut SqliteConnection,
    name: &str,
    value: &[u8],
    root: &[u8],
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "INSERT INTO meta (name, value) SELECT $1, $2 \
         WHERE NOT EXISTS (SELECT 1 FROM sealing_root WHERE root_id <> $3)",
    )
    .bind(name)
    .bind(value)
    .bind(root)
    .execute(connection)
    .await
    .map_err(driver_error)?;
    inserted_unless_stale(done)
}

pub(crate) async fn account_keks(
    readers: &SqlitePool,
) -> Result<Vec<(AccountId, SealedKey)>, StoreError> {
    let rows = sqlx::query("SELECT account_id, sealed FROM account_keks ORDER BY account_id")
        .fetch_all(readers)
        .await
        .map_err(driver_error)?;
    rows.iter()
        .map(|row| {
            Ok((
                parsed(get(row, "account_id")?, "account id", |v| {
                    AccountId::parse(v).ok()
                })?,
                SealedKey::from_bytes(get(row, "sealed")?),
            ))
        })
        .collect()
}

pub(crate) async fn replace_account_kek(
    connection: &mut SqliteConnection,
    account: &AccountId,
    old: &SealedKey,
    new: &SealedKey,
) -> Result<bool, StoreError> {
    let done =
        sqlx::query("UPDATE account_keks SET sealed = $1 WHERE account_id = $2 AND sealed = $3")
            .bind(new.as_bytes())
            .bind(account.as_str())
            .bind(old.as_bytes())
            .execute(connection)
            .await
            .map_err(driver_error)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn list_meta(readers: &SqlitePool) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let rows = sqlx::query("SELECT name, value FROM meta ORDER BY name")
        .fetch_all(readers)
        .await
        .map_err(driver_error)?;
    rows.iter()
        .map(|row| Ok((get(row, "name")?, get(row, "value")?)))
        .collect()
}

pub(crate) async fn set_sealing_root(
    connection: &mut SqliteConnection,
    root: &[u8],
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO sealing_root (id, root_id) VALUES (1, $1) \
         ON CONFLICT (id) DO UPDATE SET root_id = excluded.root_id",
    )
    .bind(root)
    .execute(connection)
    .await
    .map_err(driver_error)?;
    Ok(())
}

/// Deletes an account's rows from every table that holds them, children first. The audit
/// trail is not among them: an account's records outlive it, as CloudTrail's do.
const DELETE_ACCOUNT_ROWS: &[&str] = &[
    "DELETE FROM account_keks WHERE account_id = $1",
    "DELETE FROM grants WHERE account_id = $1",
    "DELETE FROM aliases WHERE account_id = $1",
    "DELETE FROM key_versions WHERE account_id = $1",
    "DELETE FROM keys WHERE account_id = $1",
    "DELETE FROM iam_inline_policies WHERE account_id = $1",
    "DELETE FROM iam_roles WHERE account_id = $1",
    "DELETE FROM iam_users WHERE account_id = $1",
    "DELETE FROM access_keys WHERE account_id = $1",
];

pub(crate) async fn delete_account(
    connection: &mut SqliteConnection,
    account: &AccountId,
) -> Result<bool, StoreError> {
    let mut tx = connection.begin().await.map_err(driver_error)?;
    for statement in DELETE_ACCOUNT_ROWS {
        sqlx::query(*statement)
            .bind(account.as_str())
            .execute(&mut *tx)
            .await
            .map_err(driver_error)?;
    }
    let deleted = sqlx::query("DELETE FROM accounts WHERE id = $1")
        .bind(account.as_str())
        .execute(&mut *tx)
        .await
        .map_err(driver_error)?;
    tx.commit().await.map_err(driver_error)?;
    Ok(deleted.rows_affected() == 1)
}
