//! Crash safety: the real binary is killed (SIGKILL) while its scheduler rotates and deletes,
//! again and again; after each restart every key is in its old state or its new one, never a
//! mix, and every ciphertext made before still decrypts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use aws_sdk_kms::Client;
use aws_sdk_kms::operation::RequestId;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{IncludeKeyMaterial, KeyMaterialState, KeyState};
use common::process::{client, free_port, start};
use common::{code, raw};

const DAY: i64 = 86_400;
const ROUNDS: u64 = 6;
/// The flags these servers run with: time travel, and a scheduler pass every second.
const DEV_CLOCK: &[&str] = &["--dev-clock", "--scheduler-interval", "1"];

/// How many rotations the server has logged so far.
fn count_rotations(log: &Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .matches(" rotated")
        .count()
}

async fn wait_for_rotation(log: &Path, before: usize) {
    for _ in 0..5000 {
        if count_rotations(log) > before {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn advance_request(seconds: i64) -> Vec<u8> {
    let host = [("host".to_owned(), "127.0.0.1".to_owned())];
    raw::post_to(
        "/_strongbox/clock",
        &host,
        format!("{{\"AdvanceSeconds\": {seconds}}}").as_bytes(),
    )
}

/// Every key is whole: one current version that DescribeKey agrees with, ciphertexts decrypt,
/// and a deleted key took its alias with it. Returns each rotating key's number of versions.
async fn check_invariants(
    client: &Client,
    rotating: &[(String, Vec<u8>)],
    deleting: &[(String, String)],
) -> Vec<usize> {
    let mut version_counts = Vec::new();
    for (key, blob) in rotating {
        let described = client.describe_key().key_id(key).send().await.unwrap();
        let current = described
            .key_metadata()
            .unwrap()
            .current_key_material_id()
            .unwrap()
            .to_owned();
        let listed = client
            .list_key_rotations()
            .key_id(key)
            .include_key_material(IncludeKeyMaterial::AllKeyMaterial)
            .limit(1000)
            .send()
            .await
            .unwrap();
        let currents: Vec<_> = listed
            .rotations()
            .iter()
            .filter(|entry| entry.key_material_state() == Some(&KeyMaterialState::Current))
            .collect();
        assert_eq!(currents.len(), 1, "{key}: exactly one current version");
        assert_eq!(
            currents[0].key_material_id(),
            Some(current.as_str()),
            "{key}"
        );
        version_counts.push(listed.rotations().len());
        let back = client
            .decrypt()
            .ciphertext_blob(Blob::new(blob.clone()))
            .send()
            .await
            .unwrap();
        assert_eq!(back.plaintext().unwrap().as_ref(), key.as_bytes());
    }
    for (key, alias) in deleting {
        match client.describe_key().key_id(key).send().await {
            Ok(described) => {
                assert_eq!(
                    described.key_metadata().unwrap().key_state(),
                    Some(&KeyState::PendingDeletion)
                );
                let via_alias = client.describe_key().key_id(alias).send().await.unwrap();
                assert_eq!(
                    via_alias.key_metadata().unwrap().key_id(),
                    key,
                    "the alias is intact"
                );
            }
            Err(error) => {
                assert_eq!(code::<_, _>(Err::<(), _>(error)), "NotFoundException");
                let alias_gone = client.describe_key().key_id(alias).send().await;
                assert_eq!(
                    code(alias_gone),
                    "NotFoundException",
                    "{alias} went with its key"
                );
            }
        }
    }
    version_counts
}

#[tokio::test]
async fn killing_the_server_mid_scheduling_never_leaves_a_half_done_key() {
    let temp = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut server = start(temp.path(), port, DEV_CLOCK).await;
    let setup = client(server.address);
    let mut rotating = Vec::new();
    for _ in 0..30 {
        let key = common::create_key(&setup).await;
        setup
            .enable_key_rotation()
            .key_id(&key)
            .rotation_period_in_days(90)
            .send()
            .await
            .unwrap();
        let blob = setup
            .encrypt()
            .key_id(&key)
            .plaintext(Blob::new(key.clone()))
            .send()
            .await
            .unwrap();
        rotating.push((key, blob.ciphertext_blob().unwrap().as_ref().to_vec()));
    }
    let mut deleting = Vec::new();
    for i in 0..10 {
        let key = common::create_key(&setup).await;
        let alias = format!("alias/doomed-{i}");
        setup
            .create_alias()
            .alias_name(&alias)
            .target_key_id(&key)
            .send()
            .await
            .unwrap();
        setup
            .schedule_key_deletion()
            .key_id(&key)
            .pending_window_in_days(7)
            .send()
            .await
            .unwrap();
        deleting.push((key, alias));
    }

    let mut versions = vec![1; rotating.len()];
    let mut interrupted_passes = 0;
    for round in 0..ROUNDS {
        // Each restart returns to real time, so each round moves further than the last: every
        // rotating key is due again.
        let advance = advance_request(91 * DAY * (round as i64 + 1));
        let address = server.address;
        let log = temp.path().join("server.log");
        let rotations_logged = count_rotations(&log);
        let request = tokio::spawn(async move { raw::send(address, &advance).await });
        // Kill as soon as the pass has committed a rotation (most rounds), or after a short
        // while whatever happened (the others), so kills land at many points of a pass.
        if round % 2 == 0 {
            wait_for_rotation(&log, rotations_logged).await;
        } else {
            tokio::time::sleep(Duration::from_millis(round * 5)).await;
        }
        server.child.kill().await.unwrap();
        let _ = request.await;
        server = start(temp.path(), port, DEV_CLOCK).await;
        let now = check_invariants(&client(server.address), &rotating, &deleting).await;
        let rotated = now
            .iter()
            .zip(&versions)
            .filter(|(after, before)| after > before)
            .count();
        eprintln!(
            "round {round}: {rotated} of {} keys rotated before the kill",
            rotating.len()
        );
        if 0 < rotated && rotated < rotating.len() {
            interrupted_passes += 1;
        }
        versions = now;
    }
    // The kills must really have landed inside scheduler passes for this test to mean anything.
    assert!(
        interrupted_passes > 0,
        "no kill interrupted a pass; the test needs other timings"
    );

    // A last move without a crash finishes whatever is left.
    let finish = raw::send(
        server.address,
        &advance_request(91 * DAY * (ROUNDS as i64 + 1)),
    )
    .await
    .unwrap();
    assert_eq!(finish.status, 200);
    let now = finish.json()["Now"].as_i64().unwrap();
    let client = client(server.address);
    let finished = check_invariants(&client, &rotating, &deleting).await;
    assert!(
        finished
            .iter()
            .zip(&versions)
            .all(|(after, before)| after > before)
    );
    for (key, _) in &rotating {
        let status = client
            .get_key_rotation_status()
            .key_id(key)
            .send()
            .await
            .unwrap();
        assert!(
            status.next_rotation_date().unwrap().secs() > now,
            "{key} is rotated up to date"
        );
    }
    for (key, _) in &deleting {
        assert_eq!(
            code(client.describe_key().key_id(key).send().await),
            "NotFoundException"
        );
    }
    server.child.kill().await.unwrap();
}

/// Every request that got an answer has its audit record, however abruptly the server dies:
/// the answer leaves only after the record was written (by default) or synced (`always`).
#[tokio::test]
async fn answered_requests_keep_their_audit_records_across_sigkill() {
    answered_requests_keep_their_records(&[]).await;
}

#[tokio::test]
async fn answered_requests_keep_their_audit_records_across_sigkill_when_always_synced() {
    answered_requests_keep_their_records(&["--audit-sync", "always"]).await;
}

async fn answered_requests_keep_their_records(flags: &[&str]) {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    let port = free_port();
    let mut server = start(temp.path(), port, flags).await;
    let key = common::create_key(&client(server.address)).await;
    let mut answered = Vec::new();
    for round in 0..3 {
        let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
        let mut workers = Vec::new();
        for worker in 0..16 {
            let client = client(server.address);
            let key = key.clone();
            let sender = sender.clone();
            workers.push(tokio::spawn(async move {
                for n in 0.. {
                    let plaintext = Blob::new(format!("{round}/{worker}/{n}"));
                    match client
                        .encrypt()
                        .key_id(&key)
                        .plaintext(plaintext)
                        .send()
                        .await
                    {
                        Ok(output) => {
                            let _ = sender.send(output.request_id().unwrap().to_owned());
                        }
                        // The server is gone.
                        Err(_) => break,
                    }
                }
            }));
        }
        drop(sender);
        tokio::time::sleep(Duration::from_millis(800)).await;
        server.child.kill().await.unwrap();
        for worker in workers {
            worker.await.unwrap();
        }
        let before = answered.len();
        while let Some(request_id) = receiver.recv().await {
            answered.push(request_id);
        }
        assert!(answered.len() > before + 50, "the load ran before the kill");

        server = start(temp.path(), port, flags).await;
        let recorded: std::collections::HashSet<String> =
            common::audit::records_in(&data_dir, common::ACCOUNT, common::REGION)
                .await
                .into_iter()
                .filter_map(|record| record.json["requestID"].as_str().map(str::to_owned))
                .collect();
        let lost: Vec<_> = answered
            .iter()
            .filter(|id| !recorded.contains(*id))
            .collect();
        assert!(lost.is_empty(), "answered but not recorded: {lost:?}");
    }
    let report = common::audit::verify_data_dir(&data_dir).await;
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert!(report.records as usize >= answered.len());
    // Each of the three kills left its mark in the chain.
    let recoveries = report
        .notes
        .iter()
        .filter(|note| note.contains("marks a recovery after an unclean stop"))
        .count();
    assert_eq!(recoveries, 3, "{:?}", report.notes);
    server.child.kill().await.unwrap();
}

/// A power loss that tears the journal's last record: the next start cuts the torn bytes and
/// records the recovery, naming the last intact record, and the chain verifies.
#[tokio::test]
async fn a_torn_journal_tail_is_cut_and_the_recovery_recorded() {
    let temp = tempfile::tempdir().unwrap();
    let data_dir = temp.path().join("data");
    let port = free_port();
    let mut server = start(temp.path(), port, &[]).await;
    let first = client(server.address);
    let key = common::create_key(&first).await;
    for n in 0..5 {
        common::encrypt(&first, &key, format!("before {n}").as_bytes()).await;
    }
    server.child.kill().await.unwrap();
    let before = common::audit::records_in(&data_dir, common::ACCOUNT, common::REGION).await;
    let sequence =
        |record: &common::audit::Stored| record.json["auditChain"]["sequence"].as_u64().unwrap();
    let last = sequence(before.last().unwrap());
    // The end of the newest record never reached the disk.
    let journal = strongbox::datadir::audit_journal_path(&data_dir);
    let mut logs: Vec<_> = std::fs::read_dir(&journal)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort();
    let newest = logs.pop().unwrap();
    let length = std::fs::metadata(&newest).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&newest)
        .unwrap()
        .set_len(length - 50)
        .unwrap();

    server = start(temp.path(), port, &[]).await;
    let second = client(server.address);
    common::encrypt(&second, &key, b"after").await;
    let records = common::audit::records_in(&data_dir, common::ACCOUNT, common::REGION).await;
    let recovery = records
        .iter()
        .find(|record| record.json["eventName"] == "StrongboxAuditRecovery")
        .expect("a recovery record");
    assert_eq!(sequence(recovery), last);
    let details = &recovery.json["serviceEventDetails"];
    assert_eq!(details["lastRecordFound"], last - 1);
    assert!(details["tornBytesCut"].as_u64().unwrap() > 0, "{details}");
    assert_eq!(recovery.json["eventSource"], "strongbox.audit");
    assert_eq!(records.last().unwrap().json["eventName"], "Encrypt");

    let report = common::audit::verify_data_dir(&data_dir).await;
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(report.notes.len(), 1, "{:?}", report.notes);
    assert!(
        report.notes[0].contains("marks a recovery"),
        "{:?}",
        report.notes
    );
    server.child.kill().await.unwrap();
}

/// A first start killed at any point of initialising its data directory: the next start
/// finishes it (root key, store, account, `admin`, access key, credentials file) and serves.
#[tokio::test]
async fn a_first_start_killed_anywhere_is_finished_by_the_next() {
    // Spread over the start-up (a few to a few hundred milliseconds here), including before
    // the process has done anything and after it has finished.
    for delay in (0..24).chain([35, 50, 80, 120, 200, 400]) {
        let dir = tempfile::tempdir().unwrap();
        let mut first = common::process::spawn(dir.path(), free_port(), &[], &[]);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        first.child.start_kill().unwrap();
        first.child.wait().await.unwrap();
        let server = start(dir.path(), free_port(), &[]).await;
        let credentials =
            std::fs::read_to_string(dir.path().join("data").join("credentials")).unwrap();
        assert!(
            credentials.contains(common::ACCESS_KEY),
            "killed after {delay} ms: the credentials file names the key: {credentials:?}"
        );
        client(server.address)
            .list_keys()
            .send()
            .await
            .unwrap_or_else(|e| panic!("killed after {delay} ms: {e:?}"));
    }
}
