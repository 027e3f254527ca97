//! Sealing again after a seal format change, on SQLite: every key version's sealed material
//! read in pages, and compare-and-swap replacements of sealed values.

use sqlx::{Connection, SqliteConnection, SqlitePool};

use strongbox_core::model::{AccessKeyId, VersionId};
use strongbox_core::{Page, PageRequest, SealedKey, SealedVersion, StoreError};

use crate::rows::{corrupt, driver_error, get, key_arn, parsed};
use crate::sqlite::{fetch_limit, page};

/// The marker of a page: the last row's account, key and version, `/`-separated.
fn marker(version: &SealedVersion) -> String {
    format!(
        "{}/{}/{}",
        version.key.account, version.key.key_id, version.version
    )
}

pub(crate) async fn sealed_versions(
    readers: &SqlitePool,
    request: &PageRequest,
) -> Result<Page<SealedVersion>, StoreError> {
    let (account, key, version) = match request.after.as_deref() {
        None => (String::new(), String::new(), String::new()),
        Some(after) => {
            let mut parts = after.splitn(3, '/');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(a), Some(k), Some(v)) => (a.to_owned(), k.to_owned(), v.to_owned()),
                _ => return Err(corrupt(format!("not a sealed-versions marker: {after}"))),
            }
        }
    };
    let rows = sqlx::query(
        "SELECT v.account_id AS account_id, k.region AS region, v.key_id AS key_id, v.version_id AS version_id, v.sealed_material AS sealed_material \
         FROM key_versions v JOIN keys k ON k.account_id = v.account_id AND k.key_id = v.key_id \
         WHERE (v.account_id, v.key_id, v.version_id) > ($1, $2, $3) \
         ORDER BY v.account_id, v.key_id, v.version_id LIMIT $4",
    )
    .bind(account)
    .bind(key)
    .bind(version)
    .bind(fetch_limit(request))
    .fetch_all(readers)
    .await
    .map_err(driver_error)?;
    let items = rows
        .iter()
        .map(|row| {
            Ok(SealedVersion {
                key: key_arn(row)?,
                version: parsed(get(row, "version_id")?, "version id", VersionId::parse)?,
                sealed: SealedKey::from_bytes(get(row, "sealed_material")?),
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(page(items, request.limit, marker))
}

pub(crate) async fn reseal_versions(
    connection: &mut SqliteConnection,
    resealed: &[(SealedVersion, SealedKey)],
) -> Result<u64, StoreError> {
    let mut tx = connection.begin().await.map_err(driver_error)?;
    let mut replaced = 0;
    for (stored, new) in resealed {
        let done = sqlx::query(
            "UPDATE key_versions SET sealed_material = $1 WHERE account_id = $2 AND key_id = $3 AND version_id = $4 AND sealed_material = $5",
        )
        .bind(new.as_bytes())
        .bind(stored.key.account.as_str())
        .bind(stored.key.key_id.to_string())
        .bind(stored.version.to_string())
        .bind(stored.sealed.as_bytes())
        .execute(&mut *tx)
        .await
        .map_err(driver_error)?;
        replaced += done.rows_affected();
    }
    tx.commit().await.map_err(driver_error)?;
    Ok(replaced)
}

pub(crate) async fn reseal_access_key(
    connection: &mut SqliteConnection,
    id: &AccessKeyId,
    old: &SealedKey,
    new: &SealedKey,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE access_keys SET sealed_secret = $1 WHERE id = $2 AND sealed_secret = $3",
    )
    .bind(new.as_bytes())
    .bind(id.as_str())
    .bind(old.as_bytes())
    .execute(connection)
    .await
    .map_err(driver_error)?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn replace_meta(
    connection: &mut SqliteConnection,
    name: &str,
    old: &[u8],
    new: &[u8],
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE meta SET value = $1 WHERE name = $2 AND value = $3")
        .bind(new)
        .bind(name)
        .bind(old)
        .execute(connection)
        .await
        .map_err(driver_error)?;
    Ok(done.rows_affected() == 1)
}
