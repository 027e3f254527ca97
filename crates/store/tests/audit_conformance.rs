//! The audit half of the store contract (digests and checkpoints keep their order; records of
//! the older layout are read for their move into the sink) and the audit sink contract, as
//! suites over a sink factory: records link in order and read back, lookups filter and page
//! newest first, a pruned prefix is never read again, imports skip what is held and refuse
//! gaps. The journal runs every suite with its records unsealed and sealed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::sqlite;

use serde_json::Value;
use strongbox_core::StoreErrorKind;
use strongbox_core::audit::chain::{self, Head, Prepared};
use strongbox_core::audit::event::{ApiCall, Event};
use strongbox_core::audit::{
    AuditRecord, AuditSink, Checkpoint, Durability, LookupAttribute, LookupQuery, StoredDigest,
};
use strongbox_core::model::{AccessKeyId, AccountId, KeyArn, KeyId, Principal, Region};
use strongbox_core::policy::{Caller, Identity};
use strongbox_store::journal::{Compression, Journal, JournalOptions};
use time::{Duration, OffsetDateTime};

fn account() -> AccountId {
    AccountId::parse("111122223333").unwrap()
}

fn region() -> Region {
    Region::parse("us-east-1").unwrap()
}

fn base_time() -> OffsetDateTime {
    time::macros::datetime!(2026-11-29 00:00 UTC)
}

/// The `index`-th call of a test chain, at `base_time() + index + 1` seconds: Encrypt
/// (read-only, on `key`, by alice) for even indexes, CreateKey (by bob) for odd ones.
fn call(index: u64, key: &KeyArn) -> (OffsetDateTime, Event) {
    let encrypt = index.is_multiple_of(2);
    let time = base_time() + Duration::seconds(index as i64 + 1);
    let call = ApiCall {
        event_source: strongbox_core::audit::EVENT_SOURCE,
        caller: Principal::new(
            AccessKeyId::parse("AKIATESTTESTTEST0001").unwrap(),
            region(),
            Arc::new(Identity {
                caller: Caller::user(
                    account(),
                    "/",
                    if encrypt { "alice" } else { "bob" },
                    "AIDATESTTESTTESTTEST1",
                ),
                policies: Default::default(),
            }),
        ),
        time,
        operation: if encrypt { "Encrypt" } else { "CreateKey" }.to_owned(),
        read_only: encrypt,
        source_ip: "127.0.0.1".to_owned(),
        user_agent: "test".to_owned(),
        request_id: format!("request-{index}"),
        request_parameters: Value::Null,
        response_elements: Value::Null,
        error: None,
        resources: if encrypt {
            vec![key.clone()]
        } else {
            Vec::new()
        },
        grants: Vec::new(),
    };
    (time, Event::api_call(call))
}

/// `count` records linked after `head` without a sink (what an older layout stored).
fn linked(head: &mut Head, count: u64, key: &KeyArn) -> Vec<AuditRecord> {
    (0..count)
        .map(|_| {
            let (time, event) = call(head.sequence, key);
            let linked = chain::link(
                head,
                Prepared::new(&account(), &region(), time, event).unwrap(),
            );
            chain::parse_record(&account(), &region(), linked.sequence, time, linked.record)
                .unwrap()
        })
        .collect()
}

/// Appends `count` calls to the test chain through `sink`, each settled as its call would be.
async fn append(sink: &dyn AuditSink, count: u64, key: &KeyArn) {
    for _ in 0..count {
        let next = sink
            .queued_head(&account(), &region())
            .map_or(0, |(_, head)| head.sequence);
        let (time, event) = call(next, key);
        let durability = if event.read_only {
            Durability::Written
        } else {
            Durability::Synced
        };
        let ticket = sink
            .append(Prepared::new(&account(), &region(), time, event).unwrap())
            .unwrap();
        sink.settle(ticket, durability).await.unwrap();
    }
}

fn key_arn() -> KeyArn {
    KeyArn {
        region: region(),
        account: account(),
        key_id: KeyId::generate(),
    }
}

fn query(attribute: Option<LookupAttribute>, limit: u32) -> LookupQuery {
    LookupQuery {
        start: None,
        end: None,
        attribute,
        limit,
        after: None,
    }
}

fn sequences(found: &[AuditRecord]) -> Vec<u64> {
    found.iter().map(|r| r.sequence).collect()
}

