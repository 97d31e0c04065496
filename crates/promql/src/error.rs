//! Errors: parse errors with byte ranges, and evaluation errors in Prometheus's words.

use std::fmt;

use crate::ast::Span;

/// One problem in the query text, with the byte range an editor should underline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub span: Span,
    /// 1-based line and column (in characters) of `span.start`, filled in by [`crate::parse`].
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(span: Span, message: impl Into<String>) -> Self {
        ParseError {
            span,
            line: 0,
            col: 0,
            message: message.into(),
        }
    }

    pub(crate) fn locate(&mut self, input: &str) {
        let (line, col) = position(input, self.span.start);
        self.line = line;
        self.col = col;
    }
}

/// 1-based line and column of a byte offset.
pub(crate) fn position(input: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(input.len());
    let before = input.get(..offset).unwrap_or(input);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    (line, before[line_start..].chars().count() + 1)
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: parse error: {}",
            self.line, self.col, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// All problems found in one query (at least one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseErrors(pub Vec<ParseError>);

impl ParseErrors {
    pub fn first(&self) -> Option<&ParseError> {
        self.0.first()
    }
}

impl fmt::Display for ParseErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ParseErrors {}

/// Why a query could not be evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    kind: ErrorKind,
}

/// What went wrong during evaluation.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The query text does not parse.
    Parse(ParseErrors),
    /// A runtime error with Prometheus's message (duplicate series, bad parameter, ...).
    Execution(String),
    /// More samples than the engine's limit would have been held in memory.
    TooManySamples { limit: usize },
    /// The cancellation hook asked to stop.
    Canceled,
    /// The query reads native-histogram samples, which this engine does not support yet.
    NativeHistogramsUnsupported { series: String },
    /// The storage failed.
    Storage(String),
}

impl Error {
    pub fn new(kind: ErrorKind) -> Self {
        Error { kind }
    }
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
    pub(crate) fn exec(msg: impl Into<String>) -> Self {
        Error::new(ErrorKind::Execution(msg.into()))
    }
}

impl From<ParseErrors> for Error {
    fn from(e: ParseErrors) -> Self {
        Error::new(ErrorKind::Parse(e))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Parse(e) => write!(f, "{e}"),
            ErrorKind::Execution(m) => f.write_str(m),
            ErrorKind::TooManySamples { limit } => write!(
                f,
                "query processing would load too many samples into memory in query execution (limit {limit})"
            ),
            ErrorKind::Canceled => f.write_str("query was canceled in query execution"),
            ErrorKind::NativeHistogramsUnsupported { series } => {
                write!(
                    f,
                    "native histograms are not supported yet (series {series})"
                )
            }
            ErrorKind::Storage(m) => write!(f, "storage error: {m}"),
        }
    }
}

impl std::error::Error for Error {}
