//! Compressed chunks of one series' samples, behind small appender/iterator traits.
//!
//! Three encodings: [`XorChunk`] (Prometheus's, bit for bit, so remote-read chunks are stored and
//! shipped without re-encoding), [`IntChunk`] (for all-integer series, where it is 2-3x
//! smaller than XOR) and the columnar chunk ([`col`]: a timestamp column shared by the series of
//! one scrape and per-series value columns with a per-block choice of integer or XOR coding).
//! Samples appended one at a time go into XOR and are sealed into the smaller of XOR and
//! integer; samples appended a whole scrape at a time are sealed as columnar chunks.

mod bstream;
pub mod col;
mod int;
mod xor;

pub use int::{IntChunk, IntIter, as_exact_int};
pub use xor::{XorChunk, XorIter};

use crate::{Error, ErrorKind, Timestamp};

/// Adds samples to a chunk. Callers keep time order; the chunk does not check it.
pub trait ChunkAppender {
    fn append(&mut self, t: Timestamp, v: f64) -> Result<(), Error>;
    fn num_samples(&self) -> usize;
}

/// Walks a chunk's samples, in Prometheus's style: `next` advances, `at` reads, `err` says why
/// iteration stopped early. Use [`ChunkIterator::samples`] for a std iterator.
pub trait ChunkIterator {
    /// Advances to the next sample; false at the end or on a decoding error.
    fn next(&mut self) -> bool;
    /// The current sample; only meaningful after `next` or `seek` returned true.
    fn at(&self) -> (Timestamp, f64);
    /// The decoding error that stopped iteration, if any.
    fn err(&self) -> Option<&Error>;
    /// How many samples have been read so far.
    fn num_read(&self) -> usize;

    /// Advances to the first sample at or after `t` (staying put if already there).
    fn seek(&mut self, t: Timestamp) -> bool {
        while self.num_read() == 0 || self.at().0 < t {
            if !self.next() {
                return false;
            }
        }
        true
    }

    /// Adapts into a std iterator of `(t, v)`.
    fn samples(self) -> Samples<Self>
    where
        Self: Sized,
    {
        Samples(self)
    }
}

/// A [`ChunkIterator`] as a std iterator.
#[derive(Debug, Clone)]
pub struct Samples<I>(pub I);

impl<I: ChunkIterator> Iterator for Samples<I> {
    type Item = (Timestamp, f64);
    #[inline]
    fn next(&mut self) -> Option<(Timestamp, f64)> {
        if self.0.next() {
            Some(self.0.at())
        } else {
            None
        }
    }
}

/// Which encoding a chunk's bytes are in. The numbers are stable (snapshots and the wire store
/// them); `Xor` is Prometheus's `EncXOR`, Lookout's own encodings sit above 0x80 so they never
/// collide with Prometheus's (histogram encodings are 2 and 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Encoding {
    Xor = 1,
    Int = 0x81,
    Col = 0x82,
}

