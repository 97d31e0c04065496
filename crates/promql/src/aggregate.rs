//! Aggregation operators (`sum`, `avg`, `topk`, `count_values`, ...), one step at a time.

use crate::sort::SortDyn;
use std::collections::HashMap;
use std::sync::Arc;

use lookout_tsdb::{Labels, METRIC_NAME};

use crate::ast::{AggOp, Aggregate, format_go_float};
use crate::engine::{Ev, Smp, StepSeries, Val};
use crate::error::Error;
use crate::functions::{kahan_inc, quantile, quantile_warning};

/// Running state of one group.
#[derive(Clone)]
struct Group {
    labels: Arc<Labels>,
    drop_name: bool,
    count: f64,
    value: f64,
    kahan: f64,
    mean: f64,
    incremental: bool,
    values: Vec<f64>,
    /// Members (indices into the step's samples) for topk/bottomk/limitk/limit_ratio.
    members: Vec<usize>,
}

impl Group {
    fn new(labels: Arc<Labels>) -> Self {
        Group {
            labels,
            drop_name: false,
            count: 0.0,
            value: 0.0,
            kahan: 0.0,
            mean: 0.0,
            incremental: false,
            values: Vec::new(),
            members: Vec::new(),
        }
    }
}

/// The labels a sample is grouped by (and that the output series carries).
fn grouping_labels(l: &Labels, a: &Aggregate) -> Labels {
    if a.without {
        Labels::new(
            l.iter()
                .filter(|(n, _)| *n != METRIC_NAME && !a.grouping.iter().any(|g| g == n)),
        )
    } else {
        Labels::new(l.iter().filter(|(n, _)| a.grouping.iter().any(|g| g == n)))
    }
}

pub(crate) fn eval(ev: &mut Ev, a: &Aggregate) -> Result<Val, Error> {
    let mut param_num: Option<Vec<f64>> = None;
    let mut param_str: Option<String> = None;
    if let Some(p) = &a.param {
        if a.op == AggOp::CountValues {
            param_str = Some(ev.eval_string(p)?);
        } else {
            param_num = Some(ev.eval_scalar(p)?);
        }
    }
    if let Some(l) = &param_str
        && !crate::functions::valid_label_name(l)
    {
        return Err(Error::exec(format!(
            "invalid label name {}",
            crate::ast::quote(l)
        )));
    }
    let input = match ev.eval(&a.expr)? {
        Val::Series(ss) => match series_major(ev, a, ss, param_num.as_deref())? {
            Ok(v) => return Ok(v),
            Err(ss) => crate::engine::series_to_steps(ev.n, ss),
        },
        Val::Vector(v) => v,
        _ => return Err(Error::exec("expected instant vector in aggregation")),
    };
    // The group of a label set is computed once per distinct `Arc` (they recur at every step).
    // Input pointers stay unique: every step's vector was materialized before this loop.
    let mut key_cache: crate::engine::FastMap<*const Labels, usize> = Default::default();
    let mut group_keys: Vec<Arc<Labels>> = Vec::new();
    let mut gid_by_labels: HashMap<Arc<Labels>, usize> = HashMap::new();
    // Per step: the position of each group id in that step's groups (usize::MAX: none yet).
    let mut slot: Vec<usize> = Vec::new();
    let mut out = Vec::with_capacity(ev.n);
    let param_span = a.param.as_ref().map(|p| p.span()).unwrap_or(a.span);
    for (i, step) in input.into_iter().enumerate() {
        ev.check_cancel()?;
        let p = param_num.as_ref().map(|v| v[i]).unwrap_or(f64::NAN);
        match a.op {
            AggOp::Quantile => quantile_warning(ev, p, param_span),
            AggOp::Topk | AggOp::Bottomk | AggOp::Limitk if p.is_nan() => {
                return Err(Error::exec("Parameter value is NaN"));
            }
            AggOp::LimitRatio if p.is_nan() => {
                return Err(Error::exec("Ratio value is NaN"));
            }
            _ => {}
        }
        let mut groups: Vec<Group> = Vec::new();
        let mut gids: Vec<usize> = Vec::new();
        let mut index: HashMap<Arc<Labels>, usize> = HashMap::new();
        for (si, s) in step.iter().enumerate() {
            let gid = *key_cache.entry(Arc::as_ptr(&s.labels)).or_insert_with(|| {
                let key = Arc::new(grouping_labels(&s.labels, a));
                *gid_by_labels.entry(key.clone()).or_insert_with(|| {
                    group_keys.push(key);
                    group_keys.len() - 1
                })
            });
            let gi = if a.op == AggOp::CountValues {
                let label = param_str.as_deref().unwrap_or("");
                let value = format_value_label(s.v);
                let mut pairs: Vec<(&str, &str)> = group_keys[gid]
                    .iter()
                    .filter(|(n, _)| *n != label)
                    .collect();
                pairs.push((label, &value));
                let key = Arc::new(Labels::new(pairs));
                match index.get(&key) {
                    Some(g) => *g,
                    None => {
                        index.insert(key.clone(), groups.len());
                        groups.push(Group::new(key));
                        groups.len() - 1
                    }
                }
            } else {
                if slot.len() <= gid {
                    slot.resize(group_keys.len().max(gid + 1), usize::MAX);
                }
                if slot[gid] == usize::MAX {
                    slot[gid] = groups.len();
                    gids.push(gid);
                    groups.push(Group::new(group_keys[gid].clone()));
                }
                slot[gid]
            };
            let g = &mut groups[gi];
            g.drop_name |= s.drop_name;
            add(g, a.op, s.v, si);
        }
        for gid in gids {
            slot[gid] = usize::MAX;
        }
        out.push(finish(ev, a, groups, step, p)?);
    }
    Ok(Val::Vector(out))
}

