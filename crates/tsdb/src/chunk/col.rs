//! The columnar chunk: Lookout's third encoding, for series scraped together.
//!
//! Series scraped from one target in one scrape share its timestamp, so the store keeps one
//! *timestamp column* per scrape group and chunk and, per series, only a *value column*. Sharing
//! is what makes this encoding small: scrape jitter costs XOR ~5 bits per sample per series,
//! here it is paid once per target. The timestamp column is a grid (`origin + i * step`) plus
//! the samples that miss it (late scrapes, gaps), so decoding is a fill and a few patches.
//!
//! Values go in blocks of up to 64. Each block picks the smaller of two codings:
//! - XOR: Prometheus's value coding (same value / reuse window / new window), state carried
//!   across blocks. Wins on full-precision floats (ratios, `_sum`s).
//! - Integer: values that are exact decimals `x / 10^d` (d <= 7, checked bit for bit, so
//!   `12.34` CPU seconds qualify and `0.1 + 0.2` does not) become integers `x`; their deltas
//!   (random counter increments, gauges) or deltas of deltas (steady rates), shifted right by
//!   their common trailing zero bits (byte gauges in 4 KiB pages) and offset by a base, are
//!   bit-packed at the block's widest residual, or Rice-coded with a per-block parameter when
//!   that is clearly smaller (an outlier in the block). A constant block costs only its header.
//!   Packing is preferred because it decodes several times faster: every value sits at a known
//!   bit offset, so the reads do not wait on each other as Rice's unary quotients do.
//!
//! Self-contained layout (snapshots, the wire, `append_chunk`): big-endian `u16` sample count,
//! uvarint length of the timestamp column, the timestamp column, the value column. The store
//! keeps the two columns apart in memory so the timestamp column can be shared.
//!
//! Timestamp column: zig-zag varint origin, zig-zag varint step, uvarint exception count, then
//! per exception a uvarint index gap and a zig-zag varint offset from the grid.
//!
//! Value block: 6 bits length-1, 1 bit coding (0 XOR, 1 integer). Integer blocks then carry
//! 3 bits `d`, 1 bit delta-of-delta, 6 bits shift, 1 bit zig-zag, 7 bits base width and the base
//! (zig-zag), then 6 bits `k`: 63 means every residual is zero (no per-value bits); 62 means
//! packed: 6 bits width-1, then per value that many bits; otherwise `k` is the Rice parameter and
//! per value follow a unary quotient (`ESCAPE` ones mean: 64 raw residual bits follow) and `k`
//! bits. (Residuals of exact integers never reach 2^57, so no Rice block ever had `k == 62`.)

use super::bstream::{BitReader, BitWriter};
use crate::{Error, ErrorKind, Timestamp};

const NAME: &str = "columnar";
/// Values per block at most.
pub const BLOCK: usize = 64;
const ESCAPE: u64 = 20;
const K_ALL_ZERO: u32 = 63;
const K_PACKED: u32 = 62;
/// Extra bits per value a block may spend to be packed rather than Rice-coded. Measured on
/// `testdata::Fleet` (`bench_store`): Rice wherever smaller gives 1.158 bytes/sample; a slack of
/// 1 bit 1.181, 2 bits 1.203, packing everything 1.279. Full decode went from ~140M to ~155M,
/// ~200M and ~212M samples/s: 2 bits buys most of the speed for 4% more bytes.
const PACK_SLACK_PER_VALUE: u64 = 2;
const MAX_EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
const POW10: [f64; 8] = [1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6, 1e7];

fn corrupt(reason: &'static str) -> Error {
    Error::new(ErrorKind::CorruptChunk {
        encoding: NAME,
        reason,
    })
}

#[inline(always)]
fn zigzag(x: i64) -> u64 {
    ((x << 1) ^ (x >> 63)) as u64
}

