//! Keyboard shortcuts, as Grafana users know them: `?` help, `t z` zoom out, `Esc` back to live
//! and close dialogs. Keys typed into a field are left alone.

use leptos::prelude::*;

use crate::components::time_picker::RANGES;

/// The next longer range of the picker (or the longest).
pub fn zoomed_out(range_ms: i64) -> i64 {
    RANGES
        .iter()
        .map(|r| r.1)
        .find(|ms| *ms > range_ms)
        .unwrap_or(RANGES[RANGES.len() - 1].1)
}

/// A zoomed range twice as long around the same centre, never past `now`.
pub fn widen(r: (i64, i64), now: i64) -> (i64, i64) {
    let half = r.1 - r.0;
    let end = (r.1 + half / 2).min(now);
    (end - 2 * half, end)
}

#[component]
pub fn Shortcuts(range_ms: RwSignal<i64>, zoom: RwSignal<Option<(i64, i64)>>) -> impl IntoView {
    let help = RwSignal::new(false);
    let last_key = StoredValue::new(String::new());
    let handle = window_event_listener(leptos::ev::keydown, move |ev| {
        let typing = ev
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if typing || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        let key = ev.key();
        let previous = last_key.get_value();
        last_key.set_value(key.clone());
        match (previous.as_str(), key.as_str()) {
            (_, "?") => help.update(|h| *h = !*h),
            (_, "Escape") => {
                help.set(false);
                zoom.set(None);
            }
            ("t", "z") => match zoom.get_untracked() {
                Some(r) => zoom.set(Some(widen(r, js_sys::Date::now() as i64))),
                None => {
                    let next = zoomed_out(range_ms.get_untracked());
                    range_ms.set(next);
                    if let Some((key, _)) = RANGES.iter().find(|r| r.1 == next) {
                        crate::app::replace_url_with(|p| p.set("from", key));
                    }
                }
            },
            _ => {}
        }
    });
    on_cleanup(move || handle.remove());
    view! {
        <Show when=move || help.get()>
            <div class="help-overlay" role="dialog" aria-label="Keyboard shortcuts" on:click=move |_| help.set(false)>
                <div class="help">
                    <h2>"Keyboard shortcuts"</h2>
                    <dl>
                        <dt>"?"</dt><dd>"Show or hide this help"</dd>
                        <dt>"e"</dt><dd>"Edit the panel under the pointer (or the focused one)"</dd>
                        <dt>"t z"</dt><dd>"Zoom out the time range"</dd>
                        <dt>"Esc"</dt><dd>"Back to live; close this help"</dd>
                        <dt>"drag on a chart"</dt><dd>"Zoom every panel to that range"</dd>
                    </dl>
                </div>
            </div>
        </Show>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn zooming_out_steps_through_the_picker_and_widens_zooms() {
        assert_eq!(zoomed_out(15 * 60_000), 30 * 60_000);
        assert_eq!(zoomed_out(24 * 3_600_000), 24 * 3_600_000);
        assert_eq!(widen((1_000, 2_000), 10_000), (500, 2_500));
        assert_eq!(widen((8_000, 10_000), 10_000), (6_000, 10_000));
    }
}
