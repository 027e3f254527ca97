//! The SQLite engine: one file in WAL mode with `synchronous=FULL`, so that a commit is on disk
//! before the call returns, and several processes (the server and the admin CLI) can share it.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, SqlitePool};

use strongbox_core::audit::{AuditRecord, Checkpoint, StoredDigest};
use strongbox_core::model::{
    AccessKey, AccessKeyId, AccessKeyStatus, Account, AccountId, Alias, AliasName, Grant, GrantId,
    GrantPrincipal, InlinePolicy, Key, KeyArn, KeyId, KeyVersion, PolicyOwner, Region, Role, User,
    VersionId,
};
use strongbox_core::{
    GrantCreated, GrantFilter, Page, PageRequest, SealedKey, SealedVersion, Store, StoreError,
    StoreErrorKind,
};
use time::OffsetDateTime;

use crate::group_commit::{self, GroupCommit, Write};
use crate::rows::{self, driver_error, millis};
use crate::sqlite_audit;
use crate::sqlite_grants;
use crate::sqlite_iam;
use crate::sqlite_keks;
use crate::sqlite_reseal;
use crate::writing::Writer;

/// How long a writer waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Reading connections: readers run in parallel under WAL.
const MAX_READERS: u32 = 8;

/// The SQLite store.
///
/// Every write goes through one connection. SQLite admits one writer at a time anyway, and a
/// second in-process writer that finds the lock taken does not queue: it sleeps in SQLite's busy
/// handler (1, 2, 5, 10... ms), which under concurrent writes cost hundreds of milliseconds of
/// latency. Waiting for the single writing connection instead is a fair async queue.
pub struct SqliteStore {
    readers: SqlitePool,
    writer: Writer,
    /// Where new keys go, to share commits.
    group_commit: GroupCommit,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    pub async fn open(path: &str) -> Result<Self, StoreError> {
        create_private(path)?;
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(driver_error)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT)
            // Deleted rows (destroyed key material) are overwritten in the file, not just unlinked.
            .pragma("secure_delete", "ON")
            // Statement journals (a multi-row INSERT inside a batch's transaction keeps one, to
            // undo that statement alone) in memory rather than in a temporary file.
            .pragma("temp_store", "MEMORY")
            // Every statement at trace, not debug: `STRONGBOX_LOG=debug` asks for request
            // lines, not a line per SQL statement. Slow statements still warn.
            .log_statements(log::LevelFilter::Trace);
        let mut connection = options.connect().await.map_err(driver_error)?;
        crate::migrate::run(&mut connection).await?;
        let writer = Writer::new(connection);
        let readers = connect(&options, MAX_READERS).await?;
        Ok(Self {
            readers,
            group_commit: GroupCommit::start(writer.clone()),
            writer,
        })
    }
}

async fn connect(options: &SqliteConnectOptions, size: u32) -> Result<SqlitePool, StoreError> {
    SqlitePoolOptions::new()
        .max_connections(size)
        // A local file needs no liveness check, and the check costs a round trip to the
        // connection's thread before every statement.
        .test_before_acquire(false)
        .connect_with(options.clone())
        .await
        .map_err(driver_error)
}

/// Creates the database file readable by its owner only (SQLite gives the `-wal` and `-shm`
/// files the same mode), unless it exists. It holds tenant metadata and sealed blobs.
fn create_private(path: &str) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(StoreError::new(
            StoreErrorKind::Unavailable,
            format!("cannot create {path}: {error}"),
        )),
    }
}

/// Splits `limit + 1` fetched rows into a page and the marker of the next one.
pub(crate) fn page<T>(mut items: Vec<T>, limit: u32, marker: impl Fn(&T) -> String) -> Page<T> {
    let limit = limit as usize;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(marker)
    } else {
        None
    };
    Page { items, next }
}

