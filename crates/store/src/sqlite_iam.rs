//! IAM identities on SQLite: users, roles and inline policies. Names are matched through their
//! lowercased `name_key`, since IAM names are unique regardless of case.

use sqlx::sqlite::SqliteRow;
use sqlx::{Connection, SqliteConnection, SqlitePool};

use strongbox_core::model::{AccountId, InlinePolicy, PolicyOwner, Role, User};
use strongbox_core::policy::KeyPolicy;
use strongbox_core::{Page, PageRequest, StoreError};

use crate::rows::{driver_error, from_millis, get, millis, parsed};
use crate::sqlite::{fetch_limit, page};

fn ids_json(ids: &strongbox_core::policy::PrincipalIds) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "{}".to_owned())
}

fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

fn account_of(row: &SqliteRow) -> Result<AccountId, StoreError> {
    parsed(get(row, "account_id")?, "account id", |v| {
        AccountId::parse(v).ok()
    })
}

fn user_row(row: &SqliteRow) -> Result<User, StoreError> {
    Ok(User {
        account: account_of(row)?,
        name: get(row, "name")?,
        path: get(row, "path")?,
        id: get(row, "user_id")?,
        created_at: from_millis(get(row, "created_at")?)?,
    })
}

fn role_row(row: &SqliteRow) -> Result<Role, StoreError> {
    let seconds: i64 = get(row, "max_session_seconds")?;
    Ok(Role {
        account: account_of(row)?,
        name: get(row, "name")?,
        path: get(row, "path")?,
        id: get(row, "role_id")?,
        trust_policy: get(row, "trust_policy")?,
        trust_principal_ids: KeyPolicy::principal_ids_from_json(&get::<String>(
            row,
            "trust_principals",
        )?),
        description: get(row, "description")?,
        max_session_seconds: parsed(seconds.to_string(), "session duration", |v| v.parse().ok())?,
        created_at: from_millis(get(row, "created_at")?)?,
    })
}

async fn insert_policy(
    connection: &mut SqliteConnection,
    account: &AccountId,
    owner: &PolicyOwner,
    policy: &InlinePolicy,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO iam_inline_policies (account_id, owner_kind, owner_key, name, document) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (account_id, owner_kind, owner_key, name) DO UPDATE SET document = excluded.document",
    )
    .bind(account.as_str())
    .bind(owner.kind())
    .bind(owner.name_key())
    .bind(&policy.name)
    .bind(&policy.document)
    .execute(connection)
    .await
    .map_err(driver_error)?;
    Ok(())
}

