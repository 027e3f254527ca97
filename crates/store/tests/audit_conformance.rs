//! The audit half of the store contract: appends are atomic and refuse a taken sequence, the
//! head follows the chain (and its checkpoint once pruned), LookupEvents filters and pages
//! newest first, digests and pruning keep their order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::sqlite;

use serde_json::Value;
use strongbox_core::StoreErrorKind;
use strongbox_core::audit::chain::{self, Head};
use strongbox_core::audit::event::{ApiCall, Event};
use strongbox_core::audit::{AuditRecord, Checkpoint, LookupAttribute, LookupQuery, StoredDigest};
use strongbox_core::model::{AccessKeyId, AccountId, KeyArn, KeyId, Principal, Region};
use strongbox_core::policy::{Caller, Identity};
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

/// `count` chained records, one second apart, alternating Encrypt (read-only, on `key`) and
/// CreateKey (by user bob).
fn records(head: &mut Head, count: usize, key: &KeyArn) -> Vec<AuditRecord> {
    (0..count)
        .map(|index| {
            let encrypt = index % 2 == 0;
            let time = base_time() + Duration::seconds(head.sequence as i64 + 1);
            let call = ApiCall {
                event_source: strongbox_core::audit::EVENT_SOURCE,
                caller: Principal::new(
                    AccessKeyId::parse("AKIATESTTESTTEST0001").unwrap(),
                    region(),
                    std::sync::Arc::new(Identity {
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
            chain::append(head, &account(), &region(), time, Event::api_call(call)).unwrap()
        })
        .collect()
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

#[tokio::test]
async fn appends_are_atomic_and_sequences_unique() {
    let (_dir, store) = sqlite().await;
    assert_eq!(
        store.audit_head(&account(), &region()).await.unwrap(),
        Head::GENESIS
    );
    let key = key_arn();
    let mut head = Head::GENESIS;
    let batch = records(&mut head, 5, &key);
    store.append_audit(&batch).await.unwrap();
    assert_eq!(store.audit_head(&account(), &region()).await.unwrap(), head);
    let read = store
        .audit_records(&account(), &region(), 0, 100)
        .await
        .unwrap();
    assert_eq!(read, batch);
    let tail = store
        .audit_records(&account(), &region(), 3, 100)
        .await
        .unwrap();
    assert_eq!(tail.iter().map(|r| r.sequence).collect::<Vec<_>>(), [4, 5]);

    // A batch with one taken sequence stores nothing.
    let mut stale = Head::GENESIS;
    let mut fresh = head;
    let mut mixed = records(&mut fresh, 2, &key);
    mixed.extend(records(&mut stale, 1, &key));
    let error = store.append_audit(&mixed).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Conflict);
    assert_eq!(store.audit_head(&account(), &region()).await.unwrap(), head);
    assert_eq!(store.audit_chains().await.unwrap(), [(account(), region())]);
}

#[tokio::test]
async fn lookups_filter_and_page_newest_first() {
    let (_dir, store) = sqlite().await;
    let key = key_arn();
    let mut head = Head::GENESIS;
    store
        .append_audit(&records(&mut head, 7, &key))
        .await
        .unwrap();
    let sequences = |found: &[AuditRecord]| found.iter().map(|r| r.sequence).collect::<Vec<_>>();

    let all = store
        .lookup_audit(&account(), &region(), &query(None, 50))
        .await
        .unwrap();
    assert_eq!(sequences(&all), [7, 6, 5, 4, 3, 2, 1]);
    assert_eq!(all[0].resources, vec![key.to_string()]);
    let by_name = LookupAttribute::EventName("CreateKey".to_owned());
    let found = store
        .lookup_audit(&account(), &region(), &query(Some(by_name), 50))
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
        let found = store
            .lookup_audit(&account(), &region(), &query(Some(attribute.clone()), 50))
            .await
            .unwrap();
        assert_eq!(sequences(&found), [7, 5, 3, 1], "{attribute:?}");
    }
    let event_id = all[3].event_id.clone();
    let found = store
        .lookup_audit(
            &account(),
            &region(),
            &query(Some(LookupAttribute::EventId(event_id)), 50),
        )
        .await
        .unwrap();
    assert_eq!(sequences(&found), [4]);
    let none = LookupAttribute::AccessKeyId("AKIAOTHEROTHEROTHER0".to_owned());
    assert!(
        store
            .lookup_audit(&account(), &region(), &query(Some(none), 50))
            .await
            .unwrap()
            .is_empty()
    );

    // Pages continue after the last item; time ranges are inclusive.
    let mut page = query(None, 3);
    page.after = Some((all[2].event_time, all[2].sequence));
    assert_eq!(
        sequences(
            &store
                .lookup_audit(&account(), &region(), &page)
                .await
                .unwrap()
        ),
        [4, 3, 2]
    );
    let mut range = query(None, 50);
    range.start = Some(all[5].event_time);
    range.end = Some(all[3].event_time);
    assert_eq!(
        sequences(
            &store
                .lookup_audit(&account(), &region(), &range)
                .await
                .unwrap()
        ),
        [4, 3, 2]
    );
    let other = Region::parse("eu-west-1").unwrap();
    assert!(
        store
            .lookup_audit(&account(), &other, &query(None, 50))
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn digests_and_pruning() {
    let (_dir, store) = sqlite().await;
    let key = key_arn();
    let mut head = Head::GENESIS;
    store
        .append_audit(&records(&mut head, 6, &key))
        .await
        .unwrap();
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

    let third = store
        .audit_records(&account(), &region(), 2, 1)
        .await
        .unwrap();
    let checkpoint = Checkpoint {
        account: account(),
        region: region(),
        digest_sequence: 2,
        head: Head {
            sequence: 3,
            hash: third[0].hash,
        },
        file: b"checkpoint".to_vec(),
    };
    store.prune_audit(&checkpoint).await.unwrap();
    assert_eq!(
        store.audit_checkpoint(&account(), &region()).await.unwrap(),
        Some(checkpoint.clone())
    );
    let left = store
        .audit_records(&account(), &region(), 0, 100)
        .await
        .unwrap();
    assert_eq!(
        left.iter().map(|r| r.sequence).collect::<Vec<_>>(),
        [4, 5, 6]
    );
    assert_eq!(
        store
            .audit_digests(&account(), &region(), 0, 10)
            .await
            .unwrap(),
        vec![digest(3, 6)]
    );
    let resource = LookupAttribute::ResourceName(key.to_string());
    let found = store
        .lookup_audit(&account(), &region(), &query(Some(resource), 50))
        .await
        .unwrap();
    assert_eq!(found.iter().map(|r| r.sequence).collect::<Vec<_>>(), [5]);

    // Everything pruned: the head comes from the checkpoint, so the chain continues from it.
    let all = Checkpoint {
        digest_sequence: 3,
        head,
        file: b"checkpoint 2".to_vec(),
        ..checkpoint
    };
    store.prune_audit(&all).await.unwrap();
    assert!(
        store
            .audit_records(&account(), &region(), 0, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.audit_head(&account(), &region()).await.unwrap(), head);
    assert_eq!(
        store.audit_checkpoint(&account(), &region()).await.unwrap(),
        Some(all)
    );
    assert_eq!(store.audit_chains().await.unwrap(), [(account(), region())]);
}
