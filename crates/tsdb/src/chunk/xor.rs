//! The XOR chunk: Gorilla-style compression, bit for bit Prometheus's `chunkenc.XORChunk`.
//!
//! Layout (as in Prometheus `tsdb/chunkenc/xor.go`): a big-endian `u16` sample count, then
//! sample 0 as a zig-zag varint timestamp and 64 raw value bits, sample 1 as a uvarint time delta
//! and an XOR value, every later sample as a delta-of-delta timestamp in buckets
//! (`0` | `10`+14 bits | `110`+17 | `1110`+20 | `1111`+64) and an XOR value
//! (`0` same value | `10` reuse the previous leading/trailing window | `11` + 5 bits leading zeros
//! + 6 bits significant width, 0 meaning 64). Chunks from a Prometheus server can therefore be
//! stored and shipped as they are.

use super::bstream::{BitBuf, BitReader, BitWriter};
use super::{ChunkAppender, ChunkIterator};
use crate::{Error, ErrorKind, Timestamp};

const NAME: &str = "XOR";

fn corrupt(reason: &'static str) -> Error {
    Error::new(ErrorKind::CorruptChunk {
        encoding: NAME,
        reason,
    })
}

/// Prometheus's `bitRange`: whether `x` fits the `nbits` bucket (asymmetric: one more positive).
#[inline(always)]
pub(crate) fn bit_range(x: i64, nbits: u32) -> bool {
    -((1i64 << (nbits - 1)) - 1) <= x && x <= 1i64 << (nbits - 1)
}

/// Undoes `bit_range`'s two's-complement truncation.
#[inline(always)]
pub(crate) fn sign_extend(bits: u64, sz: u32) -> i64 {
    if bits > (1u64 << (sz - 1)) {
        bits.wrapping_sub(1u64 << sz) as i64
    } else {
        bits as i64
    }
}

/// Writes a timestamp delta-of-delta in Prometheus's buckets; returns the width of the last field.
#[inline(always)]
pub(crate) fn write_dod(w: &mut BitWriter, dod: i64) {
    if dod == 0 {
        w.write(0, 1);
    } else if bit_range(dod, 14) {
        w.write(0b10, 2);
        w.write(dod as u64, 14);
    } else if bit_range(dod, 17) {
        w.write(0b110, 3);
        w.write(dod as u64, 17);
    } else if bit_range(dod, 20) {
        w.write(0b1110, 4);
        w.write(dod as u64, 20);
    } else {
        w.write(0b1111, 4);
        w.write(dod as u64, 64);
    }
}

/// Reads what `write_dod` wrote.
#[inline(always)]
pub(crate) fn read_dod(r: &mut BitReader<'_>) -> i64 {
    let w = r.peek();
    if w >> 63 == 0 {
        r.skip(1);
        0
    } else if w >> 62 == 0b10 {
        r.skip(16);
        sign_extend((w >> 48) & 0x3fff, 14)
    } else if w >> 61 == 0b110 {
        r.skip(20);
        sign_extend((w >> 44) & 0x1ffff, 17)
    } else if w >> 60 == 0b1110 {
        r.skip(24);
        sign_extend((w >> 40) & 0xfffff, 20)
    } else {
        r.skip(4);
        r.read(64) as i64
    }
}

/// `read_dod` over a [`BitBuf`] (the whole-chunk decoding path).
#[inline(always)]
fn read_dod_buf(r: &mut BitBuf<'_>) -> i64 {
    let w = r.peek();
    if w >> 63 == 0 {
        r.skip(1);
        0
    } else if w >> 62 == 0b10 {
        r.skip(16);
        sign_extend((w >> 48) & 0x3fff, 14)
    } else if w >> 61 == 0b110 {
        r.skip(20);
        sign_extend((w >> 44) & 0x1ffff, 17)
    } else if w >> 60 == 0b1110 {
        r.skip(24);
        sign_extend((w >> 40) & 0xfffff, 20)
    } else {
        r.skip(4);
        r.read(64) as i64
    }
}

/// An appendable XOR chunk.
#[derive(Debug, Clone)]
pub struct XorChunk {
    w: BitWriter,
    num: u16,
    t: Timestamp,
    v: u64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
    /// `from_bytes` keeps the caller's bytes as they are (so they ship unchanged); the first
    /// append trims anything after the last sample's bits.
    normalized: bool,
}

impl Default for XorChunk {
    fn default() -> Self {
        Self::new()
    }
}

impl XorChunk {
    pub fn new() -> Self {
        XorChunk {
            w: BitWriter::with_header(2, 32),
            num: 0,
            t: 0,
            v: 0,
            t_delta: 0,
            leading: 0xff,
            trailing: 0,
            normalized: true,
        }
    }

