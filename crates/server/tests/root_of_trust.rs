//! The root of trust from outside: per-account key-encryption keys, root rotation while
//! clients keep calling (no request fails), and crypto-shredding proven against a backup of
//! the database restored after the fact. The admin commands run as an operator runs them: the
//! `strongbox` binary on the data directory of a running server.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use aws_sdk_kms::primitives::Blob;
use common::cli::{files_holding, strongbox, succeeded};
use common::{Tenant, TestServer, code, create_key, decrypt, encrypt};
use strongbox_core::{Binding, Seal, SealedKey};
use strongbox_seal::{FileRoots, RootSeal};

fn root_key(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join("root.key")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_root_rotation_under_load_fails_no_request_and_destroys_the_old_root_key() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let server = TestServer::start_in(&dir).await;
    let admin = server.client();
    let mut tenants = vec![];
    for name in ["one", "two"] {
        let tenant = Tenant::new(&server, name).await;
        let client = tenant.client(&server);
        let key = create_key(&client).await;
        tenants.push((client, key));
    }
    let admin_key = create_key(&admin).await;
    tenants.push((admin.clone(), admin_key));
    let old_root = root_key(&dir);

    let stop = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicU64::new(0));
    let mut load = Vec::new();
    for (client, key) in tenants.clone() {
        for _ in 0..2 {
            let (client, key) = (client.clone(), key.clone());
            let (stop, calls) = (Arc::clone(&stop), Arc::clone(&calls));
            load.push(tokio::spawn(async move {
                let mut failures = Vec::new();
                let mut round = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    round += 1;
                    let blob = client
                        .encrypt()
                        .key_id(&key)
                        .plaintext(Blob::new(round.to_be_bytes().to_vec()))
                        .send()
                        .await;
                    match blob {
                        Ok(out) => {
                            let decrypted = client
                                .decrypt()
                                .ciphertext_blob(out.ciphertext_blob().unwrap().clone())
                                .send()
                                .await;
                            match decrypted {
                                Ok(out) => assert_eq!(
                                    out.plaintext().unwrap().as_ref(),
                                    round.to_be_bytes()
                                ),
                                Err(error) => failures.push(format!("{error:?}")),
                            }
                        }
                        Err(error) => failures.push(format!("{error:?}")),
                    }
                    // A new key now and then: material sealed under the account's key.
                    if round.is_multiple_of(16)
                        && let Err(error) = client.create_key().send().await
                    {
                        failures.push(format!("{error:?}"));
                    }
                    calls.fetch_add(1, Ordering::Relaxed);
                }
                failures
            }));
        }
    }

    while calls.load(Ordering::Relaxed) < 20 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before = calls.load(Ordering::Relaxed);
    // Three rotations, one after another, by the admin CLI while the server serves; new
    // tenants (whose key-encryption keys are made meanwhile, by another process) start
    // calling between them.
    let mut late_tenants = Vec::new();
    for round in 0..3 {
        let data_dir = dir.clone();
        let rotation =
            tokio::task::spawn_blocking(move || strongbox(&data_dir, &["operator", "rotate-root"]));
        let tenant = Tenant::new(&server, &format!("late-{round}")).await;
        let client = tenant.client(&server);
        let key = create_key(&client).await;
        let blob = encrypt(&client, &key, b"made during a rotation").await;
        late_tenants.push((tenant, key, blob));
        let printed = succeeded(&rotation.await.unwrap());
        assert!(printed.contains("root key rotated"), "{printed}");
    }
    stop.store(true, Ordering::Relaxed);
    let mut failures = Vec::new();
    for task in load {
        failures.extend(task.await.unwrap());
    }
    assert!(failures.is_empty(), "failed requests: {failures:#?}");
    assert!(
        calls.load(Ordering::Relaxed) > before,
        "clients called during the rotations"
    );

    // The old root key is gone: no file holds it, only one root key file is left, and every
    // value sealed under the root key names the new one.
    let new_root = root_key(&dir);
    assert_ne!(new_root, old_root);
    assert!(files_holding(&dir, &old_root).is_empty());
    assert!(!dir.join("root.key.next").exists());
    assert_eq!(files_holding(&dir, &new_root), vec![dir.join("root.key")]);
    // Everything still opens, through this server and a new one.
    for (tenant, key, blob) in &late_tenants {
        let client = tenant.client(&server);
        assert_eq!(decrypt(&client, blob).await, b"made during a rotation");
        encrypt(&client, key, b"after").await;
    }
    server.stop().await;
    let server = TestServer::start_in(&dir).await;
    for (tenant, _, blob) in &late_tenants {
        tenant
            .client(&server)
            .decrypt()
            .ciphertext_blob(blob.clone())
            .send()
            .await
            .unwrap();
    }
    server.stop().await;
}

