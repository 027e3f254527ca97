//! One record in a segment: `[u32 body length][u32 CRC-32 of the body][body]`, all little
//! endian, where the body is `[u8 n][account][u8 n][Region][u64 sequence][i64 time in ms]`
//! followed by the record's JSON exactly as hashed. The checksum finds a torn or damaged
//! frame; the hash chain, not the checksum, is what proves the record unaltered.

use strongbox_core::StoreError;
use strongbox_core::model::{AccountId, Region};

use super::io_error;

/// Bytes before a frame's body.
pub(crate) const HEADER: usize = 8;
/// The largest body accepted when reading (a record is at most a few hundred KiB; anything
/// larger is damage, and must not make a reader allocate it).
const MAX_BODY: usize = 16 << 20;

/// Appends one frame to `out`, its record given in `parts` (copied in order).
pub(crate) fn encode(
    out: &mut Vec<u8>,
    account: &AccountId,
    region: &Region,
    sequence: u64,
    time_ms: i64,
    parts: &[&[u8]],
) {
    let account = account.as_str().as_bytes();
    let region = region.as_str().as_bytes();
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    out.push(u8::try_from(account.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(account);
    out.push(u8::try_from(region.len()).unwrap_or(u8::MAX));
    out.extend_from_slice(region);
    out.extend_from_slice(&sequence.to_le_bytes());
    out.extend_from_slice(&time_ms.to_le_bytes());
    for part in parts {
        out.extend_from_slice(part);
    }
    let body = &out[start + HEADER..];
    let length = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let checksum = crc32fast::hash(body);
    out[start..start + 4].copy_from_slice(&length.to_le_bytes());
    out[start + 4..start + HEADER].copy_from_slice(&checksum.to_le_bytes());
}

/// A frame read in place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Frame<'a> {
    pub(crate) account: &'a str,
    pub(crate) region: &'a str,
    pub(crate) sequence: u64,
    pub(crate) time_ms: i64,
    pub(crate) record: &'a [u8],
    /// The whole frame's length, header included.
    pub(crate) length: usize,
}

impl Frame<'_> {
    /// Whether the frame belongs to the chain of `account` in `region`.
    pub(crate) fn is_of(&self, account: &AccountId, region: &Region) -> bool {
        self.account == account.as_str() && self.region == region.as_str()
    }

    /// The chain it belongs to; `None` when the names are not valid (damage).
    pub(crate) fn chain(&self) -> Option<(AccountId, Region)> {
        Some((
            AccountId::parse(self.account).ok()?,
            Region::parse(self.region).ok()?,
        ))
    }
}

/// What the bytes at a position hold.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Read<'a> {
    /// An intact frame.
    Frame(Frame<'a>),
    /// Nothing: the end.
    End,
    /// Bytes that are not an intact frame (a torn write or damage).
    Damaged,
}

/// Reads the frame at the start of `bytes`.
pub(crate) fn read(bytes: &[u8]) -> Read<'_> {
    if bytes.is_empty() {
        return Read::End;
    }
    let Some((header, rest)) = bytes.split_first_chunk::<HEADER>() else {
        return Read::Damaged;
    };
    let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let checksum = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if length > MAX_BODY || length > rest.len() {
        return Read::Damaged;
    }
    let body = &rest[..length];
    if crc32fast::hash(body) != checksum {
        return Read::Damaged;
    }
    parse_body(body, HEADER + length).map_or(Read::Damaged, Read::Frame)
}

fn parse_body(body: &[u8], length: usize) -> Option<Frame<'_>> {
    let (account, rest) = name(body)?;
    let (region, rest) = name(rest)?;
    let (sequence, rest) = rest.split_first_chunk::<8>()?;
    let (time, record) = rest.split_first_chunk::<8>()?;
    Some(Frame {
        account,
        region,
        sequence: u64::from_le_bytes(*sequence),
        time_ms: i64::from_le_bytes(*time),
        record,
        length,
    })
}

fn name(bytes: &[u8]) -> Option<(&str, &[u8])> {
    let (length, rest) = bytes.split_first()?;
    let length = usize::from(*length);
    if rest.len() < length {
        return None;
    }
    let (name, rest) = rest.split_at(length);
    Some((std::str::from_utf8(name).ok()?, rest))
}

/// Walks the intact frames of `bytes` from the start; [`Frames::stopped_at`] then tells where
/// they ended and whether damaged bytes follow.
pub(crate) struct Frames<'a> {
    bytes: &'a [u8],
    position: usize,
    damaged: bool,
}

impl<'a> Frames<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            position: 0,
            damaged: false,
        }
    }

    /// Where the intact frames end, and whether damaged bytes were found there.
    #[cfg(test)]
    pub(crate) fn stopped_at(&self) -> (usize, bool) {
        (self.position, self.damaged)
    }
}

impl<'a> Iterator for Frames<'a> {
    /// A frame and its offset in the bytes.
    type Item = (usize, Frame<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.damaged {
            return None;
        }
        match read(self.bytes.get(self.position..)?) {
            Read::Frame(frame) => {
                let at = self.position;
                self.position += frame.length;
                Some((at, frame))
            }
            Read::End => None,
            Read::Damaged => {
                self.damaged = true;
                None
            }
        }
    }
}

/// A file read from a position with `pread`, leaving the file's own cursor alone (handles
/// are shared with positional readers).
pub(crate) struct ReadAt<'a> {
    pub(crate) file: &'a std::fs::File,
    pub(crate) at: u64,
}

impl std::io::Read for ReadAt<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let read = std::os::unix::fs::FileExt::read_at(self.file, out, self.at)?;
        self.at += read as u64;
        Ok(read)
    }
}