/// Folding aggregations straight from series-major input: each series' group is found once
/// and its points are added step by step, in the same order as the step-major path (series
/// order within a step), so sums round identically. Gives the series back when this shape
/// does not apply.
fn series_major(
    ev: &mut Ev,
    a: &Aggregate,
    ss: Vec<StepSeries>,
    params: Option<&[f64]>,
) -> Result<Result<Val, Vec<StepSeries>>, Error> {
    // topk/bottomk pick series per step; the order of an instant result matters, so only
    // range evaluations (many steps) take this path.
    if matches!(a.op, AggOp::Topk | AggOp::Bottomk)
        && ev.n > 1
        && let Some(ps) = params
    {
        return top_series_major(ev, a, ss, ps).map(Ok);
    }
    let simple = matches!(
        a.op,
        AggOp::Sum
            | AggOp::Avg
            | AggOp::Count
            | AggOp::Min
            | AggOp::Max
            | AggOp::Group
            | AggOp::Stddev
            | AggOp::Stdvar
    );
    if !simple {
        return Ok(Err(ss));
    }
    let mut gid_by_labels: HashMap<Labels, usize> = HashMap::new();
    let mut keys: Vec<Arc<Labels>> = Vec::new();
    let mut drop: Vec<Option<bool>> = Vec::new();
    let mut gids = Vec::with_capacity(ss.len());
    for s in &ss {
        let key = grouping_labels(&s.labels, a);
        let gid = *gid_by_labels.entry(key.clone()).or_insert_with(|| {
            keys.push(Arc::new(key));
            drop.push(None);
            keys.len() - 1
        });
        // A group whose members disagree on dropping the name needs per-step flags.
        match drop[gid] {
            Some(d) if d != s.drop_name => return Ok(Err(ss)),
            _ => drop[gid] = Some(s.drop_name),
        }
        gids.push(gid);
    }
    let ng = keys.len();
    let mut acc: Vec<Option<Group>> = (0..ev.n * ng).map(|_| None).collect();
    for (s, &gid) in ss.iter().zip(&gids) {
        ev.check_cancel()?;
        for &(i, v) in &s.points {
            let g = acc[i as usize * ng + gid].get_or_insert_with(|| Group::new(keys[gid].clone()));
            add(g, a.op, v, 0);
        }
    }
    let mut out: Vec<StepSeries> = keys
        .iter()
        .zip(&drop)
        .map(|(k, d)| StepSeries {
            labels: k.clone(),
            drop_name: d.unwrap_or(false),
            points: Vec::new(),
        })
        .collect();
    for (k, g) in acc.iter_mut().enumerate() {
        if let Some(g) = g {
            out[k % ng]
                .points
                .push(((k / ng) as u32, simple_value(a.op, g, f64::NAN)));
        }
    }
    out.retain(|s| !s.points.is_empty());
    Ok(Ok(Val::Series(out)))
}

