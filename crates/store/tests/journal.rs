//! The audit journal's own promises, beyond the sink contract: it reopens where it stopped,
//! finds and cuts a torn tail after an unclean stop and reports every chain, rolls and seals
//! segments (by size and by hour) without changing what reads see, keeps a second writer out,
//! and lets readers look without touching anything.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use strongbox_core::audit::chain::{Head, Prepared};
use strongbox_core::audit::event::Event;
use strongbox_core::audit::{AuditSink, Durability, LookupAttribute, LookupQuery};
use strongbox_core::model::{AccountId, KeyArn, KeyId, Region};
use strongbox_store::journal::{Compression, Journal, JournalOptions};
use time::{Duration, OffsetDateTime};

fn account(n: u8) -> AccountId {
    AccountId::parse(&format!("1111222233{n:02}")).unwrap()
}

fn region() -> Region {
    Region::parse("us-east-1").unwrap()
}

fn start() -> OffsetDateTime {
    time::macros::datetime!(2026-12-05 10:00 UTC)
}

/// Appends a RotateKey service event to `account`'s chain at `time`, settled as synced.
async fn append(sink: &dyn AuditSink, account: &AccountId, time: OffsetDateTime) -> u64 {
    let key = KeyArn {
        region: region(),
        account: *account,
        key_id: KeyId::generate(),
    };
    let event = Event::service(
        "RotateKey",
        &key,
        time,
        serde_json::json!({"pad": "x".repeat(600)}),
    );
    let ticket = sink
        .append(Prepared::new(account, &region(), time, event).unwrap())
        .unwrap();
    sink.settle(ticket, Durability::Synced).await.unwrap();
    sink.queued_head(account, &region()).unwrap().1.sequence
}

fn files(dir: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .collect();
    found.sort();
    found
}

fn all(limit: u32) -> LookupQuery {
    LookupQuery {
        start: None,
        end: None,
        attribute: None,
        limit,
        after: None,
    }
}

#[tokio::test]
async fn a_clean_reopen_continues_the_chains_and_reports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit");
    let journal = Journal::open(&path, JournalOptions::default()).unwrap();
    for _ in 0..3 {
        append(&journal, &account(1), start()).await;
    }
    let head = journal.queued_head(&account(1), &region()).unwrap().1;
    journal.close().await;
    assert!(!path.join("OPEN").exists());

    let journal = Journal::open(&path, JournalOptions::default()).unwrap();
    assert_eq!(journal.take_recovery(), None);
    assert_eq!(journal.queued_head(&account(1), &region()).unwrap().1, head);
    assert_eq!(append(&journal, &account(1), start()).await, 4);
    let records = journal
        .records(&account(1), &region(), 0, 10)
        .await
        .unwrap();
    assert_eq!(
        records.iter().map(|r| r.sequence).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    journal.close().await;
}

#[tokio::test]
async fn an_unclean_stop_cuts_the_torn_tail_and_reports_every_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit");
    let journal = Journal::open(&path, JournalOptions::default()).unwrap();
    for n in 0..3 {
        append(&journal, &account(1), start()).await;
        if n < 2 {
            append(&journal, &account(2), start()).await;
        }
    }
    let intact = journal.queued_head(&account(1), &region()).unwrap().1;
    let second = journal.queued_head(&account(2), &region()).unwrap().1;
    append(&journal, &account(1), start()).await;
    // The process dies (no close) and a power loss takes the end of record 4 of account 1.
    journal.abandon().await;
    let log = files(&path, "log").pop().unwrap();
    let length = std::fs::metadata(&log).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&log).unwrap();
    file.set_len(length - 300).unwrap();
    drop(file);

    // A reader sees the intact records and changes nothing.
    let reader = Journal::open_reader(&path).unwrap();
    assert_eq!(
        reader.queued_head(&account(1), &region()).unwrap().1,
        intact
    );
    assert_eq!(std::fs::metadata(&log).unwrap().len(), length - 300);

    let journal = Journal::open(&path, JournalOptions::default()).unwrap();
    let recovery = journal.take_recovery().unwrap();
    let torn = length - 300 - std::fs::metadata(&log).unwrap().len();
    assert!(torn > 0);
    assert_eq!(recovery.torn_bytes, torn);
    assert_eq!(
        recovery.chains,
        vec![
            ((account(1), region()), intact),
            ((account(2), region()), second)
        ]
    );
    assert_eq!(journal.take_recovery(), None);
    assert_eq!(
        append(&journal, &account(1), start()).await,
        intact.sequence + 1
    );
    let records = journal
        .records(&account(1), &region(), 0, 10)
        .await
        .unwrap();
    assert_eq!(
        records.iter().map(|r| r.sequence).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let link = strongbox_core::audit::chain::link_of(&records[3].record).unwrap();
    assert_eq!(link.previous_hash, hex::encode(intact.hash));
    journal.close().await;
}

