//! SigV4 verification of a request shaped like an SDK's KMS Encrypt (four signed headers, a
//! 1.5 KB JSON body): parsing the `Authorization` header, then `verify`, which hashes the body,
//! rebuilds the canonical request, derives the signing key and checks the HMAC.

#![allow(clippy::unwrap_used, missing_docs, reason = "benchmark code")]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use strongbox_sigv4::{
    Authorization, CredentialScope, Request, Signer, SigningKey, verify, verify_with_key,
};
use time::macros::datetime;

const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn sigv4(c: &mut Criterion) {
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "content-type",
        "application/x-amz-json-1.1".parse().unwrap(),
    );
    headers.insert("host", "127.0.0.1:4599".parse().unwrap());
    headers.insert("x-amz-date", "20261129T120000Z".parse().unwrap());
    headers.insert("x-amz-target", "TrentService.Encrypt".parse().unwrap());
    let body = format!(
        r#"{{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab","Plaintext":"{}","EncryptionContext":{{"tenant":"a","purpose":"b"}}}}"#,
        "A".repeat(1368)
    );
    let request = Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: body.as_bytes(),
    };
    let signed_headers: Vec<String> = ["content-type", "host", "x-amz-date", "x-amz-target"]
        .map(str::to_owned)
        .to_vec();
    let scope = CredentialScope {
        date: "20261129".to_owned(),
        region: "us-east-1".to_owned(),
        service: "kms".to_owned(),
    };
    let header = Signer::new("AKIDEXAMPLE", SECRET, scope.clone())
        .authorization(&request, &signed_headers)
        .unwrap();
    let now = datetime!(2026-11-29 12:00:30 UTC);

    c.bench_function("sigv4 parse + verify (1.5 KB body)", |b| {
        b.iter(|| {
            let auth = Authorization::parse(black_box(&header)).unwrap();
            verify(&auth, &request, SECRET, now).unwrap();
        });
    });
    let key = SigningKey::derive(SECRET, &scope);
    c.bench_function("sigv4 parse + verify, signing key cached", |b| {
        b.iter(|| {
            let auth = Authorization::parse(black_box(&header)).unwrap();
            verify_with_key(&auth, &request, now, |_| &key).unwrap();
        });
    });
}

criterion_group!(benches, sigv4);
criterion_main!(benches);
