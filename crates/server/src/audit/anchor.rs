//! Anchoring the audit trail outside the host, so that rolling the whole data directory back
//! (or cutting its newest digests) is detectable.
//!
//! The signing key lives in the same store as the trail: a restored older copy of the data
//! directory verifies on its own. So each new digest's head (chain, digest number, the digest
//! file's hash, the last record covered) is pushed, signed, to a place the server can add to
//! but not rewrite: an append-only file on another mount (`file:PATH`, with `chattr +a`), or a
//! program that forwards it (`command:PATH`: to an object-locked S3 bucket, a remote syslog, a
//! ticket). `strongbox audit verify --anchor FILE` then requires the live trail to contain
//! every anchored digest unchanged: a rollback, a rewrite or a fork is a finding.
//!
//! An anchor is one signed JSON document per line (JSON Lines), so an anchor file is simply
//! every line ever delivered, in any order, duplicates allowed.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use strongbox_core::Kms;
use strongbox_core::audit::StoredDigest;
use strongbox_core::audit::digest::{self, CheckpointBody, DigestBody, SignedDocument};
use strongbox_core::audit::verify::Report;

use super::detail;

/// How long a `command:` anchor program may take before it is killed and the delivery retried.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Anchors kept for a target that keeps failing; the oldest are dropped beyond it (the newest
/// head of each chain is what matters).
const MAX_PENDING: usize = 100_000;

/// One anchored digest head: what a later check needs to prove the live trail still holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AnchorBody {
    /// The chain's account.
    pub aws_account_id: String,
    /// The chain's Region.
    pub aws_region: String,
    /// The digest's number in the chain.
    pub digest_sequence: u64,
    /// The digest's path.
    pub digest_s3_object: String,
    /// Hex SHA-256 of the digest's file.
    pub digest_hash_value: String,
    /// The end of the period the digest covers.
    pub digest_end_time: String,
    /// The last record the digest covers.
    pub last_record_sequence: u64,
    /// Hex SHA-256 of that record.
    pub last_record_hash: String,
}

impl SignedDocument for AnchorBody {
    const TYPE: &'static str = "StrongboxAuditAnchor";
}

/// Where anchors go (`--audit-anchor`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnchorTarget {
    /// Appended to this file (opened `O_APPEND`), fsynced.
    File(PathBuf),
    /// Written to this program's standard input; delivered when it exits 0.
    Command(PathBuf),
}

impl AnchorTarget {
    /// `file:/path` or `command:/path/to/program`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let absolute = |path: &str| {
            let path = PathBuf::from(path);
            if path.is_absolute() {
                Ok(path)
            } else {
                Err(format!("--audit-anchor {text}: the path must be absolute"))
            }
        };
        match text.split_once(':') {
            Some(("file", path)) => absolute(path).map(Self::File),
            Some(("command", path)) => absolute(path).map(Self::Command),
            _ => Err(format!(
                "--audit-anchor {text}: expected file:/path (an append-only file) or command:/path (a program that reads anchors on its standard input)"
            )),
        }
    }

    /// Delivers `lines` (each ending in a newline) once, or says why not.
    fn deliver(&self, lines: &[u8]) -> Result<(), String> {
        match self {
            Self::File(path) => {
                let mut file = std::fs::OpenOptions::new()
                    .append(true)
                    .create(true)
                    .mode(0o600)
                    .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
                    .open(path)
                    .map_err(|error| format!("{}: {error}", path.display()))?;
                file.write_all(lines)
                    .and_then(|()| file.sync_data())
                    .map_err(|error| format!("{}: {error}", path.display()))
            }
            Self::Command(program) => run_command(program, lines),
        }
    }
}

/// Runs `program` with `input` on its standard input, killed after [`COMMAND_TIMEOUT`].
fn run_command(program: &Path, input: &[u8]) -> Result<(), String> {
    use std::process::{Command, Stdio};
    let mut child = Command::new(program)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("{}: {error}", program.display()))?;
    let written = child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(input))
        .unwrap_or(Ok(()));
    let started = std::time::Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < COMMAND_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{}: still running after {}s, killed",
                    program.display(),
                    COMMAND_TIMEOUT.as_secs()
                ));
            }
            Err(error) => return Err(format!("{}: {error}", program.display())),
        }
    };
    let mut errors = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        use std::io::Read as _;
        let _ = stderr.by_ref().take(4096).read_to_string(&mut errors);
    }
    match (status.success(), written) {
        (true, Ok(())) => Ok(()),
        (true, Err(error)) => Err(format!(
            "{}: exited 0 without reading every anchor ({error})",
            program.display()
        )),
        (false, _) => Err(format!(
            "{}: {status}: {}",
            program.display(),
            errors.trim()
        )),
    }
}

/// The server's anchor publisher: signs an anchor for each new digest and delivers what is
/// pending in one batch per scheduler pass; a failed delivery is retried on the next pass.
pub struct Anchors {
    target: AnchorTarget,
    /// Signed lines not yet delivered; held across a delivery, so that two passes (the
    /// scheduler's and one the dev clock asked for) neither deliver nor drop the same lines.
    pending: tokio::sync::Mutex<Vec<Vec<u8>>>,
}

impl Anchors {
    /// A publisher to `target`.
    pub fn new(target: AnchorTarget) -> Self {
        Self {
            target,
            pending: tokio::sync::Mutex::new(Vec::new()),
        }
    }

