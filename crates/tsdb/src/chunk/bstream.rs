//! Bit streams, most significant bit first, laid out exactly as Prometheus's `bstream`.
//!
//! Prometheus's writer leaves one empty byte at the end of the stream after a whole-byte write
//! that ends on a byte boundary (`writeByte` always appends the next byte). That byte is part of
//! the chunk's bytes, so a bit-compatible writer must reproduce it: [`BitWriter::finish_sample`]
//! decides it from the width of the sample's last field.

/// Appends bits to a byte vector.
#[derive(Debug, Clone, Default)]
pub(crate) struct BitWriter {
    pub(crate) buf: Vec<u8>,
    /// Bits written, counted from the start of `buf` (chunk header included).
    pub(crate) bits: usize,
}

impl BitWriter {
    pub(crate) fn with_header(header_bytes: usize, capacity: usize) -> Self {
        let mut buf = Vec::with_capacity(capacity);
        buf.resize(header_bytes, 0);
        BitWriter {
            buf,
            bits: header_bytes * 8,
        }
    }

    /// Writes the low `n` bits of `u` (1 <= n <= 64).
    #[inline]
    pub(crate) fn write(&mut self, u: u64, n: u32) {
        debug_assert!((1..=64).contains(&n));
        let u = if n == 64 { u } else { u & ((1u64 << n) - 1) };
        let off = (self.bits & 7) as u32;
        let idx = self.bits >> 3;
        let end = self.bits + n as usize;
        let need = end.div_ceil(8);
        // Place the field right after the `off` bits already used in byte `idx`.
        let b = ((u as u128) << (128 - n - off)).to_be_bytes();
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
        self.buf[idx] |= b[0];
        for j in 1..need - idx {
            self.buf[idx + j] = b[j];
        }
        self.bits = end;
    }

    /// Ends a sample whose last Go-level `writeBits` call had width `last_width`.
    #[inline]
    pub(crate) fn finish_sample(&mut self, last_width: u32) {
        if last_width >= 8 && last_width % 8 == 0 && self.bits % 8 == 0 {
            self.buf.push(0);
        } else {
            self.buf.truncate(self.bits.div_ceil(8));
        }
    }

    pub(crate) fn write_uvarint(&mut self, mut x: u64) -> u32 {
        while x >= 0x80 {
            self.write((x as u8 | 0x80) as u64, 8);
            x >>= 7;
        }
        self.write(x, 8);
        8
    }
}

/// Reads bits from a byte slice. Reads past the end yield zero bits and set `overrun`, which
/// decoders check once per sample instead of on every field.
#[derive(Debug, Clone)]
pub(crate) struct BitReader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        BitReader { data, pos: 0 }
    }

    /// The next 64 bits, left-aligned; at least 57 of them are real if the stream has them.
    #[inline(always)]
    pub(crate) fn peek(&self) -> u64 {
        self.peek_at(self.pos)
    }

    /// The 64 bits from bit `pos` on, left-aligned (at least 57 real); zeros past the end.
    #[inline(always)]
    fn peek_at(&self, pos: usize) -> u64 {
        let i = pos >> 3;
        let w = match self.data.get(i..).and_then(|s| s.first_chunk::<8>()) {
            Some(c) => u64::from_be_bytes(*c),
            // The last (< 8) bytes, zero-padded. Folded by hand: a copy into a padded array
            // compiles to a `memcpy` call, which cost ~10% of a full decode (every column ends
            // here).
            None => self.data.get(i..).map_or(0, |rest| {
                rest.iter()
                    .take(8)
                    .enumerate()
                    .fold(0u64, |w, (k, &b)| w | u64::from(b) << (56 - 8 * k))
            }),
        };
        w << (pos & 7)
    }

    /// Reads `out.len()` fields of `width` bits each (1 <= width <= 64). Every field's offset is
    /// known up front, so the loads are independent of each other (unlike variable-length codes,
    /// where each length gates the next read).
    #[inline(always)]
    pub(crate) fn read_packed(&mut self, width: u32, out: &mut [u64]) {
        if width <= 57 {
            let shift = 64 - width;
            let mut pos = self.pos;
            for u in out.iter_mut() {
                *u = self.peek_at(pos) >> shift;
                pos += width as usize;
            }
            self.pos = pos;
        } else {
            for u in out.iter_mut() {
                *u = self.read(width);
            }
        }
    }

    #[inline(always)]
    pub(crate) fn skip(&mut self, n: u32) {
        self.pos += n as usize;
    }

    /// Reads `n` bits (0 <= n <= 64) as the low bits of the result.
    #[inline(always)]
    pub(crate) fn read(&mut self, n: u32) -> u64 {
        if n == 0 {
            0
        } else if n <= 56 {
            let v = self.peek() >> (64 - n);
            self.pos += n as usize;
            v
        } else {
            // One peek holds at least 57 real bits; wider fields take two.
            let hi = self.peek() >> 32;
            self.pos += 32;
            let lo = self.peek() >> (96 - n);
            self.pos += n as usize - 32;
            (hi << (n - 32)) | lo
        }
    }

    /// Go's `binary.ReadUvarint` over bytes read with `readBits(8)`: at most 10 bytes, and the
    /// tenth must be 0 or 1.
    pub(crate) fn read_uvarint(&mut self) -> Option<u64> {
        let mut x = 0u64;
        let mut shift = 0u32;
        for i in 0..10 {
            if self.overrun_by(8) {
                return None;
            }
            let b = self.read(8) as u8;
            if b < 0x80 {
                if i == 9 && b > 1 {
                    return None;
                }
                return Some(x | (u64::from(b) << shift));
            }
            x |= u64::from(b & 0x7f) << shift;
            shift += 7;
        }
        None
    }

    pub(crate) fn read_varint(&mut self) -> Option<i64> {
        let u = self.read_uvarint()?;
        Some(((u >> 1) as i64) ^ -((u & 1) as i64))
    }

    /// True when reading `n` more bits would pass the end.
    #[inline(always)]
    pub(crate) fn overrun_by(&self, n: usize) -> bool {
        self.pos + n > self.data.len() * 8
    }

    #[cfg(test)]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    #[inline(always)]
    pub(crate) fn overrun(&self) -> bool {
        self.pos > self.data.len() * 8
    }
}

