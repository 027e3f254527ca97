//! Group commit for the SQLite store's frequent inserts: new keys.
//!
//! Each commit costs an fsync, and SQLite has one writer at a time, so a commit per call caps
//! CreateKey near one key per fsync. Instead, calls queue their rows here and one task commits
//! whatever has queued up in a single transaction: concurrent CreateKey calls share one fsync, and each page the rows touch is written to the WAL once per
//! batch instead of once per call. A call returns only after the commit that holds its rows.
//!
//! A batch is all or nothing. When it fails, its writes are committed again one at a time, so
//! that only the write at fault sees an error (a duplicate key id, say) and the others land.

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use strongbox_core::StoreError;
use strongbox_core::model::{Key, KeyVersion};

use crate::rows::{self, driver_error, millis};
use crate::writing::{self, Writer};

/// Writes waiting for the committer, at most; further callers wait for room.
const QUEUE: usize = 4096;
/// Writes per transaction, at most.
const MAX_BATCH: usize = 256;
/// Rows per multi-row INSERT: 21 parameters a key row, within SQLite's 32766.
const KEY_ROWS_PER_INSERT: usize = 1024;

/// One write that may share a commit with others.
pub(crate) enum Write {
    /// CreateKey: the key's row and its first version.
    Key { key: Box<Key>, version: KeyVersion },
}

struct Job {
    write: Write,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The handle writers submit through. The committing task ends when every handle is dropped.
pub(crate) struct GroupCommit {
    sender: mpsc::Sender<Job>,
}

impl GroupCommit {
    /// Starts the committing task on the current Tokio runtime; `writer` is the store's
    /// writing connection.
    pub(crate) fn start(writer: Writer) -> Self {
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(commit_loop(writer, receiver));
        Self { sender }
    }

    /// Queues `write` and returns once it is committed (or has failed).
    pub(crate) async fn submit(&self, write: Write) -> Result<(), StoreError> {
        let (done, committed) = oneshot::channel();
        self.sender
            .send(Job { write, done })
            .await
            .map_err(|_| stopped())?;
        committed.await.map_err(|_| stopped())?
    }
}

fn stopped() -> StoreError {
    StoreError::new(
        strongbox_core::StoreErrorKind::Unavailable,
        "the store's committer has stopped",
    )
}

async fn commit_loop(writer: Writer, mut receiver: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match writer.lock().await {
            Ok(mut connection) => commit(&mut connection, &mut batch).await,
            Err(_) => {
                for job in batch.drain(..) {
                    let _ = job.done.send(Err(writing::closed()));
                }
            }
        }
    }
}

/// Commits `batch` in one transaction, or, if that fails, each write on its own.
async fn commit(writer: &mut SqliteConnection, batch: &mut Vec<Job>) {
    if batch.len() > 1 {
        let writes: Vec<&Write> = batch.iter().map(|job| &job.write).collect();
        match apply(&mut *writer, &writes).await {
            Ok(()) => {
                for job in batch.drain(..) {
                    let _ = job.done.send(Ok(()));
                }
                return;
            }
            Err(error) => tracing::debug!(
                %error,
                writes = batch.len(),
                "a group commit failed; committing its writes one by one"
            ),
        }
    }
    for job in batch.drain(..) {
        let outcome = apply(&mut *writer, &[&job.write]).await;
        let _ = job.done.send(outcome);
    }
}

/// One transaction: multi-row INSERTs of every key and version in `writes`, sent
/// to SQLite's thread as one multi-statement query (one round trip instead of one a statement).
async fn apply(writer: &mut SqliteConnection, writes: &[&Write]) -> Result<(), StoreError> {
    let mut keys = Vec::new();
    let mut versions = Vec::new();
    for write in writes {
        let Write::Key { key, version } = write;
        keys.push(key.as_ref());
        versions.push((key.arn.account.as_str(), version));
    }
    let mut query = QueryBuilder::new("BEGIN IMMEDIATE; ");
    for chunk in keys.chunks(KEY_ROWS_PER_INSERT) {
        push_insert_keys(&mut query, chunk);
    }
    for chunk in versions.chunks(KEY_ROWS_PER_INSERT) {
        push_insert_versions(&mut query, chunk);
    }
    query.push("COMMIT");
    match query.build().execute(&mut *writer).await {
        Ok(_) => Ok(()),
        Err(error) => {
            // The statement that failed left the transaction open (or SQLite rolled it back
            // already, and this fails harmlessly).
            let _ = sqlx::raw_sql("ROLLBACK").execute(&mut *writer).await;
            Err(driver_error(error))
        }
    }
}