    /// Signs anchors for `digests`, then delivers everything pending. On failure the anchors
    /// stay pending (at most [`MAX_PENDING`]) for the next call.
    pub async fn publish(&self, kms: &Kms, digests: &[StoredDigest]) -> Result<usize, String> {
        let mut signed = Vec::with_capacity(digests.len());
        for stored in digests {
            let mut line = kms
                .sign_audit_document(&anchor_of(stored)?)
                .await
                .map_err(detail)?;
            line.push(b'\n');
            signed.push(line);
        }
        let mut pending = self.pending.lock().await;
        pending.extend(signed);
        let excess = pending.len().saturating_sub(MAX_PENDING);
        pending.drain(..excess);
        if pending.is_empty() {
            return Ok(0);
        }
        let batch = pending.concat();
        let target = self.target.clone();
        let delivered = tokio::task::spawn_blocking(move || target.deliver(&batch))
            .await
            .map_err(|error| format!("anchor delivery: {error}"))?;
        delivered?;
        let count = pending.len();
        pending.clear();
        Ok(count)
    }
}

/// The anchor of a stored digest.
fn anchor_of(stored: &StoredDigest) -> Result<AnchorBody, String> {
    let opened = digest::open_signed::<DigestBody>(&stored.file)
        .map_err(|error| format!("stored digest {}: {error}", stored.object))?;
    Ok(AnchorBody {
        aws_account_id: stored.account.to_string(),
        aws_region: stored.region.to_string(),
        digest_sequence: stored.sequence,
        digest_s3_object: stored.object.clone(),
        digest_hash_value: hex::encode(strongbox_crypto::sha256(&stored.file)),
        digest_end_time: opened.body.digest_end_time,
        last_record_sequence: opened.body.last_record_sequence,
        last_record_hash: opened.body.last_record_hash,
    })
}

/// What the live trail (or an export) holds of one chain, for the anchor check.
#[derive(Debug, Default)]
pub struct LiveChain {
    /// Digest number → hex SHA-256 of its file.
    pub digests: BTreeMap<u64, String>,
    /// The checkpoint's last pruned digest: its number and file hash.
    pub pruned: Option<(u64, String)>,
}

impl LiveChain {
    /// Notes the checkpoint's pruned digest (an unreadable checkpoint is the verifier's
    /// finding already).
    pub fn checkpoint(&mut self, file: &[u8]) {
        if let Ok(opened) = digest::open_signed::<CheckpointBody>(file) {
            self.pruned = Some((
                opened.body.pruned_digest_sequence,
                opened.body.pruned_digest_hash_value,
            ));
        }
    }
}

/// The live view of every chain, by (account, Region).
pub type LiveChains = BTreeMap<(String, String), LiveChain>;

/// Checks the anchors in `file` (`source` names it) against `live`: each anchored digest must
/// be in the live trail unchanged, or pruned behind its checkpoint. Every problem is a finding.
pub fn check(source: &str, file: &[u8], public_key: &[u8], live: &LiveChains, report: &mut Report) {
    let mut newest: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut anchors = 0;
    for (index, line) in file.split(|byte| *byte == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let number = index + 1;
        let opened = match digest::open_signed::<AnchorBody>(line) {
            Ok(opened)
                if digest::signature_valid(public_key, &opened.signed, &opened.signature) =>
            {
                opened
            }
            Ok(_) => {
                report.fail(
                    source,
                    Some(number),
                    "the anchor's signature does not verify with the trusted public key",
                );
                continue;
            }
            Err(error) => {
                report.fail(
                    source,
                    Some(number),
                    format!("not a signed anchor: {error}"),
                );
                continue;
            }
        };
        anchors += 1;
        let anchor = opened.body;
        let key = (anchor.aws_account_id.clone(), anchor.aws_region.clone());
        let place = format!(
            "{}/{} digest {} (anchored, covering records to {})",
            anchor.aws_account_id,
            anchor.aws_region,
            anchor.digest_sequence,
            anchor.last_record_sequence
        );
        let newest_seen = newest.entry(key.clone()).or_default();
        *newest_seen = (*newest_seen).max(anchor.digest_sequence);
        let Some(chain) = live.get(&key) else {
            report.fail(source, Some(number), format!("{place}: the chain is gone from the trail: the data directory was rolled back or replaced"));
            continue;
        };
        let pruned = chain.pruned.as_ref();
        match chain.digests.get(&anchor.digest_sequence) {
            Some(hash) if *hash == anchor.digest_hash_value => {}
            Some(_) => report.fail(source, Some(number), format!("{place}: the trail's digest {} differs from the anchored one: the trail was rewritten or forked after a rollback", anchor.digest_sequence)),
            None if pruned.is_some_and(|(sequence, _)| *sequence == anchor.digest_sequence) => {
                if pruned.is_some_and(|(_, hash)| *hash != anchor.digest_hash_value) {
                    report.fail(source, Some(number), format!("{place}: the checkpoint's pruned digest differs from the anchored one"));
                }
            }
            // Pruned by retention, behind the checkpoint: nothing left to compare.
            None if pruned.is_some_and(|(sequence, _)| *sequence > anchor.digest_sequence) => {}
            None => {
                let newest_live = chain.digests.keys().next_back().copied()
                    .or(pruned.map(|(sequence, _)| *sequence))
                    .unwrap_or(0);
                let why = if newest_live < anchor.digest_sequence {
                    format!("the trail's newest digest is {newest_live}: the data directory was rolled back, or its newest digests removed")
                } else {
                    "the trail has no such digest: it was removed".to_owned()
                };
                report.fail(source, Some(number), format!("{place}: {why}"));
            }
        }
    }
    report.notes.push(format!(
        "{anchors} anchors in {source} checked ({} chains, newest anchored digest of each found unchanged unless reported)",
        newest.len()
    ));
    if anchors == 0 {
        report.fail(
            source,
            None,
            "holds no anchor: nothing proves the trail was not rolled back",
        );
    }
}
