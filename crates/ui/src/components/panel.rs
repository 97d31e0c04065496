//! A time-series panel: a canvas chart and a legend with each series' last value.

use leptos::html::Canvas;
use leptos::prelude::*;
use lookout_tsdb::Matcher;

use crate::charts::palette::{color_for, css};
use crate::charts::timeseries;
use crate::data::PageData;
use crate::format::si;

/// What a panel shows.
#[derive(Debug, Clone)]
pub struct PanelSpec {
    pub id: String,
    pub title: String,
    pub matchers: Vec<Matcher>,
}

#[derive(Debug, Clone, PartialEq)]
struct LegendRow {
    text: String,
    color: String,
    last: Option<f64>,
}

/// The legend text of a series: its labels without the metric name and job.
fn legend_text(labels: &lookout_tsdb::Labels) -> String {
    let parts: Vec<String> = labels
        .iter()
        .filter(|(n, _)| *n != "__name__" && *n != "job")
        .map(|(n, v)| format!("{n}={v}"))
        .collect();
    if parts.is_empty() {
        labels.get("job").unwrap_or_default().to_owned()
    } else {
        parts.join(", ")
    }
}

#[component]
pub fn TimeSeriesPanel(
    spec: PanelSpec,
    data: StoredValue<PageData, LocalStorage>,
    version: ReadSignal<u64>,
    range: Signal<(i64, i64)>,
) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let matchers = StoredValue::new(spec.matchers.clone());
    let (draw_error, set_draw_error) = signal(None::<String>);

    let legend = Memo::new(move |_| {
        version.track();
        let (start, end) = range.get();
        let series = data.with_value(|d| matchers.with_value(|m| d.select(m, start, end)));
        series
            .iter()
            .map(|s| LegendRow {
                text: legend_text(&s.labels),
                color: css(color_for(&s.labels)),
                last: s.last(),
            })
            .collect::<Vec<_>>()
    });

    Effect::new(move |_| {
        version.track();
        let (start, end) = range.get();
        let Some(el) = canvas.get() else { return };
        let series = data.with_value(|d| matchers.with_value(|m| d.select(m, start, end)));
        let dark = document()
            .document_element()
            .and_then(|e| e.get_attribute("data-theme"))
            .as_deref()
            == Some("dark");
        set_draw_error.set(timeseries::draw(&el, &series, start, end, dark).err());
    });

    let last = move || {
        legend
            .with(|l| l.first().and_then(|r| r.last))
            .map(|v| v.to_string())
            .unwrap_or_default()
    };
    view! {
        <section class="panel timeseries" data-panel=spec.id.clone() data-series-count=move || legend.with(Vec::len) data-last=last>
            <h2>{spec.title.clone()}</h2>
            <canvas node_ref=canvas></canvas>
            {move || draw_error.get().map(|e| view! { <p class="error">{e}</p> })}
            <ul class="legend">
                <For each=move || legend.get() key=|r| (r.text.clone(), r.last.map(f64::to_bits)) let:row>
                    <li data-value=row.last.map(|v| v.to_string()).unwrap_or_default()>
                        <span class="swatch" style:background=row.color.clone()></span>
                        <span class="name">{row.text.clone()}</span>
                        <span class="value">{row.last.map(si).unwrap_or_default()}</span>
                    </li>
                </For>
            </ul>
        </section>
    }
}
