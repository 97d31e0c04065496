//! The variable bar: one picker per dashboard variable (a menu of checkboxes for multi-value
//! variables, with "All" where the variable allows); a change re-resolves the variables after it and goes into the URL.

use leptos::prelude::*;

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
                    let all_selected = r.selected.iter().any(|s| s == ALL);
                    let error = r.error.clone().map(|e| view! { <span class="error variable-error" role="alert">{e}</span> });
                    let picker = if r.multi {
                        // Several values: a menu of checkboxes; "All" clears the others.
                        let summary = if all_selected { "All".to_owned() } else if r.selected.is_empty() { "None".to_owned() } else { r.selected.join(" + ") };
                        let current: Vec<String> = if all_selected { Vec::new() } else { r.selected.clone() };
                        let toggle = {
                            let (name, current) = (name.clone(), current.clone());
                            move |value: String| {
                                let mut next = current.clone();
                                if value == ALL {
                                    next = vec![ALL.to_owned()];
                                } else if let Some(i) = next.iter().position(|v| *v == value) {
                                    next.remove(i);
                                } else {
                                    next.push(value);
                                }
                                if next.is_empty() {
                                    next.push(ALL.to_owned());
                                }
                                choose(name.clone(), next);
                            }
                        };
                        let t_all = toggle.clone();
                        view! {
                            <details class="variable-menu">
                                <summary>{summary}</summary>
                                <ul>
                                    {r.include_all.then(|| view! {
                                        <li><label><input type="checkbox" value=ALL prop:checked=all_selected on:change=move |_| t_all(ALL.to_owned()) />"All"</label></li>
                                    })}
                                    {r.options.iter().map(|o| {
                                        let (o2, t) = (o.clone(), toggle.clone());
                                        view! { <li><label><input type="checkbox" value=o.clone() prop:checked=current.contains(o) on:change=move |_| t(o2.clone()) />{o.clone()}</label></li> }
                                    }).collect_view()}
                                </ul>
                            </details>
                        }.into_any()
                    } else {
                        let on_change = {
                            let name = name.clone();
                            move |ev: leptos::ev::Event| choose(name.clone(), vec![event_target_value(&ev)])
                        };
                        view! {
                            <select on:change=on_change aria-label=r.label.clone()>
                                {r.include_all.then(|| view! { <option value=ALL selected=all_selected>"All"</option> })}
                                {r.options.iter().map(|o| {
                                    let selected = !all_selected && r.selected.contains(o);
                                    view! { <option value=o.clone() selected=selected>{o.clone()}</option> }
                                }).collect_view()}
                            </select>
                        }.into_any()
                    };
                    view! {
                        <div class="variable" data-var=name.clone()>
                            <span class="variable-label">{r.label.clone()}</span>
                            {picker}
                            {error}
                        </div>
                    }
                }
            </For>
        </div>
    }
}
