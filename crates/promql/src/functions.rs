//! Function implementations, in a table keyed by name (the parser's signatures live in
//! `signatures.rs`; a test checks both tables list the same functions).

use crate::sort::SortDyn;
use std::sync::Arc;

use lookout_tsdb::{Labels, METRIC_NAME, MatchOp};

use crate::ast::{Call, Expr, Span, ValueType, format_go_float};
use crate::engine::{Ev, RangeArg, RangeMode, Smp, StepSeries, Val, drop_metric_name};
use crate::error::Error;

/// Everything a range function sees for one series at one step.
pub(crate) struct RangeCtx {
    /// The window is `(start, end]`.
    pub start: i64,
    pub end: i64,
    /// The step's evaluation time.
    pub ts: i64,
    /// The selector's range in milliseconds.
    pub range: i64,
    /// Scalar parameters at this step, in argument order.
    pub params: [f64; 2],
}

type RangeFn = fn(&[(i64, f64)], &RangeCtx) -> Option<f64>;

pub(crate) enum Imp {
    /// A float-to-float function applied to every sample of an instant vector.
    Math(fn(f64) -> f64),
    /// A function of one window of a range vector; the range vector is the argument of type
    /// matrix, the others are scalars passed in `params`.
    Range(RangeFn),
    /// Anything else.
    Custom(fn(&mut Ev, &Call) -> Result<Val, Error>),
}

pub(crate) struct FnImpl {
    pub name: &'static str,
    pub imp: Imp,
    /// Whether the metric name survives (`last_over_time`, `sort`, ...); others drop it.
    pub keeps_name: bool,
}

const fn math(name: &'static str, f: fn(f64) -> f64) -> FnImpl {
    FnImpl {
        name,
        imp: Imp::Math(f),
        keeps_name: false,
    }
}
const fn range(name: &'static str, f: RangeFn) -> FnImpl {
    FnImpl {
        name,
        imp: Imp::Range(f),
        keeps_name: false,
    }
}
const fn custom(name: &'static str, f: fn(&mut Ev, &Call) -> Result<Val, Error>) -> FnImpl {
    FnImpl {
        name,
        imp: Imp::Custom(f),
        keeps_name: false,
    }
}

pub(crate) static IMPLS: &[FnImpl] = &[
    math("abs", f64::abs),
    custom("absent", absent),
    custom("absent_over_time", absent_over_time),
    math("acos", f64::acos),
    math("acosh", f64::acosh),
    math("asin", f64::asin),
    math("asinh", f64::asinh),
    math("atan", f64::atan),
    math("atanh", f64::atanh),
    range("avg_over_time", avg_over_time),
    math("ceil", f64::ceil),
    custom("changes", changes_like),
    custom("clamp", clamp),
    custom("clamp_max", clamp_max),
    custom("clamp_min", clamp_min),
    math("cos", f64::cos),
    math("cosh", f64::cosh),
    range("count_over_time", |w, _| Some(w.len() as f64)),
    custom("days_in_month", days_in_month),
    custom("day_of_month", day_of_month),
    custom("day_of_week", day_of_week),
    custom("day_of_year", day_of_year),
    math("deg", |v| v * 180.0 / std::f64::consts::PI),
    custom("delta", delta),
    range("deriv", deriv),
    custom("double_exponential_smoothing", double_exponential_smoothing),
    math("exp", f64::exp),
    FnImpl {
        name: "first_over_time",
        imp: Imp::Range(|w, _| w.first().map(|p| p.1)),
        keeps_name: true,
    },
    math("floor", f64::floor),
    custom("end", |ev, _| {
        Ok(Val::Scalar(vec![ev.query.end as f64 / 1000.0; ev.n]))
    }),
    custom("histogram_avg", histogram_only),
    custom("histogram_count", histogram_only),
    custom("histogram_fraction", histogram_fraction),
    custom("histogram_quantile", histogram_quantile),
    custom("histogram_quantiles", histogram_quantiles),
    custom("histogram_stddev", histogram_only),
    custom("histogram_stdvar", histogram_only),
    custom("histogram_sum", histogram_only),
    custom("hour", hour),
    range("idelta", |w, _| instant_value(w, false)),
    custom("increase", rate_like),
    FnImpl {
        name: "info",
        imp: Imp::Custom(info),
        keeps_name: true,
    },
    range("irate", |w, _| instant_value(w, true)),
    FnImpl {
        name: "label_join",
        imp: Imp::Custom(label_join),
        keeps_name: true,
    },
    FnImpl {
        name: "label_replace",
        imp: Imp::Custom(label_replace),
        keeps_name: true,
    },
    FnImpl {
        name: "last_over_time",
        imp: Imp::Range(|w, _| w.last().map(|p| p.1)),
        keeps_name: true,
    },
    math("ln", f64::ln),
    math("log10", f64::log10),
    math("log2", f64::log2),
    range("mad_over_time", mad_over_time),
    range("max_over_time", |w, _| {
        compare_over_time(w, |c, m| c > m || m.is_nan(), false)
    }),
    range("min_over_time", |w, _| {
        compare_over_time(w, |c, m| c < m || m.is_nan(), false)
    }),
    custom("max_of", |ev, c| scalar2(ev, c, go_max)),
    custom("min_of", |ev, c| scalar2(ev, c, go_min)),
    custom("minute", minute),
    custom("month", month),
    custom("pi", |ev, _| {
        Ok(Val::Scalar(vec![std::f64::consts::PI; ev.n]))
    }),
    range("predict_linear", predict_linear),
    range("present_over_time", |_, _| Some(1.0)),
    custom("quantile_over_time", quantile_over_time),
    math("rad", |v| v * std::f64::consts::PI / 180.0),
    custom("range", |ev, _| {
        Ok(Val::Scalar(vec![
            (ev.query.end - ev.query.start) as f64
                / 1000.0;
            ev.n
        ]))
    }),
    custom("rate", rate_like),
    custom("resets", changes_like),
    custom("round", round),
    custom("scalar", scalar),
    math("sgn", sgn),
    math("sin", f64::sin),
    math("sinh", f64::sinh),
    FnImpl {
        name: "sort",
        imp: Imp::Custom(sort),
        keeps_name: true,
    },
    FnImpl {
        name: "sort_by_label",
        imp: Imp::Custom(sort_by_label),
        keeps_name: true,
    },
    FnImpl {
        name: "sort_by_label_desc",
        imp: Imp::Custom(sort_by_label),
        keeps_name: true,
    },
    FnImpl {
        name: "sort_desc",
        imp: Imp::Custom(sort),
        keeps_name: true,
    },
    math("sqrt", f64::sqrt),
    custom("start", |ev, _| {
        Ok(Val::Scalar(vec![ev.query.start as f64 / 1000.0; ev.n]))
    }),
    custom("step", |ev, _| {
        Ok(Val::Scalar(vec![
            if ev.is_range_query {
                ev.query.step as f64 / 1000.0
            } else {
                0.0
            };
            ev.n
        ]))
    }),
    range("stddev_over_time", |w, _| Some(variance(w).sqrt())),
    range("stdvar_over_time", |w, _| Some(variance(w))),
    range("sum_over_time", sum_over_time),
    math("tan", f64::tan),
    math("tanh", f64::tanh),
    custom("time", |ev, _| {
        Ok(Val::Scalar(
            (0..ev.n).map(|i| ev.ts(i) as f64 / 1000.0).collect(),
        ))
    }),
    custom("timestamp", timestamp),
    range("ts_of_first_over_time", |w, _| {
        w.first().map(|p| p.0 as f64 / 1000.0)
    }),
    range("ts_of_last_over_time", |w, _| {
        w.last().map(|p| p.0 as f64 / 1000.0)
    }),
    range("ts_of_max_over_time", |w, _| {
        compare_over_time(w, |c, m| c >= m || m.is_nan(), true)
    }),
    range("ts_of_min_over_time", |w, _| {
        compare_over_time(w, |c, m| c <= m || m.is_nan(), true)
    }),
    custom("vector", vector),
    custom("year", year),
];

pub(crate) fn lookup(name: &str) -> Option<&'static FnImpl> {
    IMPLS.iter().find(|f| f.name == name)
}

