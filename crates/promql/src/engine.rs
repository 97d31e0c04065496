//! The evaluator: instant and range queries over a [`Queryable`], with Prometheus 3.x semantics.
//!
//! Every expression is evaluated for all steps of the query at once. Instant vectors are kept
//! step-major (one vector per step) so that binary operators and aggregations work on one step's
//! samples at a time; range vectors (selectors and subqueries) are kept series-major and sliced
//! into windows per step. An instant query is a range query with one step.

use crate::sort::SortDyn;
use std::collections::HashMap;
use std::sync::Arc;

use lookout_tsdb::{Labels, METRIC_NAME, is_stale_nan};

use crate::aggregate;
use crate::ast::*;
use crate::error::{Error, ErrorKind};
use crate::functions;
use crate::storage::Queryable;
use crate::value::{Annotation, AnnotationKind, Sample, Series, Value};

const MAX_DURATION_MS: f64 = (1u64 << 52) as f64;

/// Most points a range query may return per series, as Prometheus's API allows.
pub const MAX_POINTS_PER_SERIES: i64 = 11_000;

/// Engine settings. `Engine::default()` matches Prometheus's defaults.
#[derive(Debug, Clone)]
pub struct Engine {
    /// How far back an instant selector looks for a sample (default 5m).
    pub lookback_delta_ms: i64,
    /// Most samples a query may load from storage or produce in subqueries.
    pub max_samples: usize,
    /// Step of a subquery written without one (`[1h:]`), Prometheus's evaluation interval.
    pub default_subquery_step_ms: i64,
}

impl Default for Engine {
    fn default() -> Self {
        Engine {
            lookback_delta_ms: 5 * 60_000,
            max_samples: 50_000_000,
            default_subquery_step_ms: 60_000,
        }
    }
}

/// Counters about one evaluation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueryStats {
    /// Samples read from storage (and produced by subqueries).
    pub samples_loaded: usize,
}

/// A result with its annotations.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    pub value: Value,
    pub annotations: Vec<Annotation>,
    pub stats: QueryStats,
}

/// The time range of a query: an instant query has `start == end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryRange {
    pub start: i64,
    pub end: i64,
    pub step: i64,
}

impl Engine {
    /// Evaluates `expr` at one instant (milliseconds).
    pub fn instant(&self, q: &dyn Queryable, expr: &Expr, t: i64) -> Result<QueryResult, Error> {
        self.query(
            q,
            expr,
            QueryRange {
                start: t,
                end: t,
                step: 0,
            },
            None,
        )
    }

    /// Evaluates `expr` from `start` to `end` every `step` (milliseconds).
    pub fn range(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        start: i64,
        end: i64,
        step: i64,
    ) -> Result<QueryResult, Error> {
        self.query(q, expr, QueryRange { start, end, step }, None)
    }

    /// Evaluates a query; `cancel` is polled regularly and stops the evaluation when it says so.
    pub fn query(
        &self,
        q: &dyn Queryable,
        expr: &Expr,
        range: QueryRange,
        cancel: Option<&dyn Fn() -> bool>,
    ) -> Result<QueryResult, Error> {
        let is_range = range.start != range.end || range.step != 0;
        if is_range {
            if range.step <= 0 {
                return Err(Error::exec(
                    "zero or negative query resolution step widths are not accepted. Try a positive integer",
                ));
            }
            if range.end < range.start {
                return Err(Error::exec("end timestamp must not be before start time"));
            }
            if (range.end - range.start) / range.step >= MAX_POINTS_PER_SERIES {
                return Err(Error::exec(
                    "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
                ));
            }
            let t = expr.value_type();
            if t != ValueType::Scalar && t != ValueType::Vector {
                return Err(Error::exec(format!(
                    "invalid expression type \"{}\" for range query, must be Scalar or instant Vector",
                    t.name()
                )));
            }
        }
        let interval = if range.step > 0 { range.step } else { 1 };
        let mut ev = Ev {
            q,
            engine: self,
            cancel,
            start: range.start,
            end: range.end,
            interval,
            n: ((range.end - range.start) / interval) as usize + 1,
            query: range,
            is_range_query: is_range,
            annotations: Vec::new(),
            samples: 0,
        };
        let val = ev.eval(expr)?;
        let value = if is_range {
            ev.matrix_value(val)?
        } else {
            ev.instant_value(val)?
        };
        let mut annotations = Vec::new();
        for a in ev.annotations {
            if !annotations.contains(&a) {
                annotations.push(a);
            }
        }
        Ok(QueryResult {
            value,
            annotations,
            stats: QueryStats {
                samples_loaded: ev.samples,
            },
        })
    }
}

/// A sample of an instant vector during evaluation.
#[derive(Debug, Clone)]
pub(crate) struct Smp {
    pub labels: Arc<Labels>,
    pub v: f64,
    /// The metric name is to be removed at the end of the query (delayed name removal).
    pub drop_name: bool,
}

/// One series of a range vector during evaluation.
#[derive(Debug, Clone)]
pub(crate) struct RangeSeries {
    pub labels: Arc<Labels>,
    pub points: Vec<(i64, f64)>,
    pub drop_name: bool,
}

/// A range vector (matrix selector or subquery) for all steps, plus how to window it per step.
#[derive(Debug, Clone)]
pub(crate) struct RangeArg {
    pub series: Vec<RangeSeries>,
    pub range: i64,
    pub offset: i64,
    pub at: Option<i64>,
    /// `anchored`/`smoothed` selectors also hold samples up to a lookback before (and, when
    /// smoothed, after) each window.
    pub mode: RangeMode,
    pub lookback: i64,
}

