//! `strongbox audit export`: CloudTrail-style log files and digest files in CloudTrail's folder
//! layout, ending with an on-demand digest so that everything written is covered.

use std::path::Path;

use strongbox_core::Kms;
use strongbox_core::audit::digest::{self, DigestBody};
use strongbox_core::audit::event::event_time;
use strongbox_core::audit::{StoredDigest, paths};
use strongbox_core::model::AccountId;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::files::{self, PUBLIC_KEY_FILE};
use super::manifest::{MANIFEST_FILE, Manifest, ManifestChain};
use super::{chain_digests, detail, digest_now};

/// What to export.
#[derive(Debug, Default)]
pub struct ExportRequest {
    /// Only this account's chains.
    pub account: Option<AccountId>,
    /// Only digests that end at or after this time.
    pub start: Option<OffsetDateTime>,
    /// Only digests that start at or before this time.
    pub end: Option<OffsetDateTime>,
}

impl ExportRequest {
    /// Whether a digest covering `start..=end` overlaps the requested range (both ends
    /// included, so that a record at a boundary is never left out).
    fn overlaps(&self, start: OffsetDateTime, end: OffsetDateTime) -> bool {
        self.start.is_none_or(|wanted| end >= wanted)
            && self.end.is_none_or(|wanted| start <= wanted)
    }
}

/// What an export wrote.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ExportSummary {
    /// Chains exported.
    pub chains: usize,
    /// Digest files written.
    pub digests: usize,
    /// Log files written.
    pub log_files: usize,
    /// Records in them.
    pub records: u64,
    /// Log files whose stored records no longer match their digest (verify will report them).
    pub mismatches: Vec<String>,
}

/// Writes the export to `out`.
pub async fn export(
    kms: &Kms,
    out: &Path,
    request: &ExportRequest,
) -> Result<ExportSummary, String> {
    digest_now(kms, request.account.as_ref()).await?;
    let public_key = kms.audit_public_key().await.map_err(detail)?;
    files::write_file(out, PUBLIC_KEY_FILE, files::pem(&public_key).as_bytes())?;
    let mut summary = ExportSummary::default();
    let mut manifest = Manifest::new(
        digest::fingerprint(&public_key),
        event_time(kms.clock().now()),
    );
    manifest.account = request.account.as_ref().map(ToString::to_string);
    manifest.start_time = request.start.map(event_time);
    manifest.end_time = request.end.map(event_time);
    for (account, region) in kms.audit_chains().await.map_err(detail)? {
        if request
            .account
            .as_ref()
            .is_some_and(|wanted| *wanted != account)
        {
            continue;
        }
        summary.chains += 1;
        let digests = chain_digests(kms, &account, &region).await?;
        let oldest = digests.first().map(|digest| digest.sequence);
        let mut chain = ManifestChain {
            aws_account_id: account.to_string(),
            aws_region: region.to_string(),
            ..ManifestChain::default()
        };
        // Each digest starts where the previous one ended (whole seconds, as signed); only the
        // oldest one kept must be opened to learn its start.
        let mut previous_end: Option<OffsetDateTime> = None;
        for stored in digests {
            let start = match previous_end.replace(stored.end_time) {
                Some(end) => end.replace_nanosecond(0).unwrap_or(end),
                None => digest_start(&stored)?,
            };
            if !request.overlaps(start, stored.end_time) {
                continue;
            }
            let body = open_digest(&stored)?;
            if chain.first_digest_s3_object.is_empty() {
                chain.first_digest_sequence = stored.sequence;
                chain.first_digest_s3_object = stored.object.clone();
                let checkpoint = kms
                    .audit_checkpoint(&account, &region)
                    .await
                    .map_err(detail)?;
                // The export starts where retention pruned: the checkpoint anchors it.
                if let Some(checkpoint) = checkpoint.filter(|_| oldest == Some(stored.sequence)) {
                    let object = paths::checkpoint_object(&account, &region);
                    files::write_file(out, &object, &checkpoint.file)?;
                    chain.checkpoint_s3_object = Some(object);
                }
            }
            export_digest(kms, out, &stored, &body, &mut summary).await?;
            chain.last_digest_sequence = stored.sequence;
            chain.last_digest_s3_object = stored.object.clone();
            chain.last_digest_hash_value = hex::encode(strongbox_crypto::sha256(&stored.file));
        }
        if !chain.first_digest_s3_object.is_empty() {
            manifest.chains.push(chain);
        }
    }
    let signed = kms.sign_audit_document(&manifest).await.map_err(detail)?;
    files::write_file(out, MANIFEST_FILE, &signed)?;
    Ok(summary)
}

fn open_digest(stored: &StoredDigest) -> Result<DigestBody, String> {
    digest::open_signed::<DigestBody>(&stored.file)
        .map(|signed| signed.body)
        .map_err(|error| format!("stored digest {}: {error}", stored.object))
}

/// The start of the period a digest covers, as it signed it (the first digest of a chain
/// starts at its oldest record, each later one where the previous one ended).
fn digest_start(stored: &StoredDigest) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(&open_digest(stored)?.digest_start_time, &Rfc3339)
        .map_err(|error| format!("stored digest {}: digestStartTime: {error}", stored.object))
}

/// Writes one digest and the log files it lists, rebuilt from the store.
async fn export_digest(
    kms: &Kms,
    out: &Path,
    stored: &StoredDigest,
    body: &DigestBody,
    summary: &mut ExportSummary,
) -> Result<(), String> {
    for entry in &body.log_files {
        let content = kms
            .audit_log_file(&stored.account, &stored.region, entry)
            .await
            .map_err(detail)?;
        if hex::encode(strongbox_crypto::sha256(&content)) != entry.hash_value {
            summary.mismatches.push(entry.s3_object.clone());
        }
        files::write_gzip(out, &entry.s3_object, &content)?;
        summary.log_files += 1;
        summary.records += entry
            .last_sequence
            .saturating_sub(entry.first_sequence)
            .saturating_add(1);
    }
    files::write_gzip(out, &stored.object, &stored.file)?;
    summary.digests += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_is_in_a_range_it_overlaps_boundaries_included() {
        let at = |seconds| OffsetDateTime::from_unix_timestamp(seconds).unwrap();
        let range = |start: Option<i64>, end: Option<i64>| ExportRequest {
            start: start.map(at),
            end: end.map(at),
            ..ExportRequest::default()
        };
        let (digest_start, digest_end) = (at(100), at(200));
        for (start, end, expected) in [
            (None, None, true),
            (Some(200), None, true),
            (Some(201), None, false),
            (None, Some(100), true),
            (None, Some(99), false),
            (Some(120), Some(150), true),
            (Some(0), Some(99), false),
            (Some(201), Some(300), false),
        ] {
            assert_eq!(
                range(start, end).overlaps(digest_start, digest_end),
                expected,
                "{start:?}..{end:?}"
            );
        }
    }
}
