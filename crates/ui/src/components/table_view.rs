//! The table view of a query's series: one column per label, sortable by clicking a header.

use leptos::prelude::*;

use crate::data::SeriesView;
use crate::format::{Unit, value};
use crate::table::{SortKey, Table};

#[component]
pub fn TableView(series: Signal<Vec<SeriesView>>, unit: Unit) -> impl IntoView {
    let sort = RwSignal::new((SortKey::Value, false));
    let table = Memo::new(move |_| {
        let mut t = series.with(|s| Table::from_series(s));
        let (key, asc) = sort.get();
        t.sort(key, asc);
        t
    });
    let click = move |key: SortKey| {
        sort.update(|(k, asc)| {
            *asc = if *k == key { !*asc } else { true };
            *k = key;
        })
    };
    let arrow = move |key: SortKey| {
        let (k, asc) = sort.get();
        if k == key {
            if asc { " ▲" } else { " ▼" }
        } else {
            ""
        }
    };
    view! {
        <div class="table-view">
            <table>
                <thead>
                    <tr>
                        {move || {
                            table
                                .with(|t| t.columns.clone())
                                .into_iter()
                                .enumerate()
                                .map(|(i, c)| {
                                    view! { <th on:click=move |_| click(SortKey::Column(i))>{c}{move || arrow(SortKey::Column(i))}</th> }
                                })
                                .collect_view()
                        }}
                        <th class="num" on:click=move |_| click(SortKey::Value)>"Value"{move || arrow(SortKey::Value)}</th>
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        table
                            .with(|t| t.rows.clone())
                            .into_iter()
                            .map(|(cells, v)| {
                                view! {
                                    <tr>
                                        {cells.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}
                                        <td class="num">{v.map(|v| value(v, unit)).unwrap_or_default()}</td>
                                    </tr>
                                }
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
        </div>
    }
}
