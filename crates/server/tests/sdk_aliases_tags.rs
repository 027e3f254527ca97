//! Aliases and tags through aws-sdk-kms.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::Tag;
use common::{ACCOUNT, TestServer, code, create_key};

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder()
        .tag_key(key)
        .tag_value(value)
        .build()
        .unwrap()
}

#[tokio::test]
async fn alias_lifecycle() {
    let server = TestServer::start().await;
    let client = server.client();
    let first = create_key(&client).await;
    let second = create_key(&client).await;
    client
        .create_alias()
        .alias_name("alias/app")
        .target_key_id(&first)
        .send()
        .await
        .unwrap();
    let duplicate = client
        .create_alias()
        .alias_name("alias/app")
        .target_key_id(&second)
        .send()
        .await;
    assert_eq!(code(duplicate), "AlreadyExistsException");

    let listed = client.list_aliases().send().await.unwrap();
    assert_eq!(listed.aliases().len(), 1);
    let entry = &listed.aliases()[0];
    assert_eq!(entry.alias_name(), Some("alias/app"));
    assert_eq!(
        entry.alias_arn(),
        Some(format!("arn:aws:kms:us-east-1:{ACCOUNT}:alias/app").as_str())
    );
    assert_eq!(entry.target_key_id(), Some(first.as_str()));
    assert!(entry.creation_date().is_some() && entry.last_updated_date().is_some());

    let via_alias = client
        .describe_key()
        .key_id("alias/app")
        .send()
        .await
        .unwrap();
    assert_eq!(via_alias.key_metadata().unwrap().key_id(), first);
    client
        .update_alias()
        .alias_name("alias/app")
        .target_key_id(&second)
        .send()
        .await
        .unwrap();
    let moved = client
        .describe_key()
        .key_id("alias/app")
        .send()
        .await
        .unwrap();
    assert_eq!(
        moved.key_metadata().unwrap().key_id(),
        second,
        "the alias cache follows updates"
    );
    let for_first = client.list_aliases().key_id(&first).send().await.unwrap();
    assert!(for_first.aliases().is_empty());
    let for_second = client.list_aliases().key_id(&second).send().await.unwrap();
    assert_eq!(for_second.aliases().len(), 1);

    client
        .delete_alias()
        .alias_name("alias/app")
        .send()
        .await
        .unwrap();
    assert_eq!(
        code(client.describe_key().key_id("alias/app").send().await),
        "NotFoundException"
    );
    assert_eq!(
        code(client.delete_alias().alias_name("alias/app").send().await),
        "NotFoundException"
    );
    assert_eq!(
        code(
            client
                .update_alias()
                .alias_name("alias/app")
                .target_key_id(&first)
                .send()
                .await
        ),
        "NotFoundException"
    );
}

#[tokio::test]
async fn alias_names_and_targets_are_checked() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    client
        .create_alias()
        .alias_name("alias/ok")
        .target_key_id(&key)
        .send()
        .await
        .unwrap();
    for (name, expected) in [
        ("no-prefix", "ValidationException"),
        ("alias/aws/reserved", "InvalidAliasNameException"),
        ("alias/bad name", "ValidationException"),
        ("alias/", "ValidationException"),
    ] {
        let result = client
            .create_alias()
            .alias_name(name)
            .target_key_id(&key)
            .send()
            .await;
        assert_eq!(code(result), expected, "{name}");
    }
    let to_alias = client
        .create_alias()
        .alias_name("alias/chain")
        .target_key_id("alias/ok")
        .send()
        .await;
    assert_eq!(code(to_alias), "ValidationException");
    let to_missing = client
        .create_alias()
        .alias_name("alias/missing")
        .target_key_id("00000000-0000-4000-8000-000000000000")
        .send()
        .await;
    assert_eq!(code(to_missing), "NotFoundException");
    client
        .schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let pending = client
        .create_alias()
        .alias_name("alias/late")
        .target_key_id(&key)
        .send()
        .await;
    assert_eq!(code(pending), "KMSInvalidStateException");
    // DeleteAlias works in every key state.
    client
        .delete_alias()
        .alias_name("alias/ok")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn list_aliases_pages() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    for i in 0..5 {
        client
            .create_alias()
            .alias_name(format!("alias/a{i}"))
            .target_key_id(&key)
            .send()
            .await
            .unwrap();
    }
    let mut names = Vec::new();
    let mut marker = None;
    loop {
        let page = client
            .list_aliases()
            .limit(2)
            .set_marker(marker)
            .send()
            .await
            .unwrap();
        names.extend(
            page.aliases()
                .iter()
                .map(|a| a.alias_name().unwrap().to_owned()),
        );
        if !page.truncated() {
            break;
        }
        marker = page.next_marker().map(str::to_owned);
    }
    assert_eq!(
        names,
        ["alias/a0", "alias/a1", "alias/a2", "alias/a3", "alias/a4"]
    );
    assert_eq!(
        code(client.list_aliases().limit(101).send().await),
        "ValidationException"
    );
}

