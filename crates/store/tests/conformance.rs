//! The store contract, checked against every engine this build has (today: SQLite). Each check
//! takes a fresh store, so engines are compared on the same behaviour, not the same data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::sqlite;
use strongbox_store::Engine;

use strongbox_core::model::{
    AccessKey, AccessKeyId, AccessKeyStatus, Account, AccountId, Alias, AliasName, Key, KeyArn,
    KeyId, KeySpec, KeyState, KeyUsage, KeyVersion, Region, Tags, VersionId,
};
use strongbox_core::model::{
    Grant, GrantConstraint, GrantId, GrantOperation, GrantPrincipal, InlinePolicy, PolicyOwner,
    Role, User,
};
use strongbox_core::policy::KeyPolicy;
use strongbox_core::{GrantCreated, GrantFilter, PageRequest, SealedKey, Store, StoreErrorKind};
use time::OffsetDateTime;

fn now() -> OffsetDateTime {
    // Stored at millisecond precision.
    let millis = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000 * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(millis).unwrap()
}

fn account(id: &str) -> Account {
    Account {
        id: AccountId::parse(id).unwrap(),
        name: format!("account {id}"),
        created_at: now(),
    }
}

fn region() -> Region {
    Region::parse("us-east-1").unwrap()
}

fn key(account: &Account) -> (Key, KeyVersion) {
    let version_id = VersionId::generate();
    let arn = KeyArn {
        region: region(),
        account: account.id,
        key_id: KeyId::generate(),
    };
    let key = Key {
        description: "d".to_owned(),
        tags: Tags::from([("team".to_owned(), "platform".to_owned())]),
        policy: std::sync::Arc::new(KeyPolicy::stored(
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}"#
                .to_owned(),
        )),
        ..Key::new(
            arn,
            KeySpec::SymmetricDefault,
            KeyUsage::EncryptDecrypt,
            version_id,
            now(),
        )
    };
    let version = KeyVersion {
        key_id: key.id(),
        version_id,
        ordinal: 0,
        rotation: None,
        sealed: SealedKey::from_bytes(vec![1, 2, 3]),
        created_at: now(),
    };
    (key, version)
}

async fn with_account(store: &dyn Store, id: &str) -> Account {
    let account = account(id);
    store.create_account(&account).await.unwrap();
    account
}

