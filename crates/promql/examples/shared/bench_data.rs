//! The PromQL benchmark's data and queries, shared by the native bench (`bench_promql`, which
//! writes them as OpenMetrics for Prometheus and Lookout) and its in-browser half
//! (`tests/web_bench.rs`, which builds the same store without the text file).

use std::collections::HashMap;

use lookout_tsdb::{Labels, METRIC_NAME, Store};

/// Seconds between samples.
pub const STEP_S: i64 = 15;
/// Seconds between a range query's steps.
pub const QUERY_STEP_S: i64 = 60;

pub const CLASSES: &[(&str, &str)] = &[
    ("selector", "bench_temperature_celsius"),
    ("rate", "rate(bench_requests_total[5m])"),
    (
        "sum_by_rate",
        "sum by (job) (rate(bench_requests_total[5m]))",
    ),
    (
        "join_group_left",
        "bench_temperature_celsius * on (instance) group_left (team) bench_instance_info",
    ),
    (
        "histogram_quantile",
        "histogram_quantile(0.9, sum by (job, le) (rate(bench_latency_seconds_bucket[5m])))",
    ),
    ("topk", "topk(5, bench_temperature_celsius)"),
    (
        "subquery",
        "max_over_time(rate(bench_requests_total[5m])[30m:1m])",
    ),
    (
        "quantile_over_time",
        "quantile_over_time(0.9, bench_temperature_celsius[10m])",
    ),
];

const BUCKETS: [&str; 10] = [
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf",
];

