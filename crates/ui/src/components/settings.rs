//! The cache settings: storage used, persistence, the user's cap, and clear / export / import.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

use crate::format::clock;
use crate::offline::persist::Flushed;
use crate::offline::{Cache, CacheStatus, cap_bytes, local_offset, set_cap_mb};

fn mb(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1_048_576.0)
}

/// Offers `bytes` as a download named `name`.
fn download(name: &str, bytes: &[u8]) -> Result<(), wasm_bindgen::JsValue> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let blob = web_sys::Blob::new_with_u8_array_sequence(&parts)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let a: web_sys::HtmlAnchorElement = document().create_element("a")?.unchecked_into();
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url)
}

#[component]
pub fn CacheSettings(
    cache: StoredValue<Cache, LocalStorage>,
    status: RwSignal<CacheStatus>,
) -> impl IntoView {
    let cap = cap_bytes().map_or(0, |b| b >> 20);
    let export = move |_| {
        let bytes = cache.with_value(Cache::export);
        let name = format!("lookout-{}.lkts", js_sys::Date::now() as i64 / 1000);
        if let Err(e) = download(&name, &bytes) {
            status.update(|s| s.note = Some(format!("export failed: {e:?}")));
        }
    };
    let import = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        wasm_bindgen_futures::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await {
                Ok(buf) => {
                    let bytes = js_sys::Uint8Array::new(&buf).to_vec();
                    if let Some(Ok(n)) = cache.try_with_value(|c| c.import(&bytes)) {
                        status.update(|s| {
                            s.note = Some(format!("imported {n} series from {}", file.name()))
                        });
                    }
                }
                Err(e) => status.update(|s| s.note = Some(format!("cannot read the file: {e:?}"))),
            }
        });
    };
    let usage = move || {
        status.with(|s| match s.usage {
            Some((used, quota)) => format!("{} of {} available to this site", mb(used), mb(quota)),
            None => "unknown".into(),
        })
    };
    let role = move || {
        status.with(|s| {
            if s.writer {
                "this tab saves the cache".to_owned()
            } else {
                "another tab saves the cache; this one reads it".to_owned()
            }
        })
    };
    let last = move || {
        status.with(|s| match &s.last_write {
            Some((t, Flushed::Base { bytes })) => {
                format!(
                    "{} (whole, {})",
                    clock(*t, local_offset()),
                    mb(*bytes as f64)
                )
            }
            Some((t, Flushed::Delta { bytes })) => {
                format!(
                    "{} (changes, {})",
                    clock(*t, local_offset()),
                    mb(*bytes as f64)
                )
            }
            _ => "not yet".into(),
        })
    };
    view! {
        <details class="cache-settings">
            <summary title="Offline cache: usage, cap, clear, export and import">"Cache"</summary>
            <div class="cache-settings-body">
                <dl>
                    <dt>"Storage"</dt><dd class="usage" data-usage=move || status.with(|s| s.usage.map_or(0.0, |u| u.0))>{usage}</dd>
                    <dt>"Persistent"</dt><dd>{move || match status.with(|s| s.persisted) {
                        Some(true) => "yes: the browser will not evict it",
                        Some(false) => "no: the browser may evict it under pressure",
                        None => "unknown",
                    }}</dd>
                    <dt>"Writer"</dt><dd class="writer" data-writer=move || status.with(|s| s.writer).to_string()>{role}</dd>
                    <dt>"Last saved"</dt><dd class="last-saved" data-written=move || status.with(|s| s.written) data-saved-at=move || status.with(|s| s.last_write.as_ref().map_or(0, |w| w.0))>{last}</dd>
                    <dt>"Restored"</dt><dd class="restored" data-restored=move || status.with(|s| s.restored_samples.unwrap_or(0))>{move || status.with(|s| s.restored_samples.map_or("nothing".into(), |n| format!("{n} samples")))}</dd>
                </dl>
                <label>"Cap (MB, 0 = none) "
                    <input type="number" min="0" class="cap" prop:value=cap
                        on:change=move |ev| set_cap_mb(event_target_value(&ev).parse().unwrap_or(0)) />
                </label>
                <div class="cache-actions">
                    <button type="button" class="export" on:click=export>"Export data"</button>
                    <label class="import">"Import data "<input type="file" accept=".lkts,application/octet-stream" on:change=import /></label>
                    <button type="button" class="clear" on:click=move |_| cache.with_value(Cache::clear)>"Clear cache"</button>
                </div>
            </div>
        </details>
    }
}
