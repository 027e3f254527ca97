//! The canonical request and the string to sign: the exact bytes the client hashed and signed,
//! rebuilt from the request as received.
//!
//! Rules: <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>.
//! Services other than S3 normalize the path and encode it a second time, which is what the SDKs
//! do for KMS and what AWS's test suite expects.

use aws_lc_rs::digest;

use crate::authorization::{ALGORITHM, CredentialScope};
use crate::{Request, VerifyError};

/// Builds the canonical request. It is bytes rather than a string because header values may
/// carry non-UTF-8 octets, which the client signed as they were.
///
/// # Errors
/// [`VerifyError::SignedHeaderMissing`] when a name in `signed_headers` is not in the request.
pub(crate) fn canonical_request(
    request: &Request<'_>,
    signed_headers: &[String],
    payload_hash: &str,
) -> Result<Vec<u8>, VerifyError> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(request.method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_uri(request.path).as_bytes());
    out.push(b'\n');
    out.extend_from_slice(canonical_query(request.query).as_bytes());
    out.push(b'\n');
    for name in signed_headers {
        canonical_header(&mut out, request.headers, name)?;
    }
    out.push(b'\n');
    out.extend_from_slice(signed_headers.join(";").as_bytes());
    out.push(b'\n');
    out.extend_from_slice(payload_hash.as_bytes());
    Ok(out)
}

/// Builds the string to sign from the raw `x-amz-date` value, the scope and the canonical
/// request.
pub(crate) fn string_to_sign(
    amz_date: &str,
    scope: &CredentialScope,
    canonical_request: &[u8],
) -> String {
    let hash = digest::digest(&digest::SHA256, canonical_request);
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", hex::encode(hash))
}

/// The lowercase hex SHA-256 that ends the canonical request.
pub(crate) fn payload_hash(body: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, body))
}

/// Normalizes the path and encodes it (again): `/a/./b//c%3D` becomes `/a/b/c%253D`.
fn canonical_uri(path: &str) -> String {
    let normalized = normalize_path(path);
    let mut out = String::with_capacity(normalized.len() * 3);
    for (index, segment) in normalized.split('/').enumerate() {
        if index > 0 {
            out.push('/');
        }
        uri_encode(segment.as_bytes(), &mut out);
    }
    out
}

/// Removes `.` and `..` segments and empty segments (duplicate slashes), keeping a trailing
/// slash, as RFC 3986 section 5.2.4 and AWS's `normalize-path` test cases do. `..` above the
/// root stays at the root.
fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut normalized = String::with_capacity(path.len() + 1);
    for segment in &segments {
        normalized.push('/');
        normalized.push_str(segment);
    }
    let trailing_slash = ["/", "/.", "/.."].iter().any(|end| path.ends_with(end));
    if normalized.is_empty() || trailing_slash {
        normalized.push('/');
    }
    normalized
}

/// Decodes each name and value, encodes it with the unreserved set, and sorts the pairs by
/// encoded name, then encoded value. A parameter without `=` has an empty value.
///
/// Only `%XX` is decoded; `+` stays a literal plus (RFC 3986), since SDKs encode spaces as `%20`.
/// Escapes that decode to invalid UTF-8 are re-encoded byte for byte. (The Rust SDK's signer
/// would sign U+FFFD instead; KMS requests carry no query, so this edge does not matter here.)
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (reencode(name), reencode(value))
        })
        .collect();
    pairs.sort();
    let pairs: Vec<String> = pairs
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    pairs.join("&")
}

/// Appends `name:value1,value2\n`: every value of the header in the order received, each trimmed
/// and with runs of spaces collapsed to one.
fn canonical_header(
    out: &mut Vec<u8>,
    headers: &http::HeaderMap,
    name: &str,
) -> Result<(), VerifyError> {
    let mut values = headers.get_all(name).iter().peekable();
    if values.peek().is_none() {
        return Err(VerifyError::SignedHeaderMissing(name.to_owned()));
    }
    out.extend_from_slice(name.as_bytes());
    out.push(b':');
    for (index, value) in values.enumerate() {
        if index > 0 {
            out.push(b',');
        }
        trim_all(value.as_bytes(), out);
    }
    out.push(b'\n');
    Ok(())
}

/// Appends `value` without leading or trailing spaces and with each run of spaces collapsed to
/// one. Only the space character counts, as in the SDKs' signers; tabs are left alone.
fn trim_all(value: &[u8], out: &mut Vec<u8>) {
    let start = value.iter().position(|&b| b != b' ').unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(start, |i| i + 1);
    let mut previous_space = false;
    for &byte in &value[start..end] {
        let space = byte == b' ';
        if !(space && previous_space) {
            out.push(byte);
        }
        previous_space = space;
    }
}

