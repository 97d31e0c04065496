//! What the page's URL says: which view (`?dashboards`, `?d=<uid>`, `?expr=`), the time range
//! (`from`/`to` as Grafana writes them: `now-1h`/`now`, or epoch ms) and variables
//! (`var-<name>=<value>`, repeated for several values) — so a copied link reproduces the view.

use crate::variables::parse_duration;

/// The time range in a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSel {
    /// The last `ms`, ending now (live).
    Relative(i64),
    /// A fixed range, epoch ms.
    Absolute(i64, i64),
}

/// Parses `from`/`to`: `now-<duration>` to `now` (or no `to`), or two epoch ms values.
pub fn parse_time(from: &str, to: Option<&str>) -> Option<TimeSel> {
    let to = to.unwrap_or("now");
    if let Some(d) = from.strip_prefix("now-") {
        return (to == "now")
            .then(|| parse_duration(d))
            .flatten()
            .filter(|ms| *ms > 0)
            .map(TimeSel::Relative);
    }
    let (a, b) = (from.parse::<i64>().ok()?, to.parse::<i64>().ok()?);
    (b > a).then_some(TimeSel::Absolute(a, b))
}

/// `from`/`to` for a URL.
pub fn time_params(t: TimeSel) -> (String, String) {
    match t {
        TimeSel::Relative(ms) => (
            format!("now-{}", crate::variables::prom_duration(ms)),
            "now".into(),
        ),
        TimeSel::Absolute(a, b) => (a.to_string(), b.to_string()),
    }
}

/// The page to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The list of dashboards.
    List,
    /// A dashboard by uid (stored, or a starter).
    Dashboard(String),
    /// Ad-hoc queries (`?expr=`, repeatable).
    Queries(Vec<String>),
}

/// The route of a query string's pairs; no parameter at all opens the services overview.
pub fn route<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> Route {
    let mut exprs = Vec::new();
    let mut uid = None;
    for (k, v) in pairs {
        match k {
            "dashboards" => return Route::List,
            "d" if !v.is_empty() => uid = Some(v.to_owned()),
            "expr" if !v.trim().is_empty() => exprs.push(v.to_owned()),
            _ => {}
        }
    }
    // The query bar appends `expr` to whatever the URL holds: queries win over `d`.
    match uid {
        _ if !exprs.is_empty() => Route::Queries(exprs),
        Some(u) => Route::Dashboard(u),
        None => Route::Dashboard(crate::starters::OVERVIEW_UID.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn time_ranges_as_grafana_writes_them() {
        assert_eq!(
            parse_time("now-1h", Some("now")),
            Some(TimeSel::Relative(3_600_000))
        );
        assert_eq!(
            parse_time("now-90m", None),
            Some(TimeSel::Relative(5_400_000))
        );
        assert_eq!(
            parse_time("1000", Some("5000")),
            Some(TimeSel::Absolute(1000, 5000))
        );
        assert_eq!(parse_time("5000", Some("1000")), None);
        assert_eq!(parse_time("now-1h", Some("now-5m")), None);
        assert_eq!(parse_time("yesterday", None), None);
        assert_eq!(
            time_params(TimeSel::Relative(5_400_000)),
            ("now-1h30m".into(), "now".into())
        );
    }

    #[wasm_bindgen_test]
    fn routes() {
        assert_eq!(route([("dashboards", "")].into_iter()), Route::List);
        assert_eq!(
            route([("d", "abc"), ("from", "now-1h")].into_iter()),
            Route::Dashboard("abc".into())
        );
        assert_eq!(
            route([("expr", "up"), ("expr", " ")].into_iter()),
            Route::Queries(vec!["up".into()])
        );
        assert_eq!(
            route(std::iter::empty()),
            Route::Dashboard("services-overview".into())
        );
    }
}