/// How a range selector's windows are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeMode {
    Normal,
    Anchored,
    Smoothed,
}

impl RangeArg {
    /// The (inclusive) end of the window for the step at `ts`; the window is `(end - range, end]`.
    pub fn window_end(&self, ts: i64) -> i64 {
        self.at.unwrap_or(ts) - self.offset
    }
}

/// FxHash-style hasher for maps keyed by pointers and small ids (SipHash's DoS resistance buys
/// nothing there and costs a measurable share of a query).
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(*b as u64);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(n as u64);
    }
    fn write_u8(&mut self, n: u8) {
        self.write_u64(n as u64);
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FastHasher>>;

/// One series of an instant vector, for all steps where it has a value (series-major form,
/// produced by selectors and range functions; step-major operators transpose it).
#[derive(Debug, Clone)]
pub(crate) struct StepSeries {
    pub labels: Arc<Labels>,
    pub drop_name: bool,
    /// (step index, value), steps ascending.
    pub points: Vec<(u32, f64)>,
}

/// An evaluated expression, for all steps.
#[derive(Debug)]
pub(crate) enum Val {
    Scalar(Vec<f64>),
    Str(String),
    /// An instant vector, step-major: one vector per step.
    Vector(Vec<Vec<Smp>>),
    /// An instant vector, series-major.
    Series(Vec<StepSeries>),
    Matrix(RangeArg),
}

/// Transposes a series-major vector into one vector per step.
pub(crate) fn series_to_steps(n: usize, series: Vec<StepSeries>) -> Vec<Vec<Smp>> {
    let mut out: Vec<Vec<Smp>> = (0..n).map(|_| Vec::with_capacity(series.len())).collect();
    for s in series {
        for (i, v) in s.points {
            out[i as usize].push(Smp {
                labels: s.labels.clone(),
                v,
                drop_name: s.drop_name,
            });
        }
    }
    out
}

pub(crate) struct Ev<'a> {
    pub q: &'a dyn Queryable,
    pub engine: &'a Engine,
    pub cancel: Option<&'a dyn Fn() -> bool>,
    pub start: i64,
    pub end: i64,
    pub interval: i64,
    pub n: usize,
    /// The top-level query's range (for `start()`, `end()`, `step()`, `range()`).
    pub query: QueryRange,
    pub is_range_query: bool,
    pub annotations: Vec<Annotation>,
    pub samples: usize,
}

/// Removes the metric name, and with it the type and unit labels that describe it
/// (Prometheus's `DropReserved` for the type-and-unit labels feature).
pub(crate) fn drop_metric_name(l: &Labels) -> Labels {
    const RESERVED: [&str; 3] = [METRIC_NAME, "__type__", "__unit__"];
    if !RESERVED.iter().any(|n| l.get(n).is_some()) {
        return l.clone();
    }
    Labels::new(l.iter().filter(|(n, _)| !RESERVED.contains(n)))
}

impl<'a> Ev<'a> {
    pub fn ts(&self, i: usize) -> i64 {
        self.start + i as i64 * self.interval
    }

    pub fn warn(&mut self, span: Span, message: String) {
        self.annotations.push(Annotation {
            kind: AnnotationKind::Warning,
            message,
            span,
        });
    }

    pub fn info(&mut self, span: Span, message: String) {
        self.annotations.push(Annotation {
            kind: AnnotationKind::Info,
            message,
            span,
        });
    }

    pub fn check_cancel(&self) -> Result<(), Error> {
        if let Some(c) = self.cancel
            && c()
        {
            return Err(Error::new(ErrorKind::Canceled));
        }
        Ok(())
    }

    pub fn add_samples(&mut self, n: usize) -> Result<(), Error> {
        self.samples += n;
        if self.samples > self.engine.max_samples {
            return Err(Error::new(ErrorKind::TooManySamples {
                limit: self.engine.max_samples,
            }));
        }
        Ok(())
    }

    fn duration_ms(&self, d: &DurationExpr) -> i64 {
        let step = if self.is_range_query {
            self.query.step
        } else {
            0
        };
        let v = d.eval_ms(step, self.query.end - self.query.start);
        // Clamped far beyond any real range (about 140,000 years) so time arithmetic can't overflow.
        if v.is_finite() {
            v.round().clamp(-MAX_DURATION_MS, MAX_DURATION_MS) as i64
        } else {
            0
        }
    }

    fn at_time(&self, at: &Option<AtModifier>) -> Option<i64> {
        at.map(|a| match a {
            AtModifier::Time(t) => t,
            AtModifier::Start => self.query.start,
            AtModifier::End => self.query.end,
        })
    }

