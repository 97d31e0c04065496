//! The frames of the protocol and their encoding.

use lookout_tsdb::{Labels, MatchOp, Matcher};

use crate::codec::{Reader, Writer};
use crate::request::{
    METADATA_MIN_BYTES, MetricMetadata, Reply, Request, TARGET_MIN_BYTES, TargetHealth,
    read_metadata, read_reply, read_request, read_target, write_metadata, write_reply,
    write_request, write_target,
};
use crate::{DecodeError, DecodeErrorKind, MAX_FRAME_BYTES, PROTOCOL_VERSION};

const MAGIC: [u8; 2] = *b"LK";
/// In a history frame, in place of a chunk's encoding: the chunk is a value column of one of
/// the frame's timestamp columns. (No `lookout_tsdb` encoding is 0.)
const VALUES: u8 = 0;

/// One label matcher as it travels: plain data, compiled by the receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatcherSpec {
    pub name: String,
    pub op: MatchOp,
    pub value: String,
}

impl MatcherSpec {
    pub fn new(name: impl Into<String>, op: MatchOp, value: impl Into<String>) -> Self {
        MatcherSpec {
            name: name.into(),
            op,
            value: value.into(),
        }
    }
    /// Compiles the matcher (a regex that does not compile is an error naming it).
    pub fn to_matcher(&self) -> Result<Matcher, lookout_tsdb::Error> {
        Matcher::new(self.op, self.name.clone(), self.value.clone())
    }
}

impl From<&Matcher> for MatcherSpec {
    fn from(m: &Matcher) -> Self {
        MatcherSpec::new(m.name(), m.op(), m.value())
    }
}

/// A series made known to a subscription: the number its samples will carry, and its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesDef {
    pub series: u32,
    pub labels: Labels,
}

/// Samples in columns: `series[i]` had `values[i]` at `timestamps[i]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampleBatch {
    pub series: Vec<u32>,
    pub timestamps: Vec<i64>,
    pub values: Vec<f64>,
}

impl SampleBatch {
    pub fn push(&mut self, series: u32, t: i64, v: f64) {
        self.series.push(series);
        self.timestamps.push(t);
        self.values.push(v);
    }
    pub fn len(&self) -> usize {
        self.series.len()
    }
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }
    /// `(series, timestamp, value)` triples in order.
    pub fn iter(&self) -> impl Iterator<Item = (u32, i64, f64)> + '_ {
        self.series
            .iter()
            .zip(&self.timestamps)
            .zip(&self.values)
            .map(|((s, t), v)| (*s, *t, *v))
    }
}

/// Where a page left off: the relay run it was talking to and the last batch it applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resume {
    pub epoch: u64,
    pub seq: u64,
}

/// One stored chunk of one series, as `lookout_tsdb::Store::chunks` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryChunk {
    pub series: u32,
    pub data: ChunkData,
}

/// A chunk's bytes as stored, never re-encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkData {
    /// A self-contained chunk: `lookout_tsdb::chunk::Encoding` as its byte (never 0), then its
    /// bytes.
    Whole { encoding: u8, bytes: Vec<u8> },
    /// The value column of a columnar chunk whose timestamps are the frame's `columns[column]`,
    /// shared by every series scraped together with this one (sent once per frame, not once
    /// per series).
    Values { column: u32, bytes: Vec<u8> },
}

/// A shared timestamp column of columnar chunks (`lookout_tsdb::chunk::col`): `samples`
/// timestamps, coded as a grid plus exceptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeColumn {
    pub samples: u16,
    pub bytes: Vec<u8>,
}

