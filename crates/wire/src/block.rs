//! Live sample blocks: columns coded against the previous sample of the same series.
//!
//! Each subscription has one [`BlockEncoder`] in the relay and one [`BlockDecoder`] in the page;
//! both remember, per series, the last timestamp, the last timestamp step, the last value and the
//! last integer step. A block is only meaningful to the decoder that saw every earlier block of
//! its subscription on the same connection, which is why the relay never drops a frame on a
//! connection (it closes the connection instead) and state starts empty on every `Subscribe`.
//! After history, both sides prime each series with the last sample of its last history chunk
//! (`prime`), so the first live sample of a series costs a step, not a whole value.
//!
//! Layout: varint count, flags byte (bit 0: every sample has the same timestamp, then a varint
//! zigzag step from the previous block's timestamp), then a bit stream per sample:
//! - series: Elias gamma of zigzag(ref - previous ref - 1) — consecutive refs cost one bit;
//! - timestamp (only without the same-timestamp flag): gamma of zigzag(delta of delta);
//! - value (see `encode_value`): `0` unchanged; `10` + the change of the integer step, for
//!   values that are whole numbers of `10^-scale` (counters, most gauges, and sums printed with
//!   up to 3 decimals), coded exp-Golomb with an order each series adapts to its own noise;
//!   `1111` + a new scale and the step; `110`/`1110` Gorilla XOR, reusing the previous
//!   window when the bits fit in it.
//!
//! The demo fleet scraped every 15 s costs about 1.37 bytes a sample (plain gamma codes and a
//! fresh XOR window every time cost 2.1; see the relay's demo tests and `bench_stream`); the
//! encoding stays simple so the page decodes it quickly.

use lookout_tsdb::sort::SortDyn;

use crate::codec::{BitReader, BitWriter, Reader, Writer, unzigzag, zigzag};
use crate::{DecodeError, DecodeErrorKind, SampleBatch};

/// Series one decoder will remember before it refuses more (bounds a hostile relay's effect).
pub const MAX_SERIES_PER_SUBSCRIPTION: usize = 1 << 20;

#[derive(Debug, Clone, Copy)]
struct SeriesState {
    /// The series' ref; kept in the entry so the table is one sorted array of 40-byte entries.
    r: u32,
    /// Decimal places of the integer path: values are whole numbers of `10^-scale`.
    scale: u8,
    /// Order of the exp-Golomb code of the next step change, following the series' noise.
    k: u8,
    /// Window of the last XOR: leading zeros and length (length 0: none yet).
    lz: u8,
    len: u8,
    t: i64,
    dt: i64,
    v: u64,
    /// Last integer step, in units of `10^-scale` (0 after an unchanged or a float value).
    dv: i64,
}

/// Per-series state, sorted by ref: 40 bytes a series where a hash map took about twice that
/// (buckets kept half empty, key beside a padded value). A relay keeps one per subscription,
/// so this is most of what a subscribed connection costs (`bench_stream`). Lookups follow the
/// batch's ref order from a cursor; series new to the table wait in `fresh` (a few dozen at
/// most) and are merged in at the end of each block.
#[derive(Debug, Default)]
struct Table {
    sorted: Vec<SeriesState>,
    fresh: Vec<SeriesState>,
    cursor: usize,
}

/// Fresh series searched linearly before they are merged.
const FRESH: usize = 64;

impl Table {
    fn len(&self) -> usize {
        self.sorted.len() + self.fresh.len()
    }

    fn find(&mut self, r: u32) -> Option<&mut SeriesState> {
        // The entry just used (a get before its put), the next one (the batch's next ref),
        // or a search.
        let c = self.cursor;
        let is = |i: usize| self.sorted.get(i).is_some_and(|s| s.r == r);
        let at = if c > 0 && is(c - 1) {
            Some(c - 1)
        } else if is(c) {
            Some(c)
        } else {
            self.sorted.binary_search_by_key(&r, |s| s.r).ok()
        };
        if let Some(i) = at {
            self.cursor = i + 1;
            return self.sorted.get_mut(i);
        }
        self.fresh.iter_mut().find(|s| s.r == r)
    }

