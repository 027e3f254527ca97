//! The audit trail's tables on SQLite: records with their lookup columns, the keys they name,
//! digests and checkpoints.

use sqlx::sqlite::SqliteRow;
use sqlx::{Connection, QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use strongbox_core::StoreError;
use strongbox_core::audit::{
    AuditRecord, Checkpoint, Head, LookupAttribute, LookupQuery, StoredDigest,
};
use strongbox_core::model::{AccountId, Region};

use crate::rows::{corrupt, driver_error, from_millis, get, millis, parsed};

/// Records per INSERT statement: 14 parameters each, within SQLite's 32766, so that a whole
/// batch from the audit writer (at most 1024) is one statement and one round trip.
pub(crate) const ROWS_PER_INSERT: usize = 1024;

/// The record columns every read selects from `audit_records a` (a macro, so that queries
/// stay static strings).
macro_rules! select_records {
    () => {
        "SELECT a.account, a.region, a.sequence, a.event_time, a.event_id, a.event_name, \
         a.read_only, a.user_name, a.access_key_id, a.resources, a.record, a.hash \
         FROM audit_records a WHERE a.account = "
    };
}

/// Appends one multi-row INSERT statement to `insert`.
pub(crate) fn push_insert(insert: &mut QueryBuilder<Sqlite>, chunk: &[&AuditRecord]) {
    insert.push(
        "INSERT INTO audit_records (account, region, sequence, event_time, event_id, event_name, read_only, user_name, access_key_id, resources, key_a, key_b, record, hash) ",
    );
    insert.push_values(chunk, |mut row, record| {
        let resources =
            serde_json::to_string(&record.resources).unwrap_or_else(|_| "[]".to_owned());
        let mut keys = record.resources.iter().map(|arn| key_id_of(arn));
        row.push_bind(record.account.as_str())
            .push_bind(record.region.as_str())
            .push_bind(sequence_value(record.sequence))
            .push_bind(millis(record.event_time))
            .push_bind(record.event_id.as_str())
            .push_bind(record.event_name.as_str())
            .push_bind(record.read_only)
            .push_bind(record.user_name.as_deref())
            .push_bind(record.access_key_id.as_deref())
            .push_bind(resources)
            .push_bind(keys.next())
            .push_bind(keys.next())
            .push_bind(record.record.as_slice())
            .push_bind(record.hash.as_slice());
    });
    insert.push("; ");
}

pub(crate) async fn head(
    pool: &SqlitePool,
    account: &AccountId,
    region: &Region,
) -> Result<Head, StoreError> {
    let newest: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT sequence, hash FROM audit_records WHERE account = $1 AND region = $2 ORDER BY sequence DESC LIMIT 1",
    )
    .bind(account.as_str())
    .bind(region.as_str())
    .fetch_optional(pool)
    .await
    .map_err(driver_error)?;
    let newest = match newest {
        Some(newest) => Some(newest),
        None => sqlx::query_as(
            "SELECT record_sequence, record_hash FROM audit_checkpoints WHERE account = $1 AND region = $2",
        )
        .bind(account.as_str())
        .bind(region.as_str())
        .fetch_optional(pool)
        .await
        .map_err(driver_error)?,
    };
    match newest {
        Some((sequence, hash)) => Ok(Head {
            sequence: sequence_from(sequence)?,
            hash: hash32(hash)?,
        }),
        None => Ok(Head::GENESIS),
    }
}

pub(crate) async fn records(
    pool: &SqlitePool,
    account: &AccountId,
    region: &Region,
    after: u64,
    limit: u32,
) -> Result<Vec<AuditRecord>, StoreError> {
    const SELECT: &str = concat!(
        select_records!(),
        "$1 AND a.region = $2 AND a.sequence > $3 ORDER BY a.sequence LIMIT $4"
    );
    let rows = page_after(pool, SELECT, account, region, after, limit).await?;
    rows.iter().map(record).collect()
}

pub(crate) async fn lookup(
    pool: &SqlitePool,
    account: &AccountId,
    region: &Region,
    query: &LookupQuery,
) -> Result<Vec<AuditRecord>, StoreError> {
    let mut select = QueryBuilder::<Sqlite>::new(select_records!());
    select.push_bind(account.as_str());
    select.push(" AND a.region = ").push_bind(region.as_str());
    if let Some(start) = query.start {
        select
            .push(" AND a.event_time >= ")
            .push_bind(millis(start));
    }
    if let Some(end) = query.end {
        select.push(" AND a.event_time <= ").push_bind(millis(end));
    }
    if let Some((time, sequence)) = query.after {
        select
            .push(" AND (a.event_time < ")
            .push_bind(millis(time))
            .push(" OR (a.event_time = ")
            .push_bind(millis(time))
            .push(" AND a.sequence < ")
            .push_bind(sequence_value(sequence))
            .push("))");
    }
    match &query.attribute {
        None => {}
        Some(LookupAttribute::EventName(name)) => {
            select.push(" AND a.event_name = ").push_bind(name.clone());
        }
        Some(LookupAttribute::Username(name)) => {
            select.push(" AND a.user_name = ").push_bind(name.clone());
        }
        Some(LookupAttribute::AccessKeyId(id)) => {
            select.push(" AND a.access_key_id = ").push_bind(id.clone());
        }
        Some(LookupAttribute::EventId(id)) => {
            select.push(" AND a.event_id = ").push_bind(id.clone());
        }
        Some(LookupAttribute::ReadOnly(read_only)) => {
            select.push(" AND a.read_only = ").push_bind(*read_only);
        }
        Some(LookupAttribute::ResourceName(name)) => {
            // A key id, or the ARN of a key of this chain's account and Region.
            let key_id = match name.split_once(":key/") {
                Some((prefix, id)) if prefix == format!("arn:aws:kms:{region}:{account}") => id,
                Some(_) => "",
                None => name.as_str(),
            };
            select
                .push(" AND (a.key_a = ")
                .push_bind(key_id.to_owned())
                .push(" OR a.key_b = ")
                .push_bind(key_id.to_owned())
                .push(")");
        }
        Some(LookupAttribute::ResourceType(kind))
            if kind == strongbox_core::audit::event::KEY_RESOURCE_TYPE =>
        {
            select.push(" AND a.key_a IS NOT NULL");
        }
        Some(LookupAttribute::ResourceType(_)) => {
            select.push(" AND 0");
        }
    }
    select
        .push(" ORDER BY a.event_time DESC, a.sequence DESC LIMIT ")
        .push_bind(i64::from(query.limit));
    let rows = select.build().fetch_all(pool).await.map_err(driver_error)?;
    rows.iter().map(record).collect()
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
         UNION SELECT account, region FROM audit_records \
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
    sqlx::query("DELETE FROM audit_records WHERE account = $1 AND region = $2 AND sequence <= $3")
        .bind(account)
        .bind(region)
        .bind(through_record)
        .execute(&mut *tx)
        .await
        .map_err(driver_error)?;
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

/// The key id at the end of a key ARN.
fn key_id_of(arn: &str) -> &str {
    arn.rsplit_once(":key/").map_or(arn, |(_, id)| id)
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