/// Percent-decodes `%XX` (leaving malformed escapes as they are) and encodes the result again.
fn reencode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let escaped = (byte == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|digits| {
                let mut decoded_byte = [0_u8];
                hex::decode_to_slice(digits, &mut decoded_byte).ok()?;
                Some(decoded_byte[0])
            });
        match escaped {
            Some(decoded_byte) => {
                decoded.push(decoded_byte);
                index += 3;
            }
            None => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    let mut out = String::with_capacity(decoded.len() * 3);
    uri_encode(&decoded, &mut out);
    out
}

/// Appends `bytes` with every byte outside RFC 3986's unreserved set (`A-Z a-z 0-9 - . _ ~`)
/// written as `%XX` with uppercase hex digits, as SigV4 requires.
fn uri_encode(bytes: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(byte >> 4)]));
            out.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_test_suite() {
        let cases = crate::suite::cases();
        assert!(cases.len() >= 30, "fixtures missing: {} cases", cases.len());
        for case in cases {
            let auth = crate::Authorization::parse(&case.authorization).unwrap();
            let request = Request {
                method: &case.method,
                path: &case.path,
                query: &case.query,
                headers: &case.headers,
                body: &case.body,
            };
            let payload_hash = payload_hash(&case.body);
            let canonical =
                canonical_request(&request, &auth.signed_headers, &payload_hash).unwrap();
            assert_eq!(
                String::from_utf8(canonical.clone()).unwrap(),
                case.canonical_request,
                "{}",
                case.name
            );
            let amz_date = case.headers["x-amz-date"].to_str().unwrap();
            let string_to_sign = string_to_sign(amz_date, &auth.scope, &canonical);
            assert_eq!(string_to_sign, case.string_to_sign, "{}", case.name);
        }
    }

    #[test]
    fn normalizes_paths_like_the_test_suite() {
        for (path, expected) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/a/b/.", "/a/b/"),
            ("/a/b/..", "/a/"),
            ("/../a", "/a"),
            ("/a/../../b/", "/b/"),
            ("/a/.../b", "/a/.../b"),
        ] {
            assert_eq!(normalize_path(path), expected, "{path}");
        }
    }

    #[test]
    fn encodes_the_path_twice() {
        assert_eq!(canonical_uri("/example space/"), "/example%20space/");
        assert_eq!(
            canonical_uri("/test/@connections/JBDvjfGEIAMCERw%3D"),
            "/test/%40connections/JBDvjfGEIAMCERw%253D"
        );
        assert_eq!(canonical_uri("/\u{1234}"), "/%E1%88%B4");
        let unreserved = "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        assert_eq!(canonical_uri(unreserved), unreserved);
    }

    #[test]
    fn sorts_and_reencodes_the_query() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(
            canonical_query("Param2=value2&Param1=value1"),
            "Param1=value1&Param2=value2"
        );
        assert_eq!(
            canonical_query("Param-3=Value3&Param=Value2&%E1%88%B4=Value1"),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"
        );
        assert_eq!(canonical_query("\u{1234}=bar"), "%E1%88%B4=bar");
        assert_eq!(canonical_query("b=2&a&a=1&&c="), "a=&a=1&b=2&c=");
        assert_eq!(canonical_query("k=a%2fb+c%zz%4"), "k=a%2Fb%2Bc%25zz%254");
    }

    #[test]
    fn trims_and_collapses_spaces_only() {
        for (value, expected) in [
            ("value1", "value1"),
            ("  \"a   b   c\"  ", "\"a b c\""),
            ("   ", ""),
            ("", ""),
            ("a\t\tb", "a\t\tb"),
            (" a  b ", "a b"),
        ] {
            let mut out = Vec::new();
            trim_all(value.as_bytes(), &mut out);
            assert_eq!(out, expected.as_bytes(), "{value:?}");
        }
    }

    #[test]
    fn joins_repeated_headers_in_order_and_names_a_missing_one() {
        let mut headers = http::HeaderMap::new();
        for value in ["value4", " value1 ", "value3"] {
            headers.append("my-header1", http::HeaderValue::from_static(value));
        }
        let mut out = Vec::new();
        canonical_header(&mut out, &headers, "my-header1").unwrap();
        assert_eq!(out, b"my-header1:value4,value1,value3\n");
        assert_eq!(
            canonical_header(&mut out, &headers, "host"),
            Err(VerifyError::SignedHeaderMissing("host".into()))
        );
    }
}
