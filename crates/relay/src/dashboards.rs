//! Dashboards the relay provisions from a directory (`--dashboards DIR`, one JSON file each, in
//! the page's model, which is Grafana's classic one), and the tokens scoped to them.
//!
//! Pages ask for them over the stream (`Request::Dashboard { uid }`, so the connection's token
//! applies), so `<lookout-panel dashboard=uid>` and `/embed?d=uid` find them. A token file line
//! `TOKEN dashboards=uid,uid` makes a read-only token that reads only what those dashboards
//! read: the selectors of their panels' queries and query variables (matchers on variables
//! dropped, since a variable may take any value; see `lookout_promql::template::selectors`). A
//! connection with such a token gets, for every subscription and request, only series one of
//! those selectors matches, metadata of their families only, no targets, and no other
//! dashboard.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use lookout_tsdb::{Labels, Matcher};
use serde_json::Value;

/// One provisioned dashboard.
#[derive(Debug)]
pub struct Provisioned {
    pub uid: String,
    pub title: String,
    /// The file as read, served as it is.
    pub json: String,
    /// What its queries read.
    pub selectors: Vec<Arc<[Matcher]>>,
}

/// What a scoped token may read.
#[derive(Debug)]
pub struct Scope {
    pub dashboards: Vec<String>,
    selectors: Vec<Arc<[Matcher]>>,
}

impl Scope {
    pub fn new(dashboards: &[Arc<Provisioned>]) -> Scope {
        Scope {
            dashboards: dashboards.iter().map(|d| d.uid.clone()).collect(),
            selectors: dashboards
                .iter()
                .flat_map(|d| d.selectors.iter().cloned())
                .collect(),
        }
    }

    /// Whether one of the dashboards' selectors matches the series.
    pub fn admits(&self, labels: &Labels) -> bool {
        self.selectors.iter().any(|sel| {
            sel.iter()
                .all(|m| m.matches(labels.get(m.name()).unwrap_or("")))
        })
    }

    /// The selectors, for narrowing a store query to the scope (one query each).
    pub fn selectors(&self) -> &[Arc<[Matcher]>] {
        &self.selectors
    }

    pub fn allows_dashboard(&self, uid: &str) -> bool {
        self.dashboards.iter().any(|d| d == uid)
    }
}

/// A token and, when it is scoped, what it may read.
#[derive(Debug, Clone)]
pub struct Token {
    pub secret: String,
    /// `None`: every series, every dashboard.
    pub scope: Option<Arc<Scope>>,
}

impl From<&str> for Token {
    fn from(secret: &str) -> Token {
        Token {
            secret: secret.to_owned(),
            scope: None,
        }
    }
}

/// Reads every `*.json` file of `dir`, in name order. A file that is not a dashboard, or a
/// uid twice, is an error naming the file; a query that does not parse is a warning (the
/// dashboard still loads, and its scoped tokens do not read what that query would).
pub fn load_dir(dir: &Path) -> anyhow::Result<Vec<Arc<Provisioned>>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read --dashboards {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out: Vec<Arc<Provisioned>> = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let d = parse(&text).with_context(|| format!("dashboard file {}", path.display()))?;
        if let Some(other) = out.iter().find(|o| o.uid == d.uid) {
            bail!(
                "dashboard file {}: uid {:?} is also the uid of {:?}",
                path.display(),
                d.uid,
                other.title
            );
        }
        out.push(Arc::new(d));
    }
    Ok(out)
}