pub(crate) async fn create_user(
    connection: &mut SqliteConnection,
    user: &User,
    policies: &[InlinePolicy],
) -> Result<(), StoreError> {
    let mut tx = connection.begin().await.map_err(driver_error)?;
    sqlx::query(
        "INSERT INTO iam_users (account_id, name_key, name, path, user_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(user.account.as_str())
    .bind(name_key(&user.name))
    .bind(&user.name)
    .bind(&user.path)
    .bind(&user.id)
    .bind(millis(user.created_at))
    .execute(&mut *tx)
    .await
    .map_err(driver_error)?;
    let owner = PolicyOwner::User(user.name.clone());
    for policy in policies {
        insert_policy(&mut tx, &user.account, &owner, policy).await?;
    }
    tx.commit().await.map_err(driver_error)
}

/// The user or role (by `statement`, selecting on account and name key) named `name`.
async fn named<T>(
    readers: &SqlitePool,
    statement: &'static str,
    account: &AccountId,
    name: &str,
    read: fn(&SqliteRow) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let row = sqlx::query(statement)
        .bind(account.as_str())
        .bind(name_key(name))
        .fetch_optional(readers)
        .await
        .map_err(driver_error)?;
    row.as_ref().map(read).transpose()
}

/// A page of users or roles (by `statement`, selecting on account and name key after the
/// marker), with the name of the last as the next marker.
async fn listed<T>(
    readers: &SqlitePool,
    statement: &'static str,
    account: &AccountId,
    request: &PageRequest,
    read: fn(&SqliteRow) -> Result<T, StoreError>,
    name_of: fn(&T) -> String,
) -> Result<Page<T>, StoreError> {
    let found = sqlx::query(statement)
        .bind(account.as_str())
        .bind(request.after.as_deref().map(name_key).unwrap_or_default())
        .bind(fetch_limit(request))
        .fetch_all(readers)
        .await
        .map_err(driver_error)?;
    let items = found.iter().map(read).collect::<Result<Vec<_>, _>>()?;
    Ok(page(items, request.limit, name_of))
}

pub(crate) async fn user(
    readers: &SqlitePool,
    account: &AccountId,
    name: &str,
) -> Result<Option<User>, StoreError> {
    let statement = "SELECT * FROM iam_users WHERE account_id = $1 AND name_key = $2";
    named(readers, statement, account, name, user_row).await
}

pub(crate) async fn list_users(
    readers: &SqlitePool,
    account: &AccountId,
    request: &PageRequest,
) -> Result<Page<User>, StoreError> {
    let statement = "SELECT * FROM iam_users WHERE account_id = $1 AND name_key > $2 ORDER BY name_key LIMIT $3";
    listed(readers, statement, account, request, user_row, |u| {
        u.name.clone()
    })
    .await
}

/// Deletes a user or role, and its inline policies with it.
async fn delete_owner(
    connection: &mut SqliteConnection,
    account: &AccountId,
    owner: &PolicyOwner,
) -> Result<bool, StoreError> {
    let statement = match owner {
        PolicyOwner::User(_) => "DELETE FROM iam_users WHERE account_id = $1 AND name_key = $2",
        PolicyOwner::Role(_) => "DELETE FROM iam_roles WHERE account_id = $1 AND name_key = $2",
    };
    let mut tx = connection.begin().await.map_err(driver_error)?;
    let done = sqlx::query(statement)
        .bind(account.as_str())
        .bind(owner.name_key())
        .execute(&mut *tx)
        .await
        .map_err(driver_error)?;
    sqlx::query(
        "DELETE FROM iam_inline_policies WHERE account_id = $1 AND owner_kind = $2 AND owner_key = $3",
    )
    .bind(account.as_str())
    .bind(owner.kind())
    .bind(owner.name_key())
    .execute(&mut *tx)
    .await
    .map_err(driver_error)?;
    tx.commit().await.map_err(driver_error)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn delete_user(
    connection: &mut SqliteConnection,
    account: &AccountId,
    name: &str,
) -> Result<bool, StoreError> {
    delete_owner(connection, account, &PolicyOwner::User(name.to_owned())).await
}

pub(crate) async fn create_role(
    connection: &mut SqliteConnection,
    role: &Role,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO iam_roles (account_id, name_key, name, path, role_id, trust_policy, description, max_session_seconds, created_at, trust_principals) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(role.account.as_str())
    .bind(name_key(&role.name))
    .bind(&role.name)
    .bind(&role.path)
    .bind(&role.id)
    .bind(&role.trust_policy)
    .bind(&role.description)
    .bind(i64::from(role.max_session_seconds))
    .bind(millis(role.created_at))
    .bind(ids_json(&role.trust_principal_ids))
    .execute(connection)
    .await
    .map_err(driver_error)?;
    Ok(())
}

pub(crate) async fn role(
    readers: &SqlitePool,
    account: &AccountId,
    name: &str,
) -> Result<Option<Role>, StoreError> {
    let statement = "SELECT * FROM iam_roles WHERE account_id = $1 AND name_key = $2";
    named(readers, statement, account, name, role_row).await
}

pub(crate) async fn list_roles(
    readers: &SqlitePool,
    account: &AccountId,
    request: &PageRequest,
) -> Result<Page<Role>, StoreError> {
    let statement = "SELECT * FROM iam_roles WHERE account_id = $1 AND name_key > $2 ORDER BY name_key LIMIT $3";
    listed(readers, statement, account, request, role_row, |r| {
        r.name.clone()
    })
    .await
}

pub(crate) async fn update_role(
    connection: &mut SqliteConnection,
    role: &Role,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE iam_roles SET trust_policy = $3, description = $4, max_session_seconds = $5, trust_principals = $6 WHERE account_id = $1 AND name_key = $2",
    )
    .bind(role.account.as_str())
    .bind(name_key(&role.name))
    .bind(&role.trust_policy)
    .bind(&role.description)
    .bind(i64::from(role.max_session_seconds))
    .bind(ids_json(&role.trust_principal_ids))
    .execute(connection)
    .await
    .map_err(driver_error)?;
    Ok(done.rows_affected() > 0)
}

pub(crate) async fn delete_role(
    connection: &mut SqliteConnection,
    account: &AccountId,
    name: &str,
) -> Result<bool, StoreError> {
    delete_owner(connection, account, &PolicyOwner::Role(name.to_owned())).await
}

pub(crate) async fn put_inline_policy(
    connection: &mut SqliteConnection,
    account: &AccountId,
    owner: &PolicyOwner,
    policy: &InlinePolicy,
) -> Result<(), StoreError> {
    insert_policy(connection, account, owner, policy).await
}

pub(crate) async fn inline_policies(
    readers: &SqlitePool,
    account: &AccountId,
    owner: &PolicyOwner,
) -> Result<Vec<InlinePolicy>, StoreError> {
    let found = sqlx::query(
        "SELECT name, document FROM iam_inline_policies WHERE account_id = $1 AND owner_kind = $2 AND owner_key = $3 ORDER BY name",
    )
    .bind(account.as_str())
    .bind(owner.kind())
    .bind(owner.name_key())
    .fetch_all(readers)
    .await
    .map_err(driver_error)?;
    found
        .iter()
        .map(|row| {
            Ok(InlinePolicy {
                name: get(row, "name")?,
                document: get(row, "document")?,
            })
        })
        .collect()
}

pub(crate) async fn delete_inline_policy(
    connection: &mut SqliteConnection,
    account: &AccountId,
    owner: &PolicyOwner,
    name: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "DELETE FROM iam_inline_policies WHERE account_id = $1 AND owner_kind = $2 AND owner_key = $3 AND name = $4",
    )
    .bind(account.as_str())
    .bind(owner.kind())
    .bind(owner.name_key())
    .bind(name)
    .execute(connection)
    .await
    .map_err(driver_error)?;
    Ok(done.rows_affected() > 0)
}
