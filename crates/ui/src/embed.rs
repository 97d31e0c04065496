//! `/embed`: one panel, one row or a whole dashboard with no chrome, for an iframe on another
//! site. What to show, the theme and the background come from the URL; the page is read-only
//! and tells its host how tall its content is (`postMessage`), so the host can size the frame.
//!
//! The dashboard is named by `d=<uid>` (a starter, or one stored in this browser), carried whole
//! in `def=<json>` (what the share dialog writes: an iframe on another site has storage of its
//! own, so a dashboard built in the app must travel in the URL), or made of `expr=` queries.

use crate::model::{Dashboard, GridPos, Panel};

/// What an `/embed` URL asks for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EmbedSpec {
    pub what: EmbedWhat,
    /// `theme=light|dark`; otherwise the visitor's system theme.
    pub theme: Option<String>,
    /// `transparent`: no page or panel background, for hosts with their own.
    pub transparent: bool,
    /// `def=`: the dashboard's JSON.
    pub def: Option<String>,
}

/// Which part of the dashboard to show.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum EmbedWhat {
    #[default]
    Dashboard,
    /// `panel=<id>`: one panel, filling the frame.
    Panel(u32),
    /// `row=<id>`: the panels of one row, laid out as in the dashboard.
    Row(u32),
}

/// Whether the page's path is the embed route (`/embed`, also under a prefix the relay is
/// served at, e.g. `/lookout/embed`).
pub fn is_embed_path(path: &str) -> bool {
    let p = path.trim_end_matches('/');
    p == "/embed" || p.ends_with("/embed")
}

/// Reads the embed parameters; a malformed `panel` or `row` is an error naming it.
pub fn parse<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Result<EmbedSpec, String> {
    let mut spec = EmbedSpec::default();
    let id = |k: &str, v: &str| {
        v.trim().parse::<u32>().map_err(|_| {
            format!("{k}={v:?} is not a panel id (a number, as in the dashboard's JSON)")
        })
    };
    for (k, v) in pairs {
        match k {
            "panel" | "panelId" | "viewPanel" => spec.what = EmbedWhat::Panel(id(k, v)?),
            "row" => spec.what = EmbedWhat::Row(id(k, v)?),
            "theme" => match v {
                "light" | "dark" => spec.theme = Some(v.to_owned()),
                "" | "auto" | "system" => spec.theme = None,
                other => return Err(format!("theme={other:?}: use light, dark or auto")),
            },
            "transparent" | "bg" => {
                spec.transparent = !matches!(v, "0" | "false" | "no" | "opaque");
            }
            "def" if !v.trim().is_empty() => spec.def = Some(v.to_owned()),
            _ => {}
        }
    }
    Ok(spec)
}

/// The part of `d` that `what` names, laid out from the top: one panel spans the width and its
/// height is the frame's; a row keeps its panels' places. Variables and time stay.
pub fn select(d: &Dashboard, what: EmbedWhat) -> Result<Dashboard, String> {
    let mut out = d.clone();
    match what {
        EmbedWhat::Dashboard => {}
        EmbedWhat::Panel(id) => {
            let p = d
                .all_panels()
                .find(|p| p.id == id && !p.is_row())
                .ok_or_else(|| format!("dashboard {:?} has no panel {id}", d.title))?;
            let mut p = p.clone();
            p.grid_pos = GridPos::new(0, 0, 24, p.grid_pos.h.max(1));
            out.panels = vec![p];
        }
        EmbedWhat::Row(id) => {
            let at = d
                .panels
                .iter()
                .position(|p| p.id == id && p.is_row())
                .ok_or_else(|| format!("dashboard {:?} has no row {id}", d.title))?;
            let row = &d.panels[at];
            let inner: Vec<Panel> = match row.panels.as_ref().filter(|v| !v.is_empty()) {
                // Collapsed: the row holds its panels.
                Some(v) if row.collapsed == Some(true) => v.clone(),
                _ => d.panels[at + 1..]
                    .iter()
                    .take_while(|p| !p.is_row())
                    .cloned()
                    .collect(),
            };
            let top = inner.iter().map(|p| p.grid_pos.y).min().unwrap_or(0);
            out.panels = inner
                .into_iter()
                .map(|mut p| {
                    p.grid_pos.y -= top;
                    p
                })
                .collect();
        }
    }
    Ok(out)
}

