//! Requests a page makes besides its subscriptions, and the relay's replies: label names and
//! values (autocomplete, dashboard variables), series, metric metadata (HELP/TYPE/UNIT), target
//! health (the targets view). Each request carries an id the page chooses; the reply echoes it.
//! A request the relay cannot answer gets [`Reply::Error`], never a silence or a closed socket.

use lookout_tsdb::Labels;
use lookout_tsdb::exposition::MetricType;

use crate::codec::{Reader, Writer};
use crate::frame::{read_labels, read_matchers, write_labels, write_matchers};
use crate::{DecodeError, DecodeErrorKind, MatcherSpec};

/// A closed time range, ms since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start: i64,
    pub end: i64,
}

/// What a page asks the relay. Matchers follow Prometheus's API: empty means every series.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Request {
    /// Label names of the series matching `matchers` (with samples in `range`, when given).
    LabelNames {
        matchers: Vec<MatcherSpec>,
        range: Option<TimeRange>,
    },
    /// Values of label `name` among the series matching `matchers` (with samples in `range`).
    LabelValues {
        name: String,
        matchers: Vec<MatcherSpec>,
        range: Option<TimeRange>,
    },
    /// Label sets of the series matching `matchers` (at least one matcher, as in Prometheus).
    Series {
        matchers: Vec<MatcherSpec>,
        range: Option<TimeRange>,
    },
    /// HELP/TYPE/UNIT of metric families: all of them, or only `metric`'s.
    Metadata { metric: Option<String> },
    /// Health of every scrape target.
    Targets,
    /// A dashboard the relay provisions (`--dashboards`), by uid: its JSON.
    Dashboard { uid: String },
}

/// HELP/TYPE/UNIT of one metric family as its targets expose them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricMetadata {
    /// The family name as written in `# TYPE` (for 0.0.4 counters often with `_total`).
    pub metric: String,
    pub kind: MetricType,
    pub help: String,
    /// OpenMetrics `# UNIT`; empty when not given.
    pub unit: String,
}

/// Suffixes a sample name carries beyond its family's name, in the order they are tried.
/// (`_total` is part of a 0.0.4 counter's family name but not of an OpenMetrics one.)
const FAMILY_SUFFIXES: [&str; 8] = [
    "_bucket", "_count", "_sum", "_total", "_created", "_gcount", "_gsum", "_info",
];

/// The family names a sample named `name` may belong to, most likely first: the name itself,
/// then the name without a histogram/summary/counter suffix (`req_seconds` for
/// `req_seconds_bucket`). Relay and page look metadata up with the first that is known.
pub fn family_candidates(name: &str) -> impl Iterator<Item = &str> {
    std::iter::once(name).chain(FAMILY_SUFFIXES.iter().filter_map(|s| name.strip_suffix(s)))
}

/// Whether a target's last scrape worked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Not scraped yet.
    Unknown,
    Up,
    Down,
}

/// Health of one scrape target, as the targets view shows it (Prometheus's `/api/v1/targets`).
#[derive(Debug, Clone, PartialEq)]
pub struct TargetHealth {
    pub scrape_pool: String,
    pub scrape_url: String,
    /// The target's labels after relabeling (`job`, `instance`, ...).
    pub labels: Labels,
    pub health: Health,
    /// Why the last scrape failed; empty when it succeeded.
    pub last_error: String,
    /// Start of the last scrape, ms since the epoch (0: never scraped).
    pub last_scrape: i64,
    pub last_duration_seconds: f64,
}

impl TargetHealth {
    pub fn job(&self) -> &str {
        self.labels.get("job").unwrap_or_default()
    }
    pub fn instance(&self) -> &str {
        self.labels.get("instance").unwrap_or_default()
    }
    pub fn up(&self) -> bool {
        self.health == Health::Up
    }
}

/// Why a request was not answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyErrorKind {
    /// The request itself is wrong (a regex that does not compile, a series request without
    /// matchers, an empty label name): asking again unchanged gives the same answer.
    BadRequest,
    /// The answer would be larger than the relay sends in one reply: narrow the matchers.
    TooLarge,
    /// The relay cannot answer now (shutting down, overloaded); asking later may work.
    Unavailable,
}

/// The relay's answer to one [`Request`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reply {
    LabelNames(Vec<String>),
    LabelValues(Vec<String>),
    Series(Vec<Labels>),
    Metadata(Vec<MetricMetadata>),
    Targets(Vec<TargetHealth>),
    /// A provisioned dashboard's JSON, as the relay read it.
    Dashboard(String),
    Error {
        kind: ReplyErrorKind,
        message: String,
    },
}

