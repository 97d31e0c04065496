//! Browser storage: an async key-value API over IndexedDB object stores (`dashboards`,
//! `settings`), values are strings (dashboards are their JSON).
//!
//! Hand-written over web-sys rather than `rexie`/`idb`: the page needs get/put/delete/list on
//! string keys, which is a few callbacks wrapped in promises; the crates add their own
//! abstractions and error types to the bundle for no gain here.
//!
//! Adding a store: append it to [`STORES`] and bump [`DB_VERSION`]; the upgrade creates every
//! store that is missing and never touches existing ones, so nothing stored is lost.

use js_sys::{Array, Promise};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbObjectStore, IdbOpenDbRequest, IdbRequest, IdbTransactionMode};

/// The database name.
pub const DB_NAME: &str = "lookout";
/// Bumped whenever [`STORES`] grows.
pub const DB_VERSION: u32 = 1;
/// Every object store; keys are strings, values strings.
pub const STORES: &[&str] = &["dashboards", "settings"];

/// What went wrong with browser storage, in words for the user.
#[derive(Debug, Clone, PartialEq)]
pub struct StorageError(pub String);

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "browser storage: {}", self.0)
    }
}

fn js_err(what: &str, e: JsValue) -> StorageError {
    let msg = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"));
    StorageError(format!("{what}: {msg}"))
}

/// Waits for an IDB request's success (its result) or error.
async fn done(req: &IdbRequest, what: &str) -> Result<JsValue, StorageError> {
    let promise = Promise::new(&mut |resolve, reject| {
        let r = req.clone();
        let ok = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &r.result().unwrap_or(JsValue::UNDEFINED));
        });
        let r = req.clone();
        let fail = Closure::once_into_js(move || {
            let err = r
                .error()
                .ok()
                .flatten()
                .map_or(JsValue::from_str("request failed"), JsValue::from);
            let _ = reject.call1(&JsValue::NULL, &err);
        });
        req.set_onsuccess(Some(ok.unchecked_ref()));
        req.set_onerror(Some(fail.unchecked_ref()));
    });
    JsFuture::from(promise).await.map_err(|e| js_err(what, e))
}

/// An open database.
#[derive(Debug, Clone)]
pub struct Db(IdbDatabase);

impl Db {
    /// Opens (creating or upgrading) the page's database.
    pub async fn open() -> Result<Db, StorageError> {
        Db::open_named(DB_NAME).await
    }

    /// Opens the database `name` (tests use their own).
    pub async fn open_named(name: &str) -> Result<Db, StorageError> {
        let factory = web_sys::window()
            .and_then(|w| w.indexed_db().ok().flatten())
            .ok_or_else(|| StorageError("IndexedDB is not available in this browser".into()))?;
        let req: IdbOpenDbRequest = factory
            .open_with_u32(name, DB_VERSION)
            .map_err(|e| js_err("open", e))?;
        let upgrade = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            let Some(db) = e
                .target()
                .and_then(|t| t.dyn_into::<IdbOpenDbRequest>().ok())
                .and_then(|r| r.result().ok())
                .and_then(|r| r.dyn_into::<IdbDatabase>().ok())
            else {
                return;
            };
            let existing = db.object_store_names();
            for store in STORES {
                if !existing.contains(store) {
                    let _ = db.create_object_store(store);
                }
            }
        });
        req.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
        let db = done(&req, "open").await?;
        drop(upgrade);
        Ok(Db(db.unchecked_into()))
    }

    fn store(&self, name: &str, mode: IdbTransactionMode) -> Result<IdbObjectStore, StorageError> {
        self.0
            .transaction_with_str_and_mode(name, mode)
            .and_then(|t| t.object_store(name))
            .map_err(|e| js_err(name, e))
    }

    /// The value under `key`, if any.
    pub async fn get(&self, store: &str, key: &str) -> Result<Option<String>, StorageError> {
        let req = self
            .store(store, IdbTransactionMode::Readonly)?
            .get(&key.into())
            .map_err(|e| js_err("get", e))?;
        Ok(done(&req, "get").await?.as_string())
    }

    /// Stores `value` under `key`, replacing what was there.
    pub async fn put(&self, store: &str, key: &str, value: &str) -> Result<(), StorageError> {
        let req = self
            .store(store, IdbTransactionMode::Readwrite)?
            .put_with_key(&value.into(), &key.into())
            .map_err(|e| js_err("put", e))?;
        done(&req, "put").await.map(drop)
    }

    pub async fn delete(&self, store: &str, key: &str) -> Result<(), StorageError> {
        let req = self
            .store(store, IdbTransactionMode::Readwrite)?
            .delete(&key.into())
            .map_err(|e| js_err("delete", e))?;
        done(&req, "delete").await.map(drop)
    }

    /// Every `(key, value)` of `store`, in key order.
    pub async fn entries(&self, store: &str) -> Result<Vec<(String, String)>, StorageError> {
        let s = self.store(store, IdbTransactionMode::Readonly)?;
        let keys = s.get_all_keys().map_err(|e| js_err("keys", e))?;
        let values = s.get_all().map_err(|e| js_err("values", e))?;
        let keys: Array = done(&keys, "keys").await?.unchecked_into();
        let values: Array = done(&values, "values").await?.unchecked_into();
        Ok(keys
            .iter()
            .zip(values.iter())
            .filter_map(|(k, v)| Some((k.as_string()?, v.as_string()?)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    async fn values_survive_reopening_and_deletes_stick() {
        let name = format!("lookout-test-{}", js_sys::Math::random());
        let db = Db::open_named(&name).await.unwrap();
        assert_eq!(db.get("dashboards", "a").await.unwrap(), None);
        db.put("dashboards", "b", "{\"title\":\"B\"}")
            .await
            .unwrap();
        db.put("dashboards", "a", "1").await.unwrap();
        db.put("dashboards", "a", "2").await.unwrap();
        db.put("settings", "theme", "dark").await.unwrap();
        let again = Db::open_named(&name).await.unwrap();
        assert_eq!(
            again.entries("dashboards").await.unwrap(),
            vec![
                ("a".into(), "2".into()),
                ("b".into(), "{\"title\":\"B\"}".into())
            ]
        );
        again.delete("dashboards", "a").await.unwrap();
        assert_eq!(again.get("dashboards", "a").await.unwrap(), None);
        assert_eq!(
            again.get("settings", "theme").await.unwrap().as_deref(),
            Some("dark")
        );
        let e = again.get("nonesuch", "x").await.unwrap_err();
        assert!(e.0.starts_with("nonesuch:"), "{e}");
    }
}