fn top_series_major(
    ev: &mut Ev,
    a: &Aggregate,
    ss: Vec<StepSeries>,
    ps: &[f64],
) -> Result<Val, Error> {
    if ps.iter().any(|p| p.is_nan()) {
        return Err(Error::exec("Parameter value is NaN"));
    }
    let top = a.op == AggOp::Topk;
    let mut gid_by_labels: HashMap<Labels, usize> = HashMap::new();
    let gids: Vec<usize> = ss
        .iter()
        .map(|s| {
            let next = gid_by_labels.len();
            *gid_by_labels
                .entry(grouping_labels(&s.labels, a))
                .or_insert(next)
        })
        .collect();
    let ng = gid_by_labels.len().max(1);
    // Per step, per group: (series index, value), in series order as the step-major path sees them.
    let mut per_step: Vec<Vec<(u32, f64)>> = (0..ev.n).map(|_| Vec::new()).collect();
    for (si, s) in ss.iter().enumerate() {
        for &(i, v) in &s.points {
            per_step[i as usize].push((si as u32, v));
        }
    }
    let mut picked: Vec<Vec<(u32, f64)>> = (0..ss.len()).map(|_| Vec::new()).collect();
    let mut groups: Vec<Vec<(u32, f64)>> = (0..ng).map(|_| Vec::new()).collect();
    for (i, cands) in per_step.into_iter().enumerate() {
        ev.check_cancel()?;
        let p = ps[i];
        if p < 1.0 {
            continue;
        }
        let k = if p >= usize::MAX as f64 {
            usize::MAX
        } else {
            p as usize
        };
        groups.iter_mut().for_each(Vec::clear);
        for c in cands {
            groups[gids[c.0 as usize]].push(c);
        }
        for g in &mut groups {
            let cmp = |x: &(u32, f64), y: &(u32, f64)| k_cmp(x.1, y.1, top).then(x.0.cmp(&y.0));
            if k < g.len() {
                g.select_nth_unstable_by(k, cmp);
                g.truncate(k);
            }
            for &(si, v) in g.iter() {
                picked[si as usize].push((i as u32, v));
            }
        }
    }
    let mut out = Vec::new();
    for (s, mut points) in ss.into_iter().zip(picked) {
        if !points.is_empty() {
            points.sort_by_key_dyn(|p| p.0);
            out.push(StepSeries {
                labels: s.labels,
                drop_name: s.drop_name,
                points,
            });
        }
    }
    Ok(Val::Series(out))
}

/// `count_values` label value: Go's `strconv.FormatFloat(v, 'f', -1, 64)`.
fn format_value_label(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}

fn add(g: &mut Group, op: AggOp, f: f64, idx: usize) {
    match op {
        AggOp::Sum => {
            (g.value, g.kahan) = kahan_inc(f, g.value, g.kahan);
            g.count += 1.0;
        }
        AggOp::Avg => {
            g.count += 1.0;
            if g.count == 1.0 {
                g.value = f;
                g.mean = f;
                return;
            }
            if !g.incremental {
                let (nv, nc) = kahan_inc(f, g.value, g.kahan);
                if !nv.is_infinite() {
                    g.value = nv;
                    g.kahan = nc;
                    return;
                }
                // The sum would overflow: continue with an incremental mean.
                g.incremental = true;
                g.mean = g.value / (g.count - 1.0);
                g.kahan /= g.count - 1.0;
            }
            if g.mean.is_infinite() {
                // Inf plus anything finite (or the same Inf) stays that Inf; the update below
                // would turn it into NaN.
                if (f.is_infinite() && (g.mean > 0.0) == (f > 0.0))
                    || (!f.is_infinite() && !f.is_nan())
                {
                    return;
                }
            }
            let q = (g.count - 1.0) / g.count;
            (g.mean, g.kahan) = kahan_inc(f / g.count, q * g.mean, q * g.kahan);
        }
        AggOp::Count | AggOp::CountValues | AggOp::Group => g.count += 1.0,
        AggOp::Min => {
            if g.count == 0.0 || g.value > f || g.value.is_nan() {
                g.value = f;
            }
            g.count += 1.0;
        }
        AggOp::Max => {
            if g.count == 0.0 || g.value < f || g.value.is_nan() {
                g.value = f;
            }
            g.count += 1.0;
        }
        AggOp::Stddev | AggOp::Stdvar => {
            g.count += 1.0;
            let delta = f - (g.mean + g.kahan);
            let (m, c) = kahan_inc(delta / g.count, g.mean, g.kahan);
            g.mean = m;
            g.kahan = c;
            g.value += delta * (f - (g.mean + g.kahan));
        }
        AggOp::Quantile => g.values.push(f),
        AggOp::Topk | AggOp::Bottomk | AggOp::Limitk | AggOp::LimitRatio => g.members.push(idx),
    }
}