/// The dashboard to share: `d` with only the panel `id` (or everything, for `None`), for a
/// `def=` parameter. Rows of a whole dashboard are kept.
pub fn shared_def(d: &Dashboard, id: Option<u32>) -> String {
    let mut out = d.clone();
    if let Some(id) = id
        && let Some(p) = d.all_panels().find(|p| p.id == id)
    {
        out.panels = vec![p.clone()];
    }
    out.to_value().to_string()
}

/// The parameters of an embed of `what`, with the time range and variable selections given,
/// in the order the URL and the element snippet write them.
fn embed_params(
    def: &str,
    what: EmbedWhat,
    time: (&str, &str),
    vars: &[(String, Vec<String>)],
    theme: Option<&str>,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    match what {
        EmbedWhat::Dashboard => {}
        EmbedWhat::Panel(id) => out.push(("panel".to_owned(), id.to_string())),
        EmbedWhat::Row(id) => out.push(("row".to_owned(), id.to_string())),
    }
    out.push(("from".into(), time.0.to_owned()));
    out.push(("to".into(), time.1.to_owned()));
    for (name, values) in vars {
        for v in values {
            out.push((format!("var-{name}"), v.clone()));
        }
    }
    if let Some(t) = theme {
        out.push(("theme".into(), t.to_owned()));
    }
    out.push(("def".into(), def.to_owned()));
    out
}

/// The URL query of an embed of `what`, with the time range and variable selections given.
pub fn embed_query(
    def: &str,
    what: EmbedWhat,
    time: (&str, &str),
    vars: &[(String, Vec<String>)],
    theme: Option<&str>,
) -> String {
    // The browser's own form encoding: what `URLSearchParams` on the embed page reads back.
    let Ok(q) = web_sys::UrlSearchParams::new() else {
        return String::new();
    };
    for (k, v) in embed_params(def, what, time, vars, theme) {
        q.append(&k, &v);
    }
    q.to_string().into()
}

/// The snippets the share dialog prints for an embed URL.
pub fn iframe_snippet(url: &str, title: &str, height: u32) -> String {
    format!(
        "<iframe src=\"{}\" title=\"{}\" width=\"100%\" height=\"{height}\" style=\"border:0\" loading=\"lazy\"></iframe>",
        attr(url),
        attr(title)
    )
}

/// The `<lookout-panel>` snippet for a host page: `embed.js` from the relay at `origin`, and
/// one element showing `what` of the dashboard `def` (JSON) with the time range, variables and
/// theme given. Attributes in a fixed order, each value escaped.
pub fn element_snippet(
    origin: &str,
    def: &str,
    what: EmbedWhat,
    time: (&str, &str),
    vars: &[(String, Vec<String>)],
    theme: Option<&str>,
) -> String {
    let mut attrs = String::new();
    let mut seen = std::collections::HashSet::new();
    let relay = [("relay".to_owned(), origin.to_owned())];
    // An attribute holds one value: a multi-value variable keeps its first (the element
    // resolves "All" itself).
    for (k, v) in relay
        .into_iter()
        .chain(embed_params(def, what, time, vars, theme))
    {
        if seen.insert(k.clone()) {
            attrs.push_str(&format!(" {k}=\"{}\"", attr(&v)));
        }
    }
    format!(
        "<script type=\"module\" src=\"{}/embed.js\"></script>\n<lookout-panel{attrs}></lookout-panel>",
        attr(origin)
    )
}

