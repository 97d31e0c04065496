//! Deterministic, realistic scraped data for tests and benchmarks.
//!
//! [`Fleet`] models targets scraped every 15 s, each exposing a typical mix: integer counters
//! (requests, growing by small Poisson-like steps), float counters in 10 ms ticks (CPU seconds),
//! integer gauges (goroutines), byte gauges in 4 KiB pages, noisy float gauges (ratios at full
//! precision), classic histograms (11 cumulative buckets, `_sum` as a float, `_count`) and `up`.
//!
//! Timestamps carry scrape jitter the way Prometheus records it: each scrape starts a little late
//! (most within 2 ms, some by tens of ms, a few by hundreds), and, as Prometheus's scrape
//! timestamp tolerance does (`--scrape.timestamp-tolerance`, 2 ms by default), a start within
//! 2 ms of the intended tick is recorded at the tick. All series of one target share the scrape timestamp.
//!
//! [`index_labels`] builds a 100k-series label set for index benchmarks.

use crate::Labels;

/// A small, fast, seedable PRNG (xorshift64*), so data is identical on every platform.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `[0, 1)`.
    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Uniform in `[0, n)`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    /// A Poisson-distributed count with mean `lambda` (Knuth; fine for small means).
    pub fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda > 30.0 {
            // Normal approximation for large means.
            let z = (self.f64() + self.f64() + self.f64() - 1.5) * 2.0;
            return (lambda + z * lambda.sqrt()).max(0.0).round() as u64;
        }
        let l = (-lambda).exp();
        let (mut k, mut p) = (0u64, 1.0);
        loop {
            p *= self.f64();
            if p <= l {
                return k;
            }
            k += 1;
        }
    }
}

/// What kind of series, for reporting compression per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

#[derive(Debug, Clone)]
enum Model {
    IntCounter {
        rate: f64,
    },
    CpuCounter {
        rate: f64,
    },
    IntGauge,
    ByteGauge,
    RatioGauge {
        mean: f64,
    },
    Up,
    /// One histogram's 11 buckets + sum + count, stepping together.
    Histogram {
        rate: f64,
        scale: f64,
    },
}

/// One generated series.
#[derive(Debug, Clone)]
pub struct GenSeries {
    pub labels: Labels,
    pub kind: Kind,
    pub target: usize,
}

/// A fleet of targets and their series.
#[derive(Debug, Clone)]
pub struct Fleet {
    pub series: Vec<GenSeries>,
    models: Vec<(Model, usize)>,
    targets: usize,
    seed: u64,
    jitter: bool,
}

/// Series per target (see the module docs for the mix).
pub const SERIES_PER_TARGET: usize = 100;
const BUCKETS: [&str; 11] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf",
];