/// Evaluates a function call.
pub(crate) fn call(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    check_range_modifiers(c)?;
    // The parser checks arity; a tree built by hand is checked here so no index can panic.
    let need = if c.func.variadic == 0 {
        c.func.arg_types.len()
    } else {
        c.func.arg_types.len().saturating_sub(1)
    };
    if c.args.len() < need {
        return Err(Error::exec(format!(
            "expected at least {need} argument(s) in call to {:?}, got {}",
            c.func.name,
            c.args.len()
        )));
    }
    let Some(f) = lookup(c.func.name) else {
        return Err(Error::exec(format!(
            "function {:?} is not implemented",
            c.func.name
        )));
    };
    match f.imp {
        Imp::Math(m) => match ev.eval(&c.args[0])? {
            Val::Series(mut ss) => {
                for s in &mut ss {
                    s.points.iter_mut().for_each(|p| p.1 = m(p.1));
                    s.drop_name = true;
                }
                Ok(Val::Series(ss))
            }
            Val::Vector(mut v) => {
                for step in &mut v {
                    for s in step {
                        s.v = m(s.v);
                        s.drop_name = true;
                    }
                }
                Ok(Val::Vector(v))
            }
            _ => Err(Error::exec("expected instant vector")),
        },
        Imp::Range(r) => range_call(ev, c, r, f.keeps_name),
        Imp::Custom(g) => g(ev, c),
    }
}

/// Evaluates a range function over its matrix argument for every step.
fn range_call(ev: &mut Ev, c: &Call, f: RangeFn, keeps_name: bool) -> Result<Val, Error> {
    let mut arg = None;
    let mut params: Vec<Vec<f64>> = Vec::new();
    for a in &c.args {
        if a.value_type() == ValueType::Matrix {
            arg = Some(ev.eval_range_arg(a)?);
        } else {
            params.push(ev.eval_scalar(a)?);
        }
    }
    let Some(arg) = arg else {
        return Err(Error::exec("missing range vector argument"));
    };
    Ok(Val::Series(apply_range(ev, &arg, &params, keeps_name, f)))
}

pub(crate) fn apply_range(
    ev: &Ev,
    arg: &RangeArg,
    params: &[Vec<f64>],
    keeps_name: bool,
    f: RangeFn,
) -> Vec<StepSeries> {
    let mut out = Vec::with_capacity(arg.series.len());
    for s in &arg.series {
        let (mut lo, mut hi) = (0, 0);
        let pts = &s.points;
        let mut points = Vec::with_capacity(ev.n);
        for i in 0..ev.n {
            let ts = ev.ts(i);
            let end = arg.window_end(ts);
            let start = end - arg.range;
            while hi < pts.len() && pts[hi].0 <= end {
                hi += 1;
            }
            while lo < hi && pts[lo].0 <= start {
                lo += 1;
            }
            if lo >= hi {
                continue;
            }
            let p = |k: usize| {
                params
                    .get(k)
                    .and_then(|v| v.get(i))
                    .copied()
                    .unwrap_or(f64::NAN)
            };
            let ctx = RangeCtx {
                start,
                end,
                ts,
                range: arg.range,
                params: [p(0), p(1)],
            };
            if let Some(v) = f(&pts[lo..hi], &ctx) {
                points.push((i as u32, v));
            }
        }
        if !points.is_empty() {
            out.push(StepSeries {
                labels: s.labels.clone(),
                drop_name: if keeps_name { s.drop_name } else { true },
                points,
            });
        }
    }
    out
}

/// Which steps have at least one sample in a series-major vector.
fn steps_present(n: usize, ss: &[StepSeries]) -> Vec<bool> {
    let mut present = vec![false; n];
    for s in ss {
        for (i, _) in &s.points {
            present[*i as usize] = true;
        }
    }
    present
}

/// Go's `math.Max`/`math.Min`: NaN wins.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.max(b)
    }
}
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else {
        a.min(b)
    }
}

/// Neumaier-compensated summation step, as Prometheus's `kahanSumInc`.
pub(crate) fn kahan_inc(inc: f64, sum: f64, c: f64) -> (f64, f64) {
    let t = sum + inc;
    let c = if t.is_infinite() {
        0.0
    } else if sum.abs() >= inc.abs() {
        c + ((sum - t) + inc)
    } else {
        c + ((inc - t) + sum)
    };
    (t, c)
}

// === min_of(a scalar, b scalar), max_of(a scalar, b scalar) ===

fn scalar2(ev: &mut Ev, c: &Call, f: fn(f64, f64) -> f64) -> Result<Val, Error> {
    let a = ev.eval_scalar(&c.args[0])?;
    let b = ev.eval_scalar(&c.args[1])?;
    Ok(Val::Scalar(
        a.iter().zip(&b).map(|(x, y)| f(*x, *y)).collect(),
    ))
}

// === anchored and smoothed range selectors (rate, increase, delta, changes, resets) ===

/// Refuses `anchored`/`smoothed` selectors in functions that do not define them.
fn check_range_modifiers(c: &Call) -> Result<(), Error> {
    for a in &c.args {
        let mut e = a;
        while let Expr::Paren(p) = e {
            e = &p.expr;
        }
        let Expr::Matrix(m) = e else { continue };
        let (which, allowed): (&str, &[&str]) = if m.selector.smoothed {
            ("smoothed", &["delta", "increase", "rate"])
        } else if m.selector.anchored {
            (
                "anchored",
                &["changes", "delta", "increase", "rate", "resets"],
            )
        } else {
            continue;
        };
        if !allowed.contains(&c.func.name) {
            return Err(Error::exec(format!(
                "{which} modifier can only be used with: {} - not with {}",
                allowed.join(", "),
                c.func.name
            )));
        }
    }
    Ok(())
}

/// The value sequence a function sees for one extended window `(start, end]`: for `anchored`
/// the last sample at or before the start (within the lookback) followed by the samples inside;
/// for `smoothed` the values interpolated at both edges around the samples strictly inside
/// (a counter's interpolation across a reset starts the new segment from zero).
fn extended_seq(
    pts: &[(i64, f64)],
    start: i64,
    end: i64,
    lookback: i64,
    mode: RangeMode,
    counter: bool,
) -> Option<Vec<f64>> {
    let first_after = pts.partition_point(|p| p.0 <= start);
    let first_beyond = pts.partition_point(|p| p.0 <= end);
    match mode {
        RangeMode::Anchored => {
            if first_after >= first_beyond {
                return None;
            }
            let mut seq = Vec::with_capacity(first_beyond - first_after + 1);
            if first_after > 0 {
                let (t, v) = pts[first_after - 1];
                if t > start - lookback {
                    seq.push(v);
                }
            }
            seq.extend(pts[first_after..first_beyond].iter().map(|p| p.1));
            Some(seq)
        }
        RangeMode::Smoothed => {
            // Data only before or only after the window gives nothing.
            if first_after >= pts.len() || first_beyond == 0 {
                return None;
            }
            let at = |t: i64| -> f64 {
                let k = pts.partition_point(|p| p.0 <= t);
                match (k.checked_sub(1).map(|i| pts[i]), pts.get(k)) {
                    (Some((pt, pv)), _) if pt == t => pv,
                    (Some((pt, pv)), Some(&(nt, nv))) => {
                        let frac = (t - pt) as f64 / (nt - pt) as f64;
                        if counter && nv < pv {
                            nv * frac
                        } else {
                            pv + (nv - pv) * frac
                        }
                    }
                    (Some((_, pv)), None) => pv,
                    (None, Some(&(_, nv))) => nv,
                    (None, None) => f64::NAN,
                }
            };
            let inner_end = pts.partition_point(|p| p.0 < end);
            let mut seq = Vec::with_capacity(inner_end.saturating_sub(first_after) + 2);
            seq.push(at(start));
            if counter {
                seq.extend(
                    pts[first_after..inner_end.max(first_after)]
                        .iter()
                        .map(|p| p.1),
                );
            }
            seq.push(at(end));
            Some(seq)
        }
        RangeMode::Normal => Some(pts[first_after..first_beyond].iter().map(|p| p.1).collect()),
    }
}

/// Counter increase over a value sequence: a drop is a reset, after which the new value counts.
fn counter_increase(seq: &[f64]) -> f64 {
    seq.windows(2)
        .map(|w| if w[1] < w[0] { w[1] } else { w[1] - w[0] })
        .sum()
}

