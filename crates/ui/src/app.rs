//! The app: the page's data, its connection to the relay, and the page the URL names — the list
//! of dashboards or one dashboard (stored in IndexedDB, a starter, or ad-hoc `?expr=` queries).

use std::collections::HashMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use lookout_tsdb::MatchOp;
use lookout_wire::MatcherSpec;
use wasm_bindgen::JsCast;

use crate::components::theme_toggle::apply_stored_theme;
use crate::components::{
    CacheSettings, DashboardList, DashboardView, ExplorePage, OfflineBanner, PanelContext,
    PanelView, QueryBar, Shortcuts, StatusBar, TargetsPage, ThemeToggle, TimePicker, TokenSetting,
    VariableBar,
};
use crate::connection::{ConnState, Connection, Handlers, default_relay_url, page_token};
use crate::data::PageData;
use crate::model::Dashboard;
use crate::offline::{self, Cache, CacheStatus};
use crate::starters;
use crate::storage::Db;
use crate::url_state::{Route, TimeSel, parse_time, route, time_params};
use crate::variables::{self, Context, Resolved};

/// How much history panels show unless the URL or the dashboard says otherwise, ms.
pub(crate) const DEFAULT_RANGE_MS: i64 = 15 * 60 * 1000;
/// How much history to ask the relay for on the first connection: the longest range the picker
/// offers (the relay sends what its window holds).
pub(crate) const HISTORY_MS: i64 = 24 * 3_600_000;
/// The finest query step: finer only repeats samples.
pub const MIN_STEP_MS: i64 = 1000;
/// The scrape interval `$__rate_interval` assumes (Grafana's default; the relay's too).
pub const SCRAPE_MS: i64 = 15_000;
/// Panels redraw at most this often (ms) while samples stream in.
const REDRAW_MS: i32 = 250;

/// The pages besides dashboards: `?panels` (every panel type), `?explore&q=...`, `?targets`.
#[derive(Debug, Clone, PartialEq)]
enum Screen {
    Dashboards,
    Gallery,
    Explore(String),
    Targets,
}

fn screen(pairs: &[(String, String)]) -> Screen {
    let has = |k: &str| pairs.iter().any(|p| p.0 == k);
    if has("explore") {
        Screen::Explore(
            pairs
                .iter()
                .find(|p| p.0 == "q")
                .map(|p| p.1.clone())
                .unwrap_or_default(),
        )
    } else if has("targets") {
        Screen::Targets
    } else if has("panels") {
        Screen::Gallery
    } else {
        Screen::Dashboards
    }
}

/// `up` and the selectors of `exprs`.
fn subscriptions_of(exprs: impl IntoIterator<Item = String>) -> Vec<Vec<MatcherSpec>> {
    let mut subs = vec![vec![MatcherSpec::new("__name__", MatchOp::Equal, "up")]];
    for e in exprs {
        for s in selectors(&e) {
            if !subs.contains(&s) {
                subs.push(s);
            }
        }
    }
    subs
}

fn params() -> Option<web_sys::UrlSearchParams> {
    web_sys::UrlSearchParams::new_with_str(&window().location().search().unwrap_or_default()).ok()
}

/// The URL's query pairs.
pub fn url_pairs() -> Vec<(String, String)> {
    let Some(p) = params() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Ok(Some(it)) = js_sys::try_iter(&p) {
        for e in it.flatten() {
            let a = js_sys::Array::from(&e);
            if let (Some(k), Some(v)) = (a.get(0).as_string(), a.get(1).as_string()) {
                out.push((k, v));
            }
        }
    }
    out
}

/// Changes the URL's query parameters and loads the page they describe.
pub fn navigate_with(change: impl FnOnce(&web_sys::UrlSearchParams)) {
    if let Some(p) = params() {
        change(&p);
        let _ = window().location().set_search(&String::from(p.to_string()));
    }
}

