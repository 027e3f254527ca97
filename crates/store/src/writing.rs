//! The store's one writing connection, owned outright rather than borrowed from a pool.
//!
//! A pooled connection costs a round trip to SQLite's thread each time it goes back to the pool
//! (sqlx pings it on release) on top of the statement's own; the committer writes many times a
//! second with requests waiting, so it holds the connection through this lock instead, as do
//! the rarer writes (key updates, aliases, digests), which then queue fairly behind it.

use std::sync::Arc;

use sqlx::SqliteConnection;
use tokio::sync::{MappedMutexGuard, Mutex, MutexGuard};

use strongbox_core::{StoreError, StoreErrorKind};

/// A handle on the writing connection; clones share it.
#[derive(Clone)]
pub(crate) struct Writer(Arc<Mutex<Option<SqliteConnection>>>);

impl Writer {
    pub(crate) fn new(connection: SqliteConnection) -> Self {
        Self(Arc::new(Mutex::new(Some(connection))))
    }

    /// Waits for the connection (first come, first served) and holds it until the guard drops.
    pub(crate) async fn lock(&self) -> Result<MappedMutexGuard<'_, SqliteConnection>, StoreError> {
        MutexGuard::try_map(self.0.lock().await, Option::as_mut).map_err(|_| closed())
    }

    /// Closes the connection once the writes holding it are done; later writes fail.
    pub(crate) async fn close(&self) {
        if let Some(connection) = self.0.lock().await.take() {
            let _ = sqlx::Connection::close(connection).await;
        }
    }
}

/// The error of a write after [`Writer::close`].
pub(crate) fn closed() -> StoreError {
    StoreError::new(StoreErrorKind::Unavailable, "the store is closed")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sqlx::Connection;

    use super::*;

    #[tokio::test]
    async fn writes_after_close_fail_as_unavailable_and_do_not_wait() {
        let writer = Writer::new(SqliteConnection::connect("sqlite::memory:").await.unwrap());
        sqlx::query("CREATE TABLE t (x INTEGER)")
            .execute(&mut *writer.lock().await.unwrap())
            .await
            .unwrap();
        writer.clone().close().await;
        let refused = writer.lock().await.err().map(|error| error.kind());
        assert_eq!(refused, Some(StoreErrorKind::Unavailable));
    }
}
