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
    /// Chunk bytes do not decode: truncated, or a field out of range.
    CorruptChunk {
        encoding: &'static str,
        reason: &'static str,
    },
    /// An encoding byte that this build does not know.
    UnknownEncoding(u8),
    /// A value this encoding cannot hold exactly (the integer chunk and a fractional value).
    NotRepresentable { encoding: &'static str },
    /// A chunk already holds the most samples its header can count.
    ChunkFull,
    /// Snapshot bytes are truncated, corrupted or exceed a limit; `section` names where.
    Snapshot {
        section: &'static str,
        reason: String,
    },
    /// A snapshot written by a newer (or unknown) format version.
    SnapshotVersion { found: u16, supported: u16 },
    /// A whole chunk overlaps samples the series already holds.
    ChunkOverlap { series: u32, mint: i64, maxt: i64 },
    /// No series has this id.
    UnknownSeries(u32),
    /// Columns of a batch have different lengths.
    BatchShape {
        ids: usize,
        timestamps: usize,
        values: usize,
    },
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
            ErrorKind::CorruptChunk { encoding, reason } => {
                write!(f, "corrupt {encoding} chunk: {reason}")
            }
            ErrorKind::UnknownEncoding(b) => write!(f, "unknown chunk encoding {b}"),
            ErrorKind::NotRepresentable { encoding } => {
                write!(f, "value cannot be stored exactly in a {encoding} chunk")
            }
            ErrorKind::ChunkFull => f.write_str("chunk is full (65535 samples)"),
            ErrorKind::Snapshot { section, reason } => {
                write!(f, "bad snapshot ({section} section): {reason}")
            }
            ErrorKind::SnapshotVersion { found, supported } => {
                write!(
                    f,
                    "snapshot format version {found} is not supported (this build reads up to {supported})"
                )
            }
            ErrorKind::ChunkOverlap { series, mint, maxt } => {
                write!(
                    f,
                    "chunk [{mint}, {maxt}] overlaps samples already stored for series {series}"
                )
            }
            ErrorKind::UnknownSeries(id) => write!(f, "unknown series id {id}"),
            ErrorKind::BatchShape {
                ids,
                timestamps,
                values,
            } => write!(
                f,
                "batch columns differ in length: {ids} series ids, {timestamps} timestamps, {values} values"
            ),
        }
    }
}

impl std::error::Error for Error {}
