//! The Explore page (`?explore&q=...`): one ad-hoc query as a graph and as a table of its newest
//! values, with its evaluation time and parse errors underlined. The query lives in the URL, so
//! a link reopens it; the range is the time picker's, as on dashboards.

use leptos::prelude::*;

use crate::components::panel_view::PanelContext;
use crate::components::{QueryBar, TablePanel, TimeSeriesPanel};
use crate::panel_options::{LegendMode, PanelSpec, PanelType, Target};

/// The Explore panels for `query`: a graph (with a table legend of values) and a table.
pub fn explore_specs(query: &str) -> (PanelSpec, PanelSpec) {
    let target = Target {
        expr: query.to_owned(),
        legend_format: String::new(),
    };
    let mut graph = PanelSpec {
        key: "explore-graph".into(),
        title: "Graph".into(),
        kind: PanelType::Timeseries,
        targets: vec![target.clone()],
        ..PanelSpec::default()
    };
    graph.options.legend.display_mode = LegendMode::List;
    let table = PanelSpec {
        key: "explore-table".into(),
        title: "Table".into(),
        kind: PanelType::Table,
        targets: vec![target],
        ..PanelSpec::default()
    };
    (graph, table)
}

#[component]
pub fn ExplorePage(query: String, ctx: PanelContext) -> impl IntoView {
    let run = Callback::new(|q: String| crate::app::navigate_with(|p| p.set("q", &q)));
    let body = (!query.trim().is_empty()).then(|| {
        let (graph, table) = explore_specs(&query);
        view! {
            <TimeSeriesPanel spec=graph ctx=ctx />
            <TablePanel spec=table ctx=ctx />
        }
    });
    view! {
        <section class="explore">
            <QueryBar initial=query.clone() on_run=run />
            {match body {
                Some(b) => b.into_any(),
                None => view! { <p class="empty">"Type a PromQL query and press Enter, e.g. rate(http_requests_total[1m])"</p> }.into_any(),
            }}
        </section>
    }
}
