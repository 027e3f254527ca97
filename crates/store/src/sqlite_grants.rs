//! Grants on SQLite. A key's grants are rows keyed by the key's account and id; the grantee
//! index answers "which grants does this caller hold on this key", the retiring index
//! ListRetirableGrants.

use std::collections::BTreeMap;

use sqlx::sqlite::SqliteRow;
use sqlx::{Connection, SqliteConnection, SqlitePool};

use strongbox_core::model::{
    AccountId, Grant, GrantConstraint, GrantId, GrantOperation, GrantPrincipal, KeyArn,
};
use strongbox_core::{GrantCreated, GrantFilter, Page, PageRequest, StoreError};

use crate::rows::{corrupt, driver_error, from_millis, get, key_arn, millis, parsed};
use crate::sqlite::{fetch_limit, page};

fn operations_json(operations: &[GrantOperation]) -> String {
    let names: Vec<&str> = operations.iter().map(|op| op.as_str()).collect();
    serde_json::to_string(&names).unwrap_or_else(|_| "[]".to_owned())
}

fn constraint_json(constraint: Option<&GrantConstraint>) -> Option<String> {
    constraint.map(|constraint| {
        let mut object = serde_json::Map::new();
        object.insert(
            constraint.kind().to_owned(),
            serde_json::to_value(constraint.pairs()).unwrap_or_default(),
        );
        serde_json::Value::Object(object).to_string()
    })
}

fn constraint_from_json(text: &str) -> Result<GrantConstraint, StoreError> {
    let object: BTreeMap<String, BTreeMap<String, String>> =
        serde_json::from_str(text).map_err(|error| corrupt(format!("constraint: {error}")))?;
    let mut members = object.into_iter();
    match (members.next(), members.next()) {
        (Some((kind, pairs)), None) if kind == "EncryptionContextEquals" => {
            Ok(GrantConstraint::Equals(pairs))
        }
        (Some((kind, pairs)), None) if kind == "EncryptionContextSubset" => {
            Ok(GrantConstraint::Subset(pairs))
        }
        _ => Err(corrupt("constraint: not one known member")),
    }
}

fn principal(arn: String, id: String) -> GrantPrincipal {
    GrantPrincipal {
        arn,
        id: (!id.is_empty()).then_some(id),
    }
}

fn grant_row(row: &SqliteRow) -> Result<Grant, StoreError> {
    let operations: Vec<String> = serde_json::from_str(&get::<String>(row, "operations")?)
        .map_err(|error| corrupt(format!("grant operations: {error}")))?;
    let retiring: Option<String> = get(row, "retiring")?;
    let retiring_id: Option<String> = get(row, "retiring_id")?;
    let name: String = get(row, "name")?;
    Ok(Grant {
        key: key_arn(row)?,
        id: parsed(get(row, "grant_id")?, "grant id", GrantId::parse)?,
        name: (!name.is_empty()).then_some(name),
        grantee: principal(get(row, "grantee")?, get(row, "grantee_id")?),
        retiring: retiring.map(|arn| principal(arn, retiring_id.unwrap_or_default())),
        operations: operations
            .into_iter()
            .map(|op| parsed(op, "grant operation", GrantOperation::parse))
            .collect::<Result<_, _>>()?,
        constraint: get::<Option<String>>(row, "constraints")?
            .as_deref()
            .map(constraint_from_json)
            .transpose()?,
        issuing_account: parsed(get(row, "issuing_account")?, "account id", |v| {
            AccountId::parse(v).ok()
        })?,
        created_at: from_millis(get(row, "created_at")?)?,
    })
}

pub(crate) async fn create_grant(
    connection: &mut SqliteConnection,
    grant: &Grant,
    limit: u32,
) -> Result<GrantCreated, StoreError> {
    let fingerprint = grant.fingerprint();
    let account = grant.key.account.as_str();
    let key_id = grant.key.key_id.to_string();
    let mut tx = connection.begin().await.map_err(driver_error)?;
    // In the transaction that inserts, so that a grant never outlives a key deleted meanwhile.
    let key_exists: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM keys WHERE account_id = $1 AND region = $2 AND key_id = $3",
    )
    .bind(account)
    .bind(grant.key.region.as_str())
    .bind(&key_id)
    .fetch_optional(&mut *tx)
    .await
    .map_err(driver_error)?;
    if key_exists.is_none() {
        return Ok(GrantCreated::KeyGone);
    }
    if let Some(name) = &grant.name {
        let existing: Option<String> = sqlx::query_scalar(
            // `name <> ''` lets SQLite use the partial index `grants_by_name`.
            "SELECT grant_id FROM grants WHERE account_id = $1 AND key_id = $2 AND name = $3 AND name <> '' AND fingerprint = $4 LIMIT 1",
        )
        .bind(account)
        .bind(&key_id)
        .bind(name)
        .bind(&fingerprint)
        .fetch_optional(&mut *tx)
        .await
        .map_err(driver_error)?;
        if let Some(id) = existing {
            return Ok(GrantCreated::Existing(parsed(
                id,
                "grant id",
                GrantId::parse,
            )?));
        }
    }
    let count: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM grants WHERE account_id = $1 AND key_id = $2")
            .bind(account)
            .bind(&key_id)
            .fetch_one(&mut *tx)
            .await
            .map_err(driver_error)?;
    if count >= i64::from(limit) {
        return Ok(GrantCreated::LimitReached);
    }
    sqlx::query(
        "INSERT INTO grants (account_id, region, key_id, grant_id, name, grantee, grantee_id, retiring, retiring_id, operations, constraints, issuing_account, fingerprint, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(account)
    .bind(grant.key.region.as_str())
    .bind(&key_id)
    .bind(grant.id.to_string())
    .bind(grant.name.as_deref().unwrap_or_default())
    .bind(&grant.grantee.arn)
    .bind(grant.grantee.id.as_deref().unwrap_or_default())
    .bind(grant.retiring.as_ref().map(|r| r.arn.as_str()))
    .bind(
        grant
            .retiring
            .as_ref()
            .map(|r| r.id.as_deref().unwrap_or_default()),
    )
    .bind(operations_json(&grant.operations))
    .bind(constraint_json(grant.constraint.as_ref()))
    .bind(grant.issuing_account.as_str())
    .bind(&fingerprint)
    .bind(millis(grant.created_at))
    .execute(&mut *tx)
    .await
    .map_err(driver_error)?;
    tx.commit().await.map_err(driver_error)?;
    Ok(GrantCreated::Created)
}

