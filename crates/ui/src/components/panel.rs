//! A time-series panel: a PromQL query evaluated over the page's store, drawn on a canvas, with a
//! legend of each series' last value.

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::charts::palette::{assign_colors, css};
use crate::charts::timeseries::{self, PlotArea};
use crate::components::table_view::TableView;
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
    /// The time under the pointer in any panel: every panel draws its crosshair there.
    hover: RwSignal<Option<i64>>,
    /// Set by dragging across a chart: the range to zoom to.
    zoom: RwSignal<Option<(i64, i64)>>,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let area = RwSignal::new(None::<PlotArea>);
    // Pointer position (CSS px within the plot) while it is over this panel, and a drag's start.
    let pointer = RwSignal::new(None::<(f64, f64)>);
    let drag_from = RwSignal::new(None::<f64>);
    let query = StoredValue::new(PanelQuery::parse(&panel.expr));
    let (draw_error, set_draw_error) = signal(None::<String>);
    let (id, unit, legend_format) = (panel.id.clone(), panel.unit, panel.legend.clone());
    let legend_format_t = legend_format.clone();
    let query_mark = format!("lookout:query:{id}");
    let render_mark = format!("lookout:render:{id}");

    let eval_ms = RwSignal::new(None::<f64>);
    let show_table = RwSignal::new(false);
    let result = Memo::new(move |_| -> Result<Vec<SeriesView>, String> {
        version.track();
        let (start, end) = range.get();
        let width = canvas
            .get_untracked()
            .map_or(600, |c| c.client_width().max(100) as u32);
        let t0 = window().performance().map(|p| p.now());
        measure_start(&query_mark);
        let out = query.with_value(|q| match q {
            Ok(q) => data.with_value(|d| q.evaluate(d.store(), start, end, width, min_step)),
            Err(e) => Err(e.clone()),
        });
        let t1 = window().performance().map(|p| p.now());
        eval_ms.set(t0.zip(t1).map(|(a, b)| b - a));
        measure_end(&query_mark);
        out
    });

    Effect::new(move |_| {
        let (start, end) = range.get();
        let Some(el) = canvas.get() else { return };
        let dark = document()
            .document_element()
            .and_then(|e| e.get_attribute("data-theme"))
            .as_deref()
            == Some("dark");
        measure_start(&render_mark);
        let drawn = result.with(|r| match r {
            Ok(series) => Some(timeseries::draw(&el, series, start, end, unit, dark)),
            Err(_) => None,
        });
        measure_end(&render_mark);
        match drawn {
            Some(Ok(a)) => {
                area.set(Some(a));
                set_draw_error.set(None);
            }
            Some(Err(e)) => set_draw_error.set(Some(e)),
            None => set_draw_error.set(None),
        }
    });

    let legend = Memo::new(move |_| {
        result.with(|r| {
            r.as_ref()
                .map(|series| {
                    let colors = assign_colors(series.iter().map(|s| &s.labels));
                    series
                        .iter()
                        .zip(colors)
                        .map(|(s, c)| LegendRow {
                            text: legend_text(&legend_format, &s.labels),
                            color: css(c),
                            last: s.last(),
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let error = move || {
        result
            .with(|r| r.as_ref().err().cloned())
            .or_else(|| draw_error.get())
    };
    let last = move || {
        legend
            .with(|l| l.first().and_then(|r| r.last))
            .map(|v| v.to_string())
            .unwrap_or_default()
    };
    let empty = move || result.with(|r| matches!(r, Ok(s) if s.is_empty()));

    // Pointer position relative to the canvas, in CSS pixels.
    let local = move |ev: &leptos::ev::MouseEvent| -> Option<(f64, f64)> {
        let r = canvas.get_untracked()?.get_bounding_client_rect();
        Some((
            f64::from(ev.client_x()) - r.left(),
            f64::from(ev.client_y()) - r.top(),
        ))
    };
    let on_move = move |ev: leptos::ev::MouseEvent| {
        let (Some((x, y)), Some(a)) = (local(&ev), area.get_untracked()) else {
            return;
        };
        let inside = x >= a.left && x <= a.right && y >= a.top && y <= a.bottom;
        pointer.set(inside.then_some((x, y)));
        hover.set(inside.then(|| a.time_at(x)));
    };
    let on_leave = move |_| {
        pointer.set(None);
        hover.set(None);
        drag_from.set(None);
    };
    let on_down = move |ev: leptos::ev::MouseEvent| {
        if let Some((x, _)) = local(&ev) {
            ev.prevent_default();
            drag_from.set(Some(x));
        }
    };
    let on_up = move |ev: leptos::ev::MouseEvent| {
        let (Some(x0), Some((x1, _)), Some(a)) =
            (drag_from.get_untracked(), local(&ev), area.get_untracked())
        else {
            return;
        };
        drag_from.set(None);
        // A click is not a zoom: ask for a few pixels of drag.
        if (x1 - x0).abs() >= 5.0 {
            let (t0, t1) = (a.time_at(x0.min(x1)), a.time_at(x0.max(x1)));
            if t1 > t0 {
                zoom.set(Some((t0, t1)));
            }
        }
    };
    let crosshair = move || {
        let a = area.get()?;
        let x = a.x_of(hover.get()?)?;
        Some(
            view! { <div class="crosshair" style:left=format!("{x}px") style:top=format!("{}px", a.top) style:height=format!("{}px", a.bottom - a.top)></div> },
        )
    };
    let selection = move || {
        let (x0, (x1, _), a) = (drag_from.get()?, pointer.get()?, area.get()?);
        let (l, r) = (x0.min(x1), x0.max(x1));
        Some(
            view! { <div class="selection" style:left=format!("{l}px") style:width=format!("{}px", r - l) style:top=format!("{}px", a.top) style:height=format!("{}px", a.bottom - a.top)></div> },
        )
    };
    let tooltip = move || {
        let (x, y) = pointer.get()?;
        let t = hover.get()?;
        let (start, end) = range.get();
        let rows: Vec<(String, String, String)> = result.with(|r| {
            let series = r.as_ref().ok()?;
            let colors = assign_colors(series.iter().map(|s| &s.labels));
            Some(
                series
                    .iter()
                    .zip(colors)
                    .filter_map(|(s, c)| {
                        let (_, v) = s.nearest(t, ((end - start) / 60).max(min_step))?;
                        Some((
                            legend_text(&legend_format_t, &s.labels),
                            css(c),
                            value(v, unit),
                        ))
                    })
                    .take(12)
                    .collect(),
            )
        })?;
        if rows.is_empty() {
            return None;
        }
        let offset = -(js_sys::Date::new_0().get_timezone_offset() as i64);
        // On the right half the tooltip opens to the left of the pointer, so it stays on screen.
        let flip = area.get().is_some_and(|a| x > (a.left + a.right) / 2.0);
        Some(view! {
            <div class="tooltip" role="tooltip" class:flip=flip style:left=format!("{}px", if flip { x - 12.0 } else { x + 12.0 }) style:top=format!("{}px", y + 12.0)>
                <div class="tooltip-time">{crate::format::clock(t, offset)}</div>
                {rows
                    .into_iter()
                    .map(|(name, color, v)| view! {
                        <div class="tooltip-row"><span class="swatch" style:background=color></span><span class="name">{name}</span><span class="value">{v}</span></div>
                    })
                    .collect_view()}
            </div>
        })
    };

    let table_series =
        Signal::derive(move || result.with(|r| r.as_ref().map(Clone::clone).unwrap_or_default()));

    view! {
        <section class="panel timeseries" data-panel=id.clone() data-expr=panel.expr.clone() data-series-count=move || legend.with(Vec::len) data-last=last>
            <header class="panel-header">
                <h2 title=panel.expr.clone()>{panel.title.clone()}</h2>
                <span class="eval-time" title="Time to evaluate the query in this page">
                    {move || eval_ms.get().map(|ms| if ms < 0.1 { "< 0.1 ms".to_owned() } else { format!("{ms:.1} ms") }).unwrap_or_default()}
                </span>
                <button class="view-toggle" type="button" on:click=move |_| show_table.update(|t| *t = !*t)>
                    {move || if show_table.get() { "Legend" } else { "Table" }}
                </button>
            </header>
            <div class="plot" on:mousemove=on_move on:mouseleave=on_leave on:mousedown=on_down on:mouseup=on_up>
                <canvas node_ref=canvas></canvas>
                {crosshair}
                {selection}
                {tooltip}
                <Show when=empty>
                    <p class="empty">"No data yet for this query"</p>
                </Show>
            </div>
            {move || error().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <Show when=move || show_table.get()>
                <TableView series=table_series unit=unit />
            </Show>
            <ul class="legend" class:hidden=move || show_table.get()>
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
