//! Reading the journal: a chain's records in order (digests, verification, export) and
//! LookupEvents, newest first, scanning only the blocks whose summaries can match.

use std::os::unix::fs::FileExt;
use std::sync::{Arc, PoisonError, RwLock};

use strongbox_core::StoreError;
use strongbox_core::audit::chain::parse_record;
use strongbox_core::audit::event::KEY_RESOURCE_TYPE;
use strongbox_core::audit::{AuditRecord, LookupAttribute, LookupQuery};

use super::filter;
use super::frame::{self, Frame, Frames};
use super::sealed::{Block, Details, Sealed};
use super::{Chain, Entry, Index, io_error};
use strongbox_core::audit::columns::{self, Columns};

/// Records of one unsealed segment read per span, at most.
const SPAN_RECORDS: usize = 256;
/// Bytes of one unsealed segment read at once, about at most.
const SPAN_BYTES: u64 = 4 << 20;

/// A run of records to read: one sealed block, or some entries of an unsealed segment.
enum Source {
    Block(Arc<Sealed>, Block),
    Entries(Arc<std::fs::File>, Vec<Entry>),
}

impl Source {
    /// The source's frames of `chain`, oldest first, handed to `visit` (which returns false
    /// to stop).
    fn visit(
        &self,
        chain: &Chain,
        visit: &mut dyn FnMut(Frame<'_>) -> Result<bool, StoreError>,
    ) -> Result<bool, StoreError> {
        match self {
            Source::Block(segment, block) => {
                let bytes = segment.read_block(block)?;
                for (_, frame) in Frames::new(&bytes) {
                    if frame.is_of(&chain.0, &chain.1) && !visit(frame)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Source::Entries(file, entries) => {
                for span in spans(entries) {
                    let start = span[0].offset;
                    let end = span
                        .iter()
                        .map(|e| e.offset + u64::from(e.length))
                        .max()
                        .unwrap_or(start);
                    let mut bytes = vec![0; usize::try_from(end - start).unwrap_or(0)];
                    file.read_exact_at(&mut bytes, start).map_err(io_error)?;
                    for entry in span {
                        let at = usize::try_from(entry.offset - start).unwrap_or(usize::MAX);
                        let frame::Read::Frame(frame) =
                            frame::read(bytes.get(at..).unwrap_or_default())
                        else {
                            return Err(StoreError::new(
                                strongbox_core::StoreErrorKind::Corrupt,
                                format!(
                                    "the audit journal's record {} of {}/{} is damaged",
                                    entry.sequence, chain.0, chain.1
                                ),
                            ));
                        };
                        if frame.is_of(&chain.0, &chain.1) && !visit(frame)? {
                            return Ok(false);
                        }
                    }
                }
                Ok(true)
            }
        }
    }
}

/// Splits entries (in file order) into runs read with one `pread` each.
fn spans(entries: &[Entry]) -> impl Iterator<Item = &[Entry]> {
    let mut rest = entries;
    std::iter::from_fn(move || {
        let first = rest.first()?;
        let mut end = 1;
        while end < rest.len()
            && end < SPAN_RECORDS
            && rest[end].offset + u64::from(rest[end].length) - first.offset <= SPAN_BYTES
        {
            end += 1;
        }
        let (span, remaining) = rest.split_at(end);
        rest = remaining;
        Some(span)
    })
}

fn record_of(chain: &Chain, frame: &Frame<'_>) -> Result<AuditRecord, StoreError> {
    let time =
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(frame.time_ms) * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    parse_record(
        &chain.0,
        &chain.1,
        frame.sequence,
        time,
        frame.record.to_vec(),
    )
    .map_err(|error| StoreError::new(strongbox_core::StoreErrorKind::Corrupt, error))
}

/// A chain's records after sequence `after`, in order, at most `limit`. The index is read
/// under its lock; the files are read after it is released (the writer needs it for every
/// batch).
pub(super) fn records(
    index: &RwLock<Index>,
    details: &Details,
    chain: &Chain,
    after: u64,
    limit: u32,
) -> Result<Vec<AuditRecord>, StoreError> {
    let limit = limit as usize;
    let (after, sealed, mut sources) = {
        let index = index.read().unwrap_or_else(PoisonError::into_inner);
        let after = after.max(index.floors.get(chain).copied().unwrap_or(0));
        let mut sealed = Vec::new();
        let mut planned = 0;
        for segment in index.sealed.values() {
            let Some(span) = segment.span(chain) else {
                continue;
            };
            if planned < limit && span.last_sequence > after {
                // A chain's records in a segment follow one another: those after `after`.
                let skipped = after.max(span.first_sequence.saturating_sub(1));
                planned += usize::try_from(span.last_sequence.saturating_sub(skipped))
                    .unwrap_or(usize::MAX);
                sealed.push(Arc::clone(segment));
            }
        }
        let mut sources = Vec::new();
        for raw in index.raw.values() {
            let Some(entries) = raw.chains.get(chain) else {
                continue;
            };
            let start = entries.partition_point(|entry| entry.sequence <= after);
            let take = limit.saturating_sub(planned).min(entries.len() - start);
            if take > 0 {
                planned += take;
                sources.push(Source::Entries(
                    Arc::clone(&raw.file),
                    entries[start..start + take].to_vec(),
                ));
            }
        }
        (after, sealed, sources)
    };
    // Sealed segments come before the unsealed ones.
    let mut blocks = Vec::new();
    for segment in sealed {
        let detail = details.get(&segment)?;
        for block in detail.blocks(chain) {
            if block.last_sequence > after {
                blocks.push(Source::Block(Arc::clone(&segment), block.clone()));
            }
        }
    }
    blocks.append(&mut sources);
    let sources = blocks;
    let mut records = Vec::new();
    for source in &sources {
        let more = source.visit(chain, &mut |frame| {
            if frame.sequence > after {
                records.push(record_of(chain, &frame)?);
            }
            Ok(records.len() < limit)
        })?;
        if !more {
            break;
        }
    }
    Ok(records)
}

/// LookupEvents on a chain: matching records, highest sequence first.
pub(super) fn lookup(
    index: &RwLock<Index>,
    details: &Details,
    chain: &Chain,
    query: &LookupQuery,
) -> Result<Vec<AuditRecord>, StoreError> {
    if let Some(LookupAttribute::ResourceType(kind)) = &query.attribute
        && kind != KEY_RESOURCE_TYPE
    {
        return Ok(Vec::new());
    }
    let index = index.read().unwrap_or_else(PoisonError::into_inner);
    let floor = index.floors.get(chain).copied().unwrap_or(0);
    let before = query.after.map_or(u64::MAX, |(_, sequence)| sequence);
    let start_ms = query.start.map_or(i64::MIN, crate::rows::millis);
    let end_ms = query.end.map_or(i64::MAX, crate::rows::millis);
    let bloom_key = query
        .attribute
        .as_ref()
        .and_then(|attribute| columns::lookup_key(attribute, &chain.0, &chain.1));
    let wanted = |sequence: u64, time_ms: i64| {
        sequence > floor && sequence < before && (start_ms..=end_ms).contains(&time_ms)
    };
    let needle = query.attribute.as_ref().and_then(filter::needle);
    let finder = needle.as_deref().map(memchr::memmem::Finder::new);
    let limit = query.limit as usize;
    let mut found = Vec::new();
    // Reads `sources` (newest first) into `found`; true once it holds `limit` records.
    let mut read = |sources: &[Source]| -> Result<bool, StoreError> {
        for source in sources {
            let mut matched = Vec::new();
            source.visit(chain, &mut |frame| {
                if !wanted(frame.sequence, frame.time_ms) {
                    return Ok(true);
                }
                if let Some(attribute) = &query.attribute {
                    if finder
                        .as_ref()
                        .is_some_and(|finder| finder.find(frame.record).is_none())
                    {
                        return Ok(true);
                    }
                    let Some(columns) = Columns::parse(frame.record) else {
                        return Ok(true);
                    };
                    if !columns.matches(attribute, &chain.0, &chain.1) {
                        return Ok(true);
                    }
                }
                matched.push(record_of(chain, &frame)?);
                Ok(true)
            })?;
            matched.reverse();
            found.extend(matched);
            if found.len() >= limit {
                found.truncate(limit);
                return Ok(true);
            }
        }
        Ok(false)
    };
    // Newest first: unsealed segments (newest), then sealed ones, each from its end; a sealed
    // segment's blocks are read from disk only when the lookup gets that far back. The index
    // is read under its lock, the files after it is released.
    let in_range = |first: u64, last: u64, oldest: i64, newest: i64| {
        last > floor && first < before && newest >= start_ms && oldest <= end_ms
    };
    let mut sources = Vec::new();
    for raw in index.raw.values().rev() {
        let Some(entries) = raw.chains.get(chain) else {
            continue;
        };
        let kept: Vec<Entry> = entries
            .iter()
            .filter(|entry| wanted(entry.sequence, entry.time_ms))
            .copied()
            .collect();
        for run in kept.rchunks(SPAN_RECORDS) {
            sources.push(Source::Entries(Arc::clone(&raw.file), run.to_vec()));
        }
    }
    let sealed: Vec<Arc<Sealed>> = index
        .sealed
        .values()
        .rev()
        .filter(|segment| {
            segment.span(chain).is_some_and(|span| {
                in_range(
                    span.first_sequence,
                    span.last_sequence,
                    span.oldest_ms,
                    span.newest_ms,
                )
            })
        })
        .cloned()
        .collect();
    drop(index);
    if read(&sources)? {
        return Ok(found);
    }
    for segment in sealed {
        let detail = details.get(&segment)?;
        sources.clear();
        for block in detail.blocks(chain).iter().rev() {
            let may_match = match &query.attribute {
                Some(LookupAttribute::ReadOnly(false)) => block.writes > 0,
                Some(LookupAttribute::ReadOnly(true)) => block.writes < block.records,
                Some(LookupAttribute::ResourceType(_)) => block.keyed > 0,
                _ => bloom_key.is_none_or(|(kind, value)| block.may_hold(kind, value)),
            };
            let in_range = in_range(
                block.first_sequence,
                block.last_sequence,
                block.oldest_ms,
                block.newest_ms,
            );
            if in_range && may_match {
                sources.push(Source::Block(Arc::clone(&segment), block.clone()));
            }
        }
        if read(&sources)? {
            break;
        }
    }
    Ok(found)
}
