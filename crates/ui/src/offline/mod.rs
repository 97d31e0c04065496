//! Offline first: the app shell in a service worker ([`sw`]), the page's store persisted in the
//! origin private file system ([`persist`] over [`opfs`]) and restored before the page connects,
//! and the storage limits the browser imposes.
//!
//! [`Cache`] is what the page holds: it restores, writes on a timer and when the page is hidden
//! (in the one tab holding the writer lock), evicts the oldest chunks when the browser refuses a
//! write or the user's cap is passed, and exports, imports and clears.

pub mod opfs;
pub mod persist;
pub mod sw;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::data::PageData;
use persist::{Flushed, Writer};

/// How often the writing tab saves what changed, ms.
pub const FLUSH_EVERY_MS: i32 = 10_000;
/// `localStorage` key of the user's cap on the cache, MB.
const CAP_KEY: &str = "lookout:cache-cap-mb";

/// What the settings panel and the banner show about the cache.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CacheStatus {
    /// This tab writes the cache (else another tab does and this one only read it).
    pub writer: bool,
    /// Samples the page restored from the cache when it opened.
    pub restored_samples: Option<usize>,
    /// Wall-clock time and size of the last write.
    pub last_write: Option<(i64, Flushed)>,
    /// Bytes written since the page opened.
    pub written: u64,
    /// `navigator.storage.estimate()`: usage and quota, bytes.
    pub usage: Option<(f64, f64)>,
    /// Whether the browser granted persistent storage.
    pub persisted: Option<bool>,
    /// Something the user should know: data evicted, a write refused, a damaged cache.
    pub note: Option<String>,
}

/// The user's cap on the cache, bytes.
pub fn cap_bytes() -> Option<usize> {
    let mb: usize = local_storage()?.get_item(CAP_KEY).ok()??.parse().ok()?;
    (mb > 0).then_some(mb << 20)
}

/// Sets (or with 0, removes) the cap, MB.
pub fn set_cap_mb(mb: usize) {
    if let Some(s) = local_storage() {
        let _ = if mb == 0 {
            s.remove_item(CAP_KEY)
        } else {
            s.set_item(CAP_KEY, &mb.to_string())
        };
    }
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

fn now_ms() -> i64 {
    js_sys::Date::now() as i64
}

async fn sleep(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(p).await;
}

/// Records `name` as a User Timing measure from `start` (a `performance.now()`) to now.
pub(crate) fn measure(name: &str, start: f64) {
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        let opts = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&opts, &"start".into(), &start.into());
        let _ = js_sys::Reflect::set(&opts, &"end".into(), &p.now().into());
        if let Ok(f) = js_sys::Reflect::get(&p, &"measure".into()) {
            let _ = f
                .unchecked_into::<js_sys::Function>()
                .call2(&p, &name.into(), &opts);
        }
    }
}

pub(crate) fn perf_now() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

struct Inner {
    data: StoredValue<PageData, LocalStorage>,
    status: RwSignal<CacheStatus>,
    /// Called when the store changed outside the stream (restore, eviction, import).
    changed: Box<dyn Fn()>,
    /// The writer, while no flush holds it.
    writer: RefCell<Option<Writer>>,
    /// `(generation, mark)` right after the restore.
    restored: Cell<Option<(u64, u64)>>,
}

/// The page's cache; cheap to clone.
#[derive(Clone)]
pub struct Cache(Rc<Inner>);

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache").finish_non_exhaustive()
    }
}

impl Cache {
    pub fn new(
        data: StoredValue<PageData, LocalStorage>,
        status: RwSignal<CacheStatus>,
        changed: impl Fn() + 'static,
    ) -> Cache {
        Cache(Rc::new(Inner {
            data,
            status,
            changed: Box::new(changed),
            writer: RefCell::new(None),
            restored: Cell::new(None),
        }))
    }

    fn note(&self, note: String) {
        web_sys::console::warn_1(&format!("lookout: {note}").into());
        self.0.status.update(|s| s.note = Some(note));
    }

