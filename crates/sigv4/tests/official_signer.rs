//! Property test against an independent implementation: random KMS-style POST requests signed
//! by AWS's own `aws-sigv4` crate (what `aws-sdk-kms` uses) must verify with ours, and must stop
//! verifying when one bit of the body flips or the clock is off by more than five minutes.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic with the case name is the failure report"
)]

use std::time::{Duration, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use proptest::prelude::*;
use strongbox_sigv4::{Authorization, Request, VerifyError, verify};

const ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// What varies between generated requests.
#[derive(Debug, Clone)]
struct Input {
    region: String,
    path: String,
    query: String,
    extra_headers: Vec<(String, String)>,
    body: Vec<u8>,
    signed_at: u64,
    session_token: Option<String>,
    content_sha256: bool,
}

fn input() -> impl Strategy<Value = Input> {
    let segment = prop_oneof![
        Just(".".to_owned()),
        Just("..".to_owned()),
        "%[0-7][0-9A-F]",
        "[A-Za-z0-9._~:@!$*+,;=-]{0,6}",
    ];
    let path = prop::collection::vec(segment, 0..4).prop_map(|segments| {
        segments
            .iter()
            .map(|segment| format!("/{segment}"))
            .collect::<String>()
    });
    let parameter = (
        "[A-Za-z0-9._~-]{1,6}",
        "([A-Za-z0-9._~-]|%[0-7][0-9A-F]){0,4}",
    );
    let query = prop::collection::vec(parameter, 0..4).prop_map(|parameters| {
        let pairs: Vec<String> = parameters
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        pairs.join("&")
    });
    // Few names, so repeated headers (joined with ',') are common; values with runs of spaces.
    let header = ("[Xx]-[Tt]est-[a-c]", "[ -~]{0,24}");
    (
        "[a-z]{2}-[a-z]{4,9}-[1-9]",
        prop_oneof![Just("/".to_owned()), path],
        query,
        prop::collection::vec(header, 0..5),
        prop::collection::vec(any::<u8>(), 0..512),
        1_400_000_000_u64..2_000_000_000,
        prop::option::of("[A-Za-z0-9+/]{16,64}"),
        any::<bool>(),
    )
        .prop_map(
            |(
                region,
                path,
                query,
                extra_headers,
                body,
                signed_at,
                session_token,
                content_sha256,
            )| {
                Input {
                    region,
                    path,
                    query,
                    extra_headers,
                    body,
                    signed_at,
                    session_token,
                    content_sha256,
                }
            },
        )
}

/// Builds the request and signs it the way the AWS SDK does, returning it with its headers set.
fn signed_request(input: &Input) -> http::Request<Vec<u8>> {
    let host = format!("kms.{}.amazonaws.com", input.region);
    let separator = if input.query.is_empty() { "" } else { "?" };
    let uri = format!("https://{host}{}{separator}{}", input.path, input.query);
    let mut builder = http::Request::builder()
        .method("POST")
        .uri(&uri)
        .header("host", &host)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", "TrentService.Encrypt");
    for (name, value) in &input.extra_headers {
        builder = builder.header(name, value);
    }
    let mut request = builder.body(input.body.clone()).unwrap();

    let credentials = Credentials::new(
        ACCESS_KEY_ID,
        SECRET,
        input.session_token.clone(),
        None,
        "test",
    );
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    if input.content_sha256 {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&input.region)
        .name("kms")
        .time(UNIX_EPOCH + Duration::from_secs(input.signed_at))
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let instructions = {
        let headers = request
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str(), value.to_str().unwrap()));
        let signable =
            SignableRequest::new("POST", &uri, headers, SignableBody::Bytes(&input.body)).unwrap();
        sign(signable, &params).unwrap().into_parts().0
    };
    instructions.apply_to_request_http1x(&mut request);
    request
}

/// Verifies `request` as the server does: raw path and query from the URI, headers as received.
fn check(request: &http::Request<Vec<u8>>, body: &[u8], now: u64) -> Result<(), VerifyError> {
    let header = request.headers()["authorization"].to_str().unwrap();
    let auth = Authorization::parse(header).unwrap();
    assert_eq!(auth.access_key_id, ACCESS_KEY_ID);
    assert_eq!(auth.scope.service, "kms");
    let request = Request {
        method: request.method().as_str(),
        path: request.uri().path(),
        query: request.uri().query().unwrap_or(""),
        headers: request.headers(),
        body,
    };
    let now = time::OffsetDateTime::from_unix_timestamp(i64::try_from(now).unwrap()).unwrap();
    verify(&auth, &request, SECRET.as_bytes(), now)
}

proptest! {
    #[test]
    fn requests_signed_by_the_sdk_verify(input in input(), skew in -299_i64..=299) {
        let request = signed_request(&input);
        let now = input.signed_at.checked_add_signed(skew).unwrap();
        prop_assert_eq!(check(&request, request.body(), now), Ok(()));
    }

    #[test]
    fn one_flipped_body_bit_fails(input in input(), index in any::<prop::sample::Index>(), bit in 0_u8..8) {
        let request = signed_request(&input);
        let mut body = request.body().clone();
        if body.is_empty() {
            body.push(1 << bit);
        } else {
            let at = index.index(body.len());
            body[at] ^= 1 << bit;
        }
        let expected = if input.content_sha256 {
            VerifyError::PayloadHashMismatch
        } else {
            VerifyError::SignatureMismatch
        };
        prop_assert_eq!(check(&request, &body, input.signed_at), Err(expected));
    }

    #[test]
    fn more_than_five_minutes_of_skew_fails(input in input(), skew in 301_i64..86_400, late in any::<bool>()) {
        let request = signed_request(&input);
        let skew = if late { skew } else { -skew };
        let now = input.signed_at.checked_add_signed(skew).unwrap();
        let err = check(&request, request.body(), now).unwrap_err();
        if late {
            prop_assert!(matches!(err, VerifyError::Expired { .. }), "{err:?}");
        } else {
            prop_assert!(matches!(err, VerifyError::NotYetCurrent { .. }), "{err:?}");
        }
    }
}
