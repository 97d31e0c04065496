//! Decoding errors: what was wrong with the bytes, and where.

use std::fmt;

/// A frame that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    /// Byte offset in the frame where decoding stopped.
    pub offset: usize,
    pub kind: DecodeErrorKind,
}

/// What was wrong with a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    BadMagic,
    UnsupportedVersion(u8),
    UnknownFrameType(u8),
    Truncated,
    VarintOverflow,
    /// A count or length larger than the bytes that remain could hold.
    LengthTooLarge {
        len: u64,
        remaining: usize,
    },
    InvalidUtf8,
    UnknownMatchOp(u8),
    TrailingBytes(usize),
    FrameTooLarge(usize),
    /// A sample block or history frame that does not decode against its state.
    BadBlock(&'static str),
    /// A one-byte choice (request kind, metric type, health, ...) with no meaning here.
    UnknownTag(&'static str, u8),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad frame at byte {}: ", self.offset)?;
        match &self.kind {
            DecodeErrorKind::BadMagic => f.write_str("not a Lookout frame (bad magic)"),
            DecodeErrorKind::UnsupportedVersion(v) => write!(f, "unsupported protocol version {v}"),
            DecodeErrorKind::UnknownFrameType(t) => write!(f, "unknown frame type {t}"),
            DecodeErrorKind::Truncated => f.write_str("truncated"),
            DecodeErrorKind::VarintOverflow => f.write_str("varint longer than 64 bits"),
            DecodeErrorKind::LengthTooLarge { len, remaining } => {
                write!(f, "length {len} exceeds the {remaining} bytes that remain")
            }
            DecodeErrorKind::InvalidUtf8 => f.write_str("string is not valid UTF-8"),
            DecodeErrorKind::UnknownMatchOp(op) => write!(f, "unknown matcher operator {op}"),
            DecodeErrorKind::TrailingBytes(n) => write!(f, "{n} unexpected bytes after the frame"),
            DecodeErrorKind::FrameTooLarge(n) => write!(f, "frame of {n} bytes exceeds the limit"),
            DecodeErrorKind::BadBlock(why) => write!(f, "bad sample block: {why}"),
            DecodeErrorKind::UnknownTag(what, t) => write!(f, "unknown {what} {t}"),
        }
    }
}

impl std::error::Error for DecodeError {}