/// Changes the URL's query parameters in place (no reload), so a copied link keeps the view.
pub fn replace_url_with(change: impl FnOnce(&web_sys::UrlSearchParams)) {
    let (Some(p), Ok(history)) = (params(), window().history()) else {
        return;
    };
    change(&p);
    let url = format!(
        "{}?{}",
        window().location().pathname().unwrap_or_default(),
        String::from(p.to_string())
    );
    let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
}

/// The relay to connect to: `?relay=ws://...` or the one that served the page.
fn relay_url() -> String {
    params()
        .and_then(|p| p.get("relay"))
        .unwrap_or_else(default_relay_url)
}

/// What to ask the relay for: `up` (the targets) and the selectors of every panel's query.
/// Matchers whose value holds a variable are left out, so one subscription serves every value
/// the variable can take and changing it needs no new round trip.
pub fn subscriptions(d: &Dashboard) -> Vec<Vec<MatcherSpec>> {
    let mut subs = vec![vec![MatcherSpec::new("__name__", MatchOp::Equal, "up")]];
    for p in d.all_panels() {
        for s in p.targets.iter().flatten().flat_map(|t| selectors(&t.expr)) {
            if !subs.contains(&s) {
                subs.push(s);
            }
        }
    }
    subs
}

/// The selectors of one (uninterpolated) query, without matchers on variables: the same
/// reading the relay makes of a dashboard to scope its tokens.
pub fn selectors(expr: &str) -> Vec<Vec<MatcherSpec>> {
    lookout_promql::template::selectors(expr)
        .unwrap_or_default()
        .iter()
        .map(|s| s.iter().map(MatcherSpec::from).collect())
        .collect()
}

/// Saves a dashboard in browser storage; a failure is logged and shown by the caller's signal.
pub fn save(d: &Dashboard, status: RwSignal<Option<String>>) {
    let (uid, json) = (d.uid.clone(), d.to_json());
    spawn_local(async move {
        let r = async { Db::open().await?.put("dashboards", &uid, &json).await }.await;
        status.set(r.err().map(|e| e.to_string()));
    });
}

/// Loads the dashboard a route names: a stored one by uid (a starter's uid finds the stored
/// copy once it was edited), else the starter itself.
async fn load(r: &Route) -> Result<Dashboard, String> {
    let uid = match r {
        Route::Queries(exprs) => return Ok(starters::from_queries(exprs)),
        Route::Dashboard(uid) => uid,
        Route::List => return Err("no dashboard".into()),
    };
    let stored = match Db::open().await {
        Ok(db) => db.get("dashboards", uid).await.map_err(|e| e.to_string())?,
        Err(e) => {
            web_sys::console::warn_1(&e.to_string().into());
            None
        }
    };
    if let Some(json) = stored {
        return Dashboard::from_json(&json)
            .map_err(|e| format!("dashboard {uid:?} is damaged: {e}"));
    }
    starter(uid).ok_or_else(|| format!("there is no dashboard {uid:?} in this browser"))
}