/// One message of the protocol.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Frame {
    /// Page -> relay, first message: the version the page speaks and its credentials.
    Hello { version: u16, token: Option<String> },
    /// Page -> relay: send the series matching `matchers`, their samples since `start`, then live.
    /// When `resume` names the relay's epoch and the last batch seen, the relay replays what
    /// came after it, or answers [`Frame::Resync`] and sends history from `start` again.
    Subscribe {
        sub: u32,
        matchers: Vec<MatcherSpec>,
        start: i64,
        resume: Option<Resume>,
    },
    /// Page -> relay: stop a subscription.
    Unsubscribe { sub: u32 },
    /// Relay -> page: the hello was accepted.
    /// `epoch` names this run of the relay: sequence numbers are only comparable within one.
    Welcome {
        version: u16,
        relay_time: i64,
        epoch: u64,
    },
    /// Relay -> page: the request was refused, and why. The relay closes after it.
    Refused { reason: String },
    /// Relay -> page: series that a subscription's samples will refer to, with the HELP/TYPE/UNIT
    /// of their metric families (each family once per frame; families without any are left out).
    Series {
        sub: u32,
        defs: Vec<SeriesDef>,
        metadata: Vec<MetricMetadata>,
    },
    /// Relay -> page: live samples of a subscription from the relay's batch `seq`; `prev` is the
    /// `seq` of the subscription's previous batch, so a page notices any hole. `block` is coded
    /// against the subscription's earlier blocks on this connection ([`crate::BlockDecoder`]).
    Samples {
        sub: u32,
        seq: u64,
        prev: u64,
        block: Vec<u8>,
    },
    /// Relay -> page: a subscription's history from the window as whole stored chunks (no
    /// re-encoding), complete up to the relay's batch `seq`. Chunks may reach before `start`.
    /// Columnar chunks of series scraped together share one of `columns`.
    History {
        sub: u32,
        seq: u64,
        columns: Vec<TimeColumn>,
        chunks: Vec<HistoryChunk>,
    },
    /// Relay -> page: the gap since the page's `resume` point cannot be replayed (the relay
    /// restarted, or the gap left its replay buffer); history from `start` follows instead, and
    /// the subscription's block coding starts over.
    Resync { sub: u32, reason: String },
    /// Relay -> page: health of every target, sent when any target's health changes.
    Targets { targets: Vec<TargetHealth> },
    /// Page -> relay: a question; the relay answers with a [`Frame::Reply`] carrying the same
    /// `id`. Requests are answered in order, between live batches.
    Request { id: u32, request: Request },
    /// Relay -> page: the answer to request `id` (or why there is none: [`Reply::Error`]).
    Reply { id: u32, reply: Reply },
}

mod tag {
    pub const HELLO: u8 = 1;
    pub const SUBSCRIBE: u8 = 2;
    pub const UNSUBSCRIBE: u8 = 3;
    pub const WELCOME: u8 = 16;
    pub const REFUSED: u8 = 17;
    pub const SERIES: u8 = 18;
    pub const SAMPLES: u8 = 19;
    pub const TARGETS: u8 = 20;
    pub const HISTORY: u8 = 21;
    pub const RESYNC: u8 = 22;
    pub const REQUEST: u8 = 4;
    pub const REPLY: u8 = 23;
}

fn op_code(op: MatchOp) -> u8 {
    match op {
        MatchOp::Equal => 0,
        MatchOp::NotEqual => 1,
        MatchOp::RegexMatch => 2,
        MatchOp::RegexNoMatch => 3,
    }
}