#[tokio::test]
async fn a_crypto_shredded_account_cannot_be_recovered_from_a_backup_of_the_database() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("data");
    let server = TestServer::start_in(&dir).await;
    let doomed = Tenant::new(&server, "doomed").await;
    let doomed_client = doomed.client(&server);
    let doomed_key = create_key(&doomed_client).await;
    let doomed_blob = encrypt(&doomed_client, &doomed_key, b"the doomed tenant's data").await;
    let admin = server.client();
    let admin_key = create_key(&admin).await;
    let admin_blob = encrypt(&admin, &admin_key, b"the admin's data").await;
    server.stop().await;

    // The operator's backup: a copy of the database (the server is stopped: one file).
    let backup = temp.path().join("backup.db");
    std::fs::copy(dir.join("strongbox.db"), &backup).unwrap();
    let root_before = root_key(&dir);

    let server = TestServer::start_in(&dir).await;
    let doomed_client = doomed.client(&server);
    let admin = server.client();
    doomed_client
        .decrypt()
        .ciphertext_blob(doomed_blob.clone())
        .send()
        .await
        .unwrap();
    let printed = succeeded(&strongbox(
        &dir,
        &[
            "account",
            "delete",
            "--account",
            doomed.account.as_str(),
            "--crypto-shred",
        ],
    ));
    assert!(printed.contains("crypto-shredded"), "{printed}");
    // The running server follows the rotation within a second and forgets the tenant.
    let mut answer = String::new();
    for _ in 0..100 {
        let decrypted = doomed_client
            .decrypt()
            .ciphertext_blob(doomed_blob.clone())
            .send()
            .await;
        if decrypted.is_err() {
            answer = code(decrypted);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(answer, "UnrecognizedClientException");
    // Other tenants are untouched.
    assert_eq!(decrypt(&admin, &admin_blob).await, b"the admin's data");
    let refused = strongbox(
        &dir,
        &["account", "delete", "--account", doomed.account.as_str()],
    );
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("does not exist"));
    // One rotation at a time: while another holds the root keys' lock, a rotation refuses.
    let held = strongbox::datadir::lock_root_keys(&dir).unwrap();
    let busy = strongbox(&dir, &["operator", "rotate-root"]);
    assert!(String::from_utf8_lossy(&busy.stderr).contains("another root rotation or rekey"));
    drop(held);
    // A crypto-shred retried (the account already gone) still rotates the root key.
    let before_retry = root_key(&dir);
    let retried = succeeded(&strongbox(
        &dir,
        &[
            "account",
            "delete",
            "--account",
            doomed.account.as_str(),
            "--crypto-shred",
        ],
    ));
    assert!(retried.contains("rotated anyway"), "{retried}");
    assert_ne!(root_key(&dir), before_retry);
    server.stop().await;

    // The old root key is nowhere in the data directory.
    assert!(files_holding(&dir, &root_before).is_empty());

    // The backup restored: it still holds the doomed account's key-encryption key and
    // material, but sealed under the destroyed root key: nothing of it opens.
    let restored = temp.path().join("restored");
    std::fs::create_dir(&restored).unwrap();
    std::fs::copy(&backup, restored.join("strongbox.db")).unwrap();
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        restored.join("strongbox.db").display()
    ))
    .await
    .unwrap();
    let sealed_kek: Vec<u8> =
        sqlx::query_scalar("SELECT sealed FROM account_keks WHERE account_id = ?")
            .bind(doomed.account.as_str())
            .fetch_one(&db)
            .await
            .unwrap();
    db.close().await;
    let seal = RootSeal::open(Arc::new(
        FileRoots::open_or_create(&dir.join("root.key")).unwrap(),
    ))
    .unwrap();
    let binding = Binding::new("strongbox/account-kek").field(doomed.account.as_str());
    assert!(
        seal.unseal(binding.as_bytes(), &SealedKey::from_bytes(sealed_kek))
            .is_err(),
        "the backup's key-encryption key does not open under the current root key"
    );
    // A server on the restored database with today's root key refuses to start.
    std::fs::remove_file(dir.join("strongbox.db")).unwrap();
    let _ = std::fs::remove_file(dir.join("strongbox.db-wal"));
    let _ = std::fs::remove_file(dir.join("strongbox.db-shm"));
    std::fs::copy(&backup, dir.join("strongbox.db")).unwrap();
    let refused = strongbox(&dir, &["account", "list"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("root key does not match"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}
