//! Verification of a parsed `Authorization` against the request: the date and clock skew, the
//! headers that must be signed, the scope date, the payload hash and finally the signature,
//! compared in constant time.
//!
//! The checks run in roughly AWS's order, cheapest first, so the error a client sees is the one
//! AWS would report.

use aws_lc_rs::constant_time;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::authorization::{Authorization, CredentialScope};
use crate::error::{VerifyError, excerpt};
use crate::signing_key::SigningKey;
use crate::{Request, canonical};

/// How far the signing time (`x-amz-date`) may be from the server's clock, either way. AWS allows
/// five minutes, which limits how long a captured request can be replayed.
pub const MAX_CLOCK_SKEW: Duration = Duration::minutes(5);

/// The header carrying the signing time; SigV4 requires it to be signed.
const AMZ_DATE: &str = "x-amz-date";
/// The optional header carrying the client's hash of the body.
const CONTENT_SHA256: &str = "x-amz-content-sha256";

/// Checks the signature in `auth` against `request`, with the caller's secret access key and the
/// server's time `now`.
///
/// The caller has already looked up `auth.access_key_id` and checked `auth.scope`'s region and
/// service; this function does everything else, without IO.
///
/// # Errors
/// A [`VerifyError`] for the first check that fails.
pub fn verify(
    auth: &Authorization,
    request: &Request<'_>,
    secret_access_key: &[u8],
    now: OffsetDateTime,
) -> Result<(), VerifyError> {
    verify_with_key(auth, request, now, |scope| {
        SigningKey::derive(secret_access_key, scope)
    })
}

/// [`verify`] with a signing key the caller may have kept (see [`SigningKey`]): `key` is asked
/// for the key of `auth.scope` only once every cheaper check has passed, so a request that fails
/// them costs no derivation. A key for another scope than `auth.scope` (another day, say) cannot
/// verify the request: the result is [`VerifyError::SignatureMismatch`], as with a wrong secret.
///
/// # Errors
/// A [`VerifyError`] for the first check that fails.
pub fn verify_with_key<K: AsRef<SigningKey>>(
    auth: &Authorization,
    request: &Request<'_>,
    now: OffsetDateTime,
    key: impl FnOnce(&CredentialScope) -> K,
) -> Result<(), VerifyError> {
    let amz_date = amz_date(request.headers)?;
    let signed_at = parse_amz_date(amz_date)?;
    check_clock_skew(signed_at, now)?;
    check_required_headers(&auth.signed_headers, request.headers)?;
    check_scope_date(&auth.scope, amz_date)?;
    let payload_hash = canonical::payload_hash(request.body);
    check_content_sha256(request.headers, &payload_hash)?;
    let canonical_request =
        canonical::canonical_request(request, &auth.signed_headers, &payload_hash)?;
    let string_to_sign = canonical::string_to_sign(amz_date, &auth.scope, &canonical_request);
    let key = key(&auth.scope);
    let key = key.as_ref();
    if key.scope() != &auth.scope {
        return Err(VerifyError::SignatureMismatch);
    }
    let expected = key.signature(&string_to_sign);
    constant_time::verify_slices_are_equal(expected.as_ref(), &auth.signature)
        .map_err(|_| VerifyError::SignatureMismatch)
}

/// The single `x-amz-date` value, as text.
pub(crate) fn amz_date(headers: &http::HeaderMap) -> Result<&str, VerifyError> {
    let mut values = headers.get_all(AMZ_DATE).iter();
    let first = values.next().ok_or(VerifyError::MissingDate)?;
    let malformed = || VerifyError::MalformedDate {
        date: excerpt(&String::from_utf8_lossy(first.as_bytes())),
    };
    if values.next().is_some() {
        return Err(malformed());
    }
    first.to_str().map_err(|_| malformed())
}

