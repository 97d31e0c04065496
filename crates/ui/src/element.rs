//! `<lookout-panel>`: panels placed on another site's page by `embed.js` (www/embed.js). The
//! loader starts the wasm once and calls [`mount_element`] for each element with a `<div>` in
//! the element's shadow root; every element of one relay shares one store and one connection
//! ([`Shared`]), so ten panels on a status page cost one stream.
//!
//! What an element shows is read from its attributes by [`ElementSpec::parse`] (plain Rust,
//! tested), with the `/embed` route's vocabulary: `dashboard` (a starter's uid), `expr` or `def`
//! (a dashboard's JSON, as the Share dialog writes it), `panel` or `row`, `from`/`to`,
//! `var-<name>`, `theme`, `transparent`. A host page's own storage is never touched.

use std::cell::RefCell;
use std::collections::HashMap;

use leptos::prelude::*;
use lookout_tsdb::MatchOp;
use lookout_wire::MatcherSpec;
use wasm_bindgen::prelude::*;

use crate::app::{DEFAULT_RANGE_MS, MIN_STEP_MS, Page, open_stream, resolve_variables};
use crate::components::EmbedView;
use crate::connection::{ConnState, Connection};
use crate::data::PageData;
use crate::embed::{self, EmbedSpec};
use crate::model::Dashboard;
use crate::url_state::{Route, TimeSel, parse_time, route};

/// What one element asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementSpec {
    pub embed: EmbedSpec,
    pub route: Route,
    pub time: Option<TimeSel>,
    pub wanted: HashMap<String, Vec<String>>,
    pub token: Option<String>,
}

impl ElementSpec {
    /// Reads an element's attributes; a malformed one is an error naming it.
    pub fn parse(attrs: &[(String, String)]) -> Result<ElementSpec, String> {
        // The element says `dashboard=`, the URL routes say `d=`.
        let pairs: Vec<(&str, &str)> = attrs
            .iter()
            .map(|(k, v)| (if k == "dashboard" { "d" } else { k.as_str() }, v.as_str()))
            .collect();
        let embed = embed::parse(pairs.iter().copied())?;
        let get = |k: &str| pairs.iter().find(|p| p.0 == k).map(|p| p.1);
        let time = match get("from") {
            Some(from) => Some(parse_time(from, get("to")).ok_or_else(|| {
                format!(
                    "from={from:?} to={:?}: use now-<duration> (now-1h) or two epoch ms times",
                    get("to").unwrap_or("now")
                )
            })?),
            None => None,
        };
        Ok(ElementSpec {
            embed,
            route: route(pairs.iter().copied()),
            time,
            wanted: crate::variables::wanted_from_pairs(pairs.iter().copied()),
            token: get("token").filter(|t| !t.is_empty()).map(str::to_owned),
        })
    }

    /// The dashboard part the element shows from what travels with it: a starter, queries, or
    /// a whole dashboard in `def` (the host's storage is not the app's). Any other uid is asked
    /// of the relay (`app::from_relay`), which provisions dashboards with `--dashboards`.
    pub fn dashboard(&self) -> Result<Dashboard, String> {
        let whole = match (&self.embed.def, &self.route) {
            (Some(json), _) => Dashboard::from_json(json)
                .map_err(|e| format!("the dashboard in def= cannot be read: {e}"))?,
            (None, Route::Queries(exprs)) => crate::starters::from_queries(exprs),
            (None, Route::Dashboard(uid)) => crate::app::starter(uid).ok_or_else(|| {
                format!(
                    "dashboard={uid:?} is neither a starter nor one the relay provisions \
                     (--dashboards); or pass the dashboard's JSON in def= (the Share dialog \
                     writes it)"
                )
            })?,
            (None, Route::List) => return Err("name a dashboard, an expr or a def".into()),
        };
        embed::select(&whole, self.embed.what)
    }
}

/// The relay's stream URL from an element's `relay` attribute: an http(s) origin or URL (where
/// `embed.js` came from), or a ws(s) stream URL as it is.
pub fn stream_url(relay: &str) -> Result<String, String> {
    let relay = relay.trim().trim_end_matches('/');
    if relay.starts_with("ws://") || relay.starts_with("wss://") {
        return Ok(relay.to_owned());
    }
    let (scheme, rest) = if let Some(r) = relay.strip_prefix("https://") {
        ("wss", r)
    } else if let Some(r) = relay.strip_prefix("http://") {
        ("ws", r)
    } else {
        return Err(format!(
            "relay={relay:?}: give the relay's address, as http://host:port"
        ));
    };
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err(format!("relay={relay:?} names no host"));
    }
    Ok(format!("{scheme}://{host}/api/v1/stream"))
}

