//! The time range picker: relative ranges ending now (live), kept in the URL as `from=now-1h`.

use leptos::prelude::*;

/// The choices, as Grafana names them, with their length in ms.
pub const RANGES: [(&str, i64); 8] = [
    ("now-5m", 5 * 60_000),
    ("now-15m", 15 * 60_000),
    ("now-30m", 30 * 60_000),
    ("now-1h", 3_600_000),
    ("now-3h", 3 * 3_600_000),
    ("now-6h", 6 * 3_600_000),
    ("now-12h", 12 * 3_600_000),
    ("now-24h", 24 * 3_600_000),
];

/// The length of a `from` value, if it is one of the choices.
pub fn parse_from(from: &str) -> Option<i64> {
    RANGES.iter().find(|(k, _)| *k == from).map(|(_, ms)| *ms)
}

#[component]
pub fn TimePicker(range_ms: RwSignal<i64>) -> impl IntoView {
    let on_change = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        if let Some(ms) = parse_from(&v) {
            range_ms.set(ms);
            crate::app::replace_url_with(|p| p.set("from", &v));
        }
    };
    view! {
        <label class="time-picker">
            <span class="sr-only">"Time range"</span>
            <select on:change=on_change aria-label="Time range">
                {RANGES
                    .iter()
                    .map(|(k, ms)| {
                        let label = format!("Last {}", &k[4..]);
                        view! { <option value=*k selected=move || range_ms.get() == *ms>{label}</option> }
                    })
                    .collect_view()}
            </select>
        </label>
    }
}