fn push_insert_keys(insert: &mut QueryBuilder<Sqlite>, keys: &[&Key]) {
    insert.push(
        "INSERT INTO keys (account_id, region, key_id, key_spec, key_usage, origin, created_at, \
         description, key_state, deletion_date, pending_window_days, current_version, version_count, \
         rotation_period_days, next_rotation_date, on_demand_rotations, on_demand_started, tags, policy, revision, \
         policy_principals) ",
    );
    insert.push_values(keys, |mut row, key| {
        row.push_bind(key.arn.account.as_str())
            .push_bind(key.arn.region.as_str())
            .push_bind(key.id().to_string())
            .push_bind(key.spec.as_str())
            .push_bind(key.usage.as_str())
            .push_bind(key.origin.as_str())
            .push_bind(millis(key.created_at))
            .push_bind(key.description.as_str())
            .push_bind(key.state.as_str())
            .push_bind(key.deletion_date().map(millis))
            .push_bind(key.pending_window_days().map(i64::from))
            .push_bind(key.current_version.to_string())
            .push_bind(i64::from(key.version_count))
            .push_bind(key.rotation.map(|r| i64::from(r.period_days)))
            .push_bind(key.rotation.map(|r| millis(r.next_rotation)))
            .push_bind(i64::from(key.on_demand_rotations))
            .push_bind(key.on_demand_started().map(millis))
            .push_bind(rows::tags_json(&key.tags))
            .push_bind(key.policy.text().to_owned())
            .push_bind(0_i64)
            .push_bind(key.policy.principal_ids_json());
    });
    insert.push("; ");
}

/// Key versions with the account each belongs to (rotation inserts one the same way).
pub(crate) fn push_insert_versions(
    insert: &mut QueryBuilder<Sqlite>,
    versions: &[(&str, &KeyVersion)],
) {
    insert.push(
        "INSERT INTO key_versions (account_id, key_id, version_id, ordinal, sealed_material, rotation_type, created_at) ",
    );
    insert.push_values(versions, |mut row, (account, version)| {
        row.push_bind(*account)
            .push_bind(version.key_id.to_string())
            .push_bind(version.version_id.to_string())
            .push_bind(i64::from(version.ordinal))
            .push_bind(version.sealed.as_bytes())
            .push_bind(version.rotation.map(|r| r.as_str()))
            .push_bind(millis(version.created_at));
    });
    insert.push("; ");
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sqlx::Connection;
    use strongbox_core::model::{AccountId, KeyArn, KeyId, KeySpec, KeyUsage, Region, VersionId};
    use strongbox_core::{SealedKey, StoreErrorKind};
    use time::OffsetDateTime;

    use super::*;

    const ACCOUNT: &str = "111122223333";

    async fn migrated() -> SqliteConnection {
        let mut connection = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        crate::migrate::run(&mut connection).await.unwrap();
        sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, 'a', 0)")
            .bind(ACCOUNT)
            .execute(&mut connection)
            .await
            .unwrap();
        connection
    }

    fn new_key() -> Write {
        let now = OffsetDateTime::UNIX_EPOCH;
        let version_id = VersionId::generate();
        let arn = KeyArn {
            region: Region::parse("us-east-1").unwrap(),
            account: AccountId::parse(ACCOUNT).unwrap(),
            key_id: KeyId::generate(),
        };
        let key = Key::new(
            arn,
            KeySpec::SymmetricDefault,
            KeyUsage::EncryptDecrypt,
            version_id,
            now,
        );
        let version = KeyVersion {
            key_id: key.id(),
            version_id,
            ordinal: 0,
            rotation: None,
            sealed: SealedKey::from_bytes(vec![7; 8]),
            created_at: now,
        };
        Write::Key {
            key: Box::new(key),
            version,
        }
    }

    fn duplicate(write: &Write) -> Write {
        let Write::Key { key, version } = write;
        Write::Key {
            key: key.clone(),
            version: version.clone(),
        }
    }

    async fn stored_keys(connection: &mut SqliteConnection) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM keys")
            .fetch_one(connection)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_failing_write_fails_alone_and_the_rest_of_its_batch_lands() {
        let mut connection = migrated().await;
        let first = new_key();
        let writes = vec![duplicate(&first), new_key(), first, new_key()];
        let mut batch = Vec::new();
        let mut outcomes = Vec::new();
        for write in writes {
            let (done, outcome) = oneshot::channel();
            batch.push(Job { write, done });
            outcomes.push(outcome);
        }
        commit(&mut connection, &mut batch).await;
        let mut kinds = Vec::new();
        for outcome in outcomes {
            kinds.push(outcome.await.unwrap().err().map(|error| error.kind()));
        }
        assert_eq!(kinds, [None, None, Some(StoreErrorKind::Conflict), None]);
        assert_eq!(stored_keys(&mut connection).await, 3);
        assert!(batch.is_empty());
    }
}
