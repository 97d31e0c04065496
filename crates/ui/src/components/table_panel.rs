//! A table panel: the query's newest value per series (an instant vector), one column per
//! label, sortable by any column.

use leptos::prelude::*;

use crate::components::panel_view::{PanelContext, measure_end, measure_start, use_query};
use crate::components::table_view::TableView;
use crate::panel_options::PanelSpec;

#[component]
pub fn TablePanel(spec: PanelSpec, ctx: PanelContext) -> impl IntoView {
    let (result, _) = use_query(&spec, ctx, || 0);
    let unit = spec.field_config.defaults.unit();
    let mark = format!("lookout:render:{}", spec.key);
    let series = Signal::derive(move || {
        measure_start(&mark);
        let s = result.with(|r| {
            r.as_ref()
                .map(|n| n.iter().map(|n| n.series.clone()).collect())
                .unwrap_or_default()
        });
        measure_end(&mark);
        s
    });
    let expr = spec
        .targets
        .first()
        .map(|t| t.expr.clone())
        .unwrap_or_default();
    view! {
        <section class="panel table-panel" data-panel=spec.key.clone() data-expr=expr.clone()>
            <h2 title=expr.clone()>{spec.title.clone()}</h2>
            <TableView series=series unit=unit />
            {move || result.with(|r| r.as_ref().err().cloned()).map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}
