//! The chain checker, shared by `strongbox audit verify` on an export directory and on the live
//! store: the caller feeds digests in chain order, the log files each lists, and (for the live
//! store) the records not yet covered by a digest; every break is reported with the file and
//! record it was found at, and checking goes on after it so one report shows every problem.

use std::fmt;

use super::chain::{self, Head};
use super::digest::{self, CheckpointBody, DigestBody, LogFileEntry, Signed};

/// One problem, located.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The file (export path) or place in the store.
    pub object: String,
    /// The record's position in the file, from 1, when the problem is a record.
    pub record: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.record {
            Some(record) => write!(f, "{}: record {record}: {}", self.object, self.message),
            None => write!(f, "{}: {}", self.object, self.message),
        }
    }
}

/// What a check found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// Digests checked.
    pub digests: u64,
    /// Log files checked.
    pub log_files: u64,
    /// Records checked.
    pub records: u64,
    /// Facts worth knowing that are not failures (a partial export).
    pub notes: Vec<String>,
    /// Failures.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Adds another chain's report.
    pub fn merge(&mut self, other: Report) {
        self.digests += other.digests;
        self.log_files += other.log_files;
        self.records += other.records;
        self.notes.extend(other.notes);
        self.findings.extend(other.findings);
    }

    /// Records a failure.
    pub fn fail(&mut self, object: &str, record: Option<usize>, message: impl Into<String>) {
        self.findings.push(Finding {
            object: object.to_owned(),
            record,
            message: message.into(),
        });
    }
}

/// The last digest checked, which the next must link to.
struct Previous {
    object: String,
    file_hash: String,
    signature: String,
    sequence: u64,
    /// Where the next digest's period starts.
    end_time: String,
}

/// Checks one chain (an account in a Region).
pub struct ChainVerifier<'k> {
    public_key: &'k [u8],
    fingerprint: String,
    account: String,
    region: String,
    previous: Option<Previous>,
    /// The record chain's head; `None` while unknown (a partial export before its first record).
    head: Option<Head>,
    report: Report,
}

impl<'k> ChainVerifier<'k> {
    /// A checker trusting only `public_key` (`SubjectPublicKeyInfo` DER).
    pub fn new(public_key: &'k [u8], account: &str, region: &str) -> Self {
        Self {
            public_key,
            fingerprint: digest::fingerprint(public_key),
            account: account.to_owned(),
            region: region.to_owned(),
            previous: None,
            head: None,
            report: Report::default(),
        }
    }

    /// Continues a chain from a known head (the digest writer checks the records it is about
    /// to sign from where the previous digest left the chain).
    pub fn continue_from(&mut self, head: Head) {
        self.head = Some(head);
    }

    /// Starts from a checkpoint (the chain's prefix was pruned).
    pub fn checkpoint(&mut self, object: &str, file: &[u8]) {
        let Some(opened) = self.open::<CheckpointBody>(object, file) else {
            return;
        };
        let body = opened.body;
        self.check_owner(object, &body.aws_account_id, &body.aws_region);
        self.previous = Some(Previous {
            object: body.pruned_digest_s3_object,
            file_hash: body.pruned_digest_hash_value,
            signature: body.pruned_digest_signature,
            sequence: body.pruned_digest_sequence,
            end_time: body.pruned_digest_end_time,
        });
        self.head = parse_hash(&body.last_record_hash).map(|hash| Head {
            sequence: body.last_record_sequence,
            hash,
        });
        self.report.notes.push(format!(
            "{}/{}: records and digests before digest {} were pruned; checking from the signed checkpoint",
            self.account,
            self.region,
            body.pruned_digest_sequence.saturating_add(1)
        ));
    }

