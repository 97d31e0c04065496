//! The page's side of the protocol without I/O: what to send on each (re)connection, and the
//! frames from the relay turned into events, with hole detection and resume points.
//!
//! The page (`lookout-ui`), `lookout tail` and the tests all drive a [`Session`], so resume and
//! gap handling live in one place.

use std::fmt;

use crate::{
    BlockDecoder, ChunkData, DecodeError, Frame, HistoryChunk, MatcherSpec, MetricMetadata,
    PROTOCOL_VERSION, Reply, Request, Resume, SampleBatch, SeriesDef, TargetHealth, TimeColumn,
};

#[derive(Debug)]
struct ClientSub {
    matchers: Vec<MatcherSpec>,
    start: i64,
    /// The relay batch this subscription is complete up to (on the relay run `epoch`).
    last_seq: Option<u64>,
    decoder: BlockDecoder,
}

/// What a frame from the relay means to the page.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The hello was accepted; `restarted` when this is a different relay run than before.
    Welcome {
        relay_time: i64,
        restarted: bool,
    },
    /// The relay refused the connection; retrying without a change will not help.
    Refused(String),
    /// Series that later samples of `sub` refer to (numbers valid for this connection), with
    /// the HELP/TYPE/UNIT of their metric families where the targets expose them.
    Series {
        sub: u32,
        defs: Vec<SeriesDef>,
        metadata: Vec<MetricMetadata>,
    },
    /// Samples of `sub`, live or history. Samples the page already has may come again.
    Samples {
        sub: u32,
        batch: SampleBatch,
    },
    /// The relay could not replay the gap: history follows; the page may show "resynced".
    Resync {
        sub: u32,
        reason: String,
    },
    Targets(Vec<TargetHealth>),
    /// The answer to the request [`Session::request`] numbered `id`.
    Reply {
        id: u32,
        reply: Reply,
    },
}

/// The stream can no longer be trusted on this connection; reconnect (the session resumes).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SessionError {
    /// A batch named a predecessor the page never saw.
    Gap {
        sub: u32,
        prev: u64,
        last: Option<u64>,
    },
    /// A frame or sample block did not decode.
    Decode(DecodeError),
    /// A history chunk did not decode.
    BadChunk {
        sub: u32,
        series: u32,
        reason: String,
    },
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Gap { sub, prev, last } => match last {
                Some(l) => write!(
                    f,
                    "subscription {sub}: batch after {prev} arrived but the last one seen was {l}"
                ),
                None => write!(
                    f,
                    "subscription {sub}: live batch after {prev} arrived before its history"
                ),
            },
            SessionError::Decode(e) => write!(f, "{e}"),
            SessionError::BadChunk {
                sub,
                series,
                reason,
            } => write!(
                f,
                "subscription {sub}: history chunk of series {series} is corrupt: {reason}"
            ),
        }
    }
}

impl std::error::Error for SessionError {}

impl From<DecodeError> for SessionError {
    fn from(e: DecodeError) -> Self {
        SessionError::Decode(e)
    }
}

/// Subscriptions and resume points across connections to one relay.
#[derive(Debug, Default)]
pub struct Session {
    token: Option<String>,
    epoch: Option<u64>,
    /// By number, ascending (numbers only grow). Lists, not maps: a page holds tens of these,
    /// and each `BTreeMap` type is several KiB of the page's wasm.
    subs: Vec<(u32, ClientSub)>,
    /// Requests sent and not answered yet, oldest first: sent again on the next connection.
    pending: Vec<(u32, Request)>,
    next_request: u32,
}

impl Session {
    /// A session that sends `token` in its hello (never in the URL).
    pub fn new(token: Option<String>) -> Self {
        Session {
            token,
            ..Session::default()
        }
    }

    /// Adds a subscription (sent on the next connection); returns its number.
    pub fn subscribe(&mut self, matchers: Vec<MatcherSpec>, start: i64) -> u32 {
        let sub = self.subs.last().map_or(1, |s| s.0 + 1);
        self.subs.push((
            sub,
            ClientSub {
                matchers,
                start,
                last_seq: None,
                decoder: BlockDecoder::default(),
            },
        ));
        sub
    }

