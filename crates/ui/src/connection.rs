//! The page's connection to a relay: hello, subscriptions, frames into [`crate::data::PageData`],
//! and reconnection with backoff and jitter that resumes where the page left off.
//!
//! The protocol logic (resume points, hole detection, block decoding) is
//! [`lookout_wire::Session`]; this module only moves bytes between it and a `WebSocket`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use lookout_wire::{Event, Frame, MatcherSpec, Session};
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
}

impl ConnState {
    pub fn label(&self) -> String {
        match self {
            ConnState::Connecting => "connecting".into(),
            ConnState::Live => "live".into(),
            ConnState::Reconnecting { attempt } => format!("reconnecting (attempt {attempt})"),
            ConnState::Resynced(why) => format!("live (resynced: {why})"),
            ConnState::Refused(why) => format!("refused: {why}"),
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

struct Inner {
    url: String,
    session: RefCell<Session>,
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

/// A live connection that reconnects by itself until dropped.
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
                    (inner.handlers.on_state)(ConnState::Refused(reason))
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
    fn backoff_grows_caps_and_jitters() {
        assert_eq!(backoff_ms(1, 0.5), 500.0);
        assert_eq!(backoff_ms(2, 0.5), 1000.0);
        assert_eq!(backoff_ms(30, 0.5), 30_000.0);
        assert_eq!(backoff_ms(1, 0.0), 250.0);
    }
}