    pub fn eval(&mut self, e: &Expr) -> Result<Val, Error> {
        self.check_cancel()?;
        match e {
            Expr::Number(n) => Ok(Val::Scalar(vec![n.value; self.n])),
            Expr::String(s) => Ok(Val::Str(s.value.clone())),
            Expr::Paren(p) => self.eval(&p.expr),
            Expr::Unary(u) => {
                let v = self.eval(&u.expr)?;
                if u.op == UnaryOp::Pos {
                    return Ok(v);
                }
                Ok(match v {
                    Val::Scalar(mut s) => {
                        s.iter_mut().for_each(|x| *x = -*x);
                        Val::Scalar(s)
                    }
                    Val::Vector(mut vs) => {
                        for step in &mut vs {
                            for s in step {
                                s.v = -s.v;
                                s.drop_name = true;
                            }
                        }
                        Val::Vector(vs)
                    }
                    Val::Series(mut ss) => {
                        for s in &mut ss {
                            s.points.iter_mut().for_each(|p| p.1 = -p.1);
                            s.drop_name = true;
                        }
                        Val::Series(ss)
                    }
                    other => other,
                })
            }
            Expr::Vector(vs) => Ok(Val::Series(self.eval_selector(vs, false)?)),
            Expr::Matrix(_) | Expr::Subquery(_) => Ok(Val::Matrix(self.eval_range_arg(e)?)),
            Expr::Binary(b) => self.eval_binary(b),
            Expr::Call(c) => functions::call(self, c),
            Expr::Aggregate(a) => aggregate::eval(self, a),
        }
    }

    pub fn eval_vector(&mut self, e: &Expr) -> Result<Vec<Vec<Smp>>, Error> {
        match self.eval(e)? {
            Val::Vector(v) => Ok(v),
            Val::Series(s) => Ok(series_to_steps(self.n, s)),
            _ => Err(Error::exec(format!(
                "expected instant vector, got {}",
                e.value_type().name()
            ))),
        }
    }

    pub fn eval_scalar(&mut self, e: &Expr) -> Result<Vec<f64>, Error> {
        match self.eval(e)? {
            Val::Scalar(v) => Ok(v),
            _ => Err(Error::exec(format!(
                "expected scalar, got {}",
                e.value_type().name()
            ))),
        }
    }

    pub fn eval_string(&mut self, e: &Expr) -> Result<String, Error> {
        match self.eval(e)? {
            Val::Str(s) => Ok(s),
            _ => Err(Error::exec(format!(
                "expected string, got {}",
                e.value_type().name()
            ))),
        }
    }

    /// Instant vector selector for every step; with `timestamps` the value is the sample's time.
    pub fn eval_selector(
        &mut self,
        vs: &VectorSelector,
        timestamps: bool,
    ) -> Result<Vec<StepSeries>, Error> {
        let offset = vs.offset.as_ref().map(|d| self.duration_ms(d)).unwrap_or(0);
        let at = self.at_time(&vs.at);
        let eval_t = |ts: i64| at.unwrap_or(ts) - offset;
        let (first, last) = (eval_t(self.start), eval_t(self.end));
        let lookback = self.engine.lookback_delta_ms;
        let mint = first - lookback + 1;
        // `smoothed` interpolates towards the next sample, up to a lookback ahead.
        let maxt = if vs.smoothed { last + lookback } else { last };
        let series = self.q.select(&vs.matchers, mint, maxt)?;
        let mut out: Vec<StepSeries> = Vec::with_capacity(series.len());
        let mut buf = Vec::new();
        for s in series {
            self.check_cancel()?;
            buf.clear();
            self.q.samples(s.id, mint, maxt, &mut buf)?;
            if buf.is_empty() {
                continue;
            }
            self.add_samples(buf.len())?;
            let mut points = Vec::with_capacity(self.n.min(buf.len() + 1));
            let mut j = 0;
            for i in 0..self.n {
                let t = eval_t(self.start + i as i64 * self.interval);
                while j < buf.len() && buf[j].0 <= t {
                    j += 1;
                }
                if j == 0 {
                    continue;
                }
                let (st, sv) = buf[j - 1];
                if st <= t - lookback || is_stale_nan(sv) {
                    continue;
                }
                let mut v = if timestamps { st as f64 / 1000.0 } else { sv };
                if vs.smoothed
                    && st < t
                    && let Some(&(nt, nv)) = buf.get(j)
                    && nt - t <= lookback
                    && !is_stale_nan(nv)
                {
                    v = sv + (nv - sv) * (t - st) as f64 / (nt - st) as f64;
                }
                points.push((i as u32, v));
            }
            if !points.is_empty() {
                out.push(StepSeries {
                    labels: Arc::new(s.labels),
                    drop_name: false,
                    points,
                });
            }
        }
        Ok(out)
    }

    /// A range vector for all steps: a matrix selector's samples, or a subquery's points.
    pub fn eval_range_arg(&mut self, e: &Expr) -> Result<RangeArg, Error> {
        match e {
            Expr::Paren(p) => self.eval_range_arg(&p.expr),
            Expr::Matrix(m) => {
                let vs = &m.selector;
                let range = self.duration_ms(&m.range);
                let offset = vs.offset.as_ref().map(|d| self.duration_ms(d)).unwrap_or(0);
                let at = self.at_time(&vs.at);
                let arg = RangeArg {
                    series: Vec::new(),
                    range,
                    offset,
                    at,
                    mode: if vs.anchored {
                        RangeMode::Anchored
                    } else if vs.smoothed {
                        RangeMode::Smoothed
                    } else {
                        RangeMode::Normal
                    },
                    lookback: self.engine.lookback_delta_ms,
                };
                let (first, last) = (arg.window_end(self.start), arg.window_end(self.end));
                let (before, after) = match arg.mode {
                    RangeMode::Normal => (0, 0),
                    RangeMode::Anchored => (arg.lookback, 0),
                    RangeMode::Smoothed => (arg.lookback, arg.lookback),
                };
                let mint = first - range + 1 - before;
                let last = last + after;
                let selected = self.q.select(&vs.matchers, mint, last)?;
                let mut series = Vec::with_capacity(selected.len());
                // Read into one scratch buffer, then copy out at the exact size: one allocation
                // per series instead of a growing vector's several.
                let mut scratch = Vec::new();
                for s in selected {
                    self.check_cancel()?;
                    scratch.clear();
                    self.q.samples(s.id, mint, last, &mut scratch)?;
                    let mut points = Vec::with_capacity(scratch.len());
                    points.extend(scratch.iter().filter(|p| !is_stale_nan(p.1)));
                    self.add_samples(points.len())?;
                    series.push(RangeSeries {
                        labels: Arc::new(s.labels),
                        points,
                        drop_name: false,
                    });
                }
                Ok(RangeArg { series, ..arg })
            }
            Expr::Subquery(sq) => self.eval_subquery(sq),
            _ => Err(Error::exec(format!(
                "expected range vector, got {}",
                e.value_type().name()
            ))),
        }
    }

