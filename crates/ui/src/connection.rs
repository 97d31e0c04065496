//! The page's connection to a relay: hello, subscriptions, frames into [`crate::data::PageData`],
//! and reconnection with backoff and jitter that resumes where the page left off.
//!
//! The protocol logic (resume points, hole detection, block decoding) is
//! [`lookout_wire::Session`]; this module only moves bytes between it and a `WebSocket`.
//!
//! Requests (for autocomplete, dashboard variables, the targets view): [`Connection::ask`]
//! returns a future of the relay's [`Reply`]; [`Connection::label_names`],
//! [`Connection::label_values`], [`Connection::series`], [`Connection::metadata`] and
//! [`Connection::targets`] are typed shorthands taking a callback. A request made while the
//! relay is unreachable is sent when it is reachable again. Components get the app's connection
//! with [`use_connection`]:
//!
//! ```ignore
//! let conn = use_connection().expect("inside App");
//! leptos::task::spawn_local(async move {
//!     let ask = conn.with_value(|c| c.ask(Request::LabelValues {
//!         name: "job".into(), matchers: vec![], range: None,
//!     }));
//!     match ask.await {
//!         Ok(Reply::LabelValues(jobs)) => set_jobs.set(jobs),
//!         Ok(_) => {}
//!         Err(e) => set_error.set(Some(e.to_string())),
//!     }
//! });
//! ```
//!
//! The bearer token (when the relay wants one) comes from the page's settings, saved in
//! `localStorage`, or from a `#token=` URL fragment that is saved and then removed from the
//! address bar: never from a query string, never logged ([`page_token`]).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use lookout_tsdb::Labels;
use lookout_wire::{
    Event, Frame, MatcherSpec, MetricMetadata, Reply, ReplyErrorKind, Request, Session,
    TargetHealth, TimeRange,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

/// What the status bar shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    Connecting,
    Live,
    Reconnecting {
        attempt: u32,
    },
    /// Live again, but the relay could not replay what the page missed: history was fetched
    /// again instead (the gap is filled as far as the relay's window reaches).
    Resynced(String),
    /// The relay refused us; retrying would not help without a change.
    Refused(String),
    /// No relay at all: the page is an exported file showing the data it carries.
    Snapshot,
}

impl ConnState {
    pub fn label(&self) -> String {
        match self {
            ConnState::Connecting => "connecting".into(),
            ConnState::Live => "live".into(),
            ConnState::Reconnecting { attempt } => format!("reconnecting (attempt {attempt})"),
            ConnState::Resynced(why) => format!("live (resynced: {why})"),
            ConnState::Refused(why) => format!("refused: {why}"),
            ConnState::Snapshot => "snapshot".into(),
        }
    }
    /// A short machine-readable name, for `data-state`.
    pub fn kind(&self) -> &'static str {
        match self {
            ConnState::Connecting => "connecting",
            ConnState::Live => "live",
            ConnState::Reconnecting { .. } => "reconnecting",
            ConnState::Resynced(_) => "resynced",
            ConnState::Refused(_) => "refused",
            ConnState::Snapshot => "snapshot",
        }
    }
}

/// The default relay: the one that served the page.
pub fn default_relay_url() -> String {
    let Some(loc) = web_sys::window().map(|w| w.location()) else {
        return String::new();
    };
    let scheme = if loc.protocol().ok().as_deref() == Some("https:") {
        "wss"
    } else {
        "ws"
    };
    format!(
        "{scheme}://{}/api/v1/stream",
        loc.host().unwrap_or_default()
    )
}

/// Delay before reconnect attempt `n` (1-based): exponential from 500 ms, capped at 30 s, with
/// ±50% jitter so a relay restart is not met by every page at once.
pub fn backoff_ms(attempt: u32, jitter01: f64) -> f64 {
    let base = (500.0 * 2f64.powi(attempt.saturating_sub(1).min(16) as i32)).min(30_000.0);
    base * (0.5 + jitter01)
}

/// Callbacks the connection reports to.
#[allow(missing_debug_implementations)] // boxed closures have nothing to show
pub struct Handlers {
    /// Called with each event of the stream (series, samples, targets, resync).
    pub on_frame: Box<dyn Fn(Event)>,
    pub on_state: Box<dyn Fn(ConnState)>,
    /// Called on each new connection, before any frame; returns the `start` of the history to
    /// ask for should the relay be unable to resume.
    pub on_connect: Box<dyn Fn() -> i64>,
}