#[tokio::test]
async fn a_second_writer_is_refused_while_the_first_holds_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit");
    let journal = Journal::open(&path, JournalOptions::default()).unwrap();
    let error = Journal::open(&path, JournalOptions::default())
        .err()
        .unwrap();
    assert!(
        error.to_string().contains("another process writes"),
        "{error}"
    );
    journal.close().await;
    Journal::open(&path, JournalOptions::default())
        .unwrap()
        .close()
        .await;
}

/// Sealing streams a segment: each chain's frames go into blocks of their own as they come,
/// so blocks of interleaved chains interleave in the file. Three chains of 700 records each in
/// one segment (several blocks each) read back the same, in order, after sealing.
#[tokio::test]
async fn interleaved_chains_seal_into_blocks_of_their_own_and_read_back_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit");
    let options = JournalOptions {
        segment_bytes: 64 << 20,
        compression: Compression::Gzip,
        ..JournalOptions::default()
    };
    let journal = Journal::open(&path, options).unwrap();
    for n in 0..2100_u32 {
        append(&journal, &account((n % 3) as u8), start()).await;
    }
    let mut before = Vec::new();
    for chain in 0..3 {
        let records = journal
            .records(&account(chain), &region(), 0, 1000)
            .await
            .unwrap();
        assert_eq!(records.len(), 700);
        let found = journal
            .lookup(&account(chain), &region(), &all(1000))
            .await
            .unwrap();
        before.push((records, found));
    }
    journal.seal_now().await.unwrap();
    assert_eq!(files(&path, "sealed").len(), 1);
    let (_, _, _, records, _) = journal.footprint();
    assert_eq!(records, 2100, "sealed");
    for (chain, (records, found)) in before.iter().enumerate() {
        let chain = account(chain as u8);
        assert_eq!(
            &journal.records(&chain, &region(), 0, 1000).await.unwrap(),
            records
        );
        assert_eq!(
            &journal.lookup(&chain, &region(), &all(1000)).await.unwrap(),
            found
        );
        // One record in the middle of a later block, by its event id.
        let wanted = &records[600];
        let query = LookupQuery {
            attribute: Some(LookupAttribute::EventId(wanted.event_id.clone())),
            ..all(50)
        };
        assert_eq!(
            journal.lookup(&chain, &region(), &query).await.unwrap(),
            vec![wanted.clone()]
        );
    }
    journal.close().await;
}

