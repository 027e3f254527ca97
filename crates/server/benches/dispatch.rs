//! Request dispatch: an authenticated Encrypt request body (1 KiB plaintext, two-pair encryption
//! context) by an IAM user through the operation `match`, JSON parsing, the key cache (a hit
//! after the first call), the policy decision, the blob, and the JSON answer; under AWS's
//! default key policy, under a 20-statement policy with conditions
//! (`bench/policies/twenty-statements.json`), and by a user with no policy whom a grant allows
//! (with an `EncryptionContextSubset` constraint), in the same run. No HTTP, no SigV4
//! (`strongbox-sigv4`'s benchmark), no audit record (`strongbox-core`'s). Each iteration also
//! pays a `block_on` of a current-thread runtime (well under a microsecond).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    missing_docs,
    reason = "benchmark code"
)]

use std::hint::black_box;
use std::time::Duration;

use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use strongbox::datadir::{self, OpenMode};
use strongbox::http::dispatch::dispatch;
use strongbox::jobs::Scheduler;
use strongbox::wire::Operation;
use strongbox_core::model::{AccessKeyId, AccountId, Principal, Region};

const ACCESS_KEY: &str = "AKIABENCHDISPATCH001";

fn dispatch_encrypt(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = strongbox::config::local(
        "127.0.0.1:0".parse().unwrap(),
        dir.path().to_owned(),
        ACCESS_KEY,
        "bench/secret/key/that/is/forty/chars/xx",
    )
    .unwrap();
    let region = Region::parse("us-east-1").unwrap();
    let kms = runtime.block_on(async {
        let kms = datadir::open(&config.data_dir, &config.store, OpenMode::CreateIfMissing)
            .await
            .unwrap();
        datadir::bootstrap(&kms, &config.data_dir, &region, &config.bootstrap)
            .await
            .unwrap();
        kms
    });
    let scheduler = Scheduler::new(kms.clone(), Duration::from_secs(3600), None);
    let account = AccountId::parse(datadir::DEFAULT_ACCOUNT_ID).unwrap();
    let identity = runtime
        .block_on(kms.user_identity(&account, "admin"))
        .unwrap()
        .expect("the admin user");
    let principal = Principal::new(AccessKeyId::parse(ACCESS_KEY).unwrap(), region, identity);
    let call_as = |principal: &Principal, operation, body: &[u8]| {
        runtime
            .block_on(dispatch(&kms, &scheduler, principal, operation, body))
            .expect("the call succeeds")
    };
    let call = |operation, body: &[u8]| call_as(&principal, operation, body);
    let key_with = |create: serde_json::Value| {
        let created: serde_json::Value = serde_json::from_slice(
            call(Operation::CreateKey, create.to_string().as_bytes()).as_slice(),
        )
        .unwrap();
        created["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned()
    };
    let default_key = key_with(serde_json::json!({}));
    let twenty_key = key_with(serde_json::json!({
        "Policy": include_str!("../../../bench/policies/twenty-statements.json"),
        "BypassPolicyLockoutSafetyCheck": true,
    }));
    runtime
        .block_on(kms.create_user(&account, "grantee", None, &[]))
        .unwrap();
    let grant = serde_json::json!({
        "KeyId": default_key,
        "GranteePrincipal": format!("arn:aws:iam::{account}:user/grantee"),
        "Operations": ["Encrypt"],
        "Constraints": {"EncryptionContextSubset": {"tenant": "strongbox-bench"}},
    });
    call(Operation::CreateGrant, grant.to_string().as_bytes());
    let grantee = Principal::new(
        AccessKeyId::parse("AKIABENCHGRANTEE0001").unwrap(),
        region,
        runtime
            .block_on(kms.user_identity(&account, "grantee"))
            .unwrap()
            .expect("the grantee"),
    );
    let plaintext = base64::engine::general_purpose::STANDARD.encode([0x5a_u8; 1024]);
    let body = |key_id: &str| {
        serde_json::json!({
            "KeyId": key_id,
            "Plaintext": plaintext,
            "EncryptionContext": {"tenant": "strongbox-bench", "purpose": "load-test"},
        })
        .to_string()
    };
    let mut group =
        c.benchmark_group("dispatch Encrypt 1 KiB (parse, key cache hit, decision, blob, answer)");
    for (name, key, caller) in [
        ("default key policy", &default_key, &principal),
        ("20 statements with conditions", &twenty_key, &principal),
        ("a grant, no policy", &default_key, &grantee),
    ] {
        let body = body(key);
        group.bench_function(name, |b| {
            b.iter(|| call_as(caller, Operation::Encrypt, black_box(body.as_bytes())));
        });
    }
    group.finish();
}

criterion_group!(benches, dispatch_encrypt);
criterion_main!(benches);
