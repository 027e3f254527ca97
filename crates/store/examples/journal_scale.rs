//! The audit journal at scale: writes RECORDS Encrypt-like records (spread over ACCOUNTS
//! accounts, a CreateKey every 1,000) straight into a journal, seals it, and times what reads
//! it: LookupEvents by the filters CloudTrail allows, a chain read in order (what digests,
//! export and verify do), and its size per record.
//!
//!   cargo run --release -p strongbox-store --example journal_scale -- RECORDS ACCOUNTS DIR [gzip]
//!
//! The numbers in docs/performance.md ("The audit journal at scale") come from this program.

use std::sync::Arc;
use std::time::Instant;

use strongbox_core::audit::chain::Prepared;
use strongbox_core::audit::event::{ApiCall, Event};
use strongbox_core::audit::{AuditSink, Durability, LookupAttribute, LookupQuery};
use strongbox_core::model::{AccessKeyId, AccountId, KeyArn, KeyId, Principal, Region};
use strongbox_core::policy::{Caller, Identity};
use strongbox_store::journal::{Compression, Journal, JournalOptions};

fn call(
    account: AccountId,
    region: Region,
    key: &KeyArn,
    n: u64,
    accounts: u64,
) -> (time::OffsetDateTime, Event) {
    let time =
        time::macros::datetime!(2026-12-05 00:00 UTC) + time::Duration::milliseconds(n as i64);
    // The chain's own count: a CreateKey every 1,000 records of each chain.
    let create = (n / accounts) % 1000 == 999;
    let call = ApiCall {
        event_source: strongbox_core::audit::EVENT_SOURCE,
        caller: Principal::new(
            AccessKeyId::parse("AKIASCALESCALESCALE1").unwrap_or_else(|_| unreachable!()),
            region,
            Arc::new(Identity {
                caller: Caller::user(account, "/", "app", "AIDASCALESCALESCALE1"),
                policies: Default::default(),
            }),
        ),
        time,
        operation: if create { "CreateKey" } else { "Encrypt" }.to_owned(),
        read_only: !create,
        source_ip: "10.1.2.3".to_owned(),
        user_agent: "aws-sdk-rust/1.0 os/linux lang/rust".to_owned(),
        request_id: format!("{:08x}-0000-4000-8000-{n:012x}", n % 97),
        request_parameters: serde_json::json!({
            "keyId": key.to_string(),
            "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
            "encryptionContext": {"tenant": "scale", "purpose": "measure"},
        }),
        response_elements: serde_json::Value::Null,
        error: None,
        resources: vec![key.clone()],
        grants: Vec::new(),
    };
    (time, Event::api_call(call))
}

