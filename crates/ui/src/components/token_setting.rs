//! The relay token setting: a small password field saved in this browser (`localStorage`),
//! opened by itself when the relay refuses the page. Saving reconnects with the new token.

use leptos::prelude::*;

use crate::connection::{ConnState, save_token, saved_token};

#[component]
pub fn TokenSetting(state: ReadSignal<ConnState>) -> impl IntoView {
    let (draft, set_draft) = signal(saved_token().unwrap_or_default());
    let has_token = saved_token().is_some();
    let apply = move |token: Option<String>| {
        save_token(token.as_deref());
        // A new connection is the only place a token goes: the hello.
        let _ = window().location().reload();
    };
    view! {
        <details class="token-setting" open=move || state.get().kind() == "refused">
            <summary title="The bearer token this relay asks for">
                {if has_token { "Token ✓" } else { "Token" }}
            </summary>
            <form on:submit=move |ev| {
                ev.prevent_default();
                apply(Some(draft.get_untracked()));
            }>
                <label>
                    "Relay token "
                    <input
                        type="password"
                        name="relay-token"
                        autocomplete="off"
                        prop:value=move || draft.get()
                        on:input=move |ev| set_draft.set(event_target_value(&ev))
                    />
                </label>
                <button type="submit">"Save and reconnect"</button>
                <button type="button" on:click=move |_| apply(None)>"Forget"</button>
            </form>
        </details>
    }
}
