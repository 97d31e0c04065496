//! The offline banner: shown while the relay is out of reach, saying how far the page's data
//! goes; and the cache's notes (evictions, refused writes) whenever there is one.

use leptos::prelude::*;

use crate::connection::ConnState;
use crate::format::clock;
use crate::offline::{CacheStatus, local_offset};

/// "offline — data up to 14:03:07" (or "snapshot — …", the `what` the page is), with the day
/// when it is not today's.
pub fn offline_text(what: &str, newest: Option<i64>, now: i64, offset_minutes: i64) -> String {
    match newest {
        None => format!("{what} — no cached data"),
        Some(t) => {
            let day = |ms: i64| (ms / 60_000 + offset_minutes).div_euclid(1440);
            let days = day(now) - day(t);
            let when = clock(t, offset_minutes);
            match days {
                ..=0 => format!("{what} — data up to {when}"),
                1 => format!("{what} — data up to {when} yesterday"),
                n => format!("{what} — data up to {when}, {n} days ago"),
            }
        }
    }
}

#[component]
pub fn OfflineBanner(
    state: ReadSignal<ConnState>,
    newest: Signal<Option<i64>>,
    cache: RwSignal<CacheStatus>,
) -> impl IntoView {
    let offline = move || {
        matches!(
            state.get(),
            ConnState::Reconnecting { .. } | ConnState::Refused(_) | ConnState::Snapshot
        )
    };
    let snapshot = move || state.get() == ConnState::Snapshot;
    view! {
        <Show when=offline>
            <div class="offline-banner" role="status" data-newest=move || newest.get().unwrap_or_default()>
                <strong>{move || offline_text(
                    if snapshot() { "snapshot" } else { "offline" },
                    newest.get(),
                    js_sys::Date::now() as i64,
                    local_offset(),
                )}</strong>
                {move || if snapshot() {
                    " · an exported file: queries, zoom and variables work over the data it holds."
                } else {
                    " · live updates paused; the page reconnects by itself and fills the gap."
                }}
            </div>
        </Show>
        <Show when=move || cache.with(|c| c.note.is_some())>
            <div class="cache-note" role="alert">
                <span>{move || cache.with(|c| c.note.clone().unwrap_or_default())}</span>
                <button type="button" on:click=move |_| cache.update(|c| c.note = None)>"Dismiss"</button>
            </div>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn the_banner_says_how_old_the_data_is() {
        let t = 10 * 86_400_000 + 3_723_000; // day 10, 01:02:03 UTC
        assert_eq!(
            offline_text("offline", Some(t), t + 60_000, 0),
            "offline — data up to 01:02:03"
        );
        assert_eq!(
            offline_text("offline", Some(t), t + 86_400_000, 0),
            "offline — data up to 01:02:03 yesterday"
        );
        assert_eq!(
            offline_text("offline", Some(t), t + 3 * 86_400_000, 60),
            "offline — data up to 02:02:03, 3 days ago"
        );
        assert_eq!(
            offline_text("offline", None, t, 0),
            "offline — no cached data"
        );
        assert_eq!(
            offline_text("snapshot", Some(t), t + 60_000, 0),
            "snapshot — data up to 01:02:03"
        );
    }
}