fn extended_apply(
    ev: &Ev,
    arg: &RangeArg,
    counter: bool,
    f: &dyn Fn(&[f64], f64) -> f64,
) -> Vec<StepSeries> {
    let mut out = Vec::with_capacity(arg.series.len());
    for s in &arg.series {
        let mut points = Vec::with_capacity(ev.n);
        for i in 0..ev.n {
            let end = arg.window_end(ev.ts(i));
            let start = end - arg.range;
            if let Some(seq) = extended_seq(&s.points, start, end, arg.lookback, arg.mode, counter)
            {
                points.push((i as u32, f(&seq, arg.range as f64 / 1000.0)));
            }
        }
        if !points.is_empty() {
            out.push(StepSeries {
                labels: s.labels.clone(),
                drop_name: true,
                points,
            });
        }
    }
    out
}

// === delta(v range-vector) ===

fn delta(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let arg = ev.eval_range_arg(&c.args[0])?;
    if arg.mode != RangeMode::Normal {
        return Ok(Val::Series(extended_apply(ev, &arg, false, &|seq, _| {
            seq[seq.len() - 1] - seq[0]
        })));
    }
    Ok(Val::Series(apply_range(ev, &arg, &[], false, |w, c| {
        extrapolated_rate(w, c, false, false)
    })))
}

// === changes(v range-vector), resets(v range-vector) ===

fn changes_like(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let arg = ev.eval_range_arg(&c.args[0])?;
    let is_changes = c.func.name == "changes";
    if arg.mode != RangeMode::Normal {
        let f: &dyn Fn(&[f64], f64) -> f64 = if is_changes {
            &|seq, _| {
                seq.windows(2)
                    .filter(|w| w[0] != w[1] && !(w[0].is_nan() && w[1].is_nan()))
                    .count() as f64
            }
        } else {
            &|seq, _| seq.windows(2).filter(|w| w[1] < w[0]).count() as f64
        };
        return Ok(Val::Series(extended_apply(ev, &arg, false, f)));
    }
    Ok(Val::Series(apply_range(
        ev,
        &arg,
        &[],
        false,
        if is_changes { changes } else { resets },
    )))
}

// === rate(v range-vector), increase(v range-vector), delta(v range-vector) ===

fn rate_like(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let arg = ev.eval_range_arg(&c.args[0])?;
    let is_rate = c.func.name == "rate";
    let out = if arg.mode == RangeMode::Normal {
        counter_rate(ev, &arg, is_rate)
    } else {
        extended_apply(ev, &arg, true, &|seq, range_s| {
            let inc = counter_increase(seq);
            if is_rate { inc / range_s } else { inc }
        })
    };
    // Prometheus hints when a counter function reads something that is not named like a counter.
    let span = c.args[0].span();
    for s in &arg.series {
        if let Some(name) = s.labels.metric_name()
            && !["_total", "_sum", "_count", "_bucket"]
                .iter()
                .any(|suf| name.ends_with(suf))
            && !out.is_empty()
        {
            ev.info(span, format!("metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {name:?}"));
        }
    }
    Ok(Val::Series(out))
}

fn extrapolated_rate(
    w: &[(i64, f64)],
    c: &RangeCtx,
    is_counter: bool,
    is_rate: bool,
) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let mut result = w[w.len() - 1].1 - w[0].1;
    if is_counter {
        result += reset_correction(w);
    }
    Some(extrapolate(w, result, c, is_counter, is_rate))
}

/// What counter resets add to `last - first`: each value before a drop, in order.
fn reset_correction(w: &[(i64, f64)]) -> f64 {
    let mut add = 0.0;
    let mut prev = w[0].1;
    for &(_, v) in &w[1..] {
        if v < prev {
            add += prev;
        }
        prev = v;
    }
    add
}

/// Prometheus's extrapolation of a delta over the samples `w` to the window's edges.
fn extrapolate(
    w: &[(i64, f64)],
    result: f64,
    c: &RangeCtx,
    is_counter: bool,
    is_rate: bool,
) -> f64 {
    let (first_t, first_v) = w[0];
    let last_t = w[w.len() - 1].0;
    let mut to_start = (first_t - c.start) as f64 / 1000.0;
    let mut to_end = (c.end - last_t) as f64 / 1000.0;
    let sampled = (last_t - first_t) as f64 / 1000.0;
    let avg_between = sampled / (w.len() - 1) as f64;
    let threshold = avg_between * 1.1;
    let mut interval = sampled;
    if to_start >= threshold {
        to_start = avg_between / 2.0;
    }
    if is_counter && result > 0.0 && first_v >= 0.0 {
        // A counter cannot go below zero: do not extrapolate past the point where it would.
        let to_zero = sampled * (first_v / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    interval += to_start;
    if to_end >= threshold {
        to_end = avg_between / 2.0;
    }
    interval += to_end;
    let mut factor = interval / sampled;
    if is_rate {
        factor /= c.range as f64 / 1000.0;
    }
    result * factor
}

/// `rate`/`increase` for every series and step. A prefix count of resets lets a window without
/// any skip the per-sample scan (the sum is then exactly `last - first`, as in Prometheus).
fn counter_rate(ev: &Ev, arg: &RangeArg, is_rate: bool) -> Vec<StepSeries> {
    let mut out = Vec::with_capacity(arg.series.len());
    let mut resets: Vec<u32> = Vec::new();
    for s in &arg.series {
        let pts = &s.points;
        resets.clear();
        let mut count = 0;
        for (k, p) in pts.iter().enumerate() {
            if k > 0 && p.1 < pts[k - 1].1 {
                count += 1;
            }
            resets.push(count);
        }
        let (mut lo, mut hi) = (0, 0);
        let mut points = Vec::with_capacity(ev.n);
        for i in 0..ev.n {
            let ts = ev.ts(i);
            let end = arg.window_end(ts);
            let start = end - arg.range;
            while hi < pts.len() && pts[hi].0 <= end {
                hi += 1;
            }
            while lo < hi && pts[lo].0 <= start {
                lo += 1;
            }
            if hi < lo + 2 {
                continue;
            }
            let w = &pts[lo..hi];
            let mut result = w[w.len() - 1].1 - w[0].1;
            if resets[hi - 1] != resets[lo] {
                result += reset_correction(w);
            }
            let ctx = RangeCtx {
                start,
                end,
                ts,
                range: arg.range,
                params: [f64::NAN; 2],
            };
            points.push((i as u32, extrapolate(w, result, &ctx, true, is_rate)));
        }
        if !points.is_empty() {
            out.push(StepSeries {
                labels: s.labels.clone(),
                drop_name: true,
                points,
            });
        }
    }
    out
}

// === irate(v range-vector), idelta(v range-vector) ===

fn instant_value(w: &[(i64, f64)], is_rate: bool) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (pt, pv) = w[w.len() - 2];
    let (lt, lv) = w[w.len() - 1];
    let mut r = lv - pv;
    if is_rate && lv < pv {
        r = lv;
    }
    let dt = lt - pt;
    if dt == 0 {
        return None;
    }
    if is_rate {
        r /= dt as f64 / 1000.0;
    }
    Some(r)
}

// === deriv(v range-vector), predict_linear(v range-vector, t scalar) ===

fn linear_regression(w: &[(i64, f64)], intercept_t: i64) -> (f64, f64) {
    let (mut n, mut sx, mut cx, mut sy, mut cy, mut sxy, mut cxy, mut sx2, mut cx2) =
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    let init_y = w[0].1;
    let mut const_y = true;
    for (i, &(t, v)) in w.iter().enumerate() {
        if const_y && i > 0 && v != init_y {
            const_y = false;
        }
        n += 1.0;
        let x = (t - intercept_t) as f64 / 1e3;
        (sx, cx) = kahan_inc(x, sx, cx);
        (sy, cy) = kahan_inc(v, sy, cy);
        (sxy, cxy) = kahan_inc(x * v, sxy, cxy);
        (sx2, cx2) = kahan_inc(x * x, sx2, cx2);
    }
    if const_y {
        if init_y.is_infinite() {
            return (f64::NAN, f64::NAN);
        }
        return (0.0, init_y);
    }
    sx += cx;
    sy += cy;
    sxy += cxy;
    sx2 += cx2;
    let cov = sxy - sx * sy / n;
    let var = sx2 - sx * sx / n;
    let slope = cov / var;
    (slope, sy / n - slope * sx / n)
}

fn deriv(w: &[(i64, f64)], _: &RangeCtx) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    Some(linear_regression(w, w[0].0).0)
}