    /// Asks the relay something: returns the request's id (its reply, [`Event::Reply`], carries
    /// the same) and the frame to send now if connected. Unanswered requests are sent again on
    /// the next connection, so a reply arrives once the relay is reachable.
    pub fn request(&mut self, request: Request) -> (u32, Frame) {
        self.next_request = self.next_request.wrapping_add(1);
        let id = self.next_request;
        self.pending.push((id, request.clone()));
        (id, Frame::Request { id, request })
    }

    /// Forgets a request whose answer is no longer wanted (a reply may still arrive).
    pub fn cancel(&mut self, id: u32) {
        self.answered(id);
    }

    /// Takes request `id` off the pending list; false when it was not there.
    fn answered(&mut self, id: u32) -> bool {
        let at = self.pending.iter().position(|p| p.0 == id);
        at.map(|i| self.pending.remove(i)).is_some()
    }

    fn sub(&self, sub: u32) -> Option<&ClientSub> {
        let i = self.subs.binary_search_by_key(&sub, |s| s.0).ok()?;
        Some(&self.subs[i].1)
    }

    fn sub_mut(&mut self, sub: u32) -> Option<&mut ClientSub> {
        let i = self.subs.binary_search_by_key(&sub, |s| s.0).ok()?;
        Some(&mut self.subs[i].1)
    }

    /// Requests sent and not answered yet.
    pub fn pending_requests(&self) -> usize {
        self.pending.len()
    }

    /// Moves every subscription's history start (used only when the relay cannot resume).
    pub fn set_start(&mut self, start: i64) {
        for (_, s) in &mut self.subs {
            s.start = start;
        }
    }

    /// Where subscription `sub` would resume.
    pub fn resume_point(&self, sub: u32) -> Option<Resume> {
        let s = self.sub(sub)?;
        Some(Resume {
            epoch: self.epoch?,
            seq: s.last_seq?,
        })
    }

    /// The frames that open a new connection: the hello, then every subscription with its resume
    /// point. Block decoders start over: the relay's encoders do too.
    pub fn connect_frames(&mut self) -> Vec<Frame> {
        let mut out = vec![Frame::Hello {
            version: PROTOCOL_VERSION,
            token: self.token.clone(),
        }];
        let epoch = self.epoch;
        for (sub, s) in &mut self.subs {
            let sub = *sub;
            s.decoder = BlockDecoder::default();
            out.push(Frame::Subscribe {
                sub,
                matchers: s.matchers.clone(),
                start: s.start,
                resume: epoch
                    .zip(s.last_seq)
                    .map(|(epoch, seq)| Resume { epoch, seq }),
            });
        }
        for (id, request) in &self.pending {
            out.push(Frame::Request {
                id: *id,
                request: request.clone(),
            });
        }
        out
    }