#[inline(always)]
fn unzigzag(u: u64) -> i64 {
    ((u >> 1) as i64) ^ -((u & 1) as i64)
}

/// `v * 10^d` as an integer when dividing it back gives `v` bit for bit.
#[inline(always)]
fn scaled(v: f64, d: usize) -> Option<i64> {
    let p = POW10[d];
    let x = if d == 0 { v } else { (v * p).round() };
    if x.is_nan() || x.abs() > MAX_EXACT {
        return None;
    }
    let xi = x as i64;
    (unscale(xi, d).to_bits() == v.to_bits()).then_some(xi)
}

#[inline(always)]
fn unscale(x: i64, d: usize) -> f64 {
    if d == 0 {
        x as f64
    } else {
        x as f64 / POW10[d]
    }
}

/// The integer the decoder continues from: the previous value at scale `d`, or 0.
#[inline]
fn reference(prev: u64, d: usize) -> i64 {
    scaled(f64::from_bits(prev), d).unwrap_or(0)
}

// === timestamp column ===

/// Encodes strictly increasing timestamps as a grid plus exceptions.
pub fn encode_timestamps(ts: &[Timestamp], out: &mut Vec<u8>) {
    let n = ts.len();
    let mut scratch: Vec<i64> = ts.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
    let step = median(&mut scratch);
    scratch.clear();
    scratch.extend(
        ts.iter()
            .enumerate()
            .map(|(i, &t)| t.wrapping_sub((i as i64).wrapping_mul(step))),
    );
    let origin = median(&mut scratch);
    put_uvarint(out, zigzag(origin));
    put_uvarint(out, zigzag(step));
    let mut exc = Vec::new();
    let mut last = 0usize;
    let mut m = 0u64;
    for (i, &t) in ts.iter().enumerate().take(n) {
        let grid = origin.wrapping_add((i as i64).wrapping_mul(step));
        if t != grid {
            put_uvarint(&mut exc, (i - last) as u64);
            put_uvarint(&mut exc, zigzag(t.wrapping_sub(grid)));
            last = i;
            m += 1;
        }
    }
    put_uvarint(out, m);
    out.extend_from_slice(&exc);
}

fn median(v: &mut [i64]) -> i64 {
    if v.is_empty() {
        return 0;
    }
    let mid = v.len() / 2;
    *v.select_nth_unstable(mid).1
}

/// Decodes `n` timestamps into `out` (cleared first). Order is not checked here.
pub fn decode_timestamps(bytes: &[u8], n: usize, out: &mut Vec<Timestamp>) -> Result<(), Error> {
    let mut pos = 0;
    let mut next = || get_uvarint(bytes, &mut pos).ok_or_else(|| corrupt("bad timestamp column"));
    let origin = unzigzag(next()?);
    let step = unzigzag(next()?);
    let m = next()?;
    if m > n as u64 {
        return Err(corrupt("more timestamp exceptions than samples"));
    }
    out.clear();
    out.extend((0..n as i64).map(|i| origin.wrapping_add(i.wrapping_mul(step))));
    let mut idx = 0usize;
    for k in 0..m {
        let gap = next()?;
        if gap > n as u64 || (k > 0 && gap == 0) {
            return Err(corrupt("timestamp exception out of place"));
        }
        idx += gap as usize;
        let off = unzigzag(next()?);
        let Some(t) = out.get_mut(idx) else {
            return Err(corrupt("timestamp exception out of place"));
        };
        *t = t.wrapping_add(off);
    }
    if pos != bytes.len() {
        return Err(corrupt("trailing bytes after the timestamp column"));
    }
    Ok(())
}

fn put_uvarint(out: &mut Vec<u8>, mut x: u64) {
    while x >= 0x80 {
        out.push(x as u8 | 0x80);
        x >>= 7;
    }
    out.push(x as u8);
}

