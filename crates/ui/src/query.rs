//! A panel's query: parsed once, its selectors turned into subscriptions, evaluated over the
//! page's store for the visible range.

use lookout_promql::{Engine, Expr, Value};
use lookout_tsdb::Store;
use lookout_wire::MatcherSpec;

use crate::data::SeriesView;

/// One problem the parser found, with the byte range to underline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub start: usize,
    pub end: usize,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

/// Every parse problem of `text` (none when it parses), for the editor to underline.
pub fn check(text: &str) -> Vec<Problem> {
    match lookout_promql::parse(text) {
        Ok(_) => Vec::new(),
        Err(errs) => errs
            .0
            .into_iter()
            .map(|e| Problem {
                start: e.span.start,
                end: e.span.end,
                line: e.line,
                col: e.col,
                message: e.message,
            })
            .collect(),
    }
}

/// A parsed PromQL query.
#[derive(Debug, Clone)]
pub struct PanelQuery {
    expr: Expr,
}

impl PanelQuery {
    /// Parses `text`; the error carries the parser's messages.
    pub fn parse(text: &str) -> Result<PanelQuery, String> {
        lookout_promql::parse(text)
            .map(|expr| PanelQuery { expr })
            .map_err(|e| e.to_string())
    }

    /// The selectors the query reads, as subscriptions: the page asks the relay only for these.
    pub fn subscriptions(&self) -> Vec<Vec<MatcherSpec>> {
        let mut out: Vec<Vec<MatcherSpec>> = Vec::new();
        self.expr.walk(&mut |e| {
            let m = match e {
                Expr::Vector(v) => &v.matchers,
                Expr::Matrix(m) => &m.selector.matchers,
                _ => return,
            };
            let spec: Vec<MatcherSpec> = m.iter().map(MatcherSpec::from).collect();
            if !out.contains(&spec) {
                out.push(spec);
            }
        });
        out
    }

    /// Evaluates over `[start, end]` with about one point per `width / 2` pixels, never finer
    /// than `min_step` (the scrape interval: finer steps only repeat samples).
    pub fn evaluate(
        &self,
        store: &Store,
        start: i64,
        end: i64,
        width: u32,
        min_step: i64,
    ) -> Result<Vec<SeriesView>, String> {
        let step = ((end - start) / i64::from(width.max(2) / 2))
            .max(min_step)
            .max(1);
        // Align to the step so points do not shimmer as time moves on.
        let (start, end) = (start - start.rem_euclid(step), end - end.rem_euclid(step));
        let res = Engine::default()
            .range(store, &self.expr, start, end, step)
            .map_err(|e| e.to_string())?;
        Ok(match res.value {
            Value::Matrix(series) => series
                .into_iter()
                .map(|s| SeriesView {
                    labels: s.labels,
                    points: s.points,
                })
                .collect(),
            Value::Vector(v) => v
                .into_iter()
                .map(|s| SeriesView {
                    labels: s.labels,
                    points: vec![(s.t, s.v)],
                })
                .collect(),
            Value::Scalar { t, v } => vec![SeriesView {
                labels: Default::default(),
                points: vec![(t, v)],
            }],
            Value::String { .. } => Vec::new(),
        })
    }
}

/// A panel's queries, parsed once, each with its legend format.
#[derive(Debug, Clone)]
pub struct PanelQueries(Vec<(Result<PanelQuery, String>, String)>);

/// A series of a panel's result with the name its legend shows and a key stable per label set.
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    pub name: String,
    pub key: String,
    pub series: SeriesView,
}

impl PanelQueries {
    pub fn new(targets: &[crate::panel_options::Target]) -> PanelQueries {
        PanelQueries(
            targets
                .iter()
                .filter(|t| !t.expr.trim().is_empty())
                .map(|t| (PanelQuery::parse(&t.expr), t.legend_format.clone()))
                .collect(),
        )
    }

    /// Every query over `[start, end]` (see [`PanelQuery::evaluate`]); the first error wins.
    pub fn evaluate(
        &self,
        store: &Store,
        start: i64,
        end: i64,
        width: u32,
        min_step: i64,
    ) -> Result<Vec<Named>, String> {
        let mut out = Vec::new();
        for (i, (q, legend)) in self.0.iter().enumerate() {
            let q = q.as_ref().map_err(Clone::clone)?;
            for series in q.evaluate(store, start, end, width, min_step)? {
                let labels = series.labels.to_string();
                out.push(Named {
                    name: crate::dashboard::legend_text(legend, &series.labels),
                    key: if i == 0 {
                        labels
                    } else {
                        format!("{i}/{labels}")
                    },
                    series,
                });
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_tsdb::{Labels, MatchOp};
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn selectors_become_deduplicated_subscriptions() {
        let q = PanelQuery::parse("sum(rate(x{a=\"1\"}[1m])) / sum(rate(x{a=\"1\"}[5m])) + on() y")
            .unwrap();
        let subs = q.subscriptions();
        assert_eq!(subs.len(), 2, "{subs:?}");
        assert!(subs[0].contains(&MatcherSpec::new("a", MatchOp::Equal, "1")));
        // Prometheus's own words for it.
        let err = PanelQuery::parse("sum(").unwrap_err();
        assert!(err.contains("unclosed left parenthesis"), "{err}");
    }

    #[wasm_bindgen_test]
    fn problems_carry_the_range_to_underline() {
        assert!(check("rate(x[5m])").is_empty());
        let p = check("sum(rate(x[5m]) by");
        assert!(!p.is_empty());
        assert!(
            p[0].start <= p[0].end && p[0].end <= "sum(rate(x[5m]) by".len(),
            "{p:?}"
        );
        let p = check("x{a=\"b\"} + on(");
        assert!(!p.is_empty() && !p[0].message.is_empty());
    }

    #[wasm_bindgen_test]
    fn a_rate_over_the_page_store() {
        let mut store = Store::default();
        let id = store.series_id(&Labels::new([("__name__", "c_total"), ("job", "a")]));
        for i in 0..=40 {
            store.append(id, i * 15_000, (i * 30) as f64).unwrap();
        }
        let q = PanelQuery::parse("rate(c_total[1m])").unwrap();
        let out = q.evaluate(&store, 300_000, 600_000, 100, 15_000).unwrap();
        assert_eq!(out.len(), 1);
        assert!(
            out[0].points.iter().all(|p| (p.1 - 2.0).abs() < 1e-9),
            "{:?}",
            out[0].points
        );
    }
}
