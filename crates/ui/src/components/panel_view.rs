//! One panel of any type: the dispatcher a dashboard calls with a [`PanelSpec`], and what every
//! panel shares — the page's data, the visible range, the shared crosshair and zoom, and the
//! `lookout:query:<key>` / `lookout:render:<key>` performance measures.

use leptos::prelude::*;

use crate::components::{
    BarGaugePanel, GaugePanel, HeatmapPanel, StatPanel, TablePanel, TimeSeriesPanel,
};
use crate::data::PageData;
use crate::panel_options::{PanelSpec, PanelType};
use crate::query::{Named, PanelQueries};

/// What every panel reads besides its own spec.
#[derive(Debug, Clone, Copy)]
pub struct PanelContext {
    pub data: StoredValue<PageData, LocalStorage>,
    /// Bumped whenever the store changes.
    pub version: ReadSignal<u64>,
    pub range: Signal<(i64, i64)>,
    /// The finest query step, ms.
    pub min_step: i64,
    /// The time under the pointer in any panel: every panel draws its crosshair there.
    pub hover: RwSignal<Option<i64>>,
    /// Set by dragging across a chart: the range to zoom to.
    pub zoom: RwSignal<Option<(i64, i64)>>,
}

/// The panel `spec` describes.
#[component]
pub fn PanelView(spec: PanelSpec, ctx: PanelContext) -> impl IntoView {
    match spec.kind {
        PanelType::Timeseries => view! { <TimeSeriesPanel spec=spec ctx=ctx /> }.into_any(),
        PanelType::Stat => view! { <StatPanel spec=spec ctx=ctx /> }.into_any(),
        PanelType::Gauge => view! { <GaugePanel spec=spec ctx=ctx /> }.into_any(),
        PanelType::Bargauge => view! { <BarGaugePanel spec=spec ctx=ctx /> }.into_any(),
        PanelType::Table => view! { <TablePanel spec=spec ctx=ctx /> }.into_any(),
        PanelType::Heatmap => view! { <HeatmapPanel spec=spec ctx=ctx /> }.into_any(),
    }
}

/// Marks the start of a measured step; [`measure_end`] records it in the page's performance
/// timeline as `name`, so DevTools shows what each panel costs.
pub fn measure_start(name: &str) {
    if let Some(p) = window().performance() {
        let _ = p.mark(&format!("{name}:start"));
    }
}

/// Records the step [`measure_start`] began; returns its duration in ms.
pub fn measure_end(name: &str) -> Option<f64> {
    let p = window().performance()?;
    let start = format!("{name}:start");
    let _ = p.measure_with_start_mark(name, &start);
    let began = p
        .get_entries_by_name_with_entry_type(&start, "mark")
        .get(0)
        .dyn_into::<web_sys::PerformanceEntry>()
        .ok()
        .map(|e| e.start_time());
    p.clear_marks_with_mark_name(&start);
    began.map(|b| p.now() - b)
}

use wasm_bindgen::JsCast;

/// Whether `el` (a canvas) is drawn in the dark theme, so it picks its axis colours from it: the
/// nearest `data-theme` above it (the page's root, or a `<lookout-panel>`'s own inside its shadow
/// root), else the system's.
pub fn dark_theme(el: &web_sys::Element) -> bool {
    el.closest("[data-theme]")
        .ok()
        .flatten()
        .or_else(|| document().document_element())
        .and_then(|e| e.get_attribute("data-theme"))
        .map_or_else(
            || {
                window()
                    .match_media("(prefers-color-scheme: dark)")
                    .ok()
                    .flatten()
                    .is_some_and(|m| m.matches())
            },
            |t| t == "dark",
        )
}

/// A panel's evaluated queries, or the error to show.
pub type QueryResult = Memo<Result<Vec<Named>, String>>;

/// The panel's queries evaluated over the visible range at `width` pixels, re-run whenever the
/// data or the range change; also the evaluation time in ms. A `width` of 0 asks for an instant
/// query at the range's end (tables: the newest value, not the last step's).
pub fn use_query(
    spec: &PanelSpec,
    ctx: PanelContext,
    width: impl Fn() -> u32 + Send + Sync + 'static,
) -> (QueryResult, RwSignal<Option<f64>>) {
    let queries = StoredValue::new(PanelQueries::new(&spec.targets));
    let mark = format!("lookout:query:{}", spec.key);
    let eval_ms = RwSignal::new(None::<f64>);
    let result = Memo::new(move |_| {
        ctx.version.track();
        let (start, end) = ctx.range.get();
        let width = width();
        let start = if width == 0 { end } else { start };
        measure_start(&mark);
        let out = queries.with_value(|q| {
            ctx.data
                .with_value(|d| q.evaluate(d.store(), start, end, width, ctx.min_step))
        });
        eval_ms.set(measure_end(&mark));
        out
    });
    (result, eval_ms)
}