fn get_uvarint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut x = 0u64;
    for i in 0..10 {
        let byte = *b.get(*pos)?;
        *pos += 1;
        if byte < 0x80 {
            if i == 9 && byte > 1 {
                return None;
            }
            return Some(x | (u64::from(byte) << (7 * i)));
        }
        x |= u64::from(byte & 0x7f) << (7 * i);
    }
    None
}

// === value column ===

/// Appends blocks of values to one series' value column.
#[derive(Debug, Clone)]
pub struct ValueEncoder {
    w: BitWriter,
    prev: u64,
    leading: u8,
    trailing: u8,
    num: usize,
}

impl Default for ValueEncoder {
    fn default() -> Self {
        ValueEncoder {
            w: BitWriter::with_header(0, 16),
            prev: 0,
            leading: 0xff,
            trailing: 0,
            num: 0,
        }
    }
}

/// The integer coding chosen for a block.
#[derive(Debug, Clone, Copy)]
struct IntPlan {
    d: usize,
    dod: bool,
    shift: u32,
    zz: bool,
    base: i64,
    k: u32,
    /// Bits per residual when `k == K_PACKED`.
    width: u32,
    bits: u64,
}

impl ValueEncoder {
    pub fn bytes(&self) -> &[u8] {
        &self.w.buf
    }

    pub fn into_bytes(mut self) -> Vec<u8> {
        self.w.buf.shrink_to_fit();
        self.w.buf
    }

    pub fn num_samples(&self) -> usize {
        self.num
    }

    /// The newest value's bits (0 when empty).
    pub fn last_bits(&self) -> u64 {
        self.prev
    }

    /// Bytes held, capacity included.
    pub fn heap_bytes(&self) -> usize {
        self.w.buf.capacity()
    }

    /// Encodes 1..=64 values as one block.
    pub fn push_block(&mut self, vals: &[f64]) {
        debug_assert!(!vals.is_empty() && vals.len() <= BLOCK);
        let plan = self.plan_int(vals);
        let xor_bits = match plan {
            // Exact integers almost never lose to XOR; skip the dry run when clearly smaller.
            Some(p) if p.bits <= 8 * vals.len() as u64 => u64::MAX,
            _ => self.xor_cost(vals),
        };
        self.w.write((vals.len() - 1) as u64, 6);
        match plan {
            Some(p) if p.bits < xor_bits => {
                self.w.write(1, 1);
                self.write_int(vals, p);
            }
            _ => {
                self.w.write(0, 1);
                for &v in vals {
                    self.write_xor(v.to_bits());
                }
            }
        }
        if let Some(&last) = vals.last() {
            self.prev = last.to_bits();
        }
        self.num += vals.len();
        self.w.buf.truncate(self.w.bits.div_ceil(8));
    }

    fn xor_cost(&self, vals: &[f64]) -> u64 {
        let (mut prev, mut lead, mut trail) = (self.prev, self.leading, self.trailing);
        let mut bits = 0u64;
        for &v in vals {
            let delta = v.to_bits() ^ prev;
            prev = v.to_bits();
            if delta == 0 {
                bits += 1;
                continue;
            }
            let l = (delta.leading_zeros() as u8).min(31);
            let t = delta.trailing_zeros() as u8;
            if lead != 0xff && l >= lead && t >= trail {
                bits += 2 + 64 - u64::from(lead) - u64::from(trail);
            } else {
                lead = l;
                trail = t;
                bits += 13 + 64 - u64::from(l) - u64::from(t);
            }
        }
        bits
    }

    #[inline]
    fn write_xor(&mut self, v: u64) {
        let delta = v ^ self.prev;
        self.prev = v;
        if delta == 0 {
            self.w.write(0, 1);
            return;
        }
        let leading = (delta.leading_zeros() as u8).min(31);
        let trailing = delta.trailing_zeros() as u8;
        if self.leading != 0xff && leading >= self.leading && trailing >= self.trailing {
            let sig = 64 - u32::from(self.leading) - u32::from(self.trailing);
            self.w.write(0b10, 2);
            self.w.write(delta >> self.trailing, sig);
        } else {
            self.leading = leading;
            self.trailing = trailing;
            let sig = 64 - u32::from(leading) - u32::from(trailing);
            self.w.write(
                (0b11 << 11) | (u64::from(leading) << 6) | u64::from(sig & 63),
                13,
            );
            self.w.write(delta >> trailing, sig);
        }
    }

