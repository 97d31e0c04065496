//! The app: the page's data, its connection to the relay, and the dashboard.

use leptos::prelude::*;
use lookout_tsdb::MatchOp;
use lookout_wire::MatcherSpec;
use wasm_bindgen::JsCast;

use crate::components::theme_toggle::apply_stored_theme;
use crate::components::time_picker::parse_from;
use crate::components::{
    ExplorePage, PanelContext, PanelView, QueryBar, Shortcuts, StatusBar, TargetsPage,
    TargetsPanel, ThemeToggle, TimePicker,
};
use crate::connection::{ConnState, Connection, Handlers, default_relay_url};
use crate::dashboard::{self, Dashboard, PanelKind};
use crate::data::PageData;
use crate::panel_options::{self as po, PanelSpec, PanelType};
use crate::query::PanelQuery;

/// How much history panels show unless the URL says otherwise (`from=now-1h`), ms.
const DEFAULT_RANGE_MS: i64 = 15 * 60 * 1000;
/// How much history to ask the relay for on the first connection: the longest range the picker
/// offers (the relay sends what its window holds).
const HISTORY_MS: i64 = 24 * 3_600_000;
/// Panels redraw at most this often (ms) while samples stream in.
const REDRAW_MS: i32 = 250;
/// The finest query step: finer only repeats samples.
const MIN_STEP_MS: i64 = 1000;