fn predict_linear(w: &[(i64, f64)], c: &RangeCtx) -> Option<f64> {
    if w.len() < 2 {
        return None;
    }
    let (slope, intercept) = linear_regression(w, c.ts);
    Some(intercept + slope * c.params[0])
}

// === changes(v range-vector), resets(v range-vector) ===

fn changes(w: &[(i64, f64)], _: &RangeCtx) -> Option<f64> {
    let mut n = 0;
    for p in w.windows(2) {
        let (a, b) = (p[0].1, p[1].1);
        if a != b && !(a.is_nan() && b.is_nan()) {
            n += 1;
        }
    }
    Some(n as f64)
}

fn resets(w: &[(i64, f64)], _: &RangeCtx) -> Option<f64> {
    Some(w.windows(2).filter(|p| p[1].1 < p[0].1).count() as f64)
}

// === avg_over_time(v range-vector) ===

fn avg_over_time(w: &[(i64, f64)], _: &RangeCtx) -> Option<f64> {
    let (mut sum, mut count, mut mean, mut c) = (w[0].1, 1.0f64, 0.0f64, 0.0f64);
    let mut incremental = false;
    for (i, &(_, v)) in w.iter().enumerate().skip(1) {
        count = (i + 1) as f64;
        if !incremental {
            let (ns, nc) = kahan_inc(v, sum, c);
            if !ns.is_infinite() {
                sum = ns;
                c = nc;
                continue;
            }
            incremental = true;
            mean = sum / (count - 1.0);
            c /= count - 1.0;
        }
        let q = (count - 1.0) / count;
        (mean, c) = kahan_inc(v / count, q * mean, q * c);
    }
    Some(if incremental {
        mean + c
    } else {
        sum / count + c / count
    })
}

// === sum_over_time(v range-vector) ===

fn sum_over_time(w: &[(i64, f64)], _: &RangeCtx) -> Option<f64> {
    let (mut s, mut c) = (0.0, 0.0);
    for &(_, v) in w {
        (s, c) = kahan_inc(v, s, c);
    }
    Some(if s.is_infinite() { s } else { s + c })
}

// === max_over_time, min_over_time, ts_of_max_over_time, ts_of_min_over_time ===

fn compare_over_time(w: &[(i64, f64)], better: fn(f64, f64) -> bool, ts: bool) -> Option<f64> {
    let (mut bt, mut bv) = w[0];
    for &(t, v) in w {
        if better(v, bv) {
            bv = v;
            bt = t;
        }
    }
    Some(if ts { bt as f64 / 1000.0 } else { bv })
}

// === stddev_over_time(v range-vector), stdvar_over_time(v range-vector) ===

fn variance(w: &[(i64, f64)]) -> f64 {
    let (mut count, mut mean, mut cmean, mut aux, mut caux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(_, v) in w {
        count += 1.0;
        let delta = v - (mean + cmean);
        (mean, cmean) = kahan_inc(delta / count, mean, cmean);
        (aux, caux) = kahan_inc(delta * (v - (mean + cmean)), aux, caux);
    }
    (aux + caux) / count
}

// === quantile_over_time(s scalar, v range-vector) ===

/// Prometheus's `quantile`: NaN for NaN q, +-Inf outside [0, 1], linear interpolation.
pub(crate) fn quantile(q: f64, values: &[f64]) -> f64 {
    if values.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    let n = values.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0);
    let upper = (lower + 1.0).min(n - 1.0);
    let weight = rank - rank.floor();
    // Only the two order statistics either side of the rank are needed: select them (linear)
    // rather than sort the window. Over integer keys in the values' order (NaN first, as in
    // Prometheus), so the page shares the one integer selection it already has.
    let mut keys: Vec<i64> = values.iter().map(|v| order_key(*v)).collect();
    let (_, &mut low, above) = keys.select_nth_unstable(lower as usize);
    let high = match above.iter().min() {
        Some(&h) if upper > lower => h,
        _ => low,
    };
    let (low, high) = (from_order_key(low), from_order_key(high));
    low * (1.0 - weight) + high * weight
}

/// An integer that orders as `v` does among floats, with every NaN first (below -inf).
fn order_key(v: f64) -> i64 {
    if v.is_nan() {
        return i64::MIN;
    }
    // Sign-magnitude to two's complement: negative floats count down from -0.
    let bits = v.to_bits() as i64;
    if bits < 0 { bits ^ i64::MAX } else { bits }
}

fn from_order_key(k: i64) -> f64 {
    if k == i64::MIN {
        return f64::NAN;
    }
    f64::from_bits((if k < 0 { k ^ i64::MAX } else { k }) as u64)
}

pub(crate) fn quantile_warning(ev: &mut Ev, q: f64, span: Span) {
    if q.is_nan() || !(0.0..=1.0).contains(&q) {
        ev.warn(
            span,
            format!(
                "quantile value should be between 0 and 1, got {}",
                format_go_float(q)
            ),
        );
    }
}

fn quantile_over_time(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let q = ev.eval_scalar(&c.args[0])?;
    let arg = ev.eval_range_arg(&c.args[1])?;
    let out = apply_range(ev, &arg, std::slice::from_ref(&q), false, |w, c| {
        let mut vals: Vec<f64> = w.iter().map(|p| p.1).collect();
        Some(quantile(c.params[0], &mut vals))
    });
    for (i, present) in steps_present(ev.n, &out).into_iter().enumerate() {
        if present {
            quantile_warning(ev, q[i], c.args[0].span());
        }
    }
    Ok(Val::Series(out))
}

// === mad_over_time(v range-vector) ===

fn mad_over_time(w: &[(i64, f64)], _: &RangeCtx) -> Option<f64> {
    if w.iter().any(|p| p.1.is_nan()) {
        return Some(f64::NAN);
    }
    let mut vals: Vec<f64> = w.iter().map(|p| p.1).collect();
    let median = quantile(0.5, &mut vals);
    let mut dev: Vec<f64> = w.iter().map(|p| (p.1 - median).abs()).collect();
    Some(quantile(0.5, &mut dev))
}

// === double_exponential_smoothing(v range-vector, sf scalar, tf scalar) ===

fn double_exponential_smoothing(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let arg = ev.eval_range_arg(&c.args[0])?;
    let sf = ev.eval_scalar(&c.args[1])?;
    let tf = ev.eval_scalar(&c.args[2])?;
    for i in 0..ev.n {
        if !(sf[i] > 0.0 && sf[i] < 1.0) {
            return Err(Error::exec(format!(
                "invalid smoothing factor. Expected: 0 < sf < 1, got: {:.6}",
                sf[i]
            )));
        }
        if !(tf[i] > 0.0 && tf[i] < 1.0) {
            return Err(Error::exec(format!(
                "invalid trend factor. Expected: 0 < tf < 1, got: {:.6}",
                tf[i]
            )));
        }
    }
    Ok(Val::Series(apply_range(
        ev,
        &arg,
        &[sf, tf],
        false,
        |w, c| {
            if w.len() < 2 {
                return None;
            }
            let (sf, tf) = (c.params[0], c.params[1]);
            let (mut s0, mut s1, mut b) = (0.0, w[0].1, w[1].1 - w[0].1);
            for (i, &(_, v)) in w.iter().enumerate().skip(1) {
                let x = sf * v;
                if i > 1 {
                    b = tf * (s1 - s0) + (1.0 - tf) * b;
                }
                let y = (1.0 - sf) * (s1 + b);
                s0 = s1;
                s1 = x + y;
            }
            Some(s1)
        },
    )))
}

// === absent(v instant-vector), absent_over_time(v range-vector) ===

fn absent_labels(e: &Expr) -> Labels {
    let matchers = match e {
        Expr::Vector(v) => &v.matchers,
        Expr::Matrix(m) => &m.selector.matchers,
        _ => return Labels::default(),
    };
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for m in matchers {
        if m.name() == METRIC_NAME {
            continue;
        }
        if m.op() == MatchOp::Equal && !seen.contains(&m.name()) {
            pairs.push((m.name().to_string(), m.value().to_string()));
            seen.push(m.name());
        } else {
            pairs.retain(|(n, _)| n != m.name());
            seen.push(m.name());
        }
    }
    Labels::new(pairs)
}