#[tokio::test]
async fn tag_untag_and_list() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    client
        .tag_resource()
        .key_id(&key)
        .tags(tag("a", "1"))
        .tags(tag("b", "2"))
        .send()
        .await
        .unwrap();
    client
        .tag_resource()
        .key_id(&key)
        .tags(tag("a", "changed"))
        .send()
        .await
        .unwrap();
    let tags = client
        .list_resource_tags()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    let pairs: Vec<(String, String)> = tags
        .tags()
        .iter()
        .map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("a".to_owned(), "changed".to_owned()),
            ("b".to_owned(), "2".to_owned())
        ]
    );
    let page = client
        .list_resource_tags()
        .key_id(&key)
        .limit(1)
        .send()
        .await
        .unwrap();
    assert!(page.truncated());
    let rest = client
        .list_resource_tags()
        .key_id(&key)
        .marker(page.next_marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.tags()[0].tag_key(), "b");
    client
        .untag_resource()
        .key_id(&key)
        .tag_keys("a")
        .tag_keys("absent")
        .send()
        .await
        .unwrap();
    let tags = client
        .list_resource_tags()
        .key_id(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags().len(), 1);

    let reserved = client
        .tag_resource()
        .key_id(&key)
        .tags(tag("aws:x", "1"))
        .send()
        .await;
    assert_eq!(code(reserved), "TagException");
    let mut too_many = client.tag_resource().key_id(&key);
    for i in 0..50 {
        too_many = too_many.tags(tag(&format!("k{i}"), "v"));
    }
    assert_eq!(
        code(too_many.send().await),
        "TagException",
        "51 tags in total"
    );
    client
        .schedule_key_deletion()
        .key_id(&key)
        .pending_window_in_days(7)
        .send()
        .await
        .unwrap();
    let pending = client
        .tag_resource()
        .key_id(&key)
        .tags(tag("c", "3"))
        .send()
        .await;
    assert_eq!(code(pending), "KMSInvalidStateException");
    assert_eq!(
        client
            .list_resource_tags()
            .key_id(&key)
            .send()
            .await
            .unwrap()
            .tags()
            .len(),
        1
    );
}

#[tokio::test]
async fn disabling_through_an_alias_invalidates_the_cache() {
    let server = TestServer::start().await;
    let client = server.client();
    let key = create_key(&client).await;
    client
        .create_alias()
        .alias_name("alias/hot")
        .target_key_id(&key)
        .send()
        .await
        .unwrap();
    client
        .encrypt()
        .key_id("alias/hot")
        .plaintext(Blob::new("warm"))
        .send()
        .await
        .unwrap();
    client
        .disable_key()
        .key_id("alias/hot")
        .send()
        .await
        .unwrap();
    let result = client
        .encrypt()
        .key_id("alias/hot")
        .plaintext(Blob::new("cold"))
        .send()
        .await;
    assert_eq!(code(result), "DisabledException");
}
