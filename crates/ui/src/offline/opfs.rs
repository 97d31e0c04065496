//! The browser APIs offline mode needs, bound by hand: the origin private file system
//! (`navigator.storage.getDirectory()`), storage estimates and persistence, and Web Locks.
//! web-sys has these only behind `web_sys_unstable_apis`; the dozen methods used here are
//! declared directly instead, which keeps the build flags plain and the bundle small.

use futures_channel::oneshot;
use js_sys::{Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(extends = Object)]
    type StorageManager;
    #[wasm_bindgen(method, js_name = getDirectory)]
    fn get_directory(this: &StorageManager) -> Promise;
    #[wasm_bindgen(method)]
    fn persist(this: &StorageManager) -> Promise;
    #[wasm_bindgen(method)]
    fn estimate(this: &StorageManager) -> Promise;

    #[wasm_bindgen(extends = Object)]
    #[derive(Debug, Clone)]
    pub type Directory;
    #[wasm_bindgen(method, js_name = getDirectoryHandle)]
    fn get_directory_handle(this: &Directory, name: &str, options: &Object) -> Promise;
    #[wasm_bindgen(method, js_name = getFileHandle)]
    fn get_file_handle(this: &Directory, name: &str, options: &Object) -> Promise;
    #[wasm_bindgen(method, js_name = removeEntry)]
    fn remove_entry(this: &Directory, name: &str) -> Promise;
    #[wasm_bindgen(method)]
    fn keys(this: &Directory) -> Object;

    #[wasm_bindgen(extends = Object)]
    type FileHandle;
    #[wasm_bindgen(method, js_name = getFile)]
    fn get_file(this: &FileHandle) -> Promise;
    #[wasm_bindgen(method, js_name = createWritable)]
    fn create_writable(this: &FileHandle) -> Promise;

    #[wasm_bindgen(extends = Object)]
    type Writable;
    #[wasm_bindgen(method)]
    fn write(this: &Writable, data: &Uint8Array) -> Promise;
    #[wasm_bindgen(method)]
    fn close(this: &Writable) -> Promise;
    #[wasm_bindgen(method)]
    fn abort(this: &Writable) -> Promise;

    #[wasm_bindgen(extends = Object)]
    type LockManager;
    #[wasm_bindgen(method)]
    fn request(
        this: &LockManager,
        name: &str,
        options: &Object,
        callback: &js_sys::Function,
    ) -> Promise;
}

/// A failed browser call, with the DOMException name kept (`QuotaExceededError`, `NotFoundError`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsError {
    pub name: String,
    pub message: String,
}

impl FsError {
    pub fn quota_exceeded(&self) -> bool {
        self.name == "QuotaExceededError"
    }
    pub fn not_supported(&self) -> bool {
        self.name == "NotSupportedError"
    }
    fn not_found(&self) -> bool {
        self.name == "NotFoundError"
    }
}

impl std::fmt::Display for FsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl From<JsValue> for FsError {
    fn from(v: JsValue) -> FsError {
        let get = |k: &str| {
            Reflect::get(&v, &k.into())
                .ok()
                .and_then(|s| s.as_string())
                .unwrap_or_default()
        };
        let (name, message) = (get("name"), get("message"));
        if name.is_empty() && message.is_empty() {
            FsError {
                name: "Error".into(),
                message: format!("{v:?}"),
            }
        } else {
            FsError { name, message }
        }
    }
}

fn navigator_field(name: &str) -> Result<JsValue, FsError> {
    let nav = web_sys::window()
        .map(|w| JsValue::from(w.navigator()))
        .unwrap_or(JsValue::UNDEFINED);
    match Reflect::get(&nav, &name.into()) {
        Ok(v) if !v.is_undefined() && !v.is_null() => Ok(v),
        _ => Err(FsError {
            name: "NotSupportedError".into(),
            message: format!("this browser has no navigator.{name}"),
        }),
    }
}

fn storage() -> Result<StorageManager, FsError> {
    navigator_field("storage").map(JsCast::unchecked_into)
}

