//! A dashboard on the 24-column grid: panels placed by `gridPos`, rows that collapse, and in edit
//! mode a handle to drag each panel and a corner to resize it (snapping to the grid), plus the
//! toolbar (edit, add panel, settings, export) and the panel editor.

use leptos::prelude::*;
use lookout_tsdb::sort::SortDyn;
use wasm_bindgen::JsCast;

use crate::app::{Page, SCRAPE_MS};
use crate::components::panel_editor::PanelEditor;
use crate::components::{PanelContext, PanelView, TargetsPanel};
use crate::dashboard::{Panel as ViewPanel, PanelKind};
use crate::data::PageData;
use crate::json::Write;
use crate::layout;
use crate::model::{self, GridPos, PanelType};
use crate::panel_options::PanelSpec;
use crate::variables::{Context, Scope};

/// One grid cell as drawn: what it shows, keyed so that a panel is rebuilt only when what it
/// queries or how it looks changes (not when it moves).
#[derive(Debug, Clone)]
pub struct Cell {
    pub id: u32,
    pub key: String,
    pub what: CellKind,
}

#[derive(Debug, Clone)]
pub enum CellKind {
    Row {
        title: String,
        collapsed: bool,
        hidden: usize,
    },
    Panel(Box<ViewPanel>),
    Unsupported {
        title: String,
        kind: String,
    },
}

impl PartialEq for Cell {
    fn eq(&self, o: &Cell) -> bool {
        self.key == o.key
    }
}

/// A model panel interpolated and turned into what the grid draws.
pub fn cell_of(p: &model::Panel, scope: &Scope, range: (i64, i64), grid_px: f64) -> Cell {
    let width = (grid_px * f64::from(p.grid_pos.w) / 24.0).max(100.0) as u32;
    let ctx = Context::for_width(range.0, range.1, width, SCRAPE_MS);
    let title = scope.interpolate(&p.title, &ctx);
    let what = match p.panel_type() {
        PanelType::Row => CellKind::Row {
            title,
            collapsed: p.collapsed == Some(true),
            hidden: p.panels.as_ref().map_or(0, Vec::len),
        },
        PanelType::Unsupported(kind) => CellKind::Unsupported { title, kind },
        _ => {
            let expr = scope.interpolate(p.expr(), &ctx);
            // Every target's query interpolated: the renderers read them from the panel.
            let mut p = p.clone();
            for t in p.targets.iter_mut().flatten() {
                t.expr = scope.interpolate(&t.expr, &ctx);
            }
            match ViewPanel::from_model(&p, expr, title.clone()) {
                Some(v) => CellKind::Panel(Box::new(v)),
                None => CellKind::Unsupported {
                    title,
                    kind: p.kind.clone(),
                },
            }
        }
    };
    let mut shape = p.clone();
    shape.grid_pos = GridPos::default();
    let key = match &what {
        CellKind::Panel(v) => format!("{}|{}|{}|{:?}", p.id, v.expr, v.title, shape),
        CellKind::Row {
            title,
            collapsed,
            hidden,
        } => format!("{}|row|{title}|{collapsed}|{hidden}", p.id),
        CellKind::Unsupported { title, kind } => format!("{}|?|{title}|{kind}", p.id),
    };
    Cell {
        id: p.id,
        key,
        what,
    }
}

/// The component that draws a panel, by kind.
pub fn panel_view(page: Page, v: ViewPanel, min_step: i64) -> AnyView {
    let (data, version, range, hover, zoom) =
        (page.data, page.version, page.range, page.hover, page.zoom);
    match v.kind {
        PanelKind::Targets => {
            let targets = Signal::derive(move || {
                version.track();
                data.with_value(PageData::targets)
            });
            view! { <TargetsPanel targets=targets /> }.into_any()
        }
        _ => {
            // The renderers read Grafana's panel JSON; the model keeps the same shape.
            let mut spec = PanelSpec::from_json(v.config.write());
            spec.key = v.id.clone();
            spec.title = v.title.clone();
            if spec.targets.is_empty() {
                spec.targets.push(crate::panel_options::Target {
                    expr: v.expr.clone(),
                    legend_format: v.legend.clone(),
                });
            }
            let ctx = PanelContext {
                data,
                version,
                range,
                min_step,
                hover,
                zoom,
            };
            view! { <PanelView spec=spec ctx=ctx /> }.into_any()
        }
    }
}

/// A drag in progress: which panel, moving or resizing, from where.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Drag {
    id: u32,
    resize: bool,
    x0: f64,
    y0: f64,
    from: GridPos,
    width: f64,
}

