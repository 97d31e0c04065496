//! The relay serving the built app: the service worker and index.html are revalidated on every
//! load (the browser finds a new build only through them), and every shell file has the content
//! type the browser needs (a manifest or a wasm module with the wrong one is refused).
#![allow(clippy::unwrap_used)]

mod common;

use common::TempDir;
use lookout_relay::{Relay, RelayConfig};

#[tokio::test]
async fn the_app_shell_is_served_with_the_headers_a_service_worker_needs() {
    let dist = TempDir::new("shell");
    for (name, body) in [
        ("index.html", "<!doctype html><title>t</title>"),
        ("sw.js", "self.addEventListener('fetch', () => {});"),
        ("manifest.webmanifest", "{}"),
        ("lookout-ui-0123abcd_bg.wasm", "\0asm"),
        ("lookout-ui-0123abcd.js", "export {};"),
    ] {
        dist.write(name, body);
    }
    let relay = Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        dist: Some(dist.0.clone()),
        ..RelayConfig::default()
    })
    .await
    .unwrap();
    let base = format!("http://{}", relay.local_addr());
    let get = |path: &str| reqwest::get(format!("{base}{path}"));
    let header = |r: &reqwest::Response, h: &str| {
        r.headers()
            .get(h)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    for (path, content_type, no_cache) in [
        ("/sw.js", "text/javascript", true),
        ("/", "text/html", true),
        ("/?expr=up", "text/html", true),
        ("/some/page", "text/html", true),
        ("/manifest.webmanifest", "application/manifest+json", false),
        ("/lookout-ui-0123abcd_bg.wasm", "application/wasm", false),
        ("/lookout-ui-0123abcd.js", "text/javascript", false),
    ] {
        let r = get(path).await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(
            header(&r, "content-type").starts_with(content_type),
            "{path}: {}",
            header(&r, "content-type")
        );
        assert_eq!(
            header(&r, "cache-control") == "no-cache",
            no_cache,
            "{path}"
        );
    }
    // The API is untouched.
    let r = get("/-/healthy").await.unwrap();
    assert_eq!(header(&r, "cache-control"), "");
}
