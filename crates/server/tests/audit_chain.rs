//! Tamper evidence: an export verifies as written, and every change to it (a flipped byte, a
//! dropped, reordered, duplicated or truncated record, an edited digest, a removed or added
//! file, a corrupted gzip, another signing key) is reported with the file and record it broke
//! at, never with a crash. The live store is checked the same way.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use aws_sdk_kms::primitives::Blob;
use common::{TestServer, create_key};
use strongbox::audit::export::{ExportRequest, export};
use strongbox::audit::verify::{verify_export, verify_store};
use strongbox_core::audit::digest::{DigestBody, open_signed};
use strongbox_core::audit::verify::Report;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A server with activity spread over three digests, and an export of it.
struct Exported {
    server: TestServer,
    public_key: Vec<u8>,
    dir: tempfile::TempDir,
}

async fn exported() -> Exported {
    let server = TestServer::start().await;
    let client = server.client();
    let kms = server.admin_kms().await;
    for round in 0..3 {
        let key = create_key(&client).await;
        for _ in 0..2 {
            client
                .encrypt()
                .key_id(&key)
                .plaintext(Blob::new(format!("round {round}")))
                .send()
                .await
                .unwrap();
        }
        strongbox::audit::digest_now(&kms, None).await.unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let summary = export(&kms, dir.path(), &ExportRequest::default())
        .await
        .unwrap();
    assert_eq!(summary.records, 9);
    assert!(summary.mismatches.is_empty());
    let public_key = kms.audit_public_key().await.unwrap();
    kms.close().await;
    Exported {
        server,
        public_key,
        dir,
    }
}

impl Exported {
    /// A copy of the export to tamper with.
    fn copy(&self) -> tempfile::TempDir {
        let copy = tempfile::tempdir().unwrap();
        common::audit::copy_tree(self.dir.path(), copy.path());
        copy
    }

    fn verify(&self, dir: &Path) -> Report {
        verify_export(dir, &self.public_key).unwrap()
    }
}

/// Files under `dir` whose path contains `part`, sorted.
fn files(dir: &Path, part: &str) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(next) = stack.pop() {
        for entry in std::fs::read_dir(next).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().contains(part) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn log_files(dir: &Path) -> Vec<PathBuf> {
    files(dir, "/CloudTrail/")
}

/// The digests of the home Region's chain (the test server also serves eu-west-1, whose chain
/// holds only the hourly and export digests).
fn digests(dir: &Path) -> Vec<PathBuf> {
    let mut found = files(dir, "/CloudTrail-Digest/us-east-1/");
    // Chain order: by the digest number at the end of the name.
    found.sort_by_key(|path| {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let number = name
            .trim_end_matches(".json.gz")
            .rsplit('_')
            .next()
            .unwrap()
            .to_owned();
        number.parse::<u64>().unwrap()
    });
    found
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut content = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_end(&mut content)
        .unwrap();
    content
}

fn gzip(path: &Path, content: &[u8]) {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(content).unwrap();
    std::fs::write(path, encoder.finish().unwrap()).unwrap();
}

/// Rewrites a log file's records (each as its exact JSON text).
fn edit_records(path: &Path, edit: impl FnOnce(&mut Vec<String>)) {
    #[derive(serde::Deserialize)]
    struct LogFile<'a> {
        #[serde(rename = "Records", borrow)]
        records: Vec<&'a serde_json::value::RawValue>,
    }
    let content = gunzip(path);
    let parsed: LogFile<'_> = serde_json::from_slice(&content).unwrap();
    let mut records: Vec<String> = parsed.records.iter().map(|r| r.get().to_owned()).collect();
    edit(&mut records);
    gzip(
        path,
        format!("{{\"Records\":[{}]}}", records.join(",")).as_bytes(),
    );
}

fn relative(dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The findings as text, for assertions and failure messages.
fn findings(report: &Report) -> Vec<String> {
    report.findings.iter().map(ToString::to_string).collect()
}

fn assert_found(report: &Report, object: &str, record: Option<usize>, words: &str) {
    let all = findings(report);
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.object == object && f.record == record && f.message.contains(words)),
        "expected '{words}' at {object} record {record:?}; found {all:#?}"
    );
}