    /// Takes chunk bytes (from Prometheus, the wire or a snapshot), checking every sample decodes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        let mut it = XorIter::new(bytes)?;
        while it.next() {}
        if let Some(e) = it.err() {
            return Err(e.clone());
        }
        let end_bits = it.r.pos() + 16;
        let mut c = XorChunk {
            w: BitWriter {
                buf: bytes.to_vec(),
                bits: end_bits,
            },
            num: it.total,
            t: it.t,
            v: it.v,
            t_delta: it.t_delta,
            // Prometheus's `Appender()` resumes from the iterator's window, or "none yet" if empty.
            leading: if it.total == 0 { 0xff } else { it.leading },
            trailing: it.trailing,
            normalized: false,
        };
        if bytes.len() == end_bits.div_ceil(8) {
            c.normalized = true;
        }
        Ok(c)
    }

    pub fn bytes(&self) -> &[u8] {
        &self.w.buf
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.w.buf
    }

    pub fn num_samples(&self) -> usize {
        self.num as usize
    }

    /// Timestamp of the newest sample (meaningless when empty).
    pub fn last_t(&self) -> Timestamp {
        self.t
    }

    /// Value of the newest sample (meaningless when empty).
    pub fn last_v(&self) -> f64 {
        f64::from_bits(self.v)
    }

    pub fn iter(&self) -> XorIter<'_> {
        XorIter::trusted(&self.w.buf, self.num)
    }

    /// Bytes held, capacity included, for memory accounting.
    pub fn heap_bytes(&self) -> usize {
        self.w.buf.capacity()
    }

    fn normalize(&mut self) {
        let len = self.w.bits.div_ceil(8);
        self.w.buf.truncate(len);
        let used = self.w.bits % 8;
        if used != 0 {
            if let Some(last) = self.w.buf.last_mut() {
                *last &= !(0xffu8 >> used);
            }
        }
        self.normalized = true;
    }

    #[inline]
    fn write_v_delta(&mut self, v: u64) -> u32 {
        let delta = v ^ self.v;
        if delta == 0 {
            self.w.write(0, 1);
            return 1;
        }
        // Clamped so it fits the 5-bit field, as Prometheus does.
        let leading = (delta.leading_zeros() as u8).min(31);
        let trailing = delta.trailing_zeros() as u8;
        if self.leading != 0xff && leading >= self.leading && trailing >= self.trailing {
            let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
            self.w.write(0b10, 2);
            self.w.write(delta >> self.trailing, sig);
            sig
        } else {
            self.leading = leading;
            self.trailing = trailing;
            let sig = 64 - u32::from(leading) - u32::from(trailing);
            // 64 significant bits do not fit 6 bits; Prometheus writes 0 and reads it back as 64.
            self.w.write(
                (0b11 << 11) | (u64::from(leading) << 6) | u64::from(sig & 63),
                13,
            );
            self.w.write(delta >> trailing, sig);
            sig
        }
    }
}

impl ChunkAppender for XorChunk {
    fn append(&mut self, t: Timestamp, v: f64) -> Result<(), Error> {
        if self.num == u16::MAX {
            return Err(Error::new(ErrorKind::ChunkFull));
        }
        if !self.normalized {
            self.normalize();
        }
        let vb = v.to_bits();
        let mut t_delta = 0u64;
        let last_width = match self.num {
            0 => {
                let zz = ((t << 1) ^ (t >> 63)) as u64;
                self.w.write_uvarint(zz);
                self.w.write(vb, 64);
                64
            }
            1 => {
                t_delta = t.wrapping_sub(self.t) as u64;
                self.w.write_uvarint(t_delta);
                self.write_v_delta(vb)
            }
            _ => {
                t_delta = t.wrapping_sub(self.t) as u64;
                let dod = t_delta.wrapping_sub(self.t_delta) as i64;
                write_dod(&mut self.w, dod);
                self.write_v_delta(vb)
            }
        };
        self.w.finish_sample(last_width);
        self.t = t;
        self.v = vb;
        self.t_delta = t_delta;
        self.num += 1;
        self.w.buf[..2].copy_from_slice(&self.num.to_be_bytes());
        Ok(())
    }

    fn num_samples(&self) -> usize {
        self.num as usize
    }
}

/// Iterates an XOR chunk's samples.
#[derive(Debug, Clone)]
pub struct XorIter<'a> {
    r: BitBuf<'a>,
    total: u16,
    read: u16,
    t: Timestamp,
    v: u64,
    t_delta: u64,
    leading: u8,
    trailing: u8,
    err: Option<Error>,
}

impl<'a> XorIter<'a> {
    /// Iterates untrusted bytes; errors surface through [`ChunkIterator::err`].
    pub fn new(bytes: &'a [u8]) -> Result<Self, Error> {
        let hdr = bytes
            .first_chunk::<2>()
            .ok_or_else(|| corrupt("shorter than its 2-byte header"))?;
        Ok(Self::trusted(bytes, u16::from_be_bytes(*hdr)))
    }

