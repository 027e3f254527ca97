//! A data directory made by the release before the audit journal (every record a row of the
//! store's `audit_records` table, made by `tests/fixtures/make-datadir.sh`): the first start
//! moves the records into the journal byte for byte, the chain and digests verify, new records
//! continue the chain, the rows are gone, and a second start moves nothing again. Admin
//! commands refuse the directory until a server has moved them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{ACCOUNT, REGION, TestServer, create_key};
use strongbox::datadir::{self, OpenMode};

const FIXTURE: &str = "datadir-before-audit-journal";

async fn legacy_rows(dir: &Path) -> Vec<(i64, Vec<u8>)> {
    let pool =
        sqlx::SqlitePool::connect(&format!("sqlite://{}", dir.join("strongbox.db").display()))
            .await
            .unwrap();
    let rows = sqlx::query_as("SELECT sequence, record FROM audit_records WHERE account = ? AND region = ? ORDER BY sequence")
        .bind(ACCOUNT)
        .bind(REGION)
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows
}

#[tokio::test]
async fn records_of_the_release_before_the_journal_move_into_it_unchanged() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(FIXTURE);
    let before = std::fs::read_to_string(fixture.join("verify-before.txt")).unwrap();
    assert!(before.starts_with("OK: 2 digests"), "{before}");
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    common::copy_private(&fixture.join("data"), &dir);
    let rows = legacy_rows(&dir).await;
    assert_eq!(rows.len(), 13);

    // Not moved yet: admin commands send the operator to `serve`.
    let store = format!("sqlite://{}", dir.join("strongbox.db").display());
    let refused = datadir::open(&dir, &store, OpenMode::MustExist)
        .await
        .err()
        .unwrap();
    assert!(
        refused.contains("older version") && refused.contains("strongbox serve"),
        "{refused}"
    );

    let mut server = TestServer::start_in(&dir).await;
    create_key(&server.client()).await;
    server.halt().await;
    assert!(legacy_rows(&dir).await.is_empty(), "the rows were dropped");
    let records = common::audit::records_in(&dir, ACCOUNT, REGION).await;
    let moved: Vec<(i64, Vec<u8>)> = records
        .iter()
        .take(rows.len())
        .map(|record| {
            (
                record.json["auditChain"]["sequence"].as_i64().unwrap(),
                record.bytes.clone(),
            )
        })
        .collect();
    assert_eq!(moved, rows, "byte for byte, in order");
    let next = &records[rows.len()];
    assert_eq!(next.json["eventName"], "CreateKey");
    assert_eq!(next.json["auditChain"]["sequence"], 14);
    assert_eq!(
        next.json["auditChain"]["previousHash"],
        hex::encode(strongbox_crypto::sha256(&rows[12].1))
    );

    let report = common::audit::verify_data_dir(&dir).await;
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    // The fixture's two digests, and any the server wrote since (its other Region's first).
    assert!(report.digests >= 2, "{report:?}");
    assert_eq!(report.records, 14);

    // A second start moves nothing again.
    let server = TestServer::start_in(&dir).await;
    server.stop().await;
    let again = common::audit::records_in(&dir, ACCOUNT, REGION).await;
    assert_eq!(again.len(), records.len());
}