/// Orders for topk (descending) and bottomk (ascending), NaN always last.
fn k_cmp(a: f64, b: f64, top: bool) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => {
            let o = a.partial_cmp(&b).unwrap_or(Ordering::Equal);
            if top { o.reverse() } else { o }
        }
    }
}

fn finish(
    ev: &mut Ev,
    a: &Aggregate,
    groups: Vec<Group>,
    step: Vec<Smp>,
    p: f64,
) -> Result<Vec<Smp>, Error> {
    let mut out = Vec::with_capacity(groups.len());
    match a.op {
        AggOp::Topk | AggOp::Bottomk | AggOp::Limitk => {
            if p < 1.0 {
                return Ok(out);
            }
            let k = if p >= usize::MAX as f64 {
                usize::MAX
            } else {
                p as usize
            };
            for g in groups {
                let mut members = g.members;
                if a.op != AggOp::Limitk {
                    let top = a.op == AggOp::Topk;
                    let cmp =
                        |x: &usize, y: &usize| k_cmp(step[*x].v, step[*y].v, top).then(x.cmp(y));
                    // Select the k best first (linear), then order only those.
                    if k < members.len() {
                        members.select_nth_unstable_by(k, cmp);
                        members.truncate(k);
                    }
                    members.sort_by_dyn(cmp);
                }
                members.truncate(k);
                out.extend(members.into_iter().map(|m| step[m].clone()));
            }
            return Ok(out);
        }
        AggOp::LimitRatio => {
            let mut r = p;
            if r < -1.0 {
                ev.warn(
                    a.param.as_ref().map(|x| x.span()).unwrap_or(a.span),
                    format!(
                        "ratio value should be between -1 and 1, got {}, capping to -1",
                        format_go_float(r)
                    ),
                );
                r = -1.0;
            } else if r > 1.0 {
                ev.warn(
                    a.param.as_ref().map(|x| x.span()).unwrap_or(a.span),
                    format!(
                        "ratio value should be between -1 and 1, got {}, capping to 1",
                        format_go_float(r)
                    ),
                );
                r = 1.0;
            }
            for g in groups {
                for m in g.members {
                    let off = crate::hash::labels_hash(&step[m].labels) as f64 / u64::MAX as f64;
                    if (r >= 0.0 && off < r) || (r < 0.0 && off >= 1.0 + r) {
                        out.push(step[m].clone());
                    }
                }
            }
            return Ok(out);
        }
        _ => {}
    }
    for mut g in groups {
        let v = simple_value(a.op, &mut g, p);
        // Grouping by `__name__` keeps the name, unless a member was to lose it.
        out.push(Smp {
            labels: g.labels,
            v,
            drop_name: g.drop_name,
        });
    }
    Ok(out)
}

/// The result of a group for the aggregations that fold values (not topk/limitk/...).
fn simple_value(op: AggOp, g: &mut Group, p: f64) -> f64 {
    match op {
        AggOp::Sum => {
            if g.value.is_infinite() {
                g.value
            } else {
                g.value + g.kahan
            }
        }
        AggOp::Avg => {
            if g.incremental {
                g.mean + g.kahan
            } else {
                g.value / g.count + g.kahan / g.count
            }
        }
        AggOp::Count | AggOp::CountValues => g.count,
        AggOp::Group => 1.0,
        AggOp::Min | AggOp::Max => g.value,
        AggOp::Stdvar => g.value / g.count,
        AggOp::Stddev => (g.value / g.count).sqrt(),
        AggOp::Quantile => quantile(p, &mut g.values),
        _ => unreachable_value(),
    }
}

fn unreachable_value() -> f64 {
    f64::NAN
}
