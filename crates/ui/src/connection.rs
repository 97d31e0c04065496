//! The page's connection to a relay: hello, subscriptions, frames into [`PageData`], and
//! reconnection with backoff and jitter.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use lookout_wire::{Frame, MatcherSpec, PROTOCOL_VERSION};
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
    /// The relay refused us; retrying would not help without a change.
    Refused(String),
}

impl ConnState {
    pub fn label(&self) -> String {
        match self {
            ConnState::Connecting => "connecting".into(),
            ConnState::Live => "live".into(),
            ConnState::Reconnecting { attempt } => format!("reconnecting (attempt {attempt})"),
            ConnState::Refused(why) => format!("refused: {why}"),
        }
    }
    /// A short machine-readable name, for `data-state`.
    pub fn kind(&self) -> &'static str {
        match self {
            ConnState::Connecting => "connecting",
            ConnState::Live => "live",
            ConnState::Reconnecting { .. } => "reconnecting",
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
    /// Called with each decoded frame; returns nothing.
    pub on_frame: Box<dyn Fn(Frame)>,
    pub on_state: Box<dyn Fn(ConnState)>,
    /// Called on each new connection, before any frame, with whether it is a reconnect; returns
    /// the `start` of the history to ask for.
    pub on_connect: Box<dyn Fn() -> i64>,
}

struct Inner {
    url: String,
    subscriptions: Vec<Vec<MatcherSpec>>,
    handlers: Handlers,
    attempt: Cell<u32>,
    socket: RefCell<Option<WebSocket>>,
    // Kept alive while their socket is; replaced on reconnect.
    closures: RefCell<Vec<Box<dyn std::any::Any>>>,
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
    pub fn open(
        url: String,
        subscriptions: Vec<Vec<MatcherSpec>>,
        handlers: Handlers,
    ) -> Connection {
        let inner = Rc::new(Inner {
            url,
            subscriptions,
            handlers,
            attempt: Cell::new(0),
            socket: RefCell::new(None),
            closures: RefCell::new(Vec::new()),
        });
        connect(&inner);
        Connection(inner)
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
            let socket = inner.socket.borrow();
            let Some(ws) = socket.as_ref() else { return };
            let _ = ws.send_with_u8_array(
                &Frame::Hello {
                    version: PROTOCOL_VERSION,
                    token: None,
                }
                .encode(),
            );
            for (i, matchers) in inner.subscriptions.iter().enumerate() {
                let f = Frame::Subscribe {
                    sub: i as u32 + 1,
                    matchers: matchers.clone(),
                    start,
                };
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
            match Frame::decode(&bytes) {
                Ok(Frame::Welcome { .. }) => {
                    inner.attempt.set(0);
                    (inner.handlers.on_state)(ConnState::Live);
                }
                Ok(Frame::Refused { reason }) => {
                    (inner.handlers.on_state)(ConnState::Refused(reason))
                }
                Ok(frame) => (inner.handlers.on_frame)(frame),
                Err(err) => web_sys::console::warn_1(
                    &format!("lookout: dropped a frame from the relay: {err}").into(),
                ),
            }
        })
    };
    let on_close = {
        let inner = Rc::downgrade(inner);
        Closure::<dyn FnMut(CloseEvent)>::new(move |_e: CloseEvent| {
            let Some(inner) = inner.upgrade() else { return };
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
