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

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use strongbox_core::Kms;
use strongbox_core::audit::StoredDigest;
use strongbox_core::audit::digest::{self, CheckpointBody, DigestBody, SignedDocument};
use strongbox_core::audit::verify::Report;
use strongbox_core::model::{AccountId, Region};

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
    async fn deliver(&self, lines: Vec<u8>) -> Result<(), String> {
        match self {
            Self::File(path) => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || append(&path, &lines))
                    .await
                    .map_err(|error| format!("anchor delivery: {error}"))?
            }
            Self::Command(program) => run_command(program, lines).await,
        }
    }
}

/// Appends `lines` to `path` and syncs it. A newline goes first: a line torn by an earlier
/// failed append (a full disk) then stays a line of its own, reported, instead of spoiling the
/// first anchor of this delivery.
fn append(path: &Path, lines: &[u8]) -> Result<(), String> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path)
        .map_err(|error| format!("{}: {error}", path.display()))?;
    let mut batch = Vec::with_capacity(lines.len() + 1);
    batch.push(b'\n');
    batch.extend_from_slice(lines);
    file.write_all(&batch)
        .and_then(|()| file.sync_data())
        .map_err(|error| format!("{}: {error}", path.display()))
}

/// Runs `program` with `input` on its standard input, reading its standard error (the last
/// 4 KiB kept) at the same time, so that neither pipe can block it; killed after
/// [`COMMAND_TIMEOUT`]. It gets the server's environment without the `STRONGBOX_*` variables,
/// which may hold secrets (a PIN, a database password, bootstrap credentials).
async fn run_command(program: &Path, input: Vec<u8>) -> Result<(), String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let name = program.display().to_string();
    let mut command = tokio::process::Command::new(program);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("STRONGBOX_") {
            command.env_remove(key);
        }
    }
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|error| format!("{name}: {error}"))?;
    let mut stdin = child.stdin.take();
    let mut stderr = child.stderr.take();
    let exchange = async {
        let write = async {
            let written = match stdin.as_mut() {
                Some(pipe) => pipe.write_all(&input).await,
                None => Ok(()),
            };
            // Closed, so the program sees the end of its input.
            drop(stdin.take());
            written
        };
        let read = async {
            let mut errors = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Some(pipe) = stderr.as_mut() {
                match pipe.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(read) => {
                        errors.extend_from_slice(&chunk[..read]);
                        // The last 4 KiB: where a program says why it failed.
                        let excess = errors.len().saturating_sub(4096);
                        errors.drain(..excess);
                    }
                }
            }
            errors
        };
        let (written, errors) = tokio::join!(write, read);
        (written, errors, child.wait().await)
    };
    let (written, errors, status) = tokio::time::timeout(COMMAND_TIMEOUT, exchange)
        .await
        .map_err(|_| {
            format!(
                "{name}: still running after {}s, killed",
                COMMAND_TIMEOUT.as_secs()
            )
        })?;
    let status = status.map_err(|error| format!("{name}: {error}"))?;
    let errors = String::from_utf8_lossy(&errors);
    match (status.success(), written) {
        (true, Ok(())) => Ok(()),
        (true, Err(error)) => Err(format!(
            "{name}: exited 0 without reading every anchor ({error})"
        )),
        (false, _) => Err(format!("{name}: {status}: {}", errors.trim())),
    }
}

/// The server's anchor publisher: at each scheduler pass, signs an anchor for every digest the
/// pass wrote, and for every digest of the same chain since the last one anchored (an on-demand
/// digest of `strongbox audit digest`, or one whose delivery failed), then delivers them in one
/// batch. A failed delivery is retried with the next pass's.
pub struct Anchors {
    target: AnchorTarget,
    /// Signed lines not yet delivered, and each chain's newest digest signed; held across a
    /// delivery, so that two passes (the scheduler's and one the dev clock asked for) neither
    /// deliver nor drop the same lines.
    state: tokio::sync::Mutex<Publisher>,
}

#[derive(Default)]
struct Publisher {
    pending: Vec<Vec<u8>>,
    signed: HashMap<(AccountId, Region), u64>,
}

impl Anchors {
    /// A publisher to `target`.
    pub fn new(target: AnchorTarget) -> Self {
        Self {
            target,
            state: tokio::sync::Mutex::new(Publisher::default()),
        }
    }

    /// Signs anchors for `digests` (and the earlier digests of their chains not yet signed
    /// since this server started), then delivers everything pending. On failure the anchors
    /// stay pending (at most [`MAX_PENDING`]) for the next call. Returns how many were
    /// delivered.
    pub async fn publish(&self, kms: &Kms, digests: &[StoredDigest]) -> Result<usize, String> {
        let mut state = self.state.lock().await;
        for stored in digests {
            let chain = (stored.account, stored.region);
            let mut due = Vec::new();
            if let Some(&signed) = state.signed.get(&chain)
                && signed + 1 < stored.sequence
            {
                due = kms
                    .audit_digests(&stored.account, &stored.region, signed)
                    .await
                    .map_err(detail)?;
                due.retain(|digest| digest.sequence < stored.sequence);
            }
            due.push(stored.clone());
            for digest in &due {
                let mut line = kms
                    .sign_audit_document(&anchor_of(digest)?)
                    .await
                    .map_err(detail)?;
                line.push(b'\n');
                state.pending.push(line);
                state.signed.insert(chain, digest.sequence);
            }
        }
        let excess = state.pending.len().saturating_sub(MAX_PENDING);
        state.pending.drain(..excess);
        if state.pending.is_empty() {
            return Ok(0);
        }
        self.target.deliver(state.pending.concat()).await?;
        let count = state.pending.len();
        state.pending.clear();
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
/// For an `export`, which may hold some chains and a range of digests only, anchors of chains
/// it lacks and digests before its first are not checked (a note counts them).
pub fn check(
    source: &str,
    file: &[u8],
    public_key: &[u8],
    live: &LiveChains,
    export: bool,
    report: &mut Report,
) {
    let mut newest: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut anchors = 0;
    let mut outside = 0;
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
            if export {
                outside += 1;
            } else {
                report.fail(source, Some(number), format!("{place}: the chain is gone from the trail: the data directory was rolled back or replaced"));
            }
            continue;
        };
        let pruned = chain.pruned.as_ref();
        if export
            && pruned.is_none()
            && chain
                .digests
                .keys()
                .next()
                .is_some_and(|first| *first > anchor.digest_sequence)
        {
            outside += 1;
            continue;
        }
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
                let why = if newest_live < anchor.digest_sequence && export {
                    format!("the export's newest digest is {newest_live}: the export was cut short (or made with --end), or the data directory it came from was rolled back")
                } else if newest_live < anchor.digest_sequence {
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
    if outside > 0 {
        report.notes.push(format!(
            "{outside} anchors name chains or digests this export does not hold (made with --account or --start): not checked"
        ));
    }
    if anchors == 0 {
        report.fail(
            source,
            None,
            "holds no anchor: nothing proves the trail was not rolled back",
        );
    }
}