impl Frame {
    /// The frame as one binary WebSocket message.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.buf.extend_from_slice(&MAGIC);
        w.u8(PROTOCOL_VERSION as u8);
        match self {
            Frame::Hello { version, token } => {
                w.u8(tag::HELLO);
                w.uvarint(u64::from(*version));
                match token {
                    Some(t) => {
                        w.u8(1);
                        w.str(t);
                    }
                    None => w.u8(0),
                }
            }
            Frame::Subscribe {
                sub,
                matchers,
                start,
                resume,
            } => {
                w.u8(tag::SUBSCRIBE);
                w.uvarint(u64::from(*sub));
                w.varint(*start);
                match resume {
                    Some(r) => {
                        w.u8(1);
                        w.uvarint(r.epoch);
                        w.uvarint(r.seq);
                    }
                    None => w.u8(0),
                }
                write_matchers(&mut w, matchers);
            }
            Frame::Unsubscribe { sub } => {
                w.u8(tag::UNSUBSCRIBE);
                w.uvarint(u64::from(*sub));
            }
            Frame::Welcome {
                version,
                relay_time,
                epoch,
            } => {
                w.u8(tag::WELCOME);
                w.uvarint(u64::from(*version));
                w.varint(*relay_time);
                w.uvarint(*epoch);
            }
            Frame::Refused { reason } => {
                w.u8(tag::REFUSED);
                w.str(reason);
            }
            Frame::Series {
                sub,
                defs,
                metadata,
            } => {
                w.u8(tag::SERIES);
                w.uvarint(u64::from(*sub));
                w.uvarint(defs.len() as u64);
                for d in defs {
                    w.uvarint(u64::from(d.series));
                    write_labels(&mut w, &d.labels);
                }
                w.uvarint(metadata.len() as u64);
                for m in metadata {
                    write_metadata(&mut w, m);
                }
            }
            Frame::Samples {
                sub,
                seq,
                prev,
                block,
            } => {
                w.u8(tag::SAMPLES);
                w.uvarint(u64::from(*sub));
                w.uvarint(*seq);
                w.uvarint(*prev);
                w.bytes(block);
            }
            Frame::History {
                sub,
                seq,
                columns,
                chunks,
            } => {
                w.u8(tag::HISTORY);
                w.uvarint(u64::from(*sub));
                w.uvarint(*seq);
                w.uvarint(columns.len() as u64);
                for c in columns {
                    w.uvarint(u64::from(c.samples));
                    w.bytes(&c.bytes);
                }
                // Per chunk: the series as a zig-zag delta from the previous chunk's (chunks go
                // by series, so mostly 0 or 1: one byte), then one byte that is either
                // `VALUES` (a column index follows) or the whole chunk's encoding.
                w.uvarint(chunks.len() as u64);
                let mut prev = 0i64;
                for c in chunks {
                    w.varint(i64::from(c.series) - prev);
                    prev = i64::from(c.series);
                    match &c.data {
                        ChunkData::Whole { encoding, bytes } => {
                            w.u8(*encoding);
                            w.bytes(bytes);
                        }
                        ChunkData::Values { column, bytes } => {
                            w.u8(VALUES);
                            w.uvarint(u64::from(*column));
                            w.bytes(bytes);
                        }
                    }
                }
            }
            Frame::Resync { sub, reason } => {
                w.u8(tag::RESYNC);
                w.uvarint(u64::from(*sub));
                w.str(reason);
            }
            Frame::Targets { targets } => {
                w.u8(tag::TARGETS);
                w.uvarint(targets.len() as u64);
                for t in targets {
                    write_target(&mut w, t);
                }
            }
            Frame::Request { id, request } => {
                w.u8(tag::REQUEST);
                w.uvarint(u64::from(*id));
                write_request(&mut w, request);
            }
            Frame::Reply { id, reply } => {
                w.u8(tag::REPLY);
                w.uvarint(u64::from(*id));
                write_reply(&mut w, reply);
            }
        }
        w.buf
    }

    /// A refusal a peer speaking protocol `version` can read: `Hello` and `Refused` keep one
    /// layout in every version, so a page and a relay of different versions still tell the user
    /// why they cannot talk instead of failing to decode each other.
    pub fn refusal_for(version: u16, reason: &str) -> Vec<u8> {
        let mut w = Writer::default();
        w.buf.extend_from_slice(&MAGIC);
        w.u8(u8::try_from(version).unwrap_or(u8::MAX));
        w.u8(tag::REFUSED);
        w.str(reason);
        w.buf
    }

    /// Decodes one message. Hostile input gives an error, never a panic.
    pub fn decode(bytes: &[u8]) -> Result<Frame, DecodeError> {
        if bytes.len() > MAX_FRAME_BYTES {
            return Err(DecodeError {
                offset: 0,
                kind: DecodeErrorKind::FrameTooLarge(bytes.len()),
            });
        }
        let mut r = Reader::new(bytes);
        if r.bytes(2).map_err(|_| r.err(DecodeErrorKind::BadMagic))? != MAGIC {
            return Err(DecodeError {
                offset: 0,
                kind: DecodeErrorKind::BadMagic,
            });
        }
        let version = r.u8()?;
        let kind = r.u8()?;
        // Hello and Refused read the same in every version (see `refusal_for`).
        if u16::from(version) != PROTOCOL_VERSION && kind != tag::HELLO && kind != tag::REFUSED {
            return Err(DecodeError {
                offset: 2,
                kind: DecodeErrorKind::UnsupportedVersion(version),
            });
        }
        let frame = match kind {
            tag::HELLO => {
                let version = u16::try_from(r.uvarint()?).unwrap_or(u16::MAX);
                let token = match r.u8()? {
                    0 => None,
                    _ => Some(r.str()?.to_owned()),
                };
                Frame::Hello { version, token }
            }
            tag::SUBSCRIBE => {
                let sub = r.u32()?;
                let start = r.varint()?;
                let resume = match r.u8()? {
                    0 => None,
                    _ => Some(Resume {
                        epoch: r.uvarint()?,
                        seq: r.uvarint()?,
                    }),
                };
                let matchers = read_matchers(&mut r)?;
                Frame::Subscribe {
                    sub,
                    matchers,
                    start,
                    resume,
                }
            }
            tag::UNSUBSCRIBE => Frame::Unsubscribe { sub: r.u32()? },
            tag::WELCOME => {
                let version = u16::try_from(r.uvarint()?).unwrap_or(u16::MAX);
                Frame::Welcome {
                    version,
                    relay_time: r.varint()?,
                    epoch: r.uvarint()?,
                }
            }
            tag::REFUSED => Frame::Refused {
                reason: r.str()?.to_owned(),
            },
            tag::SERIES => {
                let sub = r.u32()?;
                let n = r.count(2)?;
                let mut defs = Vec::with_capacity(n);
                for _ in 0..n {
                    let series = r.u32()?;
                    let labels = read_labels(&mut r)?;
                    defs.push(SeriesDef { series, labels });
                }
                let n = r.count(METADATA_MIN_BYTES)?;
                let mut metadata = Vec::with_capacity(n);
                for _ in 0..n {
                    metadata.push(read_metadata(&mut r)?);
                }
                Frame::Series {
                    sub,
                    defs,
                    metadata,
                }
            }
            tag::SAMPLES => Frame::Samples {
                sub: r.u32()?,
                seq: r.uvarint()?,
                prev: r.uvarint()?,
                block: r.byte_string()?.to_vec(),
            },
            tag::HISTORY => {
                let sub = r.u32()?;
                let seq = r.uvarint()?;
                let n = r.count(2)?;
                let mut columns = Vec::with_capacity(n);
                for _ in 0..n {
                    let samples = u16::try_from(r.uvarint()?).map_err(|_| {
                        r.err(DecodeErrorKind::BadBlock("column over 65535 samples"))
                    })?;
                    columns.push(TimeColumn {
                        samples,
                        bytes: r.byte_string()?.to_vec(),
                    });
                }
                let n = r.count(3)?;
                let mut chunks = Vec::with_capacity(n);
                let mut prev = 0i64;
                for _ in 0..n {
                    let series = prev
                        .checked_add(r.varint()?)
                        .and_then(|s| u32::try_from(s).ok())
                        .ok_or_else(|| r.err(DecodeErrorKind::BadBlock("series out of range")))?;
                    prev = i64::from(series);
                    let data = match r.u8()? {
                        VALUES => {
                            let column = r.u32()?;
                            if column as usize >= columns.len() {
                                return Err(r.err(DecodeErrorKind::BadBlock(
                                    "chunk names a timestamp column the frame does not have",
                                )));
                            }
                            ChunkData::Values {
                                column,
                                bytes: r.byte_string()?.to_vec(),
                            }
                        }
                        encoding => ChunkData::Whole {
                            encoding,
                            bytes: r.byte_string()?.to_vec(),
                        },
                    };
                    chunks.push(HistoryChunk { series, data });
                }
                Frame::History {
                    sub,
                    seq,
                    columns,
                    chunks,
                }
            }
            tag::RESYNC => Frame::Resync {
                sub: r.u32()?,
                reason: r.str()?.to_owned(),
            },
            tag::TARGETS => {
                let n = r.count(TARGET_MIN_BYTES)?;
                let mut targets = Vec::with_capacity(n);
                for _ in 0..n {
                    targets.push(read_target(&mut r)?);
                }
                Frame::Targets { targets }
            }
            tag::REQUEST => Frame::Request {
                id: r.u32()?,
                request: read_request(&mut r)?,
            },
            tag::REPLY => Frame::Reply {
                id: r.u32()?,
                reply: read_reply(&mut r)?,
            },
            t => {
                return Err(DecodeError {
                    offset: 3,
                    kind: DecodeErrorKind::UnknownFrameType(t),
                });
            }
        };
        r.finish()?;
        Ok(frame)
    }
}

