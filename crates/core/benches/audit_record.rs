//! What every audited request pays before its record reaches the store: building the
//! CloudTrail-format event of an Encrypt call, serialising it and hashing it into the chain.

#![allow(clippy::unwrap_used, missing_docs, reason = "benchmark code")]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use strongbox_core::audit::{ApiCall, Event, Head, chain};
use strongbox_core::model::{AccessKeyId, AccountId, KeyArn, KeyId, Principal, Region};
use strongbox_core::policy::{Caller, Identity};
use time::macros::datetime;

fn audit_record(c: &mut Criterion) {
    let account = AccountId::parse("111122223333").unwrap();
    let region = Region::parse("us-east-1").unwrap();
    let call = ApiCall {
        event_source: strongbox_core::audit::EVENT_SOURCE,
        caller: Principal::new(
            AccessKeyId::parse("AKIAIOSFODNN7EXAMPLE").unwrap(),
            region,
            std::sync::Arc::new(Identity {
                caller: Caller::user(account, "/", "admin", "AIDAEXAMPLEEXAMPLE123"),
                policies: Default::default(),
            }),
        ),
        time: datetime!(2026-11-29 12:00:00 UTC),
        operation: "Encrypt".to_owned(),
        read_only: true,
        source_ip: "127.0.0.1".to_owned(),
        user_agent: "aws-cli/1.45.0 Python/3.11.7 Linux/6.18 botocore/1.40.0".to_owned(),
        request_id: "dbbf5a76-000a-43d7-9094-17350fcd5dd4".to_owned(),
        request_parameters: json!({
            "keyId": "alias/app",
            "encryptionContext": {"tenant": "strongbox-bench", "purpose": "load-test"},
        }),
        response_elements: serde_json::Value::Null,
        error: None,
        resources: vec![KeyArn {
            region,
            account,
            key_id: KeyId::parse("ad49e274-6427-4696-b163-81fdb6ddd6fd").unwrap(),
        }],
        grants: Vec::new(),
    };
    let mut head = Head::GENESIS;
    c.bench_function("audit record of an Encrypt: build, serialise, chain", |b| {
        b.iter(|| {
            let event = Event::api_call(black_box(call.clone()));
            let prepared = chain::Prepared::new(&account, &region, call.time, event).unwrap();
            chain::link(&mut head, prepared)
        });
    });
    // What a sink does under its lock: only the link and the hash.
    c.bench_function("audit record of an Encrypt: link and hash only", |b| {
        b.iter_batched(
            || {
                let event = Event::api_call(call.clone());
                chain::Prepared::new(&account, &region, call.time, event).unwrap()
            },
            |prepared| chain::link(&mut head, prepared),
            criterion::BatchSize::SmallInput,
        );
    });
}

criterion_group!(benches, audit_record);
criterion_main!(benches);
