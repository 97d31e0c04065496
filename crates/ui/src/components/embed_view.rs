//! The `/embed` page: the panels `embed::select` chose, with no chrome; a line says when the
//! data is not live (so a refused or unreachable relay is never a blank box); the content's
//! height goes to the host page (`{type: "lookout:size", height}` by `postMessage`).

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;

use crate::app::Page;
use crate::components::DashboardView;
use crate::connection::ConnState;
use crate::format::clock;

#[component]
pub fn EmbedView(
    page: Page,
    state: ReadSignal<ConnState>,
    newest: Signal<Option<i64>>,
    load_error: RwSignal<Option<String>>,
    loaded: Signal<bool>,
    min_step: i64,
) -> impl IntoView {
    let root = NodeRef::<leptos::html::Div>::new();
    report_height(root);
    let offset = -(js_sys::Date::new_0().get_timezone_offset() as i64);
    let note = move || match state.get() {
        ConnState::Live | ConnState::Resynced(_) | ConnState::Snapshot => None,
        ConnState::Connecting => Some("connecting to the relay…".to_owned()),
        ConnState::Reconnecting { .. } => Some(match newest.get() {
            Some(t) => format!("offline — data up to {}", clock(t, offset)),
            None => "the relay cannot be reached; retrying".to_owned(),
        }),
        ConnState::Refused(why) => Some(format!("the relay refused this embed: {why}")),
    };
    view! {
        <div class="embed-root" node_ref=root data-state=move || state.get().kind()>
            {move || note().map(|n| view! { <p class="embed-status" role="status">{n}</p> })}
            {move || {
                if let Some(e) = load_error.get() {
                    return view! { <p class="embed-error error" role="alert">{e}</p> }.into_any();
                }
                if !loaded.get() {
                    return view! { <p class="embed-status">"Loading…"</p> }.into_any();
                }
                view! { <DashboardView page=page min_step=min_step embedded=true /> }.into_any()
            }}
        </div>
    }
}

/// Posts the content's height to the host page whenever it changes.
fn report_height(root: NodeRef<leptos::html::Div>) {
    let Ok(parent) = window().parent() else {
        return;
    };
    let Some(parent) = parent.filter(|p| !js_sys::Object::is(p, &window())) else {
        return;
    };
    Effect::new(move |prev: Option<()>| {
        let Some(el) = root.get() else { return };
        if prev.is_some() {
            return;
        }
        let parent = parent.clone();
        let last = std::cell::Cell::new(-1.0);
        let on_resize = Closure::<dyn Fn(js_sys::Array)>::new(move |_entries: js_sys::Array| {
            let h = f64::from(
                document()
                    .document_element()
                    .map_or(0, |d| d.scroll_height()),
            )
            .max(
                root.get_untracked()
                    .map_or(0.0, |e| e.get_bounding_client_rect().height()),
            );
            if h != last.replace(h) {
                let msg = js_sys::Object::new();
                let _ = js_sys::Reflect::set(&msg, &"type".into(), &"lookout:size".into());
                let _ = js_sys::Reflect::set(&msg, &"height".into(), &h.ceil().into());
                // The height says nothing private: any host may read it.
                let _ = parent.post_message(&msg, "*");
            }
        });
        if let Ok(obs) = web_sys::ResizeObserver::new(on_resize.as_ref().unchecked_ref()) {
            obs.observe(&el);
            // The observer lives as long as the page.
            std::mem::forget(obs);
        }
        on_resize.forget();
    });
}