fn download(name: &str, mime: &str, text: &str) {
    let parts = js_sys::Array::of1(&text.into());
    let opts = web_sys::BlobPropertyBag::new();
    opts.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &opts) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Ok(a) = document().create_element("a")
        && let Ok(a) = a.dyn_into::<web_sys::HtmlAnchorElement>()
    {
        a.set_href(&url);
        a.set_download(name);
        a.click();
    }
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// A file name made of a dashboard's title.
fn file_stem(d: &model::Dashboard) -> String {
    let name: String = d
        .title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    name.trim_matches('-').to_owned()
}

/// Exports a dashboard as a JSON file named after its title.
pub fn export(d: &model::Dashboard) {
    download(
        &format!("{}.json", file_stem(d)),
        "application/json",
        &d.to_json(),
    );
}

/// "Download as HTML": the app, the dashboard and the data it reads in one file that works
/// from disk (`export::build`), with the view as it is now. `busy` is set while it is made; a
/// failure shows where storage errors do.
fn download_html(page: Page, busy: RwSignal<bool>) {
    let Some(d) = page.doc.get_untracked() else {
        return;
    };
    let (start, end) = page.range.get_untracked();
    let time = match page.zoom.get_untracked() {
        Some((a, b)) => crate::url_state::TimeSel::Absolute(a, b),
        None => crate::url_state::TimeSel::Relative(end - start),
    };
    let mut vars: Vec<(String, String)> = page
        .wanted
        .get_untracked()
        .into_iter()
        .flat_map(|(k, vs)| vs.into_iter().map(move |v| (format!("var-{k}"), v)))
        .collect();
    vars.sort_by_dyn(Ord::cmp);
    let snapshot = page
        .data
        .with_value(|data| crate::export::snapshot_for(&d, data));
    busy.set(true);
    leptos::task::spawn_local(async move {
        let built =
            crate::export::build(&d, &snapshot, crate::url_state::time_params(time), vars).await;
        busy.set(false);
        match built {
            Ok(html) => download(&format!("{}.html", file_stem(&d)), "text/html", &html),
            Err(e) => page
                .storage_error
                .set(Some(format!("the HTML file could not be made: {e}"))),
        }
    });
}

