//! `lookout-wire`: the versioned binary protocol between the relay and its pages.
//!
//! Every WebSocket binary message is one [`Frame`]: a 4-byte header (magic `LK`, protocol
//! version, frame type) followed by the frame's fields. Samples travel columnar
//! ([`SampleBatch`]): series refs, then timestamps, then values.
//!
//! ```
//! use lookout_wire::{Frame, SampleBatch, PROTOCOL_VERSION};
//!
//! let mut batch = SampleBatch::default();
//! batch.push(7, 1_700_000_000_000, 42.0);
//! let frame = Frame::Samples { sub: 1, seq: 3, batch };
//! let bytes = frame.encode();
//! assert_eq!(Frame::decode(&bytes).unwrap(), frame);
//! assert!(Frame::decode(&bytes[..bytes.len() - 1]).is_err());
//! # let _ = PROTOCOL_VERSION;
//! ```
//!
//! Decoding never panics and never allocates more than the input can justify: every count is
//! checked against the bytes that remain before anything is reserved.

mod codec;
mod error;
mod frame;

pub use error::{DecodeError, DecodeErrorKind};
pub use frame::{Frame, MatcherSpec, SampleBatch, SeriesDef, TargetHealth};

/// The protocol version this build speaks. A peer with another version is refused in the hello.
pub const PROTOCOL_VERSION: u16 = 1;

/// The largest message either side accepts, in bytes.
pub const MAX_FRAME_BYTES: usize = 16 << 20;
