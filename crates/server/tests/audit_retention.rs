//! Hourly digests (empty hours included) and retention: old records and digests go, a signed
//! checkpoint takes their place, and what remains still verifies, live and exported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_kms::primitives::Blob;
use common::audit::{copy_tree, lookup_ok, records};
use common::{ACCOUNT, REGION, TestServer, create_key};
use serde_json::json;
use strongbox_core::audit::digest::{DigestBody, open_signed};
use strongbox_core::model::{AccountId, Region};

const HOUR: i64 = 3600;
const DAY: i64 = 86_400;

async fn encrypt(server: &TestServer, key: &str) {
    server
        .client()
        .encrypt()
        .key_id(key)
        .plaintext(Blob::new("kept or pruned"))
        .send()
        .await
        .unwrap();
}

/// The home chain's digests, parsed.
async fn digests(server: &TestServer) -> Vec<DigestBody> {
    let kms = server.admin_kms().await;
    let account = AccountId::parse(ACCOUNT).unwrap();
    let region = Region::parse(REGION).unwrap();
    let stored = kms.audit_digests(&account, &region, 0).await.unwrap();
    kms.close().await;
    stored
        .iter()
        .map(|digest| open_signed::<DigestBody>(&digest.file).unwrap().body)
        .collect()
}

/// Waits for the pass the server makes at start, which writes each chain's first digest,
/// covering nothing yet (under `cargo test`'s parallel threads it may run after a test's calls).
async fn start_digest_written(server: &TestServer) {
    for _ in 0..400 {
        if !digests(server).await.is_empty() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the start's digest pass did not run within 10 s");
}

#[tokio::test]
async fn every_hour_gets_a_digest_and_old_records_are_pruned_verifiably() {
    let server = TestServer::start_with(|config| {
        config.dev_clock = true;
        config.audit_retention = Some(time::Duration::days(1));
    })
    .await;
    start_digest_written(&server).await;
    let key = create_key(&server.client()).await;
    encrypt(&server, &key).await;

    // The first pass at start wrote digest 1; an hour later digest 2 covers the two calls.
    server.advance_clock(HOUR).await;
    let after_calls = digests(&server).await;
    assert_eq!(after_calls.len(), 2);
    assert_eq!(after_calls[1].log_files.len(), 1);
    assert_eq!(after_calls[1].last_record_sequence, 2);
    // An hour with no calls still gets its digest, covering no files.
    server.advance_clock(HOUR).await;
    let quiet = digests(&server).await;
    assert_eq!(quiet.len(), 3);
    assert!(quiet[2].log_files.is_empty());
    assert_eq!(quiet[2].last_record_sequence, 2);
    assert_eq!(
        quiet[2].previous_digest_s3_object.as_deref(),
        Some(quiet[1].digest_s3_object.as_str())
    );

    // Two days on, everything older than a day goes; the newest digest always stays.
    server.advance_clock(2 * DAY).await;
    encrypt(&server, &key).await;
    let left = records(&server, ACCOUNT, REGION).await;
    assert_eq!(left.len(), 1, "only the call after pruning remains");
    assert_eq!(left[0].json["auditChain"]["sequence"], 3);
    let remaining = digests(&server).await;
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0].digest_sequence, 4);
    let events = lookup_ok(&server, json!({})).await;
    assert_eq!(events["Events"].as_array().unwrap().len(), 1);

    // A tenant whose first call happens at the moved clock, before any digest of its chain:
    // the export (on the real clock) must still give its first digest a period that contains
    // the call.
    let (_, tenant) = server.new_tenant("late").await;
    create_key(&tenant).await;

    // The rest verifies from the signed checkpoint, live and exported.
    let kms = server.admin_kms().await;
    let public_key = kms.audit_public_key().await.unwrap();
    let live = strongbox::audit::verify::verify_store(&kms, &public_key)
        .await
        .unwrap();
    assert!(live.findings.is_empty(), "{:?}", live.findings);
    assert!(live.notes.iter().any(|note| note.contains("pruned")));
    let dir = tempfile::tempdir().unwrap();
    strongbox::audit::export::export(&kms, dir.path(), &Default::default())
        .await
        .unwrap();
    let exported = strongbox::audit::verify::verify_export(dir.path(), &public_key).unwrap();
    assert!(exported.findings.is_empty(), "{:?}", exported.findings);
    assert!(exported.notes.iter().any(|note| note.contains("pruned")));
    assert_eq!(
        exported.records, 2,
        "the home chain's one record and the tenant's"
    );

    // Removing the checkpoint from the export is reported: the manifest names it.
    let copy = tempfile::tempdir().unwrap();
    copy_tree(dir.path(), copy.path());
    std::fs::remove_file(checkpoint_in(copy.path())).unwrap();
    let removed = strongbox::audit::verify::verify_export(copy.path(), &public_key).unwrap();
    assert!(
        removed
            .findings
            .iter()
            .any(|f| f.message.contains("disagree on this chain's checkpoint")),
        "{:?}",
        removed.findings
    );

    // The checkpoint is signed: changing it is reported.
    let checkpoint = checkpoint_in(dir.path());
    let text = std::fs::read_to_string(&checkpoint).unwrap();
    std::fs::write(
        &checkpoint,
        text.replacen("\"lastRecordSequence\":2", "\"lastRecordSequence\":1", 1),
    )
    .unwrap();
    let tampered = strongbox::audit::verify::verify_export(dir.path(), &public_key).unwrap();
    assert!(
        tampered
            .findings
            .iter()
            .any(|f| f.message.contains("signature does not verify")),
        "{:?}",
        tampered.findings
    );
    kms.close().await;
    server.stop().await;
}

