//! A heatmap panel: a classic histogram's buckets over time (see `charts::heatmap`), with a
//! tooltip naming the bucket, the time and the count under the pointer.

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::charts::heatmap::{self, HeatArea};
use crate::components::panel_view::{
    PanelContext, dark_theme, measure_end, measure_start, use_query,
};
use crate::format::{clock, si};
use crate::panel_options::PanelSpec;

#[component]
pub fn HeatmapPanel(spec: PanelSpec, ctx: PanelContext) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let (result, _) = use_query(&spec, ctx, move || {
        canvas
            .get_untracked()
            .map_or(600, |c| c.client_width().max(100) as u32)
            / 4
    });
    let unit = spec.field_config.defaults.unit();
    let heat = Memo::new(move |_| {
        result.with(|r| {
            r.as_ref().map_err(Clone::clone).and_then(|n| {
                let series: Vec<_> = n.iter().map(|n| n.series.clone()).collect();
                heatmap::decumulate(&series)
            })
        })
    });
    let area = RwSignal::new(None::<HeatArea>);
    let pointer = RwSignal::new(None::<(f64, f64)>);
    let mark = format!("lookout:render:{}", spec.key);
    Effect::new(move |_| {
        let (start, end) = ctx.range.get();
        let Some(el) = canvas.get() else { return };
        measure_start(&mark);
        let drawn = heat.with(|h| {
            h.as_ref()
                .ok()
                .map(|h| heatmap::draw(&el, h, start, end, unit, dark_theme(&el)))
        });
        measure_end(&mark);
        area.set(drawn.and_then(Result::ok));
    });
    let on_move = move |ev: leptos::ev::MouseEvent| {
        let Some(c) = canvas.get_untracked() else {
            return;
        };
        let r = c.get_bounding_client_rect();
        pointer.set(Some((
            f64::from(ev.client_x()) - r.left(),
            f64::from(ev.client_y()) - r.top(),
        )));
    };
    let tooltip = move || {
        let (x, y) = pointer.get()?;
        let a = area.get()?;
        if x < a.left || x > a.right {
            return None;
        }
        let row = a.row_at(y)?;
        let t = a.start
            + ((x - a.left) / (a.right - a.left).max(1.0) * (a.end - a.start) as f64) as i64;
        let (label, at, count) = heat.with(|h| {
            let h = h.as_ref().ok()?;
            // The cell under the pointer ends at the first time at or after it.
            let i = h
                .times
                .partition_point(|c| *c < t)
                .min(h.times.len().checked_sub(1)?);
            Some((
                heatmap::bucket_label(&h.les, row, unit),
                h.times[i],
                h.counts.get(row)?.get(i).copied()?,
            ))
        })?;
        let offset = -(js_sys::Date::new_0().get_timezone_offset() as i64);
        let flip = x > (a.left + a.right) / 2.0;
        Some(view! {
            <div class="tooltip heat-tooltip" role="tooltip" class:flip=flip style:left=format!("{}px", if flip { x - 12.0 } else { x + 12.0 }) style:top=format!("{}px", y + 12.0)>
                <div class="tooltip-time">{clock(at, offset)}</div>
                <div class="tooltip-row"><span class="name">"Bucket "{label}</span></div>
                <div class="tooltip-row"><span class="name">"Count"</span><span class="value">{si(count)}</span></div>
            </div>
        })
    };
    let expr = spec
        .targets
        .first()
        .map(|t| t.expr.clone())
        .unwrap_or_default();
    view! {
        <section class="panel heatmap" data-panel=spec.key.clone() data-expr=expr.clone() data-buckets=move || heat.with(|h| h.as_ref().map(|h| h.les.len()).unwrap_or(0))>
            <h2 title=expr.clone()>{spec.title.clone()}</h2>
            <div class="plot" on:mousemove=on_move on:mouseleave=move |_| pointer.set(None)>
                <canvas node_ref=canvas></canvas>
                {tooltip}
            </div>
            {move || heat.with(|h| h.as_ref().err().cloned()).map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}