    /// The cheapest integer coding of the block, if every value is an exact short decimal.
    fn plan_int(&self, vals: &[f64]) -> Option<IntPlan> {
        let mut xs = [0i64; BLOCK];
        let n = vals.len();
        let d = (0..POW10.len()).find(|&d| {
            vals.iter()
                .zip(xs.iter_mut())
                .all(|(&v, x)| scaled(v, d).map(|s| *x = s).is_some())
        })?;
        let mut prev = reference(self.prev, d);
        let mut prev_delta = 0i64;
        let mut deltas = [0i64; BLOCK];
        let mut dods = [0i64; BLOCK];
        for i in 0..n {
            let delta = xs[i].wrapping_sub(prev);
            deltas[i] = delta;
            dods[i] = delta.wrapping_sub(prev_delta);
            prev = xs[i];
            prev_delta = delta;
        }
        let a = plan_residuals(&mut deltas[..n], d, false);
        let b = plan_residuals(&mut dods[..n], d, true);
        Some(if b.bits < a.bits { b } else { a })
    }

    fn write_int(&mut self, vals: &[f64], p: IntPlan) {
        let w = &mut self.w;
        w.write(p.d as u64, 3);
        w.write(u64::from(p.dod), 1);
        w.write(u64::from(p.shift), 6);
        w.write(u64::from(p.zz), 1);
        let zb = zigzag(p.base);
        let width = 64 - zb.leading_zeros();
        w.write(u64::from(width), 7);
        if width > 0 {
            w.write(zb, width);
        }
        w.write(u64::from(p.k), 6);
        if p.k == K_ALL_ZERO {
            return;
        }
        if p.k == K_PACKED {
            w.write(u64::from(p.width - 1), 6);
        }
        let mut prev = reference(self.prev, p.d);
        let mut prev_delta = 0i64;
        for &v in vals {
            let x = scaled(v, p.d).unwrap_or(0);
            let delta = x.wrapping_sub(prev);
            let raw = if p.dod {
                delta.wrapping_sub(prev_delta)
            } else {
                delta
            };
            prev = x;
            prev_delta = delta;
            let r = (raw >> p.shift).wrapping_sub(p.base);
            let u = if p.zz { zigzag(r) } else { r as u64 };
            if p.k == K_PACKED {
                w.write(u, p.width);
            } else {
                write_rice(w, u, p.k);
            }
        }
    }
}

#[inline(always)]
fn write_rice(w: &mut BitWriter, u: u64, k: u32) {
    let q = if k >= 64 { 0 } else { u >> k };
    if q >= ESCAPE {
        w.write((1u64 << ESCAPE) - 1, ESCAPE as u32);
        w.write(u, 64);
        return;
    }
    // q ones, a zero, then k remainder bits; together at most 20 + 1 + 62 bits.
    let head = ((1u64 << q) - 1) << 1;
    if q as u32 + 1 + k <= 64 {
        let rem = if k == 0 { 0 } else { u & ((1u64 << k) - 1) };
        let field = if k == 0 { head } else { (head << k) | rem };
        w.write(field, q as u32 + 1 + k);
    } else {
        w.write(head, q as u32 + 1);
        w.write(u, k);
    }
}

#[inline(always)]
fn rice_cost(u: &[u64], k: u32) -> u64 {
    u.iter()
        .map(|&x| {
            let q = x >> k;
            if q >= ESCAPE {
                ESCAPE + 64
            } else {
                q + 1 + u64::from(k)
            }
        })
        .sum()
}

