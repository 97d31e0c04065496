//! Dashboard settings: title, tags, and the variables as Grafana's `templating.list` JSON (a bad
//! document says what is wrong and changes nothing).

use leptos::prelude::*;

use crate::app::Page;
use crate::json::{Read, Write};
use crate::model::Variable;

#[component]
pub fn DashboardSettings(page: Page, on_close: Callback<()>) -> impl IntoView {
    let d = page.doc.get_untracked().unwrap_or_default();
    let title = RwSignal::new(d.title.clone());
    let tags = RwSignal::new(d.tags.join(", "));
    let vars = RwSignal::new(
        serde_json::to_string_pretty(&d.variables().to_vec().write()).unwrap_or_default(),
    );
    let error = RwSignal::new(None::<String>);
    let save = move |_| {
        // Through `Value`, as dashboards are read.
        let list: Vec<Variable> =
            match serde_json::from_str::<serde_json::Value>(&vars.get_untracked())
                .map_err(|e| format!("variables: not valid JSON: {e}"))
                .and_then(|v| {
                    Vec::<Variable>::read(v).map_err(|e| e.under("variables").to_string())
                }) {
                Ok(l) => l,
                Err(e) => {
                    error.set(Some(e));
                    return;
                }
            };
        if let Some(v) = list.iter().find(|v| v.name.trim().is_empty()) {
            error.set(Some(format!(
                "variables: a variable of type {:?} has no name",
                v.kind
            )));
            return;
        }
        let (t, g) = (title.get_untracked(), tags.get_untracked());
        page.change(move |d| {
            if !t.trim().is_empty() {
                d.title = t.trim().to_owned();
            }
            d.tags = g
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
            *d.variables_mut() = list;
        });
        on_close.run(());
    };
    view! {
        <div class="editor-overlay" role="dialog" aria-label="Dashboard settings">
            <div class="editor settings-dialog">
                <div class="editor-form">
                    <h2>"Dashboard settings"</h2>
                    <label class="field"><span>"Title"</span><input type="text" class="settings-title" prop:value=title on:input=move |ev| title.set(event_target_value(&ev)) /></label>
                    <label class="field"><span>"Tags (comma separated)"</span><input type="text" prop:value=tags on:input=move |ev| tags.set(event_target_value(&ev)) /></label>
                    <label class="field">
                        <span>"Variables (Grafana's templating.list): query label_values(metric, label) / label_values(label) / query_result(expr), custom, interval, constant"</span>
                        <textarea class="settings-vars" rows="14" spellcheck="false" prop:value=vars on:input=move |ev| vars.set(event_target_value(&ev))></textarea>
                    </label>
                    {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                    <div class="editor-actions">
                        <button type="button" class="settings-save" on:click=save>"Save"</button>
                        <button type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
                    </div>
                </div>
            </div>
        </div>
    }
}
