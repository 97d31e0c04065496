//! Byte-level primitives: LEB128 varints, zigzag, length-prefixed strings, with bounds checks.

use crate::{DecodeError, DecodeErrorKind};

#[derive(Debug, Default)]
pub(crate) struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn uvarint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }
    pub fn varint(&mut self, v: i64) {
        self.uvarint(((v << 1) ^ (v >> 63)) as u64);
    }
    pub fn bytes(&mut self, b: &[u8]) {
        self.uvarint(b.len() as u64);
        self.buf.extend_from_slice(b);
    }
    pub fn str(&mut self, s: &str) {
        self.uvarint(s.len() as u64);
        self.buf.extend_from_slice(s.as_bytes());
    }
    pub fn f64(&mut self, v: f64) {
        self.buf.extend_from_slice(&v.to_bits().to_le_bytes());
    }
}

#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    pub fn err(&self, kind: DecodeErrorKind) -> DecodeError {
        DecodeError {
            offset: self.pos,
            kind,
        }
    }
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }
    pub fn finish(self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(self.err(DecodeErrorKind::TrailingBytes(n))),
        }
    }
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| self.err(DecodeErrorKind::Truncated))?;
        self.pos += 1;
        Ok(b)
    }
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(self.err(DecodeErrorKind::Truncated));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn uvarint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            if shift == 63 && b > 1 {
                return Err(self.err(DecodeErrorKind::VarintOverflow));
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(self.err(DecodeErrorKind::VarintOverflow))
    }
    pub fn varint(&mut self) -> Result<i64, DecodeError> {
        let u = self.uvarint()?;
        Ok(((u >> 1) as i64) ^ -((u & 1) as i64))
    }
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        let v = self.uvarint()?;
        u32::try_from(v).map_err(|_| {
            self.err(DecodeErrorKind::LengthTooLarge {
                len: v,
                remaining: self.remaining(),
            })
        })
    }
    /// A count of items that each take at least `min_item_bytes`; refuses counts the rest of the
    /// buffer cannot hold, so callers can reserve safely.
    pub fn count(&mut self, min_item_bytes: usize) -> Result<usize, DecodeError> {
        let n = self.uvarint()?;
        let remaining = self.remaining();
        if n.saturating_mul(min_item_bytes.max(1) as u64) > remaining as u64 {
            return Err(self.err(DecodeErrorKind::LengthTooLarge { len: n, remaining }));
        }
        Ok(n as usize)
    }
    pub fn byte_string(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.count(1)?;
        self.bytes(n)
    }
    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        let n = self.count(1)?;
        let start = self.pos;
        let b = self.bytes(n)?;
        std::str::from_utf8(b).map_err(|_| DecodeError {
            offset: start,
            kind: DecodeErrorKind::InvalidUtf8,
        })
    }
    pub fn f64(&mut self) -> Result<f64, DecodeError> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_bits(u64::from_le_bytes(a)))
    }
}

/// Bits, most significant first, for the stateful sample blocks.
#[derive(Debug, Default)]
pub(crate) struct BitWriter {
    pub buf: Vec<u8>,
    /// Bits used in the last byte (0 = a new byte is needed).
    used: u8,
}

impl BitWriter {
    pub fn bit(&mut self, b: bool) {
        if self.used == 0 {
            self.buf.push(0);
        }
        if b && let Some(last) = self.buf.last_mut() {
            *last |= 0x80 >> self.used;
        }
        self.used = (self.used + 1) % 8;
    }
    /// The low `n` bits of `v` (n ≤ 64), most significant first.
    pub fn bits(&mut self, v: u64, n: u32) {
        for i in (0..n).rev() {
            self.bit((v >> i) & 1 == 1);
        }
    }
    /// Elias gamma code of `x + 1`, so 0 costs one bit, 1 and 2 three bits, and so on.
    pub fn gamma(&mut self, x: u64) {
        let y = u128::from(x) + 1;
        let n = 127 - y.leading_zeros();
        for _ in 0..n {
            self.bit(false);
        }
        for i in (0..=n).rev() {
            self.bit((y >> i) & 1 == 1);
        }
    }
}

/// Reads what [`BitWriter`] wrote; running out of bits is an error, not a panic.
#[derive(Debug)]
pub(crate) struct BitReader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        BitReader { buf, pos: 0 }
    }
    pub fn remaining_bits(&self) -> usize {
        self.buf.len() * 8 - self.pos
    }
    pub fn byte_offset(&self) -> usize {
        self.pos / 8
    }
    pub fn bit(&mut self) -> Option<bool> {
        let byte = self.buf.get(self.pos / 8)?;
        let b = byte & (0x80 >> (self.pos % 8)) != 0;
        self.pos += 1;
        Some(b)
    }
    pub fn bits(&mut self, n: u32) -> Option<u64> {
        if (n as usize) > self.remaining_bits() {
            return None;
        }
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 1) | u64::from(self.bit()?);
        }
        Some(v)
    }
    /// Inverse of [`BitWriter::gamma`]; `None` when truncated or longer than 64 bits of value.
    pub fn gamma(&mut self) -> Option<u64> {
        let mut n = 0u32;
        while !self.bit()? {
            n += 1;
            if n > 64 {
                return None;
            }
        }
        let rest = if n == 0 { 0 } else { self.bits(n)? } as u128;
        let y = (1u128 << n) | rest;
        u64::try_from(y - 1).ok()
    }
}

pub(crate) fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub(crate) fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}