/// Parses `20150830T123600Z` (ISO 8601 basic format, UTC).
fn parse_amz_date(value: &str) -> Result<OffsetDateTime, VerifyError> {
    let bytes = value.as_bytes();
    let shaped = bytes.len() == 16
        && bytes[8] == b'T'
        && bytes[15] == b'Z'
        && bytes[..8]
            .iter()
            .chain(&bytes[9..15])
            .all(u8::is_ascii_digit);
    let format = format_description!("[year][month][day]T[hour][minute][second]Z");
    shaped
        .then(|| PrimitiveDateTime::parse(value, format).ok())
        .flatten()
        .map(PrimitiveDateTime::assume_utc)
        .ok_or_else(|| VerifyError::MalformedDate {
            date: excerpt(value),
        })
}

/// Refuses a signing time more than [`MAX_CLOCK_SKEW`] away from `now`.
fn check_clock_skew(signed_at: OffsetDateTime, now: OffsetDateTime) -> Result<(), VerifyError> {
    let skew = now - signed_at;
    if skew > MAX_CLOCK_SKEW {
        return Err(VerifyError::Expired {
            signed_at: format_amz_date(signed_at),
            earliest: format_amz_date(now.saturating_sub(MAX_CLOCK_SKEW)),
            now: format_amz_date(now),
        });
    }
    if skew < -MAX_CLOCK_SKEW {
        return Err(VerifyError::NotYetCurrent {
            signed_at: format_amz_date(signed_at),
            latest: format_amz_date(now.saturating_add(MAX_CLOCK_SKEW)),
            now: format_amz_date(now),
        });
    }
    Ok(())
}

