//! PromQL autocomplete for the panel editor: from the text before the cursor, what is being
//! typed (a function or metric, a label name inside braces, a label value inside quotes) and the
//! matching suggestions from the page's store and the engine's function table.

use crate::variables::LabelSource;
use lookout_tsdb::sort::SortDyn;

/// What the cursor is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// A word outside braces: functions, aggregations and metric names.
    Name,
    /// A label name inside `metric{...}` (`metric` may be empty).
    LabelName { metric: String },
    /// A label value: `metric{label="...`.
    LabelValue { metric: String, label: String },
}

/// The slot at the end of `before` (the text up to the cursor) and the partial word typed.
pub fn slot(before: &str) -> (Slot, String) {
    let word_start = before
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .map_or(0, |i| i + 1);
    let open_brace = before.rfind('{');
    let close_brace = before.rfind('}');
    let in_braces = open_brace.is_some_and(|o| close_brace.is_none_or(|c| c < o));
    if !in_braces {
        return (Slot::Name, before[word_start..].to_owned());
    }
    let o = open_brace.unwrap_or(0);
    let metric_start = before[..o]
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .map_or(0, |i| i + 1);
    let metric = before[metric_start..o].to_owned();
    let inside = &before[o + 1..];
    // An odd number of quotes: inside a value.
    if inside.matches('"').count() % 2 == 1 {
        let q = inside.rfind('"').unwrap_or(0);
        let typed = inside[q + 1..].to_owned();
        let lhs = inside[..q]
            .trim_end()
            .trim_end_matches(['=', '~', '!'])
            .trim_end();
        let label_start = lhs
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1);
        return (
            Slot::LabelValue {
                metric,
                label: lhs[label_start..].to_owned(),
            },
            typed,
        );
    }
    (Slot::LabelName { metric }, before[word_start..].to_owned())
}

/// At most `limit` suggestions for the slot, those starting with the typed text first.
pub fn suggest(
    source: &dyn LabelSource,
    before: &str,
    limit: usize,
) -> (Slot, String, Vec<String>) {
    let (slot, typed) = slot(before);
    let all: Vec<String> = match &slot {
        Slot::Name => {
            let mut v: Vec<String> = lookout_promql::FUNCTIONS
                .iter()
                .map(|f| f.name.to_owned())
                .chain(
                    [
                        "sum",
                        "avg",
                        "min",
                        "max",
                        "count",
                        "topk",
                        "bottomk",
                        "quantile",
                        "stddev",
                        "stdvar",
                        "count_values",
                        "group",
                    ]
                    .map(str::to_owned),
                )
                .collect();
            v.extend(source.label_values("__name__", &[], i64::MIN, i64::MAX));
            v
        }
        Slot::LabelName { metric } => {
            if metric.is_empty() {
                source.label_names()
            } else {
                let m =
                    lookout_tsdb::Matcher::new(lookout_tsdb::MatchOp::Equal, "__name__", metric);
                // The label names of that metric's series: each label with a value on them.
                let names = source.label_names();
                match m {
                    Ok(m) => names
                        .into_iter()
                        .filter(|n| n != "__name__")
                        .filter(|n| {
                            !source
                                .label_values(n, std::slice::from_ref(&m), i64::MIN, i64::MAX)
                                .is_empty()
                        })
                        .collect(),
                    Err(_) => names,
                }
            }
        }
        Slot::LabelValue { metric, label } => {
            let m: Vec<lookout_tsdb::Matcher> = (!metric.is_empty())
                .then(|| {
                    lookout_tsdb::Matcher::new(lookout_tsdb::MatchOp::Equal, "__name__", metric)
                        .ok()
                })
                .flatten()
                .into_iter()
                .collect();
            source.label_values(label, &m, i64::MIN, i64::MAX)
        }
    };
    let lower = typed.to_lowercase();
    let mut hits: Vec<String> = all
        .iter()
        .filter(|s| s.to_lowercase().starts_with(&lower) && **s != typed)
        .cloned()
        .collect();
    hits.sort_by_dyn(Ord::cmp);
    hits.dedup();
    if hits.len() < limit {
        let mut more: Vec<String> = all
            .into_iter()
            .filter(|s| {
                !lower.is_empty()
                    && !s.to_lowercase().starts_with(&lower)
                    && s.to_lowercase().contains(&lower)
            })
            .collect();
        more.sort_by_dyn(Ord::cmp);
        more.dedup();
        hits.extend(more);
    }
    hits.truncate(limit);
    (slot, typed, hits)
}

