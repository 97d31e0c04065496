//! A stat panel: the newest value of a query, large, coloured by thresholds, over a sparkline.

use leptos::html::Canvas;
use leptos::prelude::*;

use crate::charts::sparkline;
use crate::dashboard::{Panel, threshold_color};
use crate::data::PageData;
use crate::format::value;
use crate::query::PanelQuery;

#[component]
pub fn StatPanel(
    panel: Panel,
    data: StoredValue<PageData, LocalStorage>,
    version: ReadSignal<u64>,
    range: Signal<(i64, i64)>,
    min_step: i64,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let query = StoredValue::new(PanelQuery::parse(&panel.expr));
    let (unit, thresholds) = (panel.unit, panel.thresholds.clone());
    // A stat reduces the query to one series: the first (stat queries aggregate to one).
    let points = Memo::new(move |_| -> Result<Vec<(i64, f64)>, String> {
        version.track();
        let (start, end) = range.get();
        query.with_value(|q| match q {
            Ok(q) => data
                .with_value(|d| q.evaluate(d.store(), start, end, 200, min_step))
                .map(|s| s.into_iter().next().map(|s| s.points).unwrap_or_default()),
            Err(e) => Err(e.clone()),
        })
    });
    let last = move || points.with(|p| p.as_ref().ok().and_then(|p| p.last().map(|x| x.1)));
    let color = Memo::new(move |_| threshold_color(&thresholds, last()));
    Effect::new(move |_| {
        let (start, end) = range.get();
        let Some(el) = canvas.get() else { return };
        let c = color.get();
        points.with(|p| {
            if let Ok(p) = p {
                let _ = sparkline::draw(&el, p, start, end, c);
            }
        });
    });
    let text = move || last().map_or_else(|| "–".to_owned(), |v| value(v, unit));
    let css = move || {
        let (r, g, b) = color.get();
        format!("rgb({r},{g},{b})")
    };
    view! {
        <section class="panel stat" data-panel=panel.id.clone() data-expr=panel.expr.clone() data-last=move || last().map(|v| v.to_string()).unwrap_or_default()>
            <h2 title=panel.expr.clone()>{panel.title.clone()}</h2>
            <div class="stat-value" style:color=css>{text}</div>
            <canvas node_ref=canvas class="sparkline"></canvas>
            {move || points.with(|p| p.as_ref().err().cloned()).map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}