    /// Registers the service worker, restores the cache into the store, then calls `ready`
    /// (which connects), and starts writing if this tab gets the writer lock.
    pub fn start(&self, ready: impl FnOnce() + 'static) {
        sw::register();
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let t0 = perf_now();
            let mut restored = persist::restore().await;
            // A read can fail while the browser still holds a file of a page that just went
            // away; it is tried again before the page goes on without its cache.
            for _ in 0..3 {
                match &restored {
                    Err(e) if !e.not_supported() => {
                        web_sys::console::warn_1(
                            &format!("lookout: the cache could not be read ({e}); trying again")
                                .into(),
                        );
                        sleep(200).await;
                        restored = persist::restore().await;
                    }
                    _ => break,
                }
            }
            match restored {
                Ok(Some(r)) => {
                    for p in &r.problems {
                        this.note(format!(
                            "part of the cache was unreadable and is dropped: {p}"
                        ));
                    }
                    let samples = r.store.stats().samples;
                    let generation = r.manifest.generation;
                    let mark = this
                        .0
                        .data
                        .try_update_value(|d| {
                            d.replace_store(r.store);
                            d.store().mark()
                        })
                        .unwrap_or(0);
                    // A damaged cache is rewritten whole by the next write.
                    if r.problems.is_empty() {
                        this.0.restored.set(Some((generation, mark)));
                    }
                    this.0.status.update(|s| s.restored_samples = Some(samples));
                    measure("lookout:restore", t0);
                    (this.0.changed)();
                }
                Ok(None) => {}
                // A browser without OPFS or Web Locks: the page works, only not offline.
                Err(e) if e.not_supported() => {
                    web_sys::console::info_1(&format!("lookout: no offline cache: {e}").into());
                    return ready();
                }
                Err(e) => this.note(format!("the cache could not be read: {e}")),
            }
            ready();
            let persisted = opfs::persist().await.ok();
            this.0.status.update(|s| s.persisted = persisted);
            this.refresh_usage().await;
            let writer = this.clone();
            if let Err(e) = opfs::hold_lock_forever(persist::WRITER_LOCK, move || {
                wasm_bindgen_futures::spawn_local(writer.write_loop());
            }) {
                this.note(format!("the cache is not saved: {e}"));
            }
        });
    }

    async fn refresh_usage(&self) {
        let usage = opfs::estimate().await.ok();
        self.0.status.update(|s| s.usage = usage);
    }

    /// Runs in the tab holding the writer lock: writes every [`FLUSH_EVERY_MS`] and when the
    /// page is hidden (the last chance before a tab is closed or frozen).
    async fn write_loop(self) {
        // Until the files are read, nothing is written: a base of a store that lacks what they
        // hold would replace them.
        let mut told = false;
        let w = loop {
            match Writer::open(self.0.restored.get()).await {
                Ok((w, files)) => {
                    if let Some(files) = files.filter(|f| f.store.num_series() > 0) {
                        let _ = self.0.data.try_update_value(|d| d.merge(&files.store));
                        (self.0.changed)();
                    }
                    break w;
                }
                Err(e) => {
                    if !told {
                        self.note(format!(
                            "the cache is not saved yet: its files could not be read ({e}); retrying"
                        ));
                        told = true;
                    }
                    sleep(FLUSH_EVERY_MS).await;
                }
            }
        };
        if told {
            self.0.status.update(|s| s.note = None);
        }
        *self.0.writer.borrow_mut() = Some(w);
        self.0.status.update(|s| s.writer = true);
        let this = self.clone();
        let on_hidden = Closure::<dyn FnMut()>::new(move || {
            let hidden = web_sys::window()
                .and_then(|w| w.document())
                .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden);
            if hidden {
                wasm_bindgen_futures::spawn_local(this.clone().flush());
            }
        });
        if let Some(d) = web_sys::window().and_then(|w| w.document()) {
            let _ = d.add_event_listener_with_callback(
                "visibilitychange",
                on_hidden.as_ref().unchecked_ref(),
            );
        }
        on_hidden.forget(); // for the page's life
        loop {
            self.clone().flush().await;
            sleep(FLUSH_EVERY_MS).await;
        }
    }

    /// Writes what changed since the last write. A flush already running makes this a no-op.
    pub async fn flush(self) {
        let Some(mut w) = self.0.writer.borrow_mut().take() else {
            return;
        };
        self.flush_with(&mut w).await;
        *self.0.writer.borrow_mut() = Some(w);
    }

    async fn flush_with(&self, w: &mut Writer) {
        if let Some(cap) = cap_bytes() {
            let over = self
                .0
                .data
                .with_value(|d| d.store().stats().total_bytes() > cap);
            if over {
                let dropped = self
                    .0
                    .data
                    .try_update_value(|d| persist::evict(d.store_mut(), cap))
                    .flatten();
                if let Some(t) = dropped {
                    self.note(format!(
                        "cache cap reached: dropped data up to {}",
                        crate::format::clock(t, local_offset())
                    ));
                    (self.0.changed)();
                }
                w.rebase();
            }
        }
        for attempt in 0..4 {
            let t0 = perf_now();
            let Some((encoded, newest)) = self
                .0
                .data
                .with_value(|d| w.encode(d.store()).map(|e| (e, d.newest)))
            else {
                return;
            };
            measure("lookout:persist", t0);
            match w.commit(encoded, newest).await {
                Ok(f) => {
                    let bytes = match f {
                        Flushed::Base { bytes } | Flushed::Delta { bytes } => bytes,
                        Flushed::Nothing => 0,
                    };
                    self.0.status.update(|s| {
                        s.last_write = Some((now_ms(), f));
                        s.written += bytes;
                    });
                    self.refresh_usage().await;
                    return;
                }
                Err(e) if e.quota_exceeded() => {
                    // Keep going with less: the oldest half of the store goes, then the rest
                    // is written as a new base.
                    let dropped = self
                        .0
                        .data
                        .try_update_value(|d| persist::evict_half(d.store_mut()))
                        .flatten();
                    let when = dropped.map_or("nothing yet".to_owned(), |t| {
                        crate::format::clock(t, local_offset())
                    });
                    self.note(format!(
                        "browser storage is full: dropped cached data up to {when} to make room"
                    ));
                    (self.0.changed)();
                    w.rebase();
                    if attempt >= 1 {
                        // The old files themselves are in the way of a smaller base.
                        let _ = w.drop_files().await;
                    }
                }
                Err(e) => return self.note(format!("the cache was not saved: {e}")),
            }
        }
        self.note("the cache was not saved: the browser refuses even a small write".into());
    }

    /// The whole store as a snapshot file.
    pub fn export(&self) -> Vec<u8> {
        self.0.data.with_value(|d| d.store().snapshot())
    }

    /// Loads a snapshot file (from [`Cache::export`], maybe another browser's) into the store.
    /// The file is checked whole first; a bad one changes nothing and says why.
    pub fn import(&self, bytes: &[u8]) -> Result<usize, String> {
        let result = self
            .0
            .data
            .try_update_value(|d| d.import(bytes))
            .unwrap_or_else(|| Err("the page is closing".into()));
        match &result {
            Ok(_) => {
                (self.0.changed)();
                if let Some(w) = self.0.writer.borrow_mut().as_mut() {
                    w.rebase();
                }
                wasm_bindgen_futures::spawn_local(self.clone().flush());
            }
            Err(e) => self.note(format!("import failed: {e}")),
        }
        result
    }

    /// Deletes the cache, then reloads the page, which starts from the relay's history.
    pub fn clear(&self) {
        let this = self.clone();
        wasm_bindgen_futures::spawn_local(async move {
            // The writer must not write the data back: it stops here for good.
            let _writer = this.0.writer.borrow_mut().take();
            match persist::clear().await {
                Ok(()) => {
                    if let Some(w) = web_sys::window() {
                        let _ = w.location().reload();
                    }
                }
                Err(e) => this.note(format!("the cache could not be cleared: {e}")),
            }
        });
    }
}

/// Minutes east of UTC, for clock times.
pub fn local_offset() -> i64 {
    -(js_sys::Date::new_0().get_timezone_offset() as i64)
}

/// `window.lookoutSamplesUntil(ms)`: samples the page holds with timestamps at or before `ms`.
/// For the browser tests and for anyone checking a cache by hand from the console (the page's
/// count to compare with the relay's).
pub fn expose_sample_count(data: StoredValue<PageData, LocalStorage>) {
    let f = Closure::<dyn Fn(f64) -> f64>::new(move |until: f64| {
        data.try_with_value(|d| d.samples_until(until as i64) as f64)
            .unwrap_or(0.0)
    });
    if let Some(w) = web_sys::window() {
        let _ = js_sys::Reflect::set(&w, &"lookoutSamplesUntil".into(), f.as_ref());
    }
    f.forget(); // for the page's life
}
