//! The dashboards page: the dashboards stored in this browser (open, rename, duplicate, delete,
//! export), new and imported ones (a file or pasted JSON; a bad document says what is wrong and
//! stores nothing), and the starters (the services overview and one per scrape job).

use leptos::prelude::*;
use leptos::task::spawn_local;
use lookout_promql::sort::SortDyn;
use wasm_bindgen::JsCast;

use crate::components::dashboard_view::export;
use crate::model::Dashboard;
use crate::starters;
use crate::storage::Db;

/// A fresh uid: time and randomness, base 36.
fn new_uid() -> String {
    let n = (js_sys::Date::now() as u64) << 16 | (js_sys::Math::random() * 65_536.0) as u64;
    let mut s = String::new();
    let mut n = n;
    while n > 0 {
        let d = (n % 36) as u32;
        s.insert(0, char::from_digit(d, 36).unwrap_or('0'));
        n /= 36;
    }
    s
}

/// Stores `d` under a uid no stored dashboard uses (its own if free) and returns the uid.
async fn store_new(mut d: Dashboard) -> Result<String, String> {
    let db = Db::open().await.map_err(|e| e.to_string())?;
    if d.uid.is_empty()
        || db
            .get("dashboards", &d.uid)
            .await
            .map_err(|e| e.to_string())?
            .is_some()
    {
        d.uid = new_uid();
    }
    db.put("dashboards", &d.uid, &d.to_json())
        .await
        .map_err(|e| e.to_string())?;
    Ok(d.uid)
}

fn open_uid(uid: &str, edit: bool) {
    crate::app::navigate_with(|p| {
        for k in ["dashboards", "d", "expr", "edit"] {
            p.delete(k);
        }
        p.set("d", uid);
        if edit {
            p.set("edit", "1");
        }
    });
}

