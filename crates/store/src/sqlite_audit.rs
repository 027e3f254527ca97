//! The audit trail's tables on SQLite: digests and checkpoints (records live in the audit
//! journal), and the record rows of the older layout until they are moved.

use sqlx::sqlite::SqliteRow;
use sqlx::{Connection, SqliteConnection, SqlitePool};

use strongbox_core::StoreError;
use strongbox_core::audit::{AuditRecord, Checkpoint, Head, StoredDigest};
use strongbox_core::model::{AccountId, Region};

use crate::rows::{corrupt, driver_error, from_millis, get, millis, parsed};

/// Records of the layout before the audit journal (a row each), in chain order, after `after`.
pub(crate) async fn legacy_records(
    pool: &SqlitePool,
    after: Option<&(AccountId, Region, u64)>,
    limit: u32,
) -> Result<Vec<AuditRecord>, StoreError> {
    const SELECT: &str = "SELECT account, region, sequence, event_time, event_id, event_name, \
         read_only, user_name, access_key_id, resources, record, hash FROM audit_records \
         WHERE (account, region, sequence) > ($1, $2, $3) ORDER BY account, region, sequence LIMIT $4";
    let (account, region, sequence) = match after {
        Some((account, region, sequence)) => {
            (account.as_str(), region.as_str(), sequence_value(*sequence))
        }
        None => ("", "", 0),
    };
    let rows = sqlx::query(SELECT)
        .bind(account)
        .bind(region)
        .bind(sequence)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(driver_error)?;
    rows.iter().map(record).collect()
}

/// Deletes the rows of the layout before the audit journal once they were moved.
pub(crate) async fn drop_legacy_records(writer: &mut SqliteConnection) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM audit_records")
        .execute(writer)
        .await
        .map_err(driver_error)?;
    Ok(())
}

pub(crate) async fn insert_digest(
    writer: &mut SqliteConnection,
    digest: &StoredDigest,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_digests (account, region, sequence, end_time, last_record, object, file) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(digest.account.as_str())
    .bind(digest.region.as_str())
    .bind(sequence_value(digest.sequence))
    .bind(millis(digest.end_time))
    .bind(sequence_value(digest.last_record))
    .bind(digest.object.as_str())
    .bind(digest.file.as_slice())
    .execute(writer)
    .await
    .map_err(driver_error)?;
    Ok(())
}

pub(crate) async fn digests(
    pool: &SqlitePool,
    account: &AccountId,
    region: &Region,
    after: u64,
    limit: u32,
) -> Result<Vec<StoredDigest>, StoreError> {
    const SELECT: &str = "SELECT account, region, sequence, end_time, last_record, object, file FROM audit_digests WHERE account = $1 AND region = $2 AND sequence > $3 ORDER BY sequence LIMIT $4";
    let rows = page_after(pool, SELECT, account, region, after, limit).await?;
    rows.iter().map(digest).collect()
}

pub(crate) async fn last_digest(
    pool: &SqlitePool,
    account: &AccountId,
    region: &Region,
) -> Result<Option<StoredDigest>, StoreError> {
    let row = sqlx::query(
        "SELECT account, region, sequence, end_time, last_record, object, file FROM audit_digests WHERE account = $1 AND region = $2 ORDER BY sequence DESC LIMIT 1",
    )
    .bind(account.as_str())
    .bind(region.as_str())
    .fetch_optional(pool)
    .await
    .map_err(driver_error)?;
    row.as_ref().map(digest).transpose()
}

pub(crate) async fn chains(pool: &SqlitePool) -> Result<Vec<(AccountId, Region)>, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT account, region FROM audit_digests \
         UNION SELECT account, region FROM audit_checkpoints \
         ORDER BY account, region",
    )
    .fetch_all(pool)
    .await
    .map_err(driver_error)?;
    rows.into_iter()
        .map(|(account, region)| {
            Ok((
                parsed(account, "account id", |v| AccountId::parse(v).ok())?,
                parsed(region, "region", |v| Region::parse(v).ok())?,
            ))
        })
        .collect()
}