pub(crate) fn write_matchers(w: &mut Writer, matchers: &[MatcherSpec]) {
    w.uvarint(matchers.len() as u64);
    for m in matchers {
        w.str(&m.name);
        w.u8(op_code(m.op));
        w.str(&m.value);
    }
}

pub(crate) fn read_matchers(r: &mut Reader<'_>) -> Result<Vec<MatcherSpec>, DecodeError> {
    let n = r.count(3)?;
    let mut matchers = Vec::with_capacity(n);
    for _ in 0..n {
        let name = r.str()?.to_owned();
        let op = match r.u8()? {
            0 => MatchOp::Equal,
            1 => MatchOp::NotEqual,
            2 => MatchOp::RegexMatch,
            3 => MatchOp::RegexNoMatch,
            o => return Err(r.err(DecodeErrorKind::UnknownMatchOp(o))),
        };
        let value = r.str()?.to_owned();
        matchers.push(MatcherSpec { name, op, value });
    }
    Ok(matchers)
}

pub(crate) fn write_labels(w: &mut Writer, labels: &Labels) {
    w.uvarint(labels.len() as u64);
    for (n, v) in labels.iter() {
        w.str(n);
        w.str(v);
    }
}

pub(crate) fn read_labels(r: &mut Reader<'_>) -> Result<Labels, DecodeError> {
    let k = r.count(2)?;
    let mut pairs = Vec::with_capacity(k);
    for _ in 0..k {
        pairs.push((r.str()?, r.str()?));
    }
    Ok(Labels::new(pairs))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a panic is the failure report
mod tests {
    use super::*;
    use crate::{Health, MetricType, ReplyErrorKind, TimeRange};

    fn all_frames() -> Vec<Frame> {
        let mut batch = SampleBatch::default();
        for (i, v) in [
            0.0,
            -0.0,
            1.5,
            -3.0,
            f64::INFINITY,
            f64::from_bits(lookout_tsdb::STALE_NAN_BITS),
            9e15,
            1e300,
        ]
        .into_iter()
        .enumerate()
        {
            batch.push(i as u32 * 3, -5 + i as i64 * 15_000, v);
        }
        let block = crate::BlockEncoder::default().encode(&batch);
        let xor = lookout_tsdb::chunk::encode_xor(&[(1000, 1.0), (16_000, 2.5)])
            .unwrap()
            .into_bytes();
        let col = lookout_tsdb::chunk::col::encode(&[(1000, 1.0), (16_000, 2.5)]).unwrap();
        let (_, tcol, values) = lookout_tsdb::chunk::col::split(&col).unwrap();
        let (tcol, values) = (tcol.to_vec(), values.to_vec());
        let target = TargetHealth {
            scrape_pool: "api".into(),
            scrape_url: "http://127.0.0.1:9/metrics".into(),
            labels: Labels::new([("job", "api"), ("instance", "127.0.0.1:9")]),
            health: Health::Down,
            last_error: "connection refused".into(),
            last_scrape: 5,
            last_duration_seconds: 0.25,
        };
        vec![
            Frame::Hello {
                version: PROTOCOL_VERSION,
                token: Some("sekret".into()),
            },
            Frame::Hello {
                version: PROTOCOL_VERSION,
                token: None,
            },
            Frame::Subscribe {
                sub: 2,
                start: -1,
                matchers: vec![
                    MatcherSpec::new("__name__", MatchOp::RegexMatch, "up|x"),
                    MatcherSpec::new("job", MatchOp::NotEqual, ""),
                ],
                resume: Some(Resume {
                    epoch: 77,
                    seq: 1234,
                }),
            },
            Frame::Subscribe {
                sub: 3,
                start: 0,
                matchers: vec![],
                resume: None,
            },
            Frame::Unsubscribe { sub: 9 },
            Frame::Welcome {
                version: PROTOCOL_VERSION,
                relay_time: 1_700_000_000_000,
                epoch: u64::MAX,
            },
            Frame::Refused {
                reason: "wrong token".into(),
            },
            Frame::Series {
                sub: 1,
                defs: vec![SeriesDef {
                    series: 4,
                    labels: Labels::new([("__name__", "up"), ("job", "a\"b")]),
                }],
                metadata: vec![
                    MetricMetadata {
                        metric: "http_request_duration_seconds".into(),
                        kind: MetricType::Histogram,
                        help: "Request latency.".into(),
                        unit: "seconds".into(),
                    },
                    MetricMetadata {
                        metric: "up".into(),
                        kind: MetricType::Unknown,
                        help: String::new(),
                        unit: String::new(),
                    },
                ],
            },
            Frame::Samples {
                sub: 1,
                seq: u64::MAX,
                prev: 5,
                block,
            },
            Frame::History {
                sub: 1,
                seq: 9,
                columns: vec![TimeColumn {
                    samples: 2,
                    bytes: tcol,
                }],
                chunks: vec![
                    HistoryChunk {
                        series: 4,
                        data: ChunkData::Whole {
                            encoding: 1,
                            bytes: xor,
                        },
                    },
                    HistoryChunk {
                        series: 5,
                        data: ChunkData::Values {
                            column: 0,
                            bytes: values,
                        },
                    },
                ],
            },
            Frame::Resync {
                sub: 1,
                reason: "relay restarted".into(),
            },
            Frame::Targets {
                targets: vec![target.clone()],
            },
            Frame::Request {
                id: 1,
                request: Request::LabelNames {
                    matchers: vec![],
                    range: None,
                },
            },
            Frame::Request {
                id: 2,
                request: Request::LabelValues {
                    name: "job".into(),
                    matchers: vec![MatcherSpec::new("__name__", MatchOp::Equal, "up")],
                    range: Some(TimeRange {
                        start: -5,
                        end: 1_700_000_000_000,
                    }),
                },
            },
            Frame::Request {
                id: 3,
                request: Request::Series {
                    matchers: vec![MatcherSpec::new("job", MatchOp::RegexNoMatch, "a.*")],
                    range: None,
                },
            },
            Frame::Request {
                id: 4,
                request: Request::Metadata {
                    metric: Some("up".into()),
                },
            },
            Frame::Request {
                id: 5,
                request: Request::Metadata { metric: None },
            },
            Frame::Request {
                id: u32::MAX,
                request: Request::Targets,
            },
            Frame::Request {
                id: 7,
                request: Request::Dashboard {
                    uid: "status".into(),
                },
            },
            Frame::Reply {
                id: 7,
                reply: Reply::Dashboard(r#"{"uid":"status","panels":[]}"#.into()),
            },
            Frame::Reply {
                id: 1,
                reply: Reply::LabelNames(vec!["__name__".into(), "job".into()]),
            },
            Frame::Reply {
                id: 2,
                reply: Reply::LabelValues(vec!["api".into(), "é".into()]),
            },
            Frame::Reply {
                id: 3,
                reply: Reply::Series(vec![Labels::new([("__name__", "up")]), Labels::default()]),
            },
            Frame::Reply {
                id: 4,
                reply: Reply::Metadata(vec![MetricMetadata {
                    metric: "up".into(),
                    kind: MetricType::Gauge,
                    help: "1 if the scrape worked".into(),
                    unit: String::new(),
                }]),
            },
            Frame::Reply {
                id: 5,
                reply: Reply::Targets(vec![target]),
            },
            Frame::Reply {
                id: 6,
                reply: Reply::Error {
                    kind: ReplyErrorKind::BadRequest,
                    message: "bad matcher".into(),
                },
            },
        ]
    }

    #[test]
    fn every_frame_round_trips_bit_for_bit() {
        for f in all_frames() {
            let bytes = f.encode();
            let back = Frame::decode(&bytes).unwrap();
            // Compare re-encodings so NaN payloads count as equal only when their bits are.
            assert_eq!(back.encode(), bytes, "{f:?}");
        }
    }

    #[test]
    fn every_prefix_and_every_byte_flip_is_an_error_or_a_frame_never_a_panic() {
        for f in all_frames() {
            let bytes = f.encode();
            for cut in 0..bytes.len() {
                assert!(
                    Frame::decode(&bytes[..cut]).is_err(),
                    "prefix {cut} of {f:?} decoded"
                );
            }
            for i in 0..bytes.len() {
                for bit in 0..8 {
                    let mut b = bytes.clone();
                    b[i] ^= 1 << bit;
                    let _ = Frame::decode(&b);
                }
            }
        }
    }

    #[test]
    fn huge_counts_are_refused_before_allocating() {
        let mut w = Writer::default();
        w.buf.extend_from_slice(b"LK");
        w.u8(PROTOCOL_VERSION as u8);
        w.u8(tag::HISTORY);
        w.uvarint(1);
        w.uvarint(1);
        w.uvarint(u64::MAX / 2);
        let e = Frame::decode(&w.buf).unwrap_err();
        assert!(
            matches!(e.kind, DecodeErrorKind::LengthTooLarge { .. }),
            "{e}"
        );
    }

    #[test]
    fn a_hello_and_a_refusal_read_across_versions() {
        // A page of protocol 2 says hello to this relay: the relay can read which version it
        // speaks, and answer in a refusal that page can read.
        let v2_hello = [b'L', b'K', 2, tag::HELLO, 2, 0];
        assert_eq!(
            Frame::decode(&v2_hello).unwrap(),
            Frame::Hello {
                version: 2,
                token: None
            }
        );
        let refusal = Frame::refusal_for(2, "this relay speaks protocol 3");
        assert_eq!(&refusal[..4], &[b'L', b'K', 2, tag::REFUSED]);
        assert_eq!(
            Frame::decode(&refusal).unwrap(),
            Frame::Refused {
                reason: "this relay speaks protocol 3".into()
            }
        );
        // Anything else of another version is an error naming it.
        let mut b = Frame::Request {
            id: 1,
            request: Request::Targets,
        }
        .encode();
        b[2] = 2;
        assert_eq!(
            Frame::decode(&b).unwrap_err().kind,
            DecodeErrorKind::UnsupportedVersion(2)
        );
    }

    #[test]
    fn other_versions_are_named() {
        let mut b = Frame::Unsubscribe { sub: 1 }.encode();
        b[2] = 9;
        assert_eq!(
            Frame::decode(&b).unwrap_err().kind,
            DecodeErrorKind::UnsupportedVersion(9)
        );
    }
}
