//! What deciding a request costs: `policy::decide` for an Encrypt by an IAM user, under AWS's
//! default key policy with the administrator identity policy (the common case), and under a
//! 20-statement key policy whose statements test conditions (the costly case). Both policies
//! are parsed once, before timing, as the server parses them when they are stored.

#![allow(clippy::unwrap_used, missing_docs, reason = "benchmark code")]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use strongbox_core::model::AccountId;
use strongbox_core::model::iam::ADMIN_POLICY_DOCUMENT;
use strongbox_core::policy::{
    Caller, Decision, IdentityPolicies, KeyFacts, KeyPolicy, Policy, PolicyKind, Request,
    RequestContext, decide,
};

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// Twenty statements naming the account: 18 test five conditions and fail on the last, one
/// allows DescribeKey, the 20th allows the request. Shared with the dispatch benchmark and
/// `bench/policy-overhead.sh`.
const TWENTY_STATEMENTS: &str = include_str!("../../../bench/policies/twenty-statements.json");

fn policy_decision(c: &mut Criterion) {
    let account = AccountId::parse("111122223333").unwrap();
    let caller = Caller::user(account, "/", "admin", "AIDAEXAMPLEEXAMPLE123");
    let identity = IdentityPolicies {
        policies: vec![Arc::new(
            Policy::parse(ADMIN_POLICY_DOCUMENT, PolicyKind::Identity).unwrap(),
        )],
    };
    let context_pairs: BTreeMap<String, String> = [
        ("tenant".to_owned(), "strongbox-bench".to_owned()),
        ("purpose".to_owned(), "load-test".to_owned()),
    ]
    .into();
    let default = KeyPolicy::default_for(&account);
    let twenty = KeyPolicy::submitted(TWENTY_STATEMENTS).unwrap();
    let values = [("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT")];
    let mut group = c.benchmark_group("decide Encrypt by an IAM user");
    for (name, policy) in [
        ("default key policy", &default),
        ("20 statements with conditions", &twenty),
    ] {
        let parsed = policy.policy().unwrap();
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut context = RequestContext::new(&caller, time::OffsetDateTime::UNIX_EPOCH);
                context.source_ip = Some(std::net::IpAddr::from([127, 0, 0, 1]));
                context.secure_transport = Some(false);
                context.encryption_context = Some(&context_pairs);
                context.params = &values;
                context.key = Some(KeyFacts {
                    spec: "SYMMETRIC_DEFAULT",
                    usage: "ENCRYPT_DECRYPT",
                    origin: "AWS_KMS",
                    multi_region: false,
                });
                let request = Request {
                    action: "kms:Encrypt",
                    resource: KEY,
                    key: Some((account, parsed)),
                };
                let decision = decide(black_box(&request), &identity, &context);
                assert_eq!(decision, Decision::Allow);
                decision
            });
        });
    }
    group.finish();
}

criterion_group!(benches, policy_decision);
criterion_main!(benches);
