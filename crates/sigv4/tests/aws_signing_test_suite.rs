//! AWS's published SigV4 test suite, header-authentication cases: each signed request must
//! verify with the suite's credentials and time, and must stop verifying when its signature,
//! body, a signed header, the method, path or query, or the secret changes.
//!
//! Which cases are copied and which are skipped (presigned URLs, S3-style unnormalized paths,
//! SigV4a, and the inconsistent double-encode-path) is listed in
//! `tests/fixtures/aws-signing-test-suite/README.md`.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic with the case name is the failure report"
)]

#[path = "common/suite.rs"]
mod suite;

use strongbox_sigv4::{
    Authorization, CredentialScope, Request, Signer, SigningKey, VerifyError, verify,
    verify_with_key,
};
use suite::Case;

/// The number of cases copied; a lost fixture directory must fail the suite, not shrink it.
const CASES: usize = 32;
const CONTENT_SHA256: &str = "x-amz-content-sha256";

fn request(case: &Case) -> Request<'_> {
    Request {
        method: &case.method,
        path: &case.path,
        query: &case.query,
        headers: &case.headers,
        body: &case.body,
    }
}

fn authorization(case: &Case) -> Authorization {
    Authorization::parse(&case.authorization).unwrap_or_else(|err| panic!("{}: {err}", case.name))
}

fn check(case: &Case, request: &Request<'_>) -> Result<(), VerifyError> {
    verify(
        &authorization(case),
        request,
        case.secret.as_bytes(),
        case.now,
    )
}

/// The suite's case that adds `X-Amz-Security-Token` after signing: SigV4 itself accepts a
/// header outside `SignedHeaders`, but this verifier refuses every unsigned `x-amz-*` header.
const UNSIGNED_AMZ_HEADER_CASE: &str = "post-sts-header-after";

/// The cases this verifier accepts as they are.
fn verifiable_cases() -> Vec<Case> {
    suite::cases()
        .into_iter()
        .filter(|case| case.name != UNSIGNED_AMZ_HEADER_CASE)
        .collect()
}

#[test]
fn a_request_with_an_unsigned_amz_header_is_refused() {
    let case = suite::cases()
        .into_iter()
        .find(|case| case.name == UNSIGNED_AMZ_HEADER_CASE)
        .unwrap();
    assert_eq!(
        check(&case, &request(&case)),
        Err(VerifyError::AmzHeaderNotSigned(
            "x-amz-security-token".to_owned()
        ))
    );
}

#[test]
fn every_case_verifies() {
    assert_eq!(suite::cases().len(), CASES);
    let cases = verifiable_cases();
    assert_eq!(cases.len(), CASES - 1);
    for case in &cases {
        let auth = authorization(case);
        assert_eq!(auth.access_key_id, "AKIDEXAMPLE", "{}", case.name);
        assert_eq!(auth.scope.region, case.region, "{}", case.name);
        assert_eq!(auth.scope.service, case.service, "{}", case.name);
        assert_eq!(check(case, &request(case)), Ok(()), "{}", case.name);
    }
}

#[test]
fn a_derived_signing_key_verifies_what_the_secret_verifies() {
    for case in verifiable_cases() {
        let auth = authorization(&case);
        let key = SigningKey::derive(case.secret.as_bytes(), &auth.scope);
        assert_eq!(
            verify_with_key(&auth, &request(&case), case.now, |_| &key),
            Ok(()),
            "{}",
            case.name
        );
        let wrong_secret = SigningKey::derive(b"not the secret", &auth.scope);
        assert_eq!(
            verify_with_key(&auth, &request(&case), case.now, |_| &wrong_secret),
            Err(VerifyError::SignatureMismatch),
            "{}",
            case.name
        );
        let next_day = CredentialScope {
            date: "20991231".to_owned(),
            ..auth.scope.clone()
        };
        let other_scope = SigningKey::derive(case.secret.as_bytes(), &next_day);
        assert_eq!(
            verify_with_key(&auth, &request(&case), case.now, |_| &other_scope),
            Err(VerifyError::SignatureMismatch),
            "{}",
            case.name
        );
        // The checks before the signature still come first.
        let late = case.now + time::Duration::hours(1);
        // Signed an hour before the server's clock: expired.
        assert!(matches!(
            verify_with_key(&auth, &request(&case), late, |_| -> SigningKey {
                panic!("no key is needed for an expired request")
            }),
            Err(VerifyError::Expired { .. })
        ));
    }
}

#[test]
fn the_signer_reproduces_every_authorization_header() {
    for case in suite::cases() {
        let auth = authorization(&case);
        let signer = Signer::new(&auth.access_key_id, case.secret.as_bytes(), auth.scope);
        let signed = signer
            .authorization(&request(&case), &auth.signed_headers)
            .unwrap_or_else(|err| panic!("{}: {err}", case.name));
        assert_eq!(signed, case.authorization, "{}", case.name);
    }
}