    fn contains(&mut self, r: u32) -> bool {
        self.find(r).is_some()
    }

    fn put(&mut self, s: SeriesState) {
        if let Some(e) = self.find(s.r) {
            *e = s;
        } else if self.fresh.is_empty() && self.sorted.last().is_none_or(|l| l.r < s.r) {
            // History primes series in ref order: appending keeps the table sorted.
            self.sorted.push(s);
        } else {
            self.fresh.push(s);
            if self.fresh.len() >= FRESH {
                self.merge();
            }
        }
    }

    /// Moves the fresh series into the sorted array, which ends up exactly as long as needed.
    fn merge(&mut self) {
        if self.fresh.is_empty() {
            if self.sorted.capacity() > self.sorted.len() + self.sorted.len() / 8 + 8 {
                self.sorted.shrink_to_fit();
            }
            return;
        }
        self.fresh.sort_by_key_dyn(|s| s.r);
        let mut out = Vec::with_capacity(self.sorted.len() + self.fresh.len());
        let (mut a, mut b) = (self.sorted.iter().peekable(), self.fresh.iter().peekable());
        while let (Some(x), Some(y)) = (a.peek(), b.peek()) {
            if x.r < y.r {
                out.push(**x);
                a.next();
            } else {
                out.push(**y);
                b.next();
            }
        }
        out.extend(a.copied());
        out.extend(b.copied());
        self.sorted = out;
        self.fresh = Vec::new();
        self.cursor = 0;
    }
}

#[derive(Debug, Default)]
struct State {
    series: Table,
    /// Timestamp of the previous block's last sample.
    last_t: i64,
}

impl State {
    /// Starts series `r` from its newest history sample (and the one before, when there is
    /// one), so its first live sample is coded as a step from them rather than from nothing.
    /// Encoder and decoder must be primed alike.
    fn prime(&mut self, r: u32, prev: Option<(i64, f64)>, last: (i64, f64)) {
        let (t, v) = (last.0, last.1.to_bits());
        let mut s = SeriesState {
            t,
            v,
            scale: scale_of(v),
            ..self.get(r)
        };
        s.dt = 0;
        s.dv = 0;
        if let Some((pt, pv)) = prev {
            s.dt = t.wrapping_sub(pt);
            if let Some((d, new, old)) = common_scale(v, pv.to_bits()).filter(|_| pv.to_bits() != v)
            {
                s.scale = d;
                s.dv = new.wrapping_sub(old);
            }
        }
        self.series.put(s);
        self.last_t = self.last_t.max(t);
    }

    fn get(&mut self, r: u32) -> SeriesState {
        let last_t = self.last_t;
        self.series.find(r).copied().unwrap_or(SeriesState {
            r,
            scale: 0,
            k: 0,
            lz: 0,
            len: 0,
            t: last_t,
            dt: 0,
            v: 0f64.to_bits(),
            dv: 0,
        })
    }
}

/// Decimal places the integer path handles: Prometheus text values such as `12.345` (sums,
/// CPU seconds) are whole numbers of thousandths.
const MAX_SCALE: u8 = 3;
const POW10: [f64; MAX_SCALE as usize + 1] = [1.0, 10.0, 100.0, 1000.0];

/// The value as a whole number of `10^-d`, when dividing that number by `10^d` gives the same
/// bits back (a division both sides compute alike, IEEE 754 being exact about it).
fn scaled(bits: u64, d: u8) -> Option<i64> {
    let x = (f64::from_bits(bits) * POW10[usize::from(d)]).round();
    // Also false for NaN and infinities.
    if !(x.abs() < (1u64 << 53) as f64) {
        return None;
    }
    let i = x as i64;
    (unscale(i, d) == bits).then_some(i)
}

