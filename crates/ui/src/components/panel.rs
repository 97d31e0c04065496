//! A time-series panel: a PromQL query evaluated over the page's store, drawn on a canvas, with a
//! legend of each series' last value.

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::charts::palette::{color_for, css};
use crate::charts::timeseries;
use crate::dashboard::{Panel, legend_text};
use crate::data::{PageData, SeriesView};
use crate::format::value;
use crate::query::PanelQuery;

#[derive(Debug, Clone, PartialEq)]
struct LegendRow {
    text: String,
    color: String,
    last: Option<f64>,
}

/// Marks the start of a measured step; [`measure_end`] records it in the page's performance
/// timeline as `name`, so DevTools shows what each panel costs.
fn measure_start(name: &str) {
    if let Some(p) = window().performance() {
        let _ = p.mark(&format!("{name}:start"));
    }
}
fn measure_end(name: &str) {
    if let Some(p) = window().performance() {
        let start = format!("{name}:start");
        let _ = p.measure_with_start_mark(name, &start);
        p.clear_marks_with_mark_name(&start);
    }
}

#[component]
pub fn TimeSeriesPanel(
    panel: Panel,
    data: StoredValue<PageData, LocalStorage>,
    version: ReadSignal<u64>,
    range: Signal<(i64, i64)>,
    min_step: i64,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let query = StoredValue::new(PanelQuery::parse(&panel.expr));
    let (draw_error, set_draw_error) = signal(None::<String>);
    let (id, unit, legend_format) = (panel.id.clone(), panel.unit, panel.legend.clone());
    let query_mark = format!("lookout:query:{id}");
    let render_mark = format!("lookout:render:{id}");

    let result = Memo::new(move |_| -> Result<Vec<SeriesView>, String> {
        version.track();
        let (start, end) = range.get();
        let width = canvas.get_untracked().map_or(600, |c| c.client_width().max(100) as u32);
        measure_start(&query_mark);
        let out = query.with_value(|q| match q {
            Ok(q) => data.with_value(|d| q.evaluate(d.store(), start, end, width, min_step)),
            Err(e) => Err(e.clone()),
        });
        measure_end(&query_mark);
        out
    });

    Effect::new(move |_| {
        let (start, end) = range.get();
        let Some(el) = canvas.get() else { return };
        let dark = document().document_element().and_then(|e| e.get_attribute("data-theme")).as_deref() == Some("dark");
        measure_start(&render_mark);
        let drawn = result.with(|r| match r {
            Ok(series) => timeseries::draw(&el, series, start, end, unit, dark).err(),
            Err(_) => None,
        });
        measure_end(&render_mark);
        set_draw_error.set(drawn);
    });

    let legend = Memo::new(move |_| {
        result.with(|r| {
            r.as_ref()
                .map(|series| {
                    series
                        .iter()
                        .map(|s| LegendRow { text: legend_text(&legend_format, &s.labels), color: css(color_for(&s.labels)), last: s.last() })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let error = move || result.with(|r| r.as_ref().err().cloned()).or_else(|| draw_error.get());
    let last = move || legend.with(|l| l.first().and_then(|r| r.last)).map(|v| v.to_string()).unwrap_or_default();
    let empty = move || result.with(|r| matches!(r, Ok(s) if s.is_empty()));

    view! {
        <section class="panel timeseries" data-panel=id.clone() data-expr=panel.expr.clone() data-series-count=move || legend.with(Vec::len) data-last=last>
            <h2 title=panel.expr.clone()>{panel.title.clone()}</h2>
            <div class="plot">
                <canvas node_ref=canvas></canvas>
                <Show when=empty>
                    <p class="empty">"No data yet for this query"</p>
                </Show>
            </div>
            {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <ul class="legend">
                <For each=move || legend.get() key=|r| (r.text.clone(), r.last.map(f64::to_bits)) let:row>
                    <li data-value=row.last.map(|v| v.to_string()).unwrap_or_default()>
                        <span class="swatch" style:background=row.color.clone()></span>
                        <span class="name">{row.text.clone()}</span>
                        <span class="value">{row.last.map(|v| value(v, unit)).unwrap_or_default()}</span>
                    </li>
                </For>
            </ul>
        </section>
    }
}
