//! The query bar: type PromQL, see parse errors underlined at the parser's byte range as you
//! type, press Enter to add the query as a panel (it goes into the URL, so the link reproduces
//! the view).

use leptos::prelude::*;

use crate::query::check;

/// `initial` fills the input; `on_run` receives the query on Enter instead of adding a panel.
#[component]
pub fn QueryBar(
    #[prop(optional, into)] initial: String,
    #[prop(optional)] on_run: Option<Callback<String>>,
) -> impl IntoView {
    let (text, set_text) = signal(initial);
    let problems = Memo::new(move |_| {
        text.with(|t| {
            if t.trim().is_empty() {
                Vec::new()
            } else {
                check(t)
            }
        })
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let q = text.get_untracked();
        if q.trim().is_empty() || !problems.with_untracked(Vec::is_empty) {
            return;
        }
        match on_run {
            Some(run) => run.run(q),
            None => crate::app::navigate_with(|p| p.append("expr", &q)),
        }
    };

    view! {
        <form class="query-bar" on:submit=submit>
            <div class="query-input">
                <input
                    type="text"
                    placeholder="PromQL, e.g. sum by (job) (rate(http_requests_total[5m])) — Enter adds a panel"
                    spellcheck="false"
                    aria-label="PromQL query"
                    prop:value=text
                    on:input=move |ev| set_text.set(event_target_value(&ev))
                />
                // A mirror of the text behind the input: the error range is underlined in it.
                <div class="query-mirror" aria-hidden="true">
                    {move || {
                        let t = text.get();
                        let p = problems.get();
                        match p.first() {
                            Some(e) => {
                                let (s, end) = (e.start.min(t.len()), e.end.clamp(e.start.min(t.len()), t.len()));
                                let bad = if s == end { " ".to_owned() } else { t[s..end].to_owned() };
                                view! { <span>{t[..s].to_owned()}</span><mark class="parse-error">{bad}</mark><span>{t[end..].to_owned()}</span> }.into_any()
                            }
                            None => view! { <span>{t}</span> }.into_any(),
                        }
                    }}
                </div>
            </div>
            <ul class="query-problems" data-count=move || problems.with(Vec::len)>
                <For each=move || problems.get() key=|p| (p.start, p.end, p.message.clone()) let:p>
                    <li class="error">{format!("{}:{}: {}", p.line, p.col, p.message)}</li>
                </For>
            </ul>
        </form>
    }
}
