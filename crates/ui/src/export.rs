//! "Download as HTML": one file holding the app (its wasm, glue and stylesheet), a dashboard and
//! a snapshot of the data it reads, which opens from disk with no network and stays interactive
//! — zoom, legend, variables and PromQL all run over the snapshot, as they do over the live
//! store.
//!
//! The file carries two data blocks the browser never executes: `#lookout-export` (JSON:
//! [`Exported`]) and `#lookout-wasm` (the wasm, base64), then one module script: the
//! wasm-bindgen glue followed by a call of its `__wbg_init` with the decoded bytes (a `file://`
//! page can fetch nothing, not even its own directory). The page's start reads the data block
//! back with [`embedded`] and shows the dashboard with no relay, no cache and nothing saved.

use serde_json::Value;

use crate::json::{self, Obj, Out, Read, Write};

use crate::model::Dashboard;
use crate::url_state::TimeSel;

/// The id of the JSON data block.
pub const DATA_ID: &str = "lookout-export";
/// The id of the base64 wasm block.
pub const WASM_ID: &str = "lookout-wasm";
/// The layout of the data block this build writes and reads.
const FORMAT: u32 = 1;

/// What an exported file holds besides the app.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    pub format: u32,
    /// The dashboard's JSON model.
    pub dashboard: serde_json::Value,
    /// `lookout_tsdb::Store::snapshot`, base64.
    pub snapshot: String,
    /// The view when exported: `from`/`to` as the URL writes them, variable selections.
    pub from: String,
    pub to: String,
    pub vars: Vec<(String, String)>,
    /// When the file was made, ms.
    pub exported_at: i64,
}

/// What the page starts from when it is an exported file.
#[derive(Debug)]
pub struct Opened {
    pub dashboard: Dashboard,
    pub store: lookout_tsdb::Store,
    pub time: Option<TimeSel>,
    pub vars: Vec<(String, String)>,
    pub exported_at: i64,
}

impl Exported {
    /// Reads the data block; anything wrong is an error naming the part.
    pub fn open(json: &str) -> Result<Opened, String> {
        let e = serde_json::from_str(json)
            .map_err(|e| e.to_string())
            .and_then(|v| Exported::read(v).map_err(|e| e.to_string()))
            .map_err(|e| format!("the file's data block cannot be read: {e}"))?;
        if e.format != FORMAT {
            return Err(format!(
                "the file was written in format {}, this build reads format {FORMAT}",
                e.format
            ));
        }
        let dashboard = Dashboard::from_value(e.dashboard)
            .map_err(|err| format!("the file's dashboard cannot be read: {err}"))?;
        let bytes =
            base64_decode(&e.snapshot).ok_or("the file's data snapshot is not valid base64")?;
        let store = lookout_tsdb::Store::from_snapshot(&bytes)
            .map_err(|err| format!("the file's data snapshot is damaged: {err}"))?;
        Ok(Opened {
            dashboard,
            store,
            time: crate::url_state::parse_time(&e.from, Some(&e.to)),
            vars: e.vars,
            exported_at: e.exported_at,
        })
    }
}

impl Read for Exported {
    fn read(v: Value) -> Result<Self, json::Error> {
        let mut o = Obj::new(v)?;
        let mut e = Exported {
            format: 0,
            dashboard: Value::Null,
            snapshot: String::new(),
            from: String::new(),
            to: String::new(),
            vars: Vec::new(),
            exported_at: 0,
        };
        o.set("format", &mut e.format)?;
        o.set("dashboard", &mut e.dashboard)?;
        o.set("snapshot", &mut e.snapshot)?;
        o.set("from", &mut e.from)?;
        o.set("to", &mut e.to)?;
        let mut vars: Vec<Vec<String>> = Vec::new();
        o.set("vars", &mut vars)?;
        e.vars = vars
            .into_iter()
            .filter_map(|mut p| (p.len() == 2).then(|| (p.remove(0), p.remove(0))))
            .collect();
        let mut at = 0.0f64;
        o.set("exported_at", &mut at)?;
        e.exported_at = at as i64;
        Ok(e)
    }
}

