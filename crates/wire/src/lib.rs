//! `lookout-wire`: the versioned binary protocol between the relay and its pages.
//!
//! Every WebSocket binary message is one [`Frame`]: a 4-byte header (magic `LK`, protocol
//! version, frame type) followed by the frame's fields. Live samples travel as columnar blocks
//! coded against the previous sample of each series ([`BlockEncoder`] / [`BlockDecoder`], one
//! pair per subscription and connection); history travels as the store's own chunks
//! ([`Frame::History`]). Every live batch carries the relay's batch number and its predecessor's,
//! so a page ([`Session`]) notices holes and resumes where it left off after a reconnect.
//!
//! ```
//! use lookout_wire::{BlockDecoder, BlockEncoder, Frame, SampleBatch};
//!
//! let (mut enc, mut dec) = (BlockEncoder::default(), BlockDecoder::default());
//! let mut batch = SampleBatch::default();
//! batch.push(7, 1_700_000_000_000, 42.0);
//! let frame = Frame::Samples { sub: 1, seq: 3, prev: 2, block: enc.encode(&batch) };
//! let bytes = frame.encode();
//! let Frame::Samples { block, .. } = Frame::decode(&bytes).unwrap() else { unreachable!() };
//! assert_eq!(dec.decode(&block).unwrap(), batch);
//! assert!(Frame::decode(&bytes[..bytes.len() - 1]).is_err());
//! ```
//!
//! Decoding never panics and never allocates more than the input can justify: every count is
//! checked against the bytes that remain before anything is reserved.

mod block;
mod codec;
mod error;
mod frame;
mod request;
mod session;

pub use block::{BlockDecoder, BlockEncoder, MAX_SERIES_PER_SUBSCRIPTION};
pub use error::{DecodeError, DecodeErrorKind};
pub use frame::{
    ChunkData, Frame, HistoryChunk, MatcherSpec, Resume, SampleBatch, SeriesDef, TimeColumn,
};
pub use lookout_tsdb::exposition::MetricType;
pub use request::{
    Health, MetricMetadata, Reply, ReplyErrorKind, Request, TargetHealth, TimeRange,
    family_candidates,
};
pub use session::{Event, Session, SessionError};

/// The protocol version this build speaks. A peer with another version is refused in the hello.
/// Version 2: epochs and resume points, live blocks coded per subscription, history as chunks.
/// Version 3: requests and replies, metric metadata with series, shared timestamp columns in
/// history, target labels and health.
/// Version 4: live block values with decimal scales, exp-Golomb step changes of adaptive order
/// and reused XOR windows. `Hello` and `Refused` read the same in every version, so a mismatch
/// is a refusal the user can read ([`Frame::refusal_for`]).
pub const PROTOCOL_VERSION: u16 = 4;

/// The largest message either side accepts, in bytes.
/// The relay's limit on what a page sends is much smaller (see the relay's stream settings).
pub const MAX_FRAME_BYTES: usize = 16 << 20;