/// A small deterministic generator so both engines see the same, reproducible data.
struct Lcg(u64);
impl Lcg {
    fn next_f(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Where generated samples go: OpenMetrics text, or straight into series.
pub trait Sink {
    /// A metric family starts (`# TYPE` line).
    fn family(&mut self, name: &str, kind: &str) -> std::io::Result<()>;
    /// One sample; `value` is its text as written to the file (which rounds some values).
    fn sample(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: &str,
        t_s: i64,
    ) -> std::io::Result<()>;
}

/// OpenMetrics text.
pub struct Text<W: std::io::Write>(pub W);

impl<W: std::io::Write> Sink for Text<W> {
    fn family(&mut self, name: &str, kind: &str) -> std::io::Result<()> {
        writeln!(self.0, "# TYPE {name} {kind}")
    }
    fn sample(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: &str,
        t_s: i64,
    ) -> std::io::Result<()> {
        write!(self.0, "{name}{{")?;
        for (i, (k, v)) in labels.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            write!(self.0, "{sep}{k}=\"{v}\"")?;
        }
        writeln!(self.0, "}} {value} {t_s}")
    }
}

/// Samples by series, as the OpenMetrics loader collects them (timestamps in ms).
#[derive(Default)]
pub struct Series(pub HashMap<Labels, Vec<(i64, f64)>>);

impl Sink for Series {
    fn family(&mut self, _: &str, _: &str) -> std::io::Result<()> {
        Ok(())
    }
    fn sample(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: &str,
        t_s: i64,
    ) -> std::io::Result<()> {
        let v: f64 = value
            .parse()
            .map_err(|_| std::io::Error::other(format!("bad value {value}")))?;
        let mut pairs = labels.to_vec();
        pairs.push((METRIC_NAME, name));
        self.0
            .entry(Labels::new(pairs))
            .or_default()
            .push((t_s * 1000, v));
        Ok(())
    }
}

impl Series {
    /// The store the OpenMetrics loader builds from the same samples: series in label order,
    /// samples appended one at a time.
    pub fn into_store(mut self) -> (Store, usize) {
        let mut store = Store::default();
        let mut total = 0;
        let mut keys: Vec<Labels> = self.0.keys().cloned().collect();
        keys.sort();
        for labels in keys {
            let mut samples = self.0.remove(&labels).unwrap_or_default();
            samples.sort_by_key(|s| s.0);
            let id = store.series_id(&labels);
            for (t, v) in samples {
                if store.append(id, t, v).is_ok() {
                    total += 1;
                }
            }
        }
        (store, total)
    }
}

/// Generates the data; returns (series, samples). Per instance: 2 counters, 1 gauge, 12
/// histogram series and 1 info series.
pub fn generate(
    out: &mut impl Sink,
    series: i64,
    start_s: i64,
    points: i64,
) -> std::io::Result<(usize, usize)> {
    let instances = (series / 16).max(1);
    let mut rng = Lcg(42);
    let (mut n_series, mut n_samples) = (0usize, 0usize);
    let job = |i: i64| format!("job{}", i % 10);
    out.family("bench_requests", "counter")?;
    for i in 0..instances {
        let (job, inst) = (job(i), format!("i{i}"));
        for code in ["200", "500"] {
            n_series += 1;
            let mut v = 0.0;
            for k in 0..points {
                v += (rng.next_f() * 10.0).floor();
                // An occasional counter reset.
                if k == points / 2 && i % 7 == 0 {
                    v = 0.0;
                }
                let labels = [("job", job.as_str()), ("instance", &inst), ("code", code)];
                let t = start_s + k * STEP_S;
                out.sample("bench_requests_total", &labels, &format!("{v}"), t)?;
                n_samples += 1;
            }
        }
    }
    out.family("bench_temperature_celsius", "gauge")?;
    for i in 0..instances {
        let (job, inst) = (job(i), format!("i{i}"));
        n_series += 1;
        let mut v = 20.0 + (i % 13) as f64;
        for k in 0..points {
            v += rng.next_f() - 0.5;
            let labels = [("job", job.as_str()), ("instance", &inst)];
            let t = start_s + k * STEP_S;
            out.sample("bench_temperature_celsius", &labels, &format!("{v:.3}"), t)?;
            n_samples += 1;
        }
    }
    out.family("bench_instance_info", "gauge")?;
    for i in 0..instances {
        let (job, inst, team) = (job(i), format!("i{i}"), format!("t{}", i % 5));
        n_series += 1;
        for k in 0..points {
            let labels = [("job", job.as_str()), ("instance", &inst), ("team", &team)];
            out.sample("bench_instance_info", &labels, "1", start_s + k * STEP_S)?;
            n_samples += 1;
        }
    }
    out.family("bench_latency_seconds", "histogram")?;
    let bounds: Vec<f64> = BUCKETS
        .iter()
        .map(|le| le.parse::<f64>().unwrap_or(f64::INFINITY))
        .collect();
    for i in 0..instances {
        let (job, inst) = (job(i), format!("i{i}"));
        n_series += BUCKETS.len() + 2;
        let mut counts = [0.0f64; 10];
        let mut sum = 0.0;
        for k in 0..points {
            let t = start_s + k * STEP_S;
            let n = (rng.next_f() * 20.0).floor() as usize;
            for _ in 0..n {
                let x = rng.next_f() * rng.next_f() * 3.0;
                sum += x;
                for (b, &le) in bounds.iter().enumerate() {
                    if x <= le {
                        counts[b] += 1.0;
                    }
                }
            }
            for (b, le) in BUCKETS.iter().enumerate() {
                let labels = [("job", job.as_str()), ("instance", &inst), ("le", le)];
                let v = format!("{}", counts[b]);
                out.sample("bench_latency_seconds_bucket", &labels, &v, t)?;
            }
            let labels = [("job", job.as_str()), ("instance", &inst)];
            let count = format!("{}", counts[9]);
            out.sample("bench_latency_seconds_count", &labels, &count, t)?;
            let sum_text = format!("{sum:.6}");
            out.sample("bench_latency_seconds_sum", &labels, &sum_text, t)?;
            n_samples += BUCKETS.len() + 2;
        }
    }
    Ok((n_series, n_samples))
}

/// The query range for data starting at `start_s` (samples one second past the minute grid):
/// an hour in, so range functions see full windows, and at half past the minute, so a
/// subquery's (whole-minute) inner steps never sit on its range's edge either.
pub fn query_range(start_s: i64, end_s: i64) -> (i64, i64) {
    (start_s - 1 + 3600 + 30, (end_s - 1) / 60 * 60 - 30)
}