pub(crate) async fn prune(
    writer: &mut SqliteConnection,
    checkpoint: &Checkpoint,
) -> Result<(), StoreError> {
    let account = checkpoint.account.as_str();
    let region = checkpoint.region.as_str();
    let through_record = sequence_value(checkpoint.head.sequence);
    let mut tx = writer.begin().await.map_err(driver_error)?;
    sqlx::query("DELETE FROM audit_digests WHERE account = $1 AND region = $2 AND sequence <= $3")
        .bind(account)
        .bind(region)
        .bind(sequence_value(checkpoint.digest_sequence))
        .execute(&mut *tx)
        .await
        .map_err(driver_error)?;
    sqlx::query(
        "INSERT INTO audit_checkpoints (account, region, digest_sequence, record_sequence, record_hash, file) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (account, region) DO UPDATE SET digest_sequence = excluded.digest_sequence, record_sequence = excluded.record_sequence, record_hash = excluded.record_hash, file = excluded.file",
    )
    .bind(account)
    .bind(region)
    .bind(sequence_value(checkpoint.digest_sequence))
    .bind(through_record)
    .bind(checkpoint.head.hash.as_slice())
    .bind(checkpoint.file.as_slice())
    .execute(&mut *tx)
    .await
    .map_err(driver_error)?;
    tx.commit().await.map_err(driver_error)
}

pub(crate) async fn checkpoint(
    pool: &SqlitePool,
    account: &AccountId,
    region: &Region,
) -> Result<Option<Checkpoint>, StoreError> {
    let row: Option<(i64, i64, Vec<u8>, Vec<u8>)> = sqlx::query_as(
        "SELECT digest_sequence, record_sequence, record_hash, file FROM audit_checkpoints WHERE account = $1 AND region = $2",
    )
    .bind(account.as_str())
    .bind(region.as_str())
    .fetch_optional(pool)
    .await
    .map_err(driver_error)?;
    row.map(|(digest_sequence, record_sequence, hash, file)| {
        Ok(Checkpoint {
            account: *account,
            region: *region,
            digest_sequence: sequence_from(digest_sequence)?,
            head: Head {
                sequence: sequence_from(record_sequence)?,
                hash: hash32(hash)?,
            },
            file,
        })
    })
    .transpose()
}

/// Runs a page query of a chain: `$1` account, `$2` Region, `$3` after this sequence, `$4` limit.
async fn page_after(
    pool: &SqlitePool,
    select: &'static str,
    account: &AccountId,
    region: &Region,
    after: u64,
    limit: u32,
) -> Result<Vec<SqliteRow>, StoreError> {
    sqlx::query(select)
        .bind(account.as_str())
        .bind(region.as_str())
        .bind(sequence_value(after))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await
        .map_err(driver_error)
}

fn record(row: &SqliteRow) -> Result<AuditRecord, StoreError> {
    let resources: String = get(row, "resources")?;
    Ok(AuditRecord {
        account: parsed(get(row, "account")?, "account id", |v| {
            AccountId::parse(v).ok()
        })?,
        region: parsed(get(row, "region")?, "region", |v| Region::parse(v).ok())?,
        sequence: sequence_from(get(row, "sequence")?)?,
        event_time: from_millis(get(row, "event_time")?)?,
        event_id: get(row, "event_id")?,
        event_name: get(row, "event_name")?,
        read_only: get(row, "read_only")?,
        user_name: get(row, "user_name")?,
        access_key_id: get(row, "access_key_id")?,
        resources: serde_json::from_str(&resources)
            .map_err(|error| corrupt(format!("audit resources: {error}")))?,
        record: get(row, "record")?,
        hash: hash32(get(row, "hash")?)?,
    })
}

fn digest(row: &SqliteRow) -> Result<StoredDigest, StoreError> {
    Ok(StoredDigest {
        account: parsed(get(row, "account")?, "account id", |v| {
            AccountId::parse(v).ok()
        })?,
        region: parsed(get(row, "region")?, "region", |v| Region::parse(v).ok())?,
        sequence: sequence_from(get(row, "sequence")?)?,
        end_time: from_millis(get(row, "end_time")?)?,
        last_record: sequence_from(get(row, "last_record")?)?,
        object: get(row, "object")?,
        file: get(row, "file")?,
    })
}

/// Sequences are `u64` in the domain and `INTEGER` (i64) in SQLite; no chain reaches 2^63.
fn sequence_value(sequence: u64) -> i64 {
    i64::try_from(sequence).unwrap_or(i64::MAX)
}

fn sequence_from(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| corrupt(format!("audit sequence {value} is negative")))
}

fn hash32(bytes: Vec<u8>) -> Result<[u8; 32], StoreError> {
    bytes
        .try_into()
        .map_err(|_| corrupt("an audit hash is not 32 bytes"))
}