impl Fleet {
    /// About `n` series (rounded up to whole targets of 100).
    pub fn new(n: usize, seed: u64) -> Fleet {
        let targets = n.div_ceil(SERIES_PER_TARGET);
        let mut rng = Rng::new(seed);
        let mut series = Vec::new();
        let mut models = Vec::new();
        for tg in 0..targets {
            let inst = format!("10.0.{}.{}:9100", tg / 250, tg % 250);
            let job = ["api", "db", "cache", "web"][tg % 4];
            let mut push = |name: &str,
                            extra: &[(&str, &str)],
                            kind: Kind,
                            model: Model,
                            series: &mut Vec<GenSeries>| {
                let mut pairs = vec![
                    ("__name__", name),
                    ("instance", inst.as_str()),
                    ("job", job),
                ];
                pairs.extend_from_slice(extra);
                series.push(GenSeries {
                    labels: Labels::new(pairs),
                    kind,
                    target: tg,
                });
                models.push((model, series.len() - 1));
            };
            let handlers = ["/", "/api/v1/query", "/api/v1/series", "/metrics", "/login"];
            for i in 0..30 {
                // Six distinct codes: with "200" three times (as before), a third of these
                // series had the labels of another and every scrape repeated them.
                let code = ["200", "201", "204", "404", "500", "503"][i % 6];
                let method = ["GET", "POST"][i / 6 % 2];
                let handler = handlers[i / 12 % handlers.len()];
                let rate = if code.starts_with('2') {
                    0.5 + rng.f64() * 30.0
                } else {
                    rng.f64() * 0.5
                };
                push(
                    "http_requests_total",
                    &[("code", code), ("handler", handler), ("method", method)],
                    Kind::Counter,
                    Model::IntCounter { rate },
                    &mut series,
                );
            }
            for i in 0..5 {
                let cpu = i.to_string();
                push(
                    "node_cpu_seconds_total",
                    &[("cpu", &cpu)],
                    Kind::Counter,
                    Model::CpuCounter { rate: rng.f64() },
                    &mut series,
                );
            }
            for i in 0..15 {
                let name = format!("app_queue_length_{i}");
                push(&name, &[], Kind::Gauge, Model::IntGauge, &mut series);
            }
            for i in 0..5 {
                let area = ["heap", "stack", "rss", "cache", "buffers"][i];
                push(
                    "process_memory_bytes",
                    &[("area", area)],
                    Kind::Gauge,
                    Model::ByteGauge,
                    &mut series,
                );
            }
            for i in 0..5 {
                let dev = format!("sd{}", (b'a' + i as u8) as char);
                push(
                    "node_disk_utilisation_ratio",
                    &[("device", &dev)],
                    Kind::Gauge,
                    Model::RatioGauge { mean: rng.f64() },
                    &mut series,
                );
            }
            for h in 0..3 {
                let handler = handlers[h];
                let model = Model::Histogram {
                    rate: 1.0 + rng.f64() * 20.0,
                    scale: 0.02 + rng.f64() * 0.3,
                };
                for b in BUCKETS {
                    push(
                        "http_request_duration_seconds_bucket",
                        &[("handler", handler), ("le", b)],
                        Kind::Histogram,
                        model.clone(),
                        &mut series,
                    );
                }
                push(
                    "http_request_duration_seconds_sum",
                    &[("handler", handler)],
                    Kind::Histogram,
                    model.clone(),
                    &mut series,
                );
                push(
                    "http_request_duration_seconds_count",
                    &[("handler", handler)],
                    Kind::Histogram,
                    model,
                    &mut series,
                );
            }
            push("up", &[], Kind::Gauge, Model::Up, &mut series);
        }
        Fleet {
            series,
            models,
            targets,
            seed,
            jitter: true,
        }
    }

    /// The same fleet with every scrape exactly on its tick (to see what jitter costs).
    pub fn without_jitter(mut self) -> Fleet {
        self.jitter = false;
        self
    }

    /// Scrape timestamps of one target: `n` scrapes every `interval_ms` from `start`.
    pub fn timestamps(&self, target: usize, start: i64, interval_ms: i64, n: usize) -> Vec<i64> {
        let mut rng = Rng::new(self.seed ^ (target as u64 + 1).wrapping_mul(0xD6E8_FEB8_6659_FD93));
        let offset = rng.below(interval_ms as u64) as i64;
        (0..n as i64)
            .map(|k| {
                let tick = start + offset + k * interval_ms;
                let r = rng.f64();
                let late = if r < 0.85 {
                    rng.below(3) as i64
                } else if r < 0.99 {
                    3 + rng.below(40) as i64
                } else {
                    50 + rng.below(400) as i64
                };
                // Prometheus's timestamp tolerance: a start within 2 ms is recorded at the tick.
                if late <= 2 || !self.jitter {
                    tick
                } else {
                    tick + late
                }
            })
            .collect()
    }