fn query(attribute: Option<LookupAttribute>) -> LookupQuery {
    LookupQuery {
        start: None,
        end: None,
        attribute,
        limit: 50,
        after: None,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let records: u64 = args.get(1).map_or(Ok(1_000_000), |a| a.parse())?;
    let accounts: u64 = args.get(2).map_or(Ok(10), |a| a.parse())?;
    let dir = std::path::PathBuf::from(
        args.get(3)
            .cloned()
            .unwrap_or_else(|| "journal-scale".to_owned()),
    );
    let compression = match args.get(4).map(String::as_str) {
        Some("gzip") => Compression::Gzip,
        _ => Compression::None,
    };
    let region = Region::parse("us-east-1")?;
    let chains: Vec<(AccountId, KeyArn)> = (0..accounts)
        .map(|n| {
            let account = AccountId::parse(&format!("{:012}", 100_000_000_000 + n))
                .unwrap_or_else(|_| unreachable!());
            let key = KeyArn {
                region,
                account,
                key_id: KeyId::generate(),
            };
            (account, key)
        })
        .collect();
    let options = JournalOptions {
        compression,
        ..JournalOptions::default()
    };
    let journal = Journal::open(&dir, options)?;
    let started = Instant::now();
    let mut last = None;
    for n in 0..records {
        let (account, key) = &chains[(n % accounts) as usize];
        let (time, event) = call(*account, region, key, n, accounts);
        let ticket = journal.append(Prepared::new(account, &region, time, event)?)?;
        if n % 256 == 255 {
            journal.settle(ticket, Durability::Written).await?;
        }
        last = Some(ticket);
    }
    if let Some(ticket) = last {
        journal.settle(ticket, Durability::Synced).await?;
    }
    let written = started.elapsed();
    let started = Instant::now();
    journal.seal_now().await?;
    let sealed = started.elapsed();
    let (segments, unsealed, bytes, in_sealed, raw) = journal.footprint();
    println!(
        "{records} records, {accounts} chains: written in {:.1} s ({:.0} records/s), sealed in {:.1} s; {segments} sealed + {unsealed} open segments, {:.0} MiB, {:.0} bytes/record on disk ({:.0} before compression)",
        written.as_secs_f64(),
        records as f64 / written.as_secs_f64(),
        sealed.as_secs_f64(),
        bytes as f64 / 1048576.0,
        bytes as f64 / records as f64,
        raw as f64 / in_sealed.max(1) as f64,
    );
    let (account, key) = &chains[0];
    let newest = journal.lookup(account, &region, &query(None)).await?;
    let oldest_event = journal.records(account, &region, 10, 1).await?;
    let cases: Vec<(&str, Option<LookupAttribute>)> = vec![
        ("no filter (newest 50)", None),
        (
            "EventName=Encrypt (common)",
            Some(LookupAttribute::EventName("Encrypt".to_owned())),
        ),
        (
            "EventName=CreateKey (1 in 1,000)",
            Some(LookupAttribute::EventName("CreateKey".to_owned())),
        ),
        (
            "EventName=DeleteAlias (none)",
            Some(LookupAttribute::EventName("DeleteAlias".to_owned())),
        ),
        (
            "ReadOnly=false (1 in 1,000)",
            Some(LookupAttribute::ReadOnly(false)),
        ),
        (
            "ResourceName=key id",
            Some(LookupAttribute::ResourceName(key.key_id.to_string())),
        ),
        (
            "EventId of the chain's 11th record",
            Some(LookupAttribute::EventId(
                oldest_event
                    .first()
                    .map(|r| r.event_id.clone())
                    .unwrap_or_default(),
            )),
        ),
        (
            "EventId unknown",
            Some(LookupAttribute::EventId(
                "00000000-0000-4000-8000-000000000000".to_owned(),
            )),
        ),
    ];
    for (name, attribute) in cases {
        let started = Instant::now();
        let found = journal.lookup(account, &region, &query(attribute)).await?;
        println!(
            "lookup {name}: {} found in {:.1} ms",
            found.len(),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    let started = Instant::now();
    let mut after = 0;
    let mut read = 0;
    loop {
        let page = journal.records(account, &region, after, 4096).await?;
        let Some(last) = page.last() else { break };
        after = last.sequence;
        read += page.len();
    }
    println!(
        "read one chain in order ({read} records): {:.1} s ({:.0} records/s)",
        started.elapsed().as_secs_f64(),
        read as f64 / started.elapsed().as_secs_f64()
    );
    assert_eq!(newest.len(), 50);
    journal.close().await;

    // Opened again, nothing of the sealed segments but their spans is in memory: the first
    // lookup that needs every segment reads each one's blocks and filters from disk.
    println!("after writing and reading: {}", memory());
    let journal = Journal::open(&dir, JournalOptions::default())?;
    println!("reopened: {}", memory());
    for round in ["cold", "warm"] {
        let started = Instant::now();
        let unknown = LookupAttribute::EventId("00000000-0000-4000-8000-000000000000".to_owned());
        let found = journal
            .lookup(account, &region, &query(Some(unknown)))
            .await?;
        println!(
            "lookup EventId unknown, {round}: {} found in {:.1} ms; {}",
            found.len(),
            started.elapsed().as_secs_f64() * 1000.0,
            memory()
        );
    }
    journal.close().await;
    Ok(())
}

/// This process's resident memory now and at its peak.
fn memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .filter(|line| line.starts_with("VmRSS") || line.starts_with("VmHWM"))
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join(", ")
}
