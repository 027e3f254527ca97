//! Reads the copied AWS SigV4 test suite (`tests/fixtures/aws-signing-test-suite/v4`) into
//! requests the verifier can check. Shared by the integration test and a unit test in
//! `src/canonical.rs`, which includes this file with `#[path]`.

#![allow(
    dead_code,
    reason = "the unit and the integration test each read only some of the fields"
)]

use std::fs;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// The suite's secret access key, for the cases that ship without a `context.json`.
const SUITE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

/// One case: the signed request as a server would receive it, and what the suite expects.
pub(crate) struct Case {
    pub(crate) name: String,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) headers: http::HeaderMap,
    pub(crate) body: Vec<u8>,
    /// The `Authorization` header value.
    pub(crate) authorization: String,
    pub(crate) secret: String,
    /// The suite's signing time, used as the server's `now`.
    pub(crate) now: OffsetDateTime,
    pub(crate) region: String,
    pub(crate) service: String,
    pub(crate) canonical_request: String,
    pub(crate) string_to_sign: String,
}

/// Every case under `v4/`, sorted by name.
pub(crate) fn cases() -> Vec<Case> {
    let root =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws-signing-test-suite/v4");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    dirs.sort();
    dirs.iter().map(|dir| read_case(dir)).collect()
}

fn read_case(dir: &Path) -> Case {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let raw = fs::read(dir.join("header-signed-request.txt")).unwrap();
    let (head, body) = split_head(&raw);
    let head = std::str::from_utf8(head).unwrap();
    let mut lines = head
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line));
    // The request line; the path may hold a raw space (get-space-*), so cut at the ends.
    let request_line = lines.next().unwrap();
    let (method, target) = request_line.split_once(' ').unwrap();
    let target = target.strip_suffix(" HTTP/1.1").unwrap_or(target);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers = parse_headers(lines);
    let authorization = headers["authorization"].to_str().unwrap().to_owned();
    let context = Context::read(dir, &headers);
    // Some expected files end in a newline that is not part of the text.
    let read = |file: &str| {
        let text = fs::read_to_string(dir.join(file)).unwrap();
        text.strip_suffix('\n').unwrap_or(&text).to_owned()
    };
    Case {
        name,
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: body.to_vec(),
        authorization,
        secret: context.secret,
        now: context.now,
        region: context.region,
        service: context.service,
        canonical_request: read("header-canonical-request.txt"),
        string_to_sign: read("header-string-to-sign.txt"),
    }
}

/// Splits the message at the first empty line; without one, the body is empty.
fn split_head(raw: &[u8]) -> (&[u8], &[u8]) {
    match raw.windows(2).position(|pair| pair == b"\n\n") {
        Some(end) => (&raw[..end], &raw[end + 2..]),
        None => (raw.strip_suffix(b"\n").unwrap_or(raw), &[]),
    }
}

/// Parses `Name: value` lines as an HTTP/1.1 server does: surrounding whitespace is dropped,
/// and a folded continuation line (get-header-value-multiline) is joined with one space, as
/// RFC 9112 section 5.2 tells recipients to do.
fn parse_headers<'a>(lines: impl Iterator<Item = &'a str>) -> http::HeaderMap {
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in lines {
        let trimmed = line.trim_matches([' ', '\t']);
        if line.starts_with([' ', '\t']) {
            let (_, value) = fields.last_mut().unwrap();
            value.push(' ');
            value.push_str(trimmed);
        } else {
            let (name, value) = line.split_once(':').unwrap();
            fields.push((name.to_owned(), value.trim_matches([' ', '\t']).to_owned()));
        }
    }
    let mut headers = http::HeaderMap::new();
    for (name, value) in fields {
        headers.append(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
        );
    }
    headers
}

/// The credentials, time and scope of a case.
struct Context {
    secret: String,
    now: OffsetDateTime,
    region: String,
    service: String,
}

impl Context {
    /// Reads `context.json`. The case the Rust SDK added without one (double-url-encode) uses the suite's secret, their own `x-amz-date` and the scope of their `Authorization`.
    fn read(dir: &Path, headers: &http::HeaderMap) -> Context {
        let Ok(json) = fs::read(dir.join("context.json")) else {
            let amz_date = headers["x-amz-date"].to_str().unwrap();
            let format = format_description!("[year][month][day]T[hour][minute][second]Z");
            let now = time::PrimitiveDateTime::parse(amz_date, format)
                .unwrap()
                .assume_utc();
            let credential = headers["authorization"].to_str().unwrap();
            let scope: Vec<&str> = credential.split('/').collect();
            return Context {
                secret: SUITE_SECRET.to_owned(),
                now,
                region: scope[2].to_owned(),
                service: scope[3].to_owned(),
            };
        };
        let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(
            json["normalize"],
            true,
            "{}: only normalized cases are copied",
            dir.display()
        );
        let text = |value: &serde_json::Value| value.as_str().unwrap().to_owned();
        Context {
            secret: text(&json["credentials"]["secret_access_key"]),
            now: OffsetDateTime::parse(json["timestamp"].as_str().unwrap(), &Rfc3339).unwrap(),
            region: text(&json["region"]),
            service: text(&json["service"]),
        }
    }
}
