//! Dashboard variables: resolving each variable's choices (`label_values`, `query_result`,
//! custom, interval, constant), keeping a selection, and interpolating `$var`, `${var}`,
//! `${var:format}`, `[[var]]` and Grafana's built-ins into queries and titles.
//!
//! Values come from a [`LabelSource`]: the page's own store today (`impl for Store`); the relay's
//! label name/value requests can implement the same trait.

use lookout_promql::sort::SortDyn;
use std::collections::HashMap;

use lookout_promql::{Engine, Expr, Value};
use lookout_tsdb::{Matcher, Store};

use crate::model::Variable;

/// Where variable choices come from.
pub trait LabelSource {
    /// Values of `label` over series matching `selector` (none: every series) with samples in
    /// `[start, end]`, sorted.
    fn label_values(&self, label: &str, selector: &[Matcher], start: i64, end: i64) -> Vec<String>;
    /// Every label name the source knows, sorted.
    fn label_names(&self) -> Vec<String>;
    /// An instant query at `at`, one line per series as Grafana's `query_result` shows it:
    /// `name{a="b"} 42 1700000000000`.
    fn query_result(&self, expr: &Expr, at: i64) -> Result<Vec<String>, String>;
}

impl LabelSource for Store {
    fn label_values(&self, label: &str, selector: &[Matcher], start: i64, end: i64) -> Vec<String> {
        Store::label_values(self, label, selector, start, end)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    fn label_names(&self) -> Vec<String> {
        Store::label_names(self)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    fn query_result(&self, expr: &Expr, at: i64) -> Result<Vec<String>, String> {
        let res = Engine::default()
            .instant(self, expr, at)
            .map_err(|e| e.to_string())?;
        Ok(match res.value {
            Value::Vector(v) => v
                .into_iter()
                .map(|s| format!("{} {} {}", s.labels, s.v, s.t))
                .collect(),
            Value::Scalar { t, v } => vec![format!("{{}} {v} {t}")],
            Value::String { v, .. } => vec![v],
            Value::Matrix(m) => m.into_iter().map(|s| s.labels.to_string()).collect(),
        })
    }
}

/// Grafana's value for "All" when the variable names no `allValue`.
pub const ALL: &str = "$__all";

/// A variable's choices and what is selected.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resolved {
    pub name: String,
    pub label: String,
    pub kind: String,
    pub options: Vec<String>,
    /// The selection: option values, or [`ALL`].
    pub selected: Vec<String>,
    pub multi: bool,
    pub include_all: bool,
    pub all_value: Option<String>,
    /// Why the choices could not be resolved (a bad query), shown beside the picker.
    pub error: Option<String>,
    /// Hidden in the variable bar (`hide: 2`, and constants).
    pub hidden: bool,
}

impl Resolved {
    /// The values the selection stands for: every option for "All".
    pub fn values(&self) -> Vec<String> {
        if self.selected.iter().any(|s| s == ALL) {
            return self.options.clone();
        }
        self.selected.clone()
    }

    fn is_all(&self) -> bool {
        self.selected.iter().any(|s| s == ALL)
    }
}

/// The time and size context of one interpolation: Grafana's `$__interval`, `$__range` and
/// friends derive from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Context {
    pub start: i64,
    pub end: i64,
    /// The query step, ms (`$__interval`).
    pub interval_ms: i64,
    /// The scrape interval the page assumes for `$__rate_interval` (Grafana's default: 15s).
    pub scrape_ms: i64,
}

impl Context {
    /// The step for a panel about `width_px` wide: about one point per 2 px, never finer than
    /// the scrape interval (the same rule as the panels' range queries).
    pub fn for_width(start: i64, end: i64, width_px: u32, scrape_ms: i64) -> Context {
        let interval_ms = ((end - start) / i64::from(width_px.max(2) / 2))
            .max(scrape_ms)
            .max(1);
        Context {
            start,
            end,
            interval_ms: round_interval(interval_ms),
            scrape_ms,
        }
    }
}