mod tag {
    pub const LABEL_NAMES: u8 = 1;
    pub const LABEL_VALUES: u8 = 2;
    pub const SERIES: u8 = 3;
    pub const METADATA: u8 = 4;
    pub const TARGETS: u8 = 5;
    pub const DASHBOARD: u8 = 6;
    pub const ERROR: u8 = 0x7f;
}

pub(crate) fn metric_type_code(t: MetricType) -> u8 {
    match t {
        MetricType::Unknown => 0,
        MetricType::Counter => 1,
        MetricType::Gauge => 2,
        MetricType::Histogram => 3,
        MetricType::GaugeHistogram => 4,
        MetricType::Summary => 5,
        MetricType::Info => 6,
        MetricType::StateSet => 7,
    }
}

fn metric_type(r: &Reader<'_>, code: u8) -> Result<MetricType, DecodeError> {
    Ok(match code {
        0 => MetricType::Unknown,
        1 => MetricType::Counter,
        2 => MetricType::Gauge,
        3 => MetricType::Histogram,
        4 => MetricType::GaugeHistogram,
        5 => MetricType::Summary,
        6 => MetricType::Info,
        7 => MetricType::StateSet,
        c => return Err(r.err(DecodeErrorKind::UnknownTag("metric type", c))),
    })
}

fn write_range(w: &mut Writer, range: &Option<TimeRange>) {
    match range {
        Some(r) => {
            w.u8(1);
            w.varint(r.start);
            w.varint(r.end);
        }
        None => w.u8(0),
    }
}

fn read_range(r: &mut Reader<'_>) -> Result<Option<TimeRange>, DecodeError> {
    Ok(match r.u8()? {
        0 => None,
        1 => Some(TimeRange {
            start: r.varint()?,
            end: r.varint()?,
        }),
        c => return Err(r.err(DecodeErrorKind::UnknownTag("time range flag", c))),
    })
}

pub(crate) fn write_metadata(w: &mut Writer, m: &MetricMetadata) {
    w.str(&m.metric);
    w.u8(metric_type_code(m.kind));
    w.str(&m.help);
    w.str(&m.unit);
}

pub(crate) fn read_metadata(r: &mut Reader<'_>) -> Result<MetricMetadata, DecodeError> {
    let metric = r.str()?.to_owned();
    let code = r.u8()?;
    Ok(MetricMetadata {
        metric,
        kind: metric_type(r, code)?,
        help: r.str()?.to_owned(),
        unit: r.str()?.to_owned(),
    })
}

/// Minimum encoded size of one metadata entry (three empty strings and a type byte).
pub(crate) const METADATA_MIN_BYTES: usize = 4;

pub(crate) fn write_request(w: &mut Writer, req: &Request) {
    match req {
        Request::LabelNames { matchers, range } => {
            w.u8(tag::LABEL_NAMES);
            write_matchers(w, matchers);
            write_range(w, range);
        }
        Request::LabelValues {
            name,
            matchers,
            range,
        } => {
            w.u8(tag::LABEL_VALUES);
            w.str(name);
            write_matchers(w, matchers);
            write_range(w, range);
        }
        Request::Series { matchers, range } => {
            w.u8(tag::SERIES);
            write_matchers(w, matchers);
            write_range(w, range);
        }
        Request::Metadata { metric } => {
            w.u8(tag::METADATA);
            match metric {
                Some(m) => {
                    w.u8(1);
                    w.str(m);
                }
                None => w.u8(0),
            }
        }
        Request::Targets => w.u8(tag::TARGETS),
        Request::Dashboard { uid } => {
            w.u8(tag::DASHBOARD);
            w.str(uid);
        }
    }
}

pub(crate) fn read_request(r: &mut Reader<'_>) -> Result<Request, DecodeError> {
    Ok(match r.u8()? {
        tag::LABEL_NAMES => Request::LabelNames {
            matchers: read_matchers(r)?,
            range: read_range(r)?,
        },
        tag::LABEL_VALUES => Request::LabelValues {
            name: r.str()?.to_owned(),
            matchers: read_matchers(r)?,
            range: read_range(r)?,
        },
        tag::SERIES => Request::Series {
            matchers: read_matchers(r)?,
            range: read_range(r)?,
        },
        tag::METADATA => Request::Metadata {
            metric: match r.u8()? {
                0 => None,
                1 => Some(r.str()?.to_owned()),
                c => return Err(r.err(DecodeErrorKind::UnknownTag("metric flag", c))),
            },
        },
        tag::TARGETS => Request::Targets,
        tag::DASHBOARD => Request::Dashboard {
            uid: r.str()?.to_owned(),
        },
        t => return Err(r.err(DecodeErrorKind::UnknownTag("request", t))),
    })
}