/// `statement` on one grant of a key, with its place bound: `$1` the key's account, `$2` its
/// id, `$3` the grant id, `$4` the Region.
fn on_grant(
    statement: &'static str,
    key: &KeyArn,
    id: GrantId,
) -> sqlx::query::Query<'static, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    sqlx::query(statement)
        .bind(key.account.as_str().to_owned())
        .bind(key.key_id.to_string())
        .bind(id.to_string())
        .bind(key.region.as_str().to_owned())
}

pub(crate) async fn grant(
    readers: &SqlitePool,
    key: &KeyArn,
    id: GrantId,
) -> Result<Option<Grant>, StoreError> {
    let row = on_grant(
        "SELECT * FROM grants WHERE account_id = $1 AND key_id = $2 AND grant_id = $3 AND region = $4",
        key,
        id,
    )
    .fetch_optional(readers)
    .await
    .map_err(driver_error)?;
    row.as_ref().map(grant_row).transpose()
}

pub(crate) async fn grants_to(
    readers: &SqlitePool,
    key: &KeyArn,
    grantee: &str,
) -> Result<Vec<Grant>, StoreError> {
    let rows = sqlx::query(
        "SELECT * FROM grants WHERE account_id = $1 AND key_id = $2 AND grantee = $3 AND region = $4 ORDER BY grant_id",
    )
    .bind(key.account.as_str())
    .bind(key.key_id.to_string())
    .bind(grantee)
    .bind(key.region.as_str())
    .fetch_all(readers)
    .await
    .map_err(driver_error)?;
    rows.iter().map(grant_row).collect()
}

pub(crate) async fn list_grants(
    readers: &SqlitePool,
    key: &KeyArn,
    filter: GrantFilter<'_>,
    request: &PageRequest,
) -> Result<Page<Grant>, StoreError> {
    let rows = sqlx::query(
        "SELECT * FROM grants WHERE account_id = $1 AND key_id = $2 AND region = $3 AND grant_id > $4 \
         AND ($5 IS NULL OR grant_id = $5) AND ($6 IS NULL OR grantee = $6) ORDER BY grant_id LIMIT $7",
    )
    .bind(key.account.as_str())
    .bind(key.key_id.to_string())
    .bind(key.region.as_str())
    .bind(request.after.as_deref().unwrap_or_default())
    .bind(filter.grant_id.map(|id| id.to_string()))
    .bind(filter.grantee)
    .bind(fetch_limit(request))
    .fetch_all(readers)
    .await
    .map_err(driver_error)?;
    let items = rows.iter().map(grant_row).collect::<Result<Vec<_>, _>>()?;
    Ok(page(items, request.limit, |grant| grant.id.to_string()))
}

pub(crate) async fn list_retirable_grants(
    readers: &SqlitePool,
    region: &strongbox_core::model::Region,
    retiring: &GrantPrincipal,
    request: &PageRequest,
) -> Result<Page<Grant>, StoreError> {
    let rows = sqlx::query(
        "SELECT * FROM grants WHERE region = $1 AND retiring = $2 AND retiring_id = $3 AND grant_id > $4 ORDER BY grant_id LIMIT $5",
    )
    .bind(region.as_str())
    .bind(&retiring.arn)
    .bind(retiring.id.as_deref().unwrap_or_default())
    .bind(request.after.as_deref().unwrap_or_default())
    .bind(fetch_limit(request))
    .fetch_all(readers)
    .await
    .map_err(driver_error)?;
    let items = rows.iter().map(grant_row).collect::<Result<Vec<_>, _>>()?;
    Ok(page(items, request.limit, |grant| grant.id.to_string()))
}

pub(crate) async fn delete_grant(
    connection: &mut SqliteConnection,
    key: &KeyArn,
    id: GrantId,
) -> Result<bool, StoreError> {
    let done = on_grant(
        "DELETE FROM grants WHERE account_id = $1 AND key_id = $2 AND grant_id = $3 AND region = $4",
        key,
        id,
    )
    .execute(connection)
    .await
    .map_err(driver_error)?;
    Ok(done.rows_affected() > 0)
}
