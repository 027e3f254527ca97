//! A sealed segment: a closed segment rewritten with each chain's records together, in blocks
//! (optionally gzip-compressed one by one), followed by its summary, so that a reader finds a
//! chain's records without reading the others' and a lookup skips blocks that cannot match.
//!
//! Layout: `SBJSEAL1`, the blocks, the summary (JSON), then a trailer `[u64 summary offset]
//! [u64 summary length][u32 CRC-32 of the summary]SBJSEND1`. It is written to a temporary
//! file, synced and renamed, so a sealed segment is whole or absent.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use strongbox_core::StoreError;
use strongbox_core::model::{AccountId, Region};

use super::filter::Bloom;
use super::frame::{self, Frames};
use super::{Chain, io_error};
use crate::rows::corrupt;
use strongbox_core::audit::columns::Columns;

const MAGIC: &[u8; 8] = b"SBJSEAL1";
const END: &[u8; 8] = b"SBJSEND1";
const TRAILER: usize = 8 + 8 + 4 + 8;
/// Records per block, at most.
const BLOCK_RECORDS: usize = 256;
/// Bytes per block before compression, about at most.
const BLOCK_BYTES: usize = 256 << 10;
/// Bytes of unfinished blocks, all chains together, past which the sealer writes them all (a
/// segment of many small chains would otherwise sit in memory whole until its end).
const PENDING_BYTES: usize = 8 << 20;

/// How sealed blocks are stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// As written.
    #[default]
    None,
    /// Each block a gzip member.
    Gzip,
}

/// One block: consecutive records of one chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Block {
    /// Where the stored bytes start in the file.
    pub(crate) offset: u64,
    /// Stored (possibly compressed) length.
    pub(crate) stored: u64,
    pub(crate) records: u32,
    pub(crate) first_sequence: u64,
    pub(crate) last_sequence: u64,
    pub(crate) oldest_ms: i64,
    pub(crate) newest_ms: i64,
    /// Records that are not read-only.
    pub(crate) writes: u32,
    /// Records that name at least one key.
    pub(crate) keyed: u32,
    /// The Bloom filter of the block's lookup values, as little-endian words in base64 (as
    /// written; emptied once `filter` is decoded from it).
    bloom: String,
    #[serde(skip)]
    pub(crate) filter: Option<Bloom>,
}

impl Block {
    /// Whether the block's filter may hold `(kind, value)`.
    pub(crate) fn may_hold(&self, kind: u8, value: &str) -> bool {
        self.filter
            .as_ref()
            .is_none_or(|filter| filter.contains(kind, value))
    }
}

/// A chain's part of a sealed segment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChainBlocks {
    pub(crate) account: String,
    pub(crate) region: String,
    /// Hex SHA-256 of the chain's last record in the segment.
    pub(crate) last_hash: String,
    pub(crate) blocks: Vec<Block>,
}

/// What a sealed segment holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary {
    pub(crate) segment: u64,
    pub(crate) compression: Compression,
    pub(crate) records: u64,
    /// The records' frames before compression.
    pub(crate) raw_bytes: u64,
    pub(crate) chains: Vec<ChainBlocks>,
}

/// A sealed segment, open for reading. Memory holds only a span per chain; the blocks and
/// their Bloom filters (about 4 bytes per record) stay on disk, read when a reader needs them
/// through [`Details`], so a trail of billions of records does not fill memory.
pub(crate) struct Sealed {
    pub(crate) number: u64,
    file: File,
    /// The file's length.
    pub(crate) bytes: u64,
    compression: Compression,
    pub(crate) records: u64,
    /// The records' frames before compression.
    pub(crate) raw_bytes: u64,
    /// Where the summary is in the file, and its checksum.
    summary_at: (u64, u64, u32),
    pub(crate) spans: HashMap<Chain, Span>,
}

/// What a sealed segment holds of one chain, kept in memory.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    pub(crate) first_sequence: u64,
    pub(crate) last_sequence: u64,
    pub(crate) oldest_ms: i64,
    pub(crate) newest_ms: i64,
    /// SHA-256 of the chain's last record in the segment.
    pub(crate) last_hash: [u8; 32],
}

/// A sealed segment's blocks, by chain, with their Bloom filters decoded.
pub(crate) struct Detail {
    blocks: HashMap<Chain, Vec<Block>>,
    /// About the memory it takes.
    bytes: usize,
}