#[tokio::test]
async fn an_untouched_export_verifies() {
    let export = exported().await;
    let report = export.verify(export.dir.path());
    assert!(report.findings.is_empty(), "{:#?}", findings(&report));
    // Per Region: one at server start (empty), three from the rounds, one ending the export.
    assert_eq!(report.digests, 10);
    assert_eq!(report.log_files, 3);
    assert_eq!(report.records, 9);
    export.server.stop().await;
}

#[tokio::test]
async fn changed_records_are_located() {
    let export = exported().await;

    // A flipped byte inside the second record of the first log file.
    let copy = export.copy();
    let file = log_files(copy.path())[0].clone();
    let object = relative(copy.path(), &file);
    edit_records(&file, |records| {
        records[1] = records[1].replacen("\"Encrypt\"", "\"Encrypu\"", 1);
    });
    let report = export.verify(copy.path());
    assert_found(
        &report,
        &object,
        None,
        "does not match the hash in its digest",
    );
    assert_found(
        &report,
        &object,
        Some(3),
        "previousHash does not match the hash of sequence 2",
    );

    // A dropped record.
    let copy = export.copy();
    let file = log_files(copy.path())[0].clone();
    let object = relative(copy.path(), &file);
    edit_records(&file, |records| {
        records.remove(1);
    });
    let report = export.verify(copy.path());
    assert_found(
        &report,
        &object,
        None,
        "holds 2 records; its digest lists 3",
    );
    assert_found(&report, &object, Some(2), "sequence 3 where 2 was expected");

    // Two records swapped.
    let copy = export.copy();
    let file = log_files(copy.path())[1].clone();
    let object = relative(copy.path(), &file);
    edit_records(&file, |records| records.swap(0, 1));
    let report = export.verify(copy.path());
    assert_found(&report, &object, Some(1), "sequence 5 where 4 was expected");

    // A duplicated record.
    let copy = export.copy();
    let file = log_files(copy.path())[1].clone();
    let object = relative(copy.path(), &file);
    edit_records(&file, |records| {
        let again = records[0].clone();
        records.insert(1, again);
    });
    let report = export.verify(copy.path());
    assert_found(&report, &object, Some(2), "sequence 4 where 5 was expected");

    // The last record cut off: the digest's pinned head no longer matches.
    let copy = export.copy();
    let file = log_files(copy.path())[2].clone();
    let object = relative(copy.path(), &file);
    edit_records(&file, |records| {
        records.pop();
    });
    let report = export.verify(copy.path());
    assert_found(&report, &object, None, "holds 2 records");
    assert!(
        findings(&report)
            .iter()
            .any(|f| f.contains("records end at sequence 8"))
    );

    // A file truncated mid-record: reported, not a crash.
    let copy = export.copy();
    let file = log_files(copy.path())[0].clone();
    let object = relative(copy.path(), &file);
    let content = gunzip(&file);
    gzip(&file, &content[..content.len() / 2]);
    let report = export.verify(copy.path());
    assert_found(&report, &object, None, "not a log file");
    export.server.stop().await;
}

