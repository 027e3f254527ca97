//! The policy parser on hostile input: it never panics, whatever the bytes, and whatever it
//! accepts it evaluates without panicking either.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use strongbox_core::model::AccountId;
use strongbox_core::policy::{
    Caller, IdentityPolicies, KeyPolicy, Policy, PolicyKind, Request, RequestContext, decide,
};

/// JSON text built from policy-shaped pieces, so that the parser gets past `serde_json` and
/// into the grammar most of the time.
fn policyish() -> impl Strategy<Value = String> {
    let names = prop::sample::select(vec![
        "Version",
        "Id",
        "Statement",
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "AWS",
        "Service",
        "StringLike",
        "ForAnyValue:StringEquals",
        "NumericLessThanIfExists",
        "Null",
        "IpAddress",
        "DateGreaterThan",
        "Bool",
        "ArnLike",
        "kms:EncryptionContext:a",
        "aws:SourceIp",
        "aws:CurrentTime",
        "bogus",
    ]);
    let scalars = prop::sample::select(vec![
        "\"2012-10-17\"",
        "\"2008-10-17\"",
        "\"Allow\"",
        "\"Deny\"",
        "\"*\"",
        "\"kms:*\"",
        "\"arn:aws:iam::111122223333:root\"",
        "\"111122223333\"",
        "\"10.0.0.0/8\"",
        "\"true\"",
        "\"${aws:username}\"",
        "\"a*b?c\"",
        "\"2026-01-01T00:00:00Z\"",
        "12",
        "-1.5e300",
        "true",
        "null",
        "\"\"",
        "[]",
        "{}",
        "\"arn:aws:sts::111122223333:assumed-role/R/s\"",
    ]);
    let leaf = (names.clone(), scalars).prop_map(|(n, v)| format!("\"{n}\":{v}"));
    let leaf_object =
        prop::collection::vec(leaf, 0..5).prop_map(|m| format!("{{{}}}", m.join(",")));
    leaf_object.prop_recursive(4, 64, 6, move |inner| {
        let member = (
            names.clone(),
            prop_oneof![
                inner.clone(),
                prop::collection::vec(inner.clone(), 0..3)
                    .prop_map(|v| format!("[{}]", v.join(","))),
            ],
        )
            .prop_map(|(n, v)| format!("\"{n}\":{v}"));
        prop::collection::vec(member, 0..5).prop_map(|m| format!("{{{}}}", m.join(",")))
    })
}

fn evaluate(policy: &Policy) {
    let caller = Caller::from_arn("arn:aws:iam::111122223333:user/alice").unwrap();
    let context = RequestContext::new(&caller, time::OffsetDateTime::UNIX_EPOCH);
    let account = AccountId::parse("111122223333").unwrap();
    let request = Request {
        action: "kms:Encrypt",
        resource: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        key: Some((account, policy)),
    };
    let _ = decide(&request, &IdentityPolicies::default(), &context);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let text = String::from_utf8_lossy(&bytes);
        for kind in [PolicyKind::Key, PolicyKind::Trust, PolicyKind::Identity] {
            if let Ok(policy) = Policy::parse(&text, kind) {
                evaluate(&policy);
            }
        }
        let _ = KeyPolicy::submitted(&text);
    }

    #[test]
    fn policy_shaped_json_never_panics(text in policyish()) {
        for kind in [PolicyKind::Key, PolicyKind::Trust, PolicyKind::Identity] {
            if let Ok(policy) = Policy::parse(&text, kind) {
                evaluate(&policy);
            }
        }
        if let Ok(policy) = KeyPolicy::submitted(&text) {
            // What is stored reads back as the same statements.
            let again = KeyPolicy::stored(policy.text().to_owned());
            prop_assert_eq!(again.policy(), policy.policy());
        }
    }
}

#[test]
fn deeply_nested_documents_are_refused_not_overflowed() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(Policy::parse(&deep, PolicyKind::Key).is_err());
    let deep_object = format!(
        "{{\"Statement\":{}{}}}",
        "{\"a\":".repeat(10_000),
        "1}".repeat(10_000)
    );
    assert!(Policy::parse(&deep_object, PolicyKind::Key).is_err());
}