fn unscale(i: i64, d: u8) -> u64 {
    (i as f64 / POW10[usize::from(d)]).to_bits()
}

/// The fewest decimal places that hold the value (0 when none do).
fn scale_of(bits: u64) -> u8 {
    (0..=MAX_SCALE)
        .find(|&d| scaled(bits, d).is_some())
        .unwrap_or(0)
}

/// The fewest decimal places that hold both values, with both as whole numbers.
fn common_scale(new: u64, old: u64) -> Option<(u8, i64, i64)> {
    (0..=MAX_SCALE).find_map(|d| Some((d, scaled(new, d)?, scaled(old, d)?)))
}

/// The next exp-Golomb order after coding `z`: halfway to what would have coded `z` best, so
/// a noisy counter's steps cost about their noise, not twice it as plain gamma codes do.
fn adapt(k: u8, z: u64) -> u8 {
    let best = (64 - z.leading_zeros()).saturating_sub(2);
    ((u32::from(k) + best + 1) / 2).min(62) as u8
}

fn exp_golomb(bits: &mut BitWriter, z: u64, k: u8) {
    bits.gamma(z >> k);
    bits.bits(z & ((1u64 << k) - 1), u32::from(k));
}

fn read_exp_golomb(bits: &mut BitReader<'_>, k: u8) -> Option<u64> {
    let q = bits.gamma()?;
    let r = bits.bits(u32::from(k))?;
    (q <= u64::MAX >> k).then(|| (q << k) | r)
}

/// The relay's side of one subscription.
#[derive(Debug, Default)]
pub struct BlockEncoder {
    state: State,
}

impl BlockEncoder {
    /// Primes series `r` with the last two samples of the last history chunk sent for it
    /// (`prev` is `None` when that chunk holds one sample); see [`BlockDecoder::prime`].
    pub fn prime(&mut self, r: u32, prev: Option<(i64, f64)>, last: (i64, f64)) {
        self.state.prime(r, prev, last);
    }

    /// Encodes a batch; the matching decoder must see the result, and every earlier one, in order.
    pub fn encode(&mut self, batch: &SampleBatch) -> Vec<u8> {
        let mut w = Writer::default();
        w.uvarint(batch.len() as u64);
        let first_t = batch
            .timestamps
            .first()
            .copied()
            .unwrap_or(self.state.last_t);
        let same_t = batch.timestamps.iter().all(|&t| t == first_t);
        w.u8(u8::from(same_t));
        if same_t {
            w.varint(first_t.wrapping_sub(self.state.last_t));
        }
        let mut bits = BitWriter::default();
        let mut prev_ref = -1i64;
        for (r, t, v) in batch.iter() {
            bits.gamma(zigzag(i64::from(r) - prev_ref - 1));
            prev_ref = i64::from(r);
            let mut s = self.state.get(r);
            let dt = t.wrapping_sub(s.t);
            if !same_t {
                bits.gamma(zigzag(dt.wrapping_sub(s.dt)));
            }
            encode_value(&mut bits, &mut s, v.to_bits());
            s.dt = dt;
            s.t = t;
            self.state.series.put(s);
            self.state.last_t = t;
        }
        self.state.series.merge();
        w.buf.extend_from_slice(&bits.buf);
        w.buf
    }
}

