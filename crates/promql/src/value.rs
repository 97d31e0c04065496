//! Query results as Prometheus's API returns them: scalar, string, vector or matrix.

use std::fmt;

use lookout_tsdb::Labels;

use crate::ast::{Span, format_go_float};
use crate::error::position;

/// One sample of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    /// Milliseconds.
    pub t: i64,
    pub v: f64,
}

/// One series of a range vector or range-query result.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    /// `(milliseconds, value)` in time order.
    pub points: Vec<(i64, f64)>,
}

/// The result of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar { t: i64, v: f64 },
    String { t: i64, v: String },
    Vector(Vec<Sample>),
    Matrix(Vec<Series>),
}

impl Value {
    /// The `resultType` Prometheus's API reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::String { .. } => "string",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Scalar { v, .. } => f.write_str(&format_go_float(*v)),
            Value::String { v, .. } => write!(f, "{v:?}"),
            Value::Vector(s) => {
                for x in s {
                    writeln!(f, "{} => {}", x.labels, format_go_float(x.v))?;
                }
                Ok(())
            }
            Value::Matrix(m) => {
                for s in m {
                    write!(f, "{} =>", s.labels)?;
                    for (t, v) in &s.points {
                        write!(f, " {} @{t}", format_go_float(*v))?;
                    }
                    writeln!(f)?;
                }
                Ok(())
            }
        }
    }
}

/// Whether an annotation is a warning or merely information.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnnotationKind {
    Warning,
    Info,
}

/// A warning or info attached to a result, pointing at the expression it is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Annotation {
    pub kind: AnnotationKind,
    pub message: String,
    pub span: Span,
}

impl Annotation {
    /// Prometheus's text: `PromQL warning: <message> (line:col)`.
    pub fn render(&self, query: &str) -> String {
        let (l, c) = position(query, self.span.start);
        let kind = match self.kind {
            AnnotationKind::Warning => "warning",
            AnnotationKind::Info => "info",
        };
        format!("PromQL {kind}: {} ({l}:{c})", self.message)
    }
}
