//! The integer chunk: Lookout's second encoding, for series whose values are all integers.
//!
//! Counters that grow by small integers and classic histogram buckets are the bulk of scraped
//! data. XOR spends 10-25 bits on each such step (the changed mantissa bits of the float); here
//! the values are delta-of-delta encoded as integers, so a steady counter costs 1 bit and a
//! noisy one 7-12. Timestamps use XOR's buckets. Only exactly-integral values in +-2^53 (and not
//! -0.0) qualify, so every value still round-trips bit for bit; anything else stays XOR.
//!
//! Layout: a big-endian `u16` sample count; sample 0 as zig-zag varint timestamp and zig-zag
//! varint value; sample 1 as uvarint time delta and zig-zag varint value delta; later samples as
//! XOR's timestamp delta-of-delta buckets and a value delta-of-delta in buckets
//! `0` | `10`+5 bits | `110`+9 | `1110`+16 | `11110`+32 | `11111`+64.

use super::bstream::{BitReader, BitWriter};
use super::xor::{bit_range, read_dod, sign_extend, write_dod};
use super::{ChunkAppender, ChunkIterator};
use crate::{Error, ErrorKind, Timestamp};

const NAME: &str = "integer";
const MAX_EXACT: f64 = 9_007_199_254_740_992.0; // 2^53

fn corrupt(reason: &'static str) -> Error {
    Error::new(ErrorKind::CorruptChunk {
        encoding: NAME,
        reason,
    })
}

/// The value as an integer when the integer chunk can hold it exactly.
#[inline]
pub fn as_exact_int(v: f64) -> Option<i64> {
    if v.fract() == 0.0 && v.abs() <= MAX_EXACT && !(v == 0.0 && v.is_sign_negative()) {
        Some(v as i64)
    } else {
        None
    }
}

fn zigzag(x: i64) -> u64 {
    ((x << 1) ^ (x >> 63)) as u64
}

/// An appendable integer chunk.
#[derive(Debug, Clone)]
pub struct IntChunk {
    w: BitWriter,
    num: u16,
    t: Timestamp,
    t_delta: u64,
    v: i64,
    v_delta: i64,
}

impl Default for IntChunk {
    fn default() -> Self {
        Self::new()
    }
}

impl IntChunk {
    pub fn new() -> Self {
        IntChunk {
            w: BitWriter::with_header(2, 32),
            num: 0,
            t: 0,
            t_delta: 0,
            v: 0,
            v_delta: 0,
        }
    }

    /// Checks untrusted bytes decode completely.
    pub fn validate(bytes: &[u8]) -> Result<(), Error> {
        let mut it = IntIter::new(bytes)?;
        while it.next() {}
        match it.err() {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.w.buf
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.w.buf
    }

    pub fn iter(&self) -> IntIter<'_> {
        IntIter::trusted(&self.w.buf, self.num)
    }

    fn write_v_dod(&mut self, dod: i64) {
        let w = &mut self.w;
        if dod == 0 {
            w.write(0, 1);
        } else if bit_range(dod, 5) {
            w.write((0b10 << 5) | (dod as u64 & 0x1f), 7);
        } else if bit_range(dod, 9) {
            w.write((0b110 << 9) | (dod as u64 & 0x1ff), 12);
        } else if bit_range(dod, 16) {
            w.write(0b1110, 4);
            w.write(dod as u64, 16);
        } else if bit_range(dod, 32) {
            w.write(0b11110, 5);
            w.write(dod as u64, 32);
        } else {
            w.write(0b11111, 5);
            w.write(dod as u64, 64);
        }
    }
}

impl ChunkAppender for IntChunk {
    fn append(&mut self, t: Timestamp, v: f64) -> Result<(), Error> {
        if self.num == u16::MAX {
            return Err(Error::new(ErrorKind::ChunkFull));
        }
        let Some(iv) = as_exact_int(v) else {
            return Err(Error::new(ErrorKind::NotRepresentable { encoding: NAME }));
        };
        match self.num {
            0 => {
                self.w.write_uvarint(zigzag(t));
                self.w.write_uvarint(zigzag(iv));
                self.t_delta = 0;
                self.v_delta = 0;
            }
            1 => {
                self.t_delta = t.wrapping_sub(self.t) as u64;
                self.v_delta = iv.wrapping_sub(self.v);
                self.w.write_uvarint(self.t_delta);
                self.w.write_uvarint(zigzag(self.v_delta));
            }
            _ => {
                let t_delta = t.wrapping_sub(self.t) as u64;
                write_dod(&mut self.w, t_delta.wrapping_sub(self.t_delta) as i64);
                let v_delta = iv.wrapping_sub(self.v);
                self.write_v_dod(v_delta.wrapping_sub(self.v_delta));
                self.t_delta = t_delta;
                self.v_delta = v_delta;
            }
        }
        // This format has no Go twin, so no trailing empty byte: the stream ends at its last bit.
        self.w.finish_sample(1);
        self.t = t;
        self.v = iv;
        self.num += 1;
        self.w.buf[..2].copy_from_slice(&self.num.to_be_bytes());
        Ok(())
    }

    fn num_samples(&self) -> usize {
        self.num as usize
    }
}

/// Iterates an integer chunk's samples.
#[derive(Debug, Clone)]
pub struct IntIter<'a> {
    r: BitReader<'a>,
    total: u16,
    read: u16,
    t: Timestamp,
    t_delta: u64,
    v: i64,
    v_delta: i64,
    err: Option<Error>,
}