pub(crate) fn fetch_limit(page: &PageRequest) -> i64 {
    i64::from(page.limit.max(1)) + 1
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(account.id.as_str())
            .bind(&account.name)
            .bind(millis(account.created_at))
            .execute(&mut *self.writer.lock().await?)
            .await
            .map_err(driver_error)?;
        Ok(())
    }

    async fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query("SELECT * FROM accounts WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.readers)
            .await
            .map_err(driver_error)?;
        row.as_ref().map(rows::account).transpose()
    }

    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        let found = sqlx::query("SELECT * FROM accounts ORDER BY id")
            .fetch_all(&self.readers)
            .await
            .map_err(driver_error)?;
        found.iter().map(rows::account).collect()
    }

    async fn create_access_key(&self, key: &AccessKey) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO access_keys (id, account_id, user_name, sealed_secret, status, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(key.id.as_str())
        .bind(key.account.as_str())
        .bind(&key.user)
        .bind(key.sealed_secret.as_bytes())
        .bind(rows::status_text(key.status))
        .bind(millis(key.created_at))
        .execute(&mut *self.writer.lock().await?)
        .await
        .map_err(driver_error)?;
        Ok(())
    }

    async fn access_key(&self, id: &AccessKeyId) -> Result<Option<AccessKey>, StoreError> {
        let row = sqlx::query("SELECT * FROM access_keys WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.readers)
            .await
            .map_err(driver_error)?;
        row.as_ref().map(rows::access_key).transpose()
    }

    async fn list_access_keys(&self, account: &AccountId) -> Result<Vec<AccessKey>, StoreError> {
        let found = sqlx::query("SELECT * FROM access_keys WHERE account_id = $1 ORDER BY id")
            .bind(account.as_str())
            .fetch_all(&self.readers)
            .await
            .map_err(driver_error)?;
        found.iter().map(rows::access_key).collect()
    }

    async fn delete_access_key(
        &self,
        account: &AccountId,
        id: &AccessKeyId,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM access_keys WHERE account_id = $1 AND id = $2")
            .bind(account.as_str())
            .bind(id.as_str())
            .execute(&mut *self.writer.lock().await?)
            .await
            .map_err(driver_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_access_key_status(
        &self,
        account: &AccountId,
        id: &AccessKeyId,
        status: AccessKeyStatus,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE access_keys SET status = $3 WHERE account_id = $1 AND id = $2")
                .bind(account.as_str())
                .bind(id.as_str())
                .bind(rows::status_text(status))
                .execute(&mut *self.writer.lock().await?)
                .await
                .map_err(driver_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn create_user(&self, user: &User, policies: &[InlinePolicy]) -> Result<(), StoreError> {
        sqlite_iam::create_user(&mut *self.writer.lock().await?, user, policies).await
    }

    async fn user(&self, account: &AccountId, name: &str) -> Result<Option<User>, StoreError> {
        sqlite_iam::user(&self.readers, account, name).await
    }

    async fn list_users(
        &self,
        account: &AccountId,
        page: &PageRequest,
    ) -> Result<Page<User>, StoreError> {
        sqlite_iam::list_users(&self.readers, account, page).await
    }

    async fn delete_user(&self, account: &AccountId, name: &str) -> Result<bool, StoreError> {
        sqlite_iam::delete_user(&mut *self.writer.lock().await?, account, name).await
    }

    async fn create_role(&self, role: &Role) -> Result<(), StoreError> {
        sqlite_iam::create_role(&mut *self.writer.lock().await?, role).await
    }

    async fn role(&self, account: &AccountId, name: &str) -> Result<Option<Role>, StoreError> {
        sqlite_iam::role(&self.readers, account, name).await
    }

    async fn list_roles(
        &self,
        account: &AccountId,
        page: &PageRequest,
    ) -> Result<Page<Role>, StoreError> {
        sqlite_iam::list_roles(&self.readers, account, page).await
    }

    async fn update_role(&self, role: &Role) -> Result<bool, StoreError> {
        sqlite_iam::update_role(&mut *self.writer.lock().await?, role).await
    }

    async fn delete_role(&self, account: &AccountId, name: &str) -> Result<bool, StoreError> {
        sqlite_iam::delete_role(&mut *self.writer.lock().await?, account, name).await
    }

    async fn put_inline_policy(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
        policy: &InlinePolicy,
    ) -> Result<(), StoreError> {
        sqlite_iam::put_inline_policy(&mut *self.writer.lock().await?, account, owner, policy).await
    }

    async fn inline_policies(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
    ) -> Result<Vec<InlinePolicy>, StoreError> {
        sqlite_iam::inline_policies(&self.readers, account, owner).await
    }

    async fn delete_inline_policy(
        &self,
        account: &AccountId,
        owner: &PolicyOwner,
        name: &str,
    ) -> Result<bool, StoreError> {
        sqlite_iam::delete_inline_policy(&mut *self.writer.lock().await?, account, owner, name)
            .await
    }

    async fn create_key(&self, key: &Key, version: &KeyVersion) -> Result<(), StoreError> {
        self.group_commit
            .submit(Write::Key {
                key: Box::new(key.clone()),
                version: version.clone(),
            })
            .await
    }

    async fn key(
        &self,
        account: &AccountId,
        region: &Region,
        id: KeyId,
    ) -> Result<Option<Key>, StoreError> {
        let row =
            sqlx::query("SELECT * FROM keys WHERE account_id = $1 AND region = $2 AND key_id = $3")
                .bind(account.as_str())
                .bind(region.as_str())
                .bind(id.to_string())
                .fetch_optional(&self.readers)
                .await
                .map_err(driver_error)?;
        row.as_ref().map(rows::key).transpose()
    }

    async fn key_in_region(&self, region: &Region, id: KeyId) -> Result<Option<Key>, StoreError> {
        let row = sqlx::query("SELECT * FROM keys WHERE key_id = $1 AND region = $2")
            .bind(id.to_string())
            .bind(region.as_str())
            .fetch_optional(&self.readers)
            .await
            .map_err(driver_error)?;
        row.as_ref().map(rows::key).transpose()
    }

    async fn list_keys(
        &self,
        account: &AccountId,
        region: &Region,
        page: &PageRequest,
    ) -> Result<Page<KeyArn>, StoreError> {
        let found = sqlx::query(
            "SELECT account_id, region, key_id FROM keys WHERE account_id = $1 AND region = $2 AND key_id > $3 ORDER BY key_id LIMIT $4",
        )
        .bind(account.as_str())
        .bind(region.as_str())
        .bind(page.after.as_deref().unwrap_or(""))
        .bind(fetch_limit(page))
        .fetch_all(&self.readers)
        .await
        .map_err(driver_error)?;
        let keys = found
            .iter()
            .map(rows::key_arn)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self::page(keys, page.limit, |arn| arn.key_id.to_string()))
    }

    async fn update_key(&self, key: &Key) -> Result<i64, StoreError> {
        let mut writer = self.writer.lock().await?;
        let mut tx = writer.begin().await.map_err(driver_error)?;
        let revision = compare_and_swap(&mut tx, key).await?;
        tx.commit().await.map_err(driver_error)?;
        Ok(revision)
    }

    async fn rotate_key(&self, key: &Key, version: &KeyVersion) -> Result<i64, StoreError> {
        let mut writer = self.writer.lock().await?;
        let mut tx = writer.begin().await.map_err(driver_error)?;
        let revision = compare_and_swap(&mut tx, key).await?;
        let mut insert = sqlx::QueryBuilder::new("");
        group_commit::push_insert_versions(&mut insert, &[(key.arn.account.as_str(), version)]);
        insert
            .build()
            .execute(&mut *tx)
            .await
            .map_err(driver_error)?;
        tx.commit().await.map_err(driver_error)?;
        Ok(revision)
    }

    async fn delete_key(&self, key: &Key) -> Result<(), StoreError> {
        let mut writer = self.writer.lock().await?;
        let mut tx = writer.begin().await.map_err(driver_error)?;
        let deleted = sqlx::query(
            "DELETE FROM keys WHERE account_id = $1 AND region = $2 AND key_id = $3 AND revision = $4",
        )
        .bind(key.arn.account.as_str())
        .bind(key.arn.region.as_str())
        .bind(key.id().to_string())
        .bind(key.revision)
        .execute(&mut *tx)
        .await
        .map_err(driver_error)?;
        if deleted.rows_affected() != 1 {
            return Err(StoreError::new(
                StoreErrorKind::Conflict,
                format!("key {} changed or was deleted concurrently", key.arn),
            ));
        }
        for statement in [
            "DELETE FROM key_versions WHERE account_id = $1 AND key_id = $2",
            "DELETE FROM aliases WHERE account_id = $1 AND target_key_id = $2",
            "DELETE FROM grants WHERE account_id = $1 AND key_id = $2",
        ] {
            sqlx::query(statement)
                .bind(key.arn.account.as_str())
                .bind(key.id().to_string())
                .execute(&mut *tx)
                .await
                .map_err(driver_error)?;
        }
        tx.commit().await.map_err(driver_error)
    }

    async fn due_keys(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<Key>, StoreError> {
        // Three indexed arms rather than one OR, so each uses its partial index.
        let found = sqlx::query(
            "SELECT * FROM keys WHERE on_demand_started IS NOT NULL AND key_state = 'Enabled' \
             UNION SELECT * FROM keys WHERE next_rotation_date <= $1 AND key_state = 'Enabled' \
             UNION SELECT * FROM keys WHERE deletion_date <= $1 AND key_state = 'PendingDeletion' \
             ORDER BY created_at LIMIT $2",
        )
        .bind(millis(now))
        .bind(i64::from(limit))
        .fetch_all(&self.readers)
        .await
        .map_err(driver_error)?;
        found.iter().map(rows::key).collect()
    }

    async fn list_key_versions(
        &self,
        account: &AccountId,
        key: KeyId,
        page: &PageRequest,
    ) -> Result<Page<KeyVersion>, StoreError> {
        let after = match page.after.as_deref() {
            Some(marker) => marker
                .parse::<i64>()
                .map_err(|_| rows::corrupt(format!("version marker '{marker}'")))?,
            None => -1,
        };
        let found = sqlx::query(
            "SELECT * FROM key_versions WHERE account_id = $1 AND key_id = $2 AND ordinal > $3 ORDER BY ordinal LIMIT $4",
        )
        .bind(account.as_str())
        .bind(key.to_string())
        .bind(after)
        .bind(fetch_limit(page))
        .fetch_all(&self.readers)
        .await
        .map_err(driver_error)?;
        let versions = found
            .iter()
            .map(rows::key_version)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self::page(versions, page.limit, |version| {
            version.ordinal.to_string()
        }))
    }

    async fn key_version(
        &self,
        account: &AccountId,
        key: KeyId,
        version: VersionId,
    ) -> Result<Option<KeyVersion>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM key_versions WHERE account_id = $1 AND key_id = $2 AND version_id = $3",
        )
        .bind(account.as_str())
        .bind(key.to_string())
        .bind(version.to_string())
        .fetch_optional(&self.readers)
        .await
        .map_err(driver_error)?;
        row.as_ref().map(rows::key_version).transpose()
    }

    async fn create_grant(&self, grant: &Grant, limit: u32) -> Result<GrantCreated, StoreError> {
        sqlite_grants::create_grant(&mut *self.writer.lock().await?, grant, limit).await
    }

    async fn grant(&self, key: &KeyArn, id: GrantId) -> Result<Option<Grant>, StoreError> {
        sqlite_grants::grant(&self.readers, key, id).await
    }

    async fn grants_to(&self, key: &KeyArn, grantee: &str) -> Result<Vec<Grant>, StoreError> {
        sqlite_grants::grants_to(&self.readers, key, grantee).await
    }

    async fn list_grants(
        &self,
        key: &KeyArn,
        filter: GrantFilter<'_>,
        page: &PageRequest,
    ) -> Result<Page<Grant>, StoreError> {
        sqlite_grants::list_grants(&self.readers, key, filter, page).await
    }

    async fn list_retirable_grants(
        &self,
        region: &Region,
        retiring: &GrantPrincipal,
        page: &PageRequest,
    ) -> Result<Page<Grant>, StoreError> {
        sqlite_grants::list_retirable_grants(&self.readers, region, retiring, page).await
    }

    async fn delete_grant(&self, key: &KeyArn, id: GrantId) -> Result<bool, StoreError> {
        sqlite_grants::delete_grant(&mut *self.writer.lock().await?, key, id).await
    }

    async fn create_alias(&self, alias: &Alias) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO aliases (account_id, region, name, target_key_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(alias.account.as_str())
        .bind(alias.region.as_str())
        .bind(alias.name.as_str())
        .bind(alias.target.to_string())
        .bind(millis(alias.created_at))
        .bind(millis(alias.updated_at))
        .execute(&mut *self.writer.lock().await?)
        .await
        .map_err(driver_error)?;
        Ok(())
    }

    async fn alias(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
    ) -> Result<Option<Alias>, StoreError> {
        let row = sqlx::query(
            "SELECT * FROM aliases WHERE account_id = $1 AND region = $2 AND name = $3",
        )
        .bind(account.as_str())
        .bind(region.as_str())
        .bind(name.as_str())
        .fetch_optional(&self.readers)
        .await
        .map_err(driver_error)?;
        row.as_ref().map(rows::alias).transpose()
    }

    async fn update_alias(&self, alias: &Alias) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE aliases SET target_key_id = $1, updated_at = $2 WHERE account_id = $3 AND region = $4 AND name = $5",
        )
        .bind(alias.target.to_string())
        .bind(millis(alias.updated_at))
        .bind(alias.account.as_str())
        .bind(alias.region.as_str())
        .bind(alias.name.as_str())
        .execute(&mut *self.writer.lock().await?)
        .await
        .map_err(driver_error)?;
        if done.rows_affected() == 0 {
            return Err(StoreError::new(
                StoreErrorKind::NotFound,
                format!("alias {} vanished", alias.name),
            ));
        }
        Ok(())
    }

    async fn delete_alias(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
    ) -> Result<bool, StoreError> {
        let done =
            sqlx::query("DELETE FROM aliases WHERE account_id = $1 AND region = $2 AND name = $3")
                .bind(account.as_str())
                .bind(region.as_str())
                .bind(name.as_str())
                .execute(&mut *self.writer.lock().await?)
                .await
                .map_err(driver_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn list_aliases(
        &self,
        account: &AccountId,
        region: &Region,
        target: Option<KeyId>,
        page: &PageRequest,
    ) -> Result<Page<Alias>, StoreError> {
        let found = sqlx::query(
            "SELECT * FROM aliases WHERE account_id = $1 AND region = $2 AND ($3 IS NULL OR target_key_id = $3) AND name > $4 ORDER BY name LIMIT $5",
        )
        .bind(account.as_str())
        .bind(region.as_str())
        .bind(target.map(|id| id.to_string()))
        .bind(page.after.as_deref().unwrap_or(""))
        .bind(fetch_limit(page))
        .fetch_all(&self.readers)
        .await
        .map_err(driver_error)?;
        let aliases = found
            .iter()
            .map(rows::alias)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(self::page(aliases, page.limit, |alias| {
            alias.name.as_str().to_owned()
        }))
    }

    async fn legacy_audit_records(
        &self,
        after: Option<&(AccountId, Region, u64)>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        sqlite_audit::legacy_records(&self.readers, after, limit).await
    }

    async fn drop_legacy_audit_records(&self) -> Result<(), StoreError> {
        sqlite_audit::drop_legacy_records(&mut *self.writer.lock().await?).await
    }

    async fn insert_audit_digest(&self, digest: &StoredDigest) -> Result<(), StoreError> {
        sqlite_audit::insert_digest(&mut *self.writer.lock().await?, digest).await
    }

    async fn audit_digests(
        &self,
        account: &AccountId,
        region: &Region,
        after: u64,
        limit: u32,
    ) -> Result<Vec<StoredDigest>, StoreError> {
        sqlite_audit::digests(&self.readers, account, region, after, limit).await
    }

    async fn last_audit_digest(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> Result<Option<StoredDigest>, StoreError> {
        sqlite_audit::last_digest(&self.readers, account, region).await
    }

    async fn audit_chains(&self) -> Result<Vec<(AccountId, Region)>, StoreError> {
        sqlite_audit::chains(&self.readers).await
    }

    async fn prune_audit(&self, checkpoint: &Checkpoint) -> Result<(), StoreError> {
        sqlite_audit::prune(&mut *self.writer.lock().await?, checkpoint).await
    }

    async fn audit_checkpoint(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> Result<Option<Checkpoint>, StoreError> {
        sqlite_audit::checkpoint(&self.readers, account, region).await
    }

    async fn sealed_versions(&self, page: &PageRequest) -> Result<Page<SealedVersion>, StoreError> {
        sqlite_reseal::sealed_versions(&self.readers, page).await
    }

    async fn reseal_versions(
        &self,
        resealed: &[(SealedVersion, SealedKey)],
    ) -> Result<u64, StoreError> {
        sqlite_reseal::reseal_versions(&mut *self.writer.lock().await?, resealed).await
    }

    async fn reseal_access_key(
        &self,
        id: &AccessKeyId,
        old: &SealedKey,
        new: &SealedKey,
    ) -> Result<bool, StoreError> {
        sqlite_reseal::reseal_access_key(&mut *self.writer.lock().await?, id, old, new).await
    }

    async fn replace_meta(&self, name: &str, old: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        sqlite_reseal::replace_meta(&mut *self.writer.lock().await?, name, old, new).await
    }

    async fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        sqlx::query_scalar("SELECT value FROM meta WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.readers)
            .await
            .map_err(driver_error)
    }

    async fn list_meta(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        sqlite_keks::list_meta(&self.readers).await
    }

    async fn insert_meta(&self, name: &str, value: &[u8], root: &[u8]) -> Result<(), StoreError> {
        sqlite_keks::insert_meta(&mut *self.writer.lock().await?, name, value, root).await
    }

    async fn account_kek(&self, account: &AccountId) -> Result<Option<SealedKey>, StoreError> {
        sqlite_keks::account_kek(&self.readers, account).await
    }

    async fn insert_account_kek(
        &self,
        account: &AccountId,
        sealed: &SealedKey,
        root: &[u8],
    ) -> Result<(), StoreError> {
        sqlite_keks::insert_account_kek(&mut *self.writer.lock().await?, account, sealed, root)
            .await
    }

    async fn account_keks(&self) -> Result<Vec<(AccountId, SealedKey)>, StoreError> {
        sqlite_keks::account_keks(&self.readers).await
    }

    async fn replace_account_kek(
        &self,
        account: &AccountId,
        old: &SealedKey,
        new: &SealedKey,
    ) -> Result<bool, StoreError> {
        sqlite_keks::replace_account_kek(&mut *self.writer.lock().await?, account, old, new).await
    }

    async fn set_sealing_root(&self, root: &[u8]) -> Result<(), StoreError> {
        sqlite_keks::set_sealing_root(&mut *self.writer.lock().await?, root).await
    }

    async fn delete_account(&self, account: &AccountId) -> Result<bool, StoreError> {
        sqlite_keks::delete_account(&mut *self.writer.lock().await?, account).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.readers)
            .await
            .map_err(driver_error)?;
        Ok(())
    }

    async fn close(&self) {
        self.readers.close().await;
        self.writer.close().await;
    }
}

/// Writes the key's mutable fields if the stored revision still equals `key.revision`.
async fn compare_and_swap(
    tx: &mut sqlx::Transaction<'_, sqlx::Sqlite>,
    key: &Key,
) -> Result<i64, StoreError> {
    let done = sqlx::query(
        "UPDATE keys SET description = $1, key_state = $2, deletion_date = $3, pending_window_days = $4, \
         current_version = $5, version_count = $6, rotation_period_days = $7, next_rotation_date = $8, \
         on_demand_rotations = $9, on_demand_started = $10, tags = $11, policy = $12, revision = revision + 1, \
         policy_principals = $17 \
         WHERE account_id = $13 AND region = $14 AND key_id = $15 AND revision = $16",
    )
    .bind(&key.description)
    .bind(key.state.as_str())
    .bind(key.deletion_date().map(millis))
    .bind(key.pending_window_days().map(i64::from))
    .bind(key.current_version.to_string())
    .bind(i64::from(key.version_count))
    .bind(key.rotation.map(|r| i64::from(r.period_days)))
    .bind(key.rotation.map(|r| millis(r.next_rotation)))
    .bind(i64::from(key.on_demand_rotations))
    .bind(key.on_demand_started().map(millis))
    .bind(rows::tags_json(&key.tags))
    .bind(key.policy.text())
    .bind(key.arn.account.as_str())
    .bind(key.arn.region.as_str())
    .bind(key.id().to_string())
    .bind(key.revision)
    .bind(key.policy.principal_ids_json())
    .execute(&mut **tx)
    .await
    .map_err(driver_error)?;
    if done.rows_affected() == 1 {
        return Ok(key.revision + 1);
    }
    let exists =
        sqlx::query("SELECT 1 FROM keys WHERE account_id = $1 AND region = $2 AND key_id = $3")
            .bind(key.arn.account.as_str())
            .bind(key.arn.region.as_str())
            .bind(key.id().to_string())
            .fetch_optional(&mut **tx)
            .await
            .map_err(driver_error)?
            .is_some();
    let kind = if exists {
        StoreErrorKind::Conflict
    } else {
        StoreErrorKind::NotFound
    };
    Err(StoreError::new(
        kind,
        format!("key {} changed or vanished concurrently", key.arn),
    ))
}
