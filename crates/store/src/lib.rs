//! Implementations of `strongbox_core::Store` (SQLite, the embedded default) and of
//! `strongbox_core::audit::AuditSink` (the audit [`journal`] of segment files).
//!
//! This crate holds SQL, driver and file-format code only; the domain rules live in `strongbox-core`, which
//! this crate implements and never extends. Row mapping lives in `rows.rs`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod group_commit;
pub mod journal;
mod migrate;
mod rows;
mod sqlite;
mod sqlite_audit;
mod sqlite_grants;
mod sqlite_iam;
mod sqlite_keks;
mod sqlite_reseal;
mod writing;

use std::sync::Arc;

use strongbox_core::{Store, StoreError, StoreErrorKind};

pub use sqlite::SqliteStore;

/// The storage engines, chosen by the URL scheme of `--store`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Engine {
    /// `sqlite://PATH`: one file, WAL mode, durable on commit.
    Sqlite(String),
}

impl Engine {
    /// Parses a store URL, with a message that says what is accepted.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(config_error(
                    "sqlite:// needs a file path, e.g. sqlite://./strongbox-data/strongbox.db",
                ));
            }
            return Ok(Engine::Sqlite(path.to_owned()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Err(config_error(
                "PostgreSQL is not supported by this build yet; use sqlite://PATH",
            ));
        }
        Err(config_error("unknown store URL: use sqlite://PATH"))
    }
}

/// Opens the store and brings its schema up to date.
pub async fn open(engine: &Engine) -> Result<Arc<dyn Store>, StoreError> {
    match engine {
        Engine::Sqlite(path) => Ok(Arc::new(SqliteStore::open(path).await?)),
    }
}

fn config_error(message: &str) -> StoreError {
    StoreError::new(StoreErrorKind::Unavailable, message.to_owned())
}
