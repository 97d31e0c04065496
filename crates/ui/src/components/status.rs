//! The status bar: connection state and the age of the newest sample.

use leptos::prelude::*;

use crate::connection::ConnState;
use crate::format::clock;

#[component]
pub fn StatusBar(
    state: ReadSignal<ConnState>,
    newest: Signal<Option<i64>>,
    samples: Signal<u64>,
) -> impl IntoView {
    let offset = -(js_sys::Date::new_0().get_timezone_offset() as i64);
    view! {
        <div class="status" data-state=move || state.get().kind()>
            <span class="dot"></span>
            <span class="state">{move || state.get().label()}</span>
            <span class="newest">
                {move || match newest.get() {
                    Some(t) => format!("newest sample {}", clock(t, offset)),
                    None => "no data yet".to_owned(),
                }}
            </span>
            <span class="count" data-samples=move || samples.get()>{move || format!("{} samples", samples.get())}</span>
        </div>
    }
}