/// Formats a time as `x-amz-date` does, in UTC and to the second.
fn format_amz_date(time: OffsetDateTime) -> String {
    let time = time.checked_to_offset(UtcOffset::UTC).unwrap_or(time);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

/// Requires `host` (binding the request to this endpoint), `x-amz-date` (binding it to a time)
/// and every `x-amz-*` header the request carries to be signed. The last rule is what keeps a
/// captured request from being replayed as another operation: `x-amz-target` names the
/// operation, and a signature that does not cover it covers no operation. The AWS SDKs sign
/// every `x-amz-*` header they send; `x-amzn-trace-id` (note the `n`) is not one of them.
fn check_required_headers(
    signed_headers: &[String],
    headers: &http::HeaderMap,
) -> Result<(), VerifyError> {
    let signed = |wanted: &str| {
        signed_headers
            .iter()
            .any(|name| name.eq_ignore_ascii_case(wanted))
    };
    if !signed("host") {
        return Err(VerifyError::HostNotSigned);
    }
    if !signed(AMZ_DATE) {
        return Err(VerifyError::DateNotSigned);
    }
    // Header names in an `http::HeaderMap` are lowercase. `x-amz-content-sha256` is checked
    // against the body itself, so it may stay unsigned, as S3 allows.
    match headers
        .keys()
        .map(http::HeaderName::as_str)
        .find(|name| name.starts_with("x-amz-") && *name != CONTENT_SHA256 && !signed(name))
    {
        Some(unsigned) => Err(VerifyError::AmzHeaderNotSigned(unsigned.to_owned())),
        None => Ok(()),
    }
}

/// Requires the scope date to be the date of `x-amz-date` (already checked to be well formed).
fn check_scope_date(scope: &CredentialScope, amz_date: &str) -> Result<(), VerifyError> {
    let date = amz_date.get(..8).unwrap_or(amz_date);
    if scope.date == date {
        return Ok(());
    }
    Err(VerifyError::ScopeDateMismatch {
        scope_date: scope.date.clone(),
        date: date.to_owned(),
        amz_date: amz_date.to_owned(),
    })
}

/// When the client sent `x-amz-content-sha256`, requires it to be the body's hash, so a
/// mismatch gets a precise message instead of a bare signature mismatch.
fn check_content_sha256(headers: &http::HeaderMap, payload_hash: &str) -> Result<(), VerifyError> {
    let all_match = headers
        .get_all(CONTENT_SHA256)
        .iter()
        .all(|value| value.as_bytes() == payload_hash.as_bytes());
    if all_match {
        Ok(())
    } else {
        Err(VerifyError::PayloadHashMismatch)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    /// AWS's get-vanilla example, signed at 2015-08-30T12:36:00Z.
    const GET_VANILLA: &str = "AWS4-HMAC-SHA256 \
        Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
        SignedHeaders=host;x-amz-date, \
        Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";
    const SIGNED_AT: OffsetDateTime = datetime!(2015-08-30 12:36:00 UTC);

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        for &(name, value) in pairs {
            headers.append(name, http::HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn vanilla_headers() -> http::HeaderMap {
        headers(&[
            ("host", "example.amazonaws.com"),
            ("x-amz-date", "20150830T123600Z"),
        ])
    }

    fn check(
        auth: &str,
        headers: &http::HeaderMap,
        now: OffsetDateTime,
    ) -> Result<(), VerifyError> {
        let auth = Authorization::parse(auth).unwrap();
        let request = Request {
            method: "GET",
            path: "/",
            query: "",
            headers,
            body: b"",
        };
        verify(&auth, &request, SECRET, now)
    }

    #[test]
    fn accepts_the_vanilla_example() {
        assert_eq!(check(GET_VANILLA, &vanilla_headers(), SIGNED_AT), Ok(()));
    }

    #[test]
    fn allows_five_minutes_of_skew_either_way() {
        let headers = vanilla_headers();
        for seconds in [-300, -299, 0, 299, 300] {
            let now = SIGNED_AT + Duration::seconds(seconds);
            assert_eq!(check(GET_VANILLA, &headers, now), Ok(()), "{seconds}");
        }
    }

    #[test]
    fn refuses_an_expired_signature() {
        let now = SIGNED_AT + Duration::seconds(301);
        let err = check(GET_VANILLA, &vanilla_headers(), now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z \
             (20150830T124101Z - 5 min.)"
        );
        assert!(!err.is_incomplete());
    }

    #[test]
    fn refuses_a_signature_from_the_future() {
        let now = SIGNED_AT - Duration::seconds(301);
        let err = check(GET_VANILLA, &vanilla_headers(), now).unwrap_err();
        assert_eq!(
            err,
            VerifyError::NotYetCurrent {
                signed_at: "20150830T123600Z".into(),
                latest: "20150830T123559Z".into(),
                now: "20150830T123059Z".into(),
            }
        );
        assert!(
            err.to_string()
                .starts_with("Signature not yet current: 20150830T123600Z is")
        );
    }

    #[test]
    fn refuses_a_scope_date_that_is_not_the_request_date() {
        let headers = headers(&[
            ("host", "example.amazonaws.com"),
            ("x-amz-date", "20150831T000100Z"),
        ]);
        let now = datetime!(2015-08-31 00:01:00 UTC);
        let err = check(GET_VANILLA, &headers, now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from \
             HTTP: '20150830' != '20150831', from '20150831T000100Z'."
        );
        assert!(!err.is_incomplete());
    }

    #[test]
    fn requires_host_and_date_to_be_signed() {
        let headers = vanilla_headers();
        let only_date = GET_VANILLA.replace("host;x-amz-date", "x-amz-date");
        assert_eq!(
            check(&only_date, &headers, SIGNED_AT),
            Err(VerifyError::HostNotSigned)
        );
        assert!(!VerifyError::HostNotSigned.is_incomplete());
        let only_host = GET_VANILLA.replace("host;x-amz-date", "host");
        assert_eq!(
            check(&only_host, &headers, SIGNED_AT),
            Err(VerifyError::DateNotSigned)
        );
        assert!(VerifyError::DateNotSigned.is_incomplete());
    }

    #[test]
    fn requires_every_amz_header_to_be_signed() {
        let mut headers = vanilla_headers();
        headers.insert(
            "x-amz-target",
            http::HeaderValue::from_static("TrentService.DisableKey"),
        );
        let err = check(GET_VANILLA, &headers, SIGNED_AT).unwrap_err();
        assert_eq!(err, VerifyError::AmzHeaderNotSigned("x-amz-target".into()));
        assert!(err.is_incomplete());
        assert_eq!(
            err.to_string(),
            "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization: every x-amz-* header of the request must be signed."
        );
        // Not an x-amz-* header: may stay unsigned.
        let mut headers = vanilla_headers();
        headers.insert("x-amzn-trace-id", http::HeaderValue::from_static("Root=1"));
        assert_eq!(check(GET_VANILLA, &headers, SIGNED_AT), Ok(()));
    }

    #[test]
    fn requires_every_signed_header() {
        let auth = GET_VANILLA.replace("host;x-amz-date", "host;my-header1;x-amz-date");
        let err = check(&auth, &vanilla_headers(), SIGNED_AT).unwrap_err();
        assert_eq!(err, VerifyError::SignedHeaderMissing("my-header1".into()));
        assert!(err.is_incomplete());
    }

    #[test]
    fn requires_one_well_formed_date() {
        let err = check(
            GET_VANILLA,
            &headers(&[("host", "example.amazonaws.com")]),
            SIGNED_AT,
        );
        assert_eq!(err, Err(VerifyError::MissingDate));
        for bad in [
            "2015-08-30T12:36:00Z",
            "20150830T123600",
            "20150830T126000Z",
            "+0150830T123600Z",
        ] {
            let headers = headers(&[("host", "example.amazonaws.com"), ("x-amz-date", bad)]);
            let err = check(GET_VANILLA, &headers, SIGNED_AT).unwrap_err();
            assert_eq!(err, VerifyError::MalformedDate { date: bad.into() });
            assert!(err.is_incomplete());
        }
        let mut twice = vanilla_headers();
        twice.append(
            "x-amz-date",
            http::HeaderValue::from_static("20150830T123600Z"),
        );
        assert!(matches!(
            check(GET_VANILLA, &twice, SIGNED_AT),
            Err(VerifyError::MalformedDate { .. })
        ));
    }

    #[test]
    fn refuses_a_content_hash_that_is_not_the_body_hash() {
        let empty = canonical::payload_hash(b"");
        let mut headers = vanilla_headers();
        headers.insert(CONTENT_SHA256, http::HeaderValue::from_str(&empty).unwrap());
        assert_eq!(check(GET_VANILLA, &headers, SIGNED_AT), Ok(()));
        let other = canonical::payload_hash(b"x");
        headers.insert(CONTENT_SHA256, http::HeaderValue::from_str(&other).unwrap());
        assert_eq!(
            check(GET_VANILLA, &headers, SIGNED_AT),
            Err(VerifyError::PayloadHashMismatch)
        );
        headers.insert(
            CONTENT_SHA256,
            http::HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
        assert_eq!(
            check(GET_VANILLA, &headers, SIGNED_AT),
            Err(VerifyError::PayloadHashMismatch)
        );
    }

    #[test]
    fn refuses_a_wrong_signature_or_secret() {
        let auth = GET_VANILLA.replace("5fa00fa3", "5fa00fa4");
        let err = check(&auth, &vanilla_headers(), SIGNED_AT).unwrap_err();
        assert_eq!(err, VerifyError::SignatureMismatch);
        assert!(!err.is_incomplete());
        assert!(
            err.to_string()
                .starts_with("The request signature we calculated does not match")
        );
        let auth = Authorization::parse(GET_VANILLA).unwrap();
        let headers = vanilla_headers();
        let request = Request {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            body: b"",
        };
        assert_eq!(
            verify(
                &auth,
                &request,
                b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ",
                SIGNED_AT
            ),
            Err(VerifyError::SignatureMismatch)
        );
    }
}
