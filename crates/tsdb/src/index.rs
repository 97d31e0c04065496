//! The inverted index: label name -> value -> sorted postings of series ids, and selection by
//! matchers with Prometheus semantics.
//!
//! Each distinct name and value string is stored once here (interned); postings are ascending
//! because ids are handed out in order. Selection starts from the cheapest positive matcher and
//! narrows with the rest; a label value absent on a series counts as `""`, so a matcher that
//! matches `""` also selects series without the label.

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::matcher::Shape;
use crate::sort::SortDyn;
use crate::{Labels, MatchOp, Matcher};

/// Ascending series numbers.
pub(crate) type Postings = Vec<u32>;

#[derive(Debug, Default)]
pub(crate) struct Index {
    names: BTreeMap<Box<str>, BTreeMap<Box<str>, Postings>>,
}

/// What one matcher contributes: the union of `lists` (positive) or everything but it (negative).
struct Part<'a> {
    lists: Vec<&'a [u32]>,
    positive: bool,
    total: usize,
}

impl Index {
    pub(crate) fn add(&mut self, id: u32, labels: &Labels) {
        for (n, v) in labels.iter() {
            let values = match self.names.get_mut(n) {
                Some(values) => values,
                None => self.names.entry(n.into()).or_default(),
            };
            match values.get_mut(v) {
                Some(p) => p.push(id),
                None => {
                    values.insert(v.into(), vec![id]);
                }
            }
        }
    }

    /// Takes series `id` out of the postings of its labels; values and names left without
    /// series go, so a removed series leaves nothing behind here.
    pub(crate) fn remove<'a>(&mut self, id: u32, labels: impl Iterator<Item = (&'a str, &'a str)>) {
        for (n, v) in labels {
            let Some(values) = self.names.get_mut(n) else {
                continue;
            };
            if let Some(p) = values.get_mut(v) {
                if let Ok(i) = p.binary_search(&id) {
                    p.remove(i);
                }
                if p.is_empty() {
                    values.remove(v);
                } else if p.len() < p.capacity() / 4 {
                    p.shrink_to_fit();
                }
            }
            if values.is_empty() {
                self.names.remove(n);
            }
        }
    }

    pub(crate) fn label_names(&self) -> impl Iterator<Item = &str> {
        self.names.keys().map(|k| &**k)
    }

    /// Values of one label with their postings, in value order.
    pub(crate) fn values(&self, name: &str) -> impl Iterator<Item = (&str, &Postings)> {
        self.names
            .get(name)
            .into_iter()
            .flat_map(|m| m.iter().map(|(k, p)| (&**k, p)))
    }

    /// Approximate heap bytes (strings, postings, tree nodes).
    pub(crate) fn heap_bytes(&self) -> usize {
        let mut b = 0;
        for (n, values) in &self.names {
            b += n.len() + 48;
            for (v, p) in values {
                b += v.len() + 48 + p.capacity() * 4;
            }
        }
        b
    }

    pub(crate) fn cardinality(&self) -> Vec<(String, usize, usize)> {
        self.names
            .iter()
            .map(|(n, vs)| (n.to_string(), vs.len(), vs.values().map(Vec::len).sum()))
            .collect()
    }

    /// Ids of series matching every matcher, ascending. `value_of` gives a series' value of a label for
    /// the filter path; `num_series` bounds ids.
    pub(crate) fn select<'l>(
        &self,
        matchers: &[Matcher],
        num_series: u32,
        value_of: impl Fn(u32, &str) -> Option<&'l str>,
    ) -> Vec<u32> {
        // Cheap matchers first: equality and literal sets are lookups, regexes scan values.
        let mut order: Vec<&Matcher> = matchers.iter().collect();
        order.sort_by_key_dyn(|m| match m.shape() {
            Shape::Literal(_) | Shape::Set(_) => 0,
            _ => 1,
        });
        let mut candidates: Option<Vec<u32>> = None;
        let mut negatives: Vec<Part<'_>> = Vec::new();
        for m in order {
            if let Some(c) = &mut candidates {
                if c.is_empty() {
                    return Vec::new();
                }
                // With few candidates left, checking their labels beats scanning many values.
                let distinct = self.names.get(m.name()).map_or(0, BTreeMap::len);
                if matches!(m.shape(), Shape::Regex { .. }) && c.len() < distinct {
                    c.retain(|&id| m.matches(value_of(id, m.name()).unwrap_or("")));
                    continue;
                }
            }
            let part = self.part(m);
            if !part.positive {
                negatives.push(part);
                continue;
            }
            candidates = Some(match candidates.take() {
                None => union(&part.lists, part.total, num_series),
                Some(c) => intersect(c, &part, num_series),
            });
        }
        let mut out = candidates.unwrap_or_else(|| (0..num_series).collect());
        for n in &negatives {
            if n.total > 0 {
                out = subtract(out, n, num_series);
            }
        }
        out
    }

    fn part<'a>(&'a self, m: &Matcher) -> Part<'a> {
        let values = self.names.get(m.name());
        let mut lists: Vec<&'a [u32]> = Vec::new();
        let positive = !m.matches("");
        let mut take = |p: Option<&'a Postings>| {
            if let Some(p) = p {
                lists.push(p);
            }
        };
        if let Some(values) = values {
            match (m.shape(), m.op(), positive) {
                // `="x"` selects x's postings; `!="x"` excludes exactly them. (`=""` and `!=""`
                // are about presence and take the generic path.)
                (Shape::Literal(v), MatchOp::Equal, true)
                | (Shape::Literal(v), MatchOp::NotEqual, false) => take(values.get(v.as_str())),
                // `a|b|c`: direct lookups for `=~`; for `!~` the same lookups are what to exclude.
                (Shape::Set(set), MatchOp::RegexMatch, true)
                | (Shape::Set(set), MatchOp::RegexNoMatch, false) => {
                    for v in set {
                        take(values.get(v.as_str()));
                    }
                }
                (Shape::Regex { prefix, rest_any }, MatchOp::RegexMatch, true)
                    if !prefix.is_empty() =>
                {
                    // Literal prefix: only values in the prefix's range can match.
                    let range = values
                        .range::<str, _>((Bound::Included(prefix.as_str()), Bound::Unbounded));
                    for (v, p) in range {
                        if !v.starts_with(prefix.as_str()) {
                            break;
                        }
                        if *rest_any || m.matches(v) {
                            take(Some(p));
                        }
                    }
                }
                _ => {
                    for (v, p) in values {
                        // Positive: the values that match; negative: the values that do not.
                        if m.matches(v) == positive {
                            take(Some(p));
                        }
                    }
                }
            }
        }
        let total = lists.iter().map(|l| l.len()).sum();
        Part {
            lists,
            positive,
            total,
        }
    }
}

