//! Ciphertexts that name a key or key version the store does not have (forged, or of a deleted
//! key) read the store once per id and credential TTL, not on every call: a bounded negative
//! cache, counted as `strongbox_key_cache_lookups_total{result="absent"}`. Its own test binary,
//! so that no other test moves the process-wide counter.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aws_sdk_kms::primitives::Blob;
use common::{TestServer, code, create_key, encrypt, raw};

async fn absent_lookups(server: &TestServer) -> u64 {
    let metrics = raw::send(server.address, &raw::get("/metrics"))
        .await
        .unwrap();
    String::from_utf8_lossy(&metrics.body)
        .lines()
        .find(|line| line.starts_with(r#"strongbox_key_cache_lookups_total{result="absent"}"#))
        .and_then(|line| line.split_whitespace().last()?.parse().ok())
        .unwrap_or(0)
}

async fn decrypt_code(client: &aws_sdk_kms::Client, blob: &[u8]) -> String {
    code(
        client
            .decrypt()
            .ciphertext_blob(Blob::new(blob.to_vec()))
            .send()
            .await,
    )
}

#[tokio::test]
async fn unknown_keys_and_versions_read_the_store_once_per_ttl() {
    let server = TestServer::start_with(|config| config.dev_clock = true).await;
    let client = server.client();
    let key = create_key(&client).await;
    let blob = encrypt(&client, &key, b"real").await.into_inner();

    // The blob's key id (bytes 1..17) replaced: a key that does not exist.
    let mut forged_key = blob.clone();
    forged_key[1..17].copy_from_slice(&[0x5a; 16]);
    let before = absent_lookups(&server).await;
    assert_eq!(
        decrypt_code(&client, &forged_key).await,
        "AccessDeniedException"
    );
    assert_eq!(
        absent_lookups(&server).await,
        before,
        "the first call reads the store"
    );
    assert_eq!(
        decrypt_code(&client, &forged_key).await,
        "AccessDeniedException"
    );
    assert_eq!(
        absent_lookups(&server).await,
        before + 1,
        "the second is answered from the negative cache, the same way"
    );

    // The key's own id with a version it never had (bytes 17..33).
    let mut forged_version = blob.clone();
    forged_version[17..33].copy_from_slice(&[0xa5; 16]);
    let before = absent_lookups(&server).await;
    assert_eq!(
        decrypt_code(&client, &forged_version).await,
        "InvalidCiphertextException"
    );
    assert_eq!(
        decrypt_code(&client, &forged_version).await,
        "InvalidCiphertextException"
    );
    assert_eq!(absent_lookups(&server).await, before + 1);

    // Past the credential TTL (5 s), the store is asked again (another node may have made it).
    server.advance_clock(6).await;
    let before = absent_lookups(&server).await;
    assert_eq!(
        decrypt_code(&client, &forged_key).await,
        "AccessDeniedException"
    );
    assert_eq!(absent_lookups(&server).await, before, "expired: read again");
    // A real ciphertext is untouched by all this.
    let out = client
        .decrypt()
        .ciphertext_blob(Blob::new(blob))
        .send()
        .await
        .unwrap();
    assert_eq!(out.plaintext().unwrap().as_ref(), b"real");
    server.stop().await;
}