/// A sink under test, with what keeps it alive and a way to make it seal what it holds.
struct Subject {
    _dir: tempfile::TempDir,
    journal: Journal,
    seal: bool,
}

impl Subject {
    fn sink(&self) -> &dyn AuditSink {
        &self.journal
    }

    /// Seals what was written, when this subject is the sealed variant.
    async fn settle_layout(&self) {
        if self.seal {
            self.journal.seal_now().await.unwrap();
        }
    }
}

/// The journal, sealing (gzip) or not.
fn journals() -> Vec<Subject> {
    [
        (false, Compression::None),
        (true, Compression::None),
        (true, Compression::Gzip),
    ]
    .into_iter()
    .map(|(seal, compression)| {
        let dir = tempfile::tempdir().unwrap();
        let options = JournalOptions {
            compression,
            ..JournalOptions::default()
        };
        let journal = Journal::open(&dir.path().join("audit"), options).unwrap();
        Subject {
            _dir: dir,
            journal,
            seal,
        }
    })
    .collect()
}

/// Records link in order and read back exactly, by pages.
async fn records_link_in_order_and_read_back(subject: &Subject) {
    let sink = subject.sink();
    assert_eq!(sink.queued_head(&account(), &region()), None);
    let key = key_arn();
    append(sink, 5, &key).await;
    subject.settle_layout().await;
    let mut expected_head = Head::GENESIS;
    let expected = linked(&mut expected_head, 5, &key);
    let read = sink.records(&account(), &region(), 0, 100).await.unwrap();
    assert_eq!(sequences(&read), [1, 2, 3, 4, 5]);
    let (_, head) = sink.queued_head(&account(), &region()).unwrap();
    assert_eq!(head.sequence, expected_head.sequence);
    assert_eq!(head.hash, read[4].hash);
    let mut previous = Head::GENESIS.hash;
    for (read, expected) in read.iter().zip(&expected) {
        assert_eq!(read.hash, strongbox_crypto::sha256(&read.record));
        assert_eq!(chain::column_mismatch(read), None);
        let link = chain::link_of(&read.record).unwrap();
        assert_eq!(link.sequence, read.sequence);
        assert_eq!(link.previous_hash, hex::encode(previous));
        previous = read.hash;
        assert_eq!(read.event_name, expected.event_name);
        assert_eq!(read.resources, expected.resources);
    }
    let page = sink.records(&account(), &region(), 3, 100).await.unwrap();
    assert_eq!(sequences(&page), [4, 5]);
    let page = sink.records(&account(), &region(), 1, 2).await.unwrap();
    assert_eq!(sequences(&page), [2, 3]);
    assert_eq!(sink.chains(), [(account(), region())]);
    let other = Region::parse("eu-west-1").unwrap();
    assert!(
        sink.records(&account(), &other, 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

/// LookupEvents: filters, pages newest first, time ranges inclusive, chains apart.
async fn lookups_filter_and_page_newest_first(subject: &Subject) {
    let sink = subject.sink();
    let key = key_arn();
    append(sink, 7, &key).await;
    subject.settle_layout().await;

    let all = sink
        .lookup(&account(), &region(), &query(None, 50))
        .await
        .unwrap();
    assert_eq!(sequences(&all), [7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(all[0].resources, vec![key.to_string()]);
    let by_name = LookupAttribute::EventName("CreateKey".to_owned());
    let found = sink
        .lookup(&account(), &region(), &query(Some(by_name), 50))
        .await
        .unwrap();
    assert_eq!(sequences(&found), [6, 4, 2]);
    for attribute in [
        LookupAttribute::ResourceName(key.to_string()),
        LookupAttribute::ResourceName(key.key_id.to_string()),
        LookupAttribute::ResourceType("AWS::KMS::Key".to_owned()),
        LookupAttribute::ReadOnly(true),
        LookupAttribute::Username("alice".to_owned()),
    ] {
        let found = sink
            .lookup(&account(), &region(), &query(Some(attribute.clone()), 50))
            .await
            .unwrap();
        assert_eq!(sequences(&found), [7, 5, 3, 1], "{attribute:?}");
    }
    let found = sink
        .lookup(
            &account(),
            &region(),
            &query(Some(LookupAttribute::ReadOnly(false)), 50),
        )
        .await
        .unwrap();
    assert_eq!(sequences(&found), [6, 4, 2]);
    let event_id = all[3].event_id.clone();
    let found = sink
        .lookup(
            &account(),
            &region(),
            &query(Some(LookupAttribute::EventId(event_id)), 50),
        )
        .await
        .unwrap();
    assert_eq!(sequences(&found), [4]);
    for none in [
        LookupAttribute::AccessKeyId("AKIAOTHEROTHEROTHER0".to_owned()),
        LookupAttribute::ResourceType("AWS::S3::Bucket".to_owned()),
        LookupAttribute::ResourceName(format!(
            "arn:aws:kms:us-east-1:999988887777:key/{}",
            key.key_id
        )),
        LookupAttribute::Username("a\"quote".to_owned()),
    ] {
        let found = sink
            .lookup(&account(), &region(), &query(Some(none.clone()), 50))
            .await
            .unwrap();
        assert!(found.is_empty(), "{none:?}");
    }

    // Pages continue below the last item's sequence; time ranges are inclusive.
    let mut page = query(None, 3);
    page.after = Some((all[2].event_time, all[2].sequence));
    assert_eq!(
        sequences(&sink.lookup(&account(), &region(), &page).await.unwrap()),
        [4, 3, 2]
    );
    let mut range = query(None, 50);
    range.start = Some(all[5].event_time);
    range.end = Some(all[3].event_time);
    assert_eq!(
        sequences(&sink.lookup(&account(), &region(), &range).await.unwrap()),
        [4, 3, 2]
    );
    let limited = sink
        .lookup(&account(), &region(), &query(None, 2))
        .await
        .unwrap();
    assert_eq!(sequences(&limited), [7, 6]);
    let other = Region::parse("eu-west-1").unwrap();
    assert!(
        sink.lookup(&account(), &other, &query(None, 50))
            .await
            .unwrap()
            .is_empty()
    );
}

/// Retention: a forgotten prefix is never read or found again, and a chain forgotten whole
/// continues from the checkpoint's head.
async fn a_forgotten_prefix_is_never_read_again(subject: &Subject) {
    let sink = subject.sink();
    let key = key_arn();
    append(sink, 6, &key).await;
    subject.settle_layout().await;
    let third = sink.records(&account(), &region(), 2, 1).await.unwrap();
    let through_third = Head {
        sequence: 3,
        hash: third[0].hash,
    };
    sink.forget(&account(), &region(), through_third)
        .await
        .unwrap();
    let left = sink.records(&account(), &region(), 0, 100).await.unwrap();
    assert_eq!(sequences(&left), [4, 5, 6]);
    let resource = LookupAttribute::ResourceName(key.to_string());
    let found = sink
        .lookup(&account(), &region(), &query(Some(resource), 50))
        .await
        .unwrap();
    assert_eq!(sequences(&found), [5]);

    let (_, head) = sink.queued_head(&account(), &region()).unwrap();
    sink.forget(&account(), &region(), head).await.unwrap();
    assert!(
        sink.records(&account(), &region(), 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(sink.queued_head(&account(), &region()).unwrap().1, head);
    // A chain the sink never held, pruned elsewhere: it continues from the checkpoint.
    let other = Region::parse("eu-west-1").unwrap();
    let checkpoint = Head {
        sequence: 40,
        hash: [9; 32],
    };
    sink.forget(&account(), &other, checkpoint).await.unwrap();
    assert_eq!(sink.queued_head(&account(), &other).unwrap().1, checkpoint);
    let (time, event) = call(40, &key);
    let ticket = sink
        .append(Prepared::new(&account(), &other, time, event).unwrap())
        .unwrap();
    sink.settle(ticket, Durability::Synced).await.unwrap();
    let continued = sink.records(&account(), &other, 0, 10).await.unwrap();
    assert_eq!(sequences(&continued), [41]);
    assert_eq!(
        chain::link_of(&continued[0].record).unwrap().previous_hash,
        hex::encode([9; 32])
    );
}

/// Imports keep records as they are, skip what the sink holds, and refuse a gap.
async fn imports_skip_what_is_held_and_refuse_gaps(subject: &Subject) {
    let sink = subject.sink();
    let key = key_arn();
    let mut head = Head::GENESIS;
    let records = linked(&mut head, 6, &key);
    sink.import(records[..4].to_vec()).await.unwrap();
    sink.import(records.clone()).await.unwrap();
    subject.settle_layout().await;
    let read = sink.records(&account(), &region(), 0, 100).await.unwrap();
    assert_eq!(
        read.iter().map(|r| r.record.clone()).collect::<Vec<_>>(),
        records.iter().map(|r| r.record.clone()).collect::<Vec<_>>()
    );
    assert_eq!(sink.queued_head(&account(), &region()).unwrap().1, head);
    let gap = linked(&mut head, 2, &key)[1..].to_vec();
    let error = sink.import(gap).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Conflict);
}

#[tokio::test]
async fn the_journal_keeps_the_sink_contract() {
    for subject in journals() {
        records_link_in_order_and_read_back(&subject).await;
    }
    for subject in journals() {
        lookups_filter_and_page_newest_first(&subject).await;
    }
    for subject in journals() {
        a_forgotten_prefix_is_never_read_again(&subject).await;
    }
    for subject in journals() {
        imports_skip_what_is_held_and_refuse_gaps(&subject).await;
    }
}

#[tokio::test]
async fn digests_and_checkpoints_keep_their_order() {
    let (_dir, store) = sqlite().await;
    let digest = |sequence: u64, last_record: u64| StoredDigest {
        account: account(),
        region: region(),
        sequence,
        end_time: base_time() + Duration::hours(sequence as i64),
        last_record,
        object: format!("digest-{sequence}"),
        file: format!("file-{sequence}").into_bytes(),
    };
    for (sequence, last) in [(1, 0), (2, 3), (3, 6)] {
        store
            .insert_audit_digest(&digest(sequence, last))
            .await
            .unwrap();
    }
    let error = store.insert_audit_digest(&digest(2, 3)).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Conflict);
    assert_eq!(
        store
            .last_audit_digest(&account(), &region())
            .await
            .unwrap(),
        Some(digest(3, 6))
    );
    let listed = store
        .audit_digests(&account(), &region(), 1, 10)
        .await
        .unwrap();
    assert_eq!(listed, vec![digest(2, 3), digest(3, 6)]);
    assert_eq!(store.audit_chains().await.unwrap(), [(account(), region())]);

    let checkpoint = Checkpoint {
        account: account(),
        region: region(),
        digest_sequence: 2,
        head: Head {
            sequence: 3,
            hash: [3; 32],
        },
        file: b"checkpoint".to_vec(),
    };
    store.prune_audit(&checkpoint).await.unwrap();
    assert_eq!(
        store.audit_checkpoint(&account(), &region()).await.unwrap(),
        Some(checkpoint.clone())
    );
    assert_eq!(
        store
            .audit_digests(&account(), &region(), 0, 10)
            .await
            .unwrap(),
        vec![digest(3, 6)]
    );
    let all = Checkpoint {
        digest_sequence: 3,
        file: b"checkpoint 2".to_vec(),
        ..checkpoint
    };
    store.prune_audit(&all).await.unwrap();
    assert_eq!(
        store.audit_checkpoint(&account(), &region()).await.unwrap(),
        Some(all)
    );
    assert_eq!(store.audit_chains().await.unwrap(), [(account(), region())]);
}

#[tokio::test]
async fn records_of_the_older_layout_read_in_chain_order_and_drop() {
    let (dir, store) = sqlite().await;
    assert!(
        store
            .legacy_audit_records(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let key = key_arn();
    let mut head = Head::GENESIS;
    let records = linked(&mut head, 5, &key);
    // Rows as the older layout wrote them.
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    for record in records.iter().rev() {
        sqlx::query(
            "INSERT INTO audit_records (account, region, sequence, event_time, event_id, event_name, read_only, user_name, access_key_id, resources, record, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(record.account.as_str())
        .bind(record.region.as_str())
        .bind(record.sequence as i64)
        .bind((record.event_time.unix_timestamp_nanos() / 1_000_000) as i64)
        .bind(&record.event_id)
        .bind(&record.event_name)
        .bind(record.read_only)
        .bind(&record.user_name)
        .bind(&record.access_key_id)
        .bind(serde_json::to_string(&record.resources).unwrap())
        .bind(&record.record)
        .bind(record.hash.as_slice())
        .execute(&pool)
        .await
        .unwrap();
    }
    pool.close().await;
    let first = store.legacy_audit_records(None, 3).await.unwrap();
    assert_eq!(first, records[..3]);
    let rest = store
        .legacy_audit_records(Some(&(account(), region(), 3)), 10)
        .await
        .unwrap();
    assert_eq!(rest, records[3..]);
    store.drop_legacy_audit_records().await.unwrap();
    assert!(
        store
            .legacy_audit_records(None, 10)
            .await
            .unwrap()
            .is_empty()
    );
}