#[tokio::test]
async fn changed_files_are_located() {
    let export = exported().await;

    // An edited digest: its signature fails, and the next digest no longer links to it.
    let copy = export.copy();
    let chain = digests(copy.path());
    let object = relative(copy.path(), &chain[2]);
    let text = String::from_utf8(gunzip(&chain[2])).unwrap();
    let edited = text.replacen("\"digestEndTime\":\"20", "\"digestEndTime\":\"19", 1);
    assert_ne!(text, edited);
    gzip(&chain[2], edited.as_bytes());
    let report = export.verify(copy.path());
    assert_found(&report, &object, None, "signature does not verify");
    assert_found(
        &report,
        &relative(copy.path(), &chain[3]),
        None,
        "does not chain to the previous digest",
    );

    // The newest log file removed: its digest still lists it.
    let copy = export.copy();
    let newest = log_files(copy.path()).pop().unwrap();
    let object = relative(copy.path(), &newest);
    std::fs::remove_file(&newest).unwrap();
    let report = export.verify(copy.path());
    assert_found(&report, &object, None, "missing: listed by digest");

    // A digest removed from the middle: a gap, and its log file is listed by no digest.
    let copy = export.copy();
    let chain = digests(copy.path());
    std::fs::remove_file(&chain[2]).unwrap();
    let report = export.verify(copy.path());
    assert_found(
        &report,
        &relative(copy.path(), &chain[3]),
        None,
        "follows digest 2",
    );
    assert!(
        findings(&report)
            .iter()
            .any(|f| f.contains("not listed by any digest"))
    );

    // A second checkpoint-like file, and a FIFO (which must not block the check).
    let copy = export.copy();
    let stray = copy
        .path()
        .join("111122223333/CloudTrail-Digest/us-east-1/0.json");
    std::fs::write(&stray, b"{}").unwrap();
    let fifo = copy
        .path()
        .join("111122223333/CloudTrail/us-east-1/pipe.json.gz");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let report = export.verify(copy.path());
    assert_found(
        &report,
        &relative(copy.path(), &stray),
        None,
        "not part of an audit export",
    );
    assert_found(
        &report,
        &relative(copy.path(), &fifo),
        None,
        "not a regular file",
    );

    // An added log file, a stray file, and a digest that is not gzip at all.
    let copy = export.copy();
    let original = log_files(copy.path())[0].clone();
    let added =
        original.with_file_name("111122223333_CloudTrail_us-east-1_20991231T0000Z_1-3.json.gz");
    std::fs::copy(&original, &added).unwrap();
    std::fs::write(copy.path().join("notes.txt"), "hello").unwrap();
    let chain = digests(copy.path());
    std::fs::write(&chain[1], b"\x1f\x8b garbage that is not gzip").unwrap();
    let report = export.verify(copy.path());
    assert_found(
        &report,
        &relative(copy.path(), &added),
        None,
        "not listed by any digest",
    );
    assert_found(&report, "notes.txt", None, "not part of an audit export");
    assert_found(
        &report,
        &relative(copy.path(), &chain[1]),
        None,
        "not a readable gzip file",
    );

    // The newest digest removed with the log file it lists: the manifest still names it.
    let copy = export.copy();
    let chain = digests(copy.path());
    let newest = chain.last().unwrap().clone();
    std::fs::remove_file(&newest).unwrap();
    let report = export.verify(copy.path());
    assert_found(
        &report,
        &relative(copy.path(), &newest),
        None,
        "the export ends at digest 5",
    );

    // The oldest digest removed: the manifest says where the export starts.
    let copy = export.copy();
    let oldest = digests(copy.path())[0].clone();
    std::fs::remove_file(&oldest).unwrap();
    let report = export.verify(copy.path());
    assert_found(
        &report,
        &relative(copy.path(), &oldest),
        None,
        "the export starts at digest 1",
    );

    // A whole chain removed, the manifest removed, or the manifest edited.
    let copy = export.copy();
    std::fs::remove_dir_all(copy.path().join("111122223333/CloudTrail-Digest/eu-west-1")).unwrap();
    let report = export.verify(copy.path());
    assert!(
        findings(&report)
            .iter()
            .any(|f| f.contains("none of its digests are here")),
        "{:#?}",
        findings(&report)
    );
    let copy = export.copy();
    std::fs::remove_file(copy.path().join("export-manifest.json")).unwrap();
    assert_found(
        &export.verify(copy.path()),
        "export-manifest.json",
        None,
        "missing",
    );
    let copy = export.copy();
    let manifest = copy.path().join("export-manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replacen("\"lastDigestSequence\":5", "\"lastDigestSequence\":4", 2),
    )
    .unwrap();
    assert_found(
        &export.verify(copy.path()),
        "export-manifest.json",
        None,
        "signature does not verify",
    );

    // Another signing key: nothing verifies.
    let other = strongbox_core::audit::digest::generate_signing_key().unwrap();
    let other = strongbox_core::audit::digest::public_key(&other).unwrap();
    let report = verify_export(export.dir.path(), &other).unwrap();
    assert_eq!(
        report
            .findings
            .iter()
            .filter(|f| f.message.contains("signature does not verify"))
            .count(),
        11,
        "ten digests and the manifest"
    );
    export.server.stop().await;
}

