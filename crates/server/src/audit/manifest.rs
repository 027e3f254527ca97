//! The export manifest: a signed statement of which digests an export holds for each chain.
//! Digests chain backwards only, so without it an export whose newest digest (with the log
//! files it lists) or oldest digests were removed would still verify; with it, every removal
//! is reported. It is signed like a digest, with the audit signing key.

use serde::{Deserialize, Serialize};
use strongbox_core::audit::digest::{self, SIGNATURE_ALGORITHM};
use strongbox_core::audit::verify::Report;

/// The manifest's file name at the top of an export.
pub const MANIFEST_FILE: &str = "export-manifest.json";

/// What an export holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// When the export was written.
    pub export_time: String,
    /// The account filter, if any.
    pub account: Option<String>,
    /// The `--start` filter, if any.
    pub start_time: Option<String>,
    /// The `--end` filter, if any.
    pub end_time: Option<String>,
    /// Hex SHA-256 of the signing key's `SubjectPublicKeyInfo`.
    pub digest_public_key_fingerprint: String,
    /// `Ed25519`.
    pub digest_signature_algorithm: String,
    /// One entry per exported chain.
    pub chains: Vec<ManifestChain>,
}

impl digest::SignedDocument for Manifest {
    const TYPE: &'static str = "StrongboxAuditExportManifest";
}

/// The digests an export holds for one chain.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestChain {
    /// The chain's account.
    pub aws_account_id: String,
    /// The chain's Region.
    pub aws_region: String,
    /// The checkpoint file, when the export starts where retention pruned.
    pub checkpoint_s3_object: Option<String>,
    /// The oldest digest exported.
    pub first_digest_sequence: u64,
    /// Its path.
    pub first_digest_s3_object: String,
    /// The newest digest exported (the export's own, unless `--end` cut it off).
    pub last_digest_sequence: u64,
    /// Its path.
    pub last_digest_s3_object: String,
    /// Hex SHA-256 of its file.
    pub last_digest_hash_value: String,
}

impl Manifest {
    /// A manifest for an export signed with the key of `fingerprint`.
    pub fn new(fingerprint: String, export_time: String) -> Self {
        Self {
            export_time,
            digest_public_key_fingerprint: fingerprint,
            digest_signature_algorithm: SIGNATURE_ALGORITHM.to_owned(),
            ..Self::default()
        }
    }
}

/// The digests found in an export for one chain, oldest first: `(sequence, object, file hash)`.
pub type FoundDigests = Vec<(u64, String, String)>;

/// Opens the manifest file and checks its signature; every problem is a finding.
pub fn open(file: Option<&[u8]>, public_key: &[u8], report: &mut Report) -> Option<Manifest> {
    let Some(file) = file else {
        report.fail(
            MANIFEST_FILE,
            None,
            "missing: without it, removed oldest or newest files cannot be detected",
        );
        return None;
    };
    let opened = match digest::open_signed::<Manifest>(file) {
        Ok(opened) => {
            report.notes.push(format!(
                "the export was written at {} (per its signed manifest)",
                opened.body.export_time
            ));
            opened
        }
        Err(error) => {
            report.fail(MANIFEST_FILE, None, error);
            return None;
        }
    };
    if !digest::signature_valid(public_key, &opened.signed, &opened.signature) {
        report.fail(
            MANIFEST_FILE,
            None,
            "the signature does not verify with the trusted audit public key",
        );
    }
    Some(opened.body)
}

/// Compares one chain's digests (and checkpoint, if any) with the manifest's entry for it.
pub fn check_chain(
    manifest: &Manifest,
    account: &str,
    region: &str,
    found: &FoundDigests,
    checkpoint: Option<&str>,
    report: &mut Report,
) {
    let Some(entry) = manifest
        .chains
        .iter()
        .find(|chain| chain.aws_account_id == account && chain.aws_region == region)
    else {
        report.fail(
            &format!("{account}/CloudTrail-Digest/{region}"),
            None,
            format!("the chain of {account}/{region} is not part of this export (added)"),
        );
        return;
    };
    if entry.checkpoint_s3_object.as_deref() != checkpoint {
        let object = entry
            .checkpoint_s3_object
            .as_deref()
            .or(checkpoint)
            .unwrap_or_default();
        report.fail(
            object,
            None,
            "the manifest and the export disagree on this chain's checkpoint: removed or added",
        );
    }
    let (Some(first), Some(last)) = (found.first(), found.last()) else {
        report.fail(
            &entry.last_digest_s3_object,
            None,
            format!("the chain of {account}/{region} has none of its digests here: removed"),
        );
        return;
    };
    if (first.0, first.1.as_str())
        != (
            entry.first_digest_sequence,
            entry.first_digest_s3_object.as_str(),
        )
    {
        report.fail(
            &entry.first_digest_s3_object,
            None,
            format!(
                "the export starts at digest {}, but the oldest digest found is {}: digests were removed or added",
                entry.first_digest_sequence, first.0
            ),
        );
    }
    if (last.0, last.1.as_str(), last.2.as_str())
        != (
            entry.last_digest_sequence,
            entry.last_digest_s3_object.as_str(),
            entry.last_digest_hash_value.as_str(),
        )
    {
        report.fail(
            &entry.last_digest_s3_object,
            None,
            format!(
                "the export ends at digest {}, but the newest digest found is {}: digests were removed, added or changed",
                entry.last_digest_sequence, last.0
            ),
        );
    }
}

/// Reports the manifest's chains that have no files in the export.
pub fn check_missing_chains(
    manifest: &Manifest,
    present: &[(String, String)],
    report: &mut Report,
) {
    for chain in &manifest.chains {
        let key = (chain.aws_account_id.clone(), chain.aws_region.clone());
        if !present.contains(&key) {
            report.fail(
                &chain.last_digest_s3_object,
                None,
                format!(
                    "the chain of {}/{} is listed in the manifest but none of its digests are here: removed",
                    chain.aws_account_id, chain.aws_region
                ),
            );
        }
    }
}