/// Picks shift, base and Rice parameter for one residual sequence; `raw` is clobbered.
fn plan_residuals(raw: &mut [i64], d: usize, dod: bool) -> IntPlan {
    let ors = raw.iter().fold(0i64, |a, &x| a | x);
    let shift = if ors == 0 {
        0
    } else {
        ors.trailing_zeros().min(62)
    };
    for x in raw.iter_mut() {
        *x >>= shift;
    }
    let header = 6 + 1 + 3 + 1 + 6 + 1 + 7 + 6;
    let mut best = IntPlan {
        d,
        dod,
        shift,
        zz: false,
        base: 0,
        k: 0,
        width: 0,
        bits: u64::MAX,
    };
    let mut u = [0u64; BLOCK];
    let n = raw.len();
    // Two bases: the minimum (all residuals >= 0) and the median, zig-zagged (robust to one
    // outlier).
    let min = raw.iter().copied().min().unwrap_or(0);
    let mut sorted = [0i64; BLOCK];
    sorted[..n].copy_from_slice(raw);
    let med = median(&mut sorted[..n]);
    for (zz, base) in [(false, min), (true, med)] {
        let mut sum = 0u64;
        let mut ors = 0u64;
        for i in 0..n {
            let r = raw[i].wrapping_sub(base);
            u[i] = if zz { zigzag(r) } else { r as u64 };
            sum = sum.saturating_add(u[i]);
            ors |= u[i];
        }
        let base_bits = u64::from(64 - zigzag(base).leading_zeros());
        let (k, width, body) = if ors == 0 {
            (K_ALL_ZERO, 0, 0)
        } else {
            let mean = sum / n as u64;
            let k0 = (63 - (mean | 1).leading_zeros()).min(61);
            let mut pick = (k0, rice_cost(&u[..n], k0));
            for k in [k0.saturating_sub(1), (k0 + 1).min(61)] {
                let c = rice_cost(&u[..n], k);
                if c < pick.1 {
                    pick = (k, c);
                }
            }
            let width = 64 - ors.leading_zeros();
            let packed = 6 + n as u64 * u64::from(width);
            if packed <= pick.1 + PACK_SLACK_PER_VALUE * n as u64 {
                (K_PACKED, width, packed)
            } else {
                (pick.0, 0, pick.1)
            }
        };
        let bits = header + base_bits + body;
        if bits < best.bits {
            best = IntPlan {
                zz,
                base,
                k,
                width,
                bits,
                ..best
            };
        }
    }
    best
}

