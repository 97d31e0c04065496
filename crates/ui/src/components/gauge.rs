//! A gauge panel: the query reduced to one value, on an arc from `min` to `max` (0..100 unless
//! the field says), coloured by thresholds. A query with several series shows one gauge each.

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::charts::gauge;
use crate::components::panel_view::{
    PanelContext, dark_theme, measure_end, measure_start, use_query,
};
use crate::components::stat::reduce;
use crate::format::value_with;
use crate::panel_options::{FieldDefaults, PanelSpec};

#[component]
fn OneGauge(
    name: String,
    value: Signal<Option<f64>>,
    field: StoredValue<FieldDefaults>,
    markers: bool,
    mark: String,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        let v = value.get();
        let Some(el) = canvas.get() else { return };
        measure_start(&mark);
        field.with_value(|f| {
            let (min, max) = (f.min.unwrap_or(0.0), f.max.unwrap_or(100.0));
            let color = f.thresholds.color_for(v, min, max);
            let text = v.map_or_else(|| "–".to_owned(), |v| value_with(v, f.unit(), f.decimals));
            let _ = gauge::draw(
                &el,
                v,
                &text,
                min,
                max,
                color,
                &f.thresholds.bands(min, max),
                markers,
                dark_theme(&el),
            );
        });
        measure_end(&mark);
    });
    view! {
        <figure class="gauge" data-value=move || value.get().map(|v| v.to_string()).unwrap_or_default()>
            <canvas node_ref=canvas></canvas>
            <figcaption>{name}</figcaption>
        </figure>
    }
}

#[component]
pub fn GaugePanel(spec: PanelSpec, ctx: PanelContext) -> impl IntoView {
    let (result, _) = use_query(&spec, ctx, || 100);
    let field = StoredValue::new(spec.field_config.defaults.clone());
    let calcs = spec.options.reduce_options.calcs.clone();
    let markers = spec.options.show_threshold_markers;
    let names = Memo::new(move |_| {
        result.with(|r| {
            r.as_ref()
                .map(|n| n.iter().map(|n| n.name.clone()).collect::<Vec<_>>())
                .unwrap_or_default()
        })
    });
    let mark = format!("lookout:render:{}", spec.key);
    let expr = spec
        .targets
        .first()
        .map(|t| t.expr.clone())
        .unwrap_or_default();
    view! {
        <section class="panel gauge-panel" data-panel=spec.key.clone() data-expr=expr.clone()>
            <h2 title=expr.clone()>{spec.title.clone()}</h2>
            <div class="gauges">
                <For each=move || names.get().into_iter().enumerate() key=|(i, n)| (*i, n.clone()) let:((i, name))>
                    {
                        let calcs = calcs.clone();
                        let value = Signal::derive(move || result.with(|r| r.as_ref().ok().and_then(|n| n.get(i)).and_then(|n| reduce(&n.series.points, &calcs))));
                        view! { <OneGauge name=name value=value field=field markers=markers mark=mark.clone() /> }
                    }
                </For>
            </div>
            {move || result.with(|r| r.as_ref().err().cloned()).map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <Show when=move || names.with(Vec::is_empty) && result.with(Result::is_ok)>
                <p class="empty">"No data yet for this query"</p>
            </Show>
        </section>
    }
}