impl Write for Exported {
    fn write(&self) -> Value {
        let vars: Vec<Vec<String>> = self
            .vars
            .iter()
            .map(|(k, v)| vec![k.clone(), v.clone()])
            .collect();
        Out::new(&json::Extra::new())
            .put("format", &self.format)
            .put("dashboard", &self.dashboard)
            .put("snapshot", &self.snapshot)
            .put("from", &self.from)
            .put("to", &self.to)
            .put("vars", &vars)
            .put("exported_at", &Value::from(self.exported_at))
            .done()
    }
}

/// The whole file. `glue` is the wasm-bindgen glue (an ES module whose `__wbg_init` takes the
/// wasm's bytes), `wasm` the wasm itself.
pub fn standalone_html(
    title: &str,
    css: &str,
    glue: &str,
    wasm: &[u8],
    data: &Exported,
) -> Result<String, String> {
    if !glue.contains("function __wbg_init") {
        return Err("the app's script is not the wasm-bindgen glue this export expects".into());
    }
    let json = data.write().to_string();
    // Nothing inside may end its element early: `</` is written `<\/` (the same string to
    // JavaScript and JSON) and CSS may not hold `</style`.
    let json = json.replace("</", "<\\/");
    let glue = glue.replace("</script", "<\\/script");
    let css = css.replace("</style", "");
    let title = escape_text(title);
    Ok(format!(
        r#"<!doctype html>
<html lang="en" class="exported">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>{title} · Lookout</title>
<style>{css}</style>
</head>
<body>
<script type="application/json" id="{DATA_ID}">{json}</script>
<script type="application/octet-stream" id="{WASM_ID}">{wasm}</script>
<script type="module">
{glue}
const text = document.getElementById("{WASM_ID}").textContent.trim();
const bin = atob(text);
const bytes = new Uint8Array(bin.length);
for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
await __wbg_init({{ module_or_path: bytes }});
</script>
</body>
</html>
"#,
        wasm = base64_encode(wasm),
    ))
}

/// Builds the file for `d` as the page shows it: the series the dashboard reads (all their
/// samples), the time range and variable selections, and the app's own files as this page
/// loaded them (from the service worker's cache or the relay).
/// `snapshot`: [`snapshot_for`] of the page's data.
pub async fn build(
    d: &Dashboard,
    snapshot: &[u8],
    (from, to): (String, String),
    vars: Vec<(String, String)>,
) -> Result<String, String> {
    let exported = Exported {
        format: FORMAT,
        dashboard: d.to_value(),
        snapshot: base64_encode(snapshot),
        from,
        to,
        vars,
        exported_at: js_sys::Date::now() as i64,
    };
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let href = |sel: &str| {
        doc.query_selector(sel)
            .ok()
            .flatten()
            .and_then(|e| e.get_attribute("href"))
            .ok_or_else(|| format!("this page has no {sel} to copy the app from"))
    };
    let css = fetch(&href("link[rel=stylesheet]")?).await?;
    let glue = fetch(&href("link[rel=modulepreload]")?).await?;
    let wasm = fetch(&href("link[rel=preload][href$='.wasm']")?).await?;
    standalone_html(
        &d.title,
        &String::from_utf8_lossy(&css),
        &String::from_utf8_lossy(&glue),
        &wasm,
        &exported,
    )
}

/// The series `d` reads, with all their samples, as a snapshot.
pub fn snapshot_for(d: &Dashboard, data: &crate::data::PageData) -> Vec<u8> {
    data.subset(&crate::app::subscriptions(d)).snapshot()
}

/// A file of the app, by its URL.
async fn fetch(url: &str) -> Result<Vec<u8>, String> {
    use wasm_bindgen::JsCast;
    use wasm_bindgen_futures::JsFuture;
    let failed = |e: wasm_bindgen::JsValue| format!("fetching {url}: {e:?}");
    let window = web_sys::window().ok_or("no window")?;
    let resp: web_sys::Response = JsFuture::from(window.fetch_with_str(url))
        .await
        .map_err(failed)?
        .unchecked_into();
    if !resp.ok() {
        return Err(format!("fetching {url}: HTTP {}", resp.status()));
    }
    let buf = JsFuture::from(resp.array_buffer().map_err(failed)?)
        .await
        .map_err(failed)?;
    Ok(js_sys::Uint8Array::new(&buf).to_vec())
}

/// The data block of the page, when the page is an exported file.
pub fn embedded() -> Option<Result<Opened, String>> {
    let el = web_sys::window()?.document()?.get_element_by_id(DATA_ID)?;
    Some(Exported::open(&el.text_content().unwrap_or_default()))
}

fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding. Hand-written: a few lines here against a crate in the page's
/// bundle for the one place that needs it.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for c in bytes.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(c.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(c.get(2).copied().unwrap_or(0));
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= c.len() {
                out.push(B64[(n >> shift & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 (padding optional, ASCII whitespace ignored); `None` on anything else.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    let mut ended = false;
    for b in text.bytes() {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                ended = true;
                continue;
            }
            b if b.is_ascii_whitespace() => continue,
            _ => return None,
        };
        if ended {
            return None; // data after padding
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero padding of the last byte, never a lone 6-bit group.
    (bits < 6 && acc == 0).then_some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn base64_round_trips_and_refuses_what_it_is_not() {
        for (raw, enc) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"\xff\x00\xfe", "/wD+"),
        ] {
            assert_eq!(base64_encode(raw), enc);
            assert_eq!(base64_decode(enc).as_deref(), Some(raw));
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64_decode(&base64_encode(&all)), Some(all));
        assert_eq!(base64_decode("Zm9v\nYg=="), Some(b"foob".to_vec()));
        for bad in ["Zm9v!", "Z", "Zg==Zg", "Zh=="] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }

    fn sample() -> (Exported, lookout_tsdb::Store) {
        let mut store = lookout_tsdb::Store::default();
        let id = store.series_id(&lookout_tsdb::Labels::new([
            ("__name__", "up"),
            ("job", "a"),
        ]));
        for t in 0..10 {
            let _ = store.append(id, 1_700_000_000_000 + t * 15_000, 1.0);
        }
        let d = crate::starters::from_queries(&["up".to_owned()]);
        let data = Exported {
            format: FORMAT,
            dashboard: d.to_value(),
            snapshot: base64_encode(&store.snapshot()),
            from: "now-1h".into(),
            to: "now".into(),
            vars: vec![("var-job".into(), "a".into())],
            exported_at: 1_700_000_200_000,
        };
        (data, store)
    }

    #[wasm_bindgen_test]
    fn an_exported_file_reads_back_its_dashboard_data_and_view() {
        let (data, store) = sample();
        let opened = Exported::open(&data.write().to_string()).unwrap();
        assert_eq!(opened.store.stats().samples, store.stats().samples);
        assert_eq!(
            opened.dashboard.to_json(),
            crate::starters::from_queries(&["up".to_owned()]).to_json()
        );
        assert_eq!(opened.time, Some(TimeSel::Relative(3_600_000)));
        assert_eq!(opened.vars, data.vars);

        let mut newer = data.clone();
        newer.format = 2;
        let e = Exported::open(&newer.write().to_string()).unwrap_err();
        assert!(e.contains("format 2"), "{e}");
        let mut damaged = data.clone();
        damaged.snapshot = base64_encode(b"LKTS not really");
        let e = Exported::open(&damaged.write().to_string()).unwrap_err();
        assert!(e.contains("snapshot is damaged"), "{e}");
        assert!(Exported::open("{").unwrap_err().contains("data block"));
    }

    #[wasm_bindgen_test]
    fn the_file_keeps_its_parts_inside_their_elements() {
        let (mut data, _) = sample();
        data.vars = vec![("var-x".into(), "</script><script>alert(1)</script>".into())];
        let glue =
            "async function __wbg_init(m) { return '</script>'; }\nexport default __wbg_init;";
        let html = standalone_html("a <b> & c", "body{}</style>", glue, b"\0asm", &data).unwrap();
        assert_eq!(html.matches("</script>").count(), 3, "{html}");
        assert_eq!(html.matches("</style>").count(), 1);
        assert!(html.contains("<title>a &lt;b&gt; &amp; c · Lookout</title>"));
        assert!(html.contains(&base64_encode(b"\0asm")));
        // The data block still reads back whole.
        let start = html.find("id=\"lookout-export\">").unwrap() + "id=\"lookout-export\">".len();
        let end = start + html[start..].find("</script>").unwrap();
        let back = Exported::read(serde_json::from_str(&html[start..end]).unwrap()).unwrap();
        assert_eq!(back, data);
        assert!(standalone_html("t", "", "console.log(1)", b"", &data).is_err());
    }
}