    /// Checks a digest file, the next in chain order, and returns what it covers so the caller
    /// can feed its log files. `None` when the file cannot be read as a digest at all.
    pub fn digest(&mut self, object: &str, file: &[u8]) -> Option<DigestBody> {
        let opened = self.open::<DigestBody>(object, file)?;
        let body = opened.body;
        self.report.digests += 1;
        self.check_owner(object, &body.aws_account_id, &body.aws_region);
        if body.digest_public_key_fingerprint != self.fingerprint {
            self.report.fail(
                object,
                None,
                format!(
                    "names signing key {}, but the trusted key is {}",
                    body.digest_public_key_fingerprint, self.fingerprint
                ),
            );
        }
        if body.digest_s3_object != object {
            self.report.fail(
                object,
                None,
                format!(
                    "the digest names itself {}: it was moved or renamed",
                    body.digest_s3_object
                ),
            );
        }
        match &self.previous {
            Some(previous) => {
                if Some(body.digest_sequence) != previous.sequence.checked_add(1) {
                    self.report.fail(
                        object,
                        None,
                        format!(
                            "digest {} follows digest {}: digests in between are missing, or this one is duplicated or out of order",
                            body.digest_sequence, previous.sequence
                        ),
                    );
                }
                let links = body.previous_digest_hash_value.as_deref()
                    == Some(previous.file_hash.as_str())
                    && body.previous_digest_signature.as_deref()
                        == Some(previous.signature.as_str())
                    && body.previous_digest_s3_object.as_deref() == Some(previous.object.as_str());
                if !links {
                    self.report.fail(
                        object,
                        None,
                        format!("does not chain to the previous digest {}: one of them was changed or replaced", previous.object),
                    );
                }
                if body.digest_start_time != previous.end_time {
                    self.report.fail(
                        object,
                        None,
                        format!(
                            "starts at {}, but the previous digest ended at {}: a period is missing or repeated",
                            body.digest_start_time, previous.end_time
                        ),
                    );
                }
            }
            None if body.previous_digest_hash_value.is_none() => self.head = Some(Head::GENESIS),
            None => self.report.notes.push(format!(
                "{}/{}: the export starts at digest {}; earlier digests are not part of it",
                self.account, self.region, body.digest_sequence
            )),
        }
        // RFC 3339 UTC to the second: text order is time order.
        if body.digest_end_time < body.digest_start_time {
            self.report.fail(
                object,
                None,
                format!(
                    "ends ({}) before it starts ({})",
                    body.digest_end_time, body.digest_start_time
                ),
            );
        }
        self.previous = Some(Previous {
            object: object.to_owned(),
            file_hash: hex::encode(strongbox_crypto::sha256(file)),
            signature: hex::encode(&opened.signature),
            sequence: body.digest_sequence,
            end_time: body.digest_end_time.clone(),
        });
        Some(body)
    }

    /// Checks a log file the current digest lists; `None` when it is missing.
    pub fn log_file(&mut self, digest_object: &str, entry: &LogFileEntry, file: Option<&[u8]>) {
        let object = entry.s3_object.as_str();
        let Some(file) = file else {
            self.report.fail(
                object,
                None,
                format!("missing: listed by digest {digest_object}"),
            );
            self.head = None;
            return;
        };
        self.report.log_files += 1;
        if hex::encode(strongbox_crypto::sha256(file)) != entry.hash_value {
            self.report.fail(
                object,
                None,
                "the content does not match the hash in its digest: it was changed",
            );
        }
        let records = match digest::parse_log_file(file) {
            Ok(records) => records,
            Err(error) => {
                self.report.fail(object, None, error);
                self.head = None;
                return;
            }
        };
        let expected = entry
            .last_sequence
            .saturating_sub(entry.first_sequence)
            .saturating_add(1);
        if records.len() as u64 != expected {
            self.report.fail(
                object,
                None,
                format!(
                    "holds {} records; its digest lists {expected} (sequences {}-{})",
                    records.len(),
                    entry.first_sequence,
                    entry.last_sequence
                ),
            );
        }
        for (index, record) in records.into_iter().enumerate() {
            self.record(object, index + 1, record);
        }
    }

    /// Checks one record against the one before it.
    pub fn record(&mut self, object: &str, position: usize, record: &[u8]) {
        self.report.records += 1;
        let hash = strongbox_crypto::sha256(record);
        let Some(link) = chain::link_of(record) else {
            self.report.fail(
                object,
                Some(position),
                "not a chained audit record (no valid auditChain member)",
            );
            self.head = None;
            return;
        };
        if let Some(head) = self.head {
            if Some(link.sequence) != head.sequence.checked_add(1) {
                self.report.fail(
                    object,
                    Some(position),
                    format!(
                        "sequence {} where {} was expected: records were removed, duplicated or reordered",
                        link.sequence,
                        head.sequence.saturating_add(1)
                    ),
                );
            } else if link.previous_hash != hex::encode(head.hash) {
                self.report.fail(
                    object,
                    Some(position),
                    format!(
                        "previousHash does not match the hash of sequence {}: that record was changed or replaced",
                        head.sequence
                    ),
                );
            }
        }
        if is_recovery(record) {
            self.report.notes.push(format!(
                "{object}: record {position} (sequence {}) marks a recovery after an unclean stop: records of read-only calls in the sync window before it may be missing",
                link.sequence
            ));
        }
        self.head = Some(Head {
            sequence: link.sequence,
            hash,
        });
    }

    /// Ends a digest: the records read must end where the digest says the chain stood.
    pub fn end_digest(&mut self, object: &str, body: &DigestBody) {
        let pinned = parse_hash(&body.last_record_hash).map(|hash| Head {
            sequence: body.last_record_sequence,
            hash,
        });
        if let (Some(head), Some(pinned)) = (self.head, pinned)
            && head != pinned
        {
            self.report.fail(
                object,
                None,
                format!(
                    "the records end at sequence {} but the digest pins sequence {}: records at the end were changed, removed or added",
                    head.sequence, pinned.sequence
                ),
            );
        }
        self.head = pinned;
    }