fn absent(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let v = ev.eval_vector(&c.args[0])?;
    let labels = Arc::new(absent_labels(&c.args[0]));
    Ok(Val::Vector(
        v.into_iter()
            .map(|step| {
                if step.is_empty() {
                    vec![Smp {
                        labels: labels.clone(),
                        v: 1.0,
                        drop_name: false,
                    }]
                } else {
                    Vec::new()
                }
            })
            .collect(),
    ))
}

fn absent_over_time(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let arg = ev.eval_range_arg(&c.args[0])?;
    let present = steps_present(ev.n, &apply_range(ev, &arg, &[], false, |_, _| Some(1.0)));
    let labels = Arc::new(absent_labels(&c.args[0]));
    Ok(Val::Vector(
        present
            .into_iter()
            .map(|present| {
                if !present {
                    vec![Smp {
                        labels: labels.clone(),
                        v: 1.0,
                        drop_name: false,
                    }]
                } else {
                    Vec::new()
                }
            })
            .collect(),
    ))
}

// === clamp(v instant-vector, min scalar, max scalar), clamp_max, clamp_min ===

fn clamp(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let mut v = ev.eval_vector(&c.args[0])?;
    let lo = ev.eval_scalar(&c.args[1])?;
    let hi = ev.eval_scalar(&c.args[2])?;
    for (i, step) in v.iter_mut().enumerate() {
        if hi[i] < lo[i] {
            step.clear();
            continue;
        }
        for s in step {
            s.v = go_max(lo[i], go_min(hi[i], s.v));
            s.drop_name = true;
        }
    }
    Ok(Val::Vector(v))
}

fn clamp_one(ev: &mut Ev, c: &Call, f: fn(f64, f64) -> f64) -> Result<Val, Error> {
    let mut v = ev.eval_vector(&c.args[0])?;
    let b = ev.eval_scalar(&c.args[1])?;
    for (i, step) in v.iter_mut().enumerate() {
        for s in step {
            s.v = f(s.v, b[i]);
            s.drop_name = true;
        }
    }
    Ok(Val::Vector(v))
}

fn clamp_max(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    clamp_one(ev, c, go_min)
}

fn clamp_min(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    clamp_one(ev, c, go_max)
}

// === round(v instant-vector, to_nearest=1 scalar) ===

fn round(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let mut v = ev.eval_vector(&c.args[0])?;
    let to = match c.args.get(1) {
        Some(a) => ev.eval_scalar(a)?,
        None => vec![1.0; ev.n],
    };
    for (i, step) in v.iter_mut().enumerate() {
        let inv = 1.0 / to[i];
        for s in step {
            s.v = (s.v * inv + 0.5).floor() / inv;
            s.drop_name = true;
        }
    }
    Ok(Val::Vector(v))
}

fn sgn(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        v
    }
}

// === scalar(v instant-vector), vector(s scalar) ===

fn scalar(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let v = ev.eval_vector(&c.args[0])?;
    Ok(Val::Scalar(
        v.into_iter()
            .map(|s| if s.len() == 1 { s[0].v } else { f64::NAN })
            .collect(),
    ))
}

fn vector(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let s = ev.eval_scalar(&c.args[0])?;
    let labels = Arc::new(Labels::default());
    Ok(Val::Vector(
        s.into_iter()
            .map(|v| {
                vec![Smp {
                    labels: labels.clone(),
                    v,
                    drop_name: false,
                }]
            })
            .collect(),
    ))
}

// === timestamp(v instant-vector) ===

fn timestamp(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let mut arg = &c.args[0];
    while let Expr::Paren(p) = arg {
        arg = &p.expr;
    }
    let mut v = if let Expr::Vector(vs) = arg {
        let mut ss = ev.eval_selector(vs, true)?;
        for s in &mut ss {
            s.drop_name = true;
        }
        return Ok(Val::Series(ss));
    } else {
        let mut v = ev.eval_vector(arg)?;
        for (i, step) in v.iter_mut().enumerate() {
            let t = ev.ts(i) as f64 / 1000.0;
            for s in step {
                s.v = t;
            }
        }
        v
    };
    for step in &mut v {
        for s in step {
            s.drop_name = true;
        }
    }
    Ok(Val::Vector(v))
}

// === sort(v instant-vector), sort_desc(v instant-vector) ===

fn sort(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let mut v = ev.eval_vector(&c.args[0])?;
    if ev.is_range_query {
        ev.warn(
            c.span,
            "sort is ineffective for range queries since results are always ordered by labels"
                .into(),
        );
    }
    let desc = c.func.name == "sort_desc";
    for step in &mut v {
        // NaN sorts last in both directions, as in Prometheus.
        step.sort_by_dyn(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ => {
                let o = a.v.partial_cmp(&b.v).unwrap_or(std::cmp::Ordering::Equal);
                if desc { o.reverse() } else { o }
            }
        });
    }
    Ok(Val::Vector(v))
}

// === sort_by_label(v instant-vector, label string...), sort_by_label_desc(...) ===

/// Natural order: runs of digits compare as numbers.
fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (ab, bb) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    while i < ab.len() && j < bb.len() {
        if ab[i].is_ascii_digit() && bb[j].is_ascii_digit() {
            let si = i;
            while i < ab.len() && ab[i].is_ascii_digit() {
                i += 1;
            }
            let sj = j;
            while j < bb.len() && bb[j].is_ascii_digit() {
                j += 1;
            }
            let na = a[si..i].trim_start_matches('0');
            let nb = b[sj..j].trim_start_matches('0');
            let o = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
            if o != Ordering::Equal {
                return o;
            }
        } else {
            if ab[i] != bb[j] {
                return ab[i].cmp(&bb[j]);
            }
            i += 1;
            j += 1;
        }
    }
    (ab.len() - i).cmp(&(bb.len() - j))
}

fn sort_by_label(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let mut v = ev.eval_vector(&c.args[0])?;
    let mut names = Vec::new();
    for a in &c.args[1..] {
        names.push(ev.eval_string(a)?);
    }
    if ev.is_range_query {
        ev.warn(
            c.span,
            "sort is ineffective for range queries since results are always ordered by labels"
                .into(),
        );
    }
    let desc = c.func.name == "sort_by_label_desc";
    for step in &mut v {
        step.sort_by_dyn(|a, b| {
            for n in &names {
                let (x, y) = (a.labels.get(n).unwrap_or(""), b.labels.get(n).unwrap_or(""));
                if x == y {
                    continue;
                }
                let o = natural_cmp(x, y);
                return if desc { o.reverse() } else { o };
            }
            let o = a.labels.cmp(&b.labels);
            if desc { o.reverse() } else { o }
        });
    }
    Ok(Val::Vector(v))
}

// === label_replace(v instant-vector, dst string, replacement string, src string, regex string) ===

/// Prometheus 3 accepts any non-empty UTF-8 label name.
pub(crate) fn valid_label_name(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(|c| c as u32 >= crate::lexer::RAW_BYTE_BASE)
}

fn check_unique(v: &[Vec<Smp>]) -> Result<(), Error> {
    for step in v {
        let mut seen = std::collections::HashSet::with_capacity(step.len());
        for s in step {
            if !seen.insert(&*s.labels) {
                return Err(Error::exec(
                    "vector cannot contain metrics with the same labelset",
                ));
            }
        }
    }
    Ok(())
}