impl Detail {
    pub(crate) fn blocks(&self, chain: &Chain) -> &[Block] {
        self.blocks.get(chain).map_or(&[], Vec::as_slice)
    }
}

impl Sealed {
    /// The segment's part of `chain`, if it holds any.
    pub(crate) fn span(&self, chain: &Chain) -> Option<&Span> {
        self.spans.get(chain)
    }

    /// Reads the segment's blocks and filters from its summary.
    fn read_detail(&self) -> Result<Detail, StoreError> {
        let summary = read_summary(&self.file, self.summary_at, self.number)?;
        let damaged = || damaged(self.number);
        let mut blocks = HashMap::with_capacity(summary.chains.len());
        let mut bytes = 0;
        for mut part in summary.chains {
            for block in &mut part.blocks {
                // Only bytes before the summary are blocks; a summary saying otherwise (a
                // damaged or edited file) must not make a reader allocate or read past them.
                let inside = block.offset.checked_add(block.stored).is_some_and(|end| {
                    block.offset >= MAGIC.len() as u64 && end <= self.summary_at.0
                });
                if !inside || block.first_sequence > block.last_sequence {
                    return Err(damaged());
                }
                // Decoded once; the text is dropped (it would double the filter's memory).
                let words = STANDARD
                    .decode(std::mem::take(&mut block.bloom))
                    .map_err(|_| damaged())?;
                bytes += std::mem::size_of::<Block>() + words.len();
                let words = words
                    .chunks_exact(8)
                    .map(|word| u64::from_le_bytes(word.try_into().unwrap_or_default()))
                    .collect();
                block.filter = Bloom::from_words(words);
            }
            blocks.insert(chain_of(&part).ok_or_else(damaged)?, part.blocks);
        }
        Ok(Detail { blocks, bytes })
    }

    /// The frames of one block, decompressed.
    pub(crate) fn read_block(&self, block: &Block) -> Result<Vec<u8>, StoreError> {
        let length = usize::try_from(block.stored)
            .map_err(|_| corrupt("a sealed block is larger than memory"))?;
        let mut stored = vec![0; length];
        self.file
            .read_exact_at(&mut stored, block.offset)
            .map_err(io_error)?;
        match self.compression {
            Compression::None => Ok(stored),
            Compression::Gzip => {
                let mut frames = Vec::with_capacity(length.saturating_mul(4));
                flate2::read::GzDecoder::new(stored.as_slice())
                    .read_to_end(&mut frames)
                    .map_err(|error| {
                        corrupt(format!("a sealed block does not decompress: {error}"))
                    })?;
                Ok(frames)
            }
        }
    }
}

/// The sealed segments' details that readers used last, up to a memory bound (the least
/// recently used go first).
pub(crate) struct Details {
    inner: std::sync::Mutex<DetailsInner>,
    capacity: usize,
}

#[derive(Default)]
struct DetailsInner {
    /// By segment number: the detail and when it was last used.
    entries: HashMap<u64, (Arc<Detail>, u64)>,
    bytes: usize,
    uses: u64,
}

impl DetailsInner {
    /// The cached detail of segment `number`, marked as used now.
    fn touch(&mut self, number: u64) -> Option<Arc<Detail>> {
        self.uses += 1;
        let now = self.uses;
        let (detail, used) = self.entries.get_mut(&number)?;
        *used = now;
        Some(Arc::clone(detail))
    }
}

impl Default for Details {
    fn default() -> Self {
        Self::new(DETAILS_BYTES)
    }
}

/// Memory for sealed segments' details: the filters of about 16 million records.
const DETAILS_BYTES: usize = 64 << 20;