#[test]
fn the_signer_refuses_a_request_without_a_date_or_a_signed_header() {
    let case = &suite::cases()[0];
    let auth = authorization(case);
    let signer = Signer::new(
        &auth.access_key_id,
        case.secret.as_bytes(),
        auth.scope.clone(),
    );
    let mut headers = case.headers.clone();
    headers.remove("x-amz-date");
    let undated = Request {
        headers: &headers,
        ..request(case)
    };
    assert_eq!(
        signer.authorization(&undated, &auth.signed_headers),
        Err(VerifyError::MissingDate)
    );
    let mut names = auth.signed_headers.clone();
    names.push("x-not-there".to_owned());
    assert!(matches!(
        signer.authorization(&request(case), &names),
        Err(VerifyError::SignedHeaderMissing { .. })
    ));
}

#[test]
fn unsigned_headers_do_not_matter() {
    for mut case in verifiable_cases() {
        case.headers
            .append("x-unsigned", http::HeaderValue::from_static("anything"));
        case.headers
            .insert("user-agent", http::HeaderValue::from_static("changed"));
        assert_eq!(check(&case, &request(&case)), Ok(()), "{}", case.name);
    }
}

#[test]
fn a_changed_signature_fails() {
    for mut case in verifiable_cases() {
        // Flip the last hex digit of the signature, which ends the header in every case.
        let last = case.authorization.pop().unwrap();
        case.authorization.push(if last == '0' { '1' } else { '0' });
        let err = check(&case, &request(&case));
        assert_eq!(err, Err(VerifyError::SignatureMismatch), "{}", case.name);
    }
}

#[test]
fn a_changed_secret_fails() {
    for mut case in verifiable_cases() {
        case.secret.push('x');
        let err = check(&case, &request(&case));
        assert_eq!(err, Err(VerifyError::SignatureMismatch), "{}", case.name);
    }
}

#[test]
fn a_changed_body_fails() {
    for mut case in verifiable_cases() {
        case.body.push(b'x');
        let expected = if case.headers.contains_key(CONTENT_SHA256) {
            VerifyError::PayloadHashMismatch
        } else {
            VerifyError::SignatureMismatch
        };
        assert_eq!(
            check(&case, &request(&case)),
            Err(expected),
            "{}",
            case.name
        );
    }
}

#[test]
fn a_changed_signed_header_value_fails() {
    for case in verifiable_cases() {
        for name in authorization(&case).signed_headers {
            let mut headers = case.headers.clone();
            let value = headers[name.as_str()].to_str().unwrap().to_owned();
            let (changed, expected) = match name.as_str() {
                // Still a well-formed date on the same day, one second off.
                "x-amz-date" => (next_second(&value), VerifyError::SignatureMismatch),
                CONTENT_SHA256 => (format!("{value}0"), VerifyError::PayloadHashMismatch),
                _ => (format!("{value}x"), VerifyError::SignatureMismatch),
            };
            headers.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(&changed).unwrap(),
            );
            let request = Request {
                headers: &headers,
                ..request(&case)
            };
            assert_eq!(
                check(&case, &request),
                Err(expected),
                "{}: {name}",
                case.name
            );
        }
    }
}

#[test]
fn an_extra_value_for_a_signed_header_fails() {
    for case in verifiable_cases() {
        for name in authorization(&case).signed_headers {
            let mut headers = case.headers.clone();
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_static("extra"),
            );
            let request = Request {
                headers: &headers,
                ..request(&case)
            };
            let err = check(&case, &request).unwrap_err();
            let expected = match name.as_str() {
                "x-amz-date" => matches!(err, VerifyError::MalformedDate { .. }),
                CONTENT_SHA256 => err == VerifyError::PayloadHashMismatch,
                _ => err == VerifyError::SignatureMismatch,
            };
            assert!(expected, "{}: {name}: {err:?}", case.name);
        }
    }
}

#[test]
fn a_changed_method_path_or_query_fails() {
    for case in verifiable_cases() {
        let method = if case.method == "GET" { "POST" } else { "GET" };
        let path = format!("{}x", case.path);
        let query = if case.query.is_empty() {
            "a=b".to_owned()
        } else {
            format!("{}&a=b", case.query)
        };
        let changes = [
            (
                "method",
                Request {
                    method,
                    ..request(&case)
                },
            ),
            (
                "path",
                Request {
                    path: &path,
                    ..request(&case)
                },
            ),
            (
                "query",
                Request {
                    query: &query,
                    ..request(&case)
                },
            ),
        ];
        for (what, changed) in changes {
            let err = check(&case, &changed);
            assert_eq!(
                err,
                Err(VerifyError::SignatureMismatch),
                "{}: {what}",
                case.name
            );
        }
    }
}

/// `20150830T123600Z` becomes `20150830T123601Z`: only the last seconds digit changes, so the
/// date stays valid and on the same day.
fn next_second(amz_date: &str) -> String {
    let digit = amz_date.as_bytes()[14] - b'0';
    let next = char::from(b'0' + (digit + 1) % 10);
    format!("{}{next}Z", &amz_date[..14])
}