/// Bytes [`read_each`] asks its source for at a time (more when one frame is longer).
const CHUNK: usize = 1 << 20;

/// Reads `source` frame by frame, a chunk at a time into `buffer` (scratch space the caller
/// may keep), handing each intact frame and its bytes to `each`; stops at the end or at the
/// first bytes that are not an intact frame, as [`Frames`] does. Memory stays at about a chunk
/// however long the source is.
pub(crate) fn read_each(
    source: &mut impl std::io::Read,
    buffer: &mut Vec<u8>,
    mut each: impl FnMut(Frame<'_>, &[u8]) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    buffer.clear();
    let mut start = 0;
    loop {
        while let Read::Frame(frame) = read(&buffer[start..]) {
            each(frame, &buffer[start..start + frame.length])?;
            start += frame.length;
        }
        // Left: nothing, the start of a frame, or damage.
        let rest = &buffer[start..];
        let wanted = match rest.first_chunk::<HEADER>() {
            None => HEADER,
            Some(header) => {
                let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
                let length = length as usize;
                if length > MAX_BODY {
                    return Ok(());
                }
                HEADER + length
            }
        };
        if rest.len() >= wanted {
            // A whole frame that does not check: damage ends the walk.
            return Ok(());
        }
        buffer.drain(..start);
        start = 0;
        let more = (wanted - buffer.len()).max(CHUNK) as u64;
        let read = std::io::Read::read_to_end(&mut std::io::Read::take(&mut *source, more), buffer)
            .map_err(io_error)?;
        if read == 0 {
            // The end, possibly after a torn frame.
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn chain() -> (AccountId, Region) {
        (
            AccountId::parse("111122223333").unwrap(),
            Region::parse("eu-west-1").unwrap(),
        )
    }

    #[test]
    fn frames_read_back_and_a_torn_or_flipped_one_stops_the_walk() {
        let (account, region) = chain();
        let mut bytes = Vec::new();
        encode(&mut bytes, &account, &region, 1, 1_000, &[b"{\"a\":1}"]);
        let first = bytes.len();
        encode(&mut bytes, &account, &region, 2, 2_000, &[b"{\"b\":2}"]);
        let frames: Vec<_> = Frames::new(&bytes)
            .map(|(at, f)| (at, f.sequence))
            .collect();
        assert_eq!(frames, [(0, 1), (first, 2)]);
        let (_, frame) = Frames::new(&bytes).nth(1).unwrap();
        assert!(frame.is_of(&account, &region));
        assert_eq!((frame.time_ms, frame.record), (2_000, &b"{\"b\":2}"[..]));

        for cut in first + 1..bytes.len() {
            let mut walk = Frames::new(&bytes[..cut]);
            assert_eq!(walk.by_ref().count(), 1, "cut at {cut}");
            assert_eq!(walk.stopped_at(), (first, true), "cut at {cut}");
        }
        for flip in first..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[flip] ^= 0x10;
            let mut walk = Frames::new(&damaged);
            assert_eq!(walk.by_ref().count(), 1, "flip at {flip}");
            assert_eq!(walk.stopped_at(), (first, true), "flip at {flip}");
        }
        let mut walk = Frames::new(&bytes);
        assert_eq!(walk.by_ref().count(), 2);
        assert_eq!(walk.stopped_at(), (bytes.len(), false));
    }

    /// A source that hands out at most 7 bytes per read.
    struct Trickle<'a>(&'a [u8]);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = out.len().min(self.0.len()).min(7);
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn streamed(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let mut seen = Vec::new();
        let mut buffer = Vec::new();
        read_each(&mut Trickle(bytes), &mut buffer, |frame, whole| {
            assert_eq!(whole.len(), frame.length);
            assert_eq!(read(whole), Read::Frame(frame));
            seen.push((frame.sequence, frame.record.to_vec()));
            Ok(())
        })
        .unwrap();
        seen
    }

    fn walked(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
        Frames::new(bytes)
            .map(|(_, frame)| (frame.sequence, frame.record.to_vec()))
            .collect()
    }

    #[test]
    fn streaming_reads_what_the_walk_reads_including_frames_longer_than_a_chunk() {
        let (account, region) = chain();
        let mut bytes = Vec::new();
        let long = vec![b'x'; CHUNK + CHUNK / 2];
        for sequence in 1..=40 {
            let record: &[u8] = if sequence == 20 { &long } else { b"{\"r\":1}" };
            encode(&mut bytes, &account, &region, sequence, 0, &[record]);
        }
        let all = streamed(&bytes);
        assert_eq!(all.len(), 40);
        assert_eq!(all, walked(&bytes));
        // A torn tail or a damaged frame stops both at the same place.
        for cut in [bytes.len() - 1, bytes.len() - 12, bytes.len() / 2, 5] {
            assert_eq!(
                streamed(&bytes[..cut]),
                walked(&bytes[..cut]),
                "cut at {cut}"
            );
        }
        for flip in [9, bytes.len() / 2, bytes.len() - 3] {
            let mut damaged = bytes.clone();
            damaged[flip] ^= 0x10;
            assert_eq!(streamed(&damaged), walked(&damaged), "flip at {flip}");
        }
        let mut huge = bytes[..bytes.len() / 3].to_vec();
        huge.extend_from_slice(&[0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0]);
        assert_eq!(streamed(&huge), walked(&huge));
    }

    #[test]
    fn a_huge_claimed_length_is_damage_not_an_allocation() {
        let mut bytes = vec![0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0];
        bytes.extend_from_slice(&[0; 64]);
        assert_eq!(read(&bytes), Read::Damaged);
    }
}
