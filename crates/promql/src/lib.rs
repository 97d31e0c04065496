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
//! [`promqltest`] runs Prometheus's own test scripts against the engine. Native histograms are
//! not supported yet: a query that reads them fails with a clear error.
//!
//! No I/O happens here; the crate builds for `wasm32-unknown-unknown`.

mod aggregate;
pub mod ast;
mod engine;
mod error;
mod functions;
mod hash;
mod lexer;
mod parser;
pub mod promqltest;
mod signatures;
mod storage;
mod value;

pub use ast::{Expr, Span, ValueType};
pub use engine::{Engine, QueryRange, QueryResult, QueryStats};
pub use error::{Error, ErrorKind, ParseError, ParseErrors};
pub use parser::parse;
pub use signatures::{FUNCTIONS, Function, function};
pub use storage::{Queryable, SelectedSeries};
pub use value::{Annotation, AnnotationKind, Sample, Series, Value};