impl<'a> IntIter<'a> {
    pub fn new(bytes: &'a [u8]) -> Result<Self, Error> {
        let hdr = bytes
            .first_chunk::<2>()
            .ok_or_else(|| corrupt("shorter than its 2-byte header"))?;
        Ok(Self::trusted(bytes, u16::from_be_bytes(*hdr)))
    }

    fn trusted(bytes: &'a [u8], total: u16) -> Self {
        IntIter {
            r: BitReader::new(bytes.get(2..).unwrap_or(&[])),
            total,
            read: 0,
            t: i64::MIN,
            t_delta: 0,
            v: 0,
            v_delta: 0,
            err: None,
        }
    }

    fn fail(&mut self, reason: &'static str) -> bool {
        self.err = Some(corrupt(reason));
        self.read = self.total;
        false
    }

    #[inline(always)]
    fn read_v_dod(&mut self) -> i64 {
        read_v_dod(&mut self.r)
    }
}

/// Reads a value delta-of-delta in the buckets above.
#[inline(always)]
fn read_v_dod(r: &mut BitReader<'_>) -> i64 {
    let w = r.peek();
    if w >> 63 == 0 {
        r.skip(1);
        0
    } else if w >> 62 == 0b10 {
        r.skip(7);
        sign_extend((w >> 57) & 0x1f, 5)
    } else if w >> 61 == 0b110 {
        r.skip(12);
        sign_extend((w >> 52) & 0x1ff, 9)
    } else if w >> 60 == 0b1110 {
        r.skip(20);
        sign_extend((w >> 44) & 0xffff, 16)
    } else if w >> 59 == 0b11110 {
        r.skip(37);
        sign_extend((w >> 27) & 0xffff_ffff, 32)
    } else {
        r.skip(5);
        r.read(64) as i64
    }
}

impl IntIter<'_> {
    /// Appends every remaining sample to `ts`/`vs`, as [`super::XorIter::read_all`] does.
    pub fn read_all(&mut self, ts: &mut Vec<Timestamp>, vs: &mut Vec<f64>) -> Result<(), Error> {
        while self.read < self.total.min(2) {
            if !self.next() {
                return self.err.clone().map_or(Ok(()), Err);
            }
            ts.push(self.t);
            vs.push(self.v as f64);
        }
        let n = usize::from(self.total - self.read);
        ts.reserve(n);
        vs.reserve(n);
        let (mut t, mut t_delta, mut v, mut v_delta) =
            (self.t, self.t_delta as i64, self.v, self.v_delta);
        // Values may only leave the exact range by walking there; their largest magnitude,
        // checked after the loop, catches it.
        let mut mag = 0u64;
        // The reader in a local, so its state stays in registers across the loop.
        let mut r = self.r.clone();
        for _ in 0..n {
            t_delta = t_delta.wrapping_add(read_dod(&mut r));
            t = t.wrapping_add(t_delta);
            v_delta = v_delta.wrapping_add(read_v_dod(&mut r));
            v = v.wrapping_add(v_delta);
            mag = mag.max(v.unsigned_abs());
            ts.push(t);
            vs.push(v as f64);
        }
        if r.overrun() {
            self.fail("truncated");
            return Err(corrupt("truncated"));
        }
        self.r = r;
        if mag > 1 << 53 {
            let reason = "value outside the exactly representable integer range";
            self.fail(reason);
            return Err(corrupt(reason));
        }
        (self.t, self.t_delta, self.v, self.v_delta) = (t, t_delta as u64, v, v_delta);
        self.read = self.total;
        Ok(())
    }
}

impl ChunkIterator for IntIter<'_> {
    #[inline]
    fn next(&mut self) -> bool {
        if self.read >= self.total {
            return false;
        }
        match self.read {
            0 => {
                let (Some(t), Some(v)) = (self.r.read_varint(), self.r.read_varint()) else {
                    return self.fail("bad first sample");
                };
                self.t = t;
                self.v = v;
            }
            1 => {
                let (Some(td), Some(vd)) = (self.r.read_uvarint(), self.r.read_varint()) else {
                    return self.fail("bad second sample");
                };
                self.t_delta = td;
                self.v_delta = vd;
                self.t = self.t.wrapping_add(td as i64);
                self.v = self.v.wrapping_add(vd);
            }
            _ => {
                let dod = read_dod(&mut self.r);
                self.t_delta = (self.t_delta as i64).wrapping_add(dod) as u64;
                self.t = self.t.wrapping_add(self.t_delta as i64);
                let vdod = self.read_v_dod();
                self.v_delta = self.v_delta.wrapping_add(vdod);
                self.v = self.v.wrapping_add(self.v_delta);
            }
        }
        if self.r.overrun() {
            return self.fail("truncated");
        }
        // A hostile chunk can walk values outside the exact range; refuse rather than round.
        if self.v.unsigned_abs() > 1 << 53 {
            return self.fail("value outside the exactly representable integer range");
        }
        self.read += 1;
        true
    }

    fn at(&self) -> (Timestamp, f64) {
        (self.t, self.v as f64)
    }

    fn err(&self) -> Option<&Error> {
        self.err.as_ref()
    }

    fn num_read(&self) -> usize {
        self.read as usize
    }
}
