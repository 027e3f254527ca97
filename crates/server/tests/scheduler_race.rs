//! Several schedulers over one store (as several servers sharing it): every due item is done
//! exactly once, decided in the store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use strongbox::datadir::{self, OpenMode};
use strongbox_core::kms::{CreateKeyInput, KeyRef, VersionFilter};
use strongbox_core::model::{AccessKeyId, AccountId, KeySpec, Origin, Principal, Region};
use strongbox_core::{Clock, Kms, KmsConfig, ManualClock, PageRequest};
use time::Duration;

async fn handle(dir: &Path, mode: OpenMode, clock: Arc<ManualClock>) -> Arc<Kms> {
    let store = format!("sqlite://{}", dir.join("strongbox.db").display());
    datadir::open_with(
        dir,
        &store,
        mode,
        clock as Arc<dyn Clock>,
        KmsConfig::default(),
        strongbox_store::journal::JournalOptions::default(),
    )
    .await
    .unwrap()
    .kms
}

fn principal(account: &AccountId) -> Principal {
    Principal::new(
        AccessKeyId::parse("AKIARACERACERACE0001").unwrap(),
        Region::parse("us-east-1").unwrap(),
        std::sync::Arc::new(strongbox_core::policy::Identity::root(*account)),
    )
}

fn symmetric() -> CreateKeyInput {
    CreateKeyInput {
        description: String::new(),
        spec: KeySpec::SymmetricDefault,
        usage: None,
        origin: Origin::AwsKms,
        tags: Default::default(),
        policy: None,
        multi_region: false,
        bypass_lockout_check: false,
    }
}

async fn versions(kms: &Kms, principal: &Principal, key: &str) -> usize {
    let page = PageRequest {
        limit: 1000,
        after: None,
    };
    let key_ref = KeyRef::parse(key).unwrap();
    let (_, versions) = kms
        .list_key_rotations(principal, &key_ref, VersionFilter::All, &page)
        .await
        .unwrap();
    versions.items.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_schedulers_do_each_item_exactly_once() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let clock = Arc::new(ManualClock::new());
    let first = handle(dir, OpenMode::CreateIfMissing, Arc::clone(&clock)).await;
    let second = handle(dir, OpenMode::MustExist, Arc::clone(&clock)).await;
    let account = first.create_account("race", None).await.unwrap();
    let principal = principal(&account.id);

    let mut rotating = Vec::new();
    for _ in 0..20 {
        let key = first.create_key(&principal, symmetric()).await.unwrap();
        let key_ref = KeyRef::parse(&key.id().to_string()).unwrap();
        first
            .enable_key_rotation(&principal, &key_ref, Some(90))
            .await
            .unwrap();
        rotating.push(key.id().to_string());
    }
    let mut deleting = Vec::new();
    for _ in 0..10 {
        let key = first.create_key(&principal, symmetric()).await.unwrap();
        let key_ref = KeyRef::parse(&key.id().to_string()).unwrap();
        first
            .schedule_key_deletion(&principal, &key_ref, Some(7))
            .await
            .unwrap();
        deleting.push(key.id().to_string());
    }

    for round in 1..=3 {
        clock.advance(Duration::days(91));
        // Four schedulers, two per handle, all at once; small batches make them interleave.
        let runs = [&first, &second, &first, &second].map(|kms| {
            let kms = Arc::clone(kms);
            tokio::spawn(async move {
                let mut total = (0, 0);
                loop {
                    let work = kms.perform_due_work(3).await.unwrap();
                    total.0 += work.rotated;
                    total.1 += work.deleted;
                    if work.found == 0 {
                        return total;
                    }
                }
            })
        });
        let mut rotated = 0;
        let mut deleted = 0;
        for run in runs {
            let (r, d) = run.await.unwrap();
            rotated += r;
            deleted += d;
        }
        assert_eq!(
            rotated,
            rotating.len(),
            "round {round}: each due key rotated once"
        );
        assert_eq!(
            deleted,
            if round == 1 { deleting.len() } else { 0 },
            "round {round}"
        );
        for key in &rotating {
            assert_eq!(
                versions(&second, &principal, key).await,
                round + 1,
                "{key} in round {round}"
            );
        }
    }
    let page = PageRequest {
        limit: 1000,
        after: None,
    };
    let listed = first.list_keys(&principal, &page).await.unwrap();
    assert_eq!(
        listed.items.len(),
        rotating.len(),
        "the deleted keys are gone, the others stay"
    );
    first.close().await;
    second.close().await;
}