/// A dashboard the relay provisions (`--dashboards`), asked for over the stream so that the
/// page's token decides (a token scoped to other dashboards gets the relay's refusal).
pub(crate) async fn from_relay(
    conn: StoredValue<Option<Connection>, LocalStorage>,
    uid: &str,
) -> Result<Dashboard, String> {
    let ask = conn.with_value(|c| {
        c.as_ref().map(|c| {
            c.ask(lookout_wire::Request::Dashboard {
                uid: uid.to_owned(),
            })
        })
    });
    match ask.ok_or("no relay connection to ask")?.await {
        Ok(lookout_wire::Reply::Dashboard(json)) => Dashboard::from_json(&json)
            .map_err(|e| format!("the relay's dashboard {uid:?} cannot be read: {e}")),
        Ok(_) => Err(crate::connection::RequestError::Unexpected.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// The starter dashboard `uid` names: the services overview, or its board for one job.
pub(crate) fn starter(uid: &str) -> Option<Dashboard> {
    if uid == starters::OVERVIEW_UID {
        return Some(starters::services_overview(None));
    }
    uid.strip_prefix("job-")
        .map(|job| starters::services_overview(Some(job)))
}

/// The page's shared state, handed to the components.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub data: StoredValue<PageData, LocalStorage>,
    pub version: ReadSignal<u64>,
    pub conn: StoredValue<Option<Connection>, LocalStorage>,
    /// The dashboard being shown (and edited).
    pub doc: RwSignal<Option<Dashboard>>,
    /// The visible range, ms.
    pub range: Signal<(i64, i64)>,
    pub resolved: Memo<Vec<Resolved>>,
    /// Selections asked for (the URL's, then the user's), by variable name.
    pub wanted: RwSignal<HashMap<String, Vec<String>>>,
    pub hover: RwSignal<Option<i64>>,
    pub zoom: RwSignal<Option<(i64, i64)>>,
    pub edit: RwSignal<bool>,
    /// The last storage problem, shown in the toolbar.
    pub storage_error: RwSignal<Option<String>>,
    /// An embed: changes (a row folded) are the view's own and never saved.
    pub read_only: bool,
}

impl Page {
    /// Changes the dashboard and saves it.
    pub fn change(&self, f: impl FnOnce(&mut Dashboard)) {
        self.doc.update(|d| {
            if let Some(d) = d {
                f(d);
            }
        });
        if let Some(d) = self.doc.get_untracked() {
            if !self.read_only {
                save(&d, self.storage_error);
            }
            self.subscribe_new(&d);
        }
    }

    /// Subscribes to selectors the dashboard reads that the connection does not have yet.
    pub fn subscribe_new(&self, d: &Dashboard) {
        let subs = subscriptions(d);
        self.conn.with_value(|c| {
            if let Some(c) = c {
                let start = self
                    .data
                    .with_value(|d| d.newest)
                    .unwrap_or(js_sys::Date::now() as i64)
                    - HISTORY_MS;
                for s in subs {
                    c.subscribe_once(s, start);
                }
            }
        });
    }
}

/// The dashboard's variables resolved against the store, again whenever data, range or the
/// wanted selections change (chained variables follow their upstream).
pub(crate) fn resolve_variables(
    data: StoredValue<PageData, LocalStorage>,
    version: ReadSignal<u64>,
    doc: RwSignal<Option<Dashboard>>,
    range: Signal<(i64, i64)>,
    wanted: RwSignal<HashMap<String, Vec<String>>>,
) -> Memo<Vec<Resolved>> {
    Memo::new(move |_| {
        version.track();
        let vars = doc.with(|d| {
            d.as_ref()
                .map(|d| d.variables().to_vec())
                .unwrap_or_default()
        });
        if vars.is_empty() {
            return Vec::new();
        }
        let (start, end) = range.get();
        let ctx = Context::for_width(start, end, 1000, SCRAPE_MS);
        wanted.with(|w| data.with_value(|d| variables::resolve(&vars, w, d.store(), &ctx)))
    })
}

/// Opens the relay's stream at `url`: frames go into `data`, panels redraw through
/// [`Redraw`] (bumping `version` and `now`), the connection's state goes to `state`. On each
/// (re)connection the relay is asked for history from the newest sample held.
pub(crate) fn open_stream(
    url: String,
    token: Option<String>,
    subs: Vec<Vec<MatcherSpec>>,
    data: StoredValue<PageData, LocalStorage>,
    (set_version, set_now, set_state): (WriteSignal<u64>, WriteSignal<i64>, WriteSignal<ConnState>),
) -> Connection {
    let redraw = Redraw::default();
    let on_connect_redraw = redraw.clone();
    Connection::open_with_token(
        url,
        token,
        subs,
        Handlers {
            on_frame: Box::new(move |frame| {
                let first = redraw.first_samples(&frame);
                if data.try_update_value(|d| d.apply(frame)).unwrap_or(false) {
                    redraw.request(first, move || {
                        set_now.set(js_sys::Date::now() as i64);
                        set_version.update(|v| *v += 1);
                    });
                }
            }),
            on_state: Box::new(move |s| set_state.set(s)),
            on_connect: Box::new(move || {
                on_connect_redraw.connected();
                data.try_update_value(|d| {
                    d.reset_refs();
                    // Ask for history from the newest sample we hold: the store ignores
                    // repeats.
                    d.newest.unwrap_or(js_sys::Date::now() as i64 - HISTORY_MS)
                })
                .unwrap_or(0)
            }),
        },
    )
}

/// When panels redraw while frames stream in. Frames arrive per target and scrape; panels
/// redraw at most once per [`REDRAW_MS`] however many came, so live mode's cost does not grow
/// with targets: the first frame after a quiet spell draws at once, later ones wait for the
/// window's end. A subscription's first samples since connecting (its history) always draw at
/// once: they are what an opening page (or an embed) is waiting for.
#[derive(Clone, Default)]
struct Redraw(std::rc::Rc<RedrawState>);

#[derive(Default)]
struct RedrawState {
    pending: std::cell::Cell<bool>,
    /// `Date.now()` of the last redraw; 0 before the first.
    last: std::cell::Cell<f64>,
    /// Subscriptions that brought samples since the connection opened.
    seen: std::cell::RefCell<std::collections::HashSet<u32>>,
}

impl Redraw {
    fn connected(&self) {
        self.0.seen.borrow_mut().clear();
    }

    /// Whether `frame` is the first samples of its subscription since connecting.
    fn first_samples(&self, frame: &lookout_wire::Event) -> bool {
        matches!(frame, lookout_wire::Event::Samples { sub, .. } if self.0.seen.borrow_mut().insert(*sub))
    }

    fn request(&self, now: bool, bump: impl FnOnce() + 'static) {
        let wait = if now {
            0.0
        } else if self.0.pending.replace(true) {
            return;
        } else {
            (self.0.last.get() + f64::from(REDRAW_MS) - js_sys::Date::now()).max(0.0)
        };
        let state = self.0.clone();
        let cb = wasm_bindgen::closure::Closure::once_into_js(move || {
            if !now {
                state.pending.set(false);
            }
            state.last.set(js_sys::Date::now());
            bump();
        });
        let _ = window()
            .set_timeout_with_callback_and_timeout_and_arguments_0(cb.unchecked_ref(), wait as i32);
    }
}

#[component]
pub fn App() -> impl IntoView {
    let pairs = url_pairs();
    // `/embed`: no chrome, read-only, theme and background from the URL (see `embed`).
    let embed = crate::embed::is_embed_path(&window().location().pathname().unwrap_or_default())
        .then(|| crate::embed::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
    match &embed {
        Some(e) => {
            if let Some(root) = document().document_element() {
                let _ = root.class_list().add_1("embed");
                if let Ok(spec) = e {
                    if let Some(t) = &spec.theme {
                        let _ = root.set_attribute("data-theme", t);
                    }
                    if spec.transparent {
                        let _ = root.class_list().add_1("transparent");
                    }
                    if matches!(spec.what, crate::embed::EmbedWhat::Panel(_)) {
                        let _ = root.class_list().add_1("solo");
                    }
                }
            }
        }
        None => apply_stored_theme(),
    }
    // An exported file (`export`): the dashboard and its data are in the page; no relay.
    let exported = if embed.is_none() {
        crate::export::embedded()
    } else {
        None
    };
    let data = StoredValue::new_local(PageData::default());
    expose_dump(data);
    let (version, set_version) = signal(0u64);
    let (state, set_state) = signal(ConnState::Connecting);
    let (now, set_now) = signal(js_sys::Date::now() as i64);
    // The connection lives as long as the app; components ask the relay through it
    // (`connection::use_connection`).
    let conn = StoredValue::new_local(None::<Connection>);
    provide_context(conn);
    crate::connection::watch_fragment_token();
    // A `#token=` fragment is taken (saved, and removed from the address bar) now, before the
    // URL state rewrites the address and before the connection opens after the cache restore.
    let _ = page_token();
    let route = route(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let screen = screen(&pairs);
    let open = move |subs: Vec<Vec<MatcherSpec>>| {
        let c = open_stream(
            relay_url(),
            page_token(),
            subs,
            data,
            (set_version, set_now, set_state),
        );
        conn.set_value(Some(c));
    };
    // The cache is restored before the page connects, so panels draw from it at once; until
    // live data arrives, "now" is the newest cached sample (live following pauses offline).
    let cache_status = RwSignal::new(CacheStatus::default());
    let cache = Cache::new(data, cache_status, move || set_version.update(|v| *v += 1));
    let in_embed = embed.is_some();
    let in_file = exported.is_some();
    let start = {
        let cache = cache.clone();
        move |subs: Vec<Vec<MatcherSpec>>| {
            if in_file {
                return set_state.set(ConnState::Snapshot);
            }
            // An embed keeps no cache: it is a view into the relay, often one of several frames
            // on a host page, whose storage the browser partitions per host anyway.
            if in_embed {
                return open(subs);
            }
            cache.start(move || {
                if let Some(t) = data.try_with_value(|d| d.newest).flatten() {
                    set_now.set(t);
                }
                open(subs);
            });
        }
    };
    offline::expose_sample_count(data);
    let cache = StoredValue::new_local(cache);

    let (exported, file_error) = match exported {
        Some(Ok(x)) => (Some(x), None),
        Some(Err(e)) => (None, Some(e)),
        None => (None, None),
    };
    let time = match &exported {
        Some(x) => x.time,
        None => parse_time(
            &pairs
                .iter()
                .find(|p| p.0 == "from")
                .map(|p| p.1.clone())
                .unwrap_or_default(),
            pairs.iter().find(|p| p.0 == "to").map(|p| p.1.as_str()),
        ),
    };
    let range_ms = RwSignal::new(match time {
        Some(TimeSel::Relative(ms)) => ms,
        _ => DEFAULT_RANGE_MS,
    });
    let zoom = RwSignal::new(match time {
        Some(TimeSel::Absolute(a, b)) => Some((a, b)),
        _ => None,
    });
    // A zoom (drag on a chart) goes into the URL as an absolute range; "back to live" restores
    // the relative one.
    Effect::new(move |prev: Option<()>| {
        let t = match zoom.get() {
            Some((a, b)) => TimeSel::Absolute(a, b),
            None => TimeSel::Relative(range_ms.get()),
        };
        if prev.is_some() {
            let (from, to) = time_params(t);
            replace_url_with(|p| {
                p.set("from", &from);
                p.set("to", &to);
            });
        }
    });
    let range = Signal::derive(move || match zoom.get() {
        Some(r) => r,
        None => {
            let end = now.get();
            (end - range_ms.get(), end)
        }
    });
    let doc = RwSignal::new(None::<Dashboard>);
    let wanted = RwSignal::new(variables::wanted_from_pairs(
        match &exported {
            Some(x) => &x.vars,
            None => &pairs,
        }
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str())),
    ));
    let resolved = resolve_variables(data, version, doc, range, wanted);
    let page = Page {
        data,
        version,
        conn,
        doc,
        range,
        resolved,
        wanted,
        hover: RwSignal::new(None),
        zoom,
        edit: RwSignal::new(!in_embed && pairs.iter().any(|p| p.0 == "edit")),
        storage_error: RwSignal::new(None),
        read_only: in_embed || in_file,
    };
    let load_error = RwSignal::new(None::<String>);
    let newest = Signal::derive(move || {
        version.track();
        data.with_value(|d| d.newest)
    });
    let samples = Signal::derive(move || {
        version.track();
        data.with_value(|d| d.samples_received)
    });
    let is_list = route == Route::List;
    let gallery = if screen == Screen::Gallery {
        crate::gallery::panels()
    } else {
        Vec::new()
    };
    if in_file {
        match exported {
            Some(x) => {
                let newest = data
                    .try_update_value(|d| {
                        d.replace_store(x.store);
                        d.newest
                    })
                    .flatten();
                // The view ends where it ended when the file was made (a relative range ends
                // at the export, as it ended at "now" then), never before the newest sample.
                set_now.set(newest.map_or(x.exported_at, |n| n.max(x.exported_at)));
                document().set_title(&format!("{} · Lookout", x.dashboard.title));
                doc.set(Some(x.dashboard));
                set_version.update(|v| *v += 1);
            }
            None => load_error.set(file_error),
        }
        start(Vec::new());
    } else if screen != Screen::Dashboards {
        let exprs: Vec<String> = match &screen {
            Screen::Gallery => gallery
                .iter()
                .flat_map(|s| s.targets.iter().map(|t| t.expr.clone()))
                .collect(),
            Screen::Explore(q) => vec![q.clone()],
            _ => Vec::new(),
        };
        start(subscriptions_of(exprs));
    } else if is_list {
        start(subscriptions(&Dashboard::default()));
    } else {
        let r = route.clone();
        let has_time = time.is_some();
        let embed = embed.clone();
        spawn_local(async move {
            let loaded = match &embed {
                None => load(&r).await,
                Some(Err(e)) => Err(e.clone()),
                Some(Ok(spec)) => match &spec.def {
                    Some(json) => Dashboard::from_json(json)
                        .map_err(|e| format!("the embedded dashboard (def=) cannot be read: {e}")),
                    None => load(&r).await,
                }
                .and_then(|d| crate::embed::select(&d, spec.what)),
            };
            match loaded {
                Ok(d) => {
                    if !has_time
                        && let Some(TimeSel::Relative(ms)) = d
                            .time
                            .as_ref()
                            .and_then(|t| parse_time(&t.from, Some(&t.to)))
                    {
                        range_ms.set(ms);
                    }
                    start(subscriptions(&d));
                    document().set_title(&format!("{} · Lookout", d.title));
                    doc.set(Some(d));
                }
                Err(e) => {
                    start(subscriptions(&Dashboard::default()));
                    // Not in this browser nor a starter: perhaps the relay provisions it.
                    let what = match &embed {
                        Some(Ok(spec)) if spec.def.is_some() => return load_error.set(Some(e)),
                        Some(Ok(spec)) => Some(spec.what),
                        _ => None,
                    };
                    let Route::Dashboard(uid) = &r else {
                        return load_error.set(Some(e));
                    };
                    let found = from_relay(page.conn, uid).await.and_then(|d| match what {
                        Some(w) => crate::embed::select(&d, w),
                        None => Ok(d),
                    });
                    match found {
                        Ok(d) => {
                            page.subscribe_new(&d);
                            document().set_title(&format!("{} · Lookout", d.title));
                            doc.set(Some(d));
                        }
                        Err(relay) => load_error.set(Some(format!("{e}; {relay}"))),
                    }
                }
            }
        });
    }

    let ctx = PanelContext {
        data,
        version,
        range,
        min_step: MIN_STEP_MS,
        hover: page.hover,
        zoom,
    };
    let health = Signal::derive(move || {
        version.track();
        data.with_value(|d| d.health.clone())
    });
    let explore = matches!(screen, Screen::Explore(_));
    let (screen_title, screen_body) = match screen {
        Screen::Dashboards => (None, None),
        Screen::Gallery => (
            Some("Panel gallery"),
            Some(view! {
                <main class="grid gallery">
                    {gallery.into_iter().map(|spec| view! { <PanelView spec=spec ctx=ctx /> }).collect_view()}
                </main>
            }
            .into_any()),
        ),
        Screen::Explore(q) => (
            Some("Explore"),
            Some(view! { <main class="page"><ExplorePage query=q ctx=ctx /></main> }.into_any()),
        ),
        Screen::Targets => (
            Some("Targets"),
            Some(view! { <main class="page"><TargetsPage health=health now=now /></main> }.into_any()),
        ),
    };
    let dashboards = screen_title.is_none();
    if in_embed {
        return view! {
            <crate::components::EmbedView page=page state=state newest=newest load_error=load_error loaded=Signal::derive(move || doc.with(Option::is_some)) min_step=MIN_STEP_MS />
        }
        .into_any();
    }
    let loaded = Memo::new(move |_| doc.with(Option::is_some));
    let title = move || doc.with(|d| d.as_ref().map(|d| d.title.clone()).unwrap_or_default());
    view! {
        <header class="topbar">
            <h1><a href="?dashboards" class="home" title="All dashboards">"Lookout"</a></h1>
            <nav class="pages">
                <a href="?dashboards">"Dashboards"</a>
                <a href="?explore">"Explore"</a>
                <a href="?targets">"Targets"</a>
                <a href="?panels">"Panels"</a>
            </nav>
            <span class="dashboard-title">{move || match screen_title {
                Some(t) => t.to_owned(),
                None if is_list => "Dashboards".to_owned(),
                None => title(),
            }}</span>
            {(!explore).then(|| view! { <QueryBar /> })}
            <TimePicker range_ms=range_ms />
            <Show when=move || zoom.get().is_some()>
                <button class="back-to-live" type="button" on:click=move |_| zoom.set(None) title="Leave the zoomed range and follow now">
                    "Back to live"
                </button>
            </Show>
            <ThemeToggle />
            <CacheSettings cache=cache status=cache_status />
            <StatusBar state=state newest=newest samples=samples />
            <TokenSetting state=state />
        </header>
        <OfflineBanner state=state newest=newest cache=cache_status />
        {screen_body}
        {move || {
            if !dashboards {
                return ().into_any();
            }
            if is_list {
                let jobs = Signal::derive(move || {
                    version.track();
                    let mut jobs: Vec<String> = data.with_value(|d| d.targets().into_iter().map(|t| t.0).collect());
                    jobs.dedup();
                    jobs
                });
                return view! { <DashboardList jobs=jobs /> }.into_any();
            }
            if let Some(e) = load_error.get() {
                return view! {
                    <main class="page-message" role="alert">
                        <p class="error">{e}</p>
                        <p><a href="?dashboards">"All dashboards"</a></p>
                    </main>
                }
                .into_any();
            }
            if !loaded.get() {
                return view! { <main class="page-message"><p>"Loading the dashboard…"</p></main> }.into_any();
            }
            view! {
                <VariableBar page=page />
                <DashboardView page=page min_step=MIN_STEP_MS />
            }
            .into_any()
        }}
        <Shortcuts range_ms=range_ms zoom=zoom />
    }
    .into_any()
}

/// `window.lookoutDump(name)`: the page's samples of one metric as text ([`PageData::dump`]),
/// read-only, for end-to-end tests and the developer console.
fn expose_dump(data: StoredValue<PageData, LocalStorage>) {
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    let dump = Closure::<dyn Fn(String) -> String>::new(move |name: String| {
        data.try_with_value(|d| d.dump(&name)).unwrap_or_default()
    });
    let _ = js_sys::Reflect::set(
        &window(),
        &"lookoutDump".into(),
        dump.as_ref().unchecked_ref(),
    );
    // The page lives as long as the window: so does the function.
    dump.forget();
}