#[component]
pub fn DashboardView(
    page: Page,
    min_step: i64,
    /// In `/embed`: no toolbar, no editing, no share buttons.
    #[prop(optional)]
    embedded: bool,
) -> impl IntoView {
    let doc = page.doc;
    let grid = NodeRef::<leptos::html::Main>::new();
    let grid_px = RwSignal::new(
        window()
            .inner_width()
            .ok()
            .and_then(|w| w.as_f64())
            .unwrap_or(1280.0),
    );
    let cells = Memo::new(move |_| {
        let scope = Scope::new(&page.resolved.get());
        let range = page.range.get();
        let px = grid_px.get();
        doc.with(|d| {
            d.as_ref()
                .map(|d| {
                    d.panels
                        .iter()
                        .map(|p| cell_of(p, &scope, range, px))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let positions = Memo::new(move |_| {
        doc.with(|d| {
            d.as_ref()
                .map(|d| {
                    d.panels
                        .iter()
                        .map(|p| (p.id, p.grid_pos))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let style_of = move |id: u32| {
        let p = positions
            .with(|ps| ps.iter().find(|p| p.0 == id).map(|p| p.1))
            .unwrap_or_default();
        format!(
            "--col:{};--row:{};--w:{};--h:{};--order:{}",
            p.x + 1,
            p.y + 1,
            p.w.max(1),
            p.h.max(1),
            p.y * 24 + p.x
        )
    };
    let editing = RwSignal::new(None::<model::Panel>);
    let hovered = RwSignal::new(None::<u32>);
    let drag = RwSignal::new(None::<Drag>);
    let settings = RwSignal::new(false);

    // `e` edits the panel under the pointer (or the focused one).
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        let typing = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
        if embedded || typing || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        match ev.key().as_str() {
            "e" => {
                let focused = document()
                    .active_element()
                    .and_then(|e| e.closest(".cell").ok().flatten())
                    .and_then(|c| c.get_attribute("data-id"))
                    .and_then(|id| id.parse::<u32>().ok());
                if let Some(id) = focused.or(hovered.get_untracked())
                    && let Some(p) = doc.with_untracked(|d| {
                        d.as_ref()
                            .and_then(|d| d.all_panels().find(|p| p.id == id).cloned())
                    })
                    && !p.is_row()
                {
                    editing.set(Some(p));
                }
            }
            "Escape" => {
                editing.set(None);
                settings.set(false);
            }
            _ => {}
        }
    });
    let resize = window_event_listener(leptos::ev::resize, move |_| {
        if let Some(g) = grid.get_untracked() {
            grid_px.set(f64::from(g.client_width()));
        }
    });
    on_cleanup(move || {
        keys.remove();
        resize.remove();
    });
    Effect::new(move |_| {
        if let Some(g) = grid.get() {
            grid_px.set(f64::from(g.client_width()));
        }
    });

    let start_drag = move |ev: web_sys::PointerEvent, id: u32, resize: bool| {
        let Some(from) = positions.with_untracked(|ps| ps.iter().find(|p| p.0 == id).map(|p| p.1))
        else {
            return;
        };
        ev.prevent_default();
        if let Some(t) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        {
            let _ = t.set_pointer_capture(ev.pointer_id());
        }
        let width = grid
            .get_untracked()
            .map_or(1200.0, |g| f64::from(g.client_width()) - 24.0);
        drag.set(Some(Drag {
            id,
            resize,
            x0: f64::from(ev.client_x()),
            y0: f64::from(ev.client_y()),
            from,
            width,
        }));
    };
    let move_drag = move |ev: web_sys::PointerEvent| {
        let Some(d) = drag.get_untracked() else {
            return;
        };
        let delta = layout::cells(
            f64::from(ev.client_x()) - d.x0,
            f64::from(ev.client_y()) - d.y0,
            d.width,
        );
        let to = if d.resize {
            layout::resized(d.from, delta)
        } else {
            layout::moved(d.from, delta)
        };
        let now = positions.with_untracked(|ps| ps.iter().find(|p| p.0 == d.id).map(|p| p.1));
        if now != Some(layout::clamp(to, false)) {
            doc.update(|doc| {
                if let Some(doc) = doc {
                    layout::place(&mut doc.panels, d.id, to);
                }
            });
        }
    };
    let end_drag = move |_ev: web_sys::PointerEvent| {
        if drag.get_untracked().is_some() {
            drag.set(None);
            page.change(|d| layout::sort(&mut d.panels));
        }
    };

    let add_panel = move |_| {
        let Some((id, pos)) = doc.with_untracked(|d| {
            d.as_ref()
                .map(|d| (d.next_panel_id(), layout::free_spot(&d.panels, 12, 8)))
        }) else {
            return;
        };
        let mut p = crate::starters::panel(id, "timeseries", "New panel", "", "", "short", pos);
        p.first_target_mut();
        editing.set(Some(p));
    };
    let duplicate = move |id: u32| {
        page.change(|d| {
            let found = d.all_panels().find(|p| p.id == id).cloned();
            if let Some(mut p) = found {
                p.id = d.next_panel_id();
                p.grid_pos.y = p.grid_pos.bottom();
                let pos = p.grid_pos;
                d.panels.push(p.clone());
                layout::place(&mut d.panels, p.id, pos);
            }
        })
    };
    let remove = move |id: u32| {
        page.change(|d| {
            d.panels.retain(|p| p.id != id);
            for r in d.panels.iter_mut() {
                if let Some(inner) = r.panels.as_mut() {
                    inner.retain(|p| p.id != id);
                }
            }
            layout::compact(&mut d.panels, None);
        })
    };
    let add_row = move |_| {
        page.change(|d| {
            let id = d.next_panel_id();
            let pos = layout::free_spot(&d.panels, 24, 1);
            d.panels.push(model::Panel {
                id,
                kind: "row".into(),
                title: "Row".into(),
                grid_pos: pos,
                collapsed: Some(false),
                panels: Some(Vec::new()),
                ..model::Panel::default()
            });
        })
    };

    let edit = page.edit;
    // The share dialog: `Some(None)` for the whole dashboard, `Some(Some(id))` for one panel.
    let sharing = RwSignal::new(None::<Option<u32>>);
    view! {
        <nav class="dash-toolbar" aria-label="Dashboard" class:hidden=embedded>
            <a class="button" href="?dashboards">"Dashboards"</a>
            <button type="button" class="edit-toggle" aria-pressed=move || edit.get().to_string() on:click=move |_| edit.update(|e| *e = !*e)>
                {move || if edit.get() { "Done editing" } else { "Edit" }}
            </button>
            <Show when=move || edit.get()>
                <button type="button" class="add-panel" on:click=add_panel>"Add panel"</button>
                <button type="button" class="add-row" on:click=add_row>"Add row"</button>
                <button type="button" class="settings" on:click=move |_| settings.set(true)>"Settings"</button>
            </Show>
            <button type="button" class="export" on:click=move |_| doc.with_untracked(|d| if let Some(d) = d { export(d) })>"Export"</button>
            {(!page.read_only).then(|| {
                let busy = RwSignal::new(false);
                view! {
                    <button type="button" class="download-html" disabled=move || busy.get() title="One HTML file with the app, this dashboard and its data: it opens from disk, offline"
                        on:click=move |_| download_html(page, busy)>
                        {move || if busy.get() { "Preparing…" } else { "Download HTML" }}
                    </button>
                }
            })}
            <button type="button" class="share" on:click=move |_| sharing.set(Some(None))>"Share"</button>
            {move || page.storage_error.get().map(|e| view! { <span class="error" role="alert">{e}</span> })}
        </nav>
        <main class="dash-grid" class:editing=move || edit.get() node_ref=grid on:pointermove=move_drag on:pointerup=end_drag on:pointercancel=end_drag>
            <For each=move || cells.get() key=|c| c.key.clone() let:cell>
                {
                    let id = cell.id;
                    let body = match cell.what {
                        CellKind::Row { title, collapsed, hidden } => view! {
                            <div class="row-header" data-collapsed=collapsed.to_string()>
                                <button type="button" class="row-toggle" aria-expanded=(!collapsed).to_string() on:click=move |_| page.change(|d| layout::toggle_row(&mut d.panels, id))>
                                    <span class="chevron">{if collapsed { "▸" } else { "▾" }}</span>
                                    <span class="row-title">{title}</span>
                                    {(collapsed && hidden > 0).then(|| view! { <span class="row-count">{format!("({hidden} panels)")}</span> })}
                                </button>
                            </div>
                        }.into_any(),
                        CellKind::Unsupported { title, kind } => view! {
                            <section class="panel unsupported" data-panel=id.to_string()>
                                <h2>{title}</h2>
                                <p class="unsupported-note">{format!("unsupported panel type {kind:?}")}</p>
                            </section>
                        }.into_any(),
                        CellKind::Panel(v) => panel_view(page, *v, min_step),
                    };
                    let is_row = matches!(cells.with_untracked(|c| c.iter().find(|c| c.id == id).map(|c| matches!(c.what, CellKind::Row { .. }))), Some(true));
                    view! {
                        <div class="cell" class:row=is_row class:dragging=move || drag.with(|d| d.is_some_and(|d| d.id == id)) data-id=id.to_string() style=move || style_of(id) tabindex="-1" on:mouseenter=move |_| hovered.set(Some(id))>
                            {body}
                            {(!embedded && !is_row).then(|| view! {
                                <button type="button" class="cell-share" title="Share or embed this panel" on:click=move |_| sharing.set(Some(Some(id)))>"Share"</button>
                            })}
                            <Show when=move || edit.get()>
                                <div class="cell-tools">
                                    <span class="move-handle" title="Drag to move" on:pointerdown=move |ev| start_drag(ev, id, false)>"⠿"</span>
                                    {(!is_row).then(|| view! {
                                        <button type="button" class="panel-edit" title="Edit (e)" on:click=move |_| {
                                            if let Some(p) = doc.with_untracked(|d| d.as_ref().and_then(|d| d.all_panels().find(|p| p.id == id).cloned())) {
                                                editing.set(Some(p));
                                            }
                                        }>"Edit"</button>
                                        <button type="button" class="panel-duplicate" title="Duplicate" on:click=move |_| duplicate(id)>"Duplicate"</button>
                                    })}
                                    <button type="button" class="panel-remove" title="Remove" on:click=move |_| remove(id)>"Remove"</button>
                                </div>
                                {(!is_row).then(|| view! { <span class="resize-handle" title="Drag to resize" on:pointerdown=move |ev| start_drag(ev, id, true)></span> })}
                            </Show>
                        </div>
                    }
                }
            </For>
            <Show when=move || cells.with(Vec::is_empty)>
                <p class="empty-dashboard">"This dashboard has no panels yet. Press " <b>"Edit"</b> ", then " <b>"Add panel"</b> "."</p>
            </Show>
        </main>
        {move || editing.get().map(|draft| view! { <PanelEditor page=page draft=draft min_step=min_step on_close=Callback::new(move |()| editing.set(None)) /> })}
        {move || sharing.get().map(|panel| view! { <crate::components::ShareDialog page=page panel=panel on_close=Callback::new(move |()| sharing.set(None)) /> })}
        <Show when=move || settings.get()>
            <crate::components::dashboard_settings::DashboardSettings page=page on_close=Callback::new(move |()| settings.set(false)) />
        </Show>
    }
}
