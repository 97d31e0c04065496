//! The app: the page's data, its connection to the relay, and the dashboard.

use leptos::prelude::*;
use lookout_tsdb::{MatchOp, Matcher};
use lookout_wire::MatcherSpec;

use crate::components::panel::PanelSpec;
use crate::components::{StatusBar, TargetsPanel, TimeSeriesPanel};
use crate::connection::{ConnState, Connection, Handlers, default_relay_url};
use crate::data::PageData;

/// How much history a panel shows, ms.
const RANGE_MS: i64 = 15 * 60 * 1000;

/// Panels for every metric the store has, one per metric name (until dashboards are editable).
fn auto_panels(names: &[String]) -> Vec<PanelSpec> {
    names
        .iter()
        .filter(|n| *n != "up")
        .filter_map(|n| {
            let m = Matcher::new(MatchOp::Equal, "__name__", n.as_str()).ok()?;
            Some(PanelSpec {
                id: n.clone(),
                title: n.clone(),
                matchers: vec![m],
            })
        })
        .collect()
}

/// The relay to connect to: `?relay=ws://...` or the one that served the page.
fn relay_url() -> String {
    let search = window().location().search().unwrap_or_default();
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()
        .and_then(|p| p.get("relay"))
        .unwrap_or_else(default_relay_url)
}

#[component]
pub fn App() -> impl IntoView {
    let data = StoredValue::new_local(PageData::default());
    let (version, set_version) = signal(0u64);
    let (state, set_state) = signal(ConnState::Connecting);
    let (now, set_now) = signal(js_sys::Date::now() as i64);

    let everything = vec![MatcherSpec::new("__name__", MatchOp::RegexMatch, ".+")];
    let connection = Connection::open(
        relay_url(),
        vec![everything],
        Handlers {
            on_frame: Box::new(move |frame| {
                if data.try_update_value(|d| d.apply(frame)).unwrap_or(false) {
                    set_now.set(js_sys::Date::now() as i64);
                    set_version.update(|v| *v += 1);
                }
            }),
            on_state: Box::new(move |s| set_state.set(s)),
            on_connect: Box::new(move || {
                data.try_update_value(|d| {
                    d.reset_refs();
                    d.newest.unwrap_or(js_sys::Date::now() as i64 - RANGE_MS)
                })
                .unwrap_or(0)
            }),
        },
    );
    // The connection lives as long as the app.
    StoredValue::new_local(connection);

    let range = Signal::derive(move || {
        let end = now.get();
        (end - RANGE_MS, end)
    });
    let names = Memo::new(move |_| {
        version.track();
        data.with_value(PageData::metric_names)
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

    view! {
        <header class="topbar">
            <h1>"Lookout"</h1>
            <StatusBar state=state newest=newest samples=samples />
        </header>
        <main class="grid">
            <TargetsPanel targets=targets />
            <For each=move || auto_panels(&names.get()) key=|p| p.id.clone() let:spec>
                <TimeSeriesPanel spec=spec data=data version=version range=range />
            </For>
        </main>
    }
}