/// Rounds a step to a tidy one, as Grafana does (`37s` -> `30s`), so queries change rarely.
fn round_interval(ms: i64) -> i64 {
    const STEPS: [i64; 17] = [
        1_000, 2_000, 5_000, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 300_000, 600_000,
        900_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000, 21_600_000,
    ];
    STEPS
        .iter()
        .rev()
        .find(|s| **s <= ms)
        .copied()
        .unwrap_or(ms)
}

/// A duration as PromQL writes it: `90s` -> `1m30s`, `0` -> `0s`.
pub fn prom_duration(ms: i64) -> String {
    if ms % 1000 != 0 {
        return format!("{ms}ms");
    }
    let mut s = ms / 1000;
    let mut out = String::new();
    for (unit, len) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if s >= len {
            out.push_str(&format!("{}{unit}", s / len));
            s %= len;
        }
    }
    if out.is_empty() { "0s".into() } else { out }
}

/// Parses Grafana/PromQL durations: `30s`, `1m30s`, `1h`, `7d`, `1w`, `250ms`.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let (mut total, mut num) = (0i64, String::new());
    let mut chars = s.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: i64 = num.parse().ok()?;
        num.clear();
        let mult = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1
            }
            's' => 1000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 604_800_000,
            'y' => 31_536_000_000,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(mult)?)?;
        any = true;
    }
    (num.is_empty() && any).then_some(total)
}

