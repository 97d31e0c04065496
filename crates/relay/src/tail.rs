//! `lookout tail`: subscribes to a relay with a PromQL selector and prints samples as they
//! arrive, one line each (`labels timestamp value`), reconnecting and resuming like a page.

use std::collections::HashMap;
use std::io::Write as _;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use lookout_wire::{Event, Frame, MatcherSpec, Session};
use tokio_tungstenite::tungstenite::Message;

use crate::scrape::now_ms;

pub const USAGE: &str = "\
lookout tail — print a relay's samples for a selector as they arrive

USAGE:
    lookout tail [--relay URL] [--token T] 'SELECTOR'

    --relay URL   the relay's stream [default: ws://127.0.0.1:8420/api/v1/stream];
                  http:// and a bare HOST:PORT work too
    --token T     the relay's bearer token (sent in the hello, never in the URL);
                  also read from LOOKOUT_TOKEN
    SELECTOR      a PromQL vector selector, e.g. 'up{job=\"api\"}'

Each line is `labels timestamp_ms value`; a staleness marker prints as `stale`.
";

/// What `lookout tail` was asked for.
#[derive(Debug)]
pub struct TailArgs {
    pub relay: String,
    pub token: Option<String>,
    pub matchers: Vec<MatcherSpec>,
}

impl TailArgs {
    pub fn parse(args: impl Iterator<Item = String>) -> anyhow::Result<TailArgs> {
        let mut relay = "ws://127.0.0.1:8420/api/v1/stream".to_owned();
        let mut token = std::env::var("LOOKOUT_TOKEN")
            .ok()
            .filter(|t| !t.is_empty());
        let mut selector = None;
        let mut args = args;
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--relay" => relay = args.next().context("--relay needs a URL")?,
                "--token" => token = Some(args.next().context("--token needs a value")?),
                "-h" | "--help" => {
                    print!("{USAGE}");
                    std::process::exit(0);
                }
                s if s.starts_with("--") => bail!("unknown argument {s:?}\n\n{USAGE}"),
                s => selector = Some(s.to_owned()),
            }
        }
        let selector = selector.with_context(|| format!("a selector is needed\n\n{USAGE}"))?;
        Ok(TailArgs {
            relay: stream_url(&relay),
            token,
            matchers: selector_matchers(&selector)?,
        })
    }
}

/// `ws://host:port/api/v1/stream` from what a person types.
fn stream_url(s: &str) -> String {
    let s = s.trim_end_matches('/');
    let (scheme, rest) = match s.split_once("://") {
        Some(("http", r)) => ("ws", r),
        Some(("https", r)) => ("wss", r),
        Some((scheme, r)) => (scheme, r),
        None => ("ws", s),
    };
    if rest.contains('/') {
        format!("{scheme}://{rest}")
    } else {
        format!("{scheme}://{rest}/api/v1/stream")
    }
}

/// The matchers of a PromQL vector selector, read by the PromQL parser.
fn selector_matchers(selector: &str) -> anyhow::Result<Vec<MatcherSpec>> {
    match lookout_promql::parse(selector) {
        Ok(lookout_promql::Expr::Vector(v)) if v.offset.is_none() && v.at.is_none() => {
            Ok(v.matchers.iter().map(MatcherSpec::from).collect())
        }
        Ok(_) => bail!("{selector:?} is not a plain vector selector (like 'up{{job=\"api\"}}')"),
        Err(e) => bail!("{selector:?}: {e}"),
    }
}

/// Prints samples until interrupted; reconnects with backoff and resumes where it left off.
pub async fn run(args: TailArgs) -> anyhow::Result<()> {
    let mut session = Session::new(args.token.clone());
    session.subscribe(args.matchers.clone(), now_ms());
    let mut printed: HashMap<String, i64> = HashMap::new();
    let mut attempt = 0u32;
    loop {
        match connection(&args.relay, &mut session, &mut printed, &mut attempt).await {
            Ok(Some(refused)) => bail!("the relay refused: {refused}"),
            Ok(None) => eprintln!("lookout tail: connection closed; reconnecting"),
            Err(e) => eprintln!("lookout tail: {e:#}; reconnecting"),
        }
        attempt += 1;
        let delay = (250u64 << attempt.min(7)).min(15_000);
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
}

/// One connection: `Some(reason)` when the relay refused (retrying would not help).
async fn connection(
    url: &str,
    session: &mut Session,
    printed: &mut HashMap<String, i64>,
    attempt: &mut u32,
) -> anyhow::Result<Option<String>> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .with_context(|| format!("cannot connect to {url}"))?;
    for f in session.connect_frames() {
        ws.send(Message::Binary(f.encode().into())).await?;
    }
    let mut names: HashMap<u32, String> = HashMap::new();
    let stdout = std::io::stdout();
    while let Some(msg) = ws.next().await {
        let bytes = match msg? {
            Message::Binary(b) => b,
            Message::Close(c) => {
                if let Some(c) = c {
                    eprintln!("lookout tail: relay closed ({}): {}", c.code, c.reason);
                }
                return Ok(None);
            }
            _ => continue,
        };
        match session.apply(Frame::decode(&bytes)?)? {
            Some(Event::Welcome { restarted, .. }) => {
                *attempt = 0;
                if restarted {
                    eprintln!("lookout tail: the relay restarted");
                }
            }
            Some(Event::Refused(r)) => return Ok(Some(r)),
            Some(Event::Resync { reason, .. }) => eprintln!("lookout tail: resync: {reason}"),
            Some(Event::Series { defs, .. }) => {
                for d in defs {
                    names.insert(d.series, d.labels.to_string());
                }
            }
            Some(Event::Samples { batch, .. }) => {
                if print(&stdout, &names, printed, &batch).is_err() {
                    // Whoever read our output is gone (`| head`): nothing left to do.
                    std::process::exit(0);
                }
            }
            Some(_) | None => {}
        }
    }
    Ok(None)
}

/// Prints samples newer than the last printed of their series (history may reach back before
/// the start, and a resync repeats samples).
fn print(
    stdout: &std::io::Stdout,
    names: &HashMap<u32, String>,
    printed: &mut HashMap<String, i64>,
    batch: &lookout_wire::SampleBatch,
) -> std::io::Result<()> {
    let mut out = stdout.lock();
    for (r, t, v) in batch.iter() {
        let Some(name) = names.get(&r) else { continue };
        let last = printed.entry(name.clone()).or_insert(i64::MIN);
        if t <= *last {
            continue;
        }
        *last = t;
        if lookout_tsdb::is_stale_nan(v) {
            writeln!(out, "{name} {t} stale")?;
        } else {
            writeln!(out, "{name} {t} {v}")?;
        }
    }
    out.flush()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a panic is the failure report
mod tests {
    use super::*;

    #[test]
    fn urls_and_selectors_as_people_type_them() {
        assert_eq!(
            stream_url("127.0.0.1:8420"),
            "ws://127.0.0.1:8420/api/v1/stream"
        );
        assert_eq!(
            stream_url("https://r.example/"),
            "wss://r.example/api/v1/stream"
        );
        assert_eq!(stream_url("ws://h:1/custom/path"), "ws://h:1/custom/path");
        let m = selector_matchers(r#"up{job="api", instance=~"a.*"}"#).unwrap();
        assert!(m.iter().any(|m| m.name == "__name__" && m.value == "up"));
        assert!(m.iter().any(|m| m.name == "instance" && m.value == "a.*"));
        assert!(selector_matchers("rate(up[5m])").is_err());
        assert!(selector_matchers("up{").is_err());
    }
}