    fn trusted(bytes: &'a [u8], total: u16) -> Self {
        XorIter {
            r: BitBuf::new(bytes.get(2..).unwrap_or(&[]), 0),
            total,
            read: 0,
            t: i64::MIN,
            v: 0,
            t_delta: 0,
            leading: 0,
            trailing: 0,
            err: None,
        }
    }

    fn fail(&mut self, reason: &'static str) -> bool {
        self.err = Some(corrupt(reason));
        self.read = self.total;
        false
    }

    #[inline(always)]
    fn read_value(&mut self) -> bool {
        let w = self.r.peek();
        if w >> 63 != 0 {
            if (w >> 62) & 1 == 0 {
                self.r.skip(2);
            } else {
                let leading = ((w >> 57) & 31) as u8;
                let mut sig = ((w >> 51) & 63) as u8;
                if sig == 0 {
                    sig = 64;
                }
                if leading + sig > 64 {
                    return self.fail("leading zeros plus significant bits exceed 64");
                }
                self.leading = leading;
                self.trailing = 64 - leading - sig;
                self.r.skip(13);
            }
            let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
            let bits = self.r.read(sig);
            self.v ^= bits << self.trailing;
        } else {
            self.r.skip(1);
        }
        if self.r.overrun() {
            return self.fail("truncated");
        }
        self.read += 1;
        true
    }
}

impl XorIter<'_> {
    /// Appends every remaining sample to `ts`/`vs`: the store's whole-chunk path. One loop with
    /// the decoder state in locals and one end-of-stream check per chunk (reads past the end
    /// yield zeros) instead of a `next`/`at` call and a check per sample. After an error the
    /// columns hold an unspecified prefix.
    pub fn read_all(&mut self, ts: &mut Vec<Timestamp>, vs: &mut Vec<f64>) -> Result<(), Error> {
        // The first two samples have layouts of their own.
        while self.read < self.total.min(2) {
            if !self.next() {
                return self.err.clone().map_or(Ok(()), Err);
            }
            ts.push(self.t);
            vs.push(f64::from_bits(self.v));
        }
        let n = usize::from(self.total - self.read);
        ts.reserve(n);
        vs.reserve(n);
        let mut r = self.r.clone();
        let (mut t, mut delta, mut v) = (self.t, self.t_delta as i64, self.v);
        let (mut leading, mut trailing) = (u32::from(self.leading), u32::from(self.trailing));
        for _ in 0..n {
            delta = delta.wrapping_add(read_dod_buf(&mut r));
            t = t.wrapping_add(delta);
            let w = r.peek();
            if w >> 63 != 0 {
                if (w >> 62) & 1 == 0 {
                    r.skip(2);
                } else {
                    let l = ((w >> 57) & 31) as u32;
                    let sig = match ((w >> 51) & 63) as u32 {
                        0 => 64,
                        s => s,
                    };
                    if l + sig > 64 {
                        self.fail("leading zeros plus significant bits exceed 64");
                        return Err(corrupt("leading zeros plus significant bits exceed 64"));
                    }
                    leading = l;
                    trailing = 64 - l - sig;
                    r.skip(13);
                }
                v ^= r.read(64 - leading - trailing) << trailing;
            } else {
                r.skip(1);
            }
            ts.push(t);
            vs.push(f64::from_bits(v));
        }
        if r.overrun() {
            self.fail("truncated");
            return Err(corrupt("truncated"));
        }
        self.r = r;
        (self.t, self.t_delta, self.v) = (t, delta as u64, v);
        (self.leading, self.trailing) = (leading as u8, trailing as u8);
        self.read = self.total;
        Ok(())
    }
}

impl ChunkIterator for XorIter<'_> {
    #[inline]
    fn next(&mut self) -> bool {
        if self.read >= self.total {
            return false;
        }
        match self.read {
            0 => {
                let Some(t) = self.r.read_varint() else {
                    return self.fail("bad first timestamp");
                };
                if self.r.overrun_by(64) {
                    return self.fail("truncated");
                }
                self.t = t;
                self.v = self.r.read(64);
                self.read = 1;
                true
            }
            1 => {
                let Some(d) = self.r.read_uvarint() else {
                    return self.fail("bad second timestamp");
                };
                self.t_delta = d;
                self.t = self.t.wrapping_add(d as i64);
                self.read_value()
            }
            _ => {
                let dod = read_dod_buf(&mut self.r);
                self.t_delta = (self.t_delta as i64).wrapping_add(dod) as u64;
                self.t = self.t.wrapping_add(self.t_delta as i64);
                self.read_value()
            }
        }
    }

    fn at(&self) -> (Timestamp, f64) {
        (self.t, f64::from_bits(self.v))
    }

    fn err(&self) -> Option<&Error> {
        self.err.as_ref()
    }

    fn num_read(&self) -> usize {
        self.read as usize
    }
}
