//! Light/dark theme switch, remembered in the browser.

use leptos::prelude::*;

fn stored() -> Option<String> {
    window()
        .local_storage()
        .ok()
        .flatten()?
        .get_item("lookout.theme")
        .ok()
        .flatten()
}

/// Applies the stored theme (or the system's) to the document.
pub fn apply_stored_theme() {
    if let (Some(t), Some(root)) = (stored(), document().document_element()) {
        let _ = root.set_attribute("data-theme", &t);
    }
}

#[component]
pub fn ThemeToggle() -> impl IntoView {
    let dark_now = || {
        document()
            .document_element()
            .and_then(|e| e.get_attribute("data-theme"))
            .map_or_else(
                || {
                    window()
                        .match_media("(prefers-color-scheme: dark)")
                        .ok()
                        .flatten()
                        .is_some_and(|m| m.matches())
                },
                |t| t == "dark",
            )
    };
    let (dark, set_dark) = signal(dark_now());
    let toggle = move |_| {
        let next = if dark.get_untracked() {
            "light"
        } else {
            "dark"
        };
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-theme", next);
        }
        if let Some(s) = window().local_storage().ok().flatten() {
            let _ = s.set_item("lookout.theme", next);
        }
        set_dark.set(next == "dark");
    };
    view! {
        <button class="theme-toggle" type="button" on:click=toggle title="Switch light/dark theme">
            {move || if dark.get() { "Light" } else { "Dark" }}
        </button>
    }
}