/// Decodes `n` values of a value column into `out` (its contents replaced).
pub fn decode_values(bytes: &[u8], n: usize, out: &mut Vec<f64>) -> Result<(), Error> {
    // Every slot is overwritten below (or the call fails), so a reused buffer is not zeroed.
    out.truncate(n);
    out.resize(n, 0.0);
    let mut r = BitReader::new(bytes);
    let (mut prev, mut leading, mut trailing) = (0u64, 0u32, 0u32);
    let mut done = 0usize;
    while done < n {
        let w = r.peek();
        let len = (w >> 58) as usize + 1;
        let is_int = (w >> 57) & 1 == 1;
        r.skip(7);
        let Some(dst) = out.get_mut(done..done + len) else {
            return Err(corrupt("block runs past the sample count"));
        };
        if is_int {
            let w = r.peek();
            let d = (w >> 61) as usize;
            let dod = (w >> 60) & 1 == 1;
            let shift = ((w >> 54) & 63) as u32;
            let zz = (w >> 53) & 1 == 1;
            let width = ((w >> 46) & 127) as u32;
            r.skip(18);
            if width > 64 {
                return Err(corrupt("base wider than 64 bits"));
            }
            let base = unzigzag(r.read(width));
            let k = r.read(6) as u32;
            let mut us = [0u64; BLOCK];
            let us = &mut us[..len];
            match k {
                K_ALL_ZERO => {}
                K_PACKED => {
                    let w = r.read(6) as u32 + 1;
                    r.read_packed(w, us);
                }
                _ => read_rice(&mut r, k, us),
            }
            let p = IntBlock {
                x: reference(prev, d),
                d,
                base,
                shift,
            };
            // One loop per shape, so the per-value step has no shape branches.
            match (zz, dod, d == 0) {
                (false, false, true) => int_block::<false, false, false>(us, dst, p),
                (false, true, true) => int_block::<false, true, false>(us, dst, p),
                (true, false, true) => int_block::<true, false, false>(us, dst, p),
                (true, true, true) => int_block::<true, true, false>(us, dst, p),
                (false, false, false) => int_block::<false, false, true>(us, dst, p),
                (false, true, false) => int_block::<false, true, true>(us, dst, p),
                (true, false, false) => int_block::<true, false, true>(us, dst, p),
                (true, true, false) => int_block::<true, true, true>(us, dst, p),
            }
        } else {
            for slot in dst.iter_mut() {
                let w = r.peek();
                if w >> 63 != 0 {
                    if (w >> 62) & 1 == 0 {
                        r.skip(2);
                    } else {
                        let l = ((w >> 57) & 31) as u32;
                        let mut sig = ((w >> 51) & 63) as u32;
                        if sig == 0 {
                            sig = 64;
                        }
                        if l + sig > 64 {
                            return Err(corrupt("leading zeros plus significant bits exceed 64"));
                        }
                        leading = l;
                        trailing = 64 - l - sig;
                        r.skip(13);
                    }
                    let sig = 64 - leading - trailing;
                    prev ^= r.read(sig) << trailing;
                } else {
                    r.skip(1);
                }
                *slot = f64::from_bits(prev);
            }
        }
        if r.overrun() {
            return Err(corrupt("truncated"));
        }
        done += len;
        if let Some(&last) = out.get(done - 1) {
            prev = last.to_bits();
        }
    }
    Ok(())
}

/// An integer block's parameters, as read from its header.
#[derive(Clone, Copy)]
struct IntBlock {
    x: i64,
    d: usize,
    base: i64,
    shift: u32,
}

/// Reads one Rice-coded residual per slot of `us`. Each quotient's length decides where the next
/// one starts, so this is the slow, serial path; packed blocks avoid it.
#[inline(always)]
fn read_rice(r: &mut BitReader<'_>, k: u32, us: &mut [u64]) {
    for u in us.iter_mut() {
        let w = r.peek();
        let q = u64::from((!w).leading_zeros());
        *u = if q >= ESCAPE {
            r.skip(ESCAPE as u32);
            r.read(64)
        } else if q as u32 + 1 + k <= 57 {
            r.skip(q as u32 + 1 + k);
            let rem = if k == 0 {
                0
            } else {
                (w << (q + 1)) >> (64 - k)
            };
            (q << k) | rem
        } else {
            r.skip(q as u32 + 1);
            (q << k) | r.read(k)
        };
    }
}

/// Turns an integer block's residuals back into values: undo zig-zag, base and shift, sum the
/// deltas (twice for delta-of-delta), divide out the decimal scale.
#[inline(always)]
fn int_block<const ZZ: bool, const DOD: bool, const SCALED: bool>(
    us: &[u64],
    dst: &mut [f64],
    p: IntBlock,
) {
    let (mut x, mut delta) = (p.x, 0i64);
    let div = POW10[p.d];
    for (slot, &u) in dst.iter_mut().zip(us) {
        let res = if ZZ { unzigzag(u) } else { u as i64 };
        let raw = res.wrapping_add(p.base).wrapping_shl(p.shift);
        delta = if DOD { delta.wrapping_add(raw) } else { raw };
        x = x.wrapping_add(delta);
        *slot = if SCALED { x as f64 / div } else { x as f64 };
    }
}