/// One dashboard file.
pub fn parse(text: &str) -> anyhow::Result<Provisioned> {
    let mut v: Value = serde_json::from_str(text).context("not JSON")?;
    // Grafana's API wraps the dashboard: `{"dashboard": {...}, "meta": {...}}`.
    if let Some(inner) = v.get_mut("dashboard").filter(|d| d.is_object()) {
        v = inner.take();
    }
    let uid = match v.get("uid") {
        Some(Value::String(u)) if valid_uid(u) => u.clone(),
        Some(Value::String(u)) => {
            bail!("uid {u:?}: use letters, digits, '-' and '_' (at most 64)")
        }
        _ => bail!("no \"uid\": a provisioned dashboard needs one to be named by"),
    };
    let title = v
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or(&uid)
        .to_owned();
    let mut queries = Vec::new();
    panel_queries(v.get("panels"), &mut queries);
    for var in v
        .pointer("/templating/list")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(q) = variable_query(var) {
            queries.push(q);
        }
    }
    let mut selectors: Vec<Arc<[Matcher]>> = Vec::new();
    for q in queries {
        match lookout_promql::template::selectors(&q) {
            Ok(found) => {
                for s in found {
                    let same = |o: &Arc<[Matcher]>| {
                        o.len() == s.len()
                            && o.iter().zip(&s).all(|(a, b)| {
                                a.name() == b.name() && a.op() == b.op() && a.value() == b.value()
                            })
                    };
                    if !selectors.iter().any(same) {
                        selectors.push(s.into());
                    }
                }
            }
            Err(e) => tracing::warn!(
                "dashboard {uid:?}: the query {q:?} does not parse ({e}); tokens scoped to it \
                 do not read what it would"
            ),
        }
    }
    Ok(Provisioned {
        uid,
        title,
        json: text.to_owned(),
        selectors,
    })
}

fn valid_uid(u: &str) -> bool {
    !u.is_empty()
        && u.len() <= 64
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `panels[].targets[].expr`, rows' own `panels` too.
fn panel_queries(panels: Option<&Value>, out: &mut Vec<String>) {
    for p in panels.and_then(Value::as_array).into_iter().flatten() {
        for t in p
            .get("targets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(e) = t.get("expr").and_then(Value::as_str)
                && !e.trim().is_empty()
            {
                out.push(e.to_owned());
            }
        }
        panel_queries(p.get("panels"), out);
    }
}

/// The PromQL a query variable reads: `label_values(selector, label)` -> the selector,
/// `query_result(expr)` -> the expression, `metrics(regex)` -> the names it matches.
/// `label_values(label)` reads no series of its own: its values come from what the scope admits.
fn variable_query(var: &Value) -> Option<String> {
    if var.get("type").and_then(Value::as_str) != Some("query") {
        return None;
    }
    let q = match var.get("query") {
        Some(Value::String(s)) => s.as_str(),
        Some(Value::Object(o)) => o.get("query").and_then(Value::as_str)?,
        _ => return None,
    }
    .trim();
    let inner = |name: &str| {
        q.strip_prefix(name)
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('('))
            .and_then(|r| r.strip_suffix(')'))
            .map(str::trim)
    };
    if let Some(args) = inner("label_values") {
        // The selector is everything before the last top-level comma.
        let mut depth = 0i32;
        let mut last_comma = None;
        let mut quote = None;
        for (i, c) in args.char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'' | '`') => quote = Some(c),
                (None, '(' | '{' | '[') => depth += 1,
                (None, ')' | '}' | ']') => depth -= 1,
                (None, ',') if depth == 0 => last_comma = Some(i),
                _ => {}
            }
        }
        return last_comma.map(|i| args[..i].trim().to_owned());
    }
    if let Some(expr) = inner("query_result") {
        return Some(expr.to_owned());
    }
    if let Some(re) = inner("metrics") {
        return Some(format!("{{__name__=~{:?}}}", re));
    }
    None
}

