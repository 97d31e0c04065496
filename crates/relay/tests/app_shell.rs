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

/// Every page ships a CSP without `unsafe-eval` or inline scripts; only `/embed` may be framed by
/// the embed origins, which alone may load the app's files across origins (CORS).
#[tokio::test]
async fn pages_carry_their_policy_and_only_embed_origins_may_frame_or_load_them() {
    let dist = TempDir::new("csp");
    for (name, body) in [
        ("index.html", "<!doctype html><title>t</title>"),
        ("lookout-ui-0123abcd.js", "export {};"),
    ] {
        dist.write(name, body);
    }
    let relay = Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        dist: Some(dist.0.clone()),
        embed_origins: vec!["http://status.example:8080".into()],
        ..RelayConfig::default()
    })
    .await
    .unwrap();
    let base = format!("http://{}", relay.local_addr());
    let client = reqwest::Client::new();
    let get = |path: &str, origin: Option<&str>| {
        let mut r = client.get(format!("{base}{path}"));
        if let Some(o) = origin {
            r = r.header("origin", o);
        }
        r.send()
    };
    let header = |r: &reqwest::Response, h: &str| {
        r.headers()
            .get(h)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let ancestors = |csp: &str| {
        csp.split(';')
            .map(str::trim)
            .find_map(|d| d.strip_prefix("frame-ancestors "))
            .unwrap_or("")
            .to_owned()
    };
    for path in ["/", "/?d=overview", "/embed", "/embed?d=overview&panel=2"] {
        let r = get(path, None).await.unwrap();
        let csp = header(&r, "content-security-policy");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-eval'") || csp.contains("'wasm-unsafe-eval'"));
        assert!(!csp.contains("'unsafe-eval'"), "{path}: {csp}");
        assert!(csp.contains("object-src 'none'"), "{path}: {csp}");
        let want = if path.starts_with("/embed") {
            "'self' http://status.example:8080"
        } else {
            "'self'"
        };
        assert_eq!(ancestors(&csp), want, "{path}");
        assert_eq!(header(&r, "x-content-type-options"), "nosniff");
    }
    // CORS for the embed origin only.
    let js = "/lookout-ui-0123abcd.js";
    let r = get(js, Some("http://status.example:8080")).await.unwrap();
    assert_eq!(
        header(&r, "access-control-allow-origin"),
        "http://status.example:8080"
    );
    assert!(header(&r, "vary").contains("Origin"));
    let r = get(js, Some("http://evil.example")).await.unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), "");
    let r = get(js, None).await.unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), "");
}

#[tokio::test]
async fn an_embed_origin_that_is_not_an_origin_is_refused_at_start() {
    for bad in [
        "status.example",
        "https://status.example/",
        "ftp://x",
        "https://a b",
    ] {
        let e = Relay::start(RelayConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            embed_origins: vec![bad.into()],
            ..RelayConfig::default()
        })
        .await
        .unwrap_err();
        let msg = format!("{e:#}");
        assert!(msg.contains(bad), "{msg}");
    }
}

/// The build's precompressed `.gz` files go to browsers that accept gzip, with the original
/// content type (a wasm module served as anything else is refused); others get the plain file.
#[tokio::test]
async fn precompressed_files_are_served_to_browsers_that_accept_gzip() {
    let dist = TempDir::new("gz");
    dist.write("index.html", "<!doctype html><title>t</title>");
    dist.write("lookout-ui-0123abcd_bg.wasm", "\0asm plain");
    dist.write("lookout-ui-0123abcd_bg.wasm.gz", "pretend gzip");
    let relay = Relay::start(RelayConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        dist: Some(dist.0.clone()),
        ..RelayConfig::default()
    })
    .await
    .unwrap();
    // Raw HTTP: an HTTP client library may decode gzip itself and hide the header.
    let get = |accept: &'static str| {
        let addr = relay.local_addr();
        async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
            s.write_all(format!("GET /lookout-ui-0123abcd_bg.wasm HTTP/1.1\r\nHost: {addr}\r\n{accept}Connection: close\r\n\r\n").as_bytes())
                .await
                .unwrap();
            let mut out = Vec::new();
            s.read_to_end(&mut out).await.unwrap();
            String::from_utf8_lossy(&out).to_lowercase()
        }
    };
    let r = get("Accept-Encoding: gzip\r\n").await;
    assert!(r.contains("content-encoding: gzip"), "{r}");
    assert!(r.contains("content-type: application/wasm"), "{r}");
    assert!(r.ends_with("pretend gzip"), "{r}");
    let r = get("").await;
    assert!(!r.contains("content-encoding"), "{r}");
    assert!(r.ends_with("\0asm plain"), "{r}");
}
