//! Files of an export: gzip in and out (bounded, so a hostile file cannot exhaust memory), the
//! public key in PEM, and timestamps on the command line.

use std::io::{Read, Write};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::bufread::GzDecoder;
use flate2::write::GzEncoder;
use time::OffsetDateTime;

/// The public key's file name at the top of an export.
pub const PUBLIC_KEY_FILE: &str = "audit-public-key.pem";
/// Uncompressed files larger than this are refused when reading an export (a log file holds at
/// most 5000 records).
const MAX_UNCOMPRESSED: u64 = 512 * 1024 * 1024;

/// Writes `content` gzipped to `root/object`, creating directories.
pub fn write_gzip(root: &Path, object: &str, content: &[u8]) -> Result<(), String> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder
        .write_all(content)
        .map_err(|error| format!("{object}: {error}"))?;
    let compressed = encoder
        .finish()
        .map_err(|error| format!("{object}: {error}"))?;
    write_file(root, object, &compressed)
}

/// Writes `content` to `root/object`, creating directories. Object names come from the store;
/// one that would leave `root` (absolute, or with `..`) is refused rather than followed.
pub fn write_file(root: &Path, object: &str, content: &[u8]) -> Result<(), String> {
    let relative = Path::new(object);
    let inside = relative
        .components()
        .all(|part| matches!(part, std::path::Component::Normal(_)));
    if !inside || object.is_empty() {
        return Err(format!(
            "refusing to write '{object}': not a relative path inside the export"
        ));
    }
    let path = root.join(relative);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
    }
    std::fs::write(&path, content)
        .map_err(|error| format!("cannot write {}: {error}", path.display()))
}

/// Reads and decompresses a gzip file.
pub fn read_gzip(path: &Path) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|error| format!("cannot read: {error}"))?;
    let mut content = Vec::new();
    let mut decoder = GzDecoder::new(std::io::BufReader::new(file));
    (&mut decoder)
        .take(MAX_UNCOMPRESSED + 1)
        .read_to_end(&mut content)
        .map_err(|error| format!("not a readable gzip file: {error}"))?;
    if content.len() as u64 > MAX_UNCOMPRESSED {
        return Err(format!(
            "decompresses to more than {MAX_UNCOMPRESSED} bytes; no audit file is that large"
        ));
    }
    // Other readers (zcat) also read members appended after the first: nothing may follow it.
    let mut rest = [0u8; 1];
    match decoder.into_inner().read(&mut rest) {
        Ok(0) => Ok(content),
        Ok(_) => Err("bytes follow the gzip data (an appended member?)".to_owned()),
        Err(error) => Err(format!("cannot read: {error}")),
    }
}

/// A public key (`SubjectPublicKeyInfo` DER) as PEM.
pub fn pem(public_key: &[u8]) -> String {
    let encoded = STANDARD.encode(public_key);
    let mut text = String::from("-----BEGIN PUBLIC KEY-----\n");
    for line in encoded.as_bytes().chunks(64) {
        text.push_str(&String::from_utf8_lossy(line));
        text.push('\n');
    }
    text.push_str("-----END PUBLIC KEY-----\n");
    text
}

/// A public key from PEM (or raw DER).
pub fn parse_public_key(content: &[u8]) -> Result<Vec<u8>, String> {
    let Ok(text) = std::str::from_utf8(content) else {
        return Ok(content.to_vec());
    };
    let body: String = text
        .lines()
        .map(str::trim)
        .skip_while(|line| *line != "-----BEGIN PUBLIC KEY-----")
        .skip(1)
        .take_while(|line| *line != "-----END PUBLIC KEY-----")
        .collect();
    if body.is_empty() {
        return Err("not a PEM public key (no BEGIN PUBLIC KEY block)".to_owned());
    }
    STANDARD
        .decode(body)
        .map_err(|error| format!("the PEM public key is not valid base64: {error}"))
}

/// A time on the command line: RFC 3339 (`2026-11-29T00:00:00Z`) or Unix seconds.
pub fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    if let Ok(seconds) = text.parse::<i64>() {
        return OffsetDateTime::from_unix_timestamp(seconds)
            .map_err(|error| format!("time '{text}': {error}"));
    }
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|_| format!("time '{text}': use RFC 3339 (2026-11-29T00:00:00Z) or Unix seconds"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_round_trips() {
        let key: Vec<u8> = (0..=200).collect();
        assert_eq!(parse_public_key(pem(&key).as_bytes()).unwrap(), key);
        assert!(parse_public_key(b"hello").is_err());
    }

    #[test]
    fn objects_stay_inside_the_export() {
        let dir = tempfile::tempdir().unwrap();
        for bad in ["../escape.json", "/tmp/escape.json", "a/../../b", ""] {
            assert!(write_file(dir.path(), bad, b"x").is_err(), "{bad}");
        }
        write_file(dir.path(), "a/b/c.json", b"x").unwrap();
        assert_eq!(std::fs::read(dir.path().join("a/b/c.json")).unwrap(), b"x");
    }

    #[test]
    fn appended_gzip_members_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_gzip(dir.path(), "a.json.gz", b"{}").unwrap();
        let path = dir.path().join("a.json.gz");
        assert_eq!(read_gzip(&path).unwrap(), b"{}");
        let mut twice = std::fs::read(&path).unwrap();
        twice.extend(std::fs::read(&path).unwrap());
        std::fs::write(&path, twice).unwrap();
        assert!(read_gzip(&path).unwrap_err().contains("follow"));
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("0").unwrap(), OffsetDateTime::UNIX_EPOCH);
        assert_eq!(
            parse_time("2026-11-29T00:00:00Z").unwrap().unix_timestamp(),
            1_795_910_400
        );
        assert!(parse_time("yesterday").is_err());
    }
}