impl Details {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            inner: std::sync::Mutex::default(),
            capacity,
        }
    }

    /// `segment`'s detail, read from its file unless it is cached.
    pub(crate) fn get(&self, segment: &Sealed) -> Result<Arc<Detail>, StoreError> {
        if let Some(cached) = self.lock().touch(segment.number) {
            return Ok(cached);
        }
        let detail = Arc::new(segment.read_detail()?);
        let mut inner = self.lock();
        // Another reader may have read it meanwhile.
        if let Some(cached) = inner.touch(segment.number) {
            return Ok(cached);
        }
        let now = inner.uses;
        inner.bytes += detail.bytes;
        inner
            .entries
            .insert(segment.number, (Arc::clone(&detail), now));
        if inner.bytes > self.capacity {
            // Down to three quarters at once, oldest first: one sort per quarter of the cache
            // read anew, not a scan per insert (with small segments it holds thousands).
            let mut by_use: Vec<(u64, u64)> = inner
                .entries
                .iter()
                .filter(|(number, _)| **number != segment.number)
                .map(|(number, (_, used))| (*used, *number))
                .collect();
            by_use.sort_unstable();
            let target = self.capacity / 4 * 3;
            for (_, number) in by_use {
                if inner.bytes <= target {
                    break;
                }
                if let Some((gone, _)) = inner.entries.remove(&number) {
                    inner.bytes -= gone.bytes;
                }
            }
        }
        Ok(detail)
    }

    /// Drops a removed segment's detail.
    pub(crate) fn forget(&self, number: u64) {
        let mut inner = self.lock();
        if let Some((gone, _)) = inner.entries.remove(&number) {
            inner.bytes -= gone.bytes;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DetailsInner> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn damaged(number: u64) -> StoreError {
    corrupt(format!(
        "sealed audit segment {number} is not a whole sealed segment"
    ))
}

fn chain_of(part: &ChainBlocks) -> Option<Chain> {
    Some((
        AccountId::parse(&part.account).ok()?,
        Region::parse(&part.region).ok()?,
    ))
}

/// Reads and checks the summary at `(offset, length, checksum)`.
fn read_summary(
    file: &File,
    (offset, length, checksum): (u64, u64, u32),
    number: u64,
) -> Result<Summary, StoreError> {
    let mut text = vec![0; usize::try_from(length).map_err(|_| damaged(number))?];
    file.read_exact_at(&mut text, offset).map_err(io_error)?;
    if crc32fast::hash(&text) != checksum {
        return Err(damaged(number));
    }
    serde_json::from_slice(&text).map_err(|_| damaged(number))
}

/// Opens sealed segment `number` at `path`: checks its frame and summary, and keeps each
/// chain's span.
pub(crate) fn open(path: &Path, number: u64) -> Result<Sealed, StoreError> {
    let file = File::open(path).map_err(io_error)?;
    let bytes = file.metadata().map_err(io_error)?.len();
    let damaged = || damaged(number);
    let trailer_at = bytes.checked_sub(TRAILER as u64).ok_or_else(damaged)?;
    let mut trailer = [0; TRAILER];
    file.read_exact_at(&mut trailer, trailer_at)
        .map_err(io_error)?;
    let mut magic = [0; 8];
    file.read_exact_at(&mut magic, 0).map_err(io_error)?;
    if &magic != MAGIC || &trailer[20..] != END {
        return Err(damaged());
    }
    let word = |at: usize| u64::from_le_bytes(trailer[at..at + 8].try_into().unwrap_or_default());
    let (offset, length) = (word(0), word(8));
    let checksum = u32::from_le_bytes(trailer[16..20].try_into().unwrap_or_default());
    if offset.checked_add(length) != Some(trailer_at) {
        return Err(damaged());
    }
    let summary_at = (offset, length, checksum);
    let summary = read_summary(&file, summary_at, number)?;
    with_summary(file, bytes, summary_at, &summary, number)
}

/// A sealed segment from its summary (read back, or just written): each chain's span.
fn with_summary(
    file: File,
    bytes: u64,
    summary_at: (u64, u64, u32),
    summary: &Summary,
    number: u64,
) -> Result<Sealed, StoreError> {
    let damaged = || damaged(number);
    let mut spans = HashMap::with_capacity(summary.chains.len());
    for part in &summary.chains {
        let chain = chain_of(part).ok_or_else(damaged)?;
        let (Some(first), Some(last)) = (part.blocks.first(), part.blocks.last()) else {
            continue;
        };
        let last_hash = hex::decode(&part.last_hash)
            .ok()
            .and_then(|hash| <[u8; 32]>::try_from(hash).ok())
            .ok_or_else(damaged)?;
        spans.insert(
            chain,
            Span {
                first_sequence: first.first_sequence,
                last_sequence: last.last_sequence,
                oldest_ms: part.blocks.iter().map(|b| b.oldest_ms).min().unwrap_or(0),
                newest_ms: part.blocks.iter().map(|b| b.newest_ms).max().unwrap_or(0),
                last_hash,
            },
        );
    }
    Ok(Sealed {
        number,
        file,
        bytes,
        compression: summary.compression,
        records: summary.records,
        raw_bytes: summary.raw_bytes,
        summary_at,
        spans,
    })
}

/// Rewrites the intact frames of a closed segment, read from `frames` (the segment after its
/// magic) a chunk at a time through `buffer`, as sealed segment `number` at `path`, through a
/// temporary file that is synced and renamed. Each chain's frames go into blocks of their own,
/// so memory holds one unfinished block per chain, never the whole segment.
pub(crate) fn write(
    path: &Path,
    number: u64,
    frames: &mut impl std::io::Read,
    buffer: &mut Vec<u8>,
    compression: Compression,
) -> Result<Sealed, StoreError> {
    let temporary = path.with_extension("tmp");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .read(true)
        .write(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(io_error)?;
    let mut out = std::io::BufWriter::new(file);
    out.write_all(MAGIC).map_err(io_error)?;
    let mut blocks = BlockWriter {
        out,
        offset: MAGIC.len() as u64,
        compression,
        chains: HashMap::new(),
        pending: 0,
        records: 0,
        raw_bytes: 0,
    };
    frame::read_each(frames, buffer, |frame, bytes| blocks.add(&frame, bytes))?;
    let mut order: Vec<Chain> = blocks.chains.keys().copied().collect();
    order.sort_unstable_by(|a, b| (a.0.as_str(), a.1.as_str()).cmp(&(b.0.as_str(), b.1.as_str())));
    let mut summary = Summary {
        segment: number,
        compression,
        records: 0,
        raw_bytes: 0,
        chains: Vec::with_capacity(order.len()),
    };
    for chain in &order {
        blocks.finish_block(chain)?;
        let Some(done) = blocks.chains.remove(chain) else {
            continue;
        };
        summary.chains.push(ChainBlocks {
            account: chain.0.to_string(),
            region: chain.1.to_string(),
            last_hash: hex::encode(done.last_hash),
            blocks: done.blocks,
        });
    }
    summary.records = blocks.records;
    summary.raw_bytes = blocks.raw_bytes;
    let (mut out, offset) = (blocks.out, blocks.offset);
    let text = serde_json::to_vec(&summary).map_err(|error| corrupt(error.to_string()))?;
    let summary_at = (offset, text.len() as u64, crc32fast::hash(&text));
    out.write_all(&text).map_err(io_error)?;
    out.write_all(&summary_at.0.to_le_bytes())
        .map_err(io_error)?;
    out.write_all(&summary_at.1.to_le_bytes())
        .map_err(io_error)?;
    out.write_all(&summary_at.2.to_le_bytes())
        .map_err(io_error)?;
    out.write_all(END).map_err(io_error)?;
    let file = out
        .into_inner()
        .map_err(|error| io_error(error.into_error()))?;
    file.sync_all().map_err(io_error)?;
    std::fs::rename(&temporary, path).map_err(io_error)?;
    super::sync_directory(path)?;
    // The handle stays the file's, renamed; the summary is the one just written, not read back.
    let bytes = offset + summary_at.1 + TRAILER as u64;
    with_summary(file, bytes, summary_at, &summary, number)
}

/// Gathers a segment's frames into per-chain blocks and writes each block when it is full.
struct BlockWriter {
    out: std::io::BufWriter<File>,
    /// Where the next block starts in the file.
    offset: u64,
    compression: Compression,
    chains: HashMap<Chain, ChainOut>,
    /// Bytes in the chains' unfinished blocks.
    pending: usize,
    records: u64,
    raw_bytes: u64,
}

/// One chain's blocks so far and the frames of its unfinished block.
#[derive(Default)]
struct ChainOut {
    pending: Vec<u8>,
    pending_records: usize,
    blocks: Vec<Block>,
    /// SHA-256 of the chain's last record in a finished block.
    last_hash: [u8; 32],
}

impl BlockWriter {
    /// Adds one frame (`bytes`, the whole frame) to its chain's block; a frame whose names
    /// are not valid (damage) is left out.
    fn add(&mut self, frame: &frame::Frame<'_>, bytes: &[u8]) -> Result<(), StoreError> {
        let Some(chain) = frame.chain() else {
            return Ok(());
        };
        let out = self.chains.entry(chain).or_default();
        out.pending.extend_from_slice(bytes);
        out.pending_records += 1;
        self.pending += bytes.len();
        if out.pending_records >= BLOCK_RECORDS || out.pending.len() >= BLOCK_BYTES {
            self.finish_block(&chain)?;
        }
        if self.pending > PENDING_BYTES {
            let chains: Vec<Chain> = self.chains.keys().copied().collect();
            for chain in &chains {
                self.finish_block(chain)?;
            }
        }
        Ok(())
    }

    /// Writes `chain`'s unfinished block, if it has frames.
    fn finish_block(&mut self, chain: &Chain) -> Result<(), StoreError> {
        let Some(out) = self.chains.get_mut(chain) else {
            return Ok(());
        };
        if out.pending_records == 0 {
            return Ok(());
        }
        let raw = &out.pending;
        let compressed;
        let stored = match self.compression {
            Compression::None => raw.as_slice(),
            Compression::Gzip => {
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder.write_all(raw).map_err(io_error)?;
                compressed = encoder.finish().map_err(io_error)?;
                compressed.as_slice()
            }
        };
        self.out.write_all(stored).map_err(io_error)?;
        let frames: Vec<frame::Frame<'_>> = Frames::new(raw).map(|(_, frame)| frame).collect();
        out.blocks
            .push(describe(&frames, self.offset, stored.len() as u64));
        if let Some(last) = frames.last() {
            out.last_hash = strongbox_crypto::sha256(last.record);
        }
        self.offset += stored.len() as u64;
        self.records += frames.len() as u64;
        self.raw_bytes += raw.len() as u64;
        self.pending -= raw.len();
        // Its memory goes too: a chain's next block may be long in coming.
        out.pending = Vec::new();
        out.pending_records = 0;
        Ok(())
    }
}

/// The summary entry of one block of frames.
fn describe(frames: &[frame::Frame<'_>], offset: u64, stored: u64) -> Block {
    let mut filter = Bloom::with_capacity(frames.len() * 3 + 8);
    let (mut writes, mut keyed) = (0, 0);
    for frame in frames {
        match Columns::parse(frame.record) {
            Some(columns) => {
                for (kind, value) in columns.keys() {
                    filter.insert(kind, value);
                }
                writes += u32::from(!columns.read_only);
                keyed += u32::from(!columns.resources.is_empty());
            }
            // Not a record lookups can read: keep the block findable by everything.
            None => {
                writes += 1;
                keyed += 1;
                filter = Bloom::with_capacity(0);
                filter.fill();
            }
        }
    }
    let words: Vec<u8> = filter
        .words()
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    Block {
        offset,
        stored,
        records: u32::try_from(frames.len()).unwrap_or(u32::MAX),
        first_sequence: frames.first().map_or(0, |f| f.sequence),
        last_sequence: frames.last().map_or(0, |f| f.sequence),
        oldest_ms: frames.iter().map(|f| f.time_ms).min().unwrap_or(0),
        newest_ms: frames.iter().map(|f| f.time_ms).max().unwrap_or(0),
        writes,
        keyed,
        bloom: STANDARD.encode(words),
        filter: Some(filter),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn chain(n: u8) -> Chain {
        (
            AccountId::parse(&format!("1111222233{n:02}")).unwrap(),
            Region::parse("eu-west-1").unwrap(),
        )
    }

    /// A sealed segment of `records` frames of chain 0, written to `dir`.
    fn sealed(dir: &Path, number: u64, records: u64) -> Sealed {
        let (account, region) = chain(0);
        let mut frames = Vec::new();
        for sequence in 1..=records {
            let record = format!(
                r#"{{"eventID":"e{number}-{sequence}","pad":"{}"}}"#,
                "x".repeat(300)
            );
            frame::encode(
                &mut frames,
                &account,
                &region,
                sequence,
                1_000,
                &[record.as_bytes()],
            );
        }
        let path = dir.join(format!("{number}.sealed"));
        write(
            &path,
            number,
            &mut frames.as_slice(),
            &mut Vec::new(),
            Compression::Gzip,
        )
        .unwrap()
    }

    /// The frames of `chain` in `segment`, read back through its detail, in order.
    fn sequences(segment: &Sealed, chain: &Chain) -> Vec<u64> {
        let detail = Details::default().get(segment).unwrap();
        let mut read = Vec::new();
        for block in detail.blocks(chain) {
            let bytes = segment.read_block(block).unwrap();
            read.extend(Frames::new(&bytes).map(|(_, frame)| frame.sequence));
        }
        read
    }

    #[test]
    fn many_small_chains_are_written_out_before_the_segment_ends() {
        // 100 chains of 100 records of about 1 KiB: no chain fills a block, but together
        // they pass the bound on unfinished blocks, which writes them all out.
        let dir = tempfile::tempdir().unwrap();
        let mut frames = Vec::new();
        for sequence in 1..=100 {
            for n in 0..100 {
                let (account, region) = chain(n);
                let record = format!(r#"{{"pad":"{}"}}"#, "y".repeat(1000));
                frame::encode(
                    &mut frames,
                    &account,
                    &region,
                    sequence,
                    0,
                    &[record.as_bytes()],
                );
            }
        }
        assert!(frames.len() > PENDING_BYTES);
        let path = dir.path().join("1.sealed");
        let segment = write(
            &path,
            1,
            &mut frames.as_slice(),
            &mut Vec::new(),
            Compression::None,
        )
        .unwrap();
        assert_eq!(segment.records, 10_000);
        let detail = Details::default().get(&segment).unwrap();
        for n in 0..100 {
            assert_eq!(detail.blocks(&chain(n)).len(), 2, "chain {n}");
            assert_eq!(
                sequences(&segment, &chain(n)),
                (1..=100).collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn a_summary_whose_blocks_lie_outside_the_file_is_damage_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let segment = sealed(dir.path(), 1, 300);
        let path = dir.path().join("1.sealed");
        let bytes = std::fs::read(&path).unwrap();
        let (offset, length, _) = segment.summary_at;
        let text = &bytes[offset as usize..(offset + length) as usize];
        for edit in [u64::MAX - 4, 1 << 40] {
            let mut summary: Summary = serde_json::from_slice(text).unwrap();
            summary.chains[0].blocks[1].stored = edit;
            let text = serde_json::to_vec(&summary).unwrap();
            let mut forged = bytes[..offset as usize].to_vec();
            forged.extend_from_slice(&text);
            forged.extend_from_slice(&offset.to_le_bytes());
            forged.extend_from_slice(&(text.len() as u64).to_le_bytes());
            forged.extend_from_slice(&crc32fast::hash(&text).to_le_bytes());
            forged.extend_from_slice(END);
            std::fs::write(&path, &forged).unwrap();
            let opened = open(&path, 1).unwrap();
            let error = Details::default().get(&opened).err().unwrap();
            assert!(
                error.to_string().contains("not a whole sealed segment"),
                "{error}"
            );
        }
    }

    #[test]
    fn details_are_read_on_demand_and_the_least_recently_used_go_past_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (sealed(dir.path(), 1, 600), sealed(dir.path(), 2, 600));
        // Memory holds the span, not the blocks.
        let span = a.span(&chain(0)).unwrap();
        assert_eq!((span.first_sequence, span.last_sequence), (1, 600));
        assert!(a.span(&chain(1)).is_none());

        let details = Details::new(1);
        let first = details.get(&a).unwrap();
        assert_eq!(first.blocks(&chain(0)).len(), 3, "256 records a block");
        assert!(Arc::ptr_eq(&first, &details.get(&a).unwrap()), "cached");
        let second = details.get(&b).unwrap();
        assert_eq!(
            details.lock().entries.len(),
            1,
            "over the bound, the older one went"
        );
        assert!(Arc::ptr_eq(&second, &details.get(&b).unwrap()));
        let again = details.get(&a).unwrap();
        assert!(!Arc::ptr_eq(&first, &again), "read again from the file");
        assert_eq!(again.blocks(&chain(0)), first.blocks(&chain(0)));
        // A block found through a re-read detail still reads its frames.
        let block = &again.blocks(&chain(0))[2];
        let bytes = a.read_block(block).unwrap();
        assert_eq!(Frames::new(&bytes).count(), 600 - 512);
        details.forget(1);
        assert_eq!(details.lock().entries.len(), 0);
        assert_eq!(details.lock().bytes, 0);

        // Under a roomy bound both stay.
        let roomy = Details::default();
        roomy.get(&a).unwrap();
        roomy.get(&b).unwrap();
        assert_eq!(roomy.lock().entries.len(), 2);

        // Room for four: the fifth evicts down to three quarters, least recently used first.
        let size = roomy.get(&a).unwrap().bytes;
        let segments: Vec<Sealed> = (1..=5).map(|n| sealed(dir.path(), n, 600)).collect();
        let four = Details::new(4 * size + 1);
        for segment in &segments[..4] {
            four.get(segment).unwrap();
        }
        four.get(&segments[0]).unwrap();
        four.get(&segments[4]).unwrap();
        let mut kept: Vec<u64> = four.lock().entries.keys().copied().collect();
        kept.sort_unstable();
        assert_eq!(kept, [1, 4, 5]);
    }
}