/// One value against its series' state:
/// - `0`: unchanged;
/// - `10` + exp-Golomb(k) of zigzag(step - previous step), in whole `10^-scale`;
/// - `110` + the XOR's bits in the previous XOR's window;
/// - `1110` + 6 bits leading zeros, 6 bits length - 1, the XOR's bits;
/// - `1111` + 2 bits new scale + gamma(zigzag(step)) in that scale.
fn encode_value(bits: &mut BitWriter, s: &mut SeriesState, vb: u64) {
    if vb == s.v {
        bits.bit(false);
        s.dv = 0;
    } else if let (Some(new), Some(old)) = (scaled(vb, s.scale), scaled(s.v, s.scale)) {
        let step = new.wrapping_sub(old);
        let z = zigzag(step.wrapping_sub(s.dv));
        bits.bits(0b10, 2);
        exp_golomb(bits, z, s.k);
        s.k = adapt(s.k, z);
        s.dv = step;
    } else if let Some((d, new, old)) = common_scale(vb, s.v) {
        let step = new.wrapping_sub(old);
        bits.bits(0b1111, 4);
        bits.bits(u64::from(d), 2);
        bits.gamma(zigzag(step));
        s.scale = d;
        s.dv = step;
    } else {
        let x = vb ^ s.v;
        let lz = x.leading_zeros().min(63);
        let tz = x.trailing_zeros();
        let (wlz, wlen) = (u32::from(s.lz), u32::from(s.len));
        if wlen > 0 && lz >= wlz && tz >= 64 - wlz - wlen {
            bits.bits(0b110, 3);
            bits.bits(x >> (64 - wlz - wlen), wlen);
        } else {
            let len = 64 - lz - tz;
            bits.bits(0b1110, 4);
            bits.bits(u64::from(lz), 6);
            bits.bits(u64::from(len - 1), 6);
            bits.bits(x >> tz, len);
            s.lz = lz as u8;
            s.len = len as u8;
        }
        s.dv = 0;
    }
    s.v = vb;
}

/// The page's side of one subscription.
#[derive(Debug, Default)]
pub struct BlockDecoder {
    state: State,
}

impl BlockDecoder {
    /// Primes series `r` with the last two samples of the last history chunk it got, as the
    /// relay primed its encoder. Refuses (returns false) past [`MAX_SERIES_PER_SUBSCRIPTION`].
    pub fn prime(&mut self, r: u32, prev: Option<(i64, f64)>, last: (i64, f64)) -> bool {
        if self.state.series.len() >= MAX_SERIES_PER_SUBSCRIPTION && !self.state.series.contains(r)
        {
            return false;
        }
        self.state.prime(r, prev, last);
        true
    }

    /// Decodes one block. On error the decoder's state is unusable: the page must resubscribe.
    pub fn decode(&mut self, bytes: &[u8]) -> Result<SampleBatch, DecodeError> {
        let mut r = Reader::new(bytes);
        let n = r.uvarint()?;
        let flags = r.u8()?;
        if flags > 1 {
            return Err(r.err(DecodeErrorKind::BadBlock("unknown flags")));
        }
        let same_t = flags == 1;
        let base_t = if same_t {
            self.state.last_t.wrapping_add(r.varint()?)
        } else {
            0
        };
        let header = bytes.len() - r.remaining();
        let rest = r.bytes(r.remaining())?;
        // Every sample takes at least two bits (series, value): refuse counts the bits cannot hold.
        if n.saturating_mul(2) > rest.len() as u64 * 8 {
            return Err(DecodeError {
                offset: 0,
                kind: DecodeErrorKind::LengthTooLarge {
                    len: n,
                    remaining: rest.len(),
                },
            });
        }
        let n = n as usize;
        let mut bits = BitReader::new(rest);
        let bad = |bits: &BitReader<'_>, what: &'static str| DecodeError {
            offset: header + bits.byte_offset(),
            kind: DecodeErrorKind::BadBlock(what),
        };
        let mut out = SampleBatch {
            series: Vec::with_capacity(n),
            timestamps: Vec::with_capacity(n),
            values: Vec::with_capacity(n),
        };
        let mut prev_ref = -1i64;
        for _ in 0..n {
            let d = bits.gamma().ok_or_else(|| bad(&bits, "truncated series"))?;
            let rf = prev_ref
                .checked_add(1)
                .and_then(|p| p.checked_add(unzigzag(d)))
                .and_then(|x| u32::try_from(x).ok())
                .ok_or_else(|| bad(&bits, "series ref out of range"))?;
            prev_ref = i64::from(rf);
            let mut s = self.state.get(rf);
            let t = if same_t {
                base_t
            } else {
                let dod = bits
                    .gamma()
                    .ok_or_else(|| bad(&bits, "truncated timestamp"))?;
                s.t.wrapping_add(s.dt.wrapping_add(unzigzag(dod)))
            };
            let vb = decode_value(&mut bits, &mut s).map_err(|what| bad(&bits, what))?;
            s.dt = t.wrapping_sub(s.t);
            s.t = t;
            if self.state.series.len() >= MAX_SERIES_PER_SUBSCRIPTION
                && !self.state.series.contains(rf)
            {
                return Err(bad(&bits, "more series than a subscription may hold"));
            }
            self.state.series.put(s);
            self.state.last_t = t;
            out.push(rf, t, f64::from_bits(vb));
        }
        self.state.series.merge();
        // Padding in the last byte only.
        if bits.remaining_bits() >= 8 {
            return Err(DecodeError {
                offset: header + bits.byte_offset(),
                kind: DecodeErrorKind::TrailingBytes(bits.remaining_bits() / 8),
            });
        }
        Ok(out)
    }
}