/// What the elements of one relay share.
#[derive(Clone, Copy)]
struct Shared {
    data: StoredValue<PageData, LocalStorage>,
    version: ReadSignal<u64>,
    state: ReadSignal<ConnState>,
    /// "Now" as the data knows it: bumped with each redraw.
    now: ReadSignal<i64>,
    conn: StoredValue<Option<Connection>, LocalStorage>,
}

thread_local! {
    /// One [`Shared`] per relay stream URL, for the page's life.
    static SHARED: RefCell<HashMap<String, Shared>> = RefCell::new(HashMap::new());
}

fn shared(url: &str, token: Option<String>) -> Shared {
    if let Some(s) = SHARED.with_borrow(|m| m.get(url).copied()) {
        return s;
    }
    // Owned by nothing that goes away: the store and connection outlive any one element.
    let owner = Owner::new();
    let s = owner.with(|| {
        let data = StoredValue::new_local(PageData::default());
        let (version, set_version) = signal(0u64);
        let (state, set_state) = signal(ConnState::Connecting);
        let (now, set_now) = signal(js_sys::Date::now() as i64);
        let conn = StoredValue::new_local(None::<Connection>);
        let up = vec![MatcherSpec::new("__name__", MatchOp::Equal, "up")];
        let c = open_stream(
            url.to_owned(),
            token,
            vec![up],
            data,
            (set_version, set_now, set_state),
        );
        conn.set_value(Some(c));
        Shared {
            data,
            version,
            state,
            now,
            conn,
        }
    });
    std::mem::forget(owner);
    SHARED.with_borrow_mut(|m| m.insert(url.to_owned(), s));
    s
}

/// One mounted element's view; dropping it (`free()` from JavaScript, when the element leaves
/// the page) unmounts the view and disposes of its reactive state, so a host that adds and
/// removes elements does not keep evaluating panels nobody sees. The shared store and
/// connection stay for the next element.
#[wasm_bindgen]
pub struct MountedElement {
    _view: Box<dyn std::any::Any>,
}

impl std::fmt::Debug for MountedElement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MountedElement").finish_non_exhaustive()
    }
}

/// Renders one `<lookout-panel>` into `mount` (a `<div>` in its shadow root). `attrs`: the
/// element's attributes as `[name, value]` pairs. Problems show inside the element (and
/// nothing is returned).
#[wasm_bindgen]
pub fn mount_element(
    mount: web_sys::HtmlElement,
    relay: String,
    attrs: js_sys::Array,
) -> Option<MountedElement> {
    console_error_panic_hook::set_once();
    let attrs: Vec<(String, String)> = attrs
        .iter()
        .filter_map(|a| {
            let a = js_sys::Array::from(&a);
            Some((a.get(0).as_string()?, a.get(1).as_string()?))
        })
        .collect();
    let setup = ElementSpec::parse(&attrs).and_then(|spec| {
        let url = stream_url(&relay)?;
        Ok((spec, url))
    });
    let (spec, url) = match setup {
        Ok(s) => s,
        Err(e) => {
            mount.set_text_content(Some(&format!("Lookout: {e}")));
            let _ = mount.set_attribute("data-state", "error");
            return None;
        }
    };
    if let Some(t) = &spec.embed.theme {
        let _ = mount.set_attribute("data-theme", t);
    }
    let one_panel = matches!(spec.embed.what, embed::EmbedWhat::Panel(_));
    let _ = mount.class_list().toggle_with_force("solo", one_panel);
    let shared = shared(&url, spec.token.clone());
    Some(MountedElement {
        _view: Box::new(leptos::mount::mount_to(mount, move || {
            element_view(spec, shared)
        })),
    })
}