/// Why a request has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// The relay answered with an error (a bad matcher, an answer too large, ...).
    Relay {
        kind: ReplyErrorKind,
        message: String,
    },
    /// The relay refused the connection (a token is needed, another protocol version).
    Refused(String),
    /// The relay answered with another kind of reply than the request asks for.
    Unexpected,
    /// The connection was dropped before an answer came.
    Dropped,
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestError::Relay { message, .. } => write!(f, "the relay answered: {message}"),
            RequestError::Refused(why) => write!(f, "the relay refused the connection: {why}"),
            RequestError::Unexpected => f.write_str("the relay answered another question"),
            RequestError::Dropped => f.write_str("the connection was closed before an answer came"),
        }
    }
}

impl std::error::Error for RequestError {}

type ReplyCallback = Box<dyn FnOnce(Result<Reply, RequestError>)>;

struct Inner {
    url: String,
    session: RefCell<Session>,
    /// Callbacks of requests not answered yet, with their request ids (a handful at a time: a
    /// list, not a map, is the least code in the page).
    waiting: RefCell<Vec<(u32, ReplyCallback)>>,
    handlers: Handlers,
    attempt: Cell<u32>,
    /// The relay refused this page: reconnecting would be refused again.
    refused: Cell<bool>,
    socket: RefCell<Option<WebSocket>>,
    // Kept alive while their socket is; replaced on reconnect.
    closures: RefCell<Vec<Box<dyn std::any::Any>>>,
    /// Every subscription's matchers, so one is never asked for twice.
    known: RefCell<Vec<Vec<MatcherSpec>>>,
}

/// A live connection that reconnects by itself until its last clone is dropped.
#[derive(Clone)]
pub struct Connection(Rc<Inner>);

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("url", &self.0.url)
            .finish()
    }
}

impl Connection {
    /// Connects without a token.
    pub fn open(
        url: String,
        subscriptions: Vec<Vec<MatcherSpec>>,
        handlers: Handlers,
    ) -> Connection {
        Connection::open_with_token(url, None, subscriptions, handlers)
    }

    /// Connects, presenting `token` in the hello (never in the URL).
    pub fn open_with_token(
        url: String,
        token: Option<String>,
        subscriptions: Vec<Vec<MatcherSpec>>,
        handlers: Handlers,
    ) -> Connection {
        let mut session = Session::new(token);
        for matchers in &subscriptions {
            session.subscribe(matchers.clone(), 0);
        }
        let inner = Rc::new(Inner {
            url,
            session: RefCell::new(session),
            waiting: RefCell::new(Vec::new()),
            handlers,
            attempt: Cell::new(0),
            refused: Cell::new(false),
            socket: RefCell::new(None),
            closures: RefCell::new(Vec::new()),
            known: RefCell::new(subscriptions),
        });
        connect(&inner);
        Connection(inner)
    }

    /// Asks the relay `request`; `on_reply` gets its answer (an error reply as
    /// [`RequestError::Relay`]). Sent now when connected, else as soon as the page is again.
    pub fn request(
        &self,
        request: Request,
        on_reply: impl FnOnce(Result<Reply, RequestError>) + 'static,
    ) {
        let inner = &self.0;
        if inner.refused.get() {
            on_reply(Err(RequestError::Refused(
                "the relay refused this page".into(),
            )));
            return;
        }
        let (id, frame) = inner.session.borrow_mut().request(request);
        inner.waiting.borrow_mut().push((id, Box::new(on_reply)));
        if let Some(ws) = inner.socket.borrow().as_ref()
            && ws.ready_state() == WebSocket::OPEN
        {
            let _ = ws.send_with_u8_array(&frame.encode());
        }
    }

    /// [`Connection::request`] as a future, for `leptos::task::spawn_local`.
    pub fn ask(&self, request: Request) -> ReplyFuture {
        let slot: Rc<RefCell<ReplySlot>> = Rc::default();
        let fill = slot.clone();
        self.request(request, move |r| {
            let mut s = fill.borrow_mut();
            s.reply = Some(r);
            if let Some(w) = s.waker.take() {
                w.wake();
            }
        });
        ReplyFuture { slot }
    }

