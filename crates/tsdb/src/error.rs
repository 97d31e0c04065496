//! The error type of this crate.

use std::fmt;

/// An error from the store, a matcher or a decoder, with what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
}

/// What went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A regular expression in a matcher does not compile.
    InvalidRegex { pattern: String, reason: String },
}

impl Error {
    pub fn new(kind: ErrorKind) -> Self {
        Error { kind }
    }
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::InvalidRegex { pattern, reason } => {
                write!(f, "invalid regular expression {pattern:?}: {reason}")
            }
        }
    }
}

impl std::error::Error for Error {}