/// Inverse of [`encode_value`]; the error names what was wrong.
fn decode_value(bits: &mut BitReader<'_>, s: &mut SeriesState) -> Result<u64, &'static str> {
    const TRUNCATED: &str = "truncated value";
    let mut prefix = 0;
    while prefix < 4 && bits.bit().ok_or(TRUNCATED)? {
        prefix += 1;
    }
    let vb = match prefix {
        0 => {
            s.dv = 0;
            s.v
        }
        1 => {
            let old = scaled(s.v, s.scale).ok_or("integer step from a float")?;
            let z = read_exp_golomb(bits, s.k).ok_or(TRUNCATED)?;
            s.k = adapt(s.k, z);
            let step = s.dv.wrapping_add(unzigzag(z));
            s.dv = step;
            unscale(whole(old, step)?, s.scale)
        }
        4 => {
            let d = bits.bits(2).ok_or(TRUNCATED)? as u8;
            let old = scaled(s.v, d).ok_or("integer step from a float")?;
            let step = unzigzag(bits.gamma().ok_or(TRUNCATED)?);
            s.scale = d;
            s.dv = step;
            unscale(whole(old, step)?, d)
        }
        2 => {
            let (lz, len) = (u32::from(s.lz), u32::from(s.len));
            if len == 0 {
                return Err("XOR window reused before one was sent");
            }
            let m = bits.bits(len).ok_or(TRUNCATED)?;
            s.dv = 0;
            s.v ^ (m << (64 - lz - len))
        }
        _ => {
            let lz = bits.bits(6).ok_or(TRUNCATED)? as u32;
            let len = bits.bits(6).ok_or(TRUNCATED)? as u32 + 1;
            if lz + len > 64 {
                return Err("XOR window wider than 64 bits");
            }
            let m = bits.bits(len).ok_or(TRUNCATED)?;
            s.lz = lz as u8;
            s.len = len as u8;
            s.dv = 0;
            s.v ^ (m << (64 - lz - len))
        }
    };
    s.v = vb;
    Ok(vb)
}

/// `old + step` when it stays a whole number a double holds exactly.
fn whole(old: i64, step: i64) -> Result<i64, &'static str> {
    old.checked_add(step)
        .filter(|n| n.unsigned_abs() < 1 << 53)
        .ok_or("integer value out of range")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a panic is the failure report
mod tests {
    use super::*;

    fn bits_eq(a: &SampleBatch, b: &SampleBatch) -> bool {
        a.series == b.series
            && a.timestamps == b.timestamps
            && a.values
                .iter()
                .map(|v| v.to_bits())
                .eq(b.values.iter().map(|v| v.to_bits()))
    }

    fn scrape(t: i64, k: i64) -> SampleBatch {
        let mut b = SampleBatch::default();
        for i in 0..200u32 {
            // Shaped like an exporter's scrape: mostly counters and histogram buckets, some
            // constants, one noisy gauge in ten, the odd staleness marker.
            let v = match i % 10 {
                0 => (k as f64 * 0.37 + f64::from(i)).sin() * 100.0,
                1 | 2 => 1.0,
                3 if i == 3 => f64::from_bits(lookout_tsdb::STALE_NAN_BITS),
                // Sums and CPU seconds as exporters print them, with up to 3 decimals.
                5 => (k * 12_345 + (k * 31 + i64::from(i)) % 977) as f64 / 1000.0,
                _ => (k * (i64::from(i) + 3) + (k * 7919 + i64::from(i)) % 5) as f64,
            };
            b.push(i + 10, t, v);
        }
        b
    }

    #[test]
    fn blocks_round_trip_bit_for_bit_in_order() {
        let (mut enc, mut dec) = (BlockEncoder::default(), BlockDecoder::default());
        for k in 0..50 {
            let b = scrape(1_700_000_000_000 + k * 15_000 + (k % 3), k);
            let bytes = enc.encode(&b);
            assert!(bits_eq(&dec.decode(&bytes).unwrap(), &b), "block {k}");
        }
        // Mixed timestamps, refs going down, -0.0, huge integers.
        let mut b = SampleBatch::default();
        b.push(5, 10, -0.0);
        b.push(2, -7, 9e15);
        b.push(u32::MAX, i64::MAX, 3.0);
        b.push(0, i64::MIN, f64::NAN);
        let bytes = enc.encode(&b);
        assert!(bits_eq(&dec.decode(&bytes).unwrap(), &b));
    }

    #[test]
    fn every_kind_of_value_round_trips_through_every_path() {
        let (mut enc, mut dec) = (BlockEncoder::default(), BlockDecoder::default());
        // One series through integers, decimals of each scale, a scale that must grow and
        // shrink, floats no scale holds, NaNs, infinities, -0.0, huge and tiny numbers.
        let values = [
            0.0,
            1.0,
            5.0,
            5.0,
            12.5,
            12.75,
            12.125,
            13.0,
            1e15,
            9.007_199_254_740_993e15,
            0.1,
            0.30000000000000004,
            0.3,
            0.7,
            -0.0,
            0.0,
            -12.345,
            f64::NAN,
            3.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e-300,
            1e300,
            2.5,
            2.5,
            2.625,
            2.75,
            2.875,
            3.0,
        ];
        let steady: Vec<f64> = (0..40).map(|i| f64::from(i * i) * 0.001).collect();
        for (k, &v) in values.iter().chain(&steady).enumerate() {
            let mut b = SampleBatch::default();
            b.push(7, k as i64 * 1000, v);
            // A second series whose float XORs reuse their window.
            b.push(8, k as i64 * 1000, 1.0 + (k as f64) * 1e-9);
            let bytes = enc.encode(&b);
            let got = dec.decode(&bytes).unwrap();
            assert!(bits_eq(&got, &b), "value {k} ({v:?}): got {:?}", got.values);
        }
    }

    #[test]
    fn series_arriving_in_any_order_and_any_number_keep_their_own_state() {
        assert_eq!(std::mem::size_of::<SeriesState>(), 40);
        let (mut enc, mut dec) = (BlockEncoder::default(), BlockDecoder::default());
        // History primes some series in order, then blocks bring shuffled refs, hundreds of
        // new series at once (past the fresh list's size), and a ref twice in one block.
        for r in (0..200).step_by(2) {
            enc.prime(r, Some((0, 1.0)), (1000, 2.0));
            assert!(dec.prime(r, Some((0, 1.0)), (1000, 2.0)));
        }
        for k in 1..30u32 {
            let mut b = SampleBatch::default();
            let n = 50 + k * 20;
            for j in 0..n {
                let r = (j.wrapping_mul(2_654_435_761) >> 7) % (k * 40);
                b.push(r, 1000 + i64::from(k) * 15_000, f64::from(r * k));
            }
            b.push(7, 1000 + i64::from(k) * 15_000 + 1, 0.5);
            let bytes = enc.encode(&b);
            assert!(bits_eq(&dec.decode(&bytes).unwrap(), &b), "block {k}");
        }
        // Each series found its own state (a mix-up would decode alike on both sides, but
        // cost whole XORs): a block that repeats every series' value costs two bits a sample.
        let mut b = SampleBatch::default();
        for r in 0..1500 {
            b.push(r, 1_000_000, f64::from(r) * 0.25);
        }
        dec.decode(&enc.encode(&b)).unwrap();
        for r in 0..1500 {
            b.timestamps[r as usize] = 1_015_000;
        }
        let bytes = enc.encode(&b);
        assert!(bytes.len() <= 8 + 1500 * 2 / 8, "{} bytes", bytes.len());
        assert!(bits_eq(&dec.decode(&bytes).unwrap(), &b));
    }

    #[test]
    fn decimal_scales_are_exact_or_refused() {
        assert_eq!(scaled(12.345f64.to_bits(), 3), Some(12_345));
        assert_eq!(scaled(12.345f64.to_bits(), 2), None);
        assert_eq!(scaled(0.30000000000000004f64.to_bits(), 3), None);
        assert_eq!(scaled((-0.0f64).to_bits(), 0), None);
        assert_eq!(scaled(f64::NAN.to_bits(), 0), None);
        assert_eq!(scaled(1e300f64.to_bits(), 0), None);
        assert_eq!(scale_of(2.5f64.to_bits()), 1);
        assert_eq!(
            common_scale(2.25f64.to_bits(), 2.5f64.to_bits()),
            Some((2, 225, 250))
        );
    }

    #[test]
    fn a_noisy_counter_costs_its_noise_not_twice_it() {
        // 100 counters, steps of about 600 with 0..127 of noise: the change of step has about
        // 8 bits of entropy. Plain gamma would spend 17 bits on it, exp-Golomb about 10.
        let mut enc = BlockEncoder::default();
        let mut v = [1_000_000.0f64; 100];
        let (mut bytes, mut samples) = (0, 0);
        for k in 0..60u64 {
            let mut b = SampleBatch::default();
            for (i, v) in v.iter_mut().enumerate() {
                let key = (k * 100 + i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                *v += 600.0 + (key >> 57) as f64;
                b.push(i as u32, k as i64 * 15_000, *v);
            }
            let n = enc.encode(&b).len();
            if k >= 10 {
                bytes += n;
                samples += b.len();
            }
        }
        // Per sample: 1 bit of series ref, 2 of path, the step change.
        let bits = bytes as f64 * 8.0 / samples as f64;
        assert!(bits < 14.0, "{bits} bits a sample");
    }

    #[test]
    fn a_steady_scrape_costs_well_under_two_bytes_a_sample() {
        let mut enc = BlockEncoder::default();
        let mut total = 0;
        for k in 0..20 {
            total += enc.encode(&scrape(k * 15_000, k)).len();
        }
        let per_sample = total as f64 / (20.0 * 200.0);
        assert!(per_sample < 2.0, "{per_sample} bytes/sample");
    }

    #[test]
    fn every_prefix_and_bit_flip_of_a_block_is_an_error_or_a_batch_never_a_panic() {
        let mut enc = BlockEncoder::default();
        let first = enc.encode(&scrape(0, 1));
        let second = enc.encode(&scrape(15_000, 2));
        for cut in 0..second.len() {
            let mut dec = BlockDecoder::default();
            dec.decode(&first).unwrap();
            let _ = dec.decode(&second[..cut]);
        }
        for i in 0..second.len() {
            for bit in 0..8 {
                let mut dec = BlockDecoder::default();
                dec.decode(&first).unwrap();
                let mut b = second.clone();
                b[i] ^= 1 << bit;
                let _ = dec.decode(&b);
            }
        }
    }
}
