//! `strongbox audit`: the audit public key, on-demand digests, exports in CloudTrail's layout,
//! and offline verification of an export or of the live store.

pub mod anchor;
pub mod export;
pub mod files;
pub mod manifest;
pub mod verify;

use strongbox_core::Kms;
use strongbox_core::audit::StoredDigest;
use strongbox_core::model::{AccountId, Region};

/// Writes an on-demand digest for every chain (or one account's), covering everything recorded
/// so far. Returns the digests written.
pub async fn digest_now(
    kms: &Kms,
    account: Option<&AccountId>,
) -> Result<Vec<(AccountId, Region, String)>, String> {
    let mut written = Vec::new();
    for (chain_account, region) in kms.audit_chains().await.map_err(detail)? {
        if account.is_some_and(|wanted| *wanted != chain_account) {
            continue;
        }
        // A concurrent digest (the server's hourly one) wins the race: then write ours after it.
        for _ in 0..3 {
            if let Some(digest) = kms
                .write_digest(&chain_account, &region)
                .await
                .map_err(detail)?
            {
                written.push((chain_account, region, digest.object));
                break;
            }
        }
    }
    Ok(written)
}

/// Every digest of a chain, oldest first (exports and checks read them all).
pub(crate) async fn chain_digests(
    kms: &Kms,
    account: &AccountId,
    region: &Region,
) -> Result<Vec<StoredDigest>, String> {
    let mut digests: Vec<StoredDigest> = Vec::new();
    loop {
        let after = digests.last().map_or(0, |digest| digest.sequence);
        let page = kms
            .audit_digests(account, region, after)
            .await
            .map_err(detail)?;
        if page.is_empty() {
            return Ok(digests);
        }
        digests.extend(page);
    }
}

/// The full text of a core error, for the operator.
pub(crate) fn detail(error: strongbox_core::Error) -> String {
    match error {
        strongbox_core::Error::Internal(internal) => internal.detail(),
        other => other.to_string(),
    }
}