    /// Generates every series' samples: `out[i]` belongs to `self.series[i]`.
    pub fn samples(&self, start: i64, interval_ms: i64, n: usize) -> Vec<Vec<(i64, f64)>> {
        let ts: Vec<Vec<i64>> = (0..self.targets)
            .map(|t| self.timestamps(t, start, interval_ms, n))
            .collect();
        let mut out: Vec<Vec<(i64, f64)>> = vec![Vec::new(); self.series.len()];
        let mut rng = Rng::new(self.seed.wrapping_add(7));
        let mut i = 0;
        while i < self.models.len() {
            let (model, idx) = &self.models[i];
            let t = &ts[self.series[*idx].target];
            match model {
                Model::Histogram { rate, scale } => {
                    // 13 consecutive series: 11 cumulative buckets, sum, count.
                    let bounds = [
                        0.005,
                        0.01,
                        0.025,
                        0.05,
                        0.1,
                        0.25,
                        0.5,
                        1.0,
                        2.5,
                        5.0,
                        f64::INFINITY,
                    ];
                    let mut counts = [0u64; 11];
                    let mut sum = 0.0f64;
                    for &tk in t {
                        let obs = rng.poisson(*rate);
                        for _ in 0..obs {
                            let x = -scale * (1.0 - rng.f64()).ln();
                            sum += x;
                            for (b, c) in bounds.iter().zip(counts.iter_mut()) {
                                if x <= *b {
                                    *c += 1;
                                }
                            }
                        }
                        for (b, c) in counts.iter().enumerate() {
                            out[idx + b].push((tk, *c as f64));
                        }
                        out[idx + 11].push((tk, sum));
                        out[idx + 12].push((tk, counts[10] as f64));
                    }
                    i += 13;
                    continue;
                }
                Model::IntCounter { rate } => {
                    let mut v = rng.below(100_000) as f64;
                    for &tk in t {
                        v += rng.poisson(*rate) as f64;
                        out[*idx].push((tk, v));
                    }
                }
                Model::CpuCounter { rate } => {
                    let mut ticks = rng.below(10_000_000);
                    for &tk in t {
                        ticks += rng.poisson(rate * 1500.0);
                        out[*idx].push((tk, ticks as f64 / 100.0));
                    }
                }
                Model::IntGauge => {
                    let mut v = rng.below(500) as i64;
                    for &tk in t {
                        if rng.f64() < 0.6 {
                            v = (v + rng.below(7) as i64 - 3).max(0);
                        }
                        out[*idx].push((tk, v as f64));
                    }
                }
                Model::ByteGauge => {
                    let mut pages = 10_000 + rng.below(100_000) as i64;
                    for &tk in t {
                        if rng.f64() < 0.3 {
                            pages = (pages + rng.below(201) as i64 - 100).max(1);
                        }
                        out[*idx].push((tk, (pages * 4096) as f64));
                    }
                }
                Model::RatioGauge { mean } => {
                    for &tk in t {
                        let v = (mean + (rng.f64() - 0.5) * 0.1).clamp(0.0, 1.0);
                        out[*idx].push((tk, v));
                    }
                }
                Model::Up => {
                    for &tk in t {
                        out[*idx].push((tk, 1.0));
                    }
                }
            }
            i += 1;
        }
        out
    }
}

/// A label set of `n` series for index benchmarks: half are `http_requests_total` over
/// instances x 10 status codes x 2 methods x 5 handlers; the rest spread over 20 other metrics.
pub fn index_labels(n: usize) -> Vec<Labels> {
    let codes = [
        "200", "201", "204", "301", "304", "400", "404", "500", "502", "503",
    ];
    let handlers = ["/", "/api/v1/query", "/api/v1/series", "/metrics", "/login"];
    let mut out = Vec::with_capacity(n);
    let half = n / 2;
    for i in 0..half {
        let inst = format!("10.1.{}.{}:8080", i / 100 / 250, (i / 100) % 250);
        out.push(Labels::new([
            ("__name__", "http_requests_total"),
            ("code", codes[i % 10]),
            ("handler", handlers[i / 20 % 5]),
            ("instance", inst.as_str()),
            ("job", "api"),
            ("method", ["GET", "POST"][i / 10 % 2]),
        ]));
    }
    for i in half..n {
        let name = format!("metric_{}", i % 20);
        let inst = format!("10.2.{}.{}:9100", i / 1000 % 250, i % 250);
        let shard = (i / 5000).to_string();
        out.push(Labels::new([
            ("__name__", name.as_str()),
            ("instance", inst.as_str()),
            ("job", "node"),
            ("shard", shard.as_str()),
        ]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generator_is_deterministic_and_shaped() {
        let f = Fleet::new(200, 1);
        assert_eq!(f.series.len(), 200);
        let a = f.samples(0, 15_000, 20);
        let b = Fleet::new(200, 1).samples(0, 15_000, 20);
        let bits = |s: &Vec<Vec<(i64, f64)>>| -> Vec<(i64, u64)> {
            s.iter().flatten().map(|&(t, v)| (t, v.to_bits())).collect()
        };
        assert_eq!(bits(&a), bits(&b));
        // Counters never decrease; timestamps strictly increase.
        for (s, g) in a.iter().zip(&f.series) {
            assert!(s.windows(2).all(|w| w[0].0 < w[1].0));
            if g.kind == Kind::Counter {
                assert!(s.windows(2).all(|w| w[0].1 <= w[1].1));
            }
        }
        // Every series is distinct, as in a real scrape (Prometheus rejects repeats).
        let distinct: std::collections::HashSet<_> = f.series.iter().map(|g| &g.labels).collect();
        assert_eq!(distinct.len(), f.series.len());
        let labels = index_labels(1000);
        let distinct: std::collections::HashSet<_> = labels.iter().collect();
        assert_eq!(distinct.len(), 1000);
    }
}
