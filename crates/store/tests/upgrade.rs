//! A data directory made before IAM identities existed keeps working: the migration makes every
//! access key's user an IAM user, gives each account its `admin` user, and gives all of them the
//! administrator policy, so every existing key keeps the rights it had.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sqlx::{ConnectOptions, Connection};
use strongbox_core::model::iam::{ADMIN_POLICY_DOCUMENT, ADMIN_POLICY_NAME};
use strongbox_core::model::{AccountId, PolicyOwner};
use strongbox_store::Engine;

/// The schema as the previous release left it (migrations 1 to 3), with its bookkeeping.
const BEFORE: [&str; 3] = [
    include_str!("../migrations/sqlite/0001_initial.sql"),
    include_str!("../migrations/sqlite/0002_meta.sql"),
    include_str!("../migrations/sqlite/0003_audit.sql"),
];

#[tokio::test]
async fn users_of_an_older_store_become_administrators() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let url = format!("sqlite://{}", path.display());
    {
        let options = url
            .parse::<sqlx::sqlite::SqliteConnectOptions>()
            .unwrap()
            .create_if_missing(true);
        let mut connection = options.connect().await.unwrap();
        sqlx::raw_sql(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY NOT NULL, applied_at INTEGER NOT NULL)",
        )
        .execute(&mut connection)
        .await
        .unwrap();
        for (version, script) in BEFORE.iter().enumerate() {
            sqlx::raw_sql(*script)
                .execute(&mut connection)
                .await
                .unwrap();
            sqlx::query("INSERT INTO schema_migrations VALUES ($1, 0)")
                .bind(version as i64 + 1)
                .execute(&mut connection)
                .await
                .unwrap();
        }
        sqlx::raw_sql(
            "INSERT INTO accounts VALUES ('111122223333', 'main', 1000), ('444455556666', 'other', 2000);
             INSERT INTO access_keys VALUES ('AKIAOLDOLDOLDOLD0001', '111122223333', 'admin', x'00', 'Active', 1000);
             INSERT INTO access_keys VALUES ('AKIAOLDOLDOLDOLD0002', '111122223333', 'Deploy', x'00', 'Active', 1500);
             INSERT INTO access_keys VALUES ('AKIAOLDOLDOLDOLD0003', '111122223333', 'deploy', x'00', 'Active', 1600);",
        )
        .execute(&mut connection)
        .await
        .unwrap();
        connection.close().await.unwrap();
    }
    let store = strongbox_store::open(&Engine::parse(&url).unwrap())
        .await
        .unwrap();
    let main = AccountId::parse("111122223333").unwrap();
    let other = AccountId::parse("444455556666").unwrap();
    for (account, name) in [(main, "admin"), (main, "deploy"), (other, "admin")] {
        let user = store.user(&account, name).await.unwrap();
        let user = user.unwrap_or_else(|| panic!("{account} {name}"));
        assert!(
            user.id.starts_with("AIDA") && user.id.len() == 21,
            "{}",
            user.id
        );
        assert_eq!(user.path, "/");
        let policies = store
            .inline_policies(&account, &PolicyOwner::User(name.to_owned()))
            .await
            .unwrap();
        assert_eq!(policies.len(), 1, "{account} {name}");
        assert_eq!(policies[0].name, ADMIN_POLICY_NAME);
        assert_eq!(policies[0].document, ADMIN_POLICY_DOCUMENT);
    }
    // Two spellings of one name were one user all along (IAM names ignore case).
    assert_eq!(
        store.user(&main, "DEPLOY").await.unwrap().unwrap().name,
        "Deploy"
    );
    let users = store
        .list_users(
            &main,
            &strongbox_core::PageRequest {
                limit: 10,
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(users.items.len(), 2);
    store.close().await;
}