/// Escapes text for a double-quoted HTML attribute.
fn attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn dash() -> Dashboard {
        Dashboard::from_json(
            r#"{"title":"D","panels":[
                {"id":1,"type":"stat","title":"top","gridPos":{"x":0,"y":0,"w":6,"h":4}},
                {"id":2,"type":"row","title":"open row","gridPos":{"x":0,"y":4,"w":24,"h":1}},
                {"id":3,"type":"timeseries","title":"a","gridPos":{"x":0,"y":5,"w":12,"h":8}},
                {"id":4,"type":"timeseries","title":"b","gridPos":{"x":12,"y":5,"w":12,"h":8}},
                {"id":5,"type":"row","title":"closed","collapsed":true,"gridPos":{"x":0,"y":13,"w":24,"h":1},
                 "panels":[{"id":6,"type":"stat","title":"hidden","gridPos":{"x":3,"y":14,"w":6,"h":5}}]}
            ]}"#,
        )
        .unwrap()
    }

    #[wasm_bindgen_test]
    fn the_element_snippet_quotes_every_attribute() {
        let vars = vec![("job".to_owned(), vec!["a\"b".to_owned(), "c".to_owned()])];
        let s = element_snippet(
            "http://r:8420",
            r#"{"title":"<x>"}"#,
            EmbedWhat::Panel(3),
            ("now-1h", "now"),
            &vars,
            Some("dark"),
        );
        assert_eq!(
            s,
            "<script type=\"module\" src=\"http://r:8420/embed.js\"></script>\n<lookout-panel relay=\"http://r:8420\" panel=\"3\" from=\"now-1h\" to=\"now\" var-job=\"a&quot;b\" theme=\"dark\" def=\"{&quot;title&quot;:&quot;&lt;x&gt;&quot;}\"></lookout-panel>"
        );
    }

    #[wasm_bindgen_test]
    fn the_embed_route_is_found_under_any_prefix() {
        assert!(is_embed_path("/embed"));
        assert!(is_embed_path("/embed/"));
        assert!(is_embed_path("/lookout/embed"));
        assert!(!is_embed_path("/"));
        assert!(!is_embed_path("/embedded-notes"));
    }

    #[wasm_bindgen_test]
    fn parameters_are_read_and_bad_ones_named() {
        let s =
            parse([("panel", "3"), ("theme", "light"), ("transparent", "")].into_iter()).unwrap();
        assert_eq!(s.what, EmbedWhat::Panel(3));
        assert_eq!(s.theme.as_deref(), Some("light"));
        assert!(s.transparent);
        let e = parse([("panel", "x")].into_iter()).unwrap_err();
        assert!(e.contains("panel=\"x\""), "{e}");
        let e = parse([("theme", "blue")].into_iter()).unwrap_err();
        assert!(e.contains("blue"), "{e}");
    }

    #[wasm_bindgen_test]
    fn one_panel_fills_the_width_and_keeps_its_height_even_inside_a_collapsed_row() {
        let d = select(&dash(), EmbedWhat::Panel(6)).unwrap();
        assert_eq!(d.panels.len(), 1);
        assert_eq!(d.panels[0].title, "hidden");
        assert_eq!(
            (
                d.panels[0].grid_pos.x,
                d.panels[0].grid_pos.y,
                d.panels[0].grid_pos.w,
                d.panels[0].grid_pos.h
            ),
            (0, 0, 24, 5)
        );
        assert!(
            select(&dash(), EmbedWhat::Panel(2))
                .unwrap_err()
                .contains("no panel 2")
        );
        assert!(select(&dash(), EmbedWhat::Panel(99)).is_err());
    }

    #[wasm_bindgen_test]
    fn a_row_shows_its_panels_from_the_top() {
        let d = select(&dash(), EmbedWhat::Row(2)).unwrap();
        let ids: Vec<(u32, u32)> = d.panels.iter().map(|p| (p.id, p.grid_pos.y)).collect();
        assert_eq!(ids, vec![(3, 0), (4, 0)]);
        let d = select(&dash(), EmbedWhat::Row(5)).unwrap();
        let ids: Vec<(u32, u32)> = d.panels.iter().map(|p| (p.id, p.grid_pos.y)).collect();
        assert_eq!(ids, vec![(6, 0)]);
        assert!(
            select(&dash(), EmbedWhat::Row(3))
                .unwrap_err()
                .contains("no row 3")
        );
    }

    #[wasm_bindgen_test]
    fn a_shared_panel_travels_whole_and_comes_back_the_same() {
        let def = shared_def(&dash(), Some(4));
        let q = embed_query(
            &def,
            EmbedWhat::Panel(4),
            ("now-1h", "now"),
            &[("job".into(), vec!["api & web".into()])],
            Some("dark"),
        );
        let params = web_sys::UrlSearchParams::new_with_str(&q).unwrap();
        assert_eq!(params.get("panel").as_deref(), Some("4"));
        assert_eq!(params.get("from").as_deref(), Some("now-1h"));
        assert_eq!(params.get("var-job").as_deref(), Some("api & web"));
        let back = Dashboard::from_json(&params.get("def").unwrap()).unwrap();
        assert_eq!(back.panels.len(), 1);
        assert_eq!(back.panels[0].title, "b");
        assert_eq!(
            select(&back, EmbedWhat::Panel(4)).unwrap().panels[0].title,
            "b"
        );
    }

    #[wasm_bindgen_test]
    fn snippets_escape_what_they_quote() {
        let s = iframe_snippet("https://r/embed?a=1&b=\"x\"", "<Title>", 300);
        assert!(
            s.contains("src=\"https://r/embed?a=1&amp;b=&quot;x&quot;\""),
            "{s}"
        );
        assert!(s.contains("title=\"&lt;Title&gt;\""), "{s}");
    }
}
