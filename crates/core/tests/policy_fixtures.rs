//! The evaluator against table-driven cases: AWS's documented examples and IAM's rules, each
//! with the decision AWS documents (`tests/fixtures/policy/*.json`, one file per theme).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::Value;
use strongbox_core::model::AccountId;
use strongbox_core::policy::{
    Caller, Decision, Denial, IdentityPolicies, Policy, PolicyKind, Request, RequestContext, decide,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

struct Outcome {
    file: String,
    name: String,
    problem: String,
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect(),
        Value::String(s) => vec![s.clone()],
        other => vec![other.to_string()],
    }
}

/// The key's account: the account field of the resource ARN.
fn key_account(resource: &str) -> Option<AccountId> {
    resource
        .split(':')
        .nth(4)
        .and_then(|a| AccountId::parse(a).ok())
}

fn run_case(case: &Value) -> Result<(), String> {
    let field = |name: &str| case.get(name).ok_or(format!("no {name}"));
    let principal = field("principal")?.as_str().ok_or("principal")?;
    let caller = Caller::from_arn(principal).ok_or(format!("bad principal {principal}"))?;
    let action = field("action")?.as_str().ok_or("action")?;
    let resource = field("resource")?.as_str().ok_or("resource")?;
    let key_policy = match field("key_policy")? {
        Value::Null => None,
        doc => Some(
            Policy::parse(&doc.to_string(), PolicyKind::Key)
                .map_err(|e| format!("key policy refused: {e}"))?,
        ),
    };
    let mut identity = IdentityPolicies::default();
    for doc in field("identity_policies")?
        .as_array()
        .ok_or("identity_policies")?
    {
        identity.policies.push(
            Policy::parse(&doc.to_string(), PolicyKind::Identity)
                .map_err(|e| format!("identity policy refused: {e}"))?
                .into(),
        );
    }
    let mut encryption_context = BTreeMap::new();
    let mut request_tags = BTreeMap::new();
    let mut resource_tags = BTreeMap::new();
    let mut now = OffsetDateTime::now_utc();
    let mut secure = None;
    let mut source_ip = None;
    let mut extra = Vec::new();
    if let Some(Value::Object(context)) = case.get("context") {
        for (key, values) in context {
            let values = strings(values);
            let lower = key.to_ascii_lowercase();
            let first = values.first().cloned().unwrap_or_default();
            if let Some(name) = lower
                .starts_with("kms:encryptioncontext:")
                .then(|| &key["kms:EncryptionContext:".len()..])
            {
                encryption_context.insert(name.to_owned(), first);
            } else if lower.starts_with("aws:requesttag/") {
                request_tags.insert(key["aws:RequestTag/".len()..].to_owned(), first);
            } else if lower.starts_with("aws:resourcetag/") {
                resource_tags.insert(key["aws:ResourceTag/".len()..].to_owned(), first);
            } else if lower == "aws:securetransport" {
                secure = Some(first == "true");
            } else if lower == "aws:currenttime" {
                now = OffsetDateTime::parse(&first, &Rfc3339).map_err(|e| e.to_string())?;
            } else if lower == "aws:sourceip" && first.parse::<std::net::IpAddr>().is_ok() {
                source_ip = first.parse().ok();
            } else {
                extra.push((
                    Cow::Owned(key.clone()),
                    values.into_iter().map(Cow::Owned).collect(),
                ));
            }
        }
    }
    let mut context = RequestContext::new(&caller, now);
    context.secure_transport = secure;
    context.source_ip = source_ip;
    context.extra = extra;
    if !encryption_context.is_empty() {
        context.encryption_context = Some(&encryption_context);
    }
    if !request_tags.is_empty() {
        context.request_tags = Some(&request_tags);
    }
    if !resource_tags.is_empty() {
        context.resource_tags = Some(&resource_tags);
    }
    let key = match (&key_policy, key_account(resource)) {
        (Some(policy), Some(account)) => Some((account, policy)),
        (Some(_), None) => return Err("a key policy needs a key ARN".into()),
        (None, _) => None,
    };
    let request = Request {
        action,
        resource,
        key,
    };
    let decision = decide(&request, &identity, &context);
    let got = match decision {
        Decision::Allow => "allow",
        Decision::Deny(Denial::ExplicitInIdentityPolicy | Denial::ExplicitInResourcePolicy) => {
            "explicit_deny"
        }
        Decision::Deny(_) => "implicit_deny",
    };
    let expected = field("expect")?.as_str().ok_or("expect")?;
    if got == expected {
        Ok(())
    } else {
        Err(format!("expected {expected}, got {decision:?}"))
    }
}

#[test]
fn every_fixture_gets_the_decision_aws_documents() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/policy");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("fixtures")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut failures = Vec::new();
    let mut total = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).expect("read");
        let doc: Value = serde_json::from_str(&text).expect("fixture JSON");
        for case in doc["cases"].as_array().expect("cases") {
            total += 1;
            if let Err(problem) = run_case(case) {
                failures.push(Outcome {
                    file: path
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into(),
                    name: case["name"].as_str().unwrap_or("?").to_owned(),
                    problem,
                });
            }
        }
    }
    assert!(total >= 300, "only {total} cases");
    let report: Vec<String> = failures
        .iter()
        .map(|f| format!("{}: {}: {}", f.file, f.name, f.problem))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        report.join("\n")
    );
}