fn label_replace(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let dst = ev.eval_string(&c.args[1])?;
    let repl = ev.eval_string(&c.args[2])?;
    let src = ev.eval_string(&c.args[3])?;
    let re_src = ev.eval_string(&c.args[4])?;
    let re = lookout_tsdb::regex::Regex::new(&format!("^(?s:{re_src})$")).map_err(|_| {
        Error::exec(format!(
            "invalid regular expression in label_replace(): {re_src}"
        ))
    })?;
    if !valid_label_name(&dst) {
        return Err(Error::exec(format!(
            "invalid destination label name in label_replace(): {dst}"
        )));
    }
    let mut v = ev.eval_vector(&c.args[0])?;
    let mut cache: std::collections::HashMap<*const Labels, Option<Arc<Labels>>> =
        Default::default();
    for step in &mut v {
        for s in step.iter_mut() {
            let key = Arc::as_ptr(&s.labels);
            let new = cache
                .entry(key)
                .or_insert_with(|| {
                    let val = s.labels.get(&src).unwrap_or("");
                    let caps = re.captures(val)?;
                    let mut res = String::new();
                    caps.expand(&repl, &mut res);
                    let mut pairs: Vec<(&str, &str)> =
                        s.labels.iter().filter(|(n, _)| *n != dst).collect();
                    pairs.push((&dst, &res));
                    Some(Arc::new(Labels::new(pairs)))
                })
                .clone();
            if let Some(l) = new {
                s.labels = l;
                if dst == METRIC_NAME {
                    s.drop_name = false;
                }
            }
        }
    }
    check_unique(&v)?;
    Ok(Val::Vector(v))
}

// === label_join(v instant-vector, dst string, separator string, src string...) ===

fn label_join(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let dst = ev.eval_string(&c.args[1])?;
    let sep = ev.eval_string(&c.args[2])?;
    let mut srcs = Vec::new();
    for a in &c.args[3..] {
        srcs.push(ev.eval_string(a)?);
    }
    if !valid_label_name(&dst) {
        return Err(Error::exec(format!(
            "invalid destination label name in label_join(): {dst}"
        )));
    }
    let mut v = ev.eval_vector(&c.args[0])?;
    let mut cache: std::collections::HashMap<*const Labels, Arc<Labels>> = Default::default();
    for step in &mut v {
        for s in step.iter_mut() {
            let key = Arc::as_ptr(&s.labels);
            let new = cache
                .entry(key)
                .or_insert_with(|| {
                    let joined: Vec<&str> =
                        srcs.iter().map(|n| s.labels.get(n).unwrap_or("")).collect();
                    let joined = joined.join(&sep);
                    let mut pairs: Vec<(&str, &str)> =
                        s.labels.iter().filter(|(n, _)| *n != dst).collect();
                    pairs.push((&dst, &joined));
                    Arc::new(Labels::new(pairs))
                })
                .clone();
            s.labels = new;
            if dst == METRIC_NAME {
                s.drop_name = false;
            }
        }
    }
    check_unique(&v)?;
    Ok(Val::Vector(v))
}

// === year, month, day_of_month, day_of_week, day_of_year, days_in_month, hour, minute ===

/// (year, month 1-12, day 1-31) of days since the epoch (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn date_fn(ev: &mut Ev, c: &Call, f: fn(i64) -> f64) -> Result<Val, Error> {
    let mut v = match c.args.first() {
        Some(a) => ev.eval_vector(a)?,
        None => {
            let labels = Arc::new(Labels::default());
            (0..ev.n)
                .map(|i| {
                    vec![Smp {
                        labels: labels.clone(),
                        v: ev.ts(i) as f64 / 1000.0,
                        drop_name: false,
                    }]
                })
                .collect()
        }
    };
    for step in &mut v {
        step.retain_mut(|s| {
            if s.v.is_nan() || s.v.is_infinite() {
                return false;
            }
            // Go's time.Unix(int64(v), 0): the seconds are truncated toward zero.
            s.v = f(s.v.trunc() as i64);
            s.drop_name = true;
            true
        });
    }
    Ok(Val::Vector(v))
}

fn ymd(secs: i64) -> (i64, u32, u32) {
    civil_from_days(secs.div_euclid(86_400))
}

fn year(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    date_fn(ev, c, |s| ymd(s).0 as f64)
}
fn month(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    date_fn(ev, c, |s| ymd(s).1 as f64)
}
fn day_of_month(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    date_fn(ev, c, |s| ymd(s).2 as f64)
}
fn day_of_week(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    // 1970-01-01 was a Thursday (4).
    date_fn(ev, c, |s| (s.div_euclid(86_400) + 4).rem_euclid(7) as f64)
}
fn day_of_year(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    date_fn(ev, c, |s| {
        let (y, m, d) = ymd(s);
        ((1..m).map(|mm| days_in(y, mm)).sum::<u32>() + d) as f64
    })
}
fn days_in_month(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    date_fn(ev, c, |s| {
        let (y, m, _) = ymd(s);
        days_in(y, m) as f64
    })
}
fn hour(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    date_fn(ev, c, |s| (s.rem_euclid(86_400) / 3600) as f64)
}
fn minute(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    date_fn(ev, c, |s| (s.rem_euclid(3600) / 60) as f64)
}

// === histogram_count, histogram_sum, histogram_avg, histogram_stddev, histogram_stdvar ===

/// These read native histograms only; float samples are ignored, so over floats the result is
/// empty (native-histogram series are refused by the storage layer).
fn histogram_only(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let v = ev.eval_vector(&c.args[0])?;
    Ok(Val::Vector(v.into_iter().map(|_| Vec::new()).collect()))
}

// === histogram_quantile(q scalar, b instant-vector), histogram_quantiles(...) ===

#[derive(Clone, Copy)]
struct Bucket {
    upper: f64,
    count: f64,
}

const MIN_NORMAL: f64 = f64::MIN_POSITIVE;

/// Prometheus's `almost.Equal`.
pub(crate) fn almost_equal(a: f64, b: f64, eps: f64) -> bool {
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let abs_sum = a.abs() + b.abs();
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || abs_sum < MIN_NORMAL {
        return diff < eps * MIN_NORMAL;
    }
    diff / abs_sum.min(f64::MAX) < eps
}