fn options(pairs: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (k, v) in pairs {
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o
}

async fn wait(p: Promise) -> Result<JsValue, FsError> {
    JsFuture::from(p).await.map_err(FsError::from)
}

/// `dir` under the origin's private file system, created if missing.
pub async fn directory(name: &str) -> Result<Directory, FsError> {
    let root: Directory = wait(storage()?.get_directory()).await?.unchecked_into();
    let dir = wait(root.get_directory_handle(name, &options(&[("create", true.into())]))).await?;
    Ok(dir.unchecked_into())
}

/// A file's bytes; `None` when it does not exist.
pub async fn read(dir: &Directory, name: &str) -> Result<Option<Vec<u8>>, FsError> {
    let handle = match wait(dir.get_file_handle(name, &Object::new())).await {
        Ok(h) => h.unchecked_into::<FileHandle>(),
        Err(e) if e.not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let file = wait(handle.get_file()).await?;
    let buf = wait(
        Reflect::get(&file, &"arrayBuffer".into())
            .and_then(|f| f.unchecked_into::<js_sys::Function>().call0(&file))
            .map_err(FsError::from)?
            .unchecked_into(),
    )
    .await?;
    Ok(Some(Uint8Array::new(&buf).to_vec()))
}

/// Replaces a file's contents. `createWritable` writes to a swap file that replaces the file
/// only when `close` succeeds: a tab killed mid-write, or a write refused for quota, leaves the
/// previous contents.
pub async fn write(dir: &Directory, name: &str, bytes: &[u8]) -> Result<(), FsError> {
    let handle: FileHandle = wait(dir.get_file_handle(name, &options(&[("create", true.into())])))
        .await?
        .unchecked_into();
    let w: Writable = wait(handle.create_writable()).await?.unchecked_into();
    // Copied into a JS buffer: the wasm memory may grow (and detach a view) while awaiting.
    let t0 = super::perf_now();
    let data = Uint8Array::new_with_length(bytes.len() as u32);
    data.copy_from(bytes);
    super::measure("lookout:persist", t0);
    if let Err(e) = wait(w.write(&data)).await {
        let _ = wait(w.abort()).await;
        return Err(e);
    }
    wait(w.close()).await.map(|_| ())
}

/// Removes a file; a missing one is not an error.
pub async fn remove(dir: &Directory, name: &str) -> Result<(), FsError> {
    match wait(dir.remove_entry(name)).await {
        Err(e) if !e.not_found() => Err(e),
        _ => Ok(()),
    }
}

/// The names of a directory's entries.
pub async fn list(dir: &Directory) -> Result<Vec<String>, FsError> {
    let iter = dir.keys();
    let next: js_sys::Function = Reflect::get(&iter, &"next".into())
        .map_err(FsError::from)?
        .unchecked_into();
    let mut out = Vec::new();
    loop {
        let step = wait(next.call0(&iter).map_err(FsError::from)?.unchecked_into()).await?;
        if Reflect::get(&step, &"done".into()).is_ok_and(|d| d.is_truthy()) {
            return Ok(out);
        }
        if let Some(name) = Reflect::get(&step, &"value".into())
            .ok()
            .and_then(|v| v.as_string())
        {
            out.push(name);
        }
    }
}

/// Removes `name` (a directory) and all it holds.
pub async fn remove_tree(name: &str) -> Result<(), FsError> {
    let root: Directory = wait(storage()?.get_directory()).await?.unchecked_into();
    let p = root.remove_entry(name);
    // `recursive` is an option of removeEntry; passed through Reflect for older typings.
    let p = Reflect::get(&root, &"removeEntry".into())
        .and_then(|f| {
            f.unchecked_into::<js_sys::Function>().call2(
                &root,
                &name.into(),
                &options(&[("recursive", true.into())]),
            )
        })
        .map(JsCast::unchecked_into)
        .unwrap_or(p);
    match wait(p).await {
        Err(e) if !e.not_found() => Err(e),
        _ => Ok(()),
    }
}

/// `navigator.storage.estimate()`: `(usage, quota)` in bytes.
pub async fn estimate() -> Result<(f64, f64), FsError> {
    let e = wait(storage()?.estimate()).await?;
    let get = |k: &str| {
        Reflect::get(&e, &k.into())
            .ok()
            .and_then(|v| v.as_f64())
            .unwrap_or(0.0)
    };
    Ok((get("usage"), get("quota")))
}

/// `navigator.storage.persist()`: whether the browser agreed not to evict this origin's data.
pub async fn persist() -> Result<bool, FsError> {
    Ok(wait(storage()?.persist()).await?.is_truthy())
}

/// Runs `work` holding the Web Lock `name` (`exclusive` or shared), released when it finishes.
/// A request the browser refuses (a page being torn down, say) is an error, not a wait forever.
pub async fn with_lock<F, T>(name: &str, exclusive: bool, work: F) -> Result<T, FsError>
where
    F: std::future::Future<Output = T> + 'static,
    T: 'static,
{
    use std::cell::RefCell;
    use std::rc::Rc;
    let locks: LockManager = navigator_field("locks")?.unchecked_into();
    let (granted_tx, granted_rx) = oneshot::channel::<Result<(), FsError>>();
    let granted_tx = Rc::new(RefCell::new(Some(granted_tx)));
    let (release, release_rx) = oneshot::channel::<()>();
    let on_grant = granted_tx.clone();
    let cb = Closure::once_into_js(move |_lock: JsValue| -> Promise {
        if let Some(tx) = on_grant.borrow_mut().take() {
            let _ = tx.send(Ok(()));
        }
        // The lock is held until this promise settles.
        wasm_bindgen_futures::future_to_promise(async move {
            let _ = release_rx.await;
            Ok(JsValue::UNDEFINED)
        })
    });
    let mode = if exclusive { "exclusive" } else { "shared" };
    let done =
        JsFuture::from(locks.request(name, &options(&[("mode", mode.into())]), cb.unchecked_ref()));
    let (done_tx, done_rx) = oneshot::channel::<Result<(), FsError>>();
    wasm_bindgen_futures::spawn_local(async move {
        let result = done.await.map(|_| ()).map_err(FsError::from);
        if let Err(e) = &result
            && let Some(tx) = granted_tx.borrow_mut().take()
        {
            let _ = tx.send(Err(e.clone()));
        }
        let _ = done_tx.send(result);
    });
    let aborted = || FsError {
        name: "AbortError".into(),
        message: format!("the lock {name} was never granted"),
    };
    granted_rx.await.unwrap_or_else(|_| Err(aborted()))?;
    let out = work.await;
    let _ = release.send(());
    done_rx.await.unwrap_or_else(|_| Err(aborted()))?;
    Ok(out)
}

/// Asks for the Web Lock `name` for the rest of the page's life and calls `granted` when this
/// page holds it: at once if no other tab does, else when the holder closes.
pub fn hold_lock_forever(name: &str, granted: impl FnOnce() + 'static) -> Result<(), FsError> {
    let locks: LockManager = navigator_field("locks")?.unchecked_into();
    let cb = Closure::once_into_js(move |_lock: JsValue| -> Promise {
        granted();
        // Never settles: the lock is released when the page goes away.
        Promise::new(&mut |_, _| {})
    });
    let _ = locks.request(
        name,
        &options(&[("mode", "exclusive".into())]),
        cb.unchecked_ref(),
    );
    Ok(())
}
