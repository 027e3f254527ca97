//! The service side of the audit trail: the signing key, digests (hourly and on demand),
//! LookupEvents and retention. Records themselves are written by [`AuditLog`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use strongbox_crypto::{KeyMaterial, SecretBytes};
use time::{Duration, OffsetDateTime};

use super::Kms;
use crate::audit::chain::Head;
use crate::audit::digest::{
    self, CheckpointBody, DigestBody, HASH_ALGORITHM, LogFileEntry, RECORDS_PER_FILE,
    SIGNATURE_ALGORITHM,
};
use crate::audit::event::event_time;
use crate::audit::verify::ChainVerifier;
use crate::audit::{
    AuditLog, AuditRecord, AuditSink, Checkpoint, Durability, LookupQuery, StoredDigest, paths,
};
use crate::error::{Error, Internal};
use crate::model::{AccountId, Principal, Region};
use crate::seal::SealedKey;
use crate::store::StoreErrorKind;

/// The sealed audit signing key's name in the store's meta table.
const SIGNING_KEY_NAME: &str = "audit-signing-key";
/// Digests read per store round trip.
const DIGEST_PAGE: u32 = 256;
/// Records moved per round trip when migrating the store's older layout.
const LEGACY_PAGE: u32 = 4096;

/// The unsealed audit signing key and its public half.
pub(super) struct AuditSigner {
    key: KeyMaterial,
    public_key: Vec<u8>,
}

/// The signer of an unsealed signing key.
fn signer(key: SecretBytes) -> Result<AuditSigner, Error> {
    let key = KeyMaterial::from_bytes(key.expose().to_vec());
    let public_key = digest::public_key(&key)?;
    Ok(AuditSigner { key, public_key })
}

/// Where the previous digest (or the checkpoint standing for it) left the chain.
struct Start {
    sequence: u64,
    head: Head,
    /// When the previous digest ended.
    ended: Option<OffsetDateTime>,
    start_time: Option<String>,
    object: Option<String>,
    file_hash: Option<String>,
    signature: Option<String>,
}

impl Kms {
    /// The audit log requests record through.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// The audit public key (`SubjectPublicKeyInfo` DER), creating the signing key on first use.
    pub async fn audit_public_key(&self) -> Result<Vec<u8>, Error> {
        Ok(self.audit_signer().await?.public_key.clone())
    }

    async fn audit_signer(&self) -> Result<Arc<AuditSigner>, Error> {
        self.audit_signer
            .get_or_try_init(|| self.load_or_create_signer())
            .await
            .cloned()
    }

    async fn load_or_create_signer(&self) -> Result<Arc<AuditSigner>, Error> {
        let key = self
            .service_secret(SIGNING_KEY_NAME, || {
                let key = digest::generate_signing_key()?;
                Ok(SecretBytes::new(key.expose().to_vec()))
            })
            .await?;
        Ok(Arc::new(signer(key)?))
    }

    fn unseal_signer(&self, sealed: Vec<u8>) -> Result<AuditSigner, Error> {
        let opened = self.seal.unseal(
            super::service_secrets::meta_binding(SIGNING_KEY_NAME).as_bytes(),
            &SealedKey::from_bytes(sealed),
        )?;
        signer(opened)
    }

    /// The audit public key if the signing key exists, never creating it: checking a trail
    /// must not change the data directory.
    pub async fn existing_audit_public_key(&self) -> Result<Option<Vec<u8>>, Error> {
        match self.store.meta(SIGNING_KEY_NAME).await? {
            Some(sealed) => Ok(Some(self.unseal_signer(sealed)?.public_key)),
            None => Ok(None),
        }
    }

    /// Signs a document about the audit trail (an export manifest) with the audit signing
    /// key, in the digests' signed-file format.
    pub async fn sign_audit_document<T: digest::SignedDocument>(
        &self,
        body: &T,
    ) -> Result<Vec<u8>, Error> {
        let signer = self.audit_signer().await?;
        digest::signed_file(body, &signer.key)
            .map(|(file, _)| file)
            .map_err(|error| Internal::new("audit document signing", error).into())
    }

