//! The targets page (`?targets`): every target the relay scrapes, grouped by job, with health,
//! last error, last scrape and scrape duration — the relay's own report (its `Targets` frames),
//! not the `up` series. Filters by health and text.

use leptos::prelude::*;
use lookout_wire::TargetHealth;

use crate::format::{Unit, value};
use crate::target_list::{HealthFilter, ago, grouped};

#[component]
pub fn TargetsPage(health: Signal<Vec<TargetHealth>>, now: ReadSignal<i64>) -> impl IntoView {
    let (filter, set_filter) = signal(HealthFilter::All);
    let (text, set_text) = signal(String::new());
    let groups = Memo::new(move |_| health.with(|h| grouped(h, filter.get(), &text.get())));
    let empty = move || groups.with(Vec::is_empty);
    view! {
        <section class="targets-page">
            <div class="targets-filters">
                <select aria-label="Health" on:change=move |ev| set_filter.set(HealthFilter::parse(&event_target_value(&ev)))>
                    <option value="all">"All"</option>
                    <option value="up">"Up"</option>
                    <option value="down">"Down"</option>
                </select>
                <input type="search" placeholder="Filter by job, instance or error" aria-label="Filter targets"
                    on:input=move |ev| set_text.set(event_target_value(&ev)) />
            </div>
            <Show when=empty>
                <p class="empty">{move || if health.with(Vec::is_empty) { "Waiting for the relay's target report…" } else { "No target matches the filter" }}</p>
            </Show>
            <For each=move || groups.get() key=|g| format!("{g:?}") let:g>
                <div class="target-group" data-job=g.0.clone()>
                    <h2>{g.0.clone()}<span class="muted">{format!(" ({}/{} up)", g.1, g.2.len())}</span></h2>
                    <table>
                        <thead><tr><th>"Endpoint"</th><th>"State"</th><th>"Last scrape"</th><th class="num">"Duration"</th><th>"Error"</th></tr></thead>
                        <tbody>
                            {g.2.into_iter().map(|t| {
                                let state = if t.up() { "up" } else { "down" };
                                let last = t.last_scrape;
                                view! {
                                    <tr class="target-row" data-instance=t.instance().to_owned() data-health=state>
                                        <td class="instance">{t.instance().to_owned()}</td>
                                        <td><span class=format!("badge {state}")>{state}</span></td>
                                        <td class="ago">{move || ago(last, now.get())}</td>
                                        <td class="num">{value(t.last_duration_seconds, Unit::Seconds)}</td>
                                        <td class="last-error">{t.last_error.clone()}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </For>
        </section>
    }
}