// === self-contained chunk ===

/// Joins a timestamp column and a value column into self-contained chunk bytes.
pub fn join(n: u16, ts: &[u8], values: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + 3 + ts.len() + values.len());
    out.extend_from_slice(&n.to_be_bytes());
    put_uvarint(&mut out, ts.len() as u64);
    out.extend_from_slice(ts);
    out.extend_from_slice(values);
    out
}

/// Splits self-contained chunk bytes into (sample count, timestamp column, value column).
pub fn split(bytes: &[u8]) -> Result<(u16, &[u8], &[u8]), Error> {
    let hdr = bytes
        .first_chunk::<2>()
        .ok_or_else(|| corrupt("shorter than its 2-byte header"))?;
    let n = u16::from_be_bytes(*hdr);
    let mut pos = 2;
    let len = get_uvarint(bytes, &mut pos).ok_or_else(|| corrupt("bad timestamp column length"))?;
    let rest = &bytes[pos..];
    if len > rest.len() as u64 {
        return Err(corrupt("timestamp column longer than the chunk"));
    }
    let (ts, values) = rest.split_at(len as usize);
    Ok((n, ts, values))
}

/// Encodes samples as a self-contained columnar chunk.
pub fn encode(samples: &[(Timestamp, f64)]) -> Result<Vec<u8>, Error> {
    let n = u16::try_from(samples.len()).map_err(|_| Error::new(ErrorKind::ChunkFull))?;
    let ts: Vec<Timestamp> = samples.iter().map(|s| s.0).collect();
    let mut tcol = Vec::new();
    encode_timestamps(&ts, &mut tcol);
    let mut enc = ValueEncoder::default();
    let vals: Vec<f64> = samples.iter().map(|s| s.1).collect();
    for block in vals.chunks(BLOCK) {
        enc.push_block(block);
    }
    Ok(join(n, &tcol, enc.bytes()))
}

/// Iterates a columnar chunk's samples (decoded up front: the layout is built for whole-chunk
/// decoding).
#[derive(Debug, Clone, Default)]
pub struct ColIter {
    ts: Vec<Timestamp>,
    vs: Vec<f64>,
    read: usize,
}

impl ColIter {
    /// Decodes untrusted self-contained bytes.
    pub fn new(bytes: &[u8]) -> Result<Self, Error> {
        let (n, ts, values) = split(bytes)?;
        Self::from_parts(ts, values, n as usize)
    }

    /// Decodes a timestamp column and a value column kept apart.
    pub fn from_parts(ts: &[u8], values: &[u8], n: usize) -> Result<Self, Error> {
        let mut it = ColIter::default();
        decode_timestamps(ts, n, &mut it.ts)?;
        decode_values(values, n, &mut it.vs)?;
        Ok(it)
    }
}

impl ColIter {
    /// Appends every remaining sample to `ts`/`vs`.
    pub fn read_all(&mut self, ts: &mut Vec<Timestamp>, vs: &mut Vec<f64>) {
        let n = self.ts.len().min(self.vs.len());
        let from = self.read.min(n);
        ts.extend_from_slice(&self.ts[from..n]);
        vs.extend_from_slice(&self.vs[from..n]);
        self.read = n.max(self.read);
    }
}

impl super::ChunkIterator for ColIter {
    #[inline]
    fn next(&mut self) -> bool {
        if self.read < self.ts.len() {
            self.read += 1;
            true
        } else {
            false
        }
    }

    fn at(&self) -> (Timestamp, f64) {
        let i = self.read.saturating_sub(1);
        (
            self.ts.get(i).copied().unwrap_or(0),
            self.vs.get(i).copied().unwrap_or(0.0),
        )
    }

    fn err(&self) -> Option<&Error> {
        None
    }

    fn num_read(&self) -> usize {
        self.read
    }
}