fn element_view(spec: ElementSpec, shared: Shared) -> impl IntoView {
    provide_context(shared.conn);
    let loaded = spec.dashboard();
    let range_ms = match (spec.time, &loaded) {
        (Some(TimeSel::Relative(ms)), _) => ms,
        (_, Ok(d)) => match d
            .time
            .as_ref()
            .and_then(|t| parse_time(&t.from, Some(&t.to)))
        {
            Some(TimeSel::Relative(ms)) => ms,
            _ => DEFAULT_RANGE_MS,
        },
        _ => DEFAULT_RANGE_MS,
    };
    let zoom = RwSignal::new(match spec.time {
        Some(TimeSel::Absolute(a, b)) => Some((a, b)),
        _ => None,
    });
    let now = shared.now;
    let range = Signal::derive(move || {
        zoom.get()
            .unwrap_or_else(|| (now.get() - range_ms, now.get()))
    });
    // A uid that is no starter may be a dashboard the relay provisions: ask it, and say what
    // went wrong only once it has answered.
    let ask_relay = match (&loaded, &spec.embed.def, &spec.route) {
        (Err(_), None, Route::Dashboard(uid)) => Some(uid.clone()),
        _ => None,
    };
    let load_error = RwSignal::new(
        loaded
            .as_ref()
            .err()
            .cloned()
            .filter(|_| ask_relay.is_none()),
    );
    let doc = RwSignal::new(loaded.ok());
    let wanted = RwSignal::new(spec.wanted);
    let page = Page {
        data: shared.data,
        version: shared.version,
        conn: shared.conn,
        doc,
        range,
        resolved: resolve_variables(shared.data, shared.version, doc, range, wanted),
        wanted,
        hover: RwSignal::new(None),
        zoom,
        edit: RwSignal::new(false),
        storage_error: RwSignal::new(None),
        read_only: true,
    };
    if let Some(d) = doc.get_untracked() {
        page.subscribe_new(&d);
    }
    if let Some(uid) = ask_relay {
        let what = spec.embed.what;
        leptos::task::spawn_local(async move {
            let found = crate::app::from_relay(page.conn, &uid)
                .await
                .and_then(|d| embed::select(&d, what));
            match found {
                Ok(d) => {
                    page.subscribe_new(&d);
                    doc.set(Some(d));
                }
                // The relay's answer says it all: not provisioned (and which are), or not
                // the token's to read.
                Err(relay) => load_error.set(Some(format!("dashboard={uid:?}: {relay}"))),
            }
        });
    }
    let newest = Signal::derive(move || {
        shared.version.track();
        shared.data.with_value(|d| d.newest)
    });
    view! {
        <EmbedView page=page state=shared.state newest=newest load_error=load_error
            loaded=Signal::derive(move || doc.with(Option::is_some)) min_step=MIN_STEP_MS />
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[wasm_bindgen_test]
    fn an_element_names_a_starter_panel_a_range_and_variables() {
        let spec = ElementSpec::parse(&attrs(&[
            ("dashboard", "services-overview"),
            ("panel", "3"),
            ("from", "now-1h"),
            ("theme", "dark"),
            ("var-job", "payments"),
            ("token", "s3cret"),
        ]))
        .unwrap();
        assert_eq!(spec.route, Route::Dashboard("services-overview".into()));
        assert_eq!(spec.embed.what, embed::EmbedWhat::Panel(3));
        assert_eq!(spec.time, Some(TimeSel::Relative(3_600_000)));
        assert_eq!(spec.embed.theme.as_deref(), Some("dark"));
        assert_eq!(spec.wanted.get("job"), Some(&vec!["payments".to_owned()]));
        assert_eq!(spec.token.as_deref(), Some("s3cret"));
        let d = spec.dashboard().unwrap();
        assert_eq!(d.panels.len(), 1);
        assert_eq!(d.panels[0].id, 3);
    }

    #[wasm_bindgen_test]
    fn what_an_element_cannot_show_is_an_error_naming_it() {
        let e = ElementSpec::parse(&attrs(&[("dashboard", "my-board")]))
            .unwrap()
            .dashboard()
            .unwrap_err();
        assert!(e.contains("my-board") && e.contains("def="), "{e}");
        let e = ElementSpec::parse(&attrs(&[("expr", "up"), ("panel", "x")])).unwrap_err();
        assert!(e.contains("panel=\"x\""), "{e}");
        let e = ElementSpec::parse(&attrs(&[("expr", "up"), ("from", "yesterday")])).unwrap_err();
        assert!(e.contains("yesterday"), "{e}");
        let e = ElementSpec::parse(&attrs(&[("def", "{nope")]))
            .unwrap()
            .dashboard()
            .unwrap_err();
        assert!(e.contains("def="), "{e}");
        let d = ElementSpec::parse(&attrs(&[("expr", "rate(x[5m])")]))
            .unwrap()
            .dashboard()
            .unwrap();
        // The targets panel, then one per query.
        assert_eq!(
            d.all_panels()
                .map(|p| p.expr().to_owned())
                .collect::<Vec<_>>(),
            ["", "rate(x[5m])"]
        );
    }

    #[wasm_bindgen_test]
    fn the_relay_attribute_becomes_its_stream_url() {
        assert_eq!(
            stream_url("http://127.0.0.1:8420").unwrap(),
            "ws://127.0.0.1:8420/api/v1/stream"
        );
        assert_eq!(
            stream_url("https://mon.example.com/").unwrap(),
            "wss://mon.example.com/api/v1/stream"
        );
        assert_eq!(
            stream_url("https://mon.example.com/embed.js").unwrap(),
            "wss://mon.example.com/api/v1/stream"
        );
        assert_eq!(
            stream_url("ws://r:1/api/v1/stream").unwrap(),
            "ws://r:1/api/v1/stream"
        );
        assert!(stream_url("mon.example.com").is_err());
        assert!(stream_url("http://").is_err());
    }
}