    fn eval_subquery(&mut self, sq: &Subquery) -> Result<RangeArg, Error> {
        let range = self.duration_ms(&sq.range);
        let step = match &sq.step {
            Some(s) => self.duration_ms(s),
            None => self.engine.default_subquery_step_ms,
        };
        if step <= 0 {
            return Err(Error::exec("subquery step must be greater than zero"));
        }
        let offset = sq.offset.as_ref().map(|d| self.duration_ms(d)).unwrap_or(0);
        let at = self.at_time(&sq.at);
        let arg = RangeArg {
            series: Vec::new(),
            range,
            offset,
            at,
            mode: RangeMode::Normal,
            lookback: self.engine.lookback_delta_ms,
        };
        let (first, last) = (arg.window_end(self.start), arg.window_end(self.end));
        // Prometheus aligns subquery steps to multiples of the step (Go division truncates).
        let lo = first - range;
        let mut start = step * (lo / step);
        if start <= lo {
            start += step;
        }
        if start > last {
            return Ok(arg);
        }
        let steps = (last - start) / step + 1;
        if steps > self.engine.max_samples as i64 {
            return Err(Error::new(ErrorKind::TooManySamples {
                limit: self.engine.max_samples,
            }));
        }
        let mut sub = Ev {
            q: self.q,
            engine: self.engine,
            cancel: self.cancel,
            start,
            end: last,
            interval: step,
            n: ((last - start) / step) as usize + 1,
            query: self.query,
            is_range_query: self.is_range_query,
            annotations: Vec::new(),
            samples: self.samples,
        };
        let val = sub.eval(&sq.expr);
        self.annotations.append(&mut sub.annotations);
        self.samples = sub.samples;
        let val = val?;
        let mut series: Vec<RangeSeries> = Vec::new();
        match val {
            Val::Vector(steps) => {
                let mut index: FastMap<*const Labels, usize> = FastMap::default();
                let mut total = 0;
                for (i, step_samples) in steps.iter().enumerate() {
                    let t = sub.start + i as i64 * sub.interval;
                    for s in step_samples {
                        total += 1;
                        let idx = *index.entry(Arc::as_ptr(&s.labels)).or_insert_with(|| {
                            series.push(RangeSeries {
                                labels: s.labels.clone(),
                                points: Vec::new(),
                                drop_name: s.drop_name,
                            });
                            series.len() - 1
                        });
                        series[idx].points.push((t, s.v));
                        series[idx].drop_name |= s.drop_name;
                    }
                }
                // Distinct `Arc`s may carry equal labels; merge them as one series.
                let mut merged: Vec<RangeSeries> = Vec::with_capacity(series.len());
                let mut by_labels: HashMap<Labels, usize> = HashMap::new();
                for rs in series.drain(..) {
                    match by_labels.get(&*rs.labels) {
                        Some(&k) => {
                            let m: &mut RangeSeries = &mut merged[k];
                            m.points.extend(rs.points);
                            m.points.sort_by_key_dyn(|p| p.0);
                            m.drop_name |= rs.drop_name;
                        }
                        None => {
                            by_labels.insert((*rs.labels).clone(), merged.len());
                            merged.push(rs);
                        }
                    }
                }
                series = merged;
                self.add_samples(total)?;
            }
            Val::Series(ss) => {
                let mut total = 0;
                let mut by_labels: HashMap<Labels, usize> = HashMap::new();
                for s in ss {
                    total += s.points.len();
                    let points: Vec<(i64, f64)> = s
                        .points
                        .iter()
                        .map(|(i, v)| (sub.start + *i as i64 * sub.interval, *v))
                        .collect();
                    match by_labels.get(&*s.labels) {
                        Some(&k) => {
                            let m: &mut RangeSeries = &mut series[k];
                            m.points.extend(points);
                            m.points.sort_by_key_dyn(|p| p.0);
                            m.drop_name |= s.drop_name;
                        }
                        None => {
                            by_labels.insert((*s.labels).clone(), series.len());
                            series.push(RangeSeries {
                                labels: s.labels,
                                points,
                                drop_name: s.drop_name,
                            });
                        }
                    }
                }
                self.add_samples(total)?;
            }
            Val::Scalar(vals) => {
                let points = vals
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (sub.start + i as i64 * sub.interval, *v))
                    .collect();
                series.push(RangeSeries {
                    labels: Arc::new(Labels::default()),
                    points,
                    drop_name: false,
                });
            }
            _ => return Err(Error::exec("subquery is only allowed on instant vector")),
        }
        Ok(RangeArg { series, ..arg })
    }

    // -----------------------------------------------------------------------------------------
    // Binary operators

    fn eval_binary(&mut self, b: &Binary) -> Result<Val, Error> {
        let lhs = self.eval(&b.lhs)?;
        let rhs = self.eval(&b.rhs)?;
        if matches!(b.op, BinOp::TrimUpper | BinOp::TrimLower) {
            // Reached only when no native histogram was read (the store refuses those first).
            return Err(Error::exec(format!(
                "the {} operator trims native histograms, which are not supported yet",
                b.op.as_str()
            )));
        }
        let n = self.n;
        let steps = |v: Val| match v {
            Val::Series(s) => Val::Vector(series_to_steps(n, s)),
            other => other,
        };
        let (lhs, rhs) = match (lhs, rhs) {
            // A vector and a scalar combine series by series, no transposition needed.
            (Val::Series(mut ls), Val::Scalar(r)) => {
                for s in &mut ls {
                    series_scalar(b, s, &r, false);
                }
                ls.retain(|s| !s.points.is_empty());
                return Ok(Val::Series(ls));
            }
            (Val::Scalar(l), Val::Series(mut rs)) => {
                for s in &mut rs {
                    series_scalar(b, s, &l, true);
                }
                rs.retain(|s| !s.points.is_empty());
                return Ok(Val::Series(rs));
            }
            (l, r) => (steps(l), steps(r)),
        };
        match (lhs, rhs) {
            (Val::Scalar(l), Val::Scalar(r)) => {
                let out = l
                    .iter()
                    .zip(&r)
                    .map(|(a, c)| {
                        let (v, keep) = scalar_binop(b.op, *a, *c);
                        if b.op.is_comparison() {
                            if keep { 1.0 } else { 0.0 }
                        } else {
                            v
                        }
                    })
                    .collect();
                Ok(Val::Scalar(out))
            }
            (Val::Vector(mut l), Val::Scalar(r)) => {
                for (i, step) in l.iter_mut().enumerate() {
                    vector_scalar(b, step, r[i], false);
                }
                Ok(Val::Vector(l))
            }
            (Val::Scalar(l), Val::Vector(mut r)) => {
                for (i, step) in r.iter_mut().enumerate() {
                    vector_scalar(b, step, l[i], true);
                }
                Ok(Val::Vector(r))
            }
            (Val::Vector(l), Val::Vector(r)) => {
                let default = VectorMatching {
                    card: Cardinality::OneToOne,
                    labels: Vec::new(),
                    on: false,
                    include: Vec::new(),
                    fill_left: None,
                    fill_right: None,
                };
                let matching = b.matching.as_ref().unwrap_or(&default);
                let mut out = Vec::with_capacity(self.n);
                let mut sigs = SigCache::new(matching);
                for (ls, rs) in l.into_iter().zip(r) {
                    self.check_cancel()?;
                    out.push(match b.op {
                        BinOp::And => vector_and(ls, &rs, &mut sigs),
                        BinOp::Or => vector_or(ls, rs, &mut sigs),
                        BinOp::Unless => vector_unless(ls, &rs, &mut sigs),
                        _ => vector_binop(b, ls, rs, matching, &mut sigs)?,
                    });
                }
                Ok(Val::Vector(out))
            }
            _ => Err(Error::exec(
                "binary expression must contain only scalar and instant vector types",
            )),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Results

    fn instant_value(&mut self, val: Val) -> Result<Value, Error> {
        let t = self.start;
        Ok(match val {
            Val::Scalar(v) => Value::Scalar {
                t,
                v: v.first().copied().unwrap_or(f64::NAN),
            },
            Val::Str(s) => Value::String { t, v: s },
            Val::Series(ss) => return self.instant_value(Val::Vector(series_to_steps(self.n, ss))),
            Val::Vector(mut steps) => {
                let step = steps.pop().unwrap_or_default();
                let out: Vec<Sample> = step
                    .into_iter()
                    .map(|s| Sample {
                        labels: if s.drop_name {
                            drop_metric_name(&s.labels)
                        } else {
                            (*s.labels).clone()
                        },
                        t,
                        v: s.v,
                    })
                    .collect();
                let mut seen = std::collections::HashSet::new();
                for s in &out {
                    if !seen.insert(&s.labels) {
                        return Err(Error::exec(
                            "vector cannot contain metrics with the same labelset",
                        ));
                    }
                }
                Value::Vector(out)
            }
            Val::Matrix(arg) => {
                let end = arg.window_end(t);
                let start = end - arg.range;
                let mut out = Vec::new();
                for s in arg.series {
                    let points: Vec<(i64, f64)> = s
                        .points
                        .into_iter()
                        .filter(|p| p.0 > start && p.0 <= end)
                        .collect();
                    if points.is_empty() {
                        continue;
                    }
                    let labels = if s.drop_name {
                        drop_metric_name(&s.labels)
                    } else {
                        (*s.labels).clone()
                    };
                    out.push(Series { labels, points });
                }
                out.sort_by_dyn(|a, b| a.labels.cmp(&b.labels));
                Value::Matrix(out)
            }
        })
    }

    fn matrix_value(&mut self, val: Val) -> Result<Value, Error> {
        match val {
            Val::Scalar(v) => {
                let points = v
                    .iter()
                    .enumerate()
                    .map(|(i, x)| (self.ts(i), *x))
                    .collect();
                Ok(Value::Matrix(vec![Series {
                    labels: Labels::default(),
                    points,
                }]))
            }
            Val::Vector(steps) => {
                // Series are found by label-set pointer first (each `Arc` recurs at every step),
                // then merged by their final labels (names dropped late may make two one).
                // Iterating by reference keeps every `Arc` alive, so pointers stay unique.
                let mut by_ptr: FastMap<(*const Labels, bool), usize> = FastMap::default();
                let mut index: HashMap<Labels, usize> = HashMap::new();
                let mut series: Vec<(Series, i64)> = Vec::new();
                for (i, step) in steps.iter().enumerate() {
                    let t = self.ts(i);
                    for s in step {
                        let key = (Arc::as_ptr(&s.labels), s.drop_name);
                        let idx = match by_ptr.get(&key) {
                            Some(i) => *i,
                            None => {
                                let labels = if s.drop_name {
                                    drop_metric_name(&s.labels)
                                } else {
                                    (*s.labels).clone()
                                };
                                let idx = match index.get(&labels) {
                                    Some(i) => *i,
                                    None => {
                                        index.insert(labels.clone(), series.len());
                                        series.push((
                                            Series {
                                                labels,
                                                points: Vec::new(),
                                            },
                                            i64::MIN,
                                        ));
                                        series.len() - 1
                                    }
                                };
                                by_ptr.insert(key, idx);
                                idx
                            }
                        };
                        let (ser, last_t) = &mut series[idx];
                        if *last_t == t {
                            return Err(Error::exec(
                                "vector cannot contain metrics with the same labelset",
                            ));
                        }
                        *last_t = t;
                        ser.points.push((t, s.v));
                    }
                }
                let mut out: Vec<Series> = series.into_iter().map(|(s, _)| s).collect();
                for s in &mut out {
                    if !s.points.is_sorted_by_key(|p| p.0) {
                        s.points.sort_by_key_dyn(|p| p.0);
                    }
                }
                out.sort_by_dyn(|a, b| a.labels.cmp(&b.labels));
                Ok(Value::Matrix(out))
            }
            Val::Series(ss) => {
                let mut index: HashMap<Labels, usize> = HashMap::with_capacity(ss.len());
                let mut out: Vec<Series> = Vec::with_capacity(ss.len());
                for s in ss.into_iter().filter(|s| !s.points.is_empty()) {
                    let labels = if s.drop_name {
                        drop_metric_name(&s.labels)
                    } else {
                        (*s.labels).clone()
                    };
                    let points: Vec<(i64, f64)> = s
                        .points
                        .iter()
                        .map(|(i, v)| (self.ts(*i as usize), *v))
                        .collect();
                    match index.get(&labels) {
                        Some(&k) => {
                            let m = &mut out[k];
                            m.points.extend(points);
                            m.points.sort_by_key_dyn(|p| p.0);
                            if m.points.windows(2).any(|w| w[0].0 == w[1].0) {
                                return Err(Error::exec(
                                    "vector cannot contain metrics with the same labelset",
                                ));
                            }
                        }
                        None => {
                            index.insert(labels.clone(), out.len());
                            out.push(Series { labels, points });
                        }
                    }
                }
                out.sort_by_dyn(|a, b| a.labels.cmp(&b.labels));
                Ok(Value::Matrix(out))
            }
            Val::Str(_) | Val::Matrix(_) => Err(Error::exec(
                "invalid expression type for range query, must be Scalar or instant Vector",
            )),
        }
    }
}

/// Applies an arithmetic or comparison operator to two floats: (value, keep).
pub(crate) fn scalar_binop(op: BinOp, l: f64, r: f64) -> (f64, bool) {
    match op {
        BinOp::Add => (l + r, true),
        BinOp::Sub => (l - r, true),
        BinOp::Mul => (l * r, true),
        BinOp::Div => (l / r, true),
        BinOp::Pow => (l.powf(r), true),
        BinOp::Mod => (l % r, true),
        BinOp::Atan2 => (l.atan2(r), true),
        BinOp::Eql => (l, l == r),
        BinOp::Neq => (l, l != r),
        BinOp::Gtr => (l, l > r),
        BinOp::Lss => (l, l < r),
        BinOp::Gte => (l, l >= r),
        BinOp::Lte => (l, l <= r),
        // Trimming applies to native histograms; float samples have nothing to trim.
        BinOp::TrimUpper | BinOp::TrimLower => (l, true),
        BinOp::And | BinOp::Or | BinOp::Unless => (f64::NAN, false),
    }
}

fn is_arithmetic(op: BinOp) -> bool {
    matches!(
        op,
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Pow | BinOp::Mod | BinOp::Atan2
    )
}

fn series_scalar(b: &Binary, s: &mut StepSeries, scalars: &[f64], swap: bool) {
    let mut dropped = false;
    s.points.retain_mut(|p| {
        let scalar = scalars[p.0 as usize];
        let (l, r) = if swap { (scalar, p.1) } else { (p.1, scalar) };
        let (mut v, keep) = scalar_binop(b.op, l, r);
        if b.op.is_comparison() && swap {
            v = r;
        }
        if b.return_bool {
            p.1 = if keep { 1.0 } else { 0.0 };
            dropped = true;
            return true;
        }
        if !keep {
            return false;
        }
        p.1 = v;
        true
    });
    let _ = dropped;
    if b.return_bool || is_arithmetic(b.op) {
        s.drop_name = true;
    }
}

fn vector_scalar(b: &Binary, step: &mut Vec<Smp>, scalar: f64, swap: bool) {
    step.retain_mut(|s| {
        let (l, r) = if swap { (scalar, s.v) } else { (s.v, scalar) };
        let (mut v, keep) = scalar_binop(b.op, l, r);
        // A comparison keeps the vector's value even when the vector is on the right.
        if b.op.is_comparison() && swap {
            v = r;
        }
        if b.return_bool {
            s.v = if keep { 1.0 } else { 0.0 };
            s.drop_name = true;
            return true;
        }
        if !keep {
            return false;
        }
        s.v = v;
        if is_arithmetic(b.op) {
            s.drop_name = true;
        }
        true
    });
}

/// Matching signatures as small ids, and result label sets, cached per label-set pointer (the
/// same `Arc` recurs at every step, so each is computed once per query node).
pub(crate) struct SigCache {
    on: bool,
    labels: Vec<String>,
    ids: FastMap<*const Labels, u32>,
    interned: HashMap<Vec<(String, String)>, u32>,
    results: FastMap<(*const Labels, *const Labels), (Arc<Labels>, u32)>,
    result_ids: HashMap<Labels, u32>,
}

impl SigCache {
    fn new(m: &VectorMatching) -> Self {
        SigCache {
            on: m.on,
            labels: m.labels.clone(),
            ids: FastMap::default(),
            interned: HashMap::new(),
            results: FastMap::default(),
            result_ids: HashMap::new(),
        }
    }

    /// The pointers stay valid because every input vector of the operation is alive for as long
    /// as this cache is.
    fn sig(&mut self, l: &Arc<Labels>) -> u32 {
        let key = Arc::as_ptr(l);
        if let Some(s) = self.ids.get(&key) {
            return *s;
        }
        let sig: Vec<(String, String)> = l
            .iter()
            .filter(|(n, _)| {
                if self.on {
                    self.labels.iter().any(|x| x == n)
                } else {
                    *n != METRIC_NAME && !self.labels.iter().any(|x| x == n)
                }
            })
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let next = self.interned.len() as u32;
        let id = *self.interned.entry(sig).or_insert(next);
        self.ids.insert(key, id);
        id
    }

    fn intern_result(&mut self, l: &Labels) -> u32 {
        let next = self.result_ids.len() as u32;
        *self.result_ids.entry(l.clone()).or_insert(next)
    }

    fn result(
        &mut self,
        many: &Arc<Labels>,
        one: &Arc<Labels>,
        m: &VectorMatching,
    ) -> (Arc<Labels>, u32) {
        let key = (Arc::as_ptr(many), Arc::as_ptr(one));
        if let Some(r) = self.results.get(&key) {
            return r.clone();
        }
        let labels = result_labels(many, one, m);
        let next = self.result_ids.len() as u32;
        let id = *self.result_ids.entry((*labels).clone()).or_insert(next);
        self.results.insert(key, (labels.clone(), id));
        (labels, id)
    }
}

fn vector_and(ls: Vec<Smp>, rs: &[Smp], sigs: &mut SigCache) -> Vec<Smp> {
    if rs.is_empty() {
        return Vec::new();
    }
    let right: std::collections::HashSet<u32, std::hash::BuildHasherDefault<FastHasher>> =
        rs.iter().map(|s| sigs.sig(&s.labels)).collect();
    ls.into_iter()
        .filter(|s| right.contains(&sigs.sig(&s.labels)))
        .collect()
}

fn vector_or(mut ls: Vec<Smp>, rs: Vec<Smp>, sigs: &mut SigCache) -> Vec<Smp> {
    let left: std::collections::HashSet<u32, std::hash::BuildHasherDefault<FastHasher>> =
        ls.iter().map(|s| sigs.sig(&s.labels)).collect();
    for s in rs {
        if !left.contains(&sigs.sig(&s.labels)) {
            ls.push(s);
        }
    }
    ls
}

fn vector_unless(ls: Vec<Smp>, rs: &[Smp], sigs: &mut SigCache) -> Vec<Smp> {
    let right: std::collections::HashSet<u32, std::hash::BuildHasherDefault<FastHasher>> =
        rs.iter().map(|s| sigs.sig(&s.labels)).collect();
    ls.into_iter()
        .filter(|s| !right.contains(&sigs.sig(&s.labels)))
        .collect()
}

fn match_labels_string(l: &Labels, m: &VectorMatching) -> String {
    let kept: Vec<(&str, &str)> = l
        .iter()
        .filter(|(n, _)| {
            if m.on {
                m.labels.iter().any(|x| x == n)
            } else {
                *n != METRIC_NAME && !m.labels.iter().any(|x| x == n)
            }
        })
        .collect();
    prom_labels(&Labels::new(kept))
}

/// Prometheus's `labels.Labels.String()`: `{__name__="x", a="b"}`.
pub(crate) fn prom_labels(l: &Labels) -> String {
    let mut s = String::from("{");
    for (i, (n, v)) in l.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&crate::ast::format_name(n));
        s.push('=');
        s.push_str(&crate::ast::quote(v));
    }
    s.push('}');
    s
}

