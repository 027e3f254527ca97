//! The per-request cryptography of Encrypt and Decrypt: a 1 KiB plaintext with a two-pair
//! encryption context through the v1 blob (HKDF-SHA-256 per blob, AES-256-GCM).

#![allow(clippy::unwrap_used, missing_docs, reason = "benchmark code")]

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use strongbox_crypto::{BlobKeyRef, EncryptionContext, KeyMaterial, ParsedBlob, symmetric};

fn blob(c: &mut Criterion) {
    let material = KeyMaterial::generate_symmetric().unwrap();
    let key_ref = BlobKeyRef {
        key_id: [7; 16],
        version_id: [9; 16],
    };
    let context = EncryptionContext::new(BTreeMap::from([
        ("tenant".to_owned(), "strongbox-bench".to_owned()),
        ("purpose".to_owned(), "load-test".to_owned()),
    ]));
    let plaintext = vec![0x5a_u8; 1024];
    let blob = symmetric::encrypt(&material, key_ref, &context, &plaintext).unwrap();

    let mut group = c.benchmark_group("blob");
    group.throughput(Throughput::Bytes(plaintext.len() as u64));
    group.bench_function("encrypt 1 KiB", |b| {
        b.iter(|| symmetric::encrypt(&material, key_ref, &context, black_box(&plaintext)).unwrap());
    });
    group.bench_function("decrypt 1 KiB", |b| {
        b.iter(|| {
            let parsed = ParsedBlob::parse(black_box(&blob)).unwrap();
            symmetric::decrypt(&material, &parsed, &context).unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, blob);
criterion_main!(benches);