/// A bit reader that keeps the next bits in a register and refills it whole bytes at a time
/// (Giesen's "variant 4": one 8-byte big-endian load per refill). [`BitReader`] loads and
/// byte-swaps 8 bytes for every field; wasm has no byte-swap instruction, so each such load
/// costs ~20 instructions there, and sequential decoders (XOR) read 3-4 fields a sample. Reads
/// past the end yield zero bits; [`BitBuf::pos`] tells whether they happened.
#[derive(Debug, Clone)]
pub(crate) struct BitBuf<'a> {
    data: &'a [u8],
    /// The next byte to load.
    next: usize,
    /// Left-aligned; the top `avail` bits are the stream's next bits, and the bits below them
    /// are the stream's following bits or zero.
    buf: u64,
    /// Always <= 63.
    avail: u32,
}

impl<'a> BitBuf<'a> {
    /// Starts at bit `pos` of `data`.
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        let mut b = BitBuf {
            data,
            next: pos >> 3,
            buf: 0,
            avail: 0,
        };
        b.refill();
        b.skip((pos & 7) as u32);
        b
    }

    #[inline(always)]
    fn refill(&mut self) {
        let w = match self
            .data
            .get(self.next..)
            .and_then(|s| s.first_chunk::<8>())
        {
            Some(c) => u64::from_be_bytes(*c),
            None => self.data.get(self.next..).map_or(0, |rest| {
                rest.iter()
                    .take(8)
                    .enumerate()
                    .fold(0u64, |w, (k, &b)| w | u64::from(b) << (56 - 8 * k))
            }),
        };
        // Bits below `avail` already hold the same stream bits (or zeros), so OR is exact.
        self.buf |= w >> self.avail;
        let take = (63 - self.avail) >> 3;
        self.next += take as usize;
        self.avail += take << 3;
    }

    /// The next 64 bits, left-aligned; at least 56 of them are the stream's (or zero past it).
    #[inline(always)]
    pub(crate) fn peek(&mut self) -> u64 {
        if self.avail < 56 {
            self.refill();
        }
        self.buf
    }

    /// Skips `n <= 56` bits, after a `peek`.
    #[inline(always)]
    pub(crate) fn skip(&mut self, n: u32) {
        self.buf <<= n;
        self.avail -= n.min(self.avail);
    }

    /// Reads `n` bits (0 <= n <= 64) as the low bits of the result.
    #[inline(always)]
    pub(crate) fn read(&mut self, n: u32) -> u64 {
        if n == 0 {
            0
        } else if n <= 56 {
            let v = self.peek() >> (64 - n);
            self.skip(n);
            v
        } else {
            let hi = self.peek() >> 32;
            self.skip(32);
            let lo = self.peek() >> (96 - n);
            self.skip(n - 32);
            (hi << (n - 32)) | lo
        }
    }

    /// Bits consumed from the start of the data.
    #[inline(always)]
    pub(crate) fn pos(&self) -> usize {
        self.next * 8 - self.avail as usize
    }

    /// True when reads have passed the end.
    #[inline(always)]
    pub(crate) fn overrun(&self) -> bool {
        self.pos() > self.data.len() * 8
    }

    /// True when reading `n` more bits would pass the end.
    pub(crate) fn overrun_by(&self, n: usize) -> bool {
        self.pos() + n > self.data.len() * 8
    }

    /// As [`BitReader::read_uvarint`].
    pub(crate) fn read_uvarint(&mut self) -> Option<u64> {
        let mut x = 0u64;
        let mut shift = 0u32;
        for i in 0..10 {
            if self.overrun_by(8) {
                return None;
            }
            let b = self.read(8) as u8;
            if b < 0x80 {
                if i == 9 && b > 1 {
                    return None;
                }
                return Some(x | (u64::from(b) << shift));
            }
            x |= u64::from(b & 0x7f) << shift;
            shift += 7;
        }
        None
    }

    pub(crate) fn read_varint(&mut self) -> Option<i64> {
        let u = self.read_uvarint()?;
        Some(((u >> 1) as i64) ^ -((u & 1) as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_byte_write_on_boundary_leaves_an_empty_byte_like_go() {
        let mut w = BitWriter::default();
        w.write(0xAB, 8);
        w.finish_sample(8);
        assert_eq!(w.buf, vec![0xAB, 0]);
        w.write(1, 1);
        w.finish_sample(1);
        assert_eq!(w.buf, vec![0xAB, 0x80]);
        w.write(0b1111111, 7);
        w.finish_sample(7);
        assert_eq!(w.buf, vec![0xAB, 0xFF]);
    }

    #[test]
    fn reads_back_fields_of_every_width() {
        let mut w = BitWriter::default();
        for n in 1..=64u32 {
            w.write(u64::MAX >> (64 - n) ^ 1, n);
        }
        let mut r = BitReader::new(&w.buf);
        for n in 1..=64u32 {
            assert_eq!(r.read(n), u64::MAX >> (64 - n) ^ 1, "width {n}");
        }
        assert!(!r.overrun());
    }

    #[test]
    fn buffered_reader_reads_what_the_plain_one_reads() {
        let mut w = BitWriter::default();
        let widths: Vec<u32> = (0..300u32).map(|i| 1 + (i * 37 + i / 7) % 64).collect();
        for (i, &n) in widths.iter().enumerate() {
            w.write((i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15), n);
        }
        for start in [0usize, 3, 13] {
            let mut plain = BitReader::new(&w.buf);
            plain.skip(start as u32);
            let mut buf = BitBuf::new(&w.buf, start);
            for &n in widths.iter().skip(start) {
                assert_eq!(buf.read(n), plain.read(n), "width {n}");
                assert_eq!(buf.pos(), plain.pos());
            }
            // To the end and past it (zeros), and the position says so.
            while !plain.overrun() {
                assert_eq!(buf.read(64), plain.read(64));
            }
            assert_eq!(buf.read(64), 0);
            assert!(buf.pos() > w.buf.len() * 8);
        }
    }

    #[test]
    fn packed_fields_read_back_at_every_width_and_past_the_end_as_zeros() {
        for width in 1..=64u32 {
            let mut w = BitWriter::default();
            w.write(1, 3); // an unaligned start
            let vals: Vec<u64> = (0..64u64)
                .map(|i| (i.wrapping_mul(0x9E37_79B9_7F4A_7C15)) >> (64 - width))
                .collect();
            for &v in &vals {
                w.write(v, width);
            }
            let mut r = BitReader::new(&w.buf);
            r.skip(3);
            let mut out = [0u64; 64];
            r.read_packed(width, &mut out);
            assert_eq!(out.as_slice(), vals.as_slice(), "width {width}");
            assert!(!r.overrun());
            let mut more = [1u64; 8]; // more bits than the last byte can spare
            r.read_packed(width, &mut more);
            assert_eq!(more, [0; 8]);
            assert!(r.overrun());
        }
    }
}