    /// Writes the digests covering the chain's records since its previous digest, up to now:
    /// one, or several when more than `max_digest_records` wait (each digest covers at most
    /// that many: digests are the digest pass's checkpoints, so a pass cut short by a stop or a
    /// crash reads at most that many records again). Returns the newest; `None` when another
    /// process wrote the same digest first.
    pub async fn write_digest(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> Result<Option<StoredDigest>, Error> {
        // A chain with more than `max_digest_records` waiting gets several digests, so that
        // "everything recorded so far" is signed, as `audit digest` and exports promise.
        let never = AtomicBool::new(false);
        let mut newest = None;
        while let Some((digest, capped)) = self.write_digest_unless(account, region, &never).await?
        {
            newest = Some(digest);
            if !capped {
                break;
            }
        }
        Ok(newest)
    }

    /// One digest of at most `max_digest_records` records, and whether it was capped (records
    /// after it wait); given up (`None`, nothing written) as soon as `stop` is set: a server
    /// that stops does not wait for a digest of a million records.
    async fn write_digest_unless(
        &self,
        account: &AccountId,
        region: &Region,
        stop: &AtomicBool,
    ) -> Result<Option<(StoredDigest, bool)>, Error> {
        let signer = self.audit_signer().await?;
        let start = self.digest_start(account, region).await?;
        let head = self.durable_audit_head(account, region).await?;
        let last = head.sequence.min(
            start
                .head
                .sequence
                .saturating_add(self.config.max_digest_records),
        );
        // Read after the head, so every record covered happened before the digest's end; and
        // never before the previous digest's end or a covered record, whatever this process's
        // clock says (the admin CLI next to a `--dev-clock` server), so that digest periods
        // follow one another and contain their records.
        let mut now = match start.ended {
            Some(ended) => self.clock.now().max(ended),
            None => self.clock.now(),
        };
        let mut verifier =
            ChainVerifier::new(&signer.public_key, account.as_str(), region.as_str());
        verifier.continue_from(start.head);
        let mut log_files = Vec::new();
        let mut after = start.head.sequence;
        let mut last_hash = start.head.hash;
        let mut newest_covered = None;
        while after < last {
            if stop.load(Ordering::Relaxed) {
                tracing::debug!(%account, %region, "audit digest given up: the server is stopping");
                return Ok(None);
            }
            let limit = u32::try_from(RECORDS_PER_FILE).unwrap_or(u32::MAX);
            let records = self
                .audit_records_after(account, region, after, limit)
                .await?;
            let records: Vec<_> = records
                .into_iter()
                .take_while(|record| record.sequence <= last)
                .collect();
            let Some(newest) = records.last() else { break };
            after = newest.sequence;
            last_hash = newest.hash;
            if let Some(newest) = records.iter().map(|record| record.event_time).max() {
                now = now.max(newest);
                newest_covered = newest_covered.max(Some(newest));
            }
            let entry = log_file_entry(account, region, &records);
            for (index, record) in records.iter().enumerate() {
                verifier.record(&entry.s3_object, index + 1, &record.record);
            }
            log_files.push(entry);
        }
        if last < head.sequence {
            // Capped: the digest ends with its newest record, not now, so that the records
            // left for the next digest lie in that digest's period.
            now = newest_covered.map_or(now, |newest| match start.ended {
                Some(ended) => newest.max(ended),
                None => newest,
            });
        }
        let report = verifier.finish();
        if after != last {
            return Err(Internal::new(
                "audit digest",
                format!("the stored audit chain stops at sequence {after} before {last}; run `strongbox audit verify`"),
            )
            .into());
        }
        if let Some(finding) = report.findings.first() {
            return Err(Internal::new(
                "audit digest",
                format!("the stored audit chain is broken, not signing it ({finding}); run `strongbox audit verify`"),
            )
            .into());
        }
        let sequence = start.sequence.saturating_add(1);
        let object = paths::digest_object(account, region, now, sequence);
        let body = DigestBody {
            aws_account_id: account.to_string(),
            aws_region: region.to_string(),
            // The first digest starts at its oldest record (or now, when it covers none).
            digest_start_time: start
                .start_time
                .or_else(|| log_files.first().map(|file| file.oldest_event_time.clone()))
                .unwrap_or_else(|| event_time(now)),
            digest_end_time: event_time(now),
            digest_s3_object: object.clone(),
            digest_public_key_fingerprint: digest::fingerprint(&signer.public_key),
            digest_signature_algorithm: SIGNATURE_ALGORITHM.to_owned(),
            newest_event_time: log_files.last().map(|file| file.newest_event_time.clone()),
            oldest_event_time: log_files.first().map(|file| file.oldest_event_time.clone()),
            previous_digest_s3_object: start.object,
            previous_digest_hash_algorithm: start
                .file_hash
                .as_ref()
                .map(|_| HASH_ALGORITHM.to_owned()),
            previous_digest_hash_value: start.file_hash,
            previous_digest_signature: start.signature,
            log_files,
            digest_sequence: sequence,
            last_record_sequence: after,
            last_record_hash: hex::encode(last_hash),
        };
        let (file, _) = digest::signed_file(&body, &signer.key)
            .map_err(|error| Internal::new("audit digest signing", error))?;
        let stored = StoredDigest {
            account: *account,
            region: *region,
            sequence,
            end_time: now,
            last_record: after,
            object,
            file,
        };
        match self.store.insert_audit_digest(&stored).await {
            Ok(()) => Ok(Some((stored, last < head.sequence))),
            Err(error) if error.kind() == StoreErrorKind::Conflict => Ok(None),
            Err(error) => Err(error.into()),
        }
    }

    /// Where the chain's next digest starts: after its newest digest, else its checkpoint,
    /// else the beginning.
    async fn digest_start(&self, account: &AccountId, region: &Region) -> Result<Start, Error> {
        if let Some(previous) = self.store.last_audit_digest(account, region).await? {
            let opened = digest::open_signed::<DigestBody>(&previous.file)
                .map_err(|error| Internal::new("stored audit digest", error))?;
            let hash = parse_hash(&opened.body.last_record_hash)?;
            return Ok(Start {
                sequence: previous.sequence,
                head: Head {
                    sequence: previous.last_record,
                    hash,
                },
                ended: Some(previous.end_time),
                start_time: Some(opened.body.digest_end_time),
                object: Some(previous.object),
                file_hash: Some(hex::encode(strongbox_crypto::sha256(&previous.file))),
                signature: Some(hex::encode(opened.signature)),
            });
        }
        if let Some(checkpoint) = self.store.audit_checkpoint(account, region).await? {
            let opened = digest::open_signed::<CheckpointBody>(&checkpoint.file)
                .map_err(|error| Internal::new("stored audit checkpoint", error))?;
            return Ok(Start {
                sequence: checkpoint.digest_sequence,
                head: checkpoint.head,
                ended: None,
                start_time: Some(opened.body.pruned_digest_end_time),
                object: Some(opened.body.pruned_digest_s3_object),
                file_hash: Some(opened.body.pruned_digest_hash_value),
                signature: Some(opened.body.pruned_digest_signature),
            });
        }
        Ok(Start {
            sequence: 0,
            head: Head::GENESIS,
            ended: None,
            start_time: None,
            object: None,
            file_hash: None,
            signature: None,
        })
    }

    /// The hourly digests: one for every account in every served Region whose newest digest
    /// is at least `period` old (or that has none), records or not, so that a missing hour is
    /// provable; and one for every chain with `max_digest_records` records or more since its
    /// newest digest. Stops between chains and between pages once `stop` is set. Returns the
    /// digests written.
    pub async fn write_due_digests(
        &self,
        regions: &[Region],
        period: Duration,
        stop: &AtomicBool,
    ) -> Result<Vec<StoredDigest>, Error> {
        let now = self.clock.now();
        let mut written = Vec::new();
        let sink = self.audit_sink()?;
        for account in self.store.list_accounts().await? {
            for region in regions {
                if stop.load(Ordering::Relaxed) {
                    return Ok(written);
                }
                let last = self.store.last_audit_digest(&account.id, region).await?;
                let recent = last
                    .as_ref()
                    .is_some_and(|digest| now - digest.end_time < period);
                let waiting = sink
                    .queued_head(&account.id, region)
                    .map_or(0, |(_, head)| head.sequence)
                    .saturating_sub(last.as_ref().map_or(0, |digest| digest.last_record));
                if recent && waiting < self.config.max_digest_records {
                    continue;
                }
                // One chain that cannot be signed must not hold back the others' digests.
                match self.write_digest_unless(&account.id, region, stop).await {
                    Ok(Some((digest, _))) => written.push(digest),
                    Ok(None) => {}
                    Err(error) => {
                        tracing::error!(account = %account.id, %region, ?error, "audit digest not written")
                    }
                }
            }
        }
        Ok(written)
    }

    /// A chain's digests after number `after`, in order.
    pub async fn audit_digests(
        &self,
        account: &AccountId,
        region: &Region,
        after: u64,
    ) -> Result<Vec<StoredDigest>, Error> {
        Ok(self
            .store
            .audit_digests(account, region, after, DIGEST_PAGE)
            .await?)
    }

    /// Every chain with audit data: records in the sink, or digests or a checkpoint in the
    /// store.
    pub async fn audit_chains(&self) -> Result<Vec<(AccountId, Region)>, Error> {
        let mut chains = self.store.audit_chains().await?;
        chains.extend(self.audit_sink()?.chains());
        chains.sort_unstable_by(|a, b| {
            (a.0.as_str(), a.1.as_str()).cmp(&(b.0.as_str(), b.1.as_str()))
        });
        chains.dedup();
        Ok(chains)
    }

    /// The sink records are read from (also for the benchmark's audit-off server, whose trail
    /// is merely not written).
    fn audit_sink(&self) -> Result<&Arc<dyn AuditSink>, Error> {
        self.audit_reader
            .as_ref()
            .ok_or_else(|| Internal::new("audit", "this process has no audit trail open").into())
    }

    /// The newest record of a chain that is on stable storage, with everything queued before
    /// it (so that a digest never covers a record a power loss could take back): the sink's
    /// head once synced, else the checkpoint's, else genesis.
    async fn durable_audit_head(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> Result<Head, Error> {
        let sink = self.audit_sink()?;
        if let Some((ticket, head)) = sink.queued_head(account, region) {
            sink.settle(ticket, Durability::Synced).await?;
            return Ok(head);
        }
        Ok(match self.store.audit_checkpoint(account, region).await? {
            Some(checkpoint) => checkpoint.head,
            None => Head::GENESIS,
        })
    }

    /// Moves the records of the store's older layout (a table row per record) into the sink,
    /// chains and bytes unchanged, then drops the rows. Idempotent: records the sink already
    /// holds are skipped, so an interrupted migration resumes. Returns how many were moved.
    pub async fn migrate_legacy_audit(&self) -> Result<u64, Error> {
        let sink = self.audit_sink()?;
        let mut moved = 0;
        let mut after = None;
        loop {
            let page = self
                .store
                .legacy_audit_records(after.as_ref(), LEGACY_PAGE)
                .await?;
            let Some(last) = page.last() else { break };
            after = Some((last.account, last.region, last.sequence));
            moved += page.len() as u64;
            sink.import(page).await?;
        }
        if moved > 0 {
            self.store.drop_legacy_audit_records().await?;
            tracing::info!(
                records = moved,
                "audit records moved from the store's table into the audit journal"
            );
        }
        Ok(moved)
    }

    /// Where the audit sink holds bytes that are not intact records, as `(place, what)`.
    pub fn audit_unreadable(&self) -> Result<Vec<(String, String)>, Error> {
        Ok(self.audit_sink()?.unreadable())
    }

    /// Whether the store still holds records of the older layout (not yet moved).
    pub async fn has_legacy_audit(&self) -> Result<bool, Error> {
        Ok(!self.store.legacy_audit_records(None, 1).await?.is_empty())
    }

    /// Closes the audit sink (writing and syncing what is queued), then the store.
    pub async fn close(&self) {
        if let Some(sink) = &self.audit_reader {
            sink.close().await;
        }
        self.store.close().await;
    }

    /// Tells the sink where pruned chains stand (their checkpoints), so that it never serves
    /// pruned records and continues emptied chains from their checkpoints. Run at open.
    pub async fn apply_audit_checkpoints(&self) -> Result<(), Error> {
        let sink = self.audit_sink()?;
        for (account, region) in self.store.audit_chains().await? {
            if let Some(checkpoint) = self.store.audit_checkpoint(&account, &region).await? {
                sink.forget(&account, &region, checkpoint.head).await?;
            }
        }
        Ok(())
    }

    /// After an unclean stop, appends a `StrongboxAuditRecovery` service event to every chain
    /// the sink holds, naming the newest record found, so that a verifier sees that records
    /// synced within the loss window may be missing. Returns how many chains were marked.
    pub async fn record_audit_recovery(&self) -> Result<usize, Error> {
        let Some(sink) = self.audit.sink() else {
            return Ok(0);
        };
        let Some(recovery) = sink.take_recovery() else {
            return Ok(0);
        };
        let now = self.clock.now();
        for ((account, region), head) in &recovery.chains {
            let event = crate::audit::Event::audit_recovery(
                account,
                region,
                now,
                head,
                recovery.torn_bytes,
            );
            self.audit.record(account, region, now, event).await?;
        }
        tracing::warn!(
            chains = recovery.chains.len(),
            torn_bytes = recovery.torn_bytes,
            "the audit journal was not closed cleanly; each chain records the recovery"
        );
        Ok(recovery.chains.len())
    }

    /// A chain's checkpoint, when its prefix was pruned.
    pub async fn audit_checkpoint(
        &self,
        account: &AccountId,
        region: &Region,
    ) -> Result<Option<Checkpoint>, Error> {
        Ok(self.store.audit_checkpoint(account, region).await?)
    }

    /// The content of a log file a digest lists, rebuilt from the stored records (byte for
    /// byte what the digest hashed, unless the store was tampered with).
    pub async fn audit_log_file(
        &self,
        account: &AccountId,
        region: &Region,
        entry: &LogFileEntry,
    ) -> Result<Vec<u8>, Error> {
        let records = self.audit_log_records(account, region, entry).await?;
        Ok(digest::log_file(
            records.iter().map(|r| r.record.as_slice()),
        ))
    }

    /// The stored records of a log file a digest lists.
    pub async fn audit_log_records(
        &self,
        account: &AccountId,
        region: &Region,
        entry: &LogFileEntry,
    ) -> Result<Vec<AuditRecord>, Error> {
        self.records_between(account, region, entry.first_sequence, entry.last_sequence)
            .await
    }

    /// Records of a chain after sequence `after` (for checking those no digest covers yet).
    pub async fn audit_records_after(
        &self,
        account: &AccountId,
        region: &Region,
        after: u64,
        limit: u32,
    ) -> Result<Vec<AuditRecord>, Error> {
        Ok(self
            .audit_sink()?
            .records(account, region, after, limit)
            .await?)
    }

    async fn records_between(
        &self,
        account: &AccountId,
        region: &Region,
        first: u64,
        last: u64,
    ) -> Result<Vec<AuditRecord>, Error> {
        let count = last.saturating_sub(first).saturating_add(1);
        let limit = u32::try_from(count).unwrap_or(u32::MAX);
        let mut records = self
            .audit_records_after(account, region, first.saturating_sub(1), limit)
            .await?;
        records.retain(|record| record.sequence <= last);
        Ok(records)
    }

    /// CloudTrail LookupEvents: the caller's own events in the Region it signed for.
    pub async fn lookup_events(
        &self,
        principal: &Principal,
        query: &LookupQuery,
    ) -> Result<Vec<AuditRecord>, Error> {
        // A few at a time (CloudTrail allows 2 per second): a lookup may walk a long history,
        // and must not take every store connection from the calls being recorded.
        let _permit = self
            .lookup_permits
            .acquire()
            .await
            .map_err(|_| Internal::new("audit lookup", "the lookup gate is closed"))?;
        Ok(self
            .audit_sink()?
            .lookup(&principal.account, &principal.region, query)
            .await?)
    }

    /// Retention: for every chain, drops the digests (but never the newest) that ended before
    /// `now - retention`, with the records they cover, and leaves a signed checkpoint so the
    /// rest still verifies. Returns how many digests were pruned.
    pub async fn prune_audit(&self, retention: Duration) -> Result<u64, Error> {
        let signer = self.audit_signer().await?;
        let now = self.clock.now();
        let cutoff = now - retention;
        let mut pruned = 0;
        for (account, region) in self.audit_chains().await? {
            let Some(newest) = self.store.last_audit_digest(&account, &region).await? else {
                continue;
            };
            // Digest by digest, each in its own transaction with its own checkpoint, so that a
            // long backlog never holds the store's write lock for long.
            let mut pruned_through = None;
            'pages: loop {
                let page = self
                    .store
                    .audit_digests(&account, &region, 0, DIGEST_PAGE)
                    .await?;
                if page.is_empty() {
                    break;
                }
                for digest in page {
                    if digest.end_time >= cutoff || digest.sequence == newest.sequence {
                        break 'pages;
                    }
                    let checkpoint = checkpoint_for(&digest, &signer, now)?;
                    self.store.prune_audit(&checkpoint).await?;
                    self.audit_sink()?
                        .forget(&account, &region, checkpoint.head)
                        .await?;
                    pruned += 1;
                    pruned_through = Some(digest.sequence);
                }
            }
            let Some(through) = pruned_through else {
                continue;
            };
            tracing::info!(account = %account, region = %region, through_digest = through, "audit records pruned");
        }
        Ok(pruned)
    }
}

/// The entry a digest lists for `records` (one log file's worth, in order).
fn log_file_entry(account: &AccountId, region: &Region, records: &[AuditRecord]) -> LogFileEntry {
    let oldest = records.iter().map(|r| r.event_time).min();
    let newest = records.iter().map(|r| r.event_time).max();
    let first = records.first().map_or(0, |r| r.sequence);
    let last = records.last().map_or(0, |r| r.sequence);
    let oldest = oldest.unwrap_or(OffsetDateTime::UNIX_EPOCH);
    let file = digest::log_file(records.iter().map(|r| r.record.as_slice()));
    LogFileEntry {
        s3_object: paths::log_object(account, region, oldest, first, last),
        hash_value: hex::encode(strongbox_crypto::sha256(&file)),
        hash_algorithm: HASH_ALGORITHM.to_owned(),
        newest_event_time: event_time(newest.unwrap_or(oldest)),
        oldest_event_time: event_time(oldest),
        first_sequence: first,
        last_sequence: last,
    }
}

/// The signed checkpoint that stands for everything through `digest`.
fn checkpoint_for(
    digest: &StoredDigest,
    signer: &AuditSigner,
    now: OffsetDateTime,
) -> Result<Checkpoint, Error> {
    let opened = digest::open_signed::<DigestBody>(&digest.file)
        .map_err(|error| Internal::new("stored audit digest", error))?;
    let hash = parse_hash(&opened.body.last_record_hash)?;
    let body = CheckpointBody {
        aws_account_id: digest.account.to_string(),
        aws_region: digest.region.to_string(),
        checkpoint_time: event_time(now),
        pruned_digest_sequence: digest.sequence,
        pruned_digest_s3_object: digest.object.clone(),
        pruned_digest_hash_value: hex::encode(strongbox_crypto::sha256(&digest.file)),
        pruned_digest_signature: hex::encode(&opened.signature),
        pruned_digest_end_time: opened.body.digest_end_time,
        last_record_sequence: digest.last_record,
        last_record_hash: opened.body.last_record_hash,
        digest_public_key_fingerprint: digest::fingerprint(&signer.public_key),
        digest_signature_algorithm: SIGNATURE_ALGORITHM.to_owned(),
    };
    let (file, _) = digest::signed_file(&body, &signer.key)
        .map_err(|error| Internal::new("audit checkpoint signing", error))?;
    Ok(Checkpoint {
        account: digest.account,
        region: digest.region,
        digest_sequence: digest.sequence,
        head: Head {
            sequence: digest.last_record,
            hash,
        },
        file,
    })
}

fn parse_hash(text: &str) -> Result<[u8; 32], Error> {
    hex::decode(text)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| Internal::new("audit", "a stored hash is not 32 hex bytes").into())
}