/// `text` with the word before `cursor` (of length `typed`) replaced by `choice`; returns the
/// new text and cursor. A function gets its `(`.
pub fn apply(text: &str, cursor: usize, typed: &str, choice: &str, slot: &Slot) -> (String, usize) {
    let cursor = cursor.min(text.len());
    let start = cursor.saturating_sub(typed.len());
    let insert = match slot {
        Slot::Name if lookout_promql::function(choice).is_some() => format!("{choice}("),
        _ => choice.to_owned(),
    };
    let out = format!("{}{}{}", &text[..start], insert, &text[cursor..]);
    (out, start + insert.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_tsdb::{Labels, Store};
    use wasm_bindgen_test::wasm_bindgen_test;

    fn store() -> Store {
        let mut s = Store::default();
        for l in [
            Labels::new([
                ("__name__", "http_requests_total"),
                ("job", "api"),
                ("code", "200"),
            ]),
            Labels::new([
                ("__name__", "http_requests_total"),
                ("job", "web"),
                ("code", "500"),
            ]),
            Labels::new([("__name__", "up"), ("job", "api"), ("instance", "a:1")]),
        ] {
            let id = s.series_id(&l);
            s.append(id, 0, 1.0).unwrap();
        }
        s
    }

    #[wasm_bindgen_test]
    fn slots_from_the_text_before_the_cursor() {
        assert_eq!(slot("sum(ra"), (Slot::Name, "ra".into()));
        assert_eq!(
            slot("up{jo"),
            (
                Slot::LabelName {
                    metric: "up".into()
                },
                "jo".into()
            )
        );
        assert_eq!(
            slot("up{job=\"a\", "),
            (
                Slot::LabelName {
                    metric: "up".into()
                },
                "".into()
            )
        );
        assert_eq!(
            slot("rate(x{code=~\"5"),
            (
                Slot::LabelValue {
                    metric: "x".into(),
                    label: "code".into()
                },
                "5".into()
            )
        );
        assert_eq!(slot("x{a=\"b\"} + y"), (Slot::Name, "y".into()));
    }

    #[wasm_bindgen_test]
    fn suggestions_come_from_the_store_and_the_function_table() {
        let s = store();
        let (_, _, got) = suggest(&s, "sum(rat", 10);
        assert_eq!(
            got,
            vec!["rate", "irate"],
            "prefix matches first, then substrings"
        );
        let (_, _, got) = suggest(&s, "http", 10);
        assert_eq!(got, vec!["http_requests_total"]);
        let (_, _, got) = suggest(&s, "http_requests_total{", 10);
        assert_eq!(got, vec!["code", "job"], "only the labels of that metric");
        let (slot, typed, got) = suggest(&s, "http_requests_total{job=\"", 10);
        assert_eq!(got, vec!["api", "web"]);
        let (text, cur) = apply("http_requests_total{job=\"}", 25, &typed, &got[1], &slot);
        assert_eq!((text.as_str(), cur), ("http_requests_total{job=\"web}", 28));
        let (slot, typed, got) = suggest(&s, "sum(rat", 10);
        assert_eq!(
            apply("sum(rat", 7, &typed, &got[0], &slot),
            ("sum(rate(".into(), 9)
        );
    }
}