fn params() -> Option<web_sys::UrlSearchParams> {
    web_sys::UrlSearchParams::new_with_str(&window().location().search().unwrap_or_default()).ok()
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

/// `?expr=...` (repeatable) shows those queries; otherwise the services overview.
fn initial_dashboard() -> Dashboard {
    let exprs: Vec<String> = params()
        .map(|p| {
            p.get_all("expr")
                .iter()
                .filter_map(|v| v.as_string())
                .filter(|s| !s.trim().is_empty())
                .collect()
        })
        .unwrap_or_default();
    if exprs.is_empty() {
        dashboard::services_overview()
    } else {
        dashboard::from_queries(&exprs)
    }
}

/// The pages besides dashboards: `?panels` (every panel type), `?explore&q=...`, `?targets`.
#[derive(Debug, Clone, PartialEq)]
enum Page {
    Dashboard,
    Gallery,
    Explore(String),
    Targets,
}

fn page() -> Page {
    let Some(p) = params() else {
        return Page::Dashboard;
    };
    if p.has("explore") {
        Page::Explore(p.get("q").unwrap_or_default())
    } else if p.has("targets") {
        Page::Targets
    } else if p.has("panels") {
        Page::Gallery
    } else {
        Page::Dashboard
    }
}

/// What to ask the relay for: the selectors of every query, plus `up` for the targets.
fn subscriptions(exprs: &[String]) -> Vec<Vec<MatcherSpec>> {
    let mut subs = vec![vec![MatcherSpec::new("__name__", MatchOp::Equal, "up")]];
    for e in exprs {
        for s in PanelQuery::parse(e)
            .map(|q| q.subscriptions())
            .unwrap_or_default()
        {
            if !subs.contains(&s) {
                subs.push(s);
            }
        }
    }
    subs
}

/// A dashboard panel as the renderers read it.
pub fn spec_of(p: &dashboard::Panel) -> PanelSpec {
    let mut spec = PanelSpec {
        key: p.id.clone(),
        title: p.title.clone(),
        kind: match p.kind {
            PanelKind::Stat => PanelType::Stat,
            _ => PanelType::Timeseries,
        },
        targets: vec![po::Target {
            expr: p.expr.clone(),
            legend_format: p.legend.clone(),
        }],
        ..PanelSpec::default()
    };
    let d = &mut spec.field_config.defaults;
    d.unit = Some(p.unit.id().to_owned());
    if !p.thresholds.is_empty() {
        d.thresholds.steps = p
            .thresholds
            .iter()
            .enumerate()
            .map(|(i, (v, (r, g, b)))| po::ThresholdStep {
                color: format!("#{r:02x}{g:02x}{b:02x}"),
                value: (i > 0).then_some(*v),
            })
            .collect();
    }
    spec
}

#[component]
pub fn App() -> impl IntoView {
    let data = StoredValue::new_local(PageData::default());
    let (version, set_version) = signal(0u64);
    let (state, set_state) = signal(ConnState::Connecting);
    let (now, set_now) = signal(js_sys::Date::now() as i64);
    let redraw_pending = std::rc::Rc::new(std::cell::Cell::new(false));
    let dash = initial_dashboard();
    let page = page();
    let gallery = if page == Page::Gallery {
        crate::gallery::panels()
    } else {
        Vec::new()
    };
    let exprs: Vec<String> = match &page {
        Page::Dashboard => dash.panels.iter().map(|p| p.expr.clone()).collect(),
        Page::Gallery => gallery
            .iter()
            .flat_map(|s| s.targets.iter().map(|t| t.expr.clone()))
            .collect(),
        Page::Explore(q) => vec![q.clone()],
        Page::Targets => Vec::new(),
    };
    apply_stored_theme();
    let range_ms = RwSignal::new(
        params()
            .and_then(|p| p.get("from"))
            .and_then(|f| parse_from(&f))
            .unwrap_or(DEFAULT_RANGE_MS),
    );

    let connection = Connection::open(
        relay_url(),
        subscriptions(&exprs),
        Handlers {
            on_frame: Box::new(move |frame| {
                // Frames arrive per target and scrape; panels redraw at most once per
                // `REDRAW_MS` however many came, so live mode's cost does not grow with targets.
                if data.try_update_value(|d| d.apply(frame)).unwrap_or(false)
                    && !redraw_pending.replace(true)
                {
                    let pending = redraw_pending.clone();
                    let bump = wasm_bindgen::closure::Closure::once_into_js(move || {
                        pending.set(false);
                        set_now.set(js_sys::Date::now() as i64);
                        set_version.update(|v| *v += 1);
                    });
                    let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(
                        bump.unchecked_ref(),
                        REDRAW_MS,
                    );
                }
            }),
            on_state: Box::new(move |s| set_state.set(s)),
            on_connect: Box::new(move || {
                data.try_update_value(|d| {
                    d.reset_refs();
                    // Ask for history from the newest sample we hold: the store ignores repeats.
                    d.newest.unwrap_or(js_sys::Date::now() as i64 - HISTORY_MS)
                })
                .unwrap_or(0)
            }),
        },
    );
    // The connection lives as long as the app.
    StoredValue::new_local(connection);

    // A drag on any chart zooms every panel to that range and pauses live following.
    let zoom = RwSignal::new(None::<(i64, i64)>);
    let hover = RwSignal::new(None::<i64>);
    let range = Signal::derive(move || match zoom.get() {
        Some(r) => r,
        None => {
            let end = now.get();
            (end - range_ms.get(), end)
        }
    });
    let targets = Signal::derive(move || {
        version.track();
        data.with_value(PageData::targets)
    });
    let newest = Signal::derive(move || {
        version.track();
        data.with_value(|d| d.newest)
    });
    let samples = Signal::derive(move || {
        version.track();
        data.with_value(|d| d.samples_received)
    });

    let ctx = PanelContext {
        data,
        version,
        range,
        min_step: MIN_STEP_MS,
        hover,
        zoom,
    };
    let health = Signal::derive(move || {
        version.track();
        data.with_value(|d| d.health.clone())
    });
    let (title, body) = match page {
        Page::Dashboard => (
            dash.title.clone(),
            view! {
                <main class="grid">
                    {dash
                        .panels
                        .iter()
                        .map(|p| match p.kind {
                            PanelKind::Targets => view! { <TargetsPanel targets=targets /> }.into_any(),
                            _ => view! { <PanelView spec=spec_of(p) ctx=ctx /> }.into_any(),
                        })
                        .collect_view()}
                </main>
            }
            .into_any(),
        ),
        Page::Gallery => (
            "Panel gallery".to_owned(),
            view! {
                <main class="grid gallery">
                    {gallery.into_iter().map(|spec| view! { <PanelView spec=spec ctx=ctx /> }).collect_view()}
                </main>
            }
            .into_any(),
        ),
        Page::Explore(q) => (
            "Explore".to_owned(),
            view! { <main class="page"><ExplorePage query=q ctx=ctx /></main> }.into_any(),
        ),
        Page::Targets => (
            "Targets".to_owned(),
            view! { <main class="page"><TargetsPage health=health now=now /></main> }.into_any(),
        ),
    };
    let explore_page = title == "Explore";

    view! {
        <header class="topbar">
            <h1>"Lookout"</h1>
            <nav class="pages">
                <a href="?">"Dashboard"</a>
                <a href="?explore">"Explore"</a>
                <a href="?targets">"Targets"</a>
                <a href="?panels">"Panels"</a>
            </nav>
            <span class="dashboard-title">{title}</span>
            {(!explore_page).then(|| view! { <QueryBar /> })}
            <TimePicker range_ms=range_ms />
            <Show when=move || zoom.get().is_some()>
                <button class="back-to-live" type="button" on:click=move |_| zoom.set(None) title="Leave the zoomed range and follow now">
                    "Back to live"
                </button>
            </Show>
            <ThemeToggle />
            <StatusBar state=state newest=newest samples=samples />
        </header>
        {body}
        <Shortcuts range_ms=range_ms zoom=zoom />
    }
}
