//! `strongbox audit verify`: checks an export directory, or the live store, with the checker
//! in `strongbox_core::audit::verify`, trusting only the public key it is given.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use strongbox_core::Kms;
use strongbox_core::audit::digest::{self, DigestBody};
use strongbox_core::audit::verify::{ChainVerifier, Report};
use strongbox_core::audit::{AuditRecord, chain};

use super::anchor::LiveChains;
use super::files::{self, PUBLIC_KEY_FILE};
use super::manifest::{self, FoundDigests, MANIFEST_FILE};
use super::{chain_digests, detail};

/// Records read per store round trip when checking the records no digest covers yet.
const TAIL_PAGE: u32 = 5000;

/// One chain's files in an export, by object path.
#[derive(Default)]
struct ChainFiles {
    checkpoint: Option<String>,
    /// `(digest sequence, object)`; the sequence is read from the file and only orders the
    /// check, which then proves it.
    digests: Vec<(u64, String)>,
}

/// Checks the export in `dir` with `public_key`. Never fails on a corrupted export: every
/// problem is a finding in the report.
pub fn verify_export(dir: &Path, public_key: &[u8]) -> Result<Report, String> {
    verify_export_seen(dir, public_key).map(|(report, _)| report)
}

/// [`verify_export`], with what the export holds of each chain (for an anchor check).
pub fn verify_export_seen(dir: &Path, public_key: &[u8]) -> Result<(Report, LiveChains), String> {
    let mut live = LiveChains::new();
    let mut report = Report::default();
    let mut objects = BTreeSet::new();
    let mut odd = Vec::new();
    walk(dir, dir, &mut objects, &mut odd)?;
    for object in odd {
        report.fail(
            &object,
            None,
            "not a regular file (a link, FIFO or device): not read",
        );
    }
    let manifest_file = std::fs::read(dir.join(MANIFEST_FILE)).ok();
    let manifest = manifest::open(manifest_file.as_deref(), public_key, &mut report);
    let mut chains: BTreeMap<(String, String), ChainFiles> = BTreeMap::new();
    let mut log_files = BTreeSet::new();
    for object in &objects {
        let parts: Vec<&str> = object.split('/').collect();
        match parts.as_slice() {
            [PUBLIC_KEY_FILE] | [MANIFEST_FILE] => {}
            [account, "CloudTrail-Digest", region, name]
                if *name == checkpoint_name(account, region) =>
            {
                chain(&mut chains, account, region).checkpoint = Some(object.clone());
            }
            [account, "CloudTrail-Digest", region, _, _, _, name] if name.ends_with(".json.gz") => {
                let sequence = match read(dir, object)
                    .and_then(|file| digest::open_signed::<DigestBody>(&file))
                {
                    Ok(opened) => opened.body.digest_sequence,
                    Err(error) => {
                        report.fail(object, None, error);
                        continue;
                    }
                };
                chain(&mut chains, account, region)
                    .digests
                    .push((sequence, object.clone()));
            }
            [_, "CloudTrail", _, _, _, _, name] if name.ends_with(".json.gz") => {
                log_files.insert(object.clone());
            }
            _ => report.fail(object, None, "not part of an audit export"),
        }
    }
    let present: Vec<(String, String)> = chains.keys().cloned().collect();
    for ((account, region), files) in chains {
        let mut verifier = ChainVerifier::new(public_key, &account, &region);
        let mut found: FoundDigests = Vec::new();
        let seen = live.entry((account.clone(), region.clone())).or_default();
        if let Some(object) = &files.checkpoint {
            match std::fs::read(dir.join(object)) {
                Ok(file) => {
                    seen.checkpoint(&file);
                    verifier.checkpoint(object, &file);
                }
                Err(error) => report.fail(object, None, format!("cannot read: {error}")),
            }
        }
        let mut digests = files.digests;
        digests.sort();
        for (_, object) in digests {
            let file = match read(dir, &object) {
                Ok(file) => file,
                Err(error) => {
                    report.fail(&object, None, error);
                    continue;
                }
            };
            let Some(body) = verifier.digest(&object, &file) else {
                continue;
            };
            let hash = hex::encode(strongbox_crypto::sha256(&file));
            seen.digests.insert(body.digest_sequence, hash.clone());
            found.push((body.digest_sequence, object.clone(), hash));
            for entry in &body.log_files {
                let content = if log_files.remove(&entry.s3_object) {
                    match read(dir, &entry.s3_object) {
                        Ok(content) => Some(content),
                        Err(error) => {
                            report.fail(&entry.s3_object, None, error);
                            continue;
                        }
                    }
                } else {
                    None
                };
                verifier.log_file(&object, entry, content.as_deref());
            }
            verifier.end_digest(&object, &body);
        }
        report.merge(verifier.finish());
        if let Some(manifest) = &manifest {
            manifest::check_chain(
                manifest,
                &account,
                &region,
                &found,
                files.checkpoint.as_deref(),
                &mut report,
            );
        }
    }
    if let Some(manifest) = &manifest {
        manifest::check_missing_chains(manifest, &present, &mut report);
    }
    for object in log_files {
        report.fail(
            &object,
            None,
            "not listed by any digest: added, renamed, or its digest was removed",
        );
    }
    Ok((report, live))
}

/// Checks the live store with `public_key`: every digest's signature and links, every log file
/// rebuilt from the records against its digest, and the records no digest covers yet.
pub async fn verify_store(kms: &Kms, public_key: &[u8]) -> Result<Report, String> {
    verify_store_seen(kms, public_key)
        .await
        .map(|(report, _)| report)
}

