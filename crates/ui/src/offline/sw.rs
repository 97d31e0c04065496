//! Registers the service worker (`www/sw.js`) that keeps the app shell for offline starts.

use wasm_bindgen::JsCast;

/// Registers `/sw.js` (Trunk serves the app from the root: its asset URLs are absolute too). Where service workers are unavailable (a `file:` page,
/// an insecure origin other than localhost) the app still runs, only not offline.
pub fn register() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let nav = window.navigator();
    let Ok(container) = js_sys::Reflect::get(&nav, &"serviceWorker".into()) else {
        return;
    };
    if container.is_undefined() {
        return;
    }
    let register = js_sys::Reflect::get(&container, &"register".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    if let Some(Ok(p)) = register.map(|r| r.call1(&container, &"/sw.js".into())) {
        // A failed registration (say, sw.js missing from a hand-made build) is logged only.
        let p: js_sys::Promise = p.unchecked_into();
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = wasm_bindgen_futures::JsFuture::from(p).await {
                web_sys::console::warn_2(&"lookout: no offline app shell:".into(), &e);
            }
        });
    }
}