#[tokio::test]
async fn segments_roll_by_size_and_hour_and_seal_without_changing_what_is_read() {
    for compression in [Compression::None, Compression::Gzip] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit");
        let options = JournalOptions {
            segment_bytes: 64 << 10,
            compression,
            ..JournalOptions::default()
        };
        let journal = Journal::open(&path, options.clone()).unwrap();
        // About 1 KiB a record: 300 records over two accounts fill several 64 KiB segments;
        // the last 20 are an hour later.
        for n in 0..300_u32 {
            let time = if n < 280 {
                start()
            } else {
                start() + Duration::hours(1)
            };
            append(&journal, &account((n % 2) as u8), time).await;
        }
        let before = journal
            .lookup(&account(0), &region(), &all(50))
            .await
            .unwrap();
        let ordered = journal
            .records(&account(0), &region(), 0, 1000)
            .await
            .unwrap();
        journal.seal_now().await.unwrap();
        let sealed = files(&path, "sealed");
        assert!(sealed.len() >= 4, "{sealed:?}");
        assert_eq!(
            journal
                .lookup(&account(0), &region(), &all(50))
                .await
                .unwrap(),
            before
        );
        assert_eq!(
            journal
                .records(&account(0), &region(), 0, 1000)
                .await
                .unwrap(),
            ordered
        );
        assert_eq!(ordered.len(), 150);
        // The hour changed at record 281: no segment holds both hours.
        let (segments, _, _, records, raw) = journal.footprint();
        assert_eq!(records, 300, "sealed");
        assert!(segments >= 4);
        if compression == Compression::Gzip {
            let (_, _, bytes, _, _) = journal.footprint();
            assert!(bytes < raw, "{bytes} compressed vs {raw}");
        }
        // A lookup by event id finds its one record among the sealed blocks.
        let wanted = &ordered[77];
        let query = LookupQuery {
            attribute: Some(LookupAttribute::EventId(wanted.event_id.clone())),
            ..all(50)
        };
        let found = journal
            .lookup(&account(0), &region(), &query)
            .await
            .unwrap();
        assert_eq!(found, vec![wanted.clone()]);
        // Time ranges pick the later hour.
        let query = LookupQuery {
            start: Some(start() + Duration::minutes(30)),
            ..all(50)
        };
        assert_eq!(
            journal
                .lookup(&account(0), &region(), &query)
                .await
                .unwrap()
                .len(),
            10
        );
        journal.close().await;

        // Reopened (and read-only), the sealed journal reads the same.
        let reader = Journal::open_reader(&path).unwrap();
        assert_eq!(
            reader
                .records(&account(0), &region(), 0, 1000)
                .await
                .unwrap(),
            ordered
        );
        let journal = Journal::open(&path, options).unwrap();
        assert_eq!(journal.take_recovery(), None);
        assert_eq!(
            journal
                .lookup(&account(0), &region(), &all(50))
                .await
                .unwrap(),
            before
        );
        journal.close().await;
    }
}

#[tokio::test]
async fn a_pruned_prefix_releases_whole_sealed_segments() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit");
    let options = JournalOptions {
        segment_bytes: 32 << 10,
        ..JournalOptions::default()
    };
    let journal = Journal::open(&path, options).unwrap();
    for _ in 0..200 {
        append(&journal, &account(1), start()).await;
    }
    journal.seal_now().await.unwrap();
    let before = files(&path, "sealed").len();
    let records = journal
        .records(&account(1), &region(), 99, 1)
        .await
        .unwrap();
    let through = Head {
        sequence: 100,
        hash: records[0].hash,
    };
    journal
        .forget(&account(1), &region(), through)
        .await
        .unwrap();
    let after = files(&path, "sealed").len();
    assert!(after < before && after > 0, "{before} -> {after}");
    let left = journal
        .records(&account(1), &region(), 0, 1000)
        .await
        .unwrap();
    assert_eq!(left.first().map(|r| r.sequence), Some(101));
    assert_eq!(left.len(), 100);
    journal.close().await;
}

#[tokio::test]
async fn concurrent_appends_keep_every_chain_gapless() {
    let dir = tempfile::tempdir().unwrap();
    let journal =
        Arc::new(Journal::open(&dir.path().join("audit"), JournalOptions::default()).unwrap());
    let mut tasks = Vec::new();
    for task in 0..16_u8 {
        let journal = Arc::clone(&journal);
        tasks.push(tokio::spawn(async move {
            for _ in 0..50 {
                let key = KeyArn {
                    region: region(),
                    account: account(task % 4),
                    key_id: KeyId::generate(),
                };
                let event = Event::service("RotateKey", &key, start(), serde_json::Value::Null);
                let mut event = event;
                event.read_only = true;
                let ticket = journal
                    .append(Prepared::new(&account(task % 4), &region(), start(), event).unwrap())
                    .unwrap();
                journal.settle(ticket, Durability::Written).await.unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    for n in 0..4 {
        let records = journal
            .records(&account(n), &region(), 0, 1000)
            .await
            .unwrap();
        assert_eq!(records.len(), 200);
        let mut previous = [0; 32];
        for (index, record) in records.iter().enumerate() {
            let link = strongbox_core::audit::chain::link_of(&record.record).unwrap();
            assert_eq!(link.sequence, index as u64 + 1);
            assert_eq!(link.previous_hash, hex::encode(previous));
            previous = record.hash;
        }
    }
    journal.close().await;
}