/// The home chain's checkpoint file in an export.
fn checkpoint_in(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(dir.join(ACCOUNT).join("CloudTrail-Digest").join(REGION))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == "json"))
        .unwrap()
}

#[tokio::test]
async fn a_busy_chain_gets_a_digest_every_n_records_and_a_stopping_pass_writes_none() {
    let server = TestServer::start_with(|config| {
        config.dev_clock = true;
        config.audit_digest_records = 5;
    })
    .await;
    start_digest_written(&server).await;
    let key = create_key(&server.client()).await;
    for _ in 0..11 {
        encrypt(&server, &key).await;
    }
    // Twelve records wait; each pass signs at most five of them, within the hour.
    for _ in 0..3 {
        server.advance_clock(1).await;
    }
    let covered: Vec<u64> = digests(&server)
        .await
        .iter()
        .map(|digest| digest.last_record_sequence)
        .collect();
    assert_eq!(
        covered,
        [0, 5, 10],
        "the last two records wait for the hour"
    );
    server.advance_clock(HOUR).await;
    let all = digests(&server).await;
    assert_eq!(all.last().unwrap().last_record_sequence, 12);
    // A capped digest ends with its newest record, so each period holds its records.
    for digest in &all {
        if let Some(oldest) = &digest.oldest_event_time {
            assert!(*oldest >= digest.digest_start_time, "{digest:?}");
            assert!(digest.newest_event_time.as_ref().unwrap() <= &digest.digest_end_time);
        }
    }
    let report = common::audit::verify_data_dir(&server.data_dir).await;
    assert!(report.findings.is_empty(), "{:?}", report.findings);

    // An on-demand digest (`strongbox audit digest`, an export) signs everything recorded so
    // far: with 12 waiting and at most 5 a digest, three digests.
    for _ in 0..12 {
        encrypt(&server, &key).await;
    }
    let store = format!(
        "sqlite://{}",
        server.data_dir.join("strongbox.db").display()
    );
    let capped = strongbox::datadir::open_with(
        &server.data_dir,
        &store,
        strongbox::datadir::OpenMode::MustExist,
        std::sync::Arc::new(strongbox_core::SystemClock),
        strongbox_core::kms::KmsConfig {
            max_digest_records: 5,
            ..strongbox_core::kms::KmsConfig::default()
        },
        strongbox_store::journal::JournalOptions::default(),
    )
    .await
    .unwrap()
    .kms;
    let account = AccountId::parse(ACCOUNT).unwrap();
    let region = Region::parse(REGION).unwrap();
    let newest = capped
        .write_digest(&account, &region)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(newest.last_record, 24);
    capped.close().await;
    let covered: Vec<u64> = digests(&server)
        .await
        .iter()
        .rev()
        .take(3)
        .map(|d| d.last_record_sequence)
        .collect();
    assert_eq!(covered, [24, 22, 17]);

    // A pass asked to stop writes nothing more.
    let kms = server.admin_kms().await;
    let stopping = std::sync::atomic::AtomicBool::new(true);
    let regions = [Region::parse(REGION).unwrap()];
    let written = kms
        .write_due_digests(&regions, time::Duration::ZERO, &stopping)
        .await
        .unwrap();
    assert!(written.is_empty());
    kms.close().await;
}