#[component]
pub fn DashboardList(jobs: Signal<Vec<String>>) -> impl IntoView {
    let stored = RwSignal::new(None::<Result<Vec<Dashboard>, String>>);
    let message = RwSignal::new(None::<(bool, String)>);
    let reload = move || {
        spawn_local(async move {
            let r = async {
                let db = Db::open().await.map_err(|e| e.to_string())?;
                let entries = db.entries("dashboards").await.map_err(|e| e.to_string())?;
                let mut out: Vec<Dashboard> = entries
                    .into_iter()
                    .map(|(uid, json)| {
                        Dashboard::from_json(&json).unwrap_or_else(|e| Dashboard {
                            uid: uid.clone(),
                            title: format!("{uid} (damaged: {e})"),
                            ..Dashboard::default()
                        })
                    })
                    .collect();
                out.sort_by_key_dyn(|d| d.title.to_lowercase());
                Ok(out)
            }
            .await;
            stored.set(Some(r));
        });
    };
    reload();

    let run =
        move |f: std::pin::Pin<Box<dyn std::future::Future<Output = Result<String, String>>>>| {
            spawn_local(async move {
                match f.await {
                    Ok(m) => message.set(Some((false, m))),
                    Err(e) => message.set(Some((true, e))),
                }
                reload();
            });
        };

    let create = move |_| {
        spawn_local(async move {
            let d = starters::blank("", "New dashboard");
            match store_new(d).await {
                Ok(uid) => open_uid(&uid, true),
                Err(e) => message.set(Some((true, e))),
            }
        });
    };
    let (import_text, set_import_text) = signal(String::new());
    let import = move |text: String, source: String| match Dashboard::from_json(&text) {
        Err(e) => message.set(Some((true, format!("Import failed ({source}): {e}")))),
        Ok(d) => run(Box::pin(async move {
            let title = d.title.clone();
            let uid = store_new(d).await?;
            set_import_text.set(String::new());
            Ok(format!("Imported \"{title}\" ({uid})"))
        })),
    };
    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        let name = file.name();
        spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(file.text()).await {
                Ok(t) => import(t.as_string().unwrap_or_default(), name),
                Err(_) => message.set(Some((true, format!("Import failed: cannot read {name}")))),
            }
        });
    };
    let rename = move |mut d: Dashboard, title: String| {
        if title.trim().is_empty() || title == d.title {
            return;
        }
        d.title = title.trim().to_owned();
        run(Box::pin(async move {
            Db::open()
                .await
                .map_err(|e| e.to_string())?
                .put("dashboards", &d.uid, &d.to_json())
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!("Renamed to \"{}\"", d.title))
        }));
    };
    let duplicate = move |mut d: Dashboard| {
        d.title = format!("{} (copy)", d.title);
        d.uid = String::new();
        run(Box::pin(async move {
            let uid = store_new(d).await?;
            Ok(format!("Duplicated as {uid}"))
        }));
    };
    let confirm_delete = RwSignal::new(None::<String>);
    let delete = move |uid: String| {
        if confirm_delete.get_untracked().as_deref() != Some(uid.as_str()) {
            confirm_delete.set(Some(uid));
            return;
        }
        confirm_delete.set(None);
        run(Box::pin(async move {
            Db::open()
                .await
                .map_err(|e| e.to_string())?
                .delete("dashboards", &uid)
                .await
                .map_err(|e| e.to_string())?;
            Ok(format!("Deleted {uid}"))
        }));
    };

    let starter_rows = move || {
        let mut list = vec![(
            starters::OVERVIEW_UID.to_owned(),
            "Services overview".to_owned(),
        )];
        list.extend(
            jobs.get()
                .into_iter()
                .map(|j| (format!("job-{j}"), format!("Service: {j}"))),
        );
        list.into_iter()
            .map(|(uid, title)| view! { <li class="starter"><a href=format!("?d={uid}")>{title}</a></li> })
            .collect_view()
    };

    view! {
        <main class="dashboards-page">
            <section class="dash-section">
                <div class="section-head">
                    <h2>"Your dashboards"</h2>
                    <button type="button" class="new-dashboard" on:click=create>"New dashboard"</button>
                </div>
                {move || message.get().map(|(err, m)| view! { <p class=if err { "message error" } else { "message ok" } role="status">{m}</p> })}
                {move || match stored.get() {
                    None => view! { <p class="muted">"Reading browser storage…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                    Some(Ok(list)) if list.is_empty() => view! { <p class="muted">"No dashboards stored in this browser yet: create one, import one, or open a starter below and edit it."</p> }.into_any(),
                    Some(Ok(list)) => view! {
                        <ul class="dashboard-list">
                            {list.into_iter().map(|d| {
                                let (uid, title) = (d.uid.clone(), d.title.clone());
                                let panels = d.all_panels().filter(|p| !p.is_row()).count();
                                let renaming = RwSignal::new(false);
                                let (d1, d2, d3) = (d.clone(), d.clone(), d.clone());
                                let uid_del = uid.clone();
                                let uid_confirm = uid.clone();
                                view! {
                                    <li class="dashboard-item" data-uid=uid.clone()>
                                        <Show when=move || renaming.get() fallback={
                                            let (uid, title) = (uid.clone(), title.clone());
                                            move || view! { <a class="dashboard-link" href=format!("?d={uid}")>{title.clone()}</a> }
                                        }>
                                            {
                                                let d1 = d1.clone();
                                                view! {
                                                    <input class="rename-input" type="text" aria-label="New title" prop:value=d1.title.clone()
                                                        on:keydown=move |ev| if ev.key() == "Enter" { rename(d1.clone(), event_target_value(&ev)); renaming.set(false); } />
                                                }
                                            }
                                        </Show>
                                        <span class="muted">{if panels == 1 { "1 panel".to_owned() } else { format!("{panels} panels") }}</span>
                                        <span class="tags">{d.tags.join(", ")}</span>
                                        <span class="actions">
                                            <button type="button" class="rename" on:click=move |_| renaming.update(|r| *r = !*r)>"Rename"</button>
                                            <button type="button" class="duplicate" on:click=move |_| duplicate(d2.clone())>"Duplicate"</button>
                                            <button type="button" class="export" on:click=move |_| export(&d3)>"Export"</button>
                                            <button type="button" class="delete" on:click=move |_| delete(uid_del.clone())>
                                                {move || if confirm_delete.get().as_deref() == Some(uid_confirm.as_str()) { "Really delete?" } else { "Delete" }}
                                            </button>
                                        </span>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }}
            </section>
            <section class="dash-section import">
                <h2>"Import"</h2>
                <p class="muted">"A dashboard's JSON: exported from Lookout or from Grafana (Share → Export, or the API's {\"dashboard\": …})."</p>
                <label class="file-import">"From a file: " <input type="file" accept=".json,application/json" on:change=on_file /></label>
                <textarea class="import-text" rows="6" placeholder="…or paste the JSON here" aria-label="Dashboard JSON" prop:value=import_text on:input=move |ev| set_import_text.set(event_target_value(&ev))></textarea>
                <button type="button" class="import-button" on:click=move |_| import(import_text.get_untracked(), "pasted JSON".into())>"Import"</button>
            </section>
            <section class="dash-section">
                <h2>"Starters"</h2>
                <p class="muted">"Built for what the relay scrapes; editing one stores your copy."</p>
                <ul class="starter-list">{starter_rows}</ul>
            </section>
        </main>
    }
}
