//! A stat panel: a query reduced to one value (Grafana's `reduceOptions.calcs`), large, in its
//! unit, coloured by thresholds (the value or the background, `colorMode`), over a sparkline
//! (`graphMode: area`). A query with several series shows the first.

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::charts::sparkline;
use crate::components::panel_view::{PanelContext, measure_end, measure_start, use_query};
use crate::format::value_with;
use crate::panel_options::{Calc, ColorMode, GraphMode, PanelSpec};

/// The reduced value of `points` by the first calc; with the range its thresholds are read over.
pub fn reduce(points: &[(i64, f64)], calcs: &[Calc]) -> Option<f64> {
    calcs
        .first()
        .copied()
        .unwrap_or(Calc::LastNotNull)
        .reduce(points)
}

#[component]
pub fn StatPanel(spec: PanelSpec, ctx: PanelContext) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let (result, _) = use_query(&spec, ctx, || 200);
    let field = spec.field_config.defaults.clone();
    let (unit, decimals) = (field.unit(), field.decimals);
    let calcs = spec.options.reduce_options.calcs.clone();
    let (color_mode, graph_mode) = (spec.options.color_mode, spec.options.graph_mode);
    let render_mark = format!("lookout:render:{}", spec.key);
    let points = Memo::new(move |_| {
        result.with(|r| {
            r.as_ref()
                .map(|n| {
                    n.first()
                        .map(|n| n.series.points.clone())
                        .unwrap_or_default()
                })
                .map_err(Clone::clone)
        })
    });
    let (min, max) = (field.min, field.max);
    let thresholds = field.thresholds.clone();
    let reduced =
        Memo::new(move |_| points.with(|p| p.as_ref().ok().and_then(|p| reduce(p, &calcs))));
    let color = Memo::new(move |_| {
        thresholds.color_for(reduced.get(), min.unwrap_or(0.0), max.unwrap_or(100.0))
    });
    Effect::new(move |_| {
        let (start, end) = ctx.range.get();
        let Some(el) = canvas.get() else { return };
        let c = color.get();
        measure_start(&render_mark);
        points.with(|p| {
            if let Ok(p) = p {
                let line = if color_mode == ColorMode::Background {
                    (255, 255, 255)
                } else {
                    c
                };
                let _ = sparkline::draw(&el, p, start, end, line);
            }
        });
        measure_end(&render_mark);
    });
    let text = move || {
        reduced
            .get()
            .map_or_else(|| "–".to_owned(), |v| value_with(v, unit, decimals))
    };
    let css = move || {
        let (r, g, b) = color.get();
        format!("rgb({r},{g},{b})")
    };
    let expr = spec
        .targets
        .first()
        .map(|t| t.expr.clone())
        .unwrap_or_default();
    let background = color_mode == ColorMode::Background;
    view! {
        <section class="panel stat" class:stat-bg=background data-panel=spec.key.clone() data-expr=expr.clone()
            data-last=move || reduced.get().map(|v| v.to_string()).unwrap_or_default()
            data-color=css
            style:background=move || background.then(css)>
            <h2 title=expr.clone()>{spec.title.clone()}</h2>
            <div class="stat-value" style:color=move || (color_mode == ColorMode::Value).then(css)>{text}</div>
            <canvas node_ref=canvas class="sparkline" class:hidden=graph_mode == GraphMode::None></canvas>
            {move || points.with(|p| p.as_ref().err().cloned()).map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}
