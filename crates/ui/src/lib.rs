//! `lookout-ui`: the Lookout page. Leptos (CSR) renders dashboards; the data lives in the page,
//! in a `lookout-tsdb` store fed by the relay's stream.
//!
//! Logic is plain Rust ([`data`], [`connection`], [`format`], [`charts`]) that tests reach
//! without a DOM where they can; components in [`components`] only wire signals to it.

pub mod app;
pub mod charts;
pub mod complete;
pub mod components;
pub mod connection;
pub mod dashboard;
pub mod data;
pub mod element;
pub mod embed;
pub mod export;
pub mod format;
pub mod gallery;
pub mod json;
pub mod layout;
pub mod legend;
pub mod model;
pub mod offline;
pub mod panel_options;
pub mod query;
pub mod starters;
pub mod storage;
pub mod table;
pub mod target_list;
pub mod url_state;
pub mod variables;

/// Mounts the app on the page's body, unless `embed.js` loaded the page's wasm into another
/// site's page (it sets `globalThis.__lookoutElements`): there it only serves `<lookout-panel>`
/// elements, through [`element::mount_element`].
pub fn start() {
    console_error_panic_hook::set_once();
    let for_elements = js_sys::Reflect::get(&js_sys::global(), &"__lookoutElements".into())
        .is_ok_and(|v| v.is_truthy());
    if !for_elements {
        leptos::mount::mount_to_body(app::App);
    }
}

// The unit tests of this crate run in headless Chromium (`cargo xtask test`).
#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