#[tokio::test]
async fn accounts() {
    let (_dir, store) = sqlite().await;
    let a = with_account(store.as_ref(), "111111111111").await;
    let b = with_account(store.as_ref(), "222222222222").await;
    assert_eq!(store.account(&a.id).await.unwrap(), Some(a.clone()));
    assert_eq!(store.list_accounts().await.unwrap(), vec![a.clone(), b]);
    let error = store.create_account(&a).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Conflict);
    assert_eq!(
        store
            .account(&AccountId::parse("333333333333").unwrap())
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn access_keys() {
    let (_dir, store) = sqlite().await;
    let a = with_account(store.as_ref(), "111111111111").await;
    let other = with_account(store.as_ref(), "222222222222").await;
    let access_key = AccessKey {
        id: AccessKeyId::parse("AKIAAAAAAAAAAAAAAAAA").unwrap(),
        account: a.id,
        user: "alice".to_owned(),
        sealed_secret: SealedKey::from_bytes(vec![9; 40]),
        status: AccessKeyStatus::Active,
        created_at: now(),
    };
    store.create_access_key(&access_key).await.unwrap();
    assert_eq!(
        store
            .create_access_key(&access_key)
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
    assert_eq!(
        store.access_key(&access_key.id).await.unwrap(),
        Some(access_key.clone())
    );
    assert_eq!(
        store.list_access_keys(&a.id).await.unwrap(),
        vec![access_key.clone()]
    );
    assert!(store.list_access_keys(&other.id).await.unwrap().is_empty());
    assert!(
        !store
            .delete_access_key(&other.id, &access_key.id)
            .await
            .unwrap(),
        "scoped by account"
    );
    assert!(
        store
            .delete_access_key(&a.id, &access_key.id)
            .await
            .unwrap()
    );
    assert_eq!(store.access_key(&access_key.id).await.unwrap(), None);
    store.create_access_key(&access_key).await.unwrap();
    assert!(
        store
            .set_access_key_status(&a.id, &access_key.id, AccessKeyStatus::Inactive)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .access_key(&access_key.id)
            .await
            .unwrap()
            .map(|k| k.status),
        Some(AccessKeyStatus::Inactive)
    );
    assert!(
        !store
            .set_access_key_status(&other.id, &access_key.id, AccessKeyStatus::Active)
            .await
            .unwrap(),
        "scoped by account"
    );
}

fn user(account: &Account, name: &str) -> User {
    User {
        account: account.id,
        name: name.to_owned(),
        path: "/team/".to_owned(),
        id: format!("AIDA{:X<17}", name.to_uppercase()),
        created_at: now(),
    }
}

fn policy(name: &str) -> InlinePolicy {
    InlinePolicy {
        name: name.to_owned(),
        document: format!(r#"{{"Statement":{{"Sid":"{name}"}}}}"#),
    }
}

#[tokio::test]
async fn users_are_unique_ignoring_case_and_scoped_by_account() {
    let (_dir, store) = sqlite().await;
    let a = with_account(store.as_ref(), "111111111111").await;
    let b = with_account(store.as_ref(), "222222222222").await;
    let alice = user(&a, "Alice");
    store.create_user(&alice, &[policy("p1")]).await.unwrap();
    let mut twin = user(&a, "ALICE");
    twin.id = "AIDATWINTWINTWINTWIN1".to_owned();
    let error = store.create_user(&twin, &[]).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Conflict);
    assert_eq!(
        store.user(&a.id, "alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.user(&b.id, "alice").await.unwrap(), None);
    let owner = PolicyOwner::User("aLiCe".to_owned());
    assert_eq!(
        store.inline_policies(&a.id, &owner).await.unwrap(),
        vec![policy("p1")]
    );
    // A policy put twice is replaced; policies list by name.
    let mut replaced = policy("p1");
    replaced.document = "{}".to_owned();
    store
        .put_inline_policy(&a.id, &owner, &replaced)
        .await
        .unwrap();
    store
        .put_inline_policy(&a.id, &owner, &policy("p0"))
        .await
        .unwrap();
    assert_eq!(
        store.inline_policies(&a.id, &owner).await.unwrap(),
        vec![policy("p0"), replaced]
    );
    assert!(
        store
            .delete_inline_policy(&a.id, &owner, "p0")
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_inline_policy(&a.id, &owner, "p0")
            .await
            .unwrap()
    );
    // Pages by name.
    for name in ["bob", "carol", "dave"] {
        store.create_user(&user(&a, name), &[]).await.unwrap();
    }
    let first = store
        .list_users(
            &a.id,
            &PageRequest {
                limit: 2,
                after: None,
            },
        )
        .await
        .unwrap();
    let names: Vec<_> = first.items.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["Alice", "bob"]);
    let rest = store
        .list_users(
            &a.id,
            &PageRequest {
                limit: 2,
                after: first.next,
            },
        )
        .await
        .unwrap();
    let names: Vec<_> = rest.items.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["carol", "dave"]);
    assert_eq!(rest.next, None);
    // Deleting a user deletes its policies with it.
    assert!(store.delete_user(&a.id, "ALICE").await.unwrap());
    assert!(!store.delete_user(&a.id, "ALICE").await.unwrap());
    assert!(
        store
            .inline_policies(&a.id, &owner)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn roles_round_trip_and_update() {
    let (_dir, store) = sqlite().await;
    let a = with_account(store.as_ref(), "111111111111").await;
    let mut role = Role {
        account: a.id,
        name: "Deployer".to_owned(),
        path: "/".to_owned(),
        id: "AROAAAAAAAAAAAAAAAAAA".to_owned(),
        trust_policy: "{}".to_owned(),
        trust_principal_ids: [(
            "arn:aws:iam::111111111111:user/x".to_owned(),
            "AIDAXXXXXXXXXXXXXXXXX".to_owned(),
        )]
        .into(),
        description: "ships".to_owned(),
        max_session_seconds: 7200,
        created_at: now(),
    };
    store.create_role(&role).await.unwrap();
    let mut twin = role.clone();
    twin.id = "AROABBBBBBBBBBBBBBBBB".to_owned();
    twin.name = "deployer".to_owned();
    assert_eq!(
        store.create_role(&twin).await.unwrap_err().kind(),
        StoreErrorKind::Conflict
    );
    role.trust_policy = r#"{"Statement":[]}"#.to_owned();
    role.max_session_seconds = 43200;
    assert!(store.update_role(&role).await.unwrap());
    assert_eq!(
        store.role(&a.id, "DEPLOYER").await.unwrap(),
        Some(role.clone())
    );
    let owner = PolicyOwner::Role(role.name.clone());
    store
        .put_inline_policy(&a.id, &owner, &policy("r"))
        .await
        .unwrap();
    assert_eq!(
        store
            .inline_policies(&a.id, &PolicyOwner::User(role.name.clone()))
            .await
            .unwrap(),
        Vec::new(),
        "a user's policies are not a role's"
    );
    assert!(store.delete_role(&a.id, "deployer").await.unwrap());
    assert!(!store.update_role(&role).await.unwrap());
    assert!(
        store
            .inline_policies(&a.id, &owner)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn keys_round_trip_and_are_scoped() {
    let (_dir, store) = sqlite().await;
    let a = with_account(store.as_ref(), "111111111111").await;
    let b = with_account(store.as_ref(), "222222222222").await;
    let (key, version) = key(&a);
    store.create_key(&key, &version).await.unwrap();
    assert_eq!(
        store.key(&a.id, &region(), key.id()).await.unwrap(),
        Some(key.clone())
    );
    assert_eq!(
        store.key(&b.id, &region(), key.id()).await.unwrap(),
        None,
        "other account"
    );
    let west = Region::parse("eu-west-1").unwrap();
    assert_eq!(
        store.key(&a.id, &west, key.id()).await.unwrap(),
        None,
        "other region"
    );
    assert_eq!(
        store
            .key_version(&a.id, key.id(), version.version_id)
            .await
            .unwrap(),
        Some(version.clone())
    );
    assert_eq!(
        store
            .key_version(&b.id, key.id(), version.version_id)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .key_version(&a.id, key.id(), VersionId::generate())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.create_key(&key, &version).await.unwrap_err().kind(),
        StoreErrorKind::Conflict
    );
}

/// Concurrent creations share commits (SQLite): each still lands, or fails, on its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_key_creations_land_and_a_duplicate_fails_alone() {
    let (_dir, store) = sqlite().await;
    let a = with_account(store.as_ref(), "111111111111").await;
    let (existing, existing_version) = key(&a);
    store
        .create_key(&existing, &existing_version)
        .await
        .unwrap();
    let mut fresh: Vec<(Key, KeyVersion)> = (0..64).map(|_| key(&a)).collect();
    // The duplicate goes in the middle, so that it races the others for the same commit.
    fresh.insert(32, (existing.clone(), existing_version.clone()));
    let tasks: Vec<_> = fresh
        .iter()
        .cloned()
        .map(|(key, version)| {
            let store = std::sync::Arc::clone(&store);
            tokio::spawn(async move { store.create_key(&key, &version).await })
        })
        .collect();
    for (task, (key, version)) in tasks.into_iter().zip(&fresh) {
        let outcome = task.await.unwrap();
        if key.id() == existing.id() {
            assert_eq!(outcome.unwrap_err().kind(), StoreErrorKind::Conflict);
            continue;
        }
        outcome.unwrap();
        assert_eq!(
            store
                .key(&a.id, &region(), key.id())
                .await
                .unwrap()
                .as_ref(),
            Some(key)
        );
        assert_eq!(
            store
                .key_version(&a.id, key.id(), version.version_id)
                .await
                .unwrap()
                .as_ref(),
            Some(version)
        );
    }
    let listed = store
        .list_keys(
            &a.id,
            &region(),
            &PageRequest {
                limit: 1000,
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 65);
}

#[tokio::test]
async fn key_updates_compare_and_swap() {
    let (_dir, store) = sqlite().await;
    let a = with_account(store.as_ref(), "111111111111").await;
    let (key, version) = key(&a);
    store.create_key(&key, &version).await.unwrap();
    let mut changed = key.clone();
    changed.state = KeyState::PendingDeletion;
    changed.set_deletion(Some((now(), 7)));
    changed.description = "changed".to_owned();
    changed.tags.insert("new".to_owned(), "tag".to_owned());
    assert_eq!(store.update_key(&changed).await.unwrap(), 1);
    let stored = store
        .key(&a.id, &region(), key.id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored,
        Key {
            revision: 1,
            ..changed.clone()
        }
    );
    // A writer holding the old revision loses.
    let stale = store.update_key(&key).await.unwrap_err();
    assert_eq!(stale.kind(), StoreErrorKind::Conflict);
    let mut gone = key.clone();
    gone.arn.key_id = KeyId::generate();
    assert_eq!(
        store.update_key(&gone).await.unwrap_err().kind(),
        StoreErrorKind::NotFound
    );
}

#[tokio::test]
async fn key_lists_page_in_order() {
    let (_dir, store) = sqlite().await;
    let a = with_account(store.as_ref(), "111111111111").await;
    let b = with_account(store.as_ref(), "222222222222").await;
    let mut ids = Vec::new();
    for _ in 0..7 {
        let (key, version) = key(&a);
        store.create_key(&key, &version).await.unwrap();
        ids.push(key.id().to_string());
    }
    let (foreign, version) = key(&b);
    store.create_key(&foreign, &version).await.unwrap();
    ids.sort();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_keys(&a.id, &region(), &PageRequest { limit: 3, after })
            .await
            .unwrap();
        assert!(page.items.len() <= 3);
        assert!(page.items.iter().all(|arn| arn.account == a.id));
        seen.extend(page.items.iter().map(|arn| arn.key_id.to_string()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn aliases() {
    let (_dir, store) = sqlite().await;
    let a = with_account(store.as_ref(), "111111111111").await;
    let b = with_account(store.as_ref(), "222222222222").await;
    let (first, version) = key(&a);
    store.create_key(&first, &version).await.unwrap();
    let (second, version) = key(&a);
    store.create_key(&second, &version).await.unwrap();
    let alias = |name: &str, account: &Account, target: KeyId| Alias {
        account: account.id,
        region: region(),
        name: AliasName::parse(name).unwrap(),
        target,
        created_at: now(),
        updated_at: now(),
    };
    let one = alias("alias/one", &a, first.id());
    store.create_alias(&one).await.unwrap();
    assert_eq!(
        store.create_alias(&one).await.unwrap_err().kind(),
        StoreErrorKind::Conflict
    );
    store
        .create_alias(&alias("alias/two", &a, second.id()))
        .await
        .unwrap();
    store
        .create_alias(&alias("alias/three", &a, first.id()))
        .await
        .unwrap();
    store
        .create_alias(&alias("alias/one", &b, first.id()))
        .await
        .unwrap();

    assert_eq!(
        store.alias(&a.id, &region(), &one.name).await.unwrap(),
        Some(one.clone())
    );
    let all = PageRequest {
        limit: 100,
        after: None,
    };
    let names = |page: strongbox_core::Page<Alias>| {
        page.items
            .into_iter()
            .map(|a| a.name.to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(
            store
                .list_aliases(&a.id, &region(), None, &all)
                .await
                .unwrap()
        ),
        ["alias/one", "alias/three", "alias/two"]
    );
    assert_eq!(
        names(
            store
                .list_aliases(&a.id, &region(), Some(first.id()), &all)
                .await
                .unwrap()
        ),
        ["alias/one", "alias/three"]
    );
    let page = store
        .list_aliases(
            &a.id,
            &region(),
            None,
            &PageRequest {
                limit: 2,
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.next.as_deref(), Some("alias/three"));
    let rest = store
        .list_aliases(
            &a.id,
            &region(),
            None,
            &PageRequest {
                limit: 2,
                after: page.next,
            },
        )
        .await
        .unwrap();
    assert_eq!(names(rest.clone()), ["alias/two"]);
    assert_eq!(rest.next, None);

    let moved = Alias {
        target: second.id(),
        updated_at: now(),
        ..one.clone()
    };
    store.update_alias(&moved).await.unwrap();
    assert_eq!(
        store.alias(&a.id, &region(), &one.name).await.unwrap(),
        Some(moved)
    );
    assert!(
        store
            .delete_alias(&a.id, &region(), &one.name)
            .await
            .unwrap()
    );
    assert!(
        !store
            .delete_alias(&a.id, &region(), &one.name)
            .await
            .unwrap()
    );
    let missing = store.update_alias(&one).await.unwrap_err();
    assert_eq!(missing.kind(), StoreErrorKind::NotFound);
    assert!(
        store
            .alias(&b.id, &region(), &one.name)
            .await
            .unwrap()
            .is_some(),
        "b's alias untouched"
    );
}

#[tokio::test]
async fn writes_are_visible_to_a_second_handle_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    let engine = Engine::parse(&url).unwrap();
    let first = strongbox_store::open(&engine).await.unwrap();
    let second = strongbox_store::open(&engine).await.unwrap();
    let a = with_account(first.as_ref(), "111111111111").await;
    assert_eq!(second.account(&a.id).await.unwrap(), Some(a.clone()));
    first.close().await;
    second.close().await;
    let reopened = strongbox_store::open(&engine).await.unwrap();
    assert_eq!(reopened.list_accounts().await.unwrap(), vec![a]);
    reopened.ping().await.unwrap();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.path().join("shared.db"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the database is private to its owner");
}

#[test]
fn engine_urls_are_explained() {
    assert!(matches!(
        Engine::parse("sqlite:///tmp/x.db"),
        Ok(Engine::Sqlite(_))
    ));
    for bad in [
        "sqlite://",
        "mysql://x",
        "postgres://localhost/x",
        "/tmp/x.db",
    ] {
        assert!(Engine::parse(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn meta_values_are_set_once() {
    let (_dir, store) = sqlite().await;
    assert_eq!(store.meta("check").await.unwrap(), None);
    store.insert_meta("check", b"one", b"root-1").await.unwrap();
    let again = store
        .insert_meta("check", b"two", b"root-1")
        .await
        .unwrap_err();
    assert_eq!(again.kind(), StoreErrorKind::Conflict);
    assert_eq!(
        store.meta("check").await.unwrap().as_deref(),
        Some(b"one".as_slice())
    );
}

#[tokio::test]
async fn account_keys_are_set_once_replaced_where_unchanged_and_guarded_by_the_sealing_root() {
    let (_dir, store) = sqlite().await;
    let a = with_account(store.as_ref(), "111111111111").await;
    let b = with_account(store.as_ref(), "222222222222").await;
    assert_eq!(store.account_kek(&a.id).await.unwrap(), None);
    let first = SealedKey::from_bytes(b"kek-a-1".to_vec());
    // Before any rotation, a value sealed under any root key is accepted.
    store
        .insert_account_kek(&a.id, &first, b"root-1")
        .await
        .unwrap();
    let again = store
        .insert_account_kek(&a.id, &SealedKey::from_bytes(b"other".to_vec()), b"root-1")
        .await
        .unwrap_err();
    assert_eq!(again.kind(), StoreErrorKind::Conflict);
    assert_eq!(store.account_kek(&a.id).await.unwrap(), Some(first.clone()));
    // A rotation names root-2: what is sealed under root-1 is refused from now on.
    store.set_sealing_root(b"root-2").await.unwrap();
    let stale = store
        .insert_account_kek(&b.id, &SealedKey::from_bytes(b"kek-b".to_vec()), b"root-1")
        .await
        .unwrap_err();
    assert_eq!(stale.kind(), StoreErrorKind::StaleRoot);
    let stale = store
        .insert_meta("secret", b"value", b"root-1")
        .await
        .unwrap_err();
    assert_eq!(stale.kind(), StoreErrorKind::StaleRoot);
    assert_eq!(store.meta("secret").await.unwrap(), None);
    store
        .insert_account_kek(&b.id, &SealedKey::from_bytes(b"kek-b".to_vec()), b"root-2")
        .await
        .unwrap();
    store
        .insert_meta("secret", b"value", b"root-2")
        .await
        .unwrap();
    let listed = store.account_keks().await.unwrap();
    assert_eq!(
        listed,
        vec![
            (a.id, first.clone()),
            (b.id, SealedKey::from_bytes(b"kek-b".to_vec()))
        ]
    );
    let new = SealedKey::from_bytes(b"kek-a-2".to_vec());
    assert!(
        !store
            .replace_account_kek(&a.id, &SealedKey::from_bytes(b"stale".to_vec()), &new)
            .await
            .unwrap()
    );
    assert!(
        store
            .replace_account_kek(&a.id, &first, &new)
            .await
            .unwrap()
    );
    assert_eq!(store.account_kek(&a.id).await.unwrap(), Some(new));
    assert_eq!(
        store.list_meta().await.unwrap(),
        vec![("secret".to_owned(), b"value".to_vec())]
    );
}

#[tokio::test]
async fn deleting_an_account_deletes_all_it_owns_and_nothing_of_others() {
    let (_dir, store) = sqlite().await;
    let a = with_account(store.as_ref(), "111111111111").await;
    let b = with_account(store.as_ref(), "222222222222").await;
    let mut owned = Vec::new();
    for account in [&a, &b] {
        let (key, version) = key(account);
        store.create_key(&key, &version).await.unwrap();
        let alias = Alias {
            name: AliasName::parse("alias/owned").unwrap(),
            account: account.id,
            region: region(),
            target: key.id(),
            created_at: now(),
            updated_at: now(),
        };
        store.create_alias(&alias).await.unwrap();
        store
            .create_grant(&grant(&key, "arn:aws:iam::333333333333:root", None), 10)
            .await
            .unwrap();
        store
            .insert_account_kek(&account.id, &SealedKey::from_bytes(vec![9]), b"r")
            .await
            .unwrap();
        let user = User {
            account: account.id,
            name: "alice".to_owned(),
            path: "/".to_owned(),
            id: format!("AIDA{}", account.id),
            created_at: now(),
        };
        store.create_user(&user, &[]).await.unwrap();
        let access_key = AccessKey {
            id: AccessKeyId::parse(&format!("AKIA{}0000", account.id)).unwrap(),
            account: account.id,
            user: "alice".to_owned(),
            sealed_secret: SealedKey::from_bytes(vec![1]),
            status: AccessKeyStatus::Active,
            created_at: now(),
        };
        store.create_access_key(&access_key).await.unwrap();
        owned.push((key, access_key));
    }
    assert!(store.delete_account(&a.id).await.unwrap());
    assert!(!store.delete_account(&a.id).await.unwrap(), "already gone");
    assert_eq!(store.account(&a.id).await.unwrap(), None);
    assert_eq!(store.account_kek(&a.id).await.unwrap(), None);
    let (a_key, a_access) = &owned[0];
    assert_eq!(store.key(&a.id, &region(), a_key.id()).await.unwrap(), None);
    assert_eq!(
        store
            .key_version(&a.id, a_key.id(), a_key.current_version)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.access_key(&a_access.id).await.unwrap(), None);
    assert_eq!(store.user(&a.id, "alice").await.unwrap(), None);
    assert!(
        store
            .grants_to(&a_key.arn, "arn:aws:iam::333333333333:root")
            .await
            .unwrap()
            .is_empty()
    );
    // The other account keeps everything.
    let (b_key, b_access) = &owned[1];
    assert!(store.account(&b.id).await.unwrap().is_some());
    assert!(store.account_kek(&b.id).await.unwrap().is_some());
    assert!(
        store
            .key(&b.id, &region(), b_key.id())
            .await
            .unwrap()
            .is_some()
    );
    assert!(store.access_key(&b_access.id).await.unwrap().is_some());
    assert!(store.user(&b.id, "alice").await.unwrap().is_some());
    assert_eq!(
        store
            .grants_to(&b_key.arn, "arn:aws:iam::333333333333:root")
            .await
            .unwrap()
            .len(),
        1
    );
}

fn grant(key: &Key, grantee: &str, name: Option<&str>) -> Grant {
    Grant {
        key: key.arn.clone(),
        id: GrantId::generate(),
        name: name.map(str::to_owned),
        grantee: GrantPrincipal {
            arn: grantee.to_owned(),
            id: Some("AIDAEXAMPLE".to_owned()),
        },
        retiring: Some(GrantPrincipal {
            arn: "arn:aws:iam::222222222222:root".to_owned(),
            id: None,
        }),
        operations: vec![GrantOperation::Encrypt, GrantOperation::Decrypt],
        constraint: Some(GrantConstraint::Subset(
            [("Dept".to_owned(), "IT".to_owned())].into(),
        )),
        issuing_account: key.arn.account,
        created_at: now(),
    }
}

#[tokio::test]
async fn grants_round_trip_page_retry_by_name_and_go_with_their_key() {
    let (_dir, store) = sqlite().await;
    let a = with_account(store.as_ref(), "111111111111").await;
    let (k, version) = key(&a);
    store.create_key(&k, &version).await.unwrap();
    let alice = "arn:aws:iam::111111111111:user/alice";
    let first = grant(&k, alice, None);
    assert_eq!(
        store.create_grant(&first, 3).await.unwrap(),
        GrantCreated::Created
    );
    assert_eq!(
        store.grant(&k.arn, first.id).await.unwrap(),
        Some(first.clone())
    );
    // A named grant, then its retry (same name and parameters, new id): the first is returned.
    let named = grant(&k, alice, Some("n1"));
    assert_eq!(
        store.create_grant(&named, 3).await.unwrap(),
        GrantCreated::Created
    );
    let mut retry = named.clone();
    retry.id = GrantId::generate();
    retry.operations.reverse();
    assert_eq!(
        store.create_grant(&retry, 3).await.unwrap(),
        GrantCreated::Existing(named.id)
    );
    // The same name with other parameters is another grant; the limit then stops a fourth.
    let mut other = grant(&k, "arn:aws:iam::111111111111:user/bob", Some("n1"));
    other.constraint = None;
    other.retiring = None;
    assert_eq!(
        store.create_grant(&other, 3).await.unwrap(),
        GrantCreated::Created
    );
    assert_eq!(
        store
            .create_grant(&grant(&k, alice, None), 3)
            .await
            .unwrap(),
        GrantCreated::LimitReached
    );

    let to_alice = store.grants_to(&k.arn, alice).await.unwrap();
    assert_eq!(to_alice.len(), 2);
    assert!(to_alice.windows(2).all(|w| w[0].id < w[1].id));
    let one_page = PageRequest {
        limit: 2,
        after: None,
    };
    let page = store
        .list_grants(&k.arn, GrantFilter::default(), &one_page)
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    let rest = store
        .list_grants(
            &k.arn,
            GrantFilter::default(),
            &PageRequest {
                limit: 2,
                after: page.next.clone(),
            },
        )
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.next, None);
    let filtered = store
        .list_grants(
            &k.arn,
            GrantFilter {
                grant_id: Some(named.id),
                grantee: Some(alice),
            },
            &one_page,
        )
        .await
        .unwrap();
    assert_eq!(filtered.items, vec![named.clone()]);
    let retirable = store
        .list_retirable_grants(
            &region(),
            &GrantPrincipal {
                arn: "arn:aws:iam::222222222222:root".to_owned(),
                id: None,
            },
            &PageRequest {
                limit: 10,
                after: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        retirable.items.len(),
        2,
        "bob's grant names no retiring principal"
    );

    // Another account's view of the same key id finds nothing.
    let elsewhere = KeyArn {
        account: AccountId::parse("222222222222").unwrap(),
        ..k.arn.clone()
    };
    assert_eq!(store.grant(&elsewhere, first.id).await.unwrap(), None);
    assert!(!store.delete_grant(&elsewhere, first.id).await.unwrap());

    assert!(store.delete_grant(&k.arn, first.id).await.unwrap());
    assert!(!store.delete_grant(&k.arn, first.id).await.unwrap());
    assert_eq!(store.grant(&k.arn, first.id).await.unwrap(), None);

    store.delete_key(&k).await.unwrap();
    assert!(store.grants_to(&k.arn, alice).await.unwrap().is_empty());
    assert_eq!(
        store
            .create_grant(&grant(&k, alice, None), 3)
            .await
            .unwrap(),
        GrantCreated::KeyGone,
        "no grant outlives its key"
    );
    assert_eq!(store.grant(&k.arn, named.id).await.unwrap(), None);
}

#[tokio::test]
async fn sealed_values_page_and_are_replaced_only_where_unchanged() {
    let (_dir, store) = sqlite().await;
    let a = with_account(store.as_ref(), "111111111111").await;
    let b = with_account(store.as_ref(), "222222222222").await;
    for account in [&a, &b, &a] {
        let (k, version) = key(account);
        store.create_key(&k, &version).await.unwrap();
    }
    let first = store
        .sealed_versions(&PageRequest {
            limit: 2,
            after: None,
        })
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let rest = store
        .sealed_versions(&PageRequest {
            limit: 2,
            after: first.next.clone(),
        })
        .await
        .unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.next, None);
    let all: Vec<_> = first.items.into_iter().chain(rest.items).collect();
    assert!(all.windows(2).all(|w| {
        (w[0].key.account.as_str(), w[0].key.key_id) < (w[1].key.account.as_str(), w[1].key.key_id)
    }));
    // Replaced only where the stored value is still the one read.
    let new = SealedKey::from_bytes(vec![2, 9, 9]);
    let mut stale = all[0].clone();
    stale.sealed = SealedKey::from_bytes(vec![7]);
    assert_eq!(
        store
            .reseal_versions(&[(stale, new.clone()), (all[1].clone(), new.clone())])
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .key_version(&all[1].key.account, all[1].key.key_id, all[1].version)
            .await
            .unwrap()
            .unwrap()
            .sealed,
        new
    );
    store.insert_meta("m", b"old", b"root-1").await.unwrap();
    assert!(!store.replace_meta("m", b"other", b"new").await.unwrap());
    assert!(store.replace_meta("m", b"old", b"new").await.unwrap());
    assert_eq!(store.meta("m").await.unwrap(), Some(b"new".to_vec()));
    let key = AccessKey {
        id: AccessKeyId::parse("AKIAEXAMPLERESEAL001").unwrap(),
        account: a.id,
        user: "admin".to_owned(),
        sealed_secret: SealedKey::from_bytes(vec![1, 1]),
        status: AccessKeyStatus::Active,
        created_at: now(),
    };
    store.create_access_key(&key).await.unwrap();
    assert!(
        !store
            .reseal_access_key(&key.id, &SealedKey::from_bytes(vec![5]), &new)
            .await
            .unwrap()
    );
    assert!(
        store
            .reseal_access_key(&key.id, &key.sealed_secret, &new)
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .access_key(&key.id)
            .await
            .unwrap()
            .unwrap()
            .sealed_secret,
        new
    );
}