/// Reads a token file: one token a line, optionally followed by `dashboards=uid,uid` to scope
/// it to those provisioned dashboards. Blank lines and lines starting with `#` are skipped.
pub fn parse_tokens(
    text: &str,
    file: &str,
    dashboards: &[Arc<Provisioned>],
) -> anyhow::Result<Vec<Token>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut words = line.split_whitespace();
        let secret = words.next().unwrap_or_default().to_owned();
        let mut scope = None;
        for w in words {
            let Some(list) = w.strip_prefix("dashboards=") else {
                bail!(
                    "{file} line {}: after the token, only dashboards=uid,uid may follow (got {w:?})",
                    n + 1
                );
            };
            let mut named = Vec::new();
            for uid in list.split(',').filter(|u| !u.is_empty()) {
                let Some(d) = dashboards.iter().find(|d| d.uid == uid) else {
                    let known: Vec<&str> = dashboards.iter().map(|d| d.uid.as_str()).collect();
                    bail!(
                        "{file} line {}: dashboard {uid:?} is not provisioned (--dashboards has {})",
                        n + 1,
                        if known.is_empty() {
                            "none".to_owned()
                        } else {
                            known.join(", ")
                        }
                    );
                };
                named.push(d.clone());
            }
            if named.is_empty() {
                bail!("{file} line {}: dashboards= names no dashboard", n + 1);
            }
            scope = Some(Arc::new(Scope::new(&named)));
        }
        out.push(Token { secret, scope });
    }
    if out.is_empty() {
        bail!("{file} holds no token");
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const STATUS: &str = r#"{
        "uid": "status", "title": "Status",
        "templating": {"list": [
            {"name": "job", "type": "query", "query": "label_values(up{env=\"prod\"}, job)"},
            {"name": "route", "type": "query", "query": {"query": "label_values(route)", "refId": "A"}},
            {"name": "w", "type": "interval", "query": "1m,5m"}
        ]},
        "panels": [
            {"type": "timeseries", "targets": [{"expr": "sum by (route) (rate(http_requests_total{job=~\"$job\", code=~\"5..\"}[$w]))"}]},
            {"type": "row", "collapsed": true, "panels": [
                {"type": "stat", "targets": [{"expr": "up{job=~\"$job\"}"}, {"expr": ""}]}
            ]}
        ]
    }"#;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        Labels::new(pairs.iter().copied())
    }

    #[test]
    fn a_dashboard_reads_its_panels_rows_and_query_variables() {
        let d = parse(STATUS).unwrap();
        assert_eq!((d.uid.as_str(), d.title.as_str()), ("status", "Status"));
        let scope = Scope::new(&[Arc::new(d)]);
        let yes = [
            labels(&[
                ("__name__", "http_requests_total"),
                ("job", "checkout"),
                ("code", "503"),
            ]),
            labels(&[("__name__", "up"), ("job", "anything")]),
        ];
        let no = [
            labels(&[
                ("__name__", "http_requests_total"),
                ("job", "checkout"),
                ("code", "200"),
            ]),
            labels(&[
                ("__name__", "process_cpu_seconds_total"),
                ("job", "checkout"),
            ]),
        ];
        for l in &yes {
            assert!(scope.admits(l), "{l:?}");
        }
        for l in &no {
            assert!(!scope.admits(l), "{l:?}");
        }
        assert!(scope.allows_dashboard("status") && !scope.allows_dashboard("other"));
    }

    #[test]
    fn bad_files_and_token_lines_are_errors_naming_what_is_wrong() {
        let err = |text: &str| format!("{:#}", parse(text).unwrap_err());
        assert!(err("{").contains("not JSON"));
        assert!(err(r#"{"title": "x"}"#).contains("no \"uid\""));
        assert!(err(r#"{"uid": "../etc"}"#).contains("uid \"../etc\""));
        let wrapped = parse(r#"{"dashboard": {"uid": "w", "panels": []}, "meta": {}}"#).unwrap();
        assert_eq!(wrapped.uid, "w");
        let ds = vec![Arc::new(parse(STATUS).unwrap())];
        let t = parse_tokens("# comment\nabc\n\ndef dashboards=status\n", "t.txt", &ds).unwrap();
        assert_eq!(t.len(), 2);
        assert!(t[0].scope.is_none());
        assert_eq!(t[1].scope.as_ref().unwrap().dashboards, ["status"]);
        let e = parse_tokens("abc dashboards=nope\n", "t.txt", &ds).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.txt line 1: dashboard \"nope\" is not provisioned (--dashboards has status)"
        );
        let e = parse_tokens("abc read-only\n", "t.txt", &ds).unwrap_err();
        assert!(e.to_string().contains("only dashboards=uid,uid"), "{e}");
        assert!(parse_tokens("\n# none\n", "t.txt", &ds).is_err());
    }
}