/// [`verify_store`], with what the store holds of each chain (for an anchor check).
pub async fn verify_store_seen(
    kms: &Kms,
    public_key: &[u8],
) -> Result<(Report, LiveChains), String> {
    let mut live = LiveChains::new();
    let mut report = Report::default();
    for (account, region) in kms.audit_chains().await.map_err(detail)? {
        let mut verifier = ChainVerifier::new(public_key, account.as_str(), region.as_str());
        let seen = live
            .entry((account.to_string(), region.to_string()))
            .or_default();
        if let Some(checkpoint) = kms
            .audit_checkpoint(&account, &region)
            .await
            .map_err(detail)?
        {
            let object = strongbox_core::audit::paths::checkpoint_object(&account, &region);
            seen.checkpoint(&checkpoint.file);
            verifier.checkpoint(&object, &checkpoint.file);
        }
        let mut covered = None;
        let mut newest_end = None;
        for stored in chain_digests(kms, &account, &region).await? {
            seen.digests.insert(
                stored.sequence,
                hex::encode(strongbox_crypto::sha256(&stored.file)),
            );
            covered = Some(stored.last_record);
            newest_end = Some(stored.end_time);
            let Some(body) = verifier.digest(&stored.object, &stored.file) else {
                continue;
            };
            for entry in &body.log_files {
                let records = kms
                    .audit_log_records(&account, &region, entry)
                    .await
                    .map_err(detail)?;
                check_columns(&entry.s3_object, &records, &mut report);
                let content = digest::log_file(records.iter().map(|r| r.record.as_slice()));
                verifier.log_file(&stored.object, entry, Some(&content));
            }
            verifier.end_digest(&stored.object, &body);
        }
        let mut after = match covered {
            Some(last) => last,
            None => kms
                .audit_checkpoint(&account, &region)
                .await
                .map_err(detail)?
                .map_or(0, |checkpoint| checkpoint.head.sequence),
        };
        // Hourly digests should keep coming while the server runs.
        let stale = kms.clock().now() - 2 * crate::jobs::DIGEST_PERIOD;
        if let Some(end) = newest_end.filter(|end| *end < stale) {
            report.notes.push(format!(
                "{account}/{region}: the newest digest ended at {}; hourly digests have stopped (is the server running?)",
                strongbox_core::audit::event::event_time(end)
            ));
        }
        let tail = format!("{account}/{region} (records after the newest digest)");
        let mut position = 0;
        loop {
            let records = kms
                .audit_records_after(&account, &region, after, TAIL_PAGE)
                .await
                .map_err(detail)?;
            let Some(last) = records.last() else { break };
            after = last.sequence;
            check_columns(&tail, &records, &mut report);
            for record in &records {
                position += 1;
                verifier.record(&tail, position, &record.record);
            }
        }
        report.merge(verifier.finish());
    }
    // Bytes that are not whole records may be a write of the running server under way: only
    // those still there a moment later are reported.
    let mut unreadable = kms.audit_unreadable().map_err(detail)?;
    if !unreadable.is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let again = kms.audit_unreadable().map_err(detail)?;
        unreadable.retain(|place| again.contains(place));
    }
    for (place, what) in unreadable {
        report.fail(&place, None, what);
    }
    Ok((report, live))
}

/// The one name a chain's checkpoint may have (see `paths::checkpoint_object`).
fn checkpoint_name(account: &str, region: &str) -> String {
    format!("{account}_CloudTrail-Checkpoint_{region}.json")
}

/// Reports stored records whose lookup columns disagree with their chained bytes.
fn check_columns(object: &str, records: &[AuditRecord], report: &mut Report) {
    for (index, record) in records.iter().enumerate() {
        if let Some(column) = chain::column_mismatch(record) {
            report.fail(
                object,
                Some(index + 1),
                format!("the stored {column} column differs from the chained record: LookupEvents would answer from altered data"),
            );
        }
    }
}

fn chain<'a>(
    chains: &'a mut BTreeMap<(String, String), ChainFiles>,
    account: &str,
    region: &str,
) -> &'a mut ChainFiles {
    chains
        .entry((account.to_owned(), region.to_owned()))
        .or_default()
}

fn read(dir: &Path, object: &str) -> Result<Vec<u8>, String> {
    files::read_gzip(&dir.join(object))
}

/// Every regular file under `dir` into `found`, anything else into `odd`, as `/`-separated
/// paths relative to `root`.
fn walk(
    root: &Path,
    dir: &Path,
    found: &mut BTreeSet<String>,
    odd: &mut Vec<String>,
) -> Result<(), String> {
    let entries = std::fs::read_dir(dir)
        .map_err(|error| format!("cannot read {}: {error}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|error| format!("cannot read {}: {error}", dir.display()))?;
        let path: PathBuf = entry.path();
        let kind = entry
            .file_type()
            .map_err(|error| format!("cannot read {}: {error}", path.display()))?;
        if kind.is_dir() {
            walk(root, &path, found, odd)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            let parts: Vec<String> = relative
                .components()
                .map(|part| part.as_os_str().to_string_lossy().into_owned())
                .collect();
            let object = parts.join("/");
            if kind.is_file() {
                found.insert(object);
            } else {
                // A symbolic link, FIFO or device: never opened (a FIFO would block the check).
                odd.push(object);
            }
        }
    }
    Ok(())
}