    /// Label names of the series matching `matchers` (all series when empty), optionally only
    /// those with samples in `range`: for autocomplete.
    pub fn label_names(
        &self,
        matchers: Vec<MatcherSpec>,
        range: Option<TimeRange>,
        on_reply: impl FnOnce(Result<Vec<String>, RequestError>) + 'static,
    ) {
        self.request(Request::LabelNames { matchers, range }, move |r| {
            on_reply(r.and_then(|r| match r {
                Reply::LabelNames(v) => Ok(v),
                _ => Err(RequestError::Unexpected),
            }))
        });
    }

    /// Values of label `name` among the series matching `matchers`, optionally with samples in
    /// `range`: for dashboard variables and autocomplete.
    pub fn label_values(
        &self,
        name: String,
        matchers: Vec<MatcherSpec>,
        range: Option<TimeRange>,
        on_reply: impl FnOnce(Result<Vec<String>, RequestError>) + 'static,
    ) {
        let request = Request::LabelValues {
            name,
            matchers,
            range,
        };
        self.request(request, move |r| {
            on_reply(r.and_then(|r| match r {
                Reply::LabelValues(v) => Ok(v),
                _ => Err(RequestError::Unexpected),
            }))
        });
    }

    /// Label sets of the series matching `matchers` (at least one must not match "").
    pub fn series(
        &self,
        matchers: Vec<MatcherSpec>,
        range: Option<TimeRange>,
        on_reply: impl FnOnce(Result<Vec<Labels>, RequestError>) + 'static,
    ) {
        self.request(Request::Series { matchers, range }, move |r| {
            on_reply(r.and_then(|r| match r {
                Reply::Series(v) => Ok(v),
                _ => Err(RequestError::Unexpected),
            }))
        });
    }

    /// HELP/TYPE/UNIT of every metric family, or of `metric`'s only.
    pub fn metadata(
        &self,
        metric: Option<String>,
        on_reply: impl FnOnce(Result<Vec<MetricMetadata>, RequestError>) + 'static,
    ) {
        self.request(Request::Metadata { metric }, move |r| {
            on_reply(r.and_then(|r| match r {
                Reply::Metadata(v) => Ok(v),
                _ => Err(RequestError::Unexpected),
            }))
        });
    }

    /// Health of every scrape target: labels, up/down, last error, last scrape and duration.
    pub fn targets(
        &self,
        on_reply: impl FnOnce(Result<Vec<TargetHealth>, RequestError>) + 'static,
    ) {
        self.request(Request::Targets, move |r| {
            on_reply(r.and_then(|r| match r {
                Reply::Targets(v) => Ok(v),
                _ => Err(RequestError::Unexpected),
            }))
        });
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for (_, cb) in std::mem::take(self.waiting.get_mut()) {
            cb(Err(RequestError::Dropped));
        }
        if let Some(ws) = self.socket.get_mut().take() {
            ws.set_onopen(None);
            ws.set_onmessage(None);
            ws.set_onclose(None);
            let _ = ws.close();
        }
    }
}

#[derive(Default)]
struct ReplySlot {
    reply: Option<Result<Reply, RequestError>>,
    waker: Option<Waker>,
}

/// The answer to [`Connection::ask`], once it arrives.
#[allow(missing_debug_implementations)] // holds a waker
pub struct ReplyFuture {
    slot: Rc<RefCell<ReplySlot>>,
}