fn health_code(h: Health) -> u8 {
    match h {
        Health::Unknown => 0,
        Health::Up => 1,
        Health::Down => 2,
    }
}

pub(crate) fn write_target(w: &mut Writer, t: &TargetHealth) {
    w.str(&t.scrape_pool);
    w.str(&t.scrape_url);
    write_labels(w, &t.labels);
    w.u8(health_code(t.health));
    w.str(&t.last_error);
    w.varint(t.last_scrape);
    w.f64(t.last_duration_seconds);
}

/// Minimum encoded size of one target (empty strings and labels, a one-byte time, the f64).
pub(crate) const TARGET_MIN_BYTES: usize = 14;

pub(crate) fn read_target(r: &mut Reader<'_>) -> Result<TargetHealth, DecodeError> {
    let scrape_pool = r.str()?.to_owned();
    let scrape_url = r.str()?.to_owned();
    let labels = read_labels(r)?;
    let health = match r.u8()? {
        0 => Health::Unknown,
        1 => Health::Up,
        2 => Health::Down,
        c => return Err(r.err(DecodeErrorKind::UnknownTag("health", c))),
    };
    Ok(TargetHealth {
        scrape_pool,
        scrape_url,
        labels,
        health,
        last_error: r.str()?.to_owned(),
        last_scrape: r.varint()?,
        last_duration_seconds: r.f64()?,
    })
}

fn write_strings(w: &mut Writer, v: &[String]) {
    w.uvarint(v.len() as u64);
    for s in v {
        w.str(s);
    }
}

fn read_strings(r: &mut Reader<'_>) -> Result<Vec<String>, DecodeError> {
    let n = r.count(1)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(r.str()?.to_owned());
    }
    Ok(out)
}

pub(crate) fn write_reply(w: &mut Writer, reply: &Reply) {
    match reply {
        Reply::LabelNames(v) => {
            w.u8(tag::LABEL_NAMES);
            write_strings(w, v);
        }
        Reply::LabelValues(v) => {
            w.u8(tag::LABEL_VALUES);
            write_strings(w, v);
        }
        Reply::Series(v) => {
            w.u8(tag::SERIES);
            w.uvarint(v.len() as u64);
            for l in v {
                write_labels(w, l);
            }
        }
        Reply::Metadata(v) => {
            w.u8(tag::METADATA);
            w.uvarint(v.len() as u64);
            for m in v {
                write_metadata(w, m);
            }
        }
        Reply::Targets(v) => {
            w.u8(tag::TARGETS);
            w.uvarint(v.len() as u64);
            for t in v {
                write_target(w, t);
            }
        }
        Reply::Dashboard(json) => {
            w.u8(tag::DASHBOARD);
            w.str(json);
        }
        Reply::Error { kind, message } => {
            w.u8(tag::ERROR);
            w.u8(match kind {
                ReplyErrorKind::BadRequest => 1,
                ReplyErrorKind::TooLarge => 2,
                ReplyErrorKind::Unavailable => 3,
            });
            w.str(message);
        }
    }
}

pub(crate) fn read_reply(r: &mut Reader<'_>) -> Result<Reply, DecodeError> {
    Ok(match r.u8()? {
        tag::LABEL_NAMES => Reply::LabelNames(read_strings(r)?),
        tag::LABEL_VALUES => Reply::LabelValues(read_strings(r)?),
        tag::SERIES => {
            let n = r.count(1)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(read_labels(r)?);
            }
            Reply::Series(v)
        }
        tag::METADATA => {
            let n = r.count(METADATA_MIN_BYTES)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(read_metadata(r)?);
            }
            Reply::Metadata(v)
        }
        tag::TARGETS => {
            let n = r.count(TARGET_MIN_BYTES)?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(read_target(r)?);
            }
            Reply::Targets(v)
        }
        tag::DASHBOARD => Reply::Dashboard(r.str()?.to_owned()),
        tag::ERROR => {
            let kind = match r.u8()? {
                1 => ReplyErrorKind::BadRequest,
                2 => ReplyErrorKind::TooLarge,
                3 => ReplyErrorKind::Unavailable,
                c => return Err(r.err(DecodeErrorKind::UnknownTag("reply error", c))),
            };
            Reply::Error {
                kind,
                message: r.str()?.to_owned(),
            }
        }
        t => return Err(r.err(DecodeErrorKind::UnknownTag("reply", t))),
    })
}