#[tokio::test]
async fn the_live_store_is_checked_too() {
    let mut export = exported().await;
    // A record after the newest digest, so the tail is checked as well.
    create_key(&export.server.client()).await;
    let kms = export.server.admin_kms().await;
    let report = verify_store(&kms, &export.public_key).await.unwrap();
    assert!(report.findings.is_empty(), "{:#?}", findings(&report));
    assert_eq!(report.records, 10);

    kms.close().await;
    export.server.halt().await;

    // Someone with write access to the journal: record 2 edited (its checksum made right
    // again), record 10 (after the newest digest) removed, and one byte of record 6 flipped.
    let journal = strongbox::datadir::audit_journal_path(&export.server.data_dir);
    edit_journal(&journal, |sequence, body| match sequence {
        2 => {
            let text = String::from_utf8(body.to_vec()).unwrap();
            Some(text.replacen("\"Encrypt\"", "\"Encrypu\"", 1).into_bytes())
        }
        10 => Some(Vec::new()),
        _ => None,
    });
    let kms = export.server.admin_kms().await;
    let report = verify_store(&kms, &export.public_key).await.unwrap();
    let all = findings(&report);
    assert!(
        all.iter()
            .any(|f| f.contains("does not match the hash in its digest")),
        "{all:#?}"
    );
    assert!(
        all.iter()
            .any(|f| f.contains("previousHash does not match the hash of sequence 2")),
        "{all:#?}"
    );
    assert_eq!(report.records, 9, "{all:#?}");
    kms.close().await;

    flip_byte_of_record(&journal, 6);
    let kms = export.server.admin_kms().await;
    let report = verify_store(&kms, &export.public_key).await.unwrap();
    let all = findings(&report);
    assert!(
        all.iter()
            .any(|f| f.contains(".log: ") && f.contains("are not intact records")),
        "{all:#?}"
    );
    assert!(
        all.iter()
            .any(|f| f.contains("the records end at sequence 5")),
        "{all:#?}"
    );
    kms.close().await;
}

/// The frames of the journal's unsealed segments: `(segment, frame offset, frame length,
/// sequence)`, in file order.
fn journal_frames(journal: &Path) -> Vec<(PathBuf, usize, usize, u64)> {
    let mut frames = Vec::new();
    for path in files(journal, ".log") {
        let bytes = std::fs::read(&path).unwrap();
        let mut at = 8;
        while at + 8 <= bytes.len() {
            let length = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            let body = &bytes[at + 8..at + 8 + length];
            let account = body[0] as usize;
            let region = body[1 + account] as usize;
            let at_sequence = 2 + account + region;
            let sequence =
                u64::from_le_bytes(body[at_sequence..at_sequence + 8].try_into().unwrap());
            frames.push((path.clone(), at, 8 + length, sequence));
            at += 8 + length;
        }
    }
    frames
}