    /// The report.
    pub fn finish(self) -> Report {
        self.report
    }

    fn open<T: digest::SignedDocument>(&mut self, object: &str, file: &[u8]) -> Option<Signed<T>> {
        let opened = match digest::open_signed::<T>(file) {
            Ok(opened) => opened,
            Err(error) => {
                self.report.fail(object, None, error);
                return None;
            }
        };
        if !digest::signature_valid(self.public_key, &opened.signed, &opened.signature) {
            self.report.fail(
                object,
                None,
                "the signature does not verify with the trusted audit public key: the file was changed or signed by another key",
            );
        }
        Some(opened)
    }

    fn check_owner(&mut self, object: &str, account: &str, region: &str) {
        if account != self.account || region != self.region {
            self.report.fail(
                object,
                None,
                format!(
                    "belongs to {account}/{region}, found in the chain of {}/{}",
                    self.account, self.region
                ),
            );
        }
    }
}

fn parse_hash(text: &str) -> Option<[u8; 32]> {
    hex::decode(text).ok()?.try_into().ok()
}

/// Whether a record is the mark of a recovery after an unclean stop: its own `eventName` (not a
/// request parameter that says so) is the recovery event's and its source is Strongbox's.
fn is_recovery(record: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Named<'a> {
        #[serde(rename = "eventName", borrow)]
        event_name: std::borrow::Cow<'a, str>,
        #[serde(rename = "eventSource", borrow)]
        event_source: std::borrow::Cow<'a, str>,
    }
    // Most records do not even hold the name: no parse for them.
    memchr::memmem::find(record, super::event::RECOVERY_EVENT.as_bytes()).is_some()
        && serde_json::from_slice::<Named<'_>>(record).is_ok_and(|named| {
            named.event_name == super::event::RECOVERY_EVENT
                && named.event_source == super::event::STRONGBOX_SOURCE
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::event::Event;
    use crate::model::{AccountId, KeyArn, KeyId, Region};

    fn chain(count: usize) -> Vec<Vec<u8>> {
        let account = AccountId::parse("111122223333").unwrap();
        let region = Region::parse("us-east-1").unwrap();
        let key = KeyArn {
            region,
            account,
            key_id: KeyId::generate(),
        };
        let time = time::macros::datetime!(2026-11-29 00:00 UTC);
        let mut head = Head::GENESIS;
        (0..count)
            .map(|_| {
                let event = Event::service("RotateKey", &key, time, serde_json::Value::Null);
                let prepared = chain::Prepared::new(&account, &region, time, event).unwrap();
                chain::link(&mut head, prepared).record
            })
            .collect()
    }

    fn check(records: &[Vec<u8>]) -> Report {
        let mut verifier = ChainVerifier::new(&[], "111122223333", "us-east-1");
        verifier.continue_from(Head::GENESIS);
        for (index, record) in records.iter().enumerate() {
            verifier.record("file", index + 1, record);
        }
        verifier.finish()
    }

    fn positions(report: &Report) -> Vec<Option<usize>> {
        report
            .findings
            .iter()
            .map(|finding| finding.record)
            .collect()
    }

    #[test]
    fn an_intact_chain_has_no_findings() {
        let report = check(&chain(5));
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        assert_eq!(report.records, 5);
    }

    #[test]
    fn each_change_is_found_where_it_breaks_the_chain() {
        let mut changed = chain(5);
        let text = String::from_utf8(changed[1].clone()).unwrap();
        changed[1] = text.replace("RotateKey", "RotateKez").into_bytes();
        assert_eq!(positions(&check(&changed)), [Some(3)]);

        let mut removed = chain(5);
        removed.remove(2);
        assert_eq!(positions(&check(&removed)), [Some(3)]);

        let mut swapped = chain(5);
        swapped.swap(1, 2);
        assert_eq!(positions(&check(&swapped)), [Some(2), Some(3), Some(4)]);

        let mut duplicated = chain(5);
        duplicated.insert(2, duplicated[1].clone());
        assert_eq!(positions(&check(&duplicated)), [Some(3)]);

        // Absurd sequences are findings, not overflows.
        let mut verifier = ChainVerifier::new(&[], "111122223333", "us-east-1");
        verifier.continue_from(Head {
            sequence: u64::MAX,
            hash: [0; 32],
        });
        for record in chain(2) {
            verifier.record("file", 1, &record);
        }
        assert!(!verifier.finish().findings.is_empty());

        let mut garbage = chain(3);
        garbage[0] = b"{\"eventName\":\"x\"}".to_vec();
        assert_eq!(positions(&check(&garbage)), [Some(1)]);
    }
}
