//! The panel editor: title, type, PromQL (highlighted, parse errors underlined at the parser's
//! range with its message, autocomplete from the page's store), legend format, unit, min, max,
//! decimals, thresholds, and a live preview of the draft; Save writes it into the dashboard.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::app::Page;
use crate::complete;
use crate::components::dashboard_view::{CellKind, cell_of, panel_view};
use crate::layout;
use crate::model::{self, PanelType, Step, Thresholds};
use crate::query::check;
use crate::variables::Scope;

/// Grafana unit ids offered in the editor.
const UNITS: [(&str, &str); 9] = [
    ("short", "Number"),
    ("percentunit", "Percent (0.0-1.0)"),
    ("percent", "Percent (0-100)"),
    ("s", "Seconds"),
    ("bytes", "Bytes (IEC)"),
    ("reqps", "Requests/s"),
    ("cores", "CPU cores"),
    ("none", "None"),
    ("ms", "Milliseconds (as numbers)"),
];

/// Thresholds as the editor writes them: `green` then `80 orange`, one step a line.
pub fn thresholds_text(t: Option<&Thresholds>) -> String {
    t.map(|t| {
        t.steps
            .iter()
            .map(|s| match s.value {
                Some(v) => format!("{v} {}", s.color),
                None => s.color.clone(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
    .unwrap_or_default()
}

/// Parses the editor's thresholds; an error names the line.
pub fn parse_thresholds(text: &str) -> Result<Option<Thresholds>, String> {
    let mut steps = Vec::new();
    for (i, line) in text
        .lines()
        .map(str::trim)
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
    {
        let (value, color) = match line.split_once(char::is_whitespace) {
            Some((v, c)) => (
                Some(
                    v.parse::<f64>()
                        .map_err(|_| format!("threshold line {}: {v:?} is not a number", i + 1))?,
                ),
                c.trim(),
            ),
            None => (None, line),
        };
        if model::parse_color(color).is_none() {
            return Err(format!(
                "threshold line {}: unknown colour {color:?}",
                i + 1
            ));
        }
        steps.push(Step {
            color: color.into(),
            value,
            ..Step::default()
        });
    }
    if steps.is_empty() {
        return Ok(None);
    }
    if steps[0].value.is_some() {
        steps.insert(
            0,
            Step {
                color: "green".into(),
                value: None,
                ..Step::default()
            },
        );
    }
    Ok(Some(Thresholds {
        mode: "absolute".into(),
        steps,
        ..Thresholds::default()
    }))
}

fn opt_num(s: &str) -> Result<Option<f64>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| format!("{s:?} is not a number"))
}

#[component]
pub fn PanelEditor(
    page: Page,
    draft: model::Panel,
    min_step: i64,
    on_close: Callback<()>,
) -> impl IntoView {
    let draft = RwSignal::new(draft);
    let id = draft.with_untracked(|d| d.id);
    let (expr, set_expr) = signal(draft.with_untracked(|d| d.expr().to_owned()));
    let cursor = RwSignal::new(expr.with_untracked(String::len));
    let thresholds_src = RwSignal::new(
        draft.with_untracked(|d| thresholds_text(d.defaults().and_then(|f| f.thresholds.as_ref()))),
    );
    let field_error = RwSignal::new(None::<String>);
    let problems = Memo::new(move |_| {
        expr.with(|t| {
            if t.trim().is_empty() {
                Vec::new()
            } else {
                check(&scope_text(page, t))
            }
        })
    });
    let suggestions = Memo::new(move |_| {
        let c = cursor.get();
        expr.with(|t| {
            let before = t.get(..c.min(t.len())).unwrap_or(t);
            page.data
                .with_value(|d| complete::suggest(d.store(), before, 8))
        })
    });
    let show_suggest = RwSignal::new(false);
    // Ctrl+Space asks for suggestions where nothing is typed yet (else every function shows).
    let forced = RwSignal::new(false);
    let visible = Memo::new(move |_| {
        show_suggest.get()
            && suggestions.with(|(slot, typed, list)| {
                !list.is_empty()
                    && (forced.get() || !typed.is_empty() || *slot != complete::Slot::Name)
            })
    });
    let picked = RwSignal::new(0usize);

    // The draft's query follows the text box.
    Effect::new(move |_| {
        let e = expr.get();
        draft.update(|d| d.first_target_mut().expr = e);
    });
    let set_text =
        move |f: &dyn Fn(&mut model::Panel, String), v: String| draft.update(|d| f(d, v));
    let preview_cell = Memo::new(move |_| {
        let scope = Scope::new(&page.resolved.get());
        let range = page.range.get();
        draft.with(|d| cell_of(d, &scope, range, 900.0))
    });
    let accept = move |i: usize| {
        let (slot, typed, list) = suggestions.get_untracked();
        let Some(choice) = list.get(i) else { return };
        let (text, cur) = complete::apply(
            &expr.get_untracked(),
            cursor.get_untracked(),
            &typed,
            choice,
            &slot,
        );
        set_expr.set(text);
        cursor.set(cur);
        show_suggest.set(false);
        if let Some(ta) = document()
            .query_selector(".editor-query textarea")
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
        {
            ta.set_value(&expr.get_untracked());
            let _ = ta.focus();
            let _ = ta.set_selection_range(cur as u32, cur as u32);
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let n = suggestions.with_untracked(|s| s.2.len());
        if !visible.get_untracked() || n == 0 {
            if ev.key() == " " && ev.ctrl_key() {
                ev.prevent_default();
                forced.set(true);
                show_suggest.set(true);
            }
            return;
        }
        match ev.key().as_str() {
            "ArrowDown" => {
                ev.prevent_default();
                picked.update(|p| *p = (*p + 1) % n);
            }
            "ArrowUp" => {
                ev.prevent_default();
                picked.update(|p| *p = (*p + n - 1) % n);
            }
            "Tab" | "Enter" => {
                ev.prevent_default();
                accept(picked.get_untracked());
            }
            "Escape" => {
                ev.stop_propagation();
                show_suggest.set(false);
            }
            _ => {}
        }
    };
    let on_input = move |ev: leptos::ev::Event| {
        let Some(ta) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlTextAreaElement>().ok())
        else {
            return;
        };
        let pos = ta.selection_start().ok().flatten().unwrap_or(0) as usize;
        set_expr.set(ta.value());
        cursor.set(pos);
        picked.set(0);
        forced.set(false);
        show_suggest.set(true);
    };

    let save = move |_| {
        let thresholds = match parse_thresholds(&thresholds_src.get_untracked()) {
            Ok(t) => t,
            Err(e) => {
                field_error.set(Some(e));
                return;
            }
        };
        let mut p = draft.get_untracked();
        if thresholds.is_some() || p.defaults().is_some_and(|d| d.thresholds.is_some()) {
            p.defaults_mut().thresholds = thresholds;
        }
        page.change(move |d| match d.panel_mut(id) {
            Some(slot) => *slot = p,
            None => {
                let pos = p.grid_pos;
                d.panels.push(p);
                layout::place(&mut d.panels, id, pos);
            }
        });
        on_close.run(());
    };

    let num_field = move |label: &'static str,
                          get: fn(&model::FieldDefaults) -> Option<f64>,
                          put: fn(&mut model::FieldDefaults, Option<f64>)| {
        view! {
            <label class="field">
                <span>{label}</span>
                <input type="text" inputmode="decimal" prop:value=move || draft.with(|d| d.defaults().and_then(get).map(|v| v.to_string()).unwrap_or_default())
                    on:change=move |ev| match opt_num(&event_target_value(&ev)) {
                        Ok(v) => { field_error.set(None); draft.update(|d| put(d.defaults_mut(), v)); }
                        Err(e) => field_error.set(Some(format!("{label}: {e}"))),
                    } />
            </label>
        }
    };

    view! {
        <div class="editor-overlay" role="dialog" aria-label="Edit panel">
            <div class="editor">
                <div class="editor-form">
                    <h2>"Edit panel"</h2>
                    <label class="field">
                        <span>"Title"</span>
                        <input type="text" class="editor-title" prop:value=move || draft.with(|d| d.title.clone()) on:input=move |ev| set_text(&|d, v| d.title = v, event_target_value(&ev)) />
                    </label>
                    <label class="field">
                        <span>"Type"</span>
                        <select class="editor-type" on:change=move |ev| set_text(&|d, v| d.kind = v, event_target_value(&ev))>
                            {PanelType::CHOICES.iter().map(|k| view! { <option value=*k selected=move || draft.with(|d| d.kind == *k)>{*k}</option> }).collect_view()}
                        </select>
                    </label>
                    <div class="field editor-query">
                        <span>"Query (PromQL) — Ctrl+Space suggests"</span>
                        <div class="promql-input">
                            <pre class="promql-mirror" aria-hidden="true">{move || highlighted(&expr.get(), problems.get().first().map(|p| (p.start, p.end)))}</pre>
                            <textarea spellcheck="false" rows="3" aria-label="PromQL query" prop:value=move || expr.get()
                                on:input=on_input on:keydown=on_key on:blur=move |_| show_suggest.set(false)
                                on:click=move |ev| if let Some(ta) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlTextAreaElement>().ok()) { cursor.set(ta.selection_start().ok().flatten().unwrap_or(0) as usize); }></textarea>
                        </div>
                        <Show when=move || visible.get()>
                            <ul class="suggestions" role="listbox">
                                {move || suggestions.get().2.into_iter().enumerate().map(|(i, s)| view! {
                                    <li role="option" class:picked=move || picked.get() == i aria-selected=move || (picked.get() == i).to_string()
                                        on:mousedown=move |ev| { ev.prevent_default(); accept(i); }>{s}</li>
                                }).collect_view()}
                            </ul>
                        </Show>
                        <ul class="query-problems" data-count=move || problems.with(Vec::len)>
                            {move || problems.get().into_iter().map(|p| view! { <li class="error">{format!("{}:{}: {}", p.line, p.col, p.message)}</li> }).collect_view()}
                        </ul>
                    </div>
                    <label class="field">
                        <span>"Legend ({{label}})"</span>
                        <input type="text" class="editor-legend" placeholder="{{job}} {{instance}}" prop:value=move || draft.with(|d| d.legend_format().to_owned())
                            on:input=move |ev| set_text(&|d, v| d.first_target_mut().legend_format = (!v.is_empty()).then_some(v), event_target_value(&ev)) />
                    </label>
                    <div class="field-row">
                        <label class="field">
                            <span>"Unit"</span>
                            <select class="editor-unit" on:change=move |ev| set_text(&|d, v| d.defaults_mut().unit = Some(v), event_target_value(&ev))>
                                {UNITS.iter().map(|(id, name)| view! { <option value=*id selected=move || draft.with(|d| d.defaults().and_then(|f| f.unit.as_deref()).unwrap_or("short") == *id)>{*name}</option> }).collect_view()}
                            </select>
                        </label>
                        {num_field("Min", |d| d.min, |d, v| d.min = v)}
                        {num_field("Max", |d| d.max, |d, v| d.max = v)}
                        <label class="field">
                            <span>"Decimals"</span>
                            <input type="number" min="0" max="10" prop:value=move || draft.with(|d| d.defaults().and_then(|f| f.decimals).map(|v| v.to_string()).unwrap_or_default())
                                on:change=move |ev| { let v = event_target_value(&ev).trim().parse::<u32>().ok(); draft.update(|d| d.defaults_mut().decimals = v); } />
                        </label>
                    </div>
                    <label class="field">
                        <span>"Thresholds (a base colour, then \"value colour\" per line)"</span>
                        <textarea class="editor-thresholds" rows="3" placeholder="green\n80 orange\n90 red" prop:value=move || thresholds_src.get() on:input=move |ev| thresholds_src.set(event_target_value(&ev))></textarea>
                    </label>
                    {move || field_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                    <div class="editor-actions">
                        <button type="button" class="editor-save" on:click=save>"Save"</button>
                        <button type="button" class="editor-cancel" on:click=move |_| on_close.run(())>"Cancel"</button>
                    </div>
                </div>
                <div class="editor-preview">
                    {move || {
                        let cell = preview_cell.get();
                        match cell.what {
                            CellKind::Panel(v) => panel_view(page, *v, min_step),
                            CellKind::Unsupported { kind, .. } => view! { <p class="unsupported-note">{format!("unsupported panel type {kind:?}")}</p> }.into_any(),
                            CellKind::Row { .. } => view! { <p>"A row"</p> }.into_any(),
                        }
                    }}
                </div>
            </div>
        </div>
    }
}

/// The query as the engine sees it for error checking: variables interpolated with the page's
/// current values (so `$job` is not an error).
fn scope_text(page: Page, text: &str) -> String {
    let scope = Scope::new(&page.resolved.get_untracked());
    let (s, e) = page.range.get_untracked();
    let ctx = crate::variables::Context::for_width(s, e, 900, crate::app::SCRAPE_MS);
    // Variables change lengths, so an error's range is exact for queries without variables and
    // approximate (clamped to the text) for those with them.
    scope.interpolate(text, &ctx)
}

/// The query's tokens as spans classed by the lexer, with the error range underlined.
fn highlighted(text: &str, error: Option<(usize, usize)>) -> impl IntoView + use<> {
    let mut parts: Vec<(usize, usize, &'static str)> = Vec::new();
    let mut at = 0;
    for (span, class) in lookout_promql::highlight(text) {
        if span.start > at {
            parts.push((at, span.start, ""));
        }
        parts.push((span.start, span.end.min(text.len()), class.css()));
        at = span.end.min(text.len());
    }
    if at < text.len() {
        parts.push((at, text.len(), ""));
    }
    let (es, ee) = error.map_or((usize::MAX, usize::MAX), |(s, e)| {
        (s.min(text.len()), e.max(s + 1))
    });
    let mut views = Vec::new();
    for (s, e, class) in parts {
        // Split a part at the error range so the underline covers exactly the parser's bytes.
        let cuts = [s, es.clamp(s, e), ee.clamp(s, e), e];
        for w in cuts.windows(2) {
            let (a, b) = (w[0], w[1]);
            if a >= b || !text.is_char_boundary(a) || !text.is_char_boundary(b) {
                continue;
            }
            let bad = a >= es && b <= ee;
            let t = text[a..b].to_owned();
            views.push(if bad {
                view! { <mark class=format!("tok {class} parse-error")>{t}</mark> }.into_any()
            } else {
                view! { <span class=format!("tok {class}")>{t}</span> }.into_any()
            });
        }
    }
    if es >= text.len() && es != usize::MAX {
        views.push(view! { <mark class="parse-error at-end">" "</mark> }.into_any());
    }
    views.push(view! { <span>"\n"</span> }.into_any());
    views
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn thresholds_round_trip_through_the_editor_text() {
        let t = parse_thresholds("green\n80 orange\n 90 red\n")
            .unwrap()
            .unwrap();
        assert_eq!(t.steps.len(), 3);
        assert_eq!(t.steps[0].value, None);
        assert_eq!(t.steps[2].value, Some(90.0));
        assert_eq!(thresholds_text(Some(&t)), "green\n80 orange\n90 red");
        // A value first gets Grafana's base step.
        let t = parse_thresholds("5 red").unwrap().unwrap();
        assert_eq!(
            (t.steps[0].value, t.steps[0].color.as_str()),
            (None, "green")
        );
        assert_eq!(parse_thresholds("  \n").unwrap(), None);
        assert_eq!(
            parse_thresholds("x red").unwrap_err(),
            "threshold line 1: \"x\" is not a number"
        );
        assert_eq!(
            parse_thresholds("green\n80 mauve").unwrap_err(),
            "threshold line 2: unknown colour \"mauve\""
        );
    }
}
