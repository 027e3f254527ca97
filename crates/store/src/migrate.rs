//! Schema migrations, embedded in the binary and applied at start, each in its own transaction.
//! (sqlx's `migrate!` needs its macros feature, which would require a database at build time.)

use sqlx::{Connection, SqliteConnection};

use strongbox_core::{StoreError, StoreErrorKind};

/// The migrations in order. Never edit one that has shipped: add a new one.
const SQLITE_MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_initial.sql")),
    (2, include_str!("../migrations/sqlite/0002_meta.sql")),
    (3, include_str!("../migrations/sqlite/0003_audit.sql")),
    (4, include_str!("../migrations/sqlite/0004_iam.sql")),
    (5, include_str!("../migrations/sqlite/0005_grants.sql")),
    (
        6,
        include_str!("../migrations/sqlite/0006_account_keks.sql"),
    ),
];

/// Applies every migration newer than the database's recorded version.
pub(crate) async fn run(connection: &mut SqliteConnection) -> Result<(), StoreError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL)",
    )
    .execute(&mut *connection)
    .await
    .map_err(migration_error)?;
    let current: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
        .fetch_one(&mut *connection)
        .await
        .map_err(migration_error)?;
    let current = current.unwrap_or(0);
    for (version, script) in SQLITE_MIGRATIONS.iter().filter(|(v, _)| *v > current) {
        let mut tx = connection.begin().await.map_err(migration_error)?;
        sqlx::raw_sql(*script)
            .execute(&mut *tx)
            .await
            .map_err(migration_error)?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, strftime('%s','now'))",
        )
        .bind(version)
        .execute(&mut *tx)
        .await
        .map_err(migration_error)?;
        tx.commit().await.map_err(migration_error)?;
    }
    let newest = SQLITE_MIGRATIONS.last().map_or(0, |(v, _)| *v);
    if current > newest {
        return Err(StoreError::new(
            StoreErrorKind::Corrupt,
            format!(
                "the database schema (version {current}) is newer than this build knows ({newest}); upgrade strongbox"
            ),
        ));
    }
    Ok(())
}

fn migration_error(error: sqlx::Error) -> StoreError {
    StoreError::new(StoreErrorKind::Unavailable, error)
}