/// Escapes regex metacharacters the way Grafana's Prometheus data source does for multi-value
/// variables, so `a.b` matches only `a.b`. The value lands inside a PromQL double-quoted string,
/// so the regex's backslashes are doubled (`\.` alone is an unknown escape there) and a `"` is
/// escaped: a label value such as `"><b>` stays one value instead of ending the string.
pub fn regex_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            // The regex `\\` (a literal backslash), written in a string.
            '\\' => out.push_str("\\\\\\\\"),
            '"' => out.push_str("\\\""),
            c if "^$*+?.()|{}[]".contains(c) => {
                out.push_str("\\\\");
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A value for a PromQL double-quoted string: `\` and `"` escaped, nothing else changed.
pub fn string_escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Resolved variables by name, ready to interpolate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scope {
    vars: HashMap<String, Resolved>,
}

impl Scope {
    pub fn new(resolved: &[Resolved]) -> Scope {
        Scope {
            vars: resolved
                .iter()
                .map(|r| (r.name.clone(), r.clone()))
                .collect(),
        }
    }

    fn insert(&mut self, r: Resolved) {
        self.vars.insert(r.name.clone(), r);
    }

    /// The text of a variable in a query: one value as is; several (or "All") as a regex
    /// alternation `(a|b)` of escaped values, or `allValue` verbatim for "All".
    fn format(&self, name: &str, fmt: Option<&str>, ctx: &Context) -> Option<String> {
        let range = ctx.end - ctx.start;
        let builtin = match name {
            "__interval" => Some(prom_duration(ctx.interval_ms)),
            "__interval_ms" => Some(ctx.interval_ms.to_string()),
            // Grafana: max($__interval + scrape interval, 4 * scrape interval).
            "__rate_interval" => Some(prom_duration(
                (ctx.interval_ms + ctx.scrape_ms).max(4 * ctx.scrape_ms),
            )),
            "__range" => Some(prom_duration(range / 1000 * 1000)),
            "__range_s" => Some((range / 1000).to_string()),
            "__range_ms" => Some(range.to_string()),
            _ => None,
        };
        if builtin.is_some() {
            return builtin;
        }
        let var = self.vars.get(name)?;
        if var.is_all()
            && let Some(all) = &var.all_value
            && matches!(fmt, None | Some("regex" | "raw"))
        {
            return Some(all.clone());
        }
        let values = var.values();
        if values.is_empty() {
            return Some(String::new());
        }
        let escape = var.multi || var.include_all;
        Some(match fmt {
            None if !escape || values.len() == 1 && !var.is_all() => {
                if escape {
                    regex_escape(&values[0])
                } else {
                    values
                        .iter()
                        .map(|v| string_escape(v))
                        .collect::<Vec<_>>()
                        .join(",")
                }
            }
            None | Some("regex") => {
                let parts: Vec<String> = values.iter().map(|v| regex_escape(v)).collect();
                if parts.len() == 1 {
                    parts[0].clone()
                } else {
                    format!("({})", parts.join("|"))
                }
            }
            Some("pipe") => values.join("|"),
            Some("csv" | "raw" | "text") => values.join(","),
            Some("glob") if values.len() > 1 => format!("{{{}}}", values.join(",")),
            Some("json") => serde_json::Value::from(values.to_vec()).to_string(),
            Some("doublequote") => values
                .iter()
                .map(|v| format!("\"{v}\""))
                .collect::<Vec<_>>()
                .join(","),
            Some("singlequote") => values
                .iter()
                .map(|v| format!("'{v}'"))
                .collect::<Vec<_>>()
                .join(","),
            Some("queryparam") => values
                .iter()
                .map(|v| format!("var-{name}={v}"))
                .collect::<Vec<_>>()
                .join("&"),
            Some(_) => values.join(","),
        })
    }

    /// Replaces `$var`, `${var}`, `${var:fmt}`, `[[var]]` and `[[var:fmt]]`; unknown names are
    /// left as written, so the parser points at them.
    pub fn interpolate(&self, text: &str, ctx: &Context) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find(['$', '[']) {
            out.push_str(&rest[..i]);
            let at = &rest[i..];
            let (name, fmt, len) = if let Some(inner) = at.strip_prefix("${") {
                match inner.find('}') {
                    Some(j) => {
                        let (n, f) = split_fmt(&inner[..j]);
                        (n, f, j + 3)
                    }
                    None => ("", None, 0),
                }
            } else if let Some(inner) = at.strip_prefix("[[") {
                match inner.find("]]") {
                    Some(j) => {
                        let (n, f) = split_fmt(&inner[..j]);
                        (n, f, j + 4)
                    }
                    None => ("", None, 0),
                }
            } else if let Some(inner) = at.strip_prefix('$') {
                let n = inner
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(inner.len());
                (&inner[..n], None, n + 1)
            } else {
                ("", None, 0)
            };
            match (!name.is_empty())
                .then(|| self.format(name, fmt, ctx))
                .flatten()
            {
                Some(v) => {
                    out.push_str(&v);
                    rest = &at[len..];
                }
                None => {
                    out.push_str(&at[..1]);
                    rest = &at[1..];
                }
            }
        }
        out.push_str(rest);
        out
    }
}

pub use lookout_promql::template::mark_variables;

fn split_fmt(s: &str) -> (&str, Option<&str>) {
    match s.split_once(':') {
        Some((n, f)) => (n.trim(), Some(f.trim())),
        None => (s.trim(), None),
    }
}

/// A variable query, parsed.
#[derive(Debug, Clone, PartialEq)]
enum VarQuery {
    LabelValues {
        selector: Option<String>,
        label: String,
    },
    LabelNames,
    Metrics(String),
    QueryResult(String),
}