impl Future for ReplyFuture {
    type Output = Result<Reply, RequestError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = self.slot.borrow_mut();
        match s.reply.take() {
            Some(r) => Poll::Ready(r),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// The app's connection, for components that ask the relay something (provided by `App`).
/// It holds `None` until the page has restored its cache and opened the connection.
pub fn use_connection()
-> Option<leptos::prelude::StoredValue<Option<Connection>, leptos::prelude::LocalStorage>> {
    leptos::prelude::use_context()
}

/// Where the page keeps the relay token (this browser only).
const TOKEN_KEY: &str = "lookout.token";

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The bearer token to present in the hello: a `#token=...` URL fragment (saved, then removed
/// from the address bar so it is not bookmarked, shared or left in history), else the one saved
/// in this browser's settings. A query string is never read: servers log those.
pub fn page_token() -> Option<String> {
    if let Some(t) = take_fragment_token() {
        save_token(Some(&t));
        return Some(t);
    }
    saved_token()
}

/// Watches for a `#token=` fragment added while the page is open (pasting a link into the
/// address bar of an open page does not reload it): the token is taken as on load, and the page
/// reloads so the new connection presents it.
pub fn watch_fragment_token() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let on_hash = Closure::<dyn FnMut()>::new(move || {
        if let Some(t) = take_fragment_token() {
            save_token(Some(&t));
            if let Some(w) = web_sys::window() {
                let _ = w.location().reload();
            }
        }
    });
    let _ = window.add_event_listener_with_callback("hashchange", on_hash.as_ref().unchecked_ref());
    // Lives as long as the page.
    on_hash.forget();
}

/// The token saved in this browser, if any.
pub fn saved_token() -> Option<String> {
    local_storage()?
        .get_item(TOKEN_KEY)
        .ok()
        .flatten()
        .filter(|t| !t.is_empty())
}

/// Saves (or with `None`, forgets) the token for later visits.
pub fn save_token(token: Option<&str>) {
    let Some(storage) = local_storage() else {
        return;
    };
    let _ = match token.map(str::trim).filter(|t| !t.is_empty()) {
        Some(t) => storage.set_item(TOKEN_KEY, t),
        None => storage.remove_item(TOKEN_KEY),
    };
}

/// Reads `token=` from the fragment and rewrites the address without it.
fn take_fragment_token() -> Option<String> {
    let window = web_sys::window()?;
    let loc = window.location();
    let hash = loc.hash().ok()?;
    let (token, rest) = split_fragment_token(hash.trim_start_matches('#'))?;
    let path = format!(
        "{}{}{}",
        loc.pathname().unwrap_or_default(),
        loc.search().unwrap_or_default(),
        if rest.is_empty() {
            String::new()
        } else {
            format!("#{rest}")
        }
    );
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
    }
    Some(token)
}

/// Splits `token=...` out of a fragment (`a=1&token=x&b=2`): the decoded token and the rest.
pub fn split_fragment_token(fragment: &str) -> Option<(String, String)> {
    let mut token = None;
    let rest: Vec<&str> = fragment
        .split('&')
        .filter(|part| match part.strip_prefix("token=") {
            Some(t) => {
                token = Some(
                    js_sys::decode_uri_component(t)
                        .ok()
                        .and_then(|s| s.as_string())
                        .unwrap_or_else(|| t.to_owned()),
                );
                false
            }
            None => !part.is_empty(),
        })
        .collect();
    let token = token.filter(|t| !t.is_empty())?;
    Some((token, rest.join("&")))
}

impl Connection {
    /// Adds a subscription unless one with the same matchers exists: sent now when the socket
    /// is open, and on every reconnect.
    pub fn subscribe_once(&self, matchers: Vec<MatcherSpec>, start: i64) {
        if self.0.known.borrow().contains(&matchers) {
            return;
        }
        self.0.known.borrow_mut().push(matchers.clone());
        let sub = self
            .0
            .session
            .borrow_mut()
            .subscribe(matchers.clone(), start);
        if let Some(ws) = self.0.socket.borrow().as_ref()
            && ws.ready_state() == WebSocket::OPEN
        {
            let f = Frame::Subscribe {
                sub,
                matchers,
                start,
                resume: None,
            };
            let _ = ws.send_with_u8_array(&f.encode());
        }
    }
}

fn connect(inner: &Rc<Inner>) {
    (inner.handlers.on_state)(if inner.attempt.get() == 0 {
        ConnState::Connecting
    } else {
        ConnState::Reconnecting {
            attempt: inner.attempt.get(),
        }
    });
    let ws = match WebSocket::new(&inner.url) {
        Ok(ws) => ws,
        Err(e) => {
            (inner.handlers.on_state)(ConnState::Refused(format!(
                "cannot open {}: {e:?}",
                inner.url
            )));
            return;
        }
    };
    ws.set_binary_type(BinaryType::Arraybuffer);

    let on_open = {
        let inner = Rc::downgrade(inner);
        Closure::<dyn FnMut()>::new(move || {
            let Some(inner) = inner.upgrade() else { return };
            let start = (inner.handlers.on_connect)();
            let frames = {
                let mut session = inner.session.borrow_mut();
                session.set_start(start);
                session.connect_frames()
            };
            let socket = inner.socket.borrow();
            let Some(ws) = socket.as_ref() else { return };
            for f in frames {
                let _ = ws.send_with_u8_array(&f.encode());
            }
        })
    };
    let on_message = {
        let inner = Rc::downgrade(inner);
        Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let Some(inner) = inner.upgrade() else { return };
            let Ok(buf) = e.data().dyn_into::<js_sys::ArrayBuffer>() else {
                return;
            };
            let bytes = js_sys::Uint8Array::new(&buf).to_vec();
            let event = Frame::decode(&bytes)
                .map_err(lookout_wire::SessionError::from)
                .and_then(|f| inner.session.borrow_mut().apply(f));
            match event {
                Ok(Some(Event::Welcome { .. })) => {
                    inner.attempt.set(0);
                    (inner.handlers.on_state)(ConnState::Live);
                }
                Ok(Some(Event::Refused(reason))) => {
                    inner.refused.set(true);
                    let waiting = std::mem::take(&mut *inner.waiting.borrow_mut());
                    for (_, cb) in waiting {
                        cb(Err(RequestError::Refused(reason.clone())));
                    }
                    (inner.handlers.on_state)(ConnState::Refused(reason))
                }
                Ok(Some(Event::Reply { id, reply })) => {
                    let cb = {
                        let mut waiting = inner.waiting.borrow_mut();
                        let at = waiting.iter().position(|w| w.0 == id);
                        at.map(|i| waiting.swap_remove(i).1)
                    };
                    if let Some(cb) = cb {
                        cb(match reply {
                            Reply::Error { kind, message } => {
                                Err(RequestError::Relay { kind, message })
                            }
                            reply => Ok(reply),
                        });
                    }
                }
                Ok(Some(Event::Resync { reason, .. })) => {
                    (inner.handlers.on_state)(ConnState::Resynced(reason))
                }
                Ok(Some(event)) => (inner.handlers.on_frame)(event),
                Ok(None) => {}
                Err(err) => {
                    // A hole or an undecodable block: this connection's stream cannot be trusted.
                    // Closing makes the page reconnect and resume from its last whole batch.
                    web_sys::console::warn_1(&format!("lookout: {err}; reconnecting").into());
                    if let Some(ws) = inner.socket.borrow().as_ref() {
                        let _ = ws.close_with_code_and_reason(4000, "stream hole; resuming");
                    }
                }
            }
        })
    };
    let on_close = {
        let inner = Rc::downgrade(inner);
        Closure::<dyn FnMut(CloseEvent)>::new(move |_e: CloseEvent| {
            let Some(inner) = inner.upgrade() else { return };
            if inner.refused.get() {
                return;
            }
            let attempt = inner.attempt.get() + 1;
            inner.attempt.set(attempt);
            (inner.handlers.on_state)(ConnState::Reconnecting { attempt });
            let delay = backoff_ms(attempt, js_sys::Math::random());
            let weak = Rc::downgrade(&inner);
            let retry = Closure::once_into_js(move || {
                if let Some(inner) = weak.upgrade() {
                    connect(&inner);
                }
            });
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                    retry.unchecked_ref(),
                    delay as i32,
                );
            }
        })
    };
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    if let Some(old) = inner.socket.borrow_mut().replace(ws) {
        old.set_onopen(None);
        old.set_onmessage(None);
        old.set_onclose(None);
    }
    *inner.closures.borrow_mut() =
        vec![Box::new(on_open), Box::new(on_message), Box::new(on_close)];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_fragment_token_is_taken_out_and_the_rest_kept() {
        assert_eq!(
            split_fragment_token("token=s3cr%20et"),
            Some(("s3cr et".into(), String::new()))
        );
        assert_eq!(
            split_fragment_token("panel=2&token=abc&x=1"),
            Some(("abc".into(), "panel=2&x=1".into()))
        );
        assert_eq!(split_fragment_token("panel=2"), None);
        assert_eq!(split_fragment_token("token="), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn backoff_grows_caps_and_jitters() {
        assert_eq!(backoff_ms(1, 0.5), 500.0);
        assert_eq!(backoff_ms(2, 0.5), 1000.0);
        assert_eq!(backoff_ms(30, 0.5), 30_000.0);
        assert_eq!(backoff_ms(1, 0.0), 250.0);
    }
}