impl Encoding {
    pub fn from_u8(b: u8) -> Result<Self, Error> {
        match b {
            1 => Ok(Encoding::Xor),
            0x81 => Ok(Encoding::Int),
            0x82 => Ok(Encoding::Col),
            other => Err(Error::new(ErrorKind::UnknownEncoding(other))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Encoding::Xor => "xor",
            Encoding::Int => "int",
            Encoding::Col => "col",
        }
    }
}

/// An iterator over any encoding's bytes.
#[derive(Debug, Clone)]
pub enum ChunkIter<'a> {
    Xor(XorIter<'a>),
    Int(IntIter<'a>),
    Col(col::ColIter),
}

impl<'a> ChunkIter<'a> {
    /// Iterates untrusted bytes (errors surface through `err`).
    pub fn new(enc: Encoding, bytes: &'a [u8]) -> Result<Self, Error> {
        Ok(match enc {
            Encoding::Xor => ChunkIter::Xor(XorIter::new(bytes)?),
            Encoding::Int => ChunkIter::Int(IntIter::new(bytes)?),
            Encoding::Col => ChunkIter::Col(col::ColIter::new(bytes)?),
        })
    }
}

impl ChunkIter<'_> {
    /// Appends every remaining sample to `ts`/`vs` in one call per chunk (what whole-chunk
    /// readers want); after an error the columns hold an unspecified prefix.
    pub fn read_all(&mut self, ts: &mut Vec<Timestamp>, vs: &mut Vec<f64>) -> Result<(), Error> {
        match self {
            ChunkIter::Xor(i) => i.read_all(ts, vs),
            ChunkIter::Int(i) => i.read_all(ts, vs),
            ChunkIter::Col(i) => {
                i.read_all(ts, vs);
                Ok(())
            }
        }
    }
}

impl ChunkIterator for ChunkIter<'_> {
    #[inline]
    fn next(&mut self) -> bool {
        match self {
            ChunkIter::Xor(i) => i.next(),
            ChunkIter::Int(i) => i.next(),
            ChunkIter::Col(i) => i.next(),
        }
    }
    #[inline]
    fn at(&self) -> (Timestamp, f64) {
        match self {
            ChunkIter::Xor(i) => i.at(),
            ChunkIter::Int(i) => i.at(),
            ChunkIter::Col(i) => i.at(),
        }
    }
    fn err(&self) -> Option<&Error> {
        match self {
            ChunkIter::Xor(i) => i.err(),
            ChunkIter::Int(i) => i.err(),
            ChunkIter::Col(i) => i.err(),
        }
    }
    fn num_read(&self) -> usize {
        match self {
            ChunkIter::Xor(i) => i.num_read(),
            ChunkIter::Int(i) => i.num_read(),
            ChunkIter::Col(i) => i.num_read(),
        }
    }
}

/// Summary of a validated chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkMeta {
    pub num_samples: usize,
    pub mint: Timestamp,
    pub maxt: Timestamp,
}

/// Decodes untrusted bytes completely; returns their time range if every sample decodes and
/// timestamps strictly increase (the store relies on order).
pub fn validate(enc: Encoding, bytes: &[u8]) -> Result<ChunkMeta, Error> {
    let mut it = ChunkIter::new(enc, bytes)?;
    let (mut mint, mut maxt) = (0, 0);
    while it.next() {
        let t = it.at().0;
        if it.num_read() == 1 {
            mint = t;
        } else if t <= maxt {
            return Err(Error::new(ErrorKind::CorruptChunk {
                encoding: enc.name(),
                reason: "timestamps do not increase",
            }));
        }
        maxt = t;
    }
    if let Some(e) = it.err() {
        return Err(e.clone());
    }
    Ok(ChunkMeta {
        num_samples: it.num_read(),
        mint,
        maxt,
    })
}

/// Encodes samples as XOR.
pub fn encode_xor(samples: &[(Timestamp, f64)]) -> Result<XorChunk, Error> {
    let mut c = XorChunk::new();
    for &(t, v) in samples {
        c.append(t, v)?;
    }
    Ok(c)
}

/// Encodes samples as integers, if every value is an exact integer.
pub fn encode_int(samples: &[(Timestamp, f64)]) -> Option<IntChunk> {
    let mut c = IntChunk::new();
    for &(t, v) in samples {
        c.append(t, v).ok()?;
    }
    Some(c)
}

/// Picks the smaller encoding for samples already XOR-encoded in `xor`.
pub fn choose(xor: XorChunk) -> (Encoding, Vec<u8>) {
    let samples: Vec<_> = xor.iter().samples().collect();
    match encode_int(&samples) {
        Some(int) if int.bytes().len() < xor.bytes().len() => (Encoding::Int, int.into_bytes()),
        _ => (Encoding::Xor, xor.into_bytes()),
    }
}

#[cfg(test)]
mod tests;