fn parse_var_query(q: &str) -> Result<VarQuery, String> {
    let q = q.trim();
    let call = |name: &str| -> Option<&str> {
        q.strip_prefix(name)?
            .trim_start()
            .strip_prefix('(')?
            .strip_suffix(')')
    };
    if let Some(args) = call("label_values") {
        // The label is after the last comma: a selector may contain commas of its own.
        return Ok(match args.rfind(',') {
            Some(i) if !args[i..].contains(['"', '}']) => VarQuery::LabelValues {
                selector: Some(args[..i].trim().to_owned()),
                label: args[i + 1..].trim().to_owned(),
            },
            _ => VarQuery::LabelValues {
                selector: None,
                label: args.trim().to_owned(),
            },
        });
    }
    if call("label_names").is_some() {
        return Ok(VarQuery::LabelNames);
    }
    if let Some(args) = call("metrics") {
        return Ok(VarQuery::Metrics(args.trim().to_owned()));
    }
    if let Some(args) = call("query_result") {
        return Ok(VarQuery::QueryResult(args.trim().to_owned()));
    }
    Err(format!(
        "unsupported variable query {q:?}: use label_values(label), label_values(selector, label), label_names(), metrics(regex) or query_result(expr)"
    ))
}

fn selector_matchers(text: &str) -> Result<Vec<Matcher>, String> {
    match lookout_promql::parse(text).map_err(|e| e.to_string())? {
        Expr::Vector(v) => Ok(v.matchers),
        _ => Err(format!("{text:?} is not a series selector")),
    }
}

/// Splits Grafana's custom values `a, b, c` (and `text : value` pairs, keeping the value).
fn custom_values(q: &str) -> Vec<String> {
    q.split(',')
        .map(|p| match p.split_once(" : ") {
            Some((_, v)) => v.trim().to_owned(),
            None => p.trim().to_owned(),
        })
        .filter(|v| !v.is_empty())
        .collect()
}

/// Resolves every variable in order: each one's query is interpolated with the variables
/// before it, so a chained variable follows its upstream. A selection that is still among the
/// choices is kept (`wanted` first: the URL's `var-` values, else the saved `current`);
/// otherwise the first choice (or "All" where offered) is selected.
pub fn resolve(
    vars: &[Variable],
    wanted: &HashMap<String, Vec<String>>,
    source: &dyn LabelSource,
    ctx: &Context,
) -> Vec<Resolved> {
    let mut scope = Scope::default();
    let mut out = Vec::with_capacity(vars.len());
    for v in vars {
        let mut r = Resolved {
            name: v.name.clone(),
            label: v
                .label
                .clone()
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| v.name.clone()),
            kind: v.kind.clone(),
            multi: v.multi == Some(true),
            include_all: v.include_all == Some(true),
            all_value: v.all_value.clone().filter(|a| !a.is_empty()),
            hidden: v.kind == "constant" || v.extra.get("hide").and_then(|h| h.as_u64()) == Some(2),
            ..Resolved::default()
        };
        let query = scope.interpolate(v.query_text(), ctx);
        let options: Result<Vec<String>, String> = match v.kind.as_str() {
            "query" => parse_var_query(&query).and_then(|q| match q {
                VarQuery::LabelValues { selector, label } => {
                    let m = match selector {
                        Some(s) => selector_matchers(&s)?,
                        None => Vec::new(),
                    };
                    Ok(source.label_values(&label, &m, ctx.start, ctx.end))
                }
                VarQuery::LabelNames => Ok(source.label_names()),
                VarQuery::Metrics(re) => {
                    let m = Matcher::new(lookout_tsdb::MatchOp::RegexMatch, "__name__", &re)
                        .map_err(|e| e.to_string())?;
                    Ok(source.label_values("__name__", &[m], ctx.start, ctx.end))
                }
                VarQuery::QueryResult(e) => {
                    let expr = lookout_promql::parse(&e).map_err(|e| e.to_string())?;
                    source.query_result(&expr, ctx.end)
                }
            }),
            "custom" | "interval" => Ok(custom_values(&query)),
            "constant" | "textbox" => Ok(vec![query.clone()]),
            other => Err(format!("variables of type {other:?} are not supported")),
        };
        match options.and_then(|o| apply_regex(o, v.regex.as_deref())) {
            Ok(mut o) => {
                sort_options(
                    &mut o,
                    v.extra.get("sort").and_then(|s| s.as_u64()).unwrap_or(0),
                );
                r.options = o;
            }
            Err(e) => r.error = Some(e),
        }
        let keep = |sel: &[String]| -> Vec<String> {
            sel.iter()
                .filter(|s| {
                    *s == ALL && r.include_all
                        || r.options.contains(s)
                        || matches!(v.kind.as_str(), "textbox" | "constant") && !s.is_empty()
                })
                .take(if r.multi { usize::MAX } else { 1 })
                .cloned()
                .collect()
        };
        let saved = v.current_values();
        let saved: Vec<String> = saved
            .into_iter()
            .map(|s| {
                if s == "$__all" || s == "All" {
                    ALL.to_owned()
                } else {
                    s
                }
            })
            .collect();
        let mut sel = wanted.get(&v.name).map(|w| keep(w)).unwrap_or_default();
        if sel.is_empty() {
            sel = keep(&saved);
        }
        if sel.is_empty() {
            sel = if r.include_all {
                vec![ALL.to_owned()]
            } else {
                r.options.first().cloned().into_iter().collect()
            };
        }
        r.selected = sel;
        scope.insert(r.clone());
        out.push(r);
    }
    out
}

