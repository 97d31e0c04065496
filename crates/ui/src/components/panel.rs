//! A time-series panel: its queries over the page's store, drawn on a canvas in the panel's draw
//! style, with a legend (list or table of values) that hides and isolates series, a tooltip, a
//! crosshair shared across panels and drag to zoom.

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::charts::palette::{assign_colors, css};
use crate::charts::timeseries::{self, PlotArea};
use crate::components::panel_view::{
    PanelContext, dark_theme, measure_end, measure_start, use_query,
};
use crate::components::table_view::TableView;
use crate::data::SeriesView;
use crate::format::value_with;
use crate::legend;
use crate::panel_options::{Calc, LegendMode, PanelSpec};

#[derive(Debug, Clone, PartialEq)]
struct LegendRow {
    key: String,
    text: String,
    color: String,
    values: Vec<Option<f64>>,
    hidden: bool,
}

#[component]
pub fn TimeSeriesPanel(spec: PanelSpec, ctx: PanelContext) -> impl IntoView {
    let PanelContext {
        range,
        min_step,
        hover,
        zoom,
        ..
    } = ctx;
    let canvas = NodeRef::<Canvas>::new();
    let area = RwSignal::new(None::<PlotArea>);
    // Pointer position (CSS px within the plot) while it is over this panel, and a drag's start.
    let pointer = RwSignal::new(None::<(f64, f64)>);
    let drag_from = RwSignal::new(None::<f64>);
    let hidden = RwSignal::new(crate::legend::Hidden::default());
    let (draw_error, set_draw_error) = signal(None::<String>);
    let field = StoredValue::new(spec.field_config.defaults.clone());
    let (unit, decimals) = (
        field.with_value(|f| f.unit()),
        field.with_value(|f| f.decimals),
    );
    let legend_opts = spec.options.legend.clone();
    let calcs: Vec<Calc> = if legend_opts.calcs.is_empty() {
        vec![Calc::LastNotNull]
    } else {
        legend_opts.calcs.clone()
    };
    let mode = if legend_opts.show_legend {
        legend_opts.display_mode
    } else {
        LegendMode::Hidden
    };
    let render_mark = format!("lookout:render:{}", spec.key);
    let data_mark = format!("lookout:drawn-data:{}", spec.key);
    let data_drawn = StoredValue::new(false);
    let (result, eval_ms) = use_query(&spec, ctx, move || {
        canvas
            .get_untracked()
            .map_or(600, |c| c.client_width().max(100) as u32)
    });
    let show_table = RwSignal::new(false);

    Effect::new(move |_| {
        let (start, end) = range.get();
        let Some(el) = canvas.get() else { return };
        let dark = dark_theme(&el);
        let hidden = hidden.get();
        measure_start(&render_mark);
        let drawn = result.with(|r| {
            r.as_ref().ok().map(|named| {
                let series: Vec<SeriesView> = named.iter().map(|n| n.series.clone()).collect();
                let visible: Vec<bool> = named.iter().map(|n| !hidden.contains(&n.key)).collect();
                field.with_value(|f| timeseries::draw(&el, &series, &visible, start, end, f, dark))
            })
        });
        measure_end(&render_mark);
        match drawn {
            Some(Ok(a)) => {
                // The first draw with data, once, for benches (`cargo xtask bench embed`).
                if !data_drawn.get_value()
                    && result.with_untracked(|r| r.as_ref().is_ok_and(|n| !n.is_empty()))
                {
                    data_drawn.set_value(true);
                    if let Some(p) = window().performance() {
                        let _ = p.mark(&data_mark);
                    }
                }
                area.set(Some(a));
                set_draw_error.set(None);
            }
            Some(Err(e)) => set_draw_error.set(Some(e)),
            None => set_draw_error.set(None),
        }
    });

    let calcs_l = calcs.clone();
    let legend = Memo::new(move |_| {
        let hidden = hidden.get();
        result.with(|r| {
            r.as_ref()
                .map(|named| {
                    let colors = assign_colors(named.iter().map(|n| &n.series.labels));
                    named
                        .iter()
                        .zip(colors)
                        .map(|(n, c)| LegendRow {
                            key: n.key.clone(),
                            text: n.name.clone(),
                            color: css(c),
                            values: legend::values(&n.series.points, &calcs_l),
                            hidden: hidden.contains(&n.key),
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let on_legend = move |key: String, ev: leptos::ev::MouseEvent| {
        let all: Vec<String> = legend.with_untracked(|l| l.iter().map(|r| r.key.clone()).collect());
        let toggle = ev.ctrl_key() || ev.meta_key();
        hidden.update(|h| *h = legend::click(h, &all, &key, toggle));
    };
    let error = move || {
        result
            .with(|r| r.as_ref().err().cloned())
            .or_else(|| draw_error.get())
    };
    let last = move || {
        result
            .with(|r| {
                r.as_ref()
                    .ok()
                    .and_then(|n| n.first().and_then(|n| n.series.last()))
            })
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
        let hidden = hidden.get();
        let rows: Vec<(String, String, String)> = result.with(|r| {
            let named = r.as_ref().ok()?;
            let colors = assign_colors(named.iter().map(|n| &n.series.labels));
            Some(
                named
                    .iter()
                    .zip(colors)
                    .filter(|(n, _)| !hidden.contains(&n.key))
                    .filter_map(|(n, c)| {
                        let (_, v) = n.series.nearest(t, ((end - start) / 60).max(min_step))?;
                        Some((n.name.clone(), css(c), value_with(v, unit, decimals)))
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

    let table_series = Signal::derive(move || {
        result.with(|r| {
            r.as_ref()
                .map(|n| n.iter().map(|n| n.series.clone()).collect())
                .unwrap_or_default()
        })
    });
    let fmt = move |v: Option<f64>| v.map(|v| value_with(v, unit, decimals)).unwrap_or_default();
    let legend_view = match mode {
        LegendMode::Hidden => None,
        LegendMode::List => Some(
            view! {
                <ul class="legend" class:hidden=move || show_table.get()>
                    <For each=move || legend.get() key=|r| (r.key.clone(), r.hidden, r.values.iter().map(|v| v.map(f64::to_bits)).collect::<Vec<_>>()) let:row>
                        <li data-key=row.key.clone() data-value=row.values.first().copied().flatten().map(|v| v.to_string()).unwrap_or_default() class:off=row.hidden
                            on:click={let k = row.key.clone(); move |ev| on_legend(k.clone(), ev)} title="Click: show only this series. Ctrl/Cmd-click: hide or show it.">
                            <span class="swatch" style:background=row.color.clone()></span>
                            <span class="name">{row.text.clone()}</span>
                            {row.values.iter().zip(calcs.clone()).map(|(v, c)| view! { <span class="value" title=c.label()>{fmt(*v)}</span> }).collect_view()}
                        </li>
                    </For>
                </ul>
            }
            .into_any(),
        ),
        LegendMode::Table => Some(
            view! {
                <div class="legend-table" class:hidden=move || show_table.get()>
                    <table>
                        <thead><tr><th>"Name"</th>{calcs.iter().map(|c| view! { <th class="num">{c.label()}</th> }).collect_view()}</tr></thead>
                        <tbody>
                            <For each=move || legend.get() key=|r| (r.key.clone(), r.hidden, r.values.iter().map(|v| v.map(f64::to_bits)).collect::<Vec<_>>()) let:row>
                                <tr data-key=row.key.clone() class:off=row.hidden on:click={let k = row.key.clone(); move |ev| on_legend(k.clone(), ev)}>
                                    <td class="name"><span class="swatch" style:background=row.color.clone()></span>{row.text.clone()}</td>
                                    {row.values.iter().map(|v| view! { <td class="num">{fmt(*v)}</td> }).collect_view()}
                                </tr>
                            </For>
                        </tbody>
                    </table>
                </div>
            }
            .into_any(),
        ),
    };
    let expr = spec
        .targets
        .first()
        .map(|t| t.expr.clone())
        .unwrap_or_default();

    view! {
        <section class="panel timeseries" data-panel=spec.key.clone() data-expr=expr.clone() data-series-count=move || legend.with(Vec::len) data-hidden-count=move || hidden.with(crate::legend::Hidden::len) data-last=last>
            <header class="panel-header">
                <h2 title=expr.clone()>{spec.title.clone()}</h2>
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
            {legend_view}
        </section>
    }
}
