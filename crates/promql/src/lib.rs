//! `lookout-promql`: a PromQL parser and evaluator that reads data only through [`Queryable`].
//!
//! The parser is hand-written and produces a plain syntax tree ([`Expr`]) that prints back as
//! canonical PromQL. The [`Engine`] evaluates instant and range queries with Prometheus 3.x
//! semantics over anything implementing [`Queryable`], which `lookout_tsdb::Store` does.
//!
//! ```
//! use lookout_promql::{Engine, Value, parse};
//! use lookout_tsdb::{Labels, Store};
//!
//! let mut store = Store::default();
//! let id = store.series_id(&Labels::new([("__name__", "up"), ("job", "api")]));
//! store.append(id, 0, 1.0).unwrap();
//! let expr = parse("sum by (job) (up) * 2").unwrap();
//! let res = Engine::default().instant(&store, &expr, 60_000).unwrap();
//! let Value::Vector(v) = res.value else { panic!() };
//! assert_eq!(v[0].v, 2.0);
//! assert_eq!(expr.to_string(), "sum by (job) (up) * 2");
//! ```
//!
//! Layout:
//! - `lexer`, `parser`, [`ast`]: text to tree and back (`Display` prints canonical PromQL).
//!   Errors are [`ParseErrors`]: every problem found, each with a byte [`Span`] and Prometheus's
//!   wording. Function signatures live in [`FUNCTIONS`].
//! - `engine`, `functions`, `aggregate`: evaluation. Every node is evaluated for all steps at
//!   once; instant vectors are series-major where that is cheaper (selectors, range
//!   functions, folding aggregations) and step-major for joins. Function implementations sit in
//!   a table keyed by name, checked against the parser's list by a test.
//! - [`Queryable`]: the only way the engine reads data (select series, read samples in a range),
//!   implemented here for `lookout_tsdb::Store`.
//! - [`promqltest`]: runs Prometheus's own test scripts (text in, outcomes out); the
//!   `promqltest` binary and the conformance test call it.
//!
//! Limits: [`Engine::max_samples`] and a cancellation hook ([`Engine::query`]) stop runaway
//! queries with a clear error; range queries are capped at 11,000 steps as in Prometheus.
//! Native histograms are not supported yet: a store that holds them answers
//! [`ErrorKind::NativeHistogramsUnsupported`]. Start timestamps (Prometheus's `@st` samples)
//! are not modelled, since the store does not keep them.
//!
//! No I/O happens here; the crate builds for `wasm32-unknown-unknown`. The binaries
//! (`promqltest`, `promql-eval`) and the `bench_promql` example read files and speak JSON.

mod aggregate;
pub mod ast;
mod engine;
mod error;
mod functions;
mod hash;
mod highlight;
mod lexer;
mod parser;
pub mod promqltest;
mod signatures;
/// The page's one-instance stable sorts, from `lookout_tsdb` (where every crate of the page can
/// reach them).
pub use lookout_tsdb::sort;
mod storage;
pub mod template;
mod value;

pub use ast::{Expr, Span, ValueType};
pub use engine::{Engine, QueryRange, QueryResult, QueryStats};
pub use error::{Error, ErrorKind, ParseError, ParseErrors};
pub use highlight::{TokenClass, highlight};
pub use parser::parse;
pub use signatures::{FUNCTIONS, Function, function};
pub use storage::{Queryable, SelectedSeries};
pub use value::{Annotation, AnnotationKind, Sample, Series, Value};
