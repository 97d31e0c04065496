//! The targets panel: every scraped target and whether its last scrape succeeded (`up`).

use leptos::prelude::*;

#[component]
pub fn TargetsPanel(targets: Signal<Vec<(String, String, bool)>>) -> impl IntoView {
    view! {
        <section class="panel targets" data-panel="targets">
            <h2>"Targets"</h2>
            <ul>
                <For each=move || targets.get() key=|t| t.clone() let:t>
                    <li class="target" data-job=t.0.clone() data-instance=t.1.clone() data-health=if t.2 { "up" } else { "down" }>
                        <span class=if t.2 { "badge up" } else { "badge down" }>{if t.2 { "up" } else { "down" }}</span>
                        <span class="job">{t.0.clone()}</span>
                        <span class="instance">{t.1.clone()}</span>
                    </li>
                </For>
            </ul>
        </section>
    }
}