    /// Interprets one frame from the relay.
    pub fn apply(&mut self, frame: Frame) -> Result<Option<Event>, SessionError> {
        Ok(Some(match frame {
            Frame::Welcome {
                relay_time, epoch, ..
            } => {
                let restarted = self.epoch.is_some_and(|e| e != epoch);
                self.epoch = Some(epoch);
                Event::Welcome {
                    relay_time,
                    restarted,
                }
            }
            Frame::Refused { reason } => Event::Refused(reason),
            Frame::Series {
                sub,
                defs,
                metadata,
            } => Event::Series {
                sub,
                defs,
                metadata,
            },
            Frame::Targets { targets } => Event::Targets(targets),
            Frame::Reply { id, reply } => {
                if !self.answered(id) {
                    // Cancelled, or answered already on an earlier connection.
                    return Ok(None);
                }
                Event::Reply { id, reply }
            }
            Frame::Resync { sub, reason } => {
                // The relay starts the subscription over: its block coder too.
                if let Some(s) = self.sub_mut(sub) {
                    s.last_seq = None;
                    s.decoder = BlockDecoder::default();
                }
                Event::Resync { sub, reason }
            }
            Frame::History {
                sub,
                seq,
                columns,
                chunks,
            } => {
                let Some(s) = self.sub_mut(sub) else {
                    return Ok(None);
                };
                let (batch, primes) =
                    decode_history(&columns, &chunks).map_err(|(series, reason)| {
                        SessionError::BadChunk {
                            sub,
                            series,
                            reason,
                        }
                    })?;
                // Live blocks continue from each series' last history samples, as the relay's.
                for (r, (prev, last)) in primes {
                    if !s.decoder.prime(r, prev, last) {
                        return Err(SessionError::Decode(DecodeError {
                            offset: 0,
                            kind: crate::DecodeErrorKind::BadBlock(
                                "more series than a subscription may hold",
                            ),
                        }));
                    }
                }
                s.last_seq = Some(s.last_seq.map_or(seq, |l| l.max(seq)));
                Event::Samples { sub, batch }
            }
            Frame::Samples {
                sub,
                seq,
                prev,
                block,
            } => {
                let Some(s) = self.sub_mut(sub) else {
                    return Ok(None);
                };
                match s.last_seq {
                    Some(last) if prev <= last => {}
                    last => return Err(SessionError::Gap { sub, prev, last }),
                }
                let batch = s.decoder.decode(&block)?;
                s.last_seq = s.last_seq.map(|l| l.max(seq));
                Event::Samples { sub, batch }
            }
            // Page -> relay frames mean nothing here.
            _ => return Ok(None),
        }))
    }
}

/// The last two samples of the last chunk of each series in a history frame, in series order.
type Primes = Vec<(u32, (Option<(i64, f64)>, (i64, f64)))>;

/// A history frame's samples; a shared timestamp column is decoded once for all its chunks.
fn decode_history(
    columns: &[TimeColumn],
    chunks: &[HistoryChunk],
) -> Result<(SampleBatch, Primes), (u32, String)> {
    let mut primes = Primes::new();
    use lookout_tsdb::chunk::col;
    use lookout_tsdb::sort::SortDyn;
    let mut batch = SampleBatch::default();
    let mut decoded: Vec<Option<Vec<i64>>> = vec![None; columns.len()];
    let mut values = Vec::new();
    for c in chunks {
        let fail = |reason: String| (c.series, reason);
        let from = batch.len();
        match &c.data {
            ChunkData::Whole { encoding, bytes } => {
                decode_chunk(bytes, *encoding, c.series, &mut batch).map_err(fail)?
            }
            ChunkData::Values { column, bytes } => {
                let i = *column as usize;
                let (Some(tcol), Some(slot)) = (columns.get(i), decoded.get_mut(i)) else {
                    return Err(fail(format!("no timestamp column {i} in the frame")));
                };
                let n = usize::from(tcol.samples);
                if slot.is_none() {
                    let mut ts = Vec::new();
                    col::decode_timestamps(&tcol.bytes, n, &mut ts)
                        .map_err(|e| fail(e.to_string()))?;
                    if ts.windows(2).any(|w| w[0] >= w[1]) {
                        return Err(fail("timestamps out of order".into()));
                    }
                    *slot = Some(ts);
                }
                let ts = slot.as_deref().unwrap_or_default();
                col::decode_values(bytes, n, &mut values).map_err(|e| fail(e.to_string()))?;
                for (&t, &v) in ts.iter().zip(&values) {
                    batch.push(c.series, t, v);
                }
            }
        }
        let n = batch.len();
        if n > from {
            let at = |i: usize| (batch.timestamps[i], batch.values[i]);
            let prev = (n - from >= 2).then(|| at(n - 2));
            primes.push((c.series, (prev, at(n - 1))));
        }
    }
    // A series' later chunks come later in the frame: its last entry wins (the sort is stable).
    primes.sort_by_key_dyn(|p| p.0);
    let mut last: Primes = Vec::with_capacity(primes.len());
    for p in primes {
        match last.last_mut() {
            Some(l) if l.0 == p.0 => *l = p,
            _ => last.push(p),
        }
    }
    Ok((batch, last))
}