/// Grafana's `sort`: 1/2 alphabetical up/down, 3/4 numerical up/down, 0 as the query gave.
fn sort_options(o: &mut [String], sort: u64) {
    let num = |s: &String| s.parse::<f64>().unwrap_or(f64::NAN);
    match sort {
        1 | 5 => o.sort_by_dyn(Ord::cmp),
        2 | 6 => o.sort_by_dyn(|a, b| b.cmp(a)),
        3 => o.sort_by_dyn(|a, b| num(a).total_cmp(&num(b))),
        4 => o.sort_by_dyn(|a, b| num(b).total_cmp(&num(a))),
        _ => {}
    }
}

/// Grafana's variable regex `/re/`: keeps matching values; a capture group extracts.
fn apply_regex(values: Vec<String>, re: Option<&str>) -> Result<Vec<String>, String> {
    let Some(re) = re.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(values);
    };
    let body = re
        .strip_prefix('/')
        .and_then(|r| r.rsplit_once('/').map(|(b, _)| b))
        .unwrap_or(re);
    let re = lookout_tsdb::regex::Regex::new(body)
        .map_err(|e| format!("variable regex {body:?}: {e}"))?;
    let mut out: Vec<String> = values
        .iter()
        .filter_map(|v| {
            let c = re.captures(v)?;
            Some(c.get(1).or(c.get(0))?.as_str().to_owned())
        })
        .collect();
    out.dedup();
    Ok(out)
}

