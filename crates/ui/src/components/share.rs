//! "Share / embed": the link to this view, an iframe snippet for another site, and the embed's
//! own link — each with the current time range, variables and theme. The panel (or the whole
//! dashboard) travels in the URL (`embed::shared_def`), so the snippet works in any browser.

use leptos::prelude::*;
use lookout_tsdb::sort::SortDyn;

use crate::app::{Page, url_pairs};
use crate::embed::{self, EmbedWhat};

/// Default frame height of a shared panel, px.
const PANEL_HEIGHT: u32 = 300;

#[component]
pub fn ShareDialog(page: Page, panel: Option<u32>, on_close: Callback<()>) -> impl IntoView {
    let pairs = url_pairs();
    let get = |k: &str| pairs.iter().find(|p| p.0 == k).map(|p| p.1.clone());
    let doc = page.doc.get_untracked().unwrap_or_default();
    let (from, to) = match (get("from"), get("to")) {
        (Some(f), t) => (f, t.unwrap_or_else(|| "now".into())),
        (None, _) => doc.time.as_ref().map_or_else(
            || ("now-15m".into(), "now".into()),
            |t| (t.from.clone(), t.to.clone()),
        ),
    };
    let mut vars: Vec<(String, Vec<String>)> = page
        .wanted
        .get_untracked()
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .collect();
    vars.sort_by_dyn(Ord::cmp);
    let theme = document()
        .document_element()
        .and_then(|e| e.get_attribute("data-theme"));
    let what = panel.map_or(EmbedWhat::Dashboard, EmbedWhat::Panel);
    let def = embed::shared_def(&doc, panel);
    let query = embed::embed_query(&def, what, (&from, &to), &vars, theme.as_deref());
    let loc = window().location();
    let origin = loc.origin().unwrap_or_default();
    let element =
        embed::element_snippet(&origin, &def, what, (&from, &to), &vars, theme.as_deref());
    let dir = loc.pathname().unwrap_or_default();
    let dir = dir.rsplit_once('/').map_or("", |(d, _)| d);
    let embed_url = format!("{origin}{dir}/embed?{query}");
    let link = loc.href().unwrap_or_default();
    let title = panel
        .and_then(|id| {
            doc.all_panels()
                .find(|p| p.id == id)
                .map(|p| p.title.clone())
        })
        .unwrap_or_else(|| doc.title.clone());
    let height = panel.map_or(800, |_| PANEL_HEIGHT);
    let iframe = embed::iframe_snippet(&embed_url, &title, height);
    let field = |label: &'static str, class: &'static str, value: String| {
        view! {
            <label class="field">
                <span>{label}</span>
                <textarea class=class readonly rows="3" on:focus=|ev| {
                    use wasm_bindgen::JsCast;
                    if let Some(t) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlTextAreaElement>().ok()) {
                        t.select();
                    }
                }>{value}</textarea>
            </label>
        }
    };
    view! {
        <div class="editor-overlay" on:click=move |_| on_close.run(())>
            <div class="editor settings-dialog share-dialog" role="dialog" aria-label="Share" on:click=|ev| ev.stop_propagation()>
                <div>
                    <h2>{format!("Share “{title}”")}</h2>
                    {field("Link to this view", "share-link", link)}
                    {field("Embed in another site (iframe)", "share-iframe", iframe)}
                    {field("Embed URL", "share-embed-url", embed_url.clone())}
                    {field("Embed as an element (no frame)", "share-element", element)}
                    <p class="hint">"The site must be allowed to embed: start the relay with "<code>"--embed-origin https://that.site"</code>". The embed is read-only and follows the time range and variables above."</p>
                    <div class="editor-actions">
                        <a class="button" href=embed_url target="_blank" rel="noopener">"Open the embed"</a>
                        <button type="button" class="share-close" on:click=move |_| on_close.run(())>"Close"</button>
                    </div>
                </div>
            </div>
        </div>
    }
}