/// A dense bit set over series ids, for unions of many postings lists.
struct Bits(Vec<u64>);

impl Bits {
    fn of(lists: &[&[u32]], n: u32) -> Bits {
        let mut b = vec![0u64; (n as usize).div_ceil(64)];
        for l in lists {
            for &id in *l {
                if let Some(w) = b.get_mut(id as usize / 64) {
                    *w |= 1 << (id % 64);
                }
            }
        }
        Bits(b)
    }
    #[inline]
    fn has(&self, id: u32) -> bool {
        self.0
            .get(id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }
}

fn union(lists: &[&[u32]], total: usize, n: u32) -> Vec<u32> {
    match lists {
        [] => Vec::new(),
        [one] => one.to_vec(),
        // Postings of different values of one label are disjoint: concatenating and sorting
        // is exact; a bit set wins once the lists cover a good part of the id space.
        _ if total < n as usize / 8 => {
            let mut v: Vec<u32> = lists.iter().flat_map(|l| l.iter().copied()).collect();
            v.sort_unstable();
            v
        }
        _ => {
            let bits = Bits::of(lists, n);
            let mut v = Vec::with_capacity(total);
            for (i, &w) in bits.0.iter().enumerate() {
                let mut w = w;
                while w != 0 {
                    v.push(i as u32 * 64 + w.trailing_zeros());
                    w &= w - 1;
                }
            }
            v
        }
    }
}

fn intersect(mut c: Vec<u32>, part: &Part<'_>, n: u32) -> Vec<u32> {
    match part.lists.as_slice() {
        [] => Vec::new(),
        [one] => {
            c.retain(|id| one.binary_search(id).is_ok());
            c
        }
        lists => {
            let bits = Bits::of(lists, n);
            c.retain(|&id| bits.has(id));
            c
        }
    }
}

fn subtract(mut c: Vec<u32>, part: &Part<'_>, n: u32) -> Vec<u32> {
    if let [one] = part.lists.as_slice() {
        c.retain(|id| one.binary_search(id).is_err());
    } else {
        let bits = Bits::of(&part.lists, n);
        c.retain(|&id| !bits.has(id));
    }
    c
}