fn decode_chunk(bytes: &[u8], enc: u8, series: u32, out: &mut SampleBatch) -> Result<(), String> {
    use lookout_tsdb::chunk::{ChunkIter, ChunkIterator, Encoding};
    let enc = Encoding::from_u8(enc).map_err(|e| e.to_string())?;
    let mut it = ChunkIter::new(enc, bytes).map_err(|e| e.to_string())?;
    while it.next() {
        let (t, v) = it.at();
        out.push(series, t, v);
    }
    match it.err() {
        Some(e) => Err(e.to_string()),
        None => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a panic is the failure report
mod tests {
    use super::*;
    use crate::BlockEncoder;

    fn samples(seq: u64, prev: u64, enc: &mut BlockEncoder, t: i64) -> Frame {
        let mut b = SampleBatch::default();
        b.push(1, t, 1.0);
        Frame::Samples {
            sub: 1,
            seq,
            prev,
            block: enc.encode(&b),
        }
    }

    #[test]
    fn a_reconnect_names_the_last_batch_and_a_hole_is_an_error() {
        let mut s = Session::new(Some("t".into()));
        let sub = s.subscribe(Vec::new(), 0);
        let first = s.connect_frames();
        assert!(matches!(&first[1], Frame::Subscribe { resume: None, .. }));
        s.apply(Frame::Welcome {
            version: PROTOCOL_VERSION,
            relay_time: 0,
            epoch: 7,
        })
        .unwrap();
        s.apply(Frame::History {
            sub,
            seq: 10,
            columns: Vec::new(),
            chunks: Vec::new(),
        })
        .unwrap();
        let mut enc = BlockEncoder::default();
        s.apply(samples(12, 10, &mut enc, 1000)).unwrap();
        assert_eq!(s.resume_point(sub), Some(Resume { epoch: 7, seq: 12 }));
        // A batch whose predecessor (13) never arrived.
        let err = s.apply(samples(15, 13, &mut enc, 2000)).unwrap_err();
        assert!(matches!(err, SessionError::Gap { prev: 13, .. }), "{err}");
        // Reconnecting resumes after 12, and a restarted relay is noticed.
        let again = s.connect_frames();
        assert!(matches!(
            &again[1],
            Frame::Subscribe {
                resume: Some(Resume { epoch: 7, seq: 12 }),
                ..
            }
        ));
        let welcome = s
            .apply(Frame::Welcome {
                version: PROTOCOL_VERSION,
                relay_time: 0,
                epoch: 8,
            })
            .unwrap();
        assert_eq!(
            welcome,
            Some(Event::Welcome {
                relay_time: 0,
                restarted: true
            })
        );
        // After a resync the page waits for history again: live samples first are a hole.
        s.apply(Frame::Resync {
            sub,
            reason: "restarted".into(),
        })
        .unwrap();
        let mut enc = BlockEncoder::default();
        assert!(s.apply(samples(3, 2, &mut enc, 3000)).is_err());
    }

    #[test]
    fn unanswered_requests_are_sent_again_and_replies_name_them() {
        let mut s = Session::new(None);
        let (a, fa) = s.request(Request::Targets);
        let (b, _) = s.request(Request::LabelNames {
            matchers: Vec::new(),
            range: None,
        });
        assert_ne!(a, b);
        assert_eq!(
            fa,
            Frame::Request {
                id: a,
                request: Request::Targets
            }
        );
        let reply = s
            .apply(Frame::Reply {
                id: b,
                reply: Reply::LabelNames(vec!["job".into()]),
            })
            .unwrap();
        assert_eq!(
            reply,
            Some(Event::Reply {
                id: b,
                reply: Reply::LabelNames(vec!["job".into()])
            })
        );
        // A reply again (a duplicate, or for a cancelled request) is not an event.
        assert_eq!(
            s.apply(Frame::Reply {
                id: b,
                reply: Reply::LabelNames(Vec::new()),
            })
            .unwrap(),
            None
        );
        // The connection dropped before `a` was answered: the next one asks again.
        let again = s.connect_frames();
        assert_eq!(
            again.last(),
            Some(&Frame::Request {
                id: a,
                request: Request::Targets
            })
        );
        assert_eq!(s.pending_requests(), 1);
        s.cancel(a);
        assert_eq!(s.connect_frames().len(), 1);
    }

    #[test]
    fn history_with_a_shared_timestamp_column_gives_each_series_its_samples() {
        use lookout_tsdb::chunk::col;
        let a: Vec<(i64, f64)> = (0..100).map(|i| (i * 15_000 + (i % 3), i as f64)).collect();
        let b: Vec<(i64, f64)> = a.iter().map(|&(t, v)| (t, v * 0.5 + 0.25)).collect();
        let (ca, cb) = (col::encode(&a).unwrap(), col::encode(&b).unwrap());
        let (n, ts, va) = col::split(&ca).unwrap();
        let (_, ts_b, vb) = col::split(&cb).unwrap();
        assert_eq!(ts, ts_b);
        let mut s = Session::new(None);
        let sub = s.subscribe(Vec::new(), 0);
        let chunk = |series, column, bytes: &[u8]| HistoryChunk {
            series,
            data: ChunkData::Values {
                column,
                bytes: bytes.to_vec(),
            },
        };
        let ev = s
            .apply(Frame::History {
                sub,
                seq: 1,
                columns: vec![TimeColumn {
                    samples: n,
                    bytes: ts.to_vec(),
                }],
                chunks: vec![chunk(1, 0, va), chunk(2, 0, vb)],
            })
            .unwrap();
        let Some(Event::Samples { batch, .. }) = ev else {
            panic!("{ev:?}")
        };
        let got = |id| {
            batch
                .iter()
                .filter(|s| s.0 == id)
                .map(|s| (s.1, s.2))
                .collect::<Vec<_>>()
        };
        assert_eq!(got(1), a);
        assert_eq!(got(2), b);
        // A value column too short for its timestamp column is an error naming the series.
        let err = s
            .apply(Frame::History {
                sub,
                seq: 2,
                columns: vec![TimeColumn {
                    samples: n,
                    bytes: ts.to_vec(),
                }],
                chunks: vec![chunk(7, 0, &va[..va.len() / 2])],
            })
            .unwrap_err();
        assert!(
            matches!(err, SessionError::BadChunk { series: 7, .. }),
            "{err}"
        );
    }

    #[test]
    fn live_blocks_continue_from_the_last_history_sample_on_both_sides() {
        let mut s = Session::new(None);
        let sub = s.subscribe(Vec::new(), 0);
        s.connect_frames();
        let old: Vec<(i64, f64)> = (0..10).map(|i| (i * 1000, 1e6 + i as f64)).collect();
        let chunk = lookout_tsdb::chunk::encode_xor(&old).unwrap().into_bytes();
        s.apply(Frame::History {
            sub,
            seq: 4,
            columns: Vec::new(),
            chunks: vec![HistoryChunk {
                series: 3,
                data: ChunkData::Whole {
                    encoding: 1,
                    bytes: chunk,
                },
            }],
        })
        .unwrap();
        // The relay primed its encoder with the same last sample: the next value is one step.
        let mut enc = BlockEncoder::default();
        enc.prime(3, Some((8000, 1e6 + 8.0)), (9000, 1e6 + 9.0));
        let mut b = SampleBatch::default();
        b.push(3, 10_000, 1e6 + 10.0);
        let block = enc.encode(&b);
        let unprimed = BlockEncoder::default().encode(&b);
        assert!(block.len() < unprimed.len(), "{block:?} vs {unprimed:?}");
        let ev = s
            .apply(Frame::Samples {
                sub,
                seq: 5,
                prev: 4,
                block,
            })
            .unwrap();
        assert_eq!(ev, Some(Event::Samples { sub, batch: b }));
    }
}