/// Rewrites journal records: `edit(sequence, record)` returns a new record (empty: removed)
/// or `None`; checksums are made right, as a careful attacker would.
fn edit_journal(journal: &Path, edit: impl Fn(u64, &[u8]) -> Option<Vec<u8>>) {
    for path in files(journal, ".log") {
        let bytes = std::fs::read(&path).unwrap();
        let mut out = bytes[..8].to_vec();
        for (_, at, length, sequence) in journal_frames(journal).into_iter().filter(|f| f.0 == path)
        {
            let body = &bytes[at + 8..at + length];
            let account = body[0] as usize;
            let region = body[1 + account] as usize;
            let header = 2 + account + region + 16;
            match edit(sequence, &body[header..]) {
                None => out.extend_from_slice(&bytes[at..at + length]),
                Some(record) if record.is_empty() => {}
                Some(record) => {
                    let mut new_body = body[..header].to_vec();
                    new_body.extend_from_slice(&record);
                    out.extend_from_slice(&(new_body.len() as u32).to_le_bytes());
                    out.extend_from_slice(&crc32fast::hash(&new_body).to_le_bytes());
                    out.extend_from_slice(&new_body);
                }
            }
        }
        std::fs::write(&path, out).unwrap();
    }
}

/// Flips one byte inside record `sequence`, leaving its checksum wrong.
fn flip_byte_of_record(journal: &Path, sequence: u64) {
    let (path, at, length, _) = journal_frames(journal)
        .into_iter()
        .find(|frame| frame.3 == sequence)
        .unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[at + length - 10] ^= 0x20;
    std::fs::write(&path, bytes).unwrap();
}

/// The period (`digestStartTime`, `digestEndTime`) of every digest file under `dir`.
fn digest_periods(dir: &Path) -> Vec<(OffsetDateTime, OffsetDateTime)> {
    let parse = |text: &str| OffsetDateTime::parse(text, &Rfc3339).unwrap();
    files(dir, "/CloudTrail-Digest/")
        .iter()
        .map(|path| {
            let body = open_signed::<DigestBody>(&gunzip(path)).unwrap().body;
            (parse(&body.digest_start_time), parse(&body.digest_end_time))
        })
        .collect()
}

#[tokio::test]
async fn a_ranged_export_holds_only_the_digests_that_overlap_the_range() {
    let full = exported().await;
    let periods = digest_periods(full.dir.path());
    let first_start = periods.iter().map(|(start, _)| *start).min().unwrap();
    let kms = full.server.admin_kms().await;
    let ranged = |start: Option<OffsetDateTime>, end: Option<OffsetDateTime>| {
        let kms = &kms;
        async move {
            let dir = tempfile::tempdir().unwrap();
            let request = ExportRequest {
                start,
                end,
                ..ExportRequest::default()
            };
            let summary = export(kms, dir.path(), &request).await.unwrap();
            (summary, digest_periods(dir.path()), dir)
        }
    };

    // Ending before the first record: nothing (it used to export the chain's first digest).
    let second = time::Duration::seconds(1);
    let (summary, periods, _dir) = ranged(None, Some(first_start - second)).await;
    assert_eq!((summary.digests, summary.records), (0, 0), "{periods:?}");

    // Ending at the first digest's start: that digest is in, and nothing starting later.
    let (summary, periods, _dir) = ranged(None, Some(first_start)).await;
    assert!(summary.digests >= 1);
    assert!(
        periods.iter().all(|(start, _)| *start <= first_start),
        "{periods:?}"
    );

    // A month-long range before today (the case that was reported): nothing.
    let month_ago = first_start - time::Duration::days(31);
    let (summary, _, _dir) = ranged(Some(month_ago), Some(first_start - second)).await;
    assert_eq!(summary.digests, 0);

    // Starting after every digest of the first export: none of those digests.
    let last_end = digest_periods(full.dir.path())
        .iter()
        .map(|(_, end)| *end)
        .max()
        .unwrap();
    let (_, periods, _dir) = ranged(Some(last_end + second), None).await;
    assert!(
        periods.iter().all(|(_, end)| *end > last_end),
        "{periods:?}"
    );

    kms.close().await;
    full.server.stop().await;
}