/// The `var-name=value` pairs of a URL's query string (repeated for several values).
pub fn wanted_from_pairs<'a>(
    pairs: impl Iterator<Item = (&'a str, &'a str)>,
) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for (k, v) in pairs {
        if let Some(name) = k.strip_prefix("var-") {
            out.entry(name.to_owned()).or_default().push(v.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use lookout_tsdb::Labels;
    use serde_json::json;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// Label values are data from outside (a target's labels): quotes, backslashes and regex
    /// characters in them must reach the matcher as that exact value, in every format.
    #[wasm_bindgen_test]
    fn hostile_values_stay_one_exact_value_in_the_query() {
        let hostile = [
            "\"><img src=x onerror=alert(1)>",
            "C:\\temp\\a.b",
            "a\"b\\",
            "plain",
        ];
        let ctx = Context {
            start: 0,
            end: 60_000,
            interval_ms: 15_000,
            scrape_ms: 15_000,
        };
        for multi in [false, true] {
            for v in hostile {
                let scope = Scope::new(&[Resolved {
                    name: "v".into(),
                    multi,
                    include_all: multi,
                    selected: vec![v.to_owned()],
                    options: vec![v.to_owned(), "other".into()],
                    ..Resolved::default()
                }]);
                let (op, text) = if multi {
                    ("=~", "up{x=~\"$v\"}")
                } else {
                    ("=", "up{x=\"$v\"}")
                };
                let q = scope.interpolate(text, &ctx);
                let expr =
                    lookout_promql::parse(&q).unwrap_or_else(|e| panic!("{v:?} as {q}: {e}"));
                let lookout_promql::Expr::Vector(sel) = expr else {
                    panic!("{q}: not a selector")
                };
                let m = sel.matchers.iter().find(|m| m.name() == "x").unwrap();
                assert!(m.matches(v), "{v:?} {op} in {q}");
                assert!(
                    !m.matches("other") && !m.matches(&format!("{v}x")),
                    "{v:?} {op} in {q} matches more"
                );
            }
        }
    }

    fn store() -> Store {
        let mut s = Store::default();
        for (job, inst) in [
            ("api", "a:1"),
            ("api", "a:2"),
            ("web", "w:1"),
            ("db.main", "d:1"),
        ] {
            let id = s.series_id(&Labels::new([
                ("__name__", "up"),
                ("job", job),
                ("instance", inst),
            ]));
            s.append(id, 3_590_000, 1.0).unwrap();
        }
        s
    }

    fn var(v: serde_json::Value) -> Variable {
        crate::json::Read::read(v).unwrap()
    }

    fn ctx() -> Context {
        Context {
            start: 0,
            end: 3_600_000,
            interval_ms: 30_000,
            scrape_ms: 15_000,
        }
    }

    #[wasm_bindgen_test]
    fn chained_variables_follow_their_upstream() {
        let vars = vec![
            var(
                json!({"name": "job", "type": "query", "query": {"query": "label_values(up, job)"}}),
            ),
            var(
                json!({"name": "instance", "type": "query", "multi": true, "includeAll": true,
                       "query": "label_values(up{job=~\"$job\"}, instance)"}),
            ),
        ];
        let s = store();
        let r = resolve(&vars, &HashMap::new(), &s, &ctx());
        assert_eq!(r[0].options, vec!["api", "db.main", "web"]);
        assert_eq!(r[0].selected, vec!["api"]);
        assert_eq!(r[1].options, vec!["a:1", "a:2"]);
        assert_eq!(r[1].selected, vec![ALL]);
        // The upstream changes: the downstream's choices follow, a stale selection is dropped.
        let wanted = HashMap::from([
            ("job".to_owned(), vec!["web".to_owned()]),
            ("instance".to_owned(), vec!["a:1".to_owned()]),
        ]);
        let r = resolve(&vars, &wanted, &s, &ctx());
        assert_eq!(r[1].options, vec!["w:1"]);
        assert_eq!(r[1].selected, vec![ALL]);
        let scope = Scope::new(&r);
        assert_eq!(
            scope.interpolate("up{instance=~\"$instance\"}", &ctx()),
            "up{instance=~\"w:1\"}"
        );
    }

    #[wasm_bindgen_test]
    fn multi_values_and_all_become_regexes() {
        let vars = vec![
            var(
                json!({"name": "job", "type": "query", "multi": true, "includeAll": true, "query": "label_values(job)"}),
            ),
            var(
                json!({"name": "env", "type": "custom", "query": "prod : production, staging", "current": {"value": "staging"}}),
            ),
            var(json!({"name": "k", "type": "constant", "query": "5"})),
            var(
                json!({"name": "any", "type": "custom", "includeAll": true, "allValue": ".*", "query": "x,y"}),
            ),
        ];
        let s = store();
        let wanted = HashMap::from([(
            "job".to_owned(),
            vec!["api".to_owned(), "db.main".to_owned()],
        )]);
        let r = resolve(&vars, &wanted, &s, &ctx());
        assert_eq!(r[1].options, vec!["production", "staging"]);
        assert_eq!(
            r[1].selected,
            vec!["staging"],
            "the saved selection is kept"
        );
        assert!(r[2].hidden);
        let scope = Scope::new(&r);
        let c = ctx();
        assert_eq!(
            scope.interpolate("up{job=~\"$job\"}", &c),
            "up{job=~\"(api|db\\\\.main)\"}"
        );
        assert_eq!(
            scope.interpolate("${job:pipe} [[job:csv]] ${job:json}", &c),
            "api|db.main api,db.main [\"api\",\"db.main\"]"
        );
        assert_eq!(
            scope.interpolate("topk($k, x{env=\"${env}\"})", &c),
            "topk(5, x{env=\"staging\"})"
        );
        assert_eq!(scope.interpolate("$any", &c), ".*", "allValue verbatim");
        assert_eq!(
            scope.interpolate("$unknown $ 5$ [x]", &c),
            "$unknown $ 5$ [x]"
        );
        assert_eq!(
            mark_variables("x{a=\"$a\", b=~\"${b:regex}\", c=\"[[c]]\"}[5m]", "M"),
            "x{a=\"M\", b=~\"M\", c=\"M\"}[5m]"
        );
        // The result is valid PromQL that selects exactly those series.
        let q = lookout_promql::parse(&scope.interpolate("up{job=~\"$job\"}", &c)).unwrap();
        let res = lookout_promql::Engine::default()
            .instant(&s, &q, 3_600_000)
            .unwrap();
        let Value::Vector(v) = res.value else {
            panic!()
        };
        assert_eq!(v.len(), 3, "api twice and db.main once");
        let all = resolve(&vars, &HashMap::new(), &s, &c);
        assert_eq!(
            Scope::new(&all).interpolate("$job", &c),
            "(api|db\\\\.main|web)"
        );
    }

    #[wasm_bindgen_test]
    fn builtins_and_intervals() {
        let c = ctx();
        let s = Scope::default();
        assert_eq!(
            s.interpolate(
                "rate(x[$__rate_interval]) [$__interval] $__range $__range_s",
                &c
            ),
            "rate(x[1m]) [30s] 1h 3600"
        );
        let wide = Context {
            interval_ms: 120_000,
            ..c
        };
        assert_eq!(
            s.interpolate("$__rate_interval ${__interval_ms}", &wide),
            "2m15s 120000"
        );
        assert_eq!(prom_duration(90_500), "90500ms");
        assert_eq!(parse_duration("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration("250ms"), Some(250));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(
            Context::for_width(0, 3_600_000, 1000, 15_000).interval_ms,
            15_000
        );
        assert_eq!(
            Context::for_width(0, 86_400_000, 600, 15_000).interval_ms,
            120_000
        );
    }

    #[wasm_bindgen_test]
    fn query_results_regexes_and_errors() {
        let s = store();
        let vars = vec![
            var(
                json!({"name": "q", "type": "query", "query": "query_result(count by (job) (up))", "sort": 1, "regex": "/job=\"([^\"]+)\"/"}),
            ),
            var(
                json!({"name": "bad", "type": "query", "query": "label_values(up{job=, instance)"}),
            ),
            var(json!({"name": "odd", "type": "query", "query": "series(up)"})),
            var(json!({"name": "iv", "type": "interval", "query": "1m,10m,1h"})),
        ];
        let r = resolve(&vars, &HashMap::new(), &s, &ctx());
        assert_eq!(r[0].options, vec!["api", "db.main", "web"]);
        assert!(
            r[1].error
                .as_deref()
                .is_some_and(|e| e.contains("unexpected")),
            "{:?}",
            r[1].error
        );
        assert!(
            r[2].error
                .as_deref()
                .is_some_and(|e| e.contains("unsupported variable query")),
            "{:?}",
            r[2].error
        );
        assert_eq!(r[3].selected, vec!["1m"]);
        assert_eq!(
            wanted_from_pairs([("var-a", "1"), ("from", "x"), ("var-a", "2")].into_iter()),
            HashMap::from([("a".to_owned(), vec!["1".to_owned(), "2".to_owned()])])
        );
    }
}