/// The labels a sample is matched by (its match group): the `on` labels, or all but the
/// `ignoring` ones and the name. A side filled by `fill(...)` carries just these.
fn match_group(l: &Labels, m: &VectorMatching) -> Labels {
    Labels::new(l.iter().filter(|(n, _)| {
        if m.on {
            m.labels.iter().any(|x| x == n)
        } else {
            *n != METRIC_NAME && !m.labels.iter().any(|x| x == n)
        }
    }))
}

fn vector_binop(
    b: &Binary,
    ls: Vec<Smp>,
    rs: Vec<Smp>,
    m: &VectorMatching,
    sigs: &mut SigCache,
) -> Result<Vec<Smp>, Error> {
    // After `group_right` swaps the sides, `fill_left` fills the "many" side and `fill_right`
    // the "one" side, as in Prometheus.
    let (fill_many, fill_one) = (m.fill_left, m.fill_right);
    if (ls.is_empty() || rs.is_empty()) && fill_many.is_none() && fill_one.is_none() {
        return Ok(Vec::new());
    }
    let swapped = m.card == Cardinality::OneToMany;
    let (many, one) = if swapped { (rs, ls) } else { (ls, rs) };
    let mut one_by_sig: FastMap<u32, usize> = FastMap::default();
    for (i, s) in one.iter().enumerate() {
        let sig = sigs.sig(&s.labels);
        if let Some(&prev) = one_by_sig.get(&sig) {
            let (mut x, mut y) = (prom_labels(&s.labels), prom_labels(&one[prev].labels));
            if x > y {
                std::mem::swap(&mut x, &mut y);
            }
            let side = if swapped { "left" } else { "right" };
            return Err(Error::exec(format!(
                "found duplicate series for the match group {} on the {side} hand-side of the operation: [{}, {}];many-to-many matching not allowed: matching labels must be unique on one side",
                match_labels_string(&s.labels, m),
                x,
                y
            )));
        }
        one_by_sig.insert(sig, i);
    }
    // One-to-one: match groups already used; many-to-one: (match group, result labels) pairs.
    let mut matched: std::collections::HashSet<
        (u32, u32),
        std::hash::BuildHasherDefault<FastHasher>,
    > = Default::default();
    let mut out = Vec::new();
    let mut emit = |many_s: &Smp,
                    one_labels: &Arc<Labels>,
                    one_v: f64,
                    sig: u32,
                    labels: (Arc<Labels>, u32)|
     -> Result<(), Error> {
        let (l, r) = if swapped {
            (one_v, many_s.v)
        } else {
            (many_s.v, one_v)
        };
        let (mut v, keep) = scalar_binop(b.op, l, r);
        let _ = one_labels;
        let (labels, labels_id) = labels;
        // Matching errors are reported even for pairs a comparison then filters away.
        if m.card == Cardinality::OneToOne {
            if !matched.insert((sig, u32::MAX)) {
                return Err(Error::exec(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)",
                ));
            }
        } else if !matched.insert((sig, labels_id)) {
            return Err(Error::exec(
                "multiple matches for labels: grouping labels must ensure unique matches",
            ));
        }
        if b.return_bool {
            v = if keep { 1.0 } else { 0.0 };
        } else if !keep {
            return Ok(());
        }
        let drop_name = b.return_bool || is_arithmetic(b.op) || many_s.drop_name;
        out.push(Smp {
            labels,
            v,
            drop_name,
        });
        Ok(())
    };
    let mut seen_one: std::collections::HashSet<u32, std::hash::BuildHasherDefault<FastHasher>> =
        Default::default();
    for s in &many {
        let sig = sigs.sig(&s.labels);
        match one_by_sig.get(&sig) {
            Some(&oi) => {
                seen_one.insert(sig);
                let o = &one[oi];
                let labels = sigs.result(&s.labels, &o.labels, m);
                emit(s, &o.labels, o.v, sig, labels)?;
            }
            None => {
                if let Some(fv) = fill_one {
                    let filled = Arc::new(match_group(&s.labels, m));
                    let labels = result_labels(&s.labels, &filled, m);
                    let id = sigs.intern_result(&labels);
                    emit(s, &filled, fv, sig, (labels, id))?;
                }
            }
        }
    }
    if let Some(fv) = fill_many {
        for o in &one {
            let sig = sigs.sig(&o.labels);
            if seen_one.contains(&sig) {
                continue;
            }
            let filled = Smp {
                labels: Arc::new(match_group(&o.labels, m)),
                v: fv,
                drop_name: false,
            };
            let labels = result_labels(&filled.labels, &o.labels, m);
            let id = sigs.intern_result(&labels);
            emit(&filled, &o.labels, o.v, sig, (labels, id))?;
        }
    }
    Ok(out)
}

fn result_labels(many: &Arc<Labels>, one: &Labels, m: &VectorMatching) -> Arc<Labels> {
    if m.card == Cardinality::OneToOne {
        if m.on {
            return Arc::new(Labels::new(
                many.iter().filter(|(n, _)| m.labels.iter().any(|x| x == n)),
            ));
        }
        if m.labels.is_empty() {
            return many.clone();
        }
        return Arc::new(Labels::new(
            many.iter()
                .filter(|(n, _)| !m.labels.iter().any(|x| x == n)),
        ));
    }
    if m.include.is_empty() {
        return many.clone();
    }
    let mut pairs: Vec<(String, String)> = many
        .iter()
        .filter(|(n, _)| !m.include.iter().any(|x| x == n))
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect();
    for name in &m.include {
        if let Some(v) = one.get(name) {
            pairs.push((name.clone(), v.to_string()));
        }
    }
    Arc::new(Labels::new(pairs))
}