fn sort_coalesce(buckets: &mut Vec<Bucket>) {
    buckets.sort_by_dyn(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut out: Vec<Bucket> = Vec::with_capacity(buckets.len());
    for b in buckets.iter() {
        match out.last_mut() {
            Some(l) if l.upper == b.upper => l.count += b.count,
            _ => out.push(*b),
        }
    }
    *buckets = out;
}

/// Returns (quantile, forced monotonicity).
fn bucket_quantile(q: f64, mut buckets: Vec<Bucket>) -> (f64, bool) {
    if q.is_nan() {
        return (f64::NAN, false);
    }
    if q < 0.0 {
        return (f64::NEG_INFINITY, false);
    }
    if q > 1.0 {
        return (f64::INFINITY, false);
    }
    buckets.sort_by_dyn(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    match buckets.last() {
        Some(b) if b.upper == f64::INFINITY => {}
        _ => return (f64::NAN, false),
    }
    sort_coalesce(&mut buckets);
    let mut forced = false;
    let mut prev = buckets[0].count;
    for b in buckets.iter_mut().skip(1) {
        let curr = b.count;
        if curr == prev {
            continue;
        }
        if almost_equal(prev, curr, 1e-12) {
            b.count = prev;
            continue;
        }
        if curr < prev {
            b.count = prev;
            forced = true;
            continue;
        }
        prev = curr;
    }
    if buckets.len() < 2 {
        return (f64::NAN, false);
    }
    let observations = buckets[buckets.len() - 1].count;
    if observations == 0.0 {
        return (f64::NAN, false);
    }
    let mut rank = q * observations;
    let n = buckets.len() - 1;
    let b = buckets[..n].partition_point(|x| x.count < rank);
    if b == n {
        return (buckets[n - 1].upper, forced);
    }
    if b == 0 && buckets[0].upper <= 0.0 {
        return (buckets[0].upper, forced);
    }
    let mut start = 0.0;
    let end = buckets[b].upper;
    let mut count = buckets[b].count;
    if b > 0 {
        start = buckets[b - 1].upper;
        count -= buckets[b - 1].count;
        rank -= buckets[b - 1].count;
    }
    (start + (end - start) * (rank / count), forced)
}

fn bucket_fraction(lower: f64, upper: f64, mut buckets: Vec<Bucket>) -> f64 {
    buckets.sort_by_dyn(|a, b| {
        a.upper
            .partial_cmp(&b.upper)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    match buckets.last() {
        Some(b) if b.upper == f64::INFINITY => {}
        _ => return f64::NAN,
    }
    sort_coalesce(&mut buckets);
    let count = buckets[buckets.len() - 1].count;
    if count == 0.0 || lower.is_nan() || upper.is_nan() {
        return f64::NAN;
    }
    if lower >= upper {
        return 0.0;
    }
    let (mut rank, mut lower_rank, mut upper_rank) = (0.0, 0.0, 0.0);
    let (mut lower_set, mut upper_set) = (false, false);
    for (i, b) in buckets.iter().enumerate() {
        let lower_bound = if i > 0 {
            buckets[i - 1].upper
        } else if b.upper > 0.0 {
            0.0
        } else {
            f64::NEG_INFINITY
        };
        let upper_bound = b.upper;
        // A bucket of infinite width gives no basis for interpolation: the lowest bucket counts
        // as wholly below the value, the highest as wholly above.
        let interp = |v: f64| {
            if lower_bound.is_infinite() {
                b.count
            } else if upper_bound.is_infinite() {
                rank
            } else {
                rank + (b.count - rank) * (v - lower_bound) / (upper_bound - lower_bound)
            }
        };
        if !lower_set && lower_bound >= lower {
            lower_rank = rank;
            lower_set = true;
        }
        if !upper_set && lower_bound >= upper {
            upper_rank = rank;
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        if !lower_set && lower_bound < lower && upper_bound > lower {
            lower_rank = interp(lower);
            lower_set = true;
        }
        if !upper_set && lower_bound < upper && upper_bound > upper {
            upper_rank = interp(upper);
            upper_set = true;
        }
        if lower_set && upper_set {
            break;
        }
        rank = b.count;
    }
    if !lower_set || lower_rank > count {
        lower_rank = count;
    }
    if !upper_set || upper_rank > count {
        upper_rank = count;
    }
    (upper_rank - lower_rank) / count
}

/// Groups one step's bucket samples by their labels without `le`; warns on bad `le` values.
fn bucket_groups(ev: &mut Ev, step: &[Smp], span: Span) -> Vec<(Arc<Labels>, Vec<Bucket>)> {
    let mut index: std::collections::HashMap<Labels, usize> = Default::default();
    let mut groups: Vec<(Arc<Labels>, Vec<Bucket>)> = Vec::new();
    for s in step {
        let le = s.labels.get("le").unwrap_or("");
        let Some(upper) = parse_go_float(le) else {
            ev.warn(
                span,
                format!(
                    "bucket label \"le\" is missing or has a malformed value of {le:?} for metric name {:?}",
                    s.labels.metric_name().unwrap_or("")
                ),
            );
            continue;
        };
        let key = Labels::new(s.labels.iter().filter(|(n, _)| *n != "le"));
        let i = *index.entry(key.clone()).or_insert_with(|| {
            groups.push((Arc::new(key), Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(Bucket { upper, count: s.v });
    }
    groups
}

/// Parses a float as Go's `strconv.ParseFloat` would (accepts `+Inf`, `inf`, `NaN`, ...).
pub(crate) fn parse_go_float(s: &str) -> Option<f64> {
    let t = s.trim_start_matches('+');
    match t.to_ascii_lowercase().as_str() {
        "inf" | "infinity" => {
            return Some(if s.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        "-inf" | "-infinity" => return Some(f64::NEG_INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if s.is_empty() || s.contains(char::is_whitespace) {
        return None;
    }
    s.parse::<f64>().ok()
}

fn histogram_quantile(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let q = ev.eval_scalar(&c.args[0])?;
    let v = ev.eval_vector(&c.args[1])?;
    let mut out = Vec::with_capacity(ev.n);
    for (i, step) in v.into_iter().enumerate() {
        let groups = bucket_groups(ev, &step, c.args[1].span());
        let mut res = Vec::new();
        quantile_warning(ev, q[i], c.args[0].span());
        for (labels, buckets) in groups {
            let name = labels.metric_name().unwrap_or("").to_string();
            let (val, forced) = bucket_quantile(q[i], buckets);
            if forced {
                ev.info(c.args[1].span(), format!("input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {name:?}"));
            }
            res.push(Smp {
                labels,
                v: val,
                drop_name: true,
            });
        }
        out.push(res);
    }
    Ok(Val::Vector(out))
}

/// Formats a quantile for a label value: at least one decimal (`0.0`, `0.25`, `1.0`).
fn quantile_label(q: f64) -> String {
    let s = format!("{q}");
    if s.contains('.') || !q.is_finite() {
        s
    } else {
        format!("{s}.0")
    }
}

fn histogram_quantiles(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let v = ev.eval_vector(&c.args[0])?;
    let label = ev.eval_string(&c.args[1])?;
    let mut qs = Vec::new();
    for a in &c.args[2..] {
        qs.push((ev.eval_scalar(a)?, a.span()));
    }
    let mut out = Vec::with_capacity(ev.n);
    for (i, step) in v.into_iter().enumerate() {
        if step.iter().any(|s| s.labels.get(&label).is_some()) {
            return Err(Error::exec(format!(
                "label {label:?} already exists in the input series of histogram_quantiles"
            )));
        }
        let groups = bucket_groups(ev, &step, c.args[0].span());
        let mut res = Vec::new();
        for (q, span) in &qs {
            quantile_warning(ev, q[i], *span);
        }
        for (labels, buckets) in groups {
            for (q, _) in &qs {
                let (val, forced) = bucket_quantile(q[i], buckets.clone());
                if forced {
                    let name = labels.metric_name().unwrap_or("").to_string();
                    ev.info(c.args[0].span(), format!("input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name {name:?}"));
                }
                let ql = quantile_label(q[i]);
                let mut pairs: Vec<(&str, &str)> = labels.iter().collect();
                pairs.push((&label, &ql));
                res.push(Smp {
                    labels: Arc::new(Labels::new(pairs)),
                    v: val,
                    drop_name: true,
                });
            }
        }
        out.push(res);
    }
    Ok(Val::Vector(out))
}

// === histogram_fraction(lower scalar, upper scalar, b instant-vector) ===

fn histogram_fraction(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    let lo = ev.eval_scalar(&c.args[0])?;
    let hi = ev.eval_scalar(&c.args[1])?;
    let v = ev.eval_vector(&c.args[2])?;
    let mut out = Vec::with_capacity(ev.n);
    for (i, step) in v.into_iter().enumerate() {
        let groups = bucket_groups(ev, &step, c.args[2].span());
        out.push(
            groups
                .into_iter()
                .map(|(labels, b)| Smp {
                    labels,
                    v: bucket_fraction(lo[i], hi[i], b),
                    drop_name: true,
                })
                .collect(),
        );
    }
    Ok(Val::Vector(out))
}

// === info(v instant-vector, [data-label-selector instant-vector]) ===

/// The labels that tie a series to its info series.
const IDENTIFYING_LABELS: [&str; 2] = ["instance", "job"];

/// The time (for step time `t`) at which `e` reads its data: `@` and `offset` of the selector
/// it is built on, through subqueries. Info series are looked up at that time.
fn reference_time(e: &Expr, t: i64, ev: &Ev) -> i64 {
    let at = |a: &Option<crate::ast::AtModifier>, t: i64| match a {
        Some(crate::ast::AtModifier::Time(x)) => *x,
        Some(crate::ast::AtModifier::Start) => ev.query.start,
        Some(crate::ast::AtModifier::End) => ev.query.end,
        None => t,
    };
    let off = |o: &Option<crate::ast::DurationExpr>| {
        o.as_ref()
            .map(|d| {
                let step = if ev.is_range_query { ev.query.step } else { 0 };
                d.eval_ms(step, ev.query.end - ev.query.start).round() as i64
            })
            .unwrap_or(0)
    };
    match e {
        Expr::Vector(v) => at(&v.at, t) - off(&v.offset),
        Expr::Matrix(m) => at(&m.selector.at, t) - off(&m.selector.offset),
        Expr::Subquery(s) => reference_time(&s.expr, at(&s.at, t) - off(&s.offset), ev),
        Expr::Paren(p) => reference_time(&p.expr, t, ev),
        Expr::Unary(u) => reference_time(&u.expr, t, ev),
        Expr::Binary(b) => {
            if b.lhs.value_type() == ValueType::Vector {
                reference_time(&b.lhs, t, ev)
            } else {
                reference_time(&b.rhs, t, ev)
            }
        }
        Expr::Call(c) => c
            .args
            .iter()
            .find(|a| matches!(a.value_type(), ValueType::Vector | ValueType::Matrix))
            .map(|a| reference_time(a, t, ev))
            .unwrap_or(t),
        Expr::Aggregate(a) => reference_time(&a.expr, t, ev),
        _ => t,
    }
}

fn info(ev: &mut Ev, c: &Call) -> Result<Val, Error> {
    use lookout_tsdb::Matcher;
    let mut name_matchers: Vec<Matcher> = Vec::new();
    let mut data_matchers: Vec<Matcher> = Vec::new();
    if let Some(sel) = c.args.get(1) {
        let Expr::Vector(vs) = sel else {
            return Err(Error::exec(
                "info(): the second argument must be a label selector",
            ));
        };
        for m in &vs.matchers {
            if m.name() == METRIC_NAME {
                name_matchers.push(m.clone())
            } else {
                data_matchers.push(m.clone())
            }
        }
    }
    // Without a positive name matcher, info metrics are `target_info` (no name matcher at all)
    // or any `*_info` metric the negative ones leave.
    let positive = name_matchers
        .iter()
        .any(|m| matches!(m.op(), MatchOp::Equal | MatchOp::RegexMatch));
    if !positive {
        let (op, v) = if name_matchers.is_empty() {
            (MatchOp::Equal, "target_info")
        } else {
            (MatchOp::RegexMatch, ".+_info")
        };
        name_matchers
            .push(Matcher::new(op, METRIC_NAME, v).map_err(|e| Error::exec(e.to_string()))?);
    }
    let base = ev.eval_vector(&c.args[0])?;
    let refs: Vec<i64> = (0..ev.n)
        .map(|i| reference_time(&c.args[0], ev.ts(i), ev))
        .collect();
    let (lo, hi) = refs
        .iter()
        .fold((i64::MAX, i64::MIN), |(a, b), r| (a.min(*r), b.max(*r)));
    let lookback = ev.engine.lookback_delta_ms;
    let mut selector: Vec<Matcher> = name_matchers.clone();
    selector.extend(data_matchers.iter().cloned());
    let candidates = if ev.n == 0 {
        Vec::new()
    } else {
        ev.q.select(&selector, lo - lookback + 1, hi)?
    };
    // Each candidate info series: labels and its latest (timestamp) sample as of each step.
    let mut infos: Vec<(Labels, Vec<Option<i64>>)> = Vec::new();
    let mut buf = Vec::new();
    for s in candidates {
        buf.clear();
        ev.q.samples(s.id, lo - lookback + 1, hi, &mut buf)?;
        ev.add_samples(buf.len())?;
        let alive: Vec<Option<i64>> = refs
            .iter()
            .map(|&r| {
                let k = buf.partition_point(|p| p.0 <= r);
                let (t, v) = *buf.get(k.checked_sub(1)?)?;
                (t > r - lookback && !lookout_tsdb::is_stale_nan(v)).then_some(t)
            })
            .collect();
        if alive.iter().any(Option::is_some) {
            infos.push((s.labels, alive));
        }
    }
    let empty_ok = data_matchers.iter().all(|m| m.matches(""));
    let mut out = Vec::with_capacity(ev.n);
    let mut cache: std::collections::HashMap<(*const Labels, Vec<usize>), Arc<Labels>> =
        Default::default();
    for (i, step) in base.into_iter().enumerate() {
        let mut res = Vec::with_capacity(step.len());
        for s in step {
            let is_info = name_matchers
                .iter()
                .all(|m| m.matches(s.labels.metric_name().unwrap_or("")));
            let ids: Vec<(&str, &str)> = IDENTIFYING_LABELS
                .iter()
                .filter_map(|n| s.labels.get(n).map(|v| (*n, v)))
                .collect();
            if is_info || ids.is_empty() {
                res.push(s);
                continue;
            }
            // Per info metric name, the matching series with the latest sample.
            let mut chosen: Vec<(usize, i64)> = Vec::new();
            for (k, (l, alive)) in infos.iter().enumerate() {
                let Some(t) = alive[i] else { continue };
                if !ids.iter().all(|(n, v)| l.get(n) == Some(*v)) {
                    continue;
                }
                match chosen
                    .iter_mut()
                    .find(|(o, _)| infos[*o].0.metric_name() == l.metric_name())
                {
                    Some(c) if c.1 < t => *c = (k, t),
                    Some(_) => {}
                    None => chosen.push((k, t)),
                }
            }
            if chosen.is_empty() {
                if empty_ok {
                    res.push(s);
                }
                continue;
            }
            let mut picked: Vec<usize> = chosen.iter().map(|c| c.0).collect();
            picked.sort_by_dyn(usize::cmp);
            let key = (Arc::as_ptr(&s.labels), picked.clone());
            let labels = match cache.get(&key) {
                Some(l) => l.clone(),
                None => {
                    let mut pairs: Vec<(String, String)> = s
                        .labels
                        .iter()
                        .map(|(n, v)| (n.to_string(), v.to_string()))
                        .collect();
                    let mut added: Vec<(String, String)> = Vec::new();
                    for &k in &picked {
                        for (n, v) in infos[k].0.iter() {
                            if n == METRIC_NAME
                                || IDENTIFYING_LABELS.contains(&n)
                                || s.labels.get(n).is_some()
                            {
                                continue;
                            }
                            if !data_matchers.is_empty()
                                && !data_matchers.iter().any(|m| m.name() == n)
                            {
                                continue;
                            }
                            match added.iter().find(|(an, _)| an == n) {
                                Some((_, av)) if av != v => {
                                    return Err(Error::exec(format!(
                                        "conflicting label: {n:?} has values {av:?} and {v:?} in different info metrics"
                                    )));
                                }
                                Some(_) => {}
                                None => added.push((n.to_string(), v.to_string())),
                            }
                        }
                    }
                    pairs.extend(added);
                    let l = Arc::new(Labels::new(pairs));
                    cache.insert(key, l.clone());
                    l
                }
            };
            res.push(Smp {
                labels,
                v: s.v,
                drop_name: s.drop_name,
            });
        }
        out.push(res);
    }
    Ok(Val::Vector(out))
}

/// Drops `__name__` from a label set (used where a function builds new series).
#[allow(dead_code)]
pub(crate) fn without_name(l: &Labels) -> Labels {
    drop_metric_name(l)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::signatures::FUNCTIONS;

    #[test]
    fn order_keys_order_as_floats_do_with_nan_first_and_round_trip() {
        let vals = [
            f64::NAN,
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            f64::MIN_POSITIVE,
            1.0,
            1.5,
            1e300,
            f64::INFINITY,
        ];
        for w in vals.windows(2) {
            assert!(order_key(w[0]) < order_key(w[1]), "{} {}", w[0], w[1]);
        }
        for v in vals {
            let back = from_order_key(order_key(v));
            assert!(
                back.to_bits() == v.to_bits() || (v.is_nan() && back.is_nan()),
                "{v}"
            );
        }
    }

    #[test]
    fn quantile_matches_the_sorted_definition() {
        // Every rank of a small window against the sort-based definition, NaN first.
        let window = [3.0, f64::NAN, -1.0, 7.5, 2.0, 2.0, f64::INFINITY, 0.5];
        let mut sorted = window.to_vec();
        sorted.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Less,
            (false, true) => std::cmp::Ordering::Greater,
            _ => a.partial_cmp(b).unwrap(),
        });
        for i in 0..=20 {
            let q = f64::from(i) / 20.0;
            let rank = q * (sorted.len() - 1) as f64;
            let (lo, hi) = (
                rank.floor() as usize,
                (rank.floor() as usize + 1).min(sorted.len() - 1),
            );
            let w = rank - rank.floor();
            let want = sorted[lo] * (1.0 - w) + sorted[hi] * w;
            let got = quantile(q, &window);
            assert!(
                got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                "q={q}: {got} vs {want}"
            );
        }
        assert_eq!(quantile(1.5, &window), f64::INFINITY);
        assert!(quantile(0.5, &[]).is_nan());
    }

    #[test]
    fn parser_and_engine_tables_agree() {
        let mut parser: Vec<&str> = FUNCTIONS.iter().map(|f| f.name).collect();
        let mut engine: Vec<&str> = IMPLS.iter().map(|f| f.name).collect();
        parser.sort_unstable();
        engine.sort_unstable();
        assert_eq!(parser, engine);
    }

    #[test]
    fn calendar() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        assert_eq!(natural_cmp("a10", "a9"), std::cmp::Ordering::Greater);
    }
}
