//! The variable bar: one picker per dashboard variable (multi-select with "All" where the
//! variable allows); a change re-resolves the variables after it and goes into the URL.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::app::{Page, replace_url_with};
use crate::variables::{ALL, Resolved};

#[component]
pub fn VariableBar(page: Page) -> impl IntoView {
    let visible = Memo::new(move |_| {
        page.resolved
            .get()
            .into_iter()
            .filter(|r| !r.hidden)
            .collect::<Vec<Resolved>>()
    });
    let choose = move |name: String, values: Vec<String>| {
        page.wanted.update(|w| {
            w.insert(name.clone(), values.clone());
        });
        replace_url_with(|p| {
            let key = format!("var-{name}");
            p.delete(&key);
            for v in &values {
                p.append(&key, if v == ALL { "$__all" } else { v });
            }
        });
    };
    view! {
        <div class="variable-bar" class:hidden=move || visible.with(Vec::is_empty)>
            <For each=move || visible.get() key=|r| format!("{r:?}") let:r>
                {
                    let name = r.name.clone();
                    let multi = r.multi;
                    let on_change = {
                        let name = name.clone();
                        move |ev: leptos::ev::Event| {
                            let Some(sel) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok()) else { return };
                            let opts = sel.selected_options();
                            let mut values: Vec<String> = (0..opts.length())
                                .filter_map(|i| opts.item(i))
                                .filter_map(|o| o.get_attribute("value"))
                                .collect();
                            // "All" with other values picked means those values.
                            if values.len() > 1 {
                                values.retain(|v| v != ALL);
                            }
                            choose(name.clone(), values);
                        }
                    };
                    let all_selected = r.selected.iter().any(|s| s == ALL);
                    view! {
                        <label class="variable" data-var=name.clone()>
                            <span class="variable-label">{r.label.clone()}</span>
                            <select multiple=multi size=if multi { "1" } else { "0" } on:change=on_change aria-label=r.label.clone()>
                                {r.include_all.then(|| view! { <option value=ALL selected=all_selected>"All"</option> })}
                                {r.options.iter().map(|o| {
                                    let selected = !all_selected && r.selected.contains(o);
                                    view! { <option value=o.clone() selected=selected>{o.clone()}</option> }
                                }).collect_view()}
                            </select>
                            {r.error.clone().map(|e| view! { <span class="error variable-error" role="alert">{e}</span> })}
                        </label>
                    }
                }
            </For>
        </div>
    }
}
